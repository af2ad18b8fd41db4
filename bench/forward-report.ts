// The forwarding benchmark's figures as the markdown section of docs/BENCHMARKS.md.
import type { BurstResult, ConnectResult, FloodResult, PeersResult, Tally } from './forward-load';
import { mark, mb, ratio, sig3 } from './format';
import { machineLine, type MachineFacts } from './machine';
import type { Memory } from './memory';
import { sectionText, type SectionMarks } from './sections';
import { median, percentile } from './stats';

export const FORWARD_MARKS: SectionMarks = { start: '<!-- forward-bench:start -->', end: '<!-- forward-bench:end -->' };

export type Bridge = 'ours' | 'socat';

export interface Round {
  round: number;
  bridge: Bridge;
  flood: FloodResult;
  /** Packets the guest sent toward the host during the flood (and 0.3 s after): what the relay carried. */
  carried: number;
  /** What the host's sink counted of the flood (null: nothing arrived). */
  udp: Tally | null;
  peers: PeersResult;
  /** Bytes the host's sink counted of each upload (they alternate with the other relay's). */
  tcp: (Tally | null)[];
  /** The relay's CPU seconds for each upload (socat: the TCP line's listener with its reaped connection process). */
  tcpCpu: number[];
  connect: ConnectResult;
}

export interface MemoryReading {
  memory: Memory;
  processes: number;
  /** Associations or connections the relay had open (ours: its status; socat: that line's children). */
  active: number;
  holding?: number;
}

export interface ForwardResults {
  command: string;
  quick: boolean;
  machine: MachineFacts & { socat: string; agent: string; pinned: boolean };
  lines: Record<Bridge, string[]>;
  sizes: { rounds: number; floodSeconds: number; peersSeconds: number; uploadBytes: number; connects: number; peers: number };
  rounds: Round[];
  burst: Record<Bridge, BurstResult>;
  memory: {
    idle: Record<Bridge, { memory: Memory; processes: number }>;
    /** At rest after the untimed warm-up (no peer or connection open). */
    warm: Record<Bridge, { memory: Memory; processes: number }>;
    udpPeers: Record<Bridge, MemoryReading | null>;
    tcpConnections: Record<Bridge, MemoryReading | null>;
    /** With manyPeers UDP associations and as many TCP connections open. */
    many: Record<Bridge, MemoryReading | null>;
    manyPeers: number;
  };
  durationSec: number;
}

const perSecond = (t: Tally | null): number =>
  t && t.firstMs !== null && t.lastMs !== null && t.lastMs > t.firstMs ? t.count / ((t.lastMs - t.firstMs) / 1000) : NaN;

interface Figures {
  datagramsPerSec: number;
  delivered: number;
  senderPerSec: number;
  roundTripsPerSec: number;
  peerMs: number;
  peerTimeouts: number;
  mbPerSec: number;
  /** The relay's CPU seconds per GB uploaded, over all uploads. */
  cpuPerGb: number;
  /** The median upload's share of a CPU the relay used (its CPU time over the upload's time). */
  busyShare: number;
  connect: number[];
  connectErrors: number;
}

function figures(rounds: Round[], b: Bridge, uploadBytes: number): Figures {
  const mine = rounds.filter((r) => r.bridge === b);
  return {
    datagramsPerSec: median(mine.map(carriedPerSecond)),
    delivered: median(mine.map((r) => r.carried / r.flood.sent)),
    senderPerSec: median(mine.map((r) => r.flood.sent / (r.flood.ms / 1000))),
    roundTripsPerSec: median(mine.map((r) => r.peers.roundTrips / (r.peers.ms / 1000))),
    peerMs: median(mine.flatMap((r) => r.peers.sample)),
    peerTimeouts: mine.reduce((n, r) => n + r.peers.timeouts, 0),
    mbPerSec: median(mine.flatMap((r) => r.tcp.map((t) => perSecond(t) / 1e6))),
    cpuPerGb: mine.reduce((n, r) => n + r.tcpCpu.reduce((a, b) => a + b, 0), 0) / ((mine.reduce((n, r) => n + r.tcp.length, 0) * uploadBytes) / 1e9),
    busyShare: median(mine.flatMap((r) => r.tcp.map((t, i) => (r.tcpCpu[i] ?? NaN) / (uploadBytes / perSecond(t))))),
    connect: mine.flatMap((r) => r.connect.times),
    connectErrors: mine.reduce((n, r) => n + r.connect.errors, 0),
  };
}

const carriedPerSecond = (r: Round): number => r.carried / (r.flood.ms / 1000);
const privateKiB = (m: Memory): number => m.privateClean + m.privateDirty;
/** What the processes cost alone: their private pages and their page tables. */
const ownKiB = (m: Memory): number => privateKiB(m) + m.pageTables;

function memoryRows(r: ForwardResults): string[] {
  const row = (what: string, b: Bridge, m: { memory: Memory; processes: number; active?: number } | null) =>
    m
      ? `| ${what} | ${b} | ${m.processes} | ${m.active ?? '—'} | ${mb(m.memory.rss)} | ${mb(m.memory.pss)} | ${mb(privateKiB(m.memory))} | ${mb(m.memory.pageTables)} | ${mb(ownKiB(m.memory))} |`
      : `| ${what} | ${b} | — | — | — | — | — | — | — |`;
  const out = [
    '| | | processes | open | RSS, MB | PSS, MB | private, MB | page tables, MB | private + page tables, MB |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const b of ['ours', 'socat'] as Bridge[]) out.push(row('idle, every line listening', b, r.memory.idle[b]));
  for (const b of ['ours', 'socat'] as Bridge[]) out.push(row('at rest after the warm-up', b, r.memory.warm[b]));
  for (const b of ['ours', 'socat'] as Bridge[]) out.push(row(`${r.sizes.peers} UDP peers (UDP-LISTEN,fork)`, b, r.memory.udpPeers[b]));
  for (const b of ['ours', 'socat'] as Bridge[]) out.push(row(`and ${r.sizes.peers} TCP connections (TCP4-LISTEN,fork)`, b, r.memory.tcpConnections[b]));
  for (const b of ['ours', 'socat'] as Bridge[])
    out.push(row(`${r.memory.manyPeers} UDP peers and ${r.memory.manyPeers} TCP connections`, b, r.memory.many[b]));
  return out;
}

/** The target: each UDP association or TCP connection costs ours at most this much above idle (socat: a process each). */
const PER_PEER_TARGET_KB = 10;

/**
 * kB (1000 bytes) of private + page tables per association or connection, above the reading at rest
 * after the warm-up (`from: 'warm'`, the target's) or before any traffic (`'idle'`), or null.
 */
function perPeerKb(r: ForwardResults, b: Bridge, from: 'warm' | 'idle' = 'warm'): number | null {
  const m = r.memory.many[b];
  const rest = r.memory[from][b];
  if (!m || !m.active) return null;
  return ((ownKiB(m.memory) - ownKiB(rest.memory)) * 1.024) / m.active;
}

/** What one more socat process costs, and how many peers it would take for socat to cost what ours does. */
function evenAt(r: ForwardResults): string[] {
  const idle = r.memory.idle.socat;
  const full = r.memory.tcpConnections.socat;
  const ours = r.memory.tcpConnections.ours;
  if (!full || !ours || full.processes <= idle.processes) return [];
  const perProcess = (ownKiB(full.memory) - ownKiB(idle.memory)) / (full.processes - idle.processes);
  const even = (ownKiB(ours.memory) - ownKiB(idle.memory)) / perProcess;
  return [
    '',
    `Each socat process past its three listeners cost ${(perProcess * 1.024).toFixed(0)} kB (private + page tables), and the kernel's own per-process`,
    'structures (a 16 KiB kernel stack, task and file tables) come on top, in no figure here. At that rate socat',
    `would cost what ours costs here at about ${Math.round(even)} peers and connections in all. The old service also ran a`,
    'shell per line (its log pipe), the script itself and its sleep loop: not counted either.',
  ];
}

/** The memory with the peers and as many connections: ours against socat, when both were read. */
function memoryRow(r: ForwardResults): string[] {
  const ours = r.memory.tcpConnections.ours?.memory;
  const socat = r.memory.tcpConnections.socat?.memory;
  if (!ours || !socat) return [];
  const both = (f: (x: Memory) => number) => ({ ours: f(ours), socat: f(socat) });
  const pss = both((x) => x.pss);
  const own = both(ownKiB);
  const rss = both((x) => x.rss);
  return [
    `| memory with ${r.sizes.peers} UDP peers and ${r.sizes.peers} TCP connections: < socat (PSS, and private + page tables) | PSS ${mb(pss.ours)} vs ${mb(pss.socat)} MB (${ratio(pss.ours, pss.socat)}); private + page tables ${mb(own.ours)} vs ${mb(own.socat)} MB (${ratio(own.ours, own.socat)}); RSS summed ${mb(rss.ours)} vs ${mb(rss.socat)} MB | ${mark(pss.ours < pss.socat && own.ours < own.socat)} |`,
  ];
}

/** The summary's rows: each target of the issue with both relays' figures. */
function summaryRows(r: ForwardResults, ours: Figures, socat: Figures): string[] {
  const connectMedian = { ours: median(ours.connect), socat: median(socat.connect) };
  const rows = [
    ['UDP datagrams/s through `UDP4-RECV` (64-byte datagrams, one sender flooding)', ours.datagramsPerSec, socat.datagramsPerSec, '/s', true],
    [`UDP round trips/s, ${r.sizes.peers} peers through \`UDP-LISTEN,fork\``, ours.roundTripsPerSec, socat.roundTripsPerSec, '/s', true],
    ['TCP throughput through `TCP4-LISTEN,fork`, MB/s', ours.mbPerSec, socat.mbPerSec, ' MB/s', true],
    ['TCP connect to first echoed byte, median ms (lower is better)', connectMedian.ours, connectMedian.socat, ' ms', false],
  ] as const;
  const summary: string[] = rows.map(
    ([what, a, b, unit, higher]) => `| ${what}: ≥ socat | ${sig3(a)}${unit} vs ${sig3(b)}${unit} (${ratio(a, b)}) | ${mark(higher ? a >= b : a <= b)} |`,
  );
  summary.push(...memoryRow(r));
  const per = { ours: perPeerKb(r, 'ours'), socat: perPeerKb(r, 'socat') };
  if (per.ours !== null && per.socat !== null) {
    const cold = perPeerKb(r, 'ours', 'idle');
    summary.push(
      `| each of ${r.memory.manyPeers} UDP associations and ${r.memory.manyPeers} TCP connections costs ≤ ${PER_PEER_TARGET_KB} kB above its figure at rest after the warm-up (private + page tables) | ours ${per.ours.toFixed(1)} kB, socat ${per.socat.toFixed(1)} kB (a process each, kernel structures not counted); ours above its figure before any traffic: ${cold?.toFixed(1) ?? '—'} kB | ${mark(per.ours <= PER_PEER_TARGET_KB)} |`,
    );
  }
  summary.push(
    `| the relay's CPU per GB uploaded through the TCP line (lower is better; the guest's one vCPU pays it) | ${sig3(ours.cpuPerGb)} s vs ${sig3(socat.cpuPerGb)} s (${ratio(ours.cpuPerGb, socat.cpuPerGb)}) | for information |`,
  );
  summary.push(
    `| the relay's busy share of its CPU during an upload, median (at 100% the relay is what limits the throughput; below it, the client and the sink on the other CPU are) | ours ${(ours.busyShare * 100).toFixed(0)}%, socat ${(socat.busyShare * 100).toFixed(0)}% | for information |`,
  );
  summary.push(
    `| ${r.sizes.peers} peers sending their first datagram at the same moment: answered within 1 s | ours ${r.burst.ours.answered} of ${r.burst.ours.peers}, socat ${r.burst.socat.answered} of ${r.burst.socat.peers} | for information |`,
  );
  return summary;
}

/** Each round's figures, ours and socat's. */
function roundRows(r: ForwardResults): string[] {
  return r.rounds.map(
    (x) =>
      `| ${x.round} | ${x.bridge} | ${sig3(carriedPerSecond(x))} | ${x.carried} of ${x.flood.sent} (${x.udp?.count ?? 0} read by the sink) | ${sig3(x.peers.roundTrips / (x.peers.ms / 1000))} | ${x.peers.timeouts} | ${x.tcp.map((t) => sig3(perSecond(t) / 1e6)).join(', ')} | ${sig3(median(x.connect.times))} | ${sig3(percentile(x.connect.times, 99))} | ${x.connect.errors} |`,
  );
}

/** What the summary's medians leave out: the sender's rate, the share carried, the peers' round trips, the connects' p99. */
function roundsText(r: ForwardResults, ours: Figures, socat: Figures): string {
  return (
    `Our sender offered a median ${sig3(ours.senderPerSec)} datagrams/s to ours and ${sig3(socat.senderPerSec)} to socat; ` +
    `median share carried ${(ours.delivered * 100).toFixed(0)}% and ${(socat.delivered * 100).toFixed(0)}%. ` +
    `Round trips of the ${r.sizes.peers} peers, median ms: ours ${sig3(ours.peerMs)}, socat ${sig3(socat.peerMs)} (timeouts: ${ours.peerTimeouts}, ${socat.peerTimeouts}). ` +
    `TCP connects: ${ours.connect.length} and ${socat.connect.length}, p99 ${sig3(percentile(ours.connect, 99))} and ${sig3(percentile(socat.connect, 99))} ms; errors ${ours.connectErrors} and ${socat.connectErrors}.`
  );
}

/** What the memory table's readings are, and what each figure counts. */
function memoryText(r: ForwardResults): string[] {
  return [
    'Read before the timed rounds: idle (before any traffic), at rest after the untimed warm-up (nothing open; the first',
    "connections' one-time costs, code compiled and the heap grown to its working size, are in it: each peer's cost is",
    `counted above it), once ${r.sizes.peers} UDP peers have each exchanged datagrams`,
    `through the UDP-LISTEN,fork line, starting one after another (their associations, or socat's processes, stay),`,
    `then with ${r.sizes.peers} TCP connections open through the TCP line as well. socat is its three processes and all`,
    'their descendants (by PPID, all the way down). "open" is our status\'s count, or the line\'s socat',
    'descendants. "private" is Private_Clean + Private_Dirty: what goes when the processes go; the page',
    "tables (VmPTE, /proc/PID/status) are in no smaps figure, and each process has its own. Node's code is",
    "shared with the guest's other agents (and here with the bench's node processes), so ours' PSS is lower",
    "than it would be alone; socat's forked children share its pages, so each costs little more than its",
    'page tables. The summed RSS counts shared pages once per process.',
  ];
}

function howMeasured(r: ForwardResults): string[] {
  return [
    '- **UDP datagrams/s**: one client socket sends 64-byte datagrams to the `UDP4-RECV` line as fast as it',
    `  can for ${r.sizes.floodSeconds} s (bursts of 256 sends, then a turn of its event loop). What the relay carried is`,
    "  the packets the guest sent out of eth0 meanwhile (and 0.3 s after, for its queue), from the kernel's",
    "  counters (`ip -s -j link`), over the flood's time: the host's sink, sharing a CPU with the sender,",
    '  reads fewer than arrive. What a relay cannot take is dropped by its socket, so the rate is what the',
    '  relay carries.',
    `- **Round trips/s**: ${r.sizes.peers} client sockets each send a datagram to the \`UDP-LISTEN,fork\` line and wait for`,
    `  the host's echo (the same text) before the next, for ${r.sizes.peersSeconds} s once all run; a reply not back within a`,
    '  second is a timeout and the peer sends again. They start one after another, each once the one before',
    '  has had its first answer, so a forking relay meets each new peer alone. The last row of the summary is',
    `  the other case: ${r.sizes.peers} new peers sending at the same moment, once each; socat's UDP-LISTEN,fork forks for the`,
    '  first, and the datagrams of the others that arrive meanwhile are not answered.',
    `- **TCP throughput**: one connection uploads ${(r.sizes.uploadBytes / 2 ** 20).toFixed(0)} MiB in 64 KiB writes; the host's sink counts the bytes`,
    `  over the time from the first to the last it reads. Each round has ${r.rounds[0]?.tcp.length ?? 0} uploads to each relay, in pairs, one to each, the`,
    "  order alternating: the shared machine's speed drifts over seconds, and a pair meets the same drift. The",
    "  summary takes the median of all uploads to each. The relay's CPU is its user and system time over each upload",
    "  (/proc/PID/stat; socat's with the connection process it forked and reaped).",
    `- **Connect latency**: ${r.sizes.connects} connections to each per round, one after another, each from \`connect()\` to its`,
    '  first byte echoed by the host (the relay accepts, connects to the target, and carries a byte each way);',
    '  one client alternates between the two in blocks of 50, so both meet the same noise.',
    '- Before the rounds, both are warmed up untimed (a short flood, 20 connects).',
  ];
}

export function renderForwardSection(r: ForwardResults): string {
  const m = r.machine;
  const ours = figures(r.rounds, 'ours', r.sizes.uploadBytes);
  const socat = figures(r.rounds, 'socat', r.sizes.uploadBytes);
  return sectionText(FORWARD_MARKS, 'wifibox-forward against socat, with the same forwarding.conf lines', [
    [
      `Command: \`${r.command}\`${r.quick ? ' (quick: short runs, figures are rough)' : ''} — run ${m.date}, took ${r.durationSec.toFixed(0)} s.`,
      machineLine(m, [m.socat], `agent ${m.agent}`),
    ],
    [
      'Both run in the same lab guest at the same time: ours (`wifibox-forward --loglevel warn`, with the',
      "package's `--max-semi-space-size=1`) serving the three lines below in one process, and socat as the old",
      '`forwarding` service ran it, one `socat <line>` per line, with the same lines on other ports:',
    ],
    r.lines.ours.map((x) => `    ${x}`),
    [
      `Clients run in the wireless network's namespace (to wlan0, ${'192.168.77.2'}), the targets in the host's`,
      `(10.0.0.2). ${m.pinned ? 'Both relays are pinned to CPU 1, as the guest has one vCPU, and the clients and targets to CPU 0.' : 'One CPU: nothing is pinned.'}`,
      `Each of ${r.sizes.rounds} round(s) measures ours then socat (socat first in even rounds); the summary takes the medians.`,
    ],
    ['| target | measured (ours vs socat) | met |', '|---|---|---|', ...summaryRows(r, ours, socat)],
    ['### Per round'],
    [
      '| round | | UDP datagrams/s | carried | round trips/s (32 peers) | timeouts | TCP MB/s, each upload | connect median, ms | connect p99, ms | connect errors |',
      '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...roundRows(r),
    ],
    [roundsText(r, ours, socat)],
    ['### Memory (/proc/PID/smaps_rollup, summed over the processes; MB = 10⁶ bytes)'],
    memoryText(r),
    [...memoryRows(r), ...evenAt(r)],
    ['### How each figure is measured'],
    howMeasured(r),
  ]);
}
