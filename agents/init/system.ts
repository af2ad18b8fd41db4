// Every side effect of the init orchestrator, behind one interface tests can replace.
import { spawn } from 'node:child_process';
import { runCommand, type RunResult } from '../common/run';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';

export type { RunResult };

export interface DaemonHandle {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  /** Signals every process the daemon left in its process group (dhcpcd's privsep helpers). */
  killGroup(signal: NodeJS.Signals): void;
  /** The last lines it printed (stdout and stderr), for the reason it failed. */
  tail(): string;
}

export interface InitSystem {
  run(argv: readonly string[], input?: string, timeoutMs?: number): Promise<RunResult>;
  startDaemon(argv: readonly string[], env?: NodeJS.ProcessEnv): DaemonHandle;
  read(path: string): string | null;
  list(dir: string): string[];
  exists(path: string): boolean;
  write(path: string, text: string): void;
  /** Write a temp file, fsync, rename: a reader never sees half a file. */
  writeAtomic(path: string, text: string): void;
  remove(path: string): void;
  makeDir(path: string, mode: number): void;
  /** A process's start time (field 22 of /proc/PID/stat), or null when it is gone. */
  processStart(pid: number): string | null;
  /** Signals a process group; false when nobody is in it. */
  killGroup(pgid: number, signal: NodeJS.Signals): boolean;
}

export const realSystem: InitSystem = {
  run(argv, input, timeoutMs = 30_000) {
    return runCommand(argv, { ...(input !== undefined ? { input } : {}), timeoutMs });
  },
  startDaemon(argv, env) {
    // Its own process group: whatever it forks can be found, and stopped, with it.
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env, detached: true });
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-4096);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
      child.on('error', (err) => {
        out += err.message;
        resolve({ code: -1, signal: null });
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
        if (!child.pid) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          /* nobody left in the group */
        }
      },
      tail: () => out.trim().split('\n').slice(-5).join('\n'),
    };
  },
  read(path) {
    try {
      return readFileSync(path, 'utf8');
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
  exists: (path) => existsSync(path),
  write(path, text) {
    writeFileSync(path, text);
  },
  writeAtomic(path, text) {
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o644);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true }); // a full /tmp (128 KiB) must not keep a half file too
      throw err;
    }
  },
  remove(path) {
    rmSync(path, { force: true });
  },
  makeDir(path, mode) {
    mkdirSync(path, { recursive: true, mode });
  },
  processStart(pid) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
    } catch {
      return null;
    }
  },
  killGroup(pgid, signal) {
    try {
      process.kill(-pgid, signal);
      return true;
    } catch {
      return false;
    }
  },
};
