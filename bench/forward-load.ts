// The forwarding benchmark's load, run by the bench bundle as `--forward-load <json>` inside the
// lab's namespaces: the host's services (a UDP sink and echo, a TCP sink and echo) in the host
// namespace, the wireless network's clients in the air namespace. Each one-shot op prints one
// JSON line; `serve` prints its counters each time it reads a line on stdin.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

export type LoadOp =
  | { op: 'serve'; address: string; udpSinks: number[]; udpEchoes: number[]; tcp: number[] }
  | { op: 'udp-flood'; host: string; port: number; seconds: number; size: number }
  | { op: 'udp-peers'; host: string; port: number; peers: number; seconds: number; fromPort: number }
  | { op: 'udp-burst'; host: string; port: number; peers: number; fromPort: number }
  | { op: 'tcp-upload'; host: string; port: number; bytes: number }
  | { op: 'tcp-connect'; host: string; ports: number[]; n: number; block: number }
  | { op: 'tcp-hold'; host: string; port: number; n: number };

/** What `serve` counted per port since its last report: datagrams (UDP) or bytes (TCP). */
export interface Tally {
  count: number;
  firstMs: number | null;
  lastMs: number | null;
}

export interface FloodResult {
  sent: number;
  ms: number;
}

export interface PeersResult {
  roundTrips: number;
  /** Round-trip times of one peer in four, ms (past MAX_SAMPLE, one in sixteen of those). */
  sample: number[];
  /** Replies not back within a second: the peer sends again. */
  timeouts: number;
  ms: number;
}

/** `udp-burst`: how many of the peers that sent at the same moment had an answer within a second. */
export interface BurstResult {
  answered: number;
  peers: number;
}

export interface ConnectResult {
  /** connect() to the first echoed byte, ms. */
  times: number[];
  errors: number;
  firstError: string | null;
}

/** The first byte a TCP client sends: E asks for an echo, anything else is counted and dropped. */
const ECHO = 0x45;

const print = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
/** The last result: the process exits once it is written whole. */
const printLast = (o: unknown): Promise<void> => new Promise((res) => process.stdout.write(`${JSON.stringify(o)}\n`, () => res()));
/** Round-trip times kept per run, at most: every one of the first, then a thinner sample. */
const MAX_SAMPLE = 4000;
const newTally = (): Tally => ({ count: 0, firstMs: null, lastMs: null });

function tallied(t: Tally, n: number): void {
  const now = performance.now();
  t.count += n;
  t.firstMs ??= now;
  t.lastMs = now;
}

function serve(o: Extract<LoadOp, { op: 'serve' }>): void {
  const tallies = new Map<string, Tally>();
  const tally = (key: string) => tallies.get(key) ?? tallies.set(key, newTally()).get(key)!;
  for (const port of o.udpSinks) {
    const s = createSocket('udp4');
    s.on('message', () => tallied(tally(`udp:${port}`), 1));
    s.bind(port, o.address);
  }
  for (const port of o.udpEchoes) {
    const s = createSocket('udp4');
    s.on('message', (m, r) => s.send(m, r.port, r.address));
    s.bind(port, o.address);
  }
  let listening = 0;
  for (const port of o.tcp) {
    createServer({ noDelay: true }, (c) => {
      c.on('error', () => undefined);
      let echo: boolean | null = null;
      c.on('data', (d: Buffer) => {
        echo ??= d[0] === ECHO;
        if (echo) c.write(d);
        else tallied(tally(`tcp:${port}`), d.length);
      });
      c.on('end', () => c.end());
    }).listen(port, o.address, () => {
      if (++listening === o.tcp.length) print({ ready: true });
    });
  }
  createInterface({ input: process.stdin }).on('line', () => {
    print(Object.fromEntries(tallies));
    tallies.clear();
  });
}

/** As many datagrams as one socket can send for `seconds`, without a callback per send. */
async function udpFlood(o: Extract<LoadOp, { op: 'udp-flood' }>): Promise<FloodResult> {
  const s = createSocket('udp4');
  await new Promise<void>((res) => s.connect(o.port, o.host, res));
  const msg = Buffer.alloc(o.size, 0x61);
  const t0 = performance.now();
  const end = t0 + o.seconds * 1000;
  let sent = 0;
  while (performance.now() < end) {
    // Bursts, then a turn of the event loop so libuv can drain what the kernel refused at once.
    for (let i = 0; i < 256; i++) s.send(msg);
    sent += 256;
    await new Promise((res) => setImmediate(res));
  }
  const ms = performance.now() - t0;
  s.close();
  return { sent, ms };
}

/**
 * `peers` sockets, each sending a datagram and waiting for its echo, again and again, for
 * `seconds` once all have started. They start one after another, each once the one before has had
 * its first answer (or its first timeout): a relay that forks meets them one at a time. Peer i
 * sends from fromPort + i, so each run is the same peers again, as a LAN's are.
 */
async function udpPeers(o: Extract<LoadOp, { op: 'udp-peers' }>): Promise<PeersResult> {
  const result: PeersResult = { roundTrips: 0, sample: [], timeouts: 0, ms: 0 };
  let end = Infinity;
  let t0 = 0;
  let started: () => void = () => undefined;
  const peer = (i: number) =>
    new Promise<void>((resolve) => {
      const s: UdpSocket = createSocket('udp4');
      let sentAt = 0;
      let seq = 0;
      let timer: NodeJS.Timeout | null = null;
      const next = () => {
        if (timer) clearTimeout(timer);
        if (performance.now() >= end) {
          s.close();
          resolve();
          return;
        }
        sentAt = performance.now();
        s.send(`peer ${i} ${++seq}`, o.port, o.host);
        timer = setTimeout(() => {
          if (seq === 1) started();
          result.timeouts++;
          next();
        }, 1000);
      };
      s.on('message', (m) => {
        // Only the answer to the datagram just sent: a late one, after a timeout, is not a round trip.
        if (m.toString() !== `peer ${i} ${seq}`) return;
        if (seq === 1) started();
        if (end === Infinity) return next();
        result.roundTrips++;
        if (i % 4 === 0 && (result.sample.length < MAX_SAMPLE || result.roundTrips % 16 === 0)) result.sample.push(performance.now() - sentAt);
        next();
      });
      s.bind(o.fromPort + i, next);
    });
  const running: Promise<void>[] = [];
  for (let i = 0; i < o.peers; i++) {
    const first = new Promise<void>((res) => (started = res));
    running.push(peer(i));
    await first;
  }
  t0 = performance.now();
  end = t0 + o.seconds * 1000;
  result.timeouts = 0; // those while starting are in udp-burst's figure, not this one
  await Promise.all(running);
  result.ms = performance.now() - t0;
  return result;
}

/** `peers` sockets send one datagram each at the same moment; who has an answer a second later? */
async function udpBurst(o: Extract<LoadOp, { op: 'udp-burst' }>): Promise<BurstResult> {
  const sockets = await Promise.all(
    Array.from(
      { length: o.peers },
      (_, i) =>
        new Promise<UdpSocket>((res) => {
          const s = createSocket('udp4');
          s.bind(o.fromPort + i, () => res(s));
        }),
    ),
  );
  const answered = new Set<number>();
  sockets.forEach((s, i) => s.on('message', () => answered.add(i)));
  sockets.forEach((s, i) => s.send(`burst ${i}`, o.port, o.host));
  await new Promise((res) => setTimeout(res, 1000));
  for (const s of sockets) s.close();
  return { answered: answered.size, peers: o.peers };
}

/** `bytes` in 64 KiB writes, as fast as the connection takes them; resolves once the server has ended. */
function tcpUpload(o: Extract<LoadOp, { op: 'tcp-upload' }>): Promise<{ ms: number }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const c = connect({ host: o.host, port: o.port, noDelay: true });
    const t0 = performance.now();
    let left = o.bytes;
    const pump = () => {
      while (left > 0) {
        left -= chunk.length;
        if (!c.write(chunk)) return;
      }
      c.end();
    };
    c.on('connect', pump);
    c.on('drain', pump);
    c.on('data', () => undefined);
    c.on('end', () => resolve({ ms: performance.now() - t0 }));
    c.on('error', reject);
  });
}

/** connect() to the first byte echoed back, ms; or the error. */
function connectOnce(host: string, port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const c = connect({ host, port, noDelay: true });
    const timer = setTimeout(() => c.destroy(new Error('no echo within 2 s')), 2000);
    c.on('connect', () => c.write(Buffer.from([ECHO])));
    c.once('data', () => {
      clearTimeout(timer);
      c.destroy();
      resolve(performance.now() - t0);
    });
    c.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? err.message);
    });
  });
}

/**
 * One connection after another to each port, `n` each, in alternating blocks of `block` (the
 * first port first, then the other way round), so both meet the same noise.
 */
async function tcpConnect(o: Extract<LoadOp, { op: 'tcp-connect' }>): Promise<ConnectResult[]> {
  const results = o.ports.map((): ConnectResult => ({ times: [], errors: 0, firstError: null }));
  for (let done = 0, turn = 0; done < o.n; done += o.block, turn++) {
    const order = o.ports.map((_, i) => i);
    for (const i of turn % 2 ? order.reverse() : order) {
      const r = results[i]!;
      for (let k = 0; k < Math.min(o.block, o.n - done); k++) {
        const t = await connectOnce(o.host, o.ports[i]!);
        if (typeof t === 'number') r.times.push(t);
        else {
          r.errors++;
          r.firstError ??= t;
        }
      }
    }
  }
  return results;
}

/** `n` echoing connections held open (each has had its byte back) until stdin closes. */
async function tcpHold(o: Extract<LoadOp, { op: 'tcp-hold' }>): Promise<void> {
  const held: Socket[] = [];
  for (let i = 0; i < o.n; i++) {
    await new Promise<void>((resolve) => {
      const c = connect({ host: o.host, port: o.port });
      c.on('error', () => resolve());
      c.on('connect', () => c.write(Buffer.from([ECHO])));
      c.once('data', () => {
        held.push(c);
        resolve();
      });
    });
  }
  print({ holding: held.length });
  process.stdin.resume();
  await new Promise((res) => process.stdin.on('end', res));
  for (const c of held) c.destroy();
}

export async function runForwardLoad(json: string): Promise<void> {
  const o = JSON.parse(json) as LoadOp;
  switch (o.op) {
    case 'serve':
      serve(o);
      return new Promise(() => undefined); // until it is stopped
    case 'udp-flood':
      return printLast(await udpFlood(o));
    case 'udp-peers':
      return printLast(await udpPeers(o));
    case 'udp-burst':
      return printLast(await udpBurst(o));
    case 'tcp-upload':
      return printLast(await tcpUpload(o));
    case 'tcp-connect':
      return printLast(await tcpConnect(o));
    case 'tcp-hold':
      return tcpHold(o);
  }
}
