// Every side effect of wifibox-diag, behind one interface tests can replace. All of them read:
// the only thing ever created is the private socket a control request needs, removed after.
import { runCommand, type RunResult } from '../common/run';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmdirSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { openDatagramSocket } from '../common/unix-dgram';

/** One private datagram socket talking to a daemon's control socket. */
export interface ControlChannel {
  /** Sends one request and resolves with the reply; rejects on timeout or a send error. */
  request(command: string, timeoutMs: number): Promise<string>;
  /** Closes the socket and removes its file and folder. */
  close(): void;
}

export interface DiagSystem {
  now(): Date;
  run(argv: readonly string[], timeoutMs: number): Promise<RunResult>;
  /** Throws Node errno errors (err.code: ENOENT, EACCES, ...). */
  readText(path: string): string;
  readBytes(path: string): Buffer;
  /** The last maxBytes of a file, from the first whole line in them. */
  readTail(path: string, maxBytes: number): string;
  list(dir: string): string[];
  readLink(path: string): string;
  exists(path: string): boolean;
  isSocket(path: string): boolean;
  /** What is at a path, not following a symlink (that is 'link'); null when nothing is. */
  kind(path: string): 'file' | 'dir' | 'link' | 'other' | null;
  /** Connects to a UNIX stream socket and reads until EOF (the agents' status endpoints). */
  readStream(path: string, timeoutMs: number): Promise<string>;
  /** Every record the kernel log holds now, without waiting for new ones. */
  readKernelLog(path: string, maxBytes: number): string;
  openControl(dest: string, tmpDir: string): ControlChannel;
}

const errnoCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

export const realSystem: DiagSystem = {
  now: () => new Date(),
  run: (argv, timeoutMs) => runCommand(argv, { timeoutMs }),
  readText: (path) => readFileSync(path, 'utf8'),
  readBytes: (path) => readFileSync(path),
  readTail(path, maxBytes) {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(Math.min(size, maxBytes));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, start + got);
        if (n === 0) break;
        got += n;
      }
      const text = buf.subarray(0, got).toString('utf8');
      return start > 0 ? text.slice(text.indexOf('\n') + 1) : text;
    } finally {
      closeSync(fd);
    }
  },
  list: (dir) => readdirSync(dir).sort(),
  readLink: (path) => readlinkSync(path),
  exists: (path) => existsSync(path),
  isSocket(path) {
    try {
      return statSync(path).isSocket();
    } catch {
      return false;
    }
  },
  kind(path) {
    try {
      const st = lstatSync(path);
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'other';
    } catch {
      return null;
    }
  },
  readStream(path, timeoutMs) {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        s.destroy();
        const err: NodeJS.ErrnoException = new Error(`no answer within ${timeoutMs} ms`);
        err.code = 'ETIMEDOUT';
        reject(err);
      }, timeoutMs);
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('end', () => {
        clearTimeout(timer);
        s.destroy();
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      s.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  },
  readKernelLog(path, maxBytes) {
    // /dev/kmsg gives one record per read and EAGAIN at the end when non-blocking; a plain file
    // (a saved log) gives chunks and then 0. Both end up as the same text.
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const parts: Buffer[] = [];
    let total = 0;
    try {
      const buf = Buffer.alloc(16 * 1024);
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, buf, 0, buf.length, null);
        } catch (err) {
          if (errnoCode(err) === 'EAGAIN') break;
          if (errnoCode(err) === 'EPIPE') continue; // records overwritten while reading: go on
          throw err;
        }
        if (n === 0) break;
        parts.push(Buffer.from(buf.subarray(0, n)));
        total += n;
        while (total > maxBytes && parts.length > 1) total -= parts.shift()!.length;
      }
    } finally {
      closeSync(fd);
    }
    return Buffer.concat(parts).toString('utf8');
  },
  openControl(dest, tmpDir) {
    // The daemon answers the sender's path: a private folder makes that path ours alone.
    const dir = mkdtempSync(join(tmpDir, 'wifibox-diag-'));
    const path = join(dir, 'ctrl');
    let waiting: ((reply: string) => void) | null = null;
    const sock = openDatagramSocket((msg) => {
      const text = msg.toString('utf8');
      if (/^<\d>/.test(text)) return; // an event, never a reply (we do not ATTACH, but be sure)
      const w = waiting;
      waiting = null;
      w?.(text);
    });
    const cleanup = () => {
      sock.close();
      try {
        unlinkSync(path);
      } catch {
        /* never bound */
      }
      try {
        rmdirSync(dir);
      } catch {
        /* already gone */
      }
    };
    try {
      sock.bind(path);
    } catch (err) {
      cleanup();
      throw err;
    }
    return {
      request(command, timeoutMs) {
        return new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => {
            waiting = null;
            const err: NodeJS.ErrnoException = new Error(`${command}: no reply within ${timeoutMs} ms`);
            err.code = 'ETIMEDOUT';
            reject(err);
          }, timeoutMs);
          waiting = (reply) => {
            clearTimeout(timer);
            resolve(reply);
          };
          try {
            sock.send(Buffer.from(command), dest);
          } catch (err) {
            clearTimeout(timer);
            waiting = null;
            reject(err);
          }
        });
      },
      close: cleanup,
    };
  },
};
