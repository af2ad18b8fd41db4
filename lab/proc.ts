// Process plumbing for the lab: every spawn is an argv array (never a shell), and every
// long-running process is remembered by PID *and* start time, so cleanup can never signal
// a recycled PID or anything this lab did not start.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { processStartTime as startTime } from '../agents/common/process';
import { runCommand, type RunOptions, type RunResult } from '../agents/common/run';
import { readFileSync } from 'node:fs';

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

export interface Daemon extends Tracked {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

/** Starts a long-running process whose output is kept in memory (bounded) for test messages. */
export function startDaemon(name: string, argv: readonly string[], opts: SpawnOptions = {}): Daemon {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${argv[0]}`);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 256 * 1024) out = out.slice(-128 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.on('error', () => resolve(-1));
  });
  return { name, pid: child.pid, start: startTime(child.pid) ?? '', child, exited, output: () => out };
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
