// The bench's launcher: runs inside the guest (started once through nsenter), so the times it
// measures (from spawn() to the first accepted TCP connect, or to a program's exit in a job)
// contain no nsenter or `ip netns` start-up. It answers JSON lines on a UNIX stream socket in the
// guest's /run, and stops every process it started when it is told to, when its peer goes away,
// or on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { killJobs, runJob } from './jobs';
import type { LauncherReply, LauncherRequest, LauncherStart } from './protocol';

const children = new Map<number, { child: ChildProcess; exited: Promise<number | null> }>();

/** Resolves once a TCP connect to host:port succeeds; counts the attempts. */
function waitListening(
  host: string,
  port: number,
  t0: number,
  timeoutMs: number,
  everyMs: number,
  gone: () => boolean,
): Promise<{ ms: number; probes: number }> {
  return new Promise((resolve, reject) => {
    let probes = 0;
    const attempt = () => {
      probes++;
      const s = connect({ host, port });
      s.once('connect', () => {
        const ms = performance.now() - t0;
        s.destroy();
        resolve({ ms, probes });
      });
      s.once('error', () => {
        s.destroy();
        if (gone()) reject(new Error('the process exited before listening'));
        else if (performance.now() - t0 > timeoutMs) reject(new Error(`not listening on ${host}:${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, everyMs);
      });
    };
    attempt();
  });
}

async function start(req: LauncherStart): Promise<LauncherReply> {
  const t0 = performance.now();
  const child = spawn(req.argv[0]!, req.argv.slice(1), { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) return { ok: false, error: `cannot start ${req.argv[0]}` };
  let exitedWith: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      exitedWith = code ?? (signal ? 128 : null);
      resolve(exitedWith);
    });
  });
  children.set(pid, { child, exited });
  try {
    const r = await waitListening(req.host, req.port, t0, req.timeoutMs, req.probeEveryMs ?? 1, () => exitedWith !== undefined);
    return { ok: true, pid, ...r };
  } catch (err) {
    await stop(pid);
    return { ok: false, error: `${(err as Error).message}${exitedWith !== undefined ? ` (exit ${exitedWith})` : ''}` };
  }
}

async function stop(pid: number): Promise<LauncherReply> {
  const c = children.get(pid);
  if (!c) return { ok: false, error: `pid ${pid} was not started here` };
  // The ChildProcess handle signals only its own, not-yet-reaped child.
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 2000);
  const exit = await c.exited;
  clearTimeout(timer);
  children.delete(pid);
  return { ok: true, pid, exit };
}

async function stopAll(): Promise<void> {
  await Promise.all([...children.keys()].map((pid) => stop(pid)));
}

function serve(s: Socket): void {
  let buf = '';
  let queue = Promise.resolve();
  s.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      queue = queue.then(async () => {
        let reply: LauncherReply;
        try {
          const req = JSON.parse(line) as LauncherRequest;
          reply = req.op === 'start' ? await start(req) : req.op === 'stop' ? await stop(req.pid) : await runJob(req.steps);
        } catch (err) {
          reply = { ok: false, error: (err as Error).message };
        }
        if (!s.destroyed) s.write(JSON.stringify(reply) + '\n');
      });
    }
  });
  s.on('error', () => undefined);
  // The orchestrator is gone: nothing started here may outlive it.
  s.on('close', () => {
    killJobs();
    void queue.then(stopAll);
  });
}

export function runLauncher(socketPath: string): void {
  rmSync(socketPath, { force: true });
  const server = createServer(serve);
  const quit = () => {
    killJobs();
    server.close();
    rmSync(socketPath, { force: true });
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  server.listen(socketPath);
}
