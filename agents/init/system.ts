// Every side effect of wifibox-init, behind one interface tests can replace: commands, daemons,
// files, process identity, the UNIX endpoints it serves, and time itself.
import { spawn } from 'node:child_process';
import {
  closeSync,
  constants as fsConstants,
  existsSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  watch,
  writeFileSync,
  type FSWatcher,
} from 'node:fs';
import { createServer } from 'node:net';
import { writeFileAtomic } from '../common/files';
import { processGroupMembers, processName, processStartTime } from '../common/process';
import { listenPrivately, makePrivateDir, readOwnFile } from '../common/runtime';
import { runCommand, type RunResult } from '../common/run';
import { after } from '../common/timer';
import { ROUTE_GROUPS, watchRoute } from '../common/unix-dgram';
import { realRelayNet, type RelayNet } from './dns/net';

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when it could not be started at all (e.g. ENOENT: no such program). */
  spawnError?: string;
}

export interface DaemonHandle {
  pid: number;
  exited: Promise<DaemonExit>;
  kill(signal: NodeJS.Signals): void;
  /** Signals every process the daemon left in its process group (dhcpcd's privsep helpers). */
  killGroup(signal: NodeJS.Signals): void;
  /** The last lines it printed (stdout and stderr), for the reason it failed. */
  tail(): string;
}

/** A UNIX stream endpoint: one request (or none) in, one answer out, then the connection ends. */
export interface Endpoint {
  /** Absolute socket path. */
  path: string;
  /** Read the client's data until it half-closes before answering; false: answer at once. */
  readRequest: boolean;
  /** A longer request is cut off unanswered. */
  maxRequest: number;
  answer(request: string): string;
}

export interface Served {
  close(): void;
}

export interface LinkWatch {
  close(): void;
}

export interface Timer {
  cancel(): void;
}

export interface InitSystem {
  run(argv: readonly string[], input?: string, timeoutMs?: number): Promise<RunResult>;
  /**
   * Starts a daemon in its own process group, its stdout and stderr into the file `output` (in
   * this agent's private run folder), emptied first.
   */
  startDaemon(argv: readonly string[], output: string): DaemonHandle;
  read(path: string): string | null;
  /** A file's bytes, null when there is none. */
  readBytes(path: string): Buffer | null;
  /**
   * A file this agent wrote in its own folder, null when there is none; throws when something else
   * is there (a symlink, which is never followed; another user's file).
   */
  readOwn(path: string): string | null;
  list(dir: string): string[];
  exists(path: string): boolean;
  write(path: string, text: string): void;
  /** Write a temp file, fsync, rename: a reader never sees half a file. */
  writeAtomic(path: string, data: string | Buffer): void;
  remove(path: string): void;
  /** Its own folder, mode 0700; a symlink there is removed, not followed (what was removed is returned). */
  makePrivateDir(path: string): string | null;
  /** A process's start time (field 22 of /proc/PID/stat), or null when it is gone. */
  processStart(pid: number): string | null;
  /** What the kernel calls it (/proc/PID/comm), or null when it is gone. */
  processName(pid: number): string | null;
  /**
   * Signals a process group, only while it has members: a group's ID cannot be taken by another
   * while one is left, so a group found non-empty is still the one that was started. False when
   * nobody is in it.
   */
  killGroup(pgid: number, signal: NodeJS.Signals): boolean;
  /** The processes of a process group, each with its start time. */
  processGroup(pgid: number): Array<{ pid: number; start: string }>;
  /** Signals one process; false when it is gone. */
  kill(pid: number, signal: NodeJS.Signals): boolean;
  /** Serves a UNIX stream endpoint, mode 0600 (a leftover socket or a symlink at its path is replaced). */
  serve(endpoint: Endpoint, onError: (err: Error) => void): Served;
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** Runs `fn` once after `ms`; the timer never keeps the process alive on its own. */
  after(ms: number, fn: () => void): Timer;
  /** Calls `onChange` whenever a network interface appears, goes or changes (rtnetlink). */
  watchLinks(onChange: () => void): LinkWatch;
  /** Calls `onChange` whenever the kernel's neighbour (ARP) table changes (rtnetlink). */
  watchNeighbours(onChange: () => void): LinkWatch;
  /** The DNS relay's sockets. */
  relayNet: RelayNet;
}

function killGroupIfAny(pgid: number, signal: NodeJS.Signals): boolean {
  if (processGroupMembers(pgid).length === 0) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

// A daemon's output file is emptied when it grows past this (checked as it is written): /run is RAM.
const OUTPUT_MAX_BYTES = 256 * 1024;
const OUTPUT_TAIL_BYTES = 4096;

/**
 * The file a daemon writes its output to: created afresh (never through a symlink), appended to
 * by the daemon, its end read back for the reason it failed. The last output stays after it exits.
 */
function openDaemonOutput(path: string): { fd: number | 'ignore'; tail(): string; close(): void } {
  const { O_RDWR, O_APPEND, O_CREAT, O_TRUNC, O_NOFOLLOW } = fsConstants;
  let fd: number;
  try {
    fd = openSync(path, O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
  } catch (err) {
    // Its output is lost, but the daemon runs: the reason shows where its last words would.
    const why = `(its output is not kept: ${(err as Error).message})`;
    return { fd: 'ignore', tail: () => why, close: () => undefined };
  }
  let last: string | null = null;
  const read = (): string => {
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, OUTPUT_TAIL_BYTES));
      const n = readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.subarray(0, n).toString();
    } catch {
      return '';
    }
  };
  // Looked at when the daemon writes (inotify), not on a clock: a quiet daemon wakes nothing.
  let trim: FSWatcher | null = null;
  try {
    trim = watch(path, { persistent: false }, () => {
      try {
        if (fstatSync(fd).size > OUTPUT_MAX_BYTES) ftruncateSync(fd, 0);
      } catch {
        /* closed meanwhile */
      }
    });
    trim.on('error', () => trim?.close());
  } catch {
    /* no inotify: the file is bounded by the daemon's restarts alone */
  }
  return {
    fd,
    tail: () => last ?? read(),
    close() {
      if (last !== null) return;
      last = read();
      trim?.close();
      closeSync(fd);
    },
  };
}

export const realSystem: InitSystem = {
  run(argv, input, timeoutMs = 30_000) {
    return runCommand(argv, { ...(input !== undefined ? { input } : {}), timeoutMs });
  },
  startDaemon(argv, output) {
    // Its output goes to a file, not a pipe to this process: once wifibox-init is gone (killed -9,
    // until the next one takes over), a pipe would kill the daemon with SIGPIPE at its next line,
    // and udhcpd says "received SIGTERM" before it writes its lease file.
    const out = openDaemonOutput(output);
    // Its own process group: whatever it forks can be found, and stopped, with it.
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', out.fd, out.fd], detached: true });
    let failure = '';
    const exited = new Promise<DaemonExit>((resolve) => {
      child.on('exit', (code, signal) => {
        out.close();
        resolve({ code, signal });
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        failure = err.message;
        if (child.pid === undefined) out.close();
        // 'error' without a pid: it never ran. With one, a later kill failed: 'exit' still comes.
        if (child.pid === undefined) resolve({ code: -1, signal: null, spawnError: err.code ?? err.message });
      });
    });
    return {
      pid: child.pid ?? -1,
      exited,
      kill: (signal) => {
        try {
          child.kill(signal);
        } catch {
          /* already gone */
        }
      },
      killGroup: (signal) => {
        if (child.pid) killGroupIfAny(child.pid, signal);
      },
      tail: () => `${out.tail()}\n${failure}`.trim().split('\n').slice(-5).join('\n'),
    };
  },
  read(path) {
    const bytes = realSystem.readBytes(path);
    return bytes === null ? null : bytes.toString('utf8');
  },
  readBytes(path) {
    try {
      return readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  },
  list(dir) {
    try {
      return readdirSync(dir).sort();
    } catch {
      return [];
    }
  },
  readOwn: readOwnFile,
  exists: (path) => existsSync(path),
  write(path, text) {
    writeFileSync(path, text);
  },
  writeAtomic: (path, data) => writeFileAtomic(path, data),
  remove(path) {
    rmSync(path, { force: true });
  },
  makePrivateDir,
  processStart: (pid) => processStartTime(pid),
  processName: (pid) => processName(pid),
  killGroup: killGroupIfAny,
  processGroup: (pgid) => processGroupMembers(pgid),
  kill(pid, signal) {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  },
  serve(endpoint, onError) {
    const server = createServer((s) => {
      s.on('error', () => undefined);
      if (!endpoint.readRequest) {
        s.end(endpoint.answer(''));
        return;
      }
      let data = '';
      s.on('data', (d) => {
        data += d.toString();
        if (data.length > endpoint.maxRequest) s.destroy();
      });
      s.on('end', () => s.end(endpoint.answer(data)));
    });
    server.on('error', onError);
    listenPrivately(server, endpoint.path);
    return {
      close() {
        server.close();
        rmSync(endpoint.path, { force: true });
      },
    };
  },
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  after,
  watchLinks: (onChange) => watchRoute(ROUTE_GROUPS.link, onChange),
  watchNeighbours: (onChange) => watchRoute(ROUTE_GROUPS.neighbour, onChange),
  relayNet: realRelayNet,
};
