// Process plumbing for the lab: every spawn is an argv array (never a shell), and every
// long-running process is remembered by PID *and* start time, so cleanup can never signal
// a recycled PID or anything this lab did not start.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime as startTime } from '../agents/common/process';
import { runCommand, type RunOptions, type RunResult } from '../agents/common/run';

export type { RunOptions, RunResult };
export { startTime };

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runCommand(argv, opts);
}

/** Runs argv and throws with its output when it fails: for setup steps that must work. */
export async function must(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    throw new Error(`${argv.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

export interface Tracked {
  name: string;
  pid: number;
  start: string;
}

export function isSameProcess(t: Tracked): boolean {
  return startTime(t.pid) === t.start;
}

export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after graceMs; only if the PID still belongs to the process we started. */
export async function stopTracked(t: Tracked, graceMs = 2000): Promise<void> {
  if (!isSameProcess(t)) return;
  try {
    process.kill(t.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isSameProcess(t) || isZombie(t.pid)) return;
    await sleep(20);
  }
  if (isSameProcess(t)) {
    try {
      process.kill(t.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export interface LabProcess extends Tracked {
  log: string;
  exited: Promise<number | null>;
  output(): string;
}

/**
 * Starts a long-running process whose output goes to the file `log`. With `outlive`, this
 * process may exit while it runs (`npm run lab`).
 */
export function spawnLogged(name: string, argv: readonly string[], log: string, env: NodeJS.ProcessEnv, outlive: boolean): LabProcess {
  const fd = openSync(log, 'a');
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', fd, fd],
    detached: true, // its own process group: a Ctrl-C meant for `npm run lab` does not reach it
    env,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${argv[0]}`);
  const exited = new Promise<number | null>((res) => {
    child.on('exit', (code, signal) => res(code ?? (signal ? 128 : null)));
    child.on('error', () => res(-1));
  });
  if (outlive) child.unref();
  return {
    name,
    pid: child.pid,
    start: startTime(child.pid) ?? '',
    log,
    exited,
    output: () => (existsSync(log) ? readFileSync(log, 'utf8') : ''),
  };
}

/** The last lines of every log in a folder: what a failed run shows before it cleans up. */
export function logTails(dir: string, lines: number): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8').trimEnd().split('\n').slice(-lines).join('\n  ');
      return `--- ${f}\n  ${text}`;
    })
    .join('\n');
}

/** Direct children of pid: /proc/PID/task/*\/children, or a scan of /proc by PPID. */
export function childrenOf(pid: number): number[] {
  try {
    const out: number[] = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
    return out;
  } catch {
    return scanChildren(pid);
  }
}

function scanChildren(ppid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(e));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export { sleep };
