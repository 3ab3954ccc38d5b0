// Wake-on-LAN, the one implementation (the Power adapter, `hatwin lab wake` and the mini-lab's
// power supervisors use it): the magic packet is 6 bytes of 0xFF then the target's MAC 16 times,
// sent as a UDP datagram to the lab subnet's broadcast address (the sleeping host has no IP stack
// running, its NIC matches the pattern on the wire). Broadcast needs SO_BROADCAST (setBroadcast).
import { createSocket } from 'node:dgram';
import { assertIpv4, assertPort, parseMac } from '../ssh/names.ts';

const SYNC = Buffer.alloc(6, 0xff);
const MAGIC_LEN = 6 + 16 * 6;

export function magicPacket(mac: string): Buffer {
  const m = parseMac(mac);
  const pkt = Buffer.alloc(MAGIC_LEN, 0xff);
  for (let i = 0; i < 16; i++) m.copy(pkt, 6 + i * 6);
  return pkt;
}

/**
 * The MACs of the magic packets in `pkt`, in order. A magic packet may sit anywhere in the
 * payload (a password may follow it); senders (and this one) put it at the start.
 */
function* magicMacs(pkt: Buffer): Generator<Buffer> {
  for (let off = 0; off + MAGIC_LEN <= pkt.length; off++) {
    if (!pkt.subarray(off, off + 6).equals(SYNC)) continue;
    const mac = pkt.subarray(off + 6, off + 12);
    let ok = true;
    for (let i = 1; i < 16 && ok; i++) ok = pkt.subarray(off + 6 + i * 6, off + 12 + i * 6).equals(mac);
    if (ok) yield mac;
  }
}

/** True when `pkt` is a magic packet; returns the MAC it wakes (lower case, colons) or null. */
export function parseMagicPacket(pkt: Buffer): string | null {
  for (const mac of magicMacs(pkt)) return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
  return null;
}

/** True when `pkt` holds a magic packet that wakes `mac` (what a NIC with WOL armed matches). */
export function isMagicPacketFor(pkt: Buffer, mac: string): boolean {
  const want = parseMac(mac);
  for (const m of magicMacs(pkt)) if (m.equals(want)) return true;
  return false;
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
