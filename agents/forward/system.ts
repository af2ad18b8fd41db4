// Every side effect of wifibox-forward, behind one interface tests can replace: the config file,
// the UDP and TCP sockets of each line, the status endpoint, and time.
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { getPriority, networkInterfaces, setPriority } from 'node:os';
import { removeIfThere } from '../common/files';
import { makePrivateDir, serveStatus } from '../common/runtime';
import { after } from '../common/timer';
import { ROUTE_GROUPS, watchRoute, type RouteWatch } from '../common/unix-dgram';
import { joinInKernel, type JoinEvents, type KernelJoin } from './kernel-join';

export interface Peer {
  address: string;
  port: number;
}

/** A bound UDP socket. */
export interface UdpPort {
  /** `to` is ignored by a connected socket: it sends to its peer. */
  send(msg: Buffer, to?: Peer): void;
  /** Datagrams waiting in the kernel's stead (libuv's send queue): a full one means drop. */
  queued(): number;
  close(): void;
}

interface UdpOptions {
  address: string;
  port: number;
  reuseAddr: boolean;
  broadcast: boolean;
  /**
   * Connected to this peer, as socat's UDP4:HOST:PORT is: the kernel keeps the route, and takes
   * datagrams from that peer only.
   */
  connectTo?: Peer;
}

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** The account `name` in passwd-format `text` (name:password:uid:gid:…), or null. */
export function findAccount(text: string, name: string): Account | null {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] !== name || f.length < 4) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (f[2] === '' || f[3] === '' || !Number.isInteger(uid) || !Number.isInteger(gid)) return null;
    return { name, uid, gid };
  }
  return null;
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
  /**
   * Hands a connected pair to the kernel (kernel-join.ts): from then on the join carries both
   * directions, and both sockets are given up (their listeners removed, destroyed). Throws, both
   * sockets left as they were, when it cannot (no descriptor, EMFILE).
   */
  join(client: Socket, target: Socket, events: JoinEvents): KernelJoin;
  /** The status endpoint: a UNIX stream socket (mode 0600) that answers each connection with answer(). */
  statusServer(path: string, answer: () => string, onError: (err: Error) => void): Server;
  readText(path: string): string;
  removeFile(path: string): void;
  /** A user's uid and primary gid from the passwd file, or null when it has no such user. */
  lookupUser(name: string): Account | null;
  /** Whether this process runs as root (and so should drop to its own user). */
  isRoot(): boolean;
  /** Its own folder, mode 0700, handed to `owner` (what was removed in its place is returned). */
  makeRunDir(path: string, owner: Account | null): string | null;
  /** Drops root for good: supplementary groups, then the group, then the user. */
  dropTo(account: Account): void;
  /**
   * Takes the normal CPU priority (niceness 0) when started below it, as the wrapper starts it; its
   * niceness when that is not allowed (only root may lower it), else null.
   */
  normalPriority(): number | null;
  now(): number;
  /** Runs fn once at the next change of an IPv4 address (rtnetlink; cancel() before: never). */
  onAddressChange(fn: () => void): { cancel(): void };
  /** Whether an interface has this IPv4 address now. */
  hasAddress(address: string): boolean;
  /** Runs fn once after ms (cancel() before: never); never keeps the process alive alone. */
  after(ms: number, fn: () => void): { cancel(): void };
}

/**
 * Node reports a send error only to a send's callback, and a send with a callback takes libuv's
 * slower path. So: checked sends until one gets through, then unchecked ones; an error seen puts
 * the socket back on checked sends, so a lasting fault (EACCES: a broadcast target without
 * broadcast, ENETUNREACH) is counted on every datagram.
 */
function closeQuietly(s: DgramSocket): void {
  try {
    s.close();
  } catch {
    /* closed already */
  }
}

function udpPort(s: DgramSocket, connected: boolean, onError: (err: NodeJS.ErrnoException) => void): UdpPort {
  let checked = true;
  const sent = (err: Error | null) => {
    checked = err !== null;
    if (err) onError(err as NodeJS.ErrnoException);
  };
  const sendTo = (msg: Buffer, to: Peer | undefined) => {
    if (connected) return checked ? s.send(msg, sent) : s.send(msg);
    if (!to) throw new Error('a datagram for an unconnected socket needs a peer');
    return checked ? s.send(msg, to.port, to.address, sent) : s.send(msg, to.port, to.address);
  };
  return {
    send: sendTo,
    queued: () => s.getSendQueueCount(),
    close: () => closeQuietly(s),
  };
}

// One rtnetlink socket for every line waiting for an address, open only while one waits.
const addressWaiters = new Set<() => void>();
let addressWatch: RouteWatch | null = null;

function onAddressChange(fn: () => void): { cancel(): void } {
  const once = () => fn();
  addressWaiters.add(once);
  addressWatch ??= watchRoute(ROUTE_GROUPS.ipv4Address, () => {
    const due = [...addressWaiters];
    addressWaiters.clear();
    addressWatch?.close();
    addressWatch = null;
    for (const f of due) f();
  });
  return {
    cancel() {
      addressWaiters.delete(once);
      if (addressWaiters.size === 0) {
        addressWatch?.close();
        addressWatch = null;
      }
    },
  };
}

export const realSystem: ForwardSystem = {
  udp(o, onMessage, onError) {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: 'udp4', reuseAddr: o.reuseAddr });
      s.on('message', (msg, r) => onMessage(msg, { address: r.address, port: r.port }));
      // A failed bind leaves the socket open: a line retried every second must not gather them.
      const failed = (err: Error) => {
        closeQuietly(s);
        reject(err);
      };
      s.once('error', failed);
      s.bind(o.port, o.address, () => {
        // Before connecting: a broadcast address can be connected to only with SO_BROADCAST set.
        if (o.broadcast) s.setBroadcast(true);
        const ready = () => {
          s.off('error', failed);
          s.on('error', onError);
          resolve(udpPort(s, o.connectTo !== undefined, onError));
        };
        // Node hands a failed connect (EACCES: a broadcast address without SO_BROADCAST) to the callback.
        const connected = (err?: Error) => (err ? failed(err) : ready());
        if (o.connectTo) s.connect(o.connectTo.port, o.connectTo.address, connected);
        else ready();
      });
    });
  },
  tcpServer(address, port, backlog, onConnection) {
    return new Promise((resolve, reject) => {
      // Accepted paused: nothing is read from a peer before it is admitted.
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, onConnection);
      server.once('error', reject);
      server.listen({ host: address, port, backlog }, () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        resolve({ close: () => server.close() });
      });
    });
  },
  tcpConnect: (to, localAddress, localPort) =>
    connect({
      host: to.address,
      port: to.port,
      allowHalfOpen: true,
      noDelay: true,
      ...(localAddress ? { localAddress } : {}),
      ...(localPort ? { localPort } : {}),
    }),
  join(client, target, events) {
    const fd = (s: Socket) => (s as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
    const joined = joinInKernel(fd(client), fd(target), events);
    for (const s of [client, target]) {
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
    }
    return joined;
  },
  statusServer: serveStatus,
  readText: (path) => readFileSync(path, 'utf8'),
  removeFile: removeIfThere,
  lookupUser(name) {
    try {
      return findAccount(readFileSync('/etc/passwd', 'utf8'), name);
    } catch {
      return null;
    }
  },
  isRoot: () => process.getuid?.() === 0,
  makeRunDir: (path, owner) => makePrivateDir(path, owner ?? undefined),
  dropTo(a) {
    process.setgroups!([a.gid]);
    process.setgid!(a.gid);
    process.setuid!(a.uid);
  },
  normalPriority() {
    const nice = getPriority();
    if (nice <= 0) return null;
    try {
      setPriority(0);
      return null;
    } catch {
      return nice;
    }
  },
  onAddressChange,
  hasAddress: (address) => Object.values(networkInterfaces()).some((l) => l?.some((a) => a.family === 'IPv4' && a.address === address)),
  now: () => Date.now(),
  after,
};
