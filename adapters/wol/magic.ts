// Wake-on-LAN: the magic packet is 6 bytes of 0xFF then the target's MAC 16 times, sent as a UDP
// datagram to the lab subnet's broadcast address (the sleeping host has no IP stack running, its
// NIC matches the pattern on the wire). Broadcast needs SO_BROADCAST (setBroadcast).
import { createSocket } from 'node:dgram';
import { assertIpv4, assertPort, parseMac } from '../ssh/names.ts';

export function magicPacket(mac: string): Buffer {
  const m = parseMac(mac);
  const pkt = Buffer.alloc(6 + 16 * 6, 0xff);
  for (let i = 0; i < 16; i++) m.copy(pkt, 6 + i * 6);
  return pkt;
}

/** True when `pkt` is a magic packet; returns the MAC it wakes (lower case, colons) or null. */
export function parseMagicPacket(pkt: Buffer): string | null {
  // A magic packet may sit anywhere in the payload; senders (and this one) put it at the start.
  for (let off = 0; off + 102 <= pkt.length; off++) {
    if (!pkt.subarray(off, off + 6).equals(Buffer.alloc(6, 0xff))) continue;
    const mac = pkt.subarray(off + 6, off + 12);
    let ok = true;
    for (let i = 1; i < 16 && ok; i++) ok = pkt.subarray(off + 6 + i * 6, off + 12 + i * 6).equals(mac);
    if (ok) return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
  }
  return null;
}

export interface WakeOptions {
  /** The lab subnet's broadcast address, e.g. 10.77.0.255. */
  broadcast: string;
  /** UDP port (9, "discard", by convention; 7 also common). */
  port?: number;
  /** Local address to send from (picks the interface on a multi-homed host). */
  localAddress?: string;
  /** Copies to send (a lost magic packet costs a whole boot). */
  repeat?: number;
}

export async function sendMagicPacket(mac: string, o: WakeOptions): Promise<void> {
  const pkt = magicPacket(mac);
  const broadcast = assertIpv4('WOL broadcast address', o.broadcast);
  const port = assertPort('WOL port', o.port ?? 9);
  if (o.localAddress !== undefined) assertIpv4('WOL local address', o.localAddress);
  const repeat = o.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 10) throw new RangeError(`WOL repeat must be 1..10, got ${repeat}`);
  const sock = createSocket({ type: 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: o.localAddress, port: 0 }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.setBroadcast(true);
    for (let i = 0; i < repeat; i++) {
      await new Promise<void>((resolve, reject) => sock.send(pkt, port, broadcast, (err) => (err ? reject(err) : resolve())));
    }
  } finally {
    sock.close();
  }
}
