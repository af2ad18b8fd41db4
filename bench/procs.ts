// The orchestrator's handles on its helpers: clients run in the lab's host namespace, one
// launcher runs in the guest. Every process started here is remembered and stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import type { Lab } from '../lab/lab';
import { waitFor } from '../lab/proc';
import { comm } from './memory';
import type { ClientOp, HoldReady, JobReply, LauncherRequest, ReplyTo, Step } from './protocol';

const LAUNCHER_SOCKET = '/run/bench-launcher.sock';

const started = new Set<ChildProcess>();

// The bench's own bundle, as its client and launcher modes run it: normally a private copy
// (harness.ts privateDist: a rebuild rewrites dist/ in place, which crashes whatever has the addon loaded).
let benchScript = __filename;
export function useBenchScript(path: string): void {
  benchScript = path;
}

/** Stops every client this process started that is still running (by its PID). */
export function stopClients(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  started.clear();
}

function clientArgv(lab: Lab, op: ClientOp): string[] {
  return lab.hostArgv([process.execPath, benchScript, '--client', JSON.stringify(op)]);
}

function startClient(lab: Lab, op: ClientOp): { child: ChildProcess; lines: AsyncIterable<string>; stderr: () => string; exited: Promise<number | null> } {
  const argv = clientArgv(lab, op);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  started.add(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      started.delete(child);
      resolve(code ?? (signal ? 128 : null));
    });
    child.on('error', () => resolve(-1));
  });
  async function* lines(): AsyncIterable<string> {
    let buf = '';
    for await (const d of child.stdout!) {
      buf += (d as Buffer).toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        yield buf.slice(0, nl);
        buf = buf.slice(nl + 1);
      }
    }
  }
  return { child, lines: lines(), stderr: () => err, exited };
}

/** Runs one client op to completion and returns its JSON result. */
export async function runClient<T>(lab: Lab, op: ClientOp, timeoutMs: number): Promise<T> {
  const c = startClient(lab, op);
  const timer = setTimeout(() => c.child.kill('SIGKILL'), timeoutMs);
  let last = '';
  try {
    for await (const line of c.lines) last = line;
    const code = await c.exited;
    if (code !== 0 || !last) throw new Error(`client ${op.op} failed (exit ${code}): ${c.stderr().trim().slice(-800)}`);
    return JSON.parse(last) as T;
  } finally {
    clearTimeout(timer);
  }
}

/** Opens op.n idle connections from the host namespace; release() closes them. */
export async function holdConnections(lab: Lab, host: string, port: number, n: number): Promise<{ ready: HoldReady; release(): Promise<void> }> {
  const c = startClient(lab, { op: 'hold', host, port, n });
  const it = c.lines[Symbol.asyncIterator]();
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 15_000);
  const first = await it.next();
  clearTimeout(timer);
  if (first.done) throw new Error(`hold client failed (exit ${await c.exited}): ${c.stderr().trim().slice(-800)}`);
  const ready = JSON.parse(first.value) as HoldReady;
  return {
    ready,
    async release() {
      c.child.stdin!.end();
      const t = setTimeout(() => c.child.kill('SIGKILL'), 5000);
      // Drain the rest so the pipe never blocks the client.
      for (;;) if ((await it.next()).done) break;
      await c.exited;
      clearTimeout(t);
    },
  };
}

/** The orchestrator's end of the launcher's socket: one request, one reply line, in turn. */
export class LauncherClient {
  private buf = '';
  private waiters: ((line: string) => void)[] = [];

  private constructor(private readonly s: Socket) {
    s.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.waiters.shift()?.(line);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      for (const w of this.waiters.splice(0)) w(JSON.stringify({ ok: false, error: 'launcher went away' }));
    });
  }

  static connect(path: string): Promise<LauncherClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new LauncherClient(s)));
      s.once('error', reject);
    });
  }

  request<R extends LauncherRequest>(req: R): Promise<ReplyTo<R>> {
    return new Promise((resolve) => {
      this.waiters.push((line) => resolve(JSON.parse(line) as ReplyTo<R>));
      this.s.write(JSON.stringify(req) + '\n');
    });
  }

  /** Runs a job (programs to their exit, in turn); rejects on a failure or after timeoutMs without a reply. */
  job(steps: Step[], timeoutMs = 30_000): Promise<JobReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the launcher did not answer within ${timeoutMs} ms`)), timeoutMs);
      void this.request({ op: 'job', steps }).then((r) => {
        clearTimeout(timer);
        if (r.ok) resolve(r);
        else reject(new Error(r.error));
      });
    });
  }

  close(): void {
    this.s.end();
  }
}

/** The launcher in the guest; lab.down() stops it, and it stops whatever it started. */
export async function startLauncher(lab: Lab): Promise<LauncherClient> {
  const proc = lab.startInGuest('bench-launcher', [process.execPath, benchScript, '--launcher', LAUNCHER_SOCKET]);
  const sockPath = lab.guestPath(LAUNCHER_SOCKET);
  return waitFor(
    'the bench launcher',
    async () => {
      if (comm(proc.pid) === '') throw new Error(`launcher exited: ${proc.output()}`);
      return LauncherClient.connect(sockPath).catch(() => null);
    },
    10_000,
    20,
  );
}
