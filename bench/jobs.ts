// Jobs the launcher runs in the guest for the diag bench: programs run one after another to their
// exit, each timed from spawn() to its exit, with its exit code, output size and (under
// /usr/bin/time) peak RSS.
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { JobReply, Step, StepResult } from './protocol';

export const TIME = '/usr/bin/time';
const RSS_TAG = 'WBX-BENCH-MAXRSS-KIB=';
const CLOSE_GRACE_MS = 250;

const running = new Set<ChildProcess>();

function runStep(step: Step): Promise<StepResult & { t0: number; t1: number }> {
  return new Promise((resolve) => {
    const argv = step.rss ? [TIME, '-f', `${RSS_TAG}%M`, ...step.argv] : step.argv;
    let settled = false;
    let t1 = NaN;
    let code: number | null = null;
    let signal: string | null = null;
    const out: Buffer[] = [];
    let bytes = 0;
    let err = '';
    const done = (error: string | null) => {
      if (settled) return;
      settled = true;
      running.delete(child);
      const m = new RegExp(`${RSS_TAG}(\\d+)\\s*$`).exec(err);
      resolve({
        t0,
        t1,
        code,
        signal,
        ms: t1 - t0,
        stdoutBytes: bytes,
        stdout: step.keepStdout ? Buffer.concat(out).toString('utf8') : null,
        stderrTail: (m ? err.slice(0, m.index) : err).slice(-2000),
        rssKiB: m ? Number(m[1]) : null,
        error,
      });
    };
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.stdout!.on('data', (d: Buffer) => {
      bytes += d.length;
      if (step.keepStdout) out.push(d);
    });
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    child.on('exit', (c, s) => {
      t1 = performance.now();
      code = c;
      signal = s;
    });
    child.on('error', (e) => {
      if (Number.isNaN(t1)) t1 = performance.now();
      done(e.message);
    });
    // After exit and the end of its output: only then does the next step start. A process that
    // inherited the pipes and outlives the child would hold them open: after CLOSE_GRACE_MS the
    // step ends anyway (noted), so the orchestrator's check right after finds that process.
    child.on('close', () => done(null));
    child.on('exit', () => {
      setTimeout(() => {
        if (settled) return;
        child.stdout!.destroy();
        child.stderr!.destroy();
        done(`its output was still open ${CLOSE_GRACE_MS} ms after it exited (held by a process it left)`);
      }, CLOSE_GRACE_MS).unref();
    });
  });
}

/** Runs the steps in turn; totalMs is from the first spawn to the last exit. */
export async function runJob(steps: Step[]): Promise<JobReply> {
  const results: (StepResult & { t0: number; t1: number })[] = [];
  for (const s of steps) results.push(await runStep(s));
  return {
    ok: true,
    steps: results.map(({ t0: _t0, t1: _t1, ...r }) => r),
    totalMs: results[results.length - 1]!.t1 - results[0]!.t0,
  };
}

/** The step running now, if any, is killed: nothing started here may outlive the orchestrator. */
export function killJobs(): void {
  for (const c of running) c.kill('SIGKILL');
}
