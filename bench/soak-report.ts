// The soak's figures (each agent's growth after warm-up, its descriptors) and its section of
// docs/RELIABILITY.md.
import { GUEST_BUDGET, LOAD_CLIENTS } from '../lab/faults';
import { mark, mb, mbOfBytes, signedPercent, wholeSeconds } from './format';
import type { GcRun } from './gc-trace';
import { machineLine, type MachineFacts } from './machine';
import { sectionText, type SectionMarks } from './sections';
import { SOAK_ROTATION, type SoakResult, type SoakSample } from './soak';
import { median } from './stats';

export const SOAK_MARKS: SectionMarks = { start: '<!-- soak:start -->', end: '<!-- soak:end -->' };

/** The issue's target: each agent's memory over 10 minutes, after warm-up. */
export const GROWTH_TARGET = 0.1;
/**
 * What the 60-second soak in `npm test` allows. Its windows are 12 s of 6 samples each, 36 s
 * apart, with the heap still settling (V8 grows the old generation until its first full
 * collections, which at this load take minutes to come): a short soak catches a leak that
 * grows per request or per fault (5 faults, ~9,000 requests), not a slow drift.
 */
export const SHORT_SOAK_GROWTH_LIMIT = 0.25;

/** A figure's medians in the first window after warm-up and in the last one, in kB. */
interface Growth {
  first: number;
  last: number;
  /** (last − first) / first. */
  growth: number;
  /** The highest sample after warm-up. */
  max: number;
}

interface AgentFigures {
  pss: Growth;
  /** PSS less its file-backed share: the agent's own part of it. */
  pssOwn: Growth;
  privateDirty: Growth;
  /** Descriptors in the samples after warm-up (under load: each open connection holds some). */
  fds: { min: number; max: number; first: number; last: number };
}

function windows(r: SoakResult): { after: SoakSample[]; first: SoakSample[]; last: SoakSample[] } {
  const o = r.options;
  const after = r.samples.filter((s) => s.t >= o.warmupMs);
  return {
    after,
    first: after.filter((s) => s.t < o.warmupMs + o.windowMs),
    last: after.filter((s) => s.t >= o.durationMs - o.windowMs),
  };
}

function growthOf(w: ReturnType<typeof windows>, pick: (s: SoakSample) => number | undefined): Growth {
  const values = (list: SoakSample[]) => list.map(pick).filter((v): v is number => v !== undefined);
  const first = median(values(w.first));
  const last = median(values(w.last));
  return { first, last, growth: (last - first) / first, max: Math.max(...values(w.after)) };
}

/** Each agent's figures; an agent missing from a sample (not the same process) is left out of it. */
export function agentFigures(r: SoakResult): Record<string, AgentFigures> {
  const w = windows(r);
  const out: Record<string, AgentFigures> = {};
  for (const name of Object.keys(r.alive)) {
    const fds = growthOf(w, (s) => s.agents[name]?.fds);
    const under = w.after.flatMap((s) => s.agents[name]?.fds ?? []);
    out[name] = {
      pss: growthOf(w, (s) => s.agents[name]?.pssKb),
      pssOwn: growthOf(w, (s) => (s.agents[name] ? s.agents[name].pssKb - s.agents[name].pssFileKb : undefined)),
      privateDirty: growthOf(w, (s) => s.agents[name]?.privateDirtyKb),
      fds: { min: Math.min(...under), max: Math.max(...under), first: fds.first, last: fds.last },
    };
  }
  return out;
}

/** How often each daemon the faults touch was started again: the PIDs seen, less one. */
export function restarts(r: SoakResult): Record<string, number> {
  const seen: Record<string, Set<number>> = {};
  for (const s of r.samples) for (const [name, pid] of Object.entries(s.daemons)) (seen[name] ??= new Set()).add(pid);
  return Object.fromEntries(Object.entries(seen).map(([name, pids]) => [name, pids.size - 1]));
}

/** What must hold of every soak, in words; [] when it all did. */
export function soakFailures(r: SoakResult): string[] {
  const out: string[] = [];
  if (r.load.wrong) out.push(`${r.load.wrong} wrong replies: ${r.load.samples.join('; ')}`);
  if (r.lookups.wrong) out.push(`${r.lookups.wrong} wrong DNS answers: ${r.lookups.samples.join('; ')}`);
  if (r.budget?.oomKills) out.push(`${r.budget.oomKills} OOM kills`);
  for (const [name, alive] of Object.entries(r.alive)) if (!alive) out.push(`${name} is not the process it was at the start`);
  for (const f of r.faults) if (f.recoveryMs === null) out.push(`${f.id} at ${wholeSeconds(f.at)} s: ${f.error ?? 'no recovery'}`);
  if (r.leaks.length) out.push(`left over: ${r.leaks.join('; ')}`);
  return out;
}

interface SoakReportContext {
  command: string;
  machine: MachineFacts;
  programs: string[];
}

/** What runs during the soak, and how long. */
function soakSetup(r: SoakResult): string[] {
  const o = r.options;
  const minutes = o.durationMs / 60_000;
  return [
    `The guest as the fault suite boots it (below), inside its budget (${GUEST_BUDGET.memoryMB} MB for all its processes, CPU ${GUEST_BUDGET.cpus}),`,
    `for ${minutes} minute${minutes === 1 ? '' : 's'}: ${LOAD_CLIENTS} host clients each ask wpa_supplicant for their own network's ssid through the host's`,
    `socat (\`-t 3600\`) and the passthrough (a part of wifibox-init's runtime), and pause ${o.paceMs} ms after each reply (steady load, not a flood); the reach`,
    'probe fetches a page from the wireless network through the NAT every 50 ms; the host looks up',
    `\`portal.wireless.lab\` through wifibox-init's DNS relay every ${o.lookupEveryMs / 1000} s. Every ${o.faultEveryMs / 1000} s one fault, in turn:`,
    `${SOAK_ROTATION.map((id) => `\`${id}\``).join(', ')} (the fault suite's own injections).`,
    "wifibox-init's runtime (the network and the passthrough) is never restarted, so it is one process from start to",
    'end and its growth means something (an agent started again begins from nothing); what they must',
    'survive without gathering anything is their daemons, sockets and children coming and going.',
  ];
}

/** What is read, and how the growth is taken from it. */
function soakReadings(r: SoakResult): string[] {
  const o = r.options;
  return [
    `Every ${o.sampleEveryMs / 1000} s each agent's PSS and private dirty (\`/proc/PID/smaps_rollup\`) and open descriptors`,
    `(\`/proc/PID/fd\`) are read. The first ${wholeSeconds(o.warmupMs)} s are warm-up (V8's heaps and code caches fill); the growth compares`,
    `the median of the first ${wholeSeconds(o.windowMs)} s after warm-up with the median of the last ${wholeSeconds(o.windowMs)} s. A median, not one sample:`,
    'the heap is a saw-tooth between collections, and a single reading lands anywhere on it. PSS also',
    "carries a share of the node binary's pages, which moves with how many node processes on this",
    "machine map it; private dirty is the agent's own. MB = 10⁶ bytes.",
  ];
}

/** Each agent's growth after warm-up against the target (a shorter soak says it is one). */
function growthTable(r: SoakResult, figures: Record<string, AgentFigures>): string[] {
  const o = r.options;
  const minutes = o.durationMs / 60_000;
  const full = o.durationMs >= 600_000;
  return [
    `| agent | figure | first ${wholeSeconds(o.windowMs)} s after warm-up, MB | last ${wholeSeconds(o.windowMs)} s, MB | growth | highest after warm-up, MB | target: growth ≤ ${GROWTH_TARGET * 100}% over 10 minutes |`,
    '|---|---|---:|---:|---:|---:|---|',
    ...Object.entries(figures).flatMap(([name, f]) => {
      const row = (what: string, g: Growth, verdict: string) =>
        `| ${name} | ${what} | ${mb(g.first)} | ${mb(g.last)} | ${signedPercent(g.growth)} | ${mb(g.max)} | ${verdict} |`;
      const target = (g: Growth) => `${mark(g.growth <= GROWTH_TARGET)}${full ? '' : ` (a ${minutes}-minute run)`}`;
      return [
        row('PSS', f.pss, target(f.pss)),
        row('PSS less its file-backed share', f.pssOwn, 'for information'),
        row('private dirty', f.privateDirty, target(f.privateDirty)),
      ];
    }),
  ];
}

/** Each agent's descriptors at rest, before and after, and under load. */
function descriptorTable(r: SoakResult, figures: Record<string, AgentFigures>): string[] {
  return [
    '| agent | descriptors at rest, before → after | under load after warm-up, min–max | under load, first → last window (medians) |',
    '|---|---|---|---|',
    ...Object.entries(figures).map(
      ([name, f]) =>
        `| ${name} | ${r.fdsAtRest.before[name]} → ${r.fdsAtRest.after[name]} ${mark(r.fdsAtRest.before[name] === r.fdsAtRest.after[name])} | ${f.fds.min}–${f.fds.max} | ${f.fds.first} → ${f.fds.last} |`,
    ),
  ];
}

const DESCRIPTORS_AT_REST = [
  '"At rest" is with the load stopped and no connection open at the passthrough (before: after the',
  "boot's warm-up load; after: once the soak's load stopped). Under load the count moves with the",
  'connections in flight: each holds a TCP socket and a datagram socket in the passthrough.',
];

/** What must hold of the soak as a whole (replies, lookups, the budget, faults, restarts, leftovers), measured. */
function outcomeTable(r: SoakResult): string[] {
  const seconds = (r.load.ok + r.load.wrong) / (r.tookMs / 1000);
  const worst = r.faults.filter((f) => f.recoveryMs !== null).sort((a, b) => b.recoveryMs! - a.recoveryMs!)[0];
  const again = restarts(r);
  const rssMax = Math.max(...r.samples.map((s) => s.rssBytes));
  return [
    '| what | measured | must be |',
    '|---|---|---|',
    `| wrong replies (a client given another's) | ${r.load.wrong} of ${r.load.ok + r.load.wrong} replies (${seconds.toFixed(0)}/s) | 0 ${mark(r.load.wrong === 0)} |`,
    `| requests not answered: FAIL (daemon restarting) / no reply in 2 s | ${r.load.failed} / ${r.load.noReply} | during faults only |`,
    `| DNS lookups through the relay: answered / failed / wrong | ${r.lookups.answered} / ${r.lookups.failed} / ${r.lookups.wrong} | none wrong ${mark(r.lookups.wrong === 0)} |`,
    `| OOM kills in the budget | ${r.budget?.oomKills ?? '—'} | 0 ${mark(r.budget?.oomKills === 0)} |`,
    `| the budget: the most held at once (page cache included) / anonymous memory at most (samples) | ${mbOfBytes(r.budget?.maxUsageBytes ?? NaN)} / ${mbOfBytes(rssMax)} MB of ${mbOfBytes(r.budget?.limitBytes ?? NaN)} MB; limit hit ${r.budget?.failcnt ?? '—'} times (the kernel reclaimed page cache) | |`,
    `| faults, service back (wpa_cli ping through the passthrough, and the NAT) | ${r.faults.length} faults; the slowest ${worst ? `${worst.recoveryMs} ms after ${worst.after} (\`${worst.id}\`, stated ${worst.withinMs} ms)` : '—'} | each within its stated time ${mark(r.faults.every((f) => f.recoveryMs !== null && f.recoveryMs <= f.withinMs))} |`,
    `| the longest time the host went without the wireless network (faults included) | ${r.longestGapMs} ms | |`,
    `| restarts seen (distinct PIDs in the samples, less one) | ${Object.entries(again)
      .map(([n, k]) => `${n} ${k}`)
      .join(', ')}; wifibox-init 0 | agents never ${mark(Object.values(r.alive).every(Boolean))} |`,
    `| left over once at rest (processes, run files, descriptors, rules, addresses) | ${r.leaks.length ? r.leaks.join('; ') : 'nothing'} | nothing ${mark(r.leaks.length === 0)} |`,
  ];
}

/** Each fault: when, and how soon service was back against its stated time. */
function faultTable(r: SoakResult): string[] {
  return [
    '| # | at, s | fault | service back, ms | stated, ms |',
    '|---:|---:|---|---:|---:|',
    ...r.faults.map(
      (f, i) => `| ${i + 1} | ${wholeSeconds(f.at)} | \`${f.id}\`: ${f.fault} | ${f.recoveryMs ?? f.error ?? '—'} | ${f.withinMs} after ${f.after} |`,
    ),
  ];
}

export function renderSoakSection(r: SoakResult, x: SoakReportContext): string {
  const minutes = r.options.durationMs / 60_000;
  const figures = agentFigures(r);
  const failures = soakFailures(r);
  return sectionText(SOAK_MARKS, `Soak: ${minutes} minute${minutes === 1 ? '' : 's'} under steady load and periodic faults`, [
    [`Command: \`${x.command}\` — run ${r.startedAt}, took ${wholeSeconds(r.tookMs)} s.`, machineLine(x.machine, x.programs)],
    soakSetup(r),
    soakReadings(r),
    growthTable(r, figures),
    ...gcBlocks(r),
    descriptorTable(r, figures),
    DESCRIPTORS_AT_REST,
    outcomeTable(r),
    ...(failures.length ? [[`**Failed:** ${failures.join('; ')}.`]] : []),
    faultTable(r),
    sampleTable(r),
  ]);
}

/**
 * What each agent's collections after warm-up left, live heap (mark-compacts) against all of it:
 * a paragraph and a table, when the agents ran with --trace-gc; nothing otherwise.
 */
function gcBlocks(r: SoakResult): string[][] {
  if (!r.gc) return [];
  const run = (g: GcRun | null) => (g ? `${g.count} | ${g.firstAfterMB} → ${g.lastAfterMB}` : '0 | —');
  return [
    [
      "The agents ran with `--trace-gc` (the one flag the soak adds to the package's own): what a",
      "mark-compact leaves is the live heap; what a scavenge leaves also holds the old generation's",
      'garbage, which only a mark-compact frees. An agent that allocates little can go a whole soak',
      'without one, and its private dirty then grows by garbage, not by what it keeps.',
    ],
    [
      '| agent | mark-compacts after warm-up | heap after them, first → last, MB (2²⁰ bytes) | scavenges | heap after them, first → last, MB |',
      '|---|---:|---|---:|---|',
      ...Object.entries(r.gc).map(([name, g]) => `| ${name} | ${run(g.markCompacts)} | ${run(g.scavenges)} |`),
    ],
  ];
}

/** About twenty samples, evenly spread: the trend at a glance. */
function sampleTable(r: SoakResult): string[] {
  const names = Object.keys(r.alive);
  const stride = Math.max(1, Math.round(r.samples.length / 20));
  const rows = r.samples.filter((_, i) => i % stride === 0 || i === r.samples.length - 1);
  return [
    `| t, s | ${names.map((n) => `${n}: PSS / private dirty, MB / fds`).join(' | ')} | budget: held / anonymous, MB |`,
    `|---:|${names.map(() => '---|').join('')}---|`,
    ...rows.map(
      (s) =>
        `| ${wholeSeconds(s.t)} | ${names
          .map((n) => {
            const a = s.agents[n];
            return a ? `${mb(a.pssKb)} / ${mb(a.privateDirtyKb)} / ${a.fds}` : 'gone';
          })
          .join(' | ')} | ${mbOfBytes(s.usageBytes)} / ${mbOfBytes(s.rssBytes)} |`,
    ),
    '',
  ];
}
