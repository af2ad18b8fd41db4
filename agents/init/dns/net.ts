// The sockets of the DNS relay, behind one small interface: tests of the relay use these on
// loopback, tests of the orchestrator replace them.
import { createSocket } from 'node:dgram';
import { createServer, connect, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';

export interface Peer {
  address: string;
  port: number;
}

export interface UdpEndpoint {
  send(msg: Buffer, to: Peer): void;
  close(): void;
}

export interface Closable {
  close(): void;
}

export interface RelayNet {
  /** A UDP socket bound to address:port (port 0: one the kernel picks at random); its datagrams go to onMessage. */
  udp(address: string, port: number, onMessage: (msg: Buffer, from: Peer) => void): Promise<UdpEndpoint>;
  /** A TCP server on address:port. */
  tcpServer(address: string, port: number, onConnection: (s: Socket) => void): Promise<Closable>;
  tcpConnect(to: Peer): Socket;
  /** A query ID no one can guess. */
  randomId(): number;
  /** Milliseconds, finer than the wall clock, for latency. */
  now(): number;
  /** Runs fn once after ms (cancel() before: never). */
  after(ms: number, fn: () => void): { cancel(): void };
}

const family = (address: string) => (address.includes(':') ? 'udp6' : 'udp4');

/**
 * The relay sends only to addresses (a peer's, a server's), never to names: each is its own
 * lookup's answer, given at once. Node's own lookup would defer every send to the next tick,
 * a tenth of the relay's time per answer under load.
 */
const literal = (address: string, _o: unknown, cb: (err: Error | null, address: string, family: number) => void): void =>
  cb(null, address, address.includes(':') ? 6 : 4);

export const realRelayNet: RelayNet = {
  udp(address, port, onMessage) {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: family(address), lookup: literal });
      s.on('message', (msg, r) => onMessage(msg, { address: r.address, port: r.port }));
      s.once('error', reject);
      s.bind(port, address, () => {
        s.off('error', reject);
        // After binding, a send error (no route, the peer's ICMP) concerns one query only.
        s.on('error', () => undefined);
        resolve({
          // No callback: Node would defer one to the next tick for every send; an error is the socket's.
          send: (msg, to) => s.send(msg, to.port, to.address),
          close: () => {
            try {
              s.close();
            } catch {
              /* closed already */
            }
          },
        });
      });
    });
  },
  tcpServer(address, port, onConnection) {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true }, onConnection);
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        resolve({ close: () => server.close() });
      });
    });
  },
  tcpConnect: (to) => connect({ host: to.address, port: to.port, noDelay: true }),
  randomId: () => randomInt(0, 65536),
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};
