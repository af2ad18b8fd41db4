// What the forwarding bench measures in its lab: the host's services and the wireless network's
// clients (bench.js --forward-load, in those namespaces), both relays started in the guest with the
// same lines, their memory with peers and connections open, and the timed rounds (forward.ts runs
// these steps; forward-report.ts renders what they return).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Lab } from '../lab/lab';
import { packageArgv } from '../lab/paths';
import { childrenOf, sleep, waitFor, type LabProcess } from '../lab/proc';
import { readStatus } from '../lab/status';
import type { BurstResult, ConnectResult, FloodResult, LoadOp, PeersResult, Tally } from './forward-load';
import type { Bridge, ForwardResults, MemoryReading, Round } from './forward-report';
import type { Log } from './harness';
import { addMemory, comm, cpuSeconds, NO_MEMORY, smapsRollup, treeMemory, type Memory } from './memory';

const HOST = '10.0.0.2';
const PEERS = 32;
/** The per-peer cost is read at this many UDP associations and as many TCP connections. */
export const MANY = 256;
/** TCP uploads to each relay per round, in pairs. */
const UPLOAD_PAIRS = 3;
const CONF = '/run/bench-forward.conf';
const RUN_DIR = '/run/bench-forward';
const STATUS = `${RUN_DIR}/status.sock`;
/** The peers' source ports: the same 32 peers in every run, and 32 others for the burst. */
const PEER_PORTS = 40000;
const BURST_PORTS = 41000;
/** The MANY peers' source ports: their own, so none is an association left from before. */
const MANY_PORTS = 42000;

/** The same three lines for each: ours on ports 21000+, socat's on 31000+, their targets 1000 above. */
function linesFor(base: number, wlan0: string): string[] {
  return [
    `UDP4-RECV:${base},broadcast,reuseaddr UDP4:${HOST}:${base + 1000}`,
    `UDP-LISTEN:${base + 1},broadcast,fork,reuseaddr UDP:${HOST}:${base + 1001}`,
    `TCP4-LISTEN:${base + 2},bind=${wlan0},fork,reuseaddr TCP4:${HOST}:${base + 1002}`,
  ];
}
const BASES: Record<Bridge, number> = { ours: 21000, socat: 31000 };

interface Sizes {
  rounds: number;
  floodSeconds: number;
  peersSeconds: number;
  uploadBytes: number;
  connects: number;
}
export const FULL: Sizes = { rounds: 3, floodSeconds: 3, peersSeconds: 3, uploadBytes: 256 << 20, connects: 500 };
export const QUICK: Sizes = { rounds: 1, floodSeconds: 1, peersSeconds: 1, uploadBytes: 32 << 20, connects: 100 };

/** A load process in the host or air namespace (bench.js --forward-load), read line by line. */
class Load {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  private readonly rl: Interface;
  private stderr = '';

  constructor(lab: Lab, where: 'host' | 'air', op: LoadOp, script: string, cpu: string | null) {
    const inner = [...(cpu ? ['taskset', '-c', cpu] : []), process.execPath, script, '--forward-load', JSON.stringify(op)];
    const argv = where === 'host' ? lab.hostArgv(inner) : lab.airArgv(inner);
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.rl = createInterface({ input: this.child.stdout! });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  /** The next JSON line it prints (or an error with its stderr when it ends first or is too slow). */
  async next<T>(timeoutMs = 60_000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms: ${this.stderr.slice(-500)}`)), timeoutMs)),
    );
    try {
      const r = await Promise.race([this.lines.next(), late]);
      if (r.done) throw new Error(`the load process ended: ${this.stderr.slice(-800)}`);
      return JSON.parse(r.value) as T;
    } finally {
      clearTimeout(timer);
    }
  }

  say(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Closes its stdin (a hold ends) and waits for it to exit; killed after 5 s. */
  async end(): Promise<void> {
    this.child.stdin!.end();
    if (this.child.exitCode !== null) return;
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await new Promise((res) => this.child.once('exit', res));
    clearTimeout(t);
    this.rl.close();
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

interface Relays {
  ours: LabProcess;
  socat: LabProcess[];
}

async function listeningAll(lab: Lab, ports: number[]): Promise<void> {
  await waitFor(
    `ports ${ports.join(', ')} in the guest`,
    async () => {
      const out = (await lab.guest(['ss', '-Hlnut'])).stdout;
      return ports.every((p) => new RegExp(`:${p}\\b`).test(out));
    },
    10_000,
    100,
  );
}

/** Each one's memory: our one process, or every socat with its children (one socat per line). */
function memoryOf(r: Relays, which: Bridge): { memory: Memory; processes: number } {
  if (which === 'ours') return { memory: smapsRollup(r.ours.pid), processes: 1 };
  let memory = NO_MEMORY;
  let processes = 0;
  for (const s of r.socat) {
    const t = treeMemory(s.pid, true);
    memory = addMemory(memory, t.total);
    processes += 1 + t.children;
  }
  return { memory, processes };
}

const BRIDGES: Bridge[] = ['ours', 'socat'];
const portsOf = (b: Bridge) => ({ recv: BASES[b], listen: BASES[b] + 1, tcp: BASES[b] + 2 });

/** The lab with the host's services up, and every load process started in it (kill() ends them all). */
export class ForwardLab {
  readonly wlan0: string;
  private readonly loads: Load[] = [];
  private services: Load | null = null;

  constructor(
    readonly lab: Lab,
    private readonly script: string,
    private readonly loadCpu: string | null,
  ) {
    this.wlan0 = lab.addr.guestWlan0;
  }

  load(where: 'host' | 'air', op: LoadOp): Load {
    const p = new Load(this.lab, where, op, this.script, this.loadCpu);
    this.loads.push(p);
    return p;
  }

  /** A one-shot op from the wireless network: its one result. */
  async once<T>(op: LoadOp, timeoutMs = 120_000): Promise<T> {
    const p = this.load('air', op);
    const r = await p.next<T>(timeoutMs);
    await p.end();
    return r;
  }

  /** The host's sinks and echoes, the relays' targets. */
  async startServices(): Promise<void> {
    this.services = this.load('host', { op: 'serve', address: HOST, udpSinks: [22000, 32000], udpEchoes: [22001, 32001], tcp: [22002, 32002] });
    await this.services.next<{ ready: boolean }>(10_000);
  }

  /** What the host's services counted since they were last asked. */
  async stats(): Promise<Record<string, Tally>> {
    this.services!.say('stats');
    return this.services!.next<Record<string, Tally>>(10_000);
  }

  kill(): void {
    for (const l of this.loads) l.kill();
  }
}

/** Ours as the image runs it and socat as the old service ran it, each line on its own ports; once all listen. */
export async function startRelays(f: ForwardLab, distDir: string, relayCpu: string[]): Promise<Relays> {
  const l = f.lab;
  writeFileSync(l.guestPath(CONF), `${linesFor(BASES.ours, f.wlan0).join('\n')}\n`);
  const relays: Relays = {
    ours: l.startInGuest('forward', [
      ...relayCpu,
      ...packageArgv('wifibox-forward', process.execPath),
      join(distDir, 'wifibox-forward.js'),
      // As the image runs it: root dropped to the package's user once its lines are bound.
      '--config',
      CONF,
      '--run-dir',
      RUN_DIR,
      '--status-socket',
      STATUS,
      '--loglevel',
      'warn',
      // Room for MANY peers and connections per line (the defaults are 64).
      '--max-peers',
      String(MANY * 2),
      '--max-connections',
      String(MANY * 2),
    ]),
    // As the old service ran them: one socat per line, its words as arguments.
    socat: linesFor(BASES.socat, f.wlan0).map((line, i) => l.startInGuest(`socat-${i}`, [...relayCpu, 'socat', ...line.split(' ')])),
  };
  await listeningAll(l, [...Object.values(portsOf('ours')), ...Object.values(portsOf('socat'))]);
  for (const [p, want] of [[relays.ours, 'node'], ...relays.socat.map((s) => [s, 'socat'] as const)] as const) {
    if (comm(p.pid) !== want) throw new Error(`${p.name}: PID ${p.pid} is '${comm(p.pid)}', expected ${want}`);
  }
  return relays;
}

/** Both relays' memory now. */
export const memoryOfBoth = (r: Relays): Record<Bridge, { memory: Memory; processes: number }> => ({ ours: memoryOf(r, 'ours'), socat: memoryOf(r, 'socat') });

/**
 * Untimed: both warm (V8's code, socat's first children). Then at rest again: the first
 * connections' one-time costs (code compiled, the heap grown to its working size) are in the
 * reading this returns, so what each peer adds is measured above it.
 */
export async function warmUp(f: ForwardLab, relays: Relays): Promise<Record<Bridge, { memory: Memory; processes: number }>> {
  for (const b of BRIDGES) {
    await f.once<FloodResult>({ op: 'udp-flood', host: f.wlan0, port: portsOf(b).recv, seconds: 0.5, size: 64 });
    await f.once<ConnectResult[]>({ op: 'tcp-connect', host: f.wlan0, ports: [portsOf(b).tcp], n: 20, block: 20 });
  }
  await sleep(500);
  await f.stats();
  await sleep(1000);
  return memoryOfBoth(relays);
}

type Readings = Record<Bridge, MemoryReading | null>;

/** Each relay's memory with PEERS UDP peers, then with PEERS TCP connections as well. */
export async function memoryWithPeers(f: ForwardLab, relays: Relays, log: Log): Promise<{ udpPeers: Readings; tcpConnections: Readings }> {
  log(`memory with ${PEERS} UDP peers, then ${PEERS} TCP connections`);
  const udpPeers: Readings = { ours: null, socat: null };
  const tcpConnections: Readings = { ours: null, socat: null };
  for (const b of BRIDGES) {
    // A second of 32 peers: their associations (our sockets, socat's children) stay afterwards.
    await f.once<PeersResult>({ op: 'udp-peers', host: f.wlan0, port: portsOf(b).listen, peers: PEERS, seconds: 1, fromPort: PEER_PORTS });
    await sleep(500);
    udpPeers[b] = { ...memoryOf(relays, b), active: await activeOf(f.lab, relays, b, 1) };
    const hold = f.load('air', { op: 'tcp-hold', host: f.wlan0, port: portsOf(b).tcp, n: PEERS });
    const { holding } = await hold.next<{ holding: number }>(30_000);
    await sleep(500);
    tcpConnections[b] = { ...memoryOf(relays, b), active: await activeOf(f.lab, relays, b, 2), holding };
    await hold.end();
  }
  return { udpPeers, tcpConnections };
}

/** What each more peer costs: each relay's memory with MANY UDP associations and MANY TCP connections. */
export async function memoryWithMany(f: ForwardLab, relays: Relays, log: Log): Promise<Readings> {
  log(`memory with ${MANY} UDP peers and ${MANY} TCP connections`);
  const many: Readings = { ours: null, socat: null };
  for (const b of BRIDGES) {
    await f.once<PeersResult>({ op: 'udp-peers', host: f.wlan0, port: portsOf(b).listen, peers: MANY, seconds: 1, fromPort: MANY_PORTS });
    const hold = f.load('air', { op: 'tcp-hold', host: f.wlan0, port: portsOf(b).tcp, n: MANY });
    const { holding } = await hold.next<{ holding: number }>(60_000);
    await sleep(1000);
    const udp = await activeOf(f.lab, relays, b, 1);
    const tcp = await activeOf(f.lab, relays, b, 2);
    many[b] = { ...memoryOf(relays, b), active: udp + tcp, holding };
    await hold.end();
  }
  return many;
}

/** Peers that all send at once: a forking relay meets them in the middle of its fork. */
export async function burst(f: ForwardLab): Promise<Record<Bridge, BurstResult>> {
  const out = {} as Record<Bridge, BurstResult>;
  for (const b of BRIDGES) out[b] = await f.once<BurstResult>({ op: 'udp-burst', host: f.wlan0, port: portsOf(b).listen, peers: PEERS, fromPort: BURST_PORTS });
  return out;
}

/** A round's UDP part for one relay: the flood (what it carried, by the kernel's count) and the peers' round trips. */
async function udpPart(f: ForwardLab, b: Bridge, size: Sizes, round: number): Promise<Omit<Round, 'connect'>> {
  const p = portsOf(b);
  const target = BASES[b] + 1000;
  const txBefore = await sentToHost(f.lab);
  const flood = await f.once<FloodResult>({ op: 'udp-flood', host: f.wlan0, port: p.recv, seconds: size.floodSeconds, size: 64 });
  await sleep(300); // stragglers in the sockets' queues
  const carried = (await sentToHost(f.lab)) - txBefore;
  const udp = (await f.stats())[`udp:${target}`] ?? null;
  const peers = await f.once<PeersResult>({ op: 'udp-peers', host: f.wlan0, port: p.listen, peers: PEERS, seconds: size.peersSeconds, fromPort: PEER_PORTS });
  return { round, bridge: b, flood, carried, udp, peers, tcp: [], tcpCpu: [] };
}

/**
 * Uploads in pairs, one to each, the order alternating: the shared machine's speed drifts over
 * seconds, and a pair meets the same drift. Each upload's bytes and the relay's CPU go to its round.
 */
async function uploads(f: ForwardLab, relays: Relays, measured: Omit<Round, 'connect'>[], size: Sizes): Promise<void> {
  for (let k = 0; k < UPLOAD_PAIRS; k++) {
    for (const m of k % 2 ? [...measured].reverse() : measured) {
      await f.stats();
      const relay = m.bridge === 'ours' ? relays.ours.pid : relays.socat[2]!.pid;
      const cpuBefore = cpuSeconds(relay, { reapedChildren: true });
      await f.once<{ ms: number }>({ op: 'tcp-upload', host: f.wlan0, port: portsOf(m.bridge).tcp, bytes: size.uploadBytes });
      m.tcp.push((await f.stats())[`tcp:${BASES[m.bridge] + 1002}`] ?? null);
      // socat's connection was a child of its own: its CPU counts once the listener has reaped it.
      await waitFor("the TCP line's connection process reaped", () => childrenOf(relay).length === 0 || null, 10_000, 20);
      m.tcpCpu.push(cpuSeconds(relay, { reapedChildren: true }) - cpuBefore);
    }
  }
}

/** `size.rounds` timed rounds (ours first, socat first in even ones): UDP, uploads, then connects to both. */
export async function timedRounds(f: ForwardLab, relays: Relays, size: Sizes, log: Log, stop: () => boolean): Promise<Round[]> {
  const rounds: Round[] = [];
  for (let i = 0; i < size.rounds && !stop(); i++) {
    const order = (i % 2 ? ['socat', 'ours'] : ['ours', 'socat']) as Bridge[];
    const measured: Omit<Round, 'connect'>[] = [];
    for (const b of order) {
      log(`round ${i + 1}/${size.rounds}: ${b}`);
      measured.push(await udpPart(f, b, size, i + 1));
    }
    log(`round ${i + 1}/${size.rounds}: ${UPLOAD_PAIRS} uploads to each, alternating`);
    await uploads(f, relays, measured, size);
    log(`round ${i + 1}/${size.rounds}: connects to both, alternating`);
    const connects = await f.once<ConnectResult[]>({ op: 'tcp-connect', host: f.wlan0, ports: order.map((b) => portsOf(b).tcp), n: size.connects, block: 50 });
    measured.forEach((m, k) => rounds.push({ ...m, connect: connects[k]! }));
  }
  return rounds;
}

/** What the results say of the lines and sizes. */
export function setupOf(wlan0: string, size: Sizes): Pick<ForwardResults, 'lines' | 'sizes'> {
  return { lines: { ours: linesFor(BASES.ours, wlan0), socat: linesFor(BASES.socat, wlan0) }, sizes: { ...size, peers: PEERS } };
}

/** The associations or connections open now: from our status, or socat's children of that line. */
async function activeOf(lab: Lab, relays: Relays, which: Bridge, line: number): Promise<number> {
  // socat's UDP-LISTEN,fork: each process serves a peer and forks the next listener, so a line's
  // processes are a chain: its descendants, one per peer (or connection).
  if (which === 'socat') return treeMemory(relays.socat[line]!.pid, true).children;
  const st = await readStatus(lab.guestPath(STATUS), 2000);
  return (st.lines as { line: number; active: number }[]).find((x) => x.line === line + 1)?.active ?? 0;
}

/**
 * Packets the guest has sent out of eth0 toward the host: what a relay carried, counted by the
 * kernel, so a host sink slower than the relay cannot lower the figure.
 */
async function sentToHost(lab: Lab): Promise<number> {
  const r = await lab.guest(['ip', '-s', '-j', 'link', 'show', 'eth0']);
  const packets = (JSON.parse(r.stdout) as { stats64?: { tx?: { packets?: number } } }[])[0]?.stats64?.tx?.packets;
  if (typeof packets !== 'number') throw new Error(`ip -s -j link show eth0 in the guest: no tx packets in ${r.stdout.slice(0, 200)}`);
  return packets;
}
