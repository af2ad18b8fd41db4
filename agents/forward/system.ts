// Every side effect of wifibox-forward, behind one interface tests can replace: the config file,
// the UDP and TCP sockets of each line, the status endpoint, and time.
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { readFileSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Peer {
  address: string;
  port: number;
}

/** A bound UDP socket. */
export interface UdpPort {
  send(msg: Buffer, to: Peer): void;
  /** Datagrams waiting in the kernel's stead (libuv's send queue): a full one means drop. */
  queued(): number;
  close(): void;
}

export interface UdpOptions {
  address: string;
  port: number;
  reuseAddr: boolean;
  broadcast: boolean;
}

export interface Closable {
  close(): void;
}

export interface ForwardSystem {
  /**
   * A UDP socket bound to address:port (port 0: one the kernel picks); rejects with the bind
   * error (EADDRINUSE, EADDRNOTAVAIL). After binding, onError hears of send errors (an ICMP
   * refusal, no route): the socket stays open.
   */
  udp(o: UdpOptions, onMessage: (msg: Buffer, from: Peer) => void, onError: (err: NodeJS.ErrnoException) => void): Promise<UdpPort>;
  /** A TCP server whose connections stay half-open, so each side's end is passed on alone. */
  tcpServer(address: string, port: number, backlog: number, onConnection: (s: Socket) => void): Promise<Closable>;
  tcpConnect(to: Peer, localAddress: string | null, localPort: number | null): Socket;
  /** The status endpoint: a UNIX stream socket that answers each connection with answer(). */
  statusServer(path: string, answer: () => string, onError: (err: Error) => void): Server;
  readText(path: string): string;
  removeFile(path: string): void;
  now(): number;
  /** Runs fn once after ms (cancel() before: never); never keeps the process alive alone. */
  after(ms: number, fn: () => void): { cancel(): void };
}

/**
 * Node reports a send error only to a send's callback, and a send with a callback takes libuv's
 * slower path. So: checked sends until one gets through, then unchecked ones; an error seen puts
 * the socket back on checked sends, so a lasting fault (EACCES: a broadcast target without
 * broadcast, ENETUNREACH) is counted on every datagram.
 */
function udpPort(s: DgramSocket, onError: (err: NodeJS.ErrnoException) => void): UdpPort {
  let checked = true;
  const sent = (err: Error | null) => {
    checked = err !== null;
    if (err) onError(err as NodeJS.ErrnoException);
  };
  return {
    send: (msg, to) => (checked ? s.send(msg, to.port, to.address, sent) : s.send(msg, to.port, to.address)),
    queued: () => s.getSendQueueCount(),
    close: () => {
      try {
        s.close();
      } catch {
        /* closed already */
      }
    },
  };
}

export const realSystem: ForwardSystem = {
  udp(o, onMessage, onError) {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: 'udp4', reuseAddr: o.reuseAddr });
      s.on('message', (msg, r) => onMessage(msg, { address: r.address, port: r.port }));
      s.once('error', reject);
      s.bind(o.port, o.address, () => {
        s.off('error', reject);
        s.on('error', onError);
        if (o.broadcast) s.setBroadcast(true);
        resolve(udpPort(s, onError));
      });
    });
  },
  tcpServer(address, port, backlog, onConnection) {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, onConnection);
      server.once('error', reject);
      server.listen({ host: address, port, backlog }, () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        resolve({ close: () => server.close() });
      });
    });
  },
  tcpConnect: (to, localAddress, localPort) =>
    connect({ host: to.address, port: to.port, allowHalfOpen: true, ...(localAddress ? { localAddress } : {}), ...(localPort ? { localPort } : {}) }),
  statusServer(path, answer, onError) {
    const server = createServer((s) => {
      s.on('error', () => undefined);
      s.end(answer());
    });
    server.on('error', onError);
    server.listen(path);
    return server;
  },
  readText: (path) => readFileSync(path, 'utf8'),
  removeFile(path) {
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  },
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
