// Every side effect the passthru agent has, in one place tests can replace.
import { readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { makePrivateDir, serveStatus } from '../common/runtime';
import { openDatagramSocket, type DatagramSocket } from '../common/unix-dgram';

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
  /** The agent's own folder, mode 0700; a symlink there is removed, not followed (what was removed is returned). */
  makePrivateDir(path: string): string | null;
  listDir(path: string): string[];
  removeFile(path: string): void;
  removeDir(path: string): void;
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
  makePrivateDir,
  listDir(path) {
    try {
      return readdirSync(path);
    } catch {
      return [];
    }
  },
  removeFile(path) {
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  },
  removeDir(path) {
    try {
      rmdirSync(path);
    } catch {
      /* not empty (someone else's file) or already gone: leave it */
    }
  },
};
