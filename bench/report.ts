// Turns the measurements into the markdown section of docs/BENCHMARKS.md.
import { kbToMB, latencyMs, mark, mb, ratio } from './format';
import { machineLine, type MachineFacts } from './machine';
import type { Memory } from './memory';
import type { ConcurrentResult, TargetLatency } from './protocol';
import { sectionText, type SectionMarks } from './sections';
import { summarize, type Summary } from './stats';

export const PASSTHRU_MARKS: SectionMarks = { start: '<!-- passthru-bench:start -->', end: '<!-- passthru-bench:end -->' };

export interface Machine extends MachineFacts {
  socat: string;
  wpaSupplicant: string;
  agent: string;
}

export interface LatencyPair {
  n: number;
  ours: TargetLatency;
  socat: TargetLatency;
  /** A trivial Node responder in the guest (no daemon behind it), measured in the same blocks. */
  floor?: TargetLatency | null;
  /** Something seen during the test that the table does not show. */
  note?: string | null;
}

interface MemoryFigures {
  oursIdle: Memory;
  oursHeld: Memory;
  oursHeldCount: number;
  oursAfter: Memory;
  oursHeldAfter: Memory;
  oursHeldAfterCount: number;
  /** Seconds between the end of test 4 and the oursAfter reading. */
  afterLoadSec: number;
  socatIdle: Memory;
  socatHeld: Memory;
  socatHeldCount: number;
  socatHeldChildren: number;
  nodeFloor: Memory | null;
  /** Highest of each figure sampled while tests 1–4 ran (not necessarily at the same moment). */
  oursPeak: Memory;
  socatPeak: Memory;
}

export interface StartupFigures {
  runs: number;
  ours: number[];
  socat: number[];
  nodeFloor: number[];
  probes: number;
}

export interface Results {
  quick: boolean;
  command: string;
  machine: Machine;
  fresh: LatencyPair;
  open: LatencyPair;
  chain: LatencyPair & { peakHostChildren: { ours: number; socat: number } };
  concurrent: {
    ours: ConcurrentResult;
    socat: ConcurrentResult;
    reachedOurs: number | null;
    peakHostChildren: { ours: number; socat: number };
    peakGuestSocatChildren: number;
  };
  memory: MemoryFigures;
  startup: StartupFigures;
  agentCounters: Record<string, number> | null;
  durationSec: number;
}

function failures(t: TargetLatency): string {
  const notes = [t.firstError, t.gaveUpAfter !== null ? `gave up after ${t.gaveUpAfter}: 5 lost in a row` : null].filter(Boolean);
  return `${t.lost} / ${t.wrong} / ${t.errors}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

function latencyTable(p: LatencyPair, target: { ratio: number } | null): string[] {
  const o = summarize(p.ours.times);
  const s = summarize(p.socat.times);
  const f = p.floor ? summarize(p.floor.times) : null;
  const r = o.median / s.median;
  const verdict = target ? `≤ ${target.ratio}× socat's median: ${mark(r <= target.ratio)}` : 'no target (reported)';
  const fl = (v: (x: Summary) => number) => (f ? ` ${latencyMs(v(f))} |` : '');
  const head = f ? ' trivial Node responder (floor) |' : '';
  return [
    `| | ours (:1200) | old socat (:1300) | ours / socat |${head} target |`,
    `|---|---:|---:|---:|${f ? '---:|' : ''}---|`,
    `| median, ms | ${latencyMs(o.median)} | ${latencyMs(s.median)} | ${ratio(o.median, s.median)} |${fl((x) => x.median)} ${verdict} |`,
    `| p99, ms | ${latencyMs(o.p99)} | ${latencyMs(s.p99)} | ${ratio(o.p99, s.p99)} |${fl((x) => x.p99)} |`,
    `| mean, ms | ${latencyMs(o.mean)} | ${latencyMs(s.mean)} | ${ratio(o.mean, s.mean)} |${fl((x) => x.mean)} |`,
    ...(f
      ? [
          `| median above the floor, ms | ${latencyMs(o.median - f.median)} | ${latencyMs(s.median - f.median)} | ${ratio(o.median - f.median, s.median - f.median)} | — | for information |`,
        ]
      : []),
    `| answered | ${o.n} of ${p.n} | ${s.n} of ${p.n} | |${f ? ` ${f.n} of ${p.n} |` : ''} |`,
    `| lost / wrong / errors | ${failures(p.ours)} | ${failures(p.socat)} | |${p.floor ? ` ${failures(p.floor)} |` : ''} |`,
  ];
}

function concurrentTable(c: Results['concurrent']): string[] {
  const rate = (r: ConcurrentResult) => (r.sent / r.elapsedMs) * 1000;
  const okRate = (r: ConcurrentResult) => (r.ok / r.elapsedMs) * 1000;
  const pct = (n: number, r: ConcurrentResult) => `${n} (${((100 * n) / r.sent).toFixed(1)}%)`;
  const clean = c.ours.wrong === 0 && c.ours.lost === 0;
  return [
    '| | ours (:1200) | old socat (:1300) | ours / socat | target |',
    '|---|---:|---:|---:|---|',
    `| requests/s (all sent / wall time) | ${rate(c.ours).toFixed(0)} | ${rate(c.socat).toFixed(0)} | ${ratio(rate(c.ours), rate(c.socat))} | no target set |`,
    `| right answers/s | ${okRate(c.ours).toFixed(0)} | ${okRate(c.socat).toFixed(0)} | ${ratio(okRate(c.ours), okRate(c.socat))} | |`,
    `| wrong (someone else's reply) | ${pct(c.ours.wrong, c.ours)} | ${pct(c.socat.wrong, c.socat)} | | ours 0: ${mark(c.ours.wrong === 0)} |`,
    `| lost (no reply in 2 s) | ${pct(c.ours.lost, c.ours)} | ${pct(c.socat.lost, c.socat)} | | ours 0: ${mark(c.ours.lost === 0)} |`,
    `| stray datagrams (no request pending) | ${c.ours.stray} | ${c.socat.stray} | | |`,
    `| sends that waited for room (EAGAIN) / failed | ${c.ours.sendWaits} / ${c.ours.sendErrors} | ${c.socat.sendWaits} / ${c.socat.sendErrors} | | host socat's socket queue |`,
    `| requests that reached our agent (its own counter) | ${c.reachedOurs ?? '—'} of ${c.ours.sent} | — | | |`,
    `| wall time, s | ${(c.ours.elapsedMs / 1000).toFixed(2)} | ${(c.socat.elapsedMs / 1000).toFixed(2)} | | |`,
    `| peak host socat children | ${c.peakHostChildren.ours} | ${c.peakHostChildren.socat} | | |`,
    `| peak guest socat children | — | ${c.peakGuestSocatChildren} | | |`,
    ...(clean
      ? []
      : [
          '',
          c.reachedOurs !== null && c.reachedOurs < c.ours.sent && c.ours.wrong === 0
            ? `**Some of our requests were lost: ${c.ours.sent - c.reachedOurs} never reached the agent (the host's socat did not pass them on); any others are the agent's doing.**`
            : '**Our agent lost or mixed up replies: that is a bug.**',
        ]),
  ];
}

function memoryTable(m: MemoryFigures): string[] {
  const row = (label: string, v: Memory, extra = '') => `| ${label} | ${mb(v.rss)} | ${mb(v.pss)} | ${mb(v.privateDirty)} | ${mb(v.privateClean)} | ${extra} |`;
  const ok = (v: Memory) => `≤ 12 MB private dirty: ${mark(kbToMB(v.privateDirty) <= 12)}`;
  return [
    '| process(es) | RSS, MB | PSS, MB | private dirty, MB | private clean, MB | target / note |',
    '|---|---:|---:|---:|---:|---|',
    row('ours, idle (1 s after listening)', m.oursIdle),
    row(`ours, ${m.oursHeldCount} connections open`, m.oursHeld, ok(m.oursHeld)),
    row(`ours, idle again, ${m.afterLoadSec.toFixed(0)} s after tests 1–4`, m.oursAfter, 'for information'),
    row(`ours, ${m.oursHeldAfterCount} connections open, after that`, m.oursHeldAfter, ok(m.oursHeldAfter)),
    row('old socat listener, idle', m.socatIdle),
    row(
      `old socat listener + ${m.socatHeldChildren} children, ${m.socatHeldCount} connections open`,
      m.socatHeld,
      'summed over processes (RSS double-counts shared pages; PSS does not)',
    ),
    row('ours, peak while tests 1–4 ran', m.oursPeak, 'for information; sampled every 250 ms'),
    row(`old socat + children, peak while tests 1–4 ran (up to ${m.socatPeak.processes} processes)`, m.socatPeak, 'for information; sampled every 500 ms'),
    ...(m.nodeFloor ? [row('bare `node -e` listening on a port (for information)', m.nodeFloor, 'what any Node process costs')] : []),
    '',
    `Ratios at ${m.oursHeldCount} connections, ours / socat: PSS ${ratio(m.oursHeld.pss, m.socatHeld.pss)}, private dirty ${ratio(m.oursHeld.privateDirty, m.socatHeld.privateDirty)}.`,
  ];
}

function startupTable(s: StartupFigures): string[] {
  const o: Summary = summarize(s.ours);
  const k = summarize(s.socat);
  const f = summarize(s.nodeFloor);
  return [
    '| | median, ms | min, ms | max, ms | target |',
    '|---|---:|---:|---:|---|',
    `| ours | ${latencyMs(o.median)} | ${latencyMs(o.min)} | ${latencyMs(o.max)} | ≤ 150 ms: ${mark(o.median <= 150)} |`,
    `| old socat | ${latencyMs(k.median)} | ${latencyMs(k.min)} | ${latencyMs(k.max)} | |`,
    `| bare \`node -e\` listening on a port | ${latencyMs(f.median)} | ${latencyMs(f.min)} | ${latencyMs(f.max)} | for information |`,
    '',
    `ours / socat: ${ratio(o.median, k.median)}; ours − bare node: ${latencyMs(o.median - f.median)} ms.`,
  ];
}

/** One line per target of the issue, with the figure it is judged on. */
function summaryTable(r: Results): string[] {
  const med = (t: TargetLatency) => summarize(t.times).median;
  const freshRatio = med(r.fresh.ours) / med(r.fresh.socat);
  const openRatio = med(r.open.ours) / med(r.open.socat);
  const dirty = (v: Memory) => kbToMB(v.privateDirty);
  const worstDirty = Math.max(dirty(r.memory.oursHeld), dirty(r.memory.oursHeldAfter));
  const start = summarize(r.startup.ours).median;
  const cc = r.concurrent.ours;
  return [
    '| target | measured | met |',
    '|---|---|---|',
    `| fresh connection per request: ≤ 0.3× socat's round trip | ${ratio(med(r.fresh.ours), med(r.fresh.socat))} (${latencyMs(med(r.fresh.ours))} vs ${latencyMs(med(r.fresh.socat))} ms median) | ${mark(freshRatio <= 0.3)} |`,
    `| one open connection: ≤ 1.2× socat's round trip | ${ratio(med(r.open.ours), med(r.open.socat))} (${latencyMs(med(r.open.ours))} vs ${latencyMs(med(r.open.socat))} ms median) | ${mark(openRatio <= 1.2)} |`,
    `| full host + guest chain | ${ratio(med(r.chain.ours), med(r.chain.socat))} (${latencyMs(med(r.chain.ours))} vs ${latencyMs(med(r.chain.socat))} ms median) | no target |`,
    `| ${cc.clients} concurrent clients: requests/s, wrong, lost | ours ${((cc.sent / cc.elapsedMs) * 1000).toFixed(0)}/s, ${cc.wrong} wrong, ${cc.lost} lost; socat ${((r.concurrent.socat.sent / r.concurrent.socat.elapsedMs) * 1000).toFixed(0)}/s, ${r.concurrent.socat.wrong} wrong, ${r.concurrent.socat.lost} lost | ${mark(cc.wrong === 0 && cc.lost === 0)} (none wrong or lost) |`,
    `| ≤ 12 MB private dirty at ${r.memory.oursHeldCount} connections | ${mb(r.memory.oursHeld.privateDirty)} MB fresh, ${mb(r.memory.oursHeldAfter.privateDirty)} MB after the load tests; peak under load ${mb(r.memory.oursPeak.privateDirty)} MB | ${mark(worstDirty <= 12)} |`,
    `| exec to listening ≤ 150 ms | ${latencyMs(start)} ms median (bare \`node\` on this machine: ${latencyMs(summarize(r.startup.nodeFloor).median)} ms) | ${mark(start <= 150)} |`,
  ];
}

/** Tests 1–3: the round trips, each against socat's (and the floor's, where there is one). */
function latencySections(r: Results): string[] {
  return [
    `### 1. Round trip over a fresh TCP connection per request (the host's pattern), N = ${r.fresh.n} each`,
    '',
    'Connect, write `PING`, half-close, read until `PONG\\n`; timed from the connect call to the reply.',
    'The floor column is a trivial Node server in the guest that answers `PONG` itself (no daemon, no',
    'datagram socket): what the client, TCP and any Node process cost, which no bridge can go under.',
    '',
    ...latencyTable(r.fresh, { ratio: 0.3 }),
    '',
    `### 2. Round trip over one open connection, N = ${r.open.n} each`,
    '',
    'One connection, then `PING` → wait for `PONG\\n`, one after another.',
    '',
    ...latencyTable(r.open, { ratio: 1.2 }),
    ...(r.open.note ? ['', `Note: ${r.open.note}.`] : []),
    '',
    `### 3. Full host + guest chain, N = ${r.chain.n} each`,
    '',
    "A datagram socket bound in the host namespace sends `PING` to the host's own",
    '`socat UNIX-RECVFROM:…,fork TCP4:10.0.0.1:PORT` and waits for `PONG\\n` (2 s = lost). The host socat forks',
    'a child per datagram, and that fork is most of the time here. Our agent closes each connection',
    "~20 ms after its reply, so the host's children go at once; the old socat never closes, so each host",
    `child stays for its 0.5 s close timeout: peak host socat children during this test: ours ${r.chain.peakHostChildren.ours},`,
    `old socat ${r.chain.peakHostChildren.socat}.`,
    '',
    ...latencyTable(r.chain, null),
  ];
}

/** A few of the wrong answers a bridge gave, each in backquotes (a backquote in it written as '). */
const wrongExamples = (who: string, sample: string[]): string[] =>
  sample.length ? ['', `${who}, examples of wrong answers: ${sample.map((s) => `\`${s.replace(/`/g, "'")}\``).join('; ')}.`] : [];

/** Test 4: many clients at once through the whole chain. */
function concurrentSection(r: Results): string[] {
  return [
    `### 4. ${r.concurrent.ours.clients} concurrent clients through the full chain, ${r.concurrent.ours.sent / r.concurrent.ours.clients} requests each`,
    '',
    'Each client has its own bound datagram socket and asks `GET_NETWORK <i+1> ssid`, whose answer',
    '(`"lab-client-XX"`) names the client: any other answer is wrong, none within 2 s is lost. Ours first,',
    'then the old socat.',
    '',
    ...concurrentTable(r.concurrent),
    ...wrongExamples('Old socat', r.concurrent.socat.sampleWrong),
    ...wrongExamples('Ours', r.concurrent.ours.sampleWrong),
  ];
}

/** Test 5: the memory of both, idle, with connections held, after the load. */
function memorySection(r: Results): string[] {
  return [
    '### 5. Memory (/proc/PID/smaps_rollup; MB = 10⁶ bytes)',
    '',
    'Connections are opened one by one from the host namespace straight to the guest port and held idle',
    "(inside our agent's 30 s idle timeout); figures are read 0.5 s after the agent reports them all",
    'active, or socat has forked a child for each. For the old socat the listener and its children',
    '(found by PPID) are summed. Our agent is measured again once it has been idle a few seconds after',
    'tests 1–4 (its heap grows under load); the peak rows show the highest figures seen during them.',
    '',
    ...memoryTable(r.memory),
  ];
}

/** Test 6: exec to listening; and our agent's own counters at the end. */
function startupSection(r: Results): string[] {
  const c = r.agentCounters;
  return [
    `### 6. Time from exec to listening, ${r.startup.runs} runs each`,
    '',
    'A small launcher runs inside the guest (started once through nsenter, so neither nsenter nor',
    '`ip netns exec` is in the figure). Per run it takes the time, spawns the program with a fresh config',
    'and runtime directory on a port of its own, and tries a TCP connect to 10.0.0.1:PORT every 1 ms',
    "until one succeeds; that connect's time is the figure (fork + exec + start-up + listen, ±1 ms).",
    `It took ${r.startup.probes} connect attempts in all. Ours, socat and a bare \`node -e\` listener alternate.`,
    '',
    ...startupTable(r.startup),
    ...(c
      ? [
          '',
          "Our agent's own counters for port 1200 at the end of the run: " +
            Object.entries(c)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ') +
            '.',
        ]
      : []),
  ];
}

export function renderSection(r: Results): string {
  const m = r.machine;
  return sectionText(PASSTHRU_MARKS, 'Passthru agent against the old socat glue', [
    [
      `Command: \`${r.command}\`${r.quick ? ' (quick: small N, figures are rough)' : ''} — run ${m.date}, took ${r.durationSec.toFixed(0)} s.`,
      machineLine(m, [m.socat, m.wpaSupplicant], `agent ${m.agent}`),
    ],
    [
      'Both bridges run in the same lab at the same time, in the guest namespace, in front of one real',
      'wpa_supplicant (wired driver): ours (`wifibox-passthru --loglevel warn`, port 1200) and the old glue',
      'exactly as the old script starts it (`socat TCP4-LISTEN:1300,reuseaddr,bind=10.0.0.1,range=…,fork',
      'UNIX-SENDTO:/var/run/wpa_supplicant/wlan0,bind=/run/old-socat-client,unlink-early`). Clients run in',
      'the host namespace. Latencies are measured in alternating blocks (ours, socat, floor, then floor,',
      'socat, ours, …) so all see the same noise. p99 is nearest-rank. Each test waits until the previous',
      "one's connections and forked children are gone.",
    ],
    summaryTable(r),
    latencySections(r),
    concurrentSection(r),
    memorySection(r),
    startupSection(r),
  ]);
}
