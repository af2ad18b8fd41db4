// Runs one command to completion (argv, never a shell) and returns its result as data:
// the exit code, -1 when it could not start, 124 when it was killed for taking too long.
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunResult {
  /** The exit code; -1: it could not start, 124: killed for taking too long. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to its stdin; without it, stdin is closed at once. */
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Told the process's PID as soon as it runs (e.g. to put it in a cgroup). */
  onSpawn?: (pid: number) => void;
}

export function runCommand(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    } catch (err) {
      resolve({ code: -1, stdout: '', stderr: String(err) });
      return;
    }
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      stderr += err.message;
      finish(-1);
    });
    // 'close' waits for every holder of its pipes: a grandchild left in the background would
    // hold the result hostage. Its own exit, then a moment for the last output, is enough.
    child.on('exit', (code) => {
      const result = timedOut ? 124 : (code ?? -1);
      setTimeout(() => finish(result), 100).unref();
    });
    child.on('close', (code) => finish(timedOut ? 124 : (code ?? -1)));
    child.stdin!.on('error', () => undefined); // a child that exits without reading its input
    child.stdin!.end(opts.input ?? '');
  });
}
