// The bench's client side: runs inside the lab's host namespace (ip netns exec), where
// 10.0.0.1 and the host socat's sockets are reachable; prints one JSON result on stdout.
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatagramSocket, type DatagramSocket } from '../agents/common/unix-dgram';
import { clientSsid } from '../lab/guest-files';
import type { ClientOp, ConcurrentResult, HoldReady, LatencyResult, TargetLatency } from './protocol';
import { PING, PONG } from './protocol';

type Outcome = { kind: 'ok'; ms: number } | { kind: 'lost' } | { kind: 'wrong'; reply: string } | { kind: 'error'; error: string };

function emptyTarget(): TargetLatency {
  return { times: [], lost: 0, wrong: 0, errors: 0, firstError: null, gaveUpAfter: null };
}

function record(t: TargetLatency, o: Outcome): void {
  if (o.kind === 'ok') t.times.push(o.ms);
  else if (o.kind === 'lost') t.lost++;
  else if (o.kind === 'wrong') t.wrong++;
  else {
    t.errors++;
    t.firstError ??= o.error;
  }
}

/** The host socat child's pattern: connect, write, half-close, read until the reply. */
function freshRequest(host: string, port: number, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = connect({ host, port, allowHalfOpen: true, noDelay: true });
    let buf = '';
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'lost' }), timeoutMs);
    s.on('connect', () => s.end(PING));
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes(PONG)) finish({ kind: 'ok', ms: performance.now() - t0 });
    });
    s.on('end', () => finish(buf ? { kind: 'wrong', reply: buf } : { kind: 'error', error: 'closed without a reply' }));
    s.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'error', error: err.code ?? err.message }));
  });
}

/** One long-lived connection: request, wait for the reply, repeat. */
class OpenConnection {
  private buf = '';
  private waiter: ((o: Outcome) => void) | null = null;
  private failure: string | null = null;

  private constructor(private readonly s: Socket) {
    s.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      if (this.waiter && this.buf.includes(PONG)) {
        this.buf = this.buf.slice(this.buf.indexOf(PONG) + PONG.length);
        this.settle();
      }
    });
    const fail = (why: string) => {
      this.failure ??= why;
      if (this.waiter) this.waiter({ kind: 'error', error: why });
      this.waiter = null;
    };
    s.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    s.on('close', () => fail('connection closed'));
  }

  private t0 = 0;
  private settle(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.({ kind: 'ok', ms: performance.now() - this.t0 });
  }

  static open(host: string, port: number): Promise<OpenConnection> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, noDelay: true });
      s.once('connect', () => resolve(new OpenConnection(s)));
      s.once('error', reject);
    });
  }

  request(timeoutMs: number): Promise<Outcome> {
    if (this.failure) return Promise.resolve({ kind: 'error', error: this.failure });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve({ kind: 'lost' });
      }, timeoutMs);
      this.waiter = (o) => {
        clearTimeout(timer);
        resolve(o);
      };
      this.buf = ''; // a reply that came after an earlier timeout is not this one's
      this.t0 = performance.now();
      this.s.write(PING);
    });
  }

  close(): void {
    this.s.destroy();
  }
}

/**
 * A host client such as wpa_cli: a datagram socket bound to its own path, talking to the
 * host socat's socket. One request at a time; a datagram with no request pending is stray.
 */
class HostClient {
  private readonly sock: DatagramSocket;
  private waiter: ((reply: Buffer) => void) | null = null;
  stray = 0;
  /** Sends that found the destination's queue full and were retried. */
  sendWaits = 0;
  private sendWaitsNow = 0;

  constructor(readonly path: string) {
    rmSync(path, { force: true });
    this.sock = openDatagramSocket((msg) => {
      const w = this.waiter;
      this.waiter = null;
      if (w) w(msg);
      else this.stray++;
    });
    this.sock.bind(path);
  }

  /**
   * Sends req to dest; resolves with the first datagram back, or null after timeoutMs. A full
   * queue on the host socat's socket (EAGAIN) is waited out, as wpa_cli's blocking send would.
   */
  ask(req: string, dest: string, timeoutMs: number): Promise<{ reply: Buffer | null; ms: number; error?: string }> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      let retry: NodeJS.Timeout | null = null;
      const timer = setTimeout(() => {
        if (retry) clearTimeout(retry);
        this.waiter = null;
        resolve({ reply: null, ms: performance.now() - t0 });
      }, timeoutMs);
      this.waiter = (reply) => {
        clearTimeout(timer);
        resolve({ reply, ms: performance.now() - t0 });
      };
      this.sendWaitsNow = 0;
      const send = () => {
        retry = null;
        try {
          this.sock.send(Buffer.from(req), dest);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? String(err);
          if (code === 'EAGAIN') {
            // 1, 2, 4, then every 4 ms: close to a blocking send without spinning 64 clients.
            retry = setTimeout(send, Math.min(1 << this.sendWaitsNow++, 4));
            this.sendWaits++;
            return;
          }
          clearTimeout(timer);
          this.waiter = null;
          resolve({ reply: null, ms: 0, error: code });
        }
      };
      send();
    });
  }

  close(): void {
    this.sock.close();
    rmSync(this.path, { force: true });
  }
}

/**
 * Runs `n` requests per target in blocks of `block`, alternating between the targets. With
 * giveUpAfterLost, a target that lost that many in a row is dropped: the rest count as lost.
 */
async function alternate(
  targets: number,
  n: number,
  block: number,
  one: (t: number) => Promise<Outcome>,
  giveUpAfterLost = Infinity,
): Promise<TargetLatency[]> {
  const out = Array.from({ length: targets }, emptyTarget);
  const lostInARow = new Array<number>(targets).fill(0);
  for (let done = 0; done < n; done += block) {
    const count = Math.min(block, n - done);
    // Which target goes first flips each round.
    const order = Array.from({ length: targets }, (_, i) => ((done / block) % 2 === 0 ? i : targets - 1 - i));
    for (const t of order) {
      const target = out[t]!;
      for (let i = 0; i < count; i++) {
        if (target.gaveUpAfter !== null) {
          target.lost++;
          continue;
        }
        const o = await one(t);
        record(target, o);
        lostInARow[t] = o.kind === 'lost' ? lostInARow[t]! + 1 : 0;
        if (lostInARow[t]! >= giveUpAfterLost) target.gaveUpAfter = done + i + 1;
      }
    }
  }
  return out;
}

async function fresh(op: Extract<ClientOp, { op: 'fresh' }>): Promise<LatencyResult> {
  const targets = await alternate(op.ports.length, op.n, op.block, (t) => freshRequest(op.host, op.ports[t]!, op.timeoutMs));
  return { targets };
}

async function open(op: Extract<ClientOp, { op: 'open' }>): Promise<LatencyResult> {
  const conns = await Promise.all(op.ports.map((p) => OpenConnection.open(op.host, p)));
  try {
    const targets = await alternate(op.ports.length, op.n, op.block, (t) => conns[t]!.request(op.timeoutMs), 5);
    return { targets };
  } finally {
    for (const c of conns) c.close();
  }
}

async function chain(op: Extract<ClientOp, { op: 'chain' }>): Promise<LatencyResult> {
  const clients = op.sockets.map((_, i) => new HostClient(join(op.bindDir, `bench-chain-${process.pid}-${i}`)));
  try {
    const targets = await alternate(op.sockets.length, op.n, op.block, async (t): Promise<Outcome> => {
      const r = await clients[t]!.ask(PING, op.sockets[t]!, op.timeoutMs);
      if (r.error) return { kind: 'error', error: r.error };
      if (!r.reply) return { kind: 'lost' };
      const text = r.reply.toString('latin1');
      return text === PONG ? { kind: 'ok', ms: r.ms } : { kind: 'wrong', reply: text };
    });
    return { targets };
  } finally {
    for (const c of clients) c.close();
  }
}

/** The lab's wpa_supplicant.conf has network i+1 with its own ssid for client i. */
function expectedSsid(i: number): string {
  return `"${clientSsid(i)}"`;
}

async function concurrent(op: Extract<ClientOp, { op: 'concurrent' }>): Promise<ConcurrentResult> {
  const res: ConcurrentResult = {
    clients: op.clients,
    sent: 0,
    ok: 0,
    wrong: 0,
    lost: 0,
    stray: 0,
    sendWaits: 0,
    sendErrors: 0,
    firstSendError: null,
    elapsedMs: 0,
    sampleWrong: [],
  };
  const clients = Array.from({ length: op.clients }, (_, i) => new HostClient(join(op.bindDir, `bench-cc-${process.pid}-${i}`)));
  const t0 = performance.now();
  try {
    await Promise.all(
      clients.map(async (c, i) => {
        const want = expectedSsid(i);
        for (let k = 0; k < op.n; k++) {
          res.sent++;
          const r = await c.ask(`GET_NETWORK ${i + 1} ssid`, op.socket, op.timeoutMs);
          if (!r.reply) {
            if (r.error) {
              res.sendErrors++;
              res.firstSendError ??= r.error;
            }
            res.lost++;
            continue;
          }
          // The daemon's reply carries no newline; a trailing one would be the bridge's doing.
          const text = r.reply.toString('latin1');
          if (text === want || text === `${want}\n`) res.ok++;
          else {
            res.wrong++;
            if (res.sampleWrong.length < 5) res.sampleWrong.push(`client ${i} got ${JSON.stringify(text.slice(0, 80))}`);
          }
        }
      }),
    );
    res.elapsedMs = performance.now() - t0;
    // Replies still in flight when the last request finished are strays too.
    await new Promise((r) => setTimeout(r, 200));
    res.stray = clients.reduce((n, c) => n + c.stray, 0);
    res.sendWaits = clients.reduce((n, c) => n + c.sendWaits, 0);
    return res;
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * Opens n idle connections, says so, and holds them until stdin closes. They are opened one
 * by one, a few ms apart: the old socat listens with socat's default backlog of 5, and a burst
 * would overflow it; the kernel then drops the handshake's last ACK, the client believes it is
 * connected, and the server only accepts it seconds later, in the middle of another test.
 */
async function hold(op: Extract<ClientOp, { op: 'hold' }>): Promise<HoldReady> {
  const conns: OpenConnection[] = [];
  let failed = 0;
  for (let i = 0; i < op.n; i++) {
    try {
      conns.push(await OpenConnection.open(op.host, op.port));
    } catch {
      failed++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const ready: HoldReady = { holding: conns.length, failed };
  process.stdout.write(JSON.stringify(ready) + '\n');
  await new Promise<void>((resolve) => {
    process.stdin.on('data', () => undefined);
    process.stdin.on('end', resolve);
    process.stdin.on('error', () => resolve());
  });
  for (const c of conns) c.close();
  return ready;
}

/** Each op's run, by its name. */
const OPS: { [K in ClientOp['op']]: (op: Extract<ClientOp, { op: K }>) => Promise<unknown> } = { fresh, open, chain, concurrent, hold };

export async function runClient(json: string): Promise<void> {
  const op = JSON.parse(json) as ClientOp;
  const run = OPS[op.op] as (op: ClientOp) => Promise<unknown>;
  process.stdout.write(JSON.stringify(await run(op)) + '\n');
}
