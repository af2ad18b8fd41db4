// Every side effect the passthru agent has, in one place tests can replace.
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { removeIfThere } from '../common/files';
import { makePrivateDir, serveStatus } from '../common/runtime';
import { after } from '../common/timer';
import { openDatagramSocket, ROUTE_GROUPS, watchRoute, type DatagramSocket } from '../common/unix-dgram';

export interface InterfaceAddress {
  iface: string;
  address: string;
  netmask: string;
}

export interface PassthruSystem {
  /** onError: the socket failed and was closed (it delivers nothing more). */
  openDatagram(onMessage: (msg: Buffer) => void, onError: (err: NodeJS.ErrnoException) => void): DatagramSocket;
  /** TCP server that keeps half-open connections: the host shuts its side before the reply. */
  createTcpServer(onConnection: (s: Socket) => void): Server;
  /** The status endpoint: a UNIX stream socket (mode 0600) that answers each connection with answer(). */
  statusServer(path: string, answer: () => string, onError: (err: Error) => void): Server;
  /**
   * Identity of a socket file, or null when it is not there or not a socket: device, inode and
   * the change time in nanoseconds, so a socket made anew is another even where the file system
   * hands out the same inode number again.
   */
  socketIdentity(path: string): string | null;
  ipv4Addresses(): InterfaceAddress[];
  /**
   * Calls `onChange` when something may have changed at `path`'s folder (a socket made, removed or
   * replaced), whether or not the folder exists yet (inotify: the process sleeps meanwhile).
   */
  watchPath(path: string, onChange: () => void): Watch;
  /** Calls `onChange` when an interface's IPv4 address or link changes (rtnetlink). */
  watchAddresses(onChange: () => void): Watch;
  /** The agent's own folder, mode 0700; a symlink there is removed, not followed (what was removed is returned). */
  makePrivateDir(path: string): string | null;
  listDir(path: string): string[];
  removeFile(path: string): void;
  removeDir(path: string): void;
  /** The config file's text; throws as readFileSync does (ENOENT, EISDIR, EACCES). */
  readText(path: string): string;
  /** The wall clock, ms since 1970. */
  now(): number;
  /** A clock that only moves forward, with sub-millisecond steps (the gap between messages). */
  monotonic(): number;
  /** Runs `fn` once after `ms` unless cancelled; never keeps the process alive on its own. */
  after(ms: number, fn: () => void): Timer;
  /** Resolves once `done()` holds, looked at every few ms, or after `ms` whatever it says. */
  until(done: () => boolean, ms: number): Promise<void>;
}

export interface Timer {
  cancel(): void;
}

export interface Watch {
  close(): void;
}

/**
 * inotify on the folder of `path`, or on its nearest existing ancestor until the folder exists (a
 * daemon makes its control folder when it starts, and may remove it when it stops): the watch
 * moves down or up as folders come and go, and every move is a change for the caller to look at.
 */
function watchFolderOf(path: string, onChange: () => void): Watch {
  const target = dirname(path);
  let watcher: FSWatcher | null = null;
  let watched = '';
  let watchedIno = -1;
  let closed = false;
  const ino = (d: string): number => {
    try {
      return statSync(d).ino;
    } catch {
      return -1;
    }
  };
  const nearest = (): string => {
    let d = target;
    while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
    return d;
  };
  const arm = (): void => {
    const d = nearest();
    // The same folder, not one removed and made again under the same name (a daemon's restart).
    if (d === watched && watcher && ino(d) === watchedIno) return;
    watcher?.close();
    watched = d;
    watchedIno = ino(d);
    try {
      watcher = watch(d, { persistent: false }, () => {
        if (closed) return;
        arm();
        onChange();
      });
      // The folder itself went (removed, unmounted): watch what is left above it.
      watcher.on('error', () => {
        watcher?.close();
        watcher = null;
        if (!closed) {
          arm();
          onChange();
        }
      });
    } catch {
      watcher = null;
    }
  };
  arm();
  return {
    close() {
      closed = true;
      watcher?.close();
    },
  };
}

export const realSystem: PassthruSystem = {
  openDatagram: openDatagramSocket,
  createTcpServer: (onConnection) => createServer({ allowHalfOpen: true, noDelay: true }, onConnection),
  statusServer: serveStatus,
  socketIdentity(path) {
    try {
      const st = statSync(path, { bigint: true });
      return st.isSocket() ? `${st.dev}:${st.ino}:${st.ctimeNs}` : null;
    } catch {
      return null;
    }
  },
  ipv4Addresses() {
    const out: InterfaceAddress[] = [];
    for (const [iface, addrs] of Object.entries(networkInterfaces())) {
      for (const a of addrs ?? []) if (a.family === 'IPv4') out.push({ iface, address: a.address, netmask: a.netmask });
    }
    return out;
  },
  watchPath: watchFolderOf,
  watchAddresses: (onChange) => watchRoute(ROUTE_GROUPS.ipv4Address | ROUTE_GROUPS.link, onChange),
  makePrivateDir,
  listDir(path) {
    try {
      return readdirSync(path);
    } catch {
      return [];
    }
  },
  removeFile: removeIfThere,
  removeDir(path) {
    try {
      rmdirSync(path);
    } catch {
      /* not empty (someone else's file) or already gone: leave it */
    }
  },
  readText: (path) => readFileSync(path, 'utf8'),
  now: () => Date.now(),
  monotonic: () => performance.now(),
  after,
  async until(done, ms) {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  },
};

/**
 * The same system, with every way into the passthrough's code guarded: a callback it gave (a
 * connection, a socket's or a server's event, a datagram, a timer, a watch, a status request)
 * that throws reports the error to `onFault` instead of taking the process down. Used where the
 * passthrough is a part of wifibox-init's runtime: a fault of its own must not stop the network.
 */
export function containFaults(base: PassthruSystem, onFault: (err: unknown) => void): PassthruSystem {
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => R, fallback: R) =>
    (...args: A): R => {
      try {
        return fn(...args);
      } catch (err) {
        onFault(err);
        return fallback;
      }
    };
  // Socket and server events run the listeners the passthrough added, through emit().
  const guardEvents = <E extends { emit(event: string | symbol, ...args: unknown[]): boolean }>(e: E): E => {
    const emit = e.emit;
    e.emit = guard((event: string | symbol, ...args: unknown[]) => emit.call(e, event, ...args), true);
    return e;
  };
  return {
    ...base,
    openDatagram: (onMessage, onError) => base.openDatagram(guard(onMessage, undefined), guard(onError, undefined)),
    createTcpServer: (onConnection) => guardEvents(base.createTcpServer(guard((s: Socket) => onConnection(guardEvents(s)), undefined))),
    statusServer: (path, answer, onError) => guardEvents(base.statusServer(path, guard(answer, '{}\n'), guard(onError, undefined))),
    watchPath: (path, onChange) => base.watchPath(path, guard(onChange, undefined)),
    watchAddresses: (onChange) => base.watchAddresses(guard(onChange, undefined)),
    after: (ms, fn) => base.after(ms, guard(fn, undefined)),
  };
}
