// Asking one upstream server one question, over UDP or TCP: our own random ID, a fresh socket (so a
// random source port), and only an answer from that server, with that ID, to that question counts.
import type { Socket } from 'node:net';
import { answers } from './message';
import type { Peer, RelayNet } from './net';

/** The answer, or null when none came in time (or the connection failed). */
export async function askUdp(net: RelayNet, server: Peer, query: Buffer, id: number, question: Buffer, timeoutMs: number): Promise<Buffer | null> {
  let done: (a: Buffer | null) => void = () => undefined;
  const answer = new Promise<Buffer | null>((resolve) => (done = resolve));
  const wildcard = server.address.includes(':') ? '::' : '0.0.0.0';
  let socket;
  try {
    socket = await net.udp(wildcard, 0, (msg, from) => {
      if (from.address === server.address && from.port === server.port && answers(msg, id, question)) done(msg);
    });
  } catch {
    return null;
  }
  const timer = net.after(timeoutMs, () => done(null));
  socket.send(query, server);
  const a = await answer;
  timer.cancel();
  socket.close();
  return a;
}

/** Over TCP, each message behind its two-byte length (RFC 1035 §4.2.2). */
export function askTcp(net: RelayNet, server: Peer, query: Buffer, id: number, question: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    let s: Socket;
    let got = Buffer.alloc(0);
    const finish = (a: Buffer | null) => {
      timer.cancel();
      s.destroy();
      resolve(a);
    };
    const timer = net.after(timeoutMs, () => finish(null));
    s = net.tcpConnect(server);
    s.on('error', () => finish(null));
    s.on('connect', () => s.write(Buffer.concat([frameLength(query.length), query])));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < 2) return;
      const len = got.readUInt16BE(0);
      if (got.length < 2 + len) return;
      const msg = got.subarray(2, 2 + len);
      finish(answers(msg, id, question) ? Buffer.from(msg) : null);
    });
    s.on('end', () => finish(null));
  });
}

export function frameLength(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}
