// npm run bench -- forward [--quick] [--write]: wifibox-forward against socat with the same
// forwarding.conf lines, side by side in one lab (station flavor): UDP datagrams/s through the
// sample's UDP4-RECV line, round trips of 32 peers through UDP-LISTEN,fork, TCP throughput and
// connect latency through TCP4-LISTEN,fork, and the memory of each with 32 peers. Prints the
// report and, for a full run (or with --write), writes its section of docs/BENCHMARKS.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { Lab } from '../lab/lab';
import { packageNodeFlags } from '../lab/paths';
import { childrenOf, sleep, waitFor, type LabProcess } from '../lab/proc';
import { readStatus } from '../lab/status';
import type { BurstResult, ConnectResult, FloodResult, LoadOp, PeersResult, Tally } from './forward-load';
import { FORWARD_MARKS, renderForwardSection, type Bridge, type ForwardResults, type Round } from './forward-report';
import { benchLog, inLab, onInterrupt, privateDist } from './harness';
import { agentVersion, machineFacts, programVersion } from './machine';
import { addMemory, comm, cpuSeconds, NO_MEMORY, smapsRollup, treeMemory, type Memory } from './memory';
import { publishSection } from './sections';

const log = benchLog('bench forward');
const HOST = '10.0.0.2';
const PEERS = 32;
/** The per-peer cost is read at this many UDP associations and as many TCP connections. */
const MANY = 256;
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
const FULL: Sizes = { rounds: 3, floodSeconds: 3, peersSeconds: 3, uploadBytes: 256 << 20, connects: 500 };
const QUICK: Sizes = { rounds: 1, floodSeconds: 1, peersSeconds: 1, uploadBytes: 32 << 20, connects: 100 };

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
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms: ${this.stderr.slice(-500)}`)), timeoutMs)));
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
  await waitFor(`ports ${ports.join(', ')} in the guest`, async () => {
    const out = (await lab.guest(['ss', '-Hlnut'])).stdout;
    return ports.every((p) => new RegExp(`:${p}\\b`).test(out));
  }, 10_000, 100);
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

export async function runForwardBench(argv: string[], command?: string): Promise<void> {
  const quick = argv.includes('--quick');
  const size = quick ? QUICK : FULL;
  const t0 = Date.now();
  // One vCPU for the relays, as the guest has; the load on the other, when there is one.
  const pinned = availableParallelism() >= 2;
  const relayCpu = pinned ? ['taskset', '-c', '1'] : [];
  const loadCpu = pinned ? '0' : null;
  const dist = privateDist('forward', ['wifibox-forward.js'], true);
  const script = join(dist.dir, 'bench.js');
  let lab: Lab | null = null;
  const loads: Load[] = [];
  const cleanup = async () => {
    for (const l of loads) l.kill();
    await lab?.down();
    dist.remove();
  };
  const interrupt = onInterrupt(log, () => void cleanup().finally(() => process.exit(130)));
  await inLab({ lab: () => lab, cleanup, interrupt }, async () => {
    log('bringing the lab up');
    lab = await Lab.up({ flavor: 'wpa_supplicant', distDir: dist.dir });
    const l = lab;
    const wlan0 = l.addr.guestWlan0;
    const load = (where: 'host' | 'air', op: LoadOp) => {
      const p = new Load(l, where, op, script, loadCpu);
      loads.push(p);
      return p;
    };
    const once = async <T>(op: LoadOp, timeoutMs = 120_000): Promise<T> => {
      const p = load('air', op);
      const r = await p.next<T>(timeoutMs);
      await p.end();
      return r;
    };
    const ports = (b: Bridge) => ({ recv: BASES[b], listen: BASES[b] + 1, tcp: BASES[b] + 2 });

    const services = load('host', { op: 'serve', address: HOST, udpSinks: [22000, 32000], udpEchoes: [22001, 32001], tcp: [22002, 32002] });
    await services.next<{ ready: boolean }>(10_000);
    const stats = async (): Promise<Record<string, Tally>> => {
      services.say('stats');
      return services.next<Record<string, Tally>>(10_000);
    };

    writeFileSync(l.guestPath(CONF), `${linesFor(BASES.ours, wlan0).join('\n')}\n`);
    const relays: Relays = {
      ours: l.startInGuest('forward', [...relayCpu, process.execPath, ...packageNodeFlags('wifibox-forward'), join(dist.dir, 'wifibox-forward.js'),
        // As the image runs it: root dropped to the package's user once its lines are bound.
        '--config', CONF, '--run-dir', RUN_DIR, '--status-socket', STATUS, '--loglevel', 'warn',
        // Room for MANY peers and connections per line (the defaults are 64).
        '--max-peers', String(MANY * 2), '--max-connections', String(MANY * 2)]),
      // As the old service ran them: one socat per line, its words as arguments.
      socat: linesFor(BASES.socat, wlan0).map((line, i) => l.startInGuest(`socat-${i}`, [...relayCpu, 'socat', ...line.split(' ')])),
    };
    await listeningAll(l, [...Object.values(ports('ours')), ...Object.values(ports('socat'))]);
    for (const [p, want] of [[relays.ours, 'node'], ...relays.socat.map((s) => [s, 'socat'] as const)] as const) {
      if (comm(p.pid) !== want) throw new Error(`${p.name}: PID ${p.pid} is '${comm(p.pid)}', expected ${want}`);
    }
    await sleep(1000);
    const idle = { ours: memoryOf(relays, 'ours'), socat: memoryOf(relays, 'socat') };
    const info = {
      ...machineFacts(),
      socat: programVersion.socat(),
      agent: agentVersion(dist.dir, 'wifibox-forward.js'),
      pinned,
    };

    // Untimed: both warm (V8's code, socat's first children), then the timed rounds, alternating.
    for (const b of ['ours', 'socat'] as Bridge[]) {
      await once<FloodResult>({ op: 'udp-flood', host: wlan0, port: ports(b).recv, seconds: 0.5, size: 64 });
      await once<ConnectResult[]>({ op: 'tcp-connect', host: wlan0, ports: [ports(b).tcp], n: 20, block: 20 });
    }
    await sleep(500);
    await stats();
    // At rest again: the first connections' one-time costs (code compiled, the heap grown to its
    // working size) are in this figure, so what each peer adds is measured above it.
    await sleep(1000);
    const warm = { ours: memoryOf(relays, 'ours'), socat: memoryOf(relays, 'socat') };

    log(`memory with ${PEERS} UDP peers, then ${PEERS} TCP connections`);
    const withPeers: ForwardResults['memory']['udpPeers'] = { ours: null, socat: null };
    const withConnections: ForwardResults['memory']['tcpConnections'] = { ours: null, socat: null };
    for (const b of ['ours', 'socat'] as Bridge[]) {
      // A second of 32 peers: their associations (our sockets, socat's children) stay afterwards.
      await once<PeersResult>({ op: 'udp-peers', host: wlan0, port: ports(b).listen, peers: PEERS, seconds: 1, fromPort: PEER_PORTS });
      await sleep(500);
      withPeers[b] = { ...memoryOf(relays, b), active: await activeOf(l, relays, b, 1) };
      const hold = load('air', { op: 'tcp-hold', host: wlan0, port: ports(b).tcp, n: PEERS });
      const { holding } = await hold.next<{ holding: number }>(30_000);
      await sleep(500);
      withConnections[b] = { ...memoryOf(relays, b), active: await activeOf(l, relays, b, 2), holding };
      await hold.end();
    }

    // What each more peer costs: MANY UDP associations and MANY TCP connections, above idle.
    log(`memory with ${MANY} UDP peers and ${MANY} TCP connections`);
    const many: ForwardResults['memory']['many'] = { ours: null, socat: null };
    for (const b of ['ours', 'socat'] as Bridge[]) {
      await once<PeersResult>({ op: 'udp-peers', host: wlan0, port: ports(b).listen, peers: MANY, seconds: 1, fromPort: MANY_PORTS });
      const hold = load('air', { op: 'tcp-hold', host: wlan0, port: ports(b).tcp, n: MANY });
      const { holding } = await hold.next<{ holding: number }>(60_000);
      await sleep(1000);
      const udp = await activeOf(l, relays, b, 1);
      const tcp = await activeOf(l, relays, b, 2);
      many[b] = { ...memoryOf(relays, b), active: udp + tcp, holding };
      await hold.end();
    }

    // Peers that all send at once: a forking relay meets them in the middle of its fork.
    const burst = {} as Record<Bridge, BurstResult>;
    for (const b of ['ours', 'socat'] as Bridge[]) burst[b] = await once<BurstResult>({ op: 'udp-burst', host: wlan0, port: ports(b).listen, peers: PEERS, fromPort: BURST_PORTS });

    const rounds: Round[] = [];
    for (let i = 0; i < size.rounds && !interrupt.interrupted; i++) {
      const order = (i % 2 ? ['socat', 'ours'] : ['ours', 'socat']) as Bridge[];
      const measured: Omit<Round, 'connect'>[] = [];
      for (const b of order) {
        const p = ports(b);
        const target = BASES[b] + 1000;
        log(`round ${i + 1}/${size.rounds}: ${b}`);
        const txBefore = await sentToHost(l);
        const flood = await once<FloodResult>({ op: 'udp-flood', host: wlan0, port: p.recv, seconds: size.floodSeconds, size: 64 });
        await sleep(300); // stragglers in the sockets' queues
        const carried = (await sentToHost(l)) - txBefore;
        const udp = (await stats())[`udp:${target}`] ?? null;
        const peers = await once<PeersResult>({ op: 'udp-peers', host: wlan0, port: p.listen, peers: PEERS, seconds: size.peersSeconds, fromPort: PEER_PORTS });
        measured.push({ round: i + 1, bridge: b, flood, carried, udp, peers, tcp: [], tcpCpu: [] });
      }
      // Uploads in pairs, one to each, the order alternating: the shared machine's speed drifts over
      // seconds, and a pair meets the same drift.
      log(`round ${i + 1}/${size.rounds}: ${UPLOAD_PAIRS} uploads to each, alternating`);
      for (let k = 0; k < UPLOAD_PAIRS; k++) {
        for (const m of k % 2 ? [...measured].reverse() : measured) {
          await stats();
          const relay = m.bridge === 'ours' ? relays.ours.pid : relays.socat[2]!.pid;
          const cpuBefore = cpuSeconds(relay, { reapedChildren: true });
          await once<{ ms: number }>({ op: 'tcp-upload', host: wlan0, port: ports(m.bridge).tcp, bytes: size.uploadBytes });
          m.tcp.push((await stats())[`tcp:${BASES[m.bridge] + 1002}`] ?? null);
          // socat's connection was a child of its own: its CPU counts once the listener has reaped it.
          await waitFor('the TCP line\'s connection process reaped', () => childrenOf(relay).length === 0 || null, 10_000, 20);
          m.tcpCpu.push(cpuSeconds(relay, { reapedChildren: true }) - cpuBefore);
        }
      }
      log(`round ${i + 1}/${size.rounds}: connects to both, alternating`);
      const connects = await once<ConnectResult[]>({ op: 'tcp-connect', host: wlan0, ports: order.map((b) => ports(b).tcp), n: size.connects, block: 50 });
      measured.forEach((m, k) => rounds.push({ ...m, connect: connects[k]! }));
    }
    if (interrupt.interrupted) throw new Error('interrupted');

    const results: ForwardResults = {
      command: command ?? (quick ? 'npm run bench -- forward --quick' : 'npm run bench -- forward'),
      quick,
      machine: info,
      lines: { ours: linesFor(BASES.ours, wlan0), socat: linesFor(BASES.socat, wlan0) },
      sizes: { ...size, peers: PEERS },
      rounds,
      burst,
      memory: { idle, warm, udpPeers: withPeers, tcpConnections: withConnections, many, manyPeers: MANY },
      durationSec: (Date.now() - t0) / 1000,
    };
    publishSection(renderForwardSection(results), FORWARD_MARKS, quick ? 'quick run' : null, argv, log);
  });
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
