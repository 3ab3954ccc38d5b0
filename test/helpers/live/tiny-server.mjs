#!/usr/bin/env node
// Tiny services for the live tests, one per process so a test can SIGSTOP it (a frozen daemon):
//   node tiny-server.mjs PROTOCOL PORT [NAME]
// PROTOCOL: http (200 "NAME"), http500, banner ("220 NAME ready", "250 NAME" per line, "221" on
// QUIT), banner421, echo, silent (accepts and never answers). Listens on 127.0.0.1 unless
// HATWIN_BIND says otherwise; prints "listening PORT" when ready.
import { createServer } from 'node:net';

const [proto, portArg, name = 'tiny'] = process.argv.slice(2);
const port = Number(portArg);
const bind = process.env.HATWIN_BIND ?? '127.0.0.1';

function onConnection(sock) {
  sock.on('error', () => {});
  switch (proto) {
    case 'http':
    case 'http500': {
      let head = '';
      sock.on('data', (d) => {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n') && !head.includes('\n\n')) return;
        const body = `${name}\n`;
        const status = proto === 'http' ? '200 OK' : '500 Internal Server Error';
        sock.end(`HTTP/1.0 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      });
      break;
    }
    case 'banner':
    case 'banner421': {
      sock.write(proto === 'banner' ? `220 ${name} ready\r\n` : `421 ${name} busy\r\n`);
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).replace(/\r$/, '');
          buf = buf.slice(i + 1);
          if (/^quit/i.test(line)) return sock.end(`221 ${name} bye\r\n`);
          sock.write(`250 ${name}\r\n`);
        }
      });
      break;
    }
    case 'echo':
      sock.pipe(sock);
      break;
    case 'silent':
      break;
    default:
      console.error(`unknown protocol ${proto}`);
      process.exit(2);
  }
}

const server = createServer(onConnection);
server.listen(port, bind, () => console.log(`listening ${port}`));
process.on('SIGTERM', () => process.exit(0));
