// The init benchmark's section of docs/BENCHMARKS.md: the tables (the words around them are in
// init-report-text.ts).
import { fixed3, mark, mb, ratio, seconds } from './format';
import { NEW_DNS } from './init-after';
import { FIGURES, medianOver, mediansOf, type Figure, type RunFigures } from './init-figures';
import { BOUND_S, howMeasured, reading, setup } from './init-report-text';
import { REST_MS } from './init-runs';
import { machineLine, type MachineFacts } from './machine';
import type { Memory } from './memory';
import { sectionText, type SectionMarks } from './sections';
import { median as medianOf, percentile } from './stats';

export const INIT_MARKS: SectionMarks = { start: '<!-- init-bench:start -->', end: '<!-- init-bench:end -->' };

export interface InitMachine extends MachineFacts {
  dhcpcd: string;
  busybox: string;
  dnsmasq: string;
  ifupdownNg: string;
  iptables: string;
  procps: string;
  agent: string;
}

export interface InitResults {
  quick: boolean;
  command: string;
  machine: InitMachine;
  runs: RunFigures[];
  durationSec: number;
}

/** The targets set for wifibox-init (seconds, but the relay's latency: ms). */
const TARGET = { firstLease: 0.3, reachedOverLease: 0.3, journey: 1.0, renewal: 1, replug: 1, relayAddedMs: 0.3 };
const OLD_FIRST_LEASE_IN_ISSUE_S = 8.3;

/** A median's cell: "not within N s" when no run saw it, and how many did when only some did. */
function cell(runs: RunFigures[], f: Figure, boundS: number): string {
  const { v, missing } = medianOver(runs, FIGURES[f]);
  if (!runs.length) return '—';
  if (v === null) return `not within ${boundS} s`;
  return missing ? `${seconds(v)} (${runs.length - missing} of ${runs.length} runs; the others: not within ${boundS} s)` : seconds(v);
}

/** Met only when every run saw it and the median is within. */
function met(runs: RunFigures[], f: Figure, limit: number): string {
  const { v, missing } = medianOver(runs, FIGURES[f]);
  return mark(v !== null && missing === 0 && v <= limit);
}

interface RowOptions {
  /** How long the bench waited before "not within". */
  boundS?: number;
  /** No ratio (a difference, or a part of another figure). */
  noRatio?: boolean;
  /** Read from wifibox-init's status: the old sequence has none. */
  oursOnly?: boolean;
}

function row(ours: RunFigures[], old: RunFigures[], label: string, f: Figure, target: string, o: RowOptions = {}): string {
  const bound = o.boundS ?? 60;
  const r = o.noRatio || o.oursOnly ? '' : ratio(medianOver(ours, FIGURES[f]).v, medianOver(old, FIGURES[f]).v);
  return `| ${label} | ${cell(ours, f, bound)} | ${o.oursOnly ? '— (no status)' : cell(old, f, bound)} | ${r} | ${target} |`;
}

function startTable(ours: RunFigures[], old: RunFigures[]): string[] {
  return [
    '| seconds from t0 | ours (wifibox-init) | old (OpenRC sequence) | ours / old | target |',
    '|---|---:|---:|---:|---|',
    row(
      ours,
      old,
      "(a) the host's first lease",
      'firstLease',
      `≤ ${TARGET.firstLease} s (the old glue: ~${OLD_FIRST_LEASE_IN_ISSUE_S} s): ${met(ours, 'firstLease', TARGET.firstLease)}`,
    ),
    row(
      ours,
      old,
      "(b) the host's traffic reaches the wireless network (HTTP by address, through the NAT)",
      'reached',
      `≤ dhcpcd's lease + ${TARGET.reachedOverLease} s: ${met(ours, 'reachedOverLease', TARGET.reachedOverLease)}`,
    ),
    row(ours, old, "(c) the host resolves the wireless network's name through the DNS servers of its current lease", 'resolved', 'no target set'),
    row(
      ours,
      old,
      "**(d) the whole journey: lease, name through that lease's DNS, page by that name**",
      'page',
      `≤ ${TARGET.journey} s: ${met(ours, 'page', TARGET.journey)}`,
    ),
    row(ours, old, "— dhcpcd's own wireless lease (wlan0 gets its address)", 'wlanLease', ''),
    row(ours, old, "— (b) − dhcpcd's lease", 'reachedOverLease', `≤ ${TARGET.reachedOverLease} s: ${met(ours, 'reachedOverLease', TARGET.reachedOverLease)}`, {
      noRatio: true,
    }),
    row(ours, old, "— (c) − dhcpcd's lease", 'resolvedOverLease', 'for information', { noRatio: true }),
    row(ours, old, "— (d) − the later of the host's lease and dhcpcd's (what is left to the guest)", 'guestPart', 'for information', { noRatio: true }),
    row(
      ours,
      old,
      "— the hook's report after dhcpcd's lease (ours: status `lease.obtainedAt`, from a small C hook; old: 99-udhcpd.conf ran for BOUND, sourced shell)",
      'reportOverLease',
      'for information',
      { noRatio: true },
    ),
    row(ours, old, "the guest's udhcpd listening (port 67 open)", 'udhcpdListening', 'for information'),
  ];
}

function afterTable(ours: RunFigures[], old: RunFigures[]): string[] {
  const r = (label: string, f: Figure, target: string, o: RowOptions = {}) => row(ours, old, label, f, target, { boundS: BOUND_S, noRatio: true, ...o });
  return [
    '| seconds | ours (wifibox-init) | old (OpenRC sequence) | ours / old | target |',
    '|---|---:|---:|---:|---|',
    r(
      `**(e) a new wireless DNS server (${NEW_DNS}): from the guest's renewal to the host's first lookup it answers** (the host's lease unchanged)`,
      'renewal',
      `≤ ${TARGET.renewal} s: ${met(ours, 'renewal', TARGET.renewal)}`,
    ),
    r("— from `dhcpcd -n wlan0`'s return to that answer", 'renewalFromReturn', 'for information'),
    r('— from the spawn of `dhcpcd -n wlan0` to its return', 'dhcpcdReturned', 'for information'),
    r(
      '— from that spawn to the renewal (ours: status `leaseEvent.at` once the relay asks the new server; old: the hook ran for the new lease)',
      'renewed',
      'for information',
    ),
    r(
      "**(f) wlan0 removed and back: from wlan0 back to the host's traffic reaching the wireless network again**",
      'replug',
      `≤ ${TARGET.replug} s: ${met(ours, 'replug', TARGET.replug)}`,
    ),
    r('— wlan0 gone: the status says dhcpcd is waiting, after', 'replugWaiting', 'for information', { oursOnly: true }),
    r('— how long wlan0 was gone', 'replugGone', 'for information'),
    r("— dhcpcd started again (its status's `since`), from wlan0 back", 'replugDhcpcd', 'for information', { oursOnly: true }),
    r("— wlan0's carrier up (`ip monitor`: state UP), from wlan0 back", 'replugCarrier', 'for information'),
    r("— wlan0's address again (dhcpcd's lease), from wlan0 back", 'replugLease', 'for information'),
  ];
}

/** (g): what the relay added in each round of a run, ms. */
const addedMs = (r: RunFigures): number[] => (r.latency ? r.latency.relay.map((x, i) => x - r.latency!.direct[i]!) : []);

/** (g), ours only: every round of every run together. */
function latencyTable(ours: RunFigures[]): string[] {
  const relay = ours.flatMap((r) => r.latency?.relay ?? []);
  const direct = ours.flatMap((r) => r.latency?.direct ?? []);
  const added = ours.flatMap(addedMs);
  if (!relay.length) return ['(g) was not measured.'];
  const addedMedian = medianOf(added);
  const failures = ours.reduce((n, r) => n + (r.latency?.failures ?? 0), 0);
  return [
    `| ms, ${relay.length} rounds (${ours.filter((r) => r.latency).length} runs) | the relay (10.0.0.1) | the wireless DNS server directly (192.168.77.53) | added by the relay (per round) | target |`,
    '|---|---:|---:|---:|---|',
    `| median | ${fixed3(medianOf(relay))} | ${fixed3(medianOf(direct))} | ${fixed3(addedMedian)} | ≤ ${TARGET.relayAddedMs} ms: ${mark(addedMedian <= TARGET.relayAddedMs)} |`,
    `| p90 | ${fixed3(percentile(relay, 90))} | ${fixed3(percentile(direct, 90))} | ${fixed3(percentile(added, 90))} | |`,
    `| p99 | ${fixed3(percentile(relay, 99))} | ${fixed3(percentile(direct, 99))} | ${fixed3(percentile(added, 99))} | |`,
    '',
    `Rounds with a query unanswered or without an address (not counted): ${failures}.`,
  ];
}

function perRunTables(runs: RunFigures[]): string[] {
  const said = (r: RunFigures) => `dns \`${r.firstLeaseDns || '(none)'}\`, lease ${r.firstLeaseSeconds ?? '—'} s`;
  const added = (r: RunFigures) => (addedMs(r).length ? fixed3(medianOf(addedMs(r))) : '—');
  return [
    "| run | (a) | (b) | (c) | (d) | dhcpcd's lease | (b) − lease | udhcpd listening | (c) answered by | the host's first lease said |",
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
    ...runs.map(
      (r) =>
        `| ${r.sequence} #${r.index + 1} | ${seconds(r.firstLease)} | ${seconds(r.reached)} | ${seconds(r.resolved)} | ${seconds(r.page)} | ${seconds(r.wlanLease)} | ` +
        `${seconds(FIGURES.reachedOverLease(r))} | ${seconds(r.udhcpdListening)} | ${r.resolvedBy ?? '—'} | ${said(r)} |`,
    ),
    '',
    "| run | (e) | (e) from `dhcpcd -n`'s return | renewal seen (reason) | the host's last answer | (f) | wlan0 gone | dhcpcd again | carrier | wlan0's lease | dhcpcd processes after (f) | (g) added, ms |",
    '|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map(
      (r) =>
        `| ${r.sequence} #${r.index + 1} | ${seconds(r.renewal?.answered)} | ${seconds(r.renewal?.answeredAfterReturn)} | ` +
        `${seconds(r.renewal?.renewed)} (${r.renewal?.reason ?? 'none'}) | ${r.renewal?.lastAnswer ?? '—'} | ${seconds(r.replug?.reached)} | ${seconds(r.replug?.gone)} | ${seconds(r.replug?.dhcpcdStarted)} | ` +
        `${seconds(r.replug?.carrier)} | ${seconds(r.replug?.wlanLease)} | ${r.replug?.dhcpcdAfter ?? '—'} | ${added(r)} |`,
    ),
  ];
}

/** The moments inside each sequence, medians over its runs, in the order they happen. */
function insideList(runs: RunFigures[]): string {
  const keys = new Set(runs.flatMap((r) => Object.keys(r.inside)));
  const med = [...keys].map((k) => ({ k, v: medianOver(runs, (r) => r.inside[k] ?? null).v })).filter((x): x is { k: string; v: number } => x.v !== null);
  return med
    .sort((a, b) => a.v - b.v)
    .map((x) => `${x.k} ${seconds(x.v)}`)
    .join(' · ');
}

function medianMemory(runs: RunFigures[], get: (r: RunFigures) => Memory | null): Memory | null {
  const m = runs.map(get).filter((x): x is Memory => x !== null);
  const f = (k: keyof Memory) => medianOf(m.map((x) => x[k]));
  return m.length
    ? {
        rss: f('rss'),
        pss: f('pss'),
        privateClean: f('privateClean'),
        privateDirty: f('privateDirty'),
        pssFile: f('pssFile'),
        pageTables: f('pageTables'),
        processes: f('processes'),
      }
    : null;
}

function memoryTable(ours: RunFigures[], old: RunFigures[]): string[] {
  const line = (what: string, m: Memory | null, note: string) =>
    m ? `| ${what} | ${mb(m.rss)} | ${mb(m.pss)} | ${mb(m.privateDirty)} | ${mb(m.privateClean)} | ${note} |` : `| ${what} | — | — | — | — | ${note} |`;
  const [od, dd] = [medianMemory(ours, (r) => r.daemons), medianMemory(old, (r) => r.daemons)];
  return [
    '| process(es) | RSS, MB | PSS, MB | private dirty, MB | private clean, MB | note |',
    '|---|---:|---:|---:|---:|---|',
    line(
      `ours: wifibox-init (one node process, with the DNS relay), ${REST_MS / 1000} s after (d)`,
      medianMemory(ours, (r) => r.memory),
      'no target set',
    ),
    "| old: the orchestration itself | 0 | 0 | 0 | 0 | nothing stays: OpenRC's services and ifup exit once they have run |",
    line(`ours: dhcpcd + udhcpd (${od?.processes ?? 0} processes)`, od, 'the same programs in both, for information'),
    line(`old: dhcpcd + udhcpd (${dd?.processes ?? 0} processes)`, dd, ''),
  ];
}

export function renderInitSection(r: InitResults): string {
  const m = r.machine;
  const ours = r.runs.filter((x) => x.sequence === 'ours');
  const old = r.runs.filter((x) => x.sequence === 'old');
  const n = Math.max(ours.length, old.length);
  const notes = r.runs.flatMap((x) => x.notes.map((t) => `${x.sequence} #${x.index + 1}: ${t}`));
  const command = (runs: RunFigures[]) => runs.find((x) => x.udhcpdCommand)?.udhcpdCommand ?? null;
  const medians = { ours: mediansOf(ours), old: mediansOf(old) };
  return sectionText(INIT_MARKS, 'wifibox-init against the old OpenRC sequence (station flavor)', [
    [
      `Command: \`${r.command}\` — run ${m.date}, took ${r.durationSec.toFixed(0)} s${r.quick ? ' (quick: one run each)' : ''}.`,
      machineLine(m, [m.dhcpcd, m.busybox, m.dnsmasq, m.ifupdownNg, m.iptables, m.procps], `orchestrator ${m.agent}`),
    ],
    setup(n, { ours: command(ours), old: command(old) }),
    [`### From the start, median of ${n} runs each`],
    startTable(ours, old),
    reading.start(medians.ours, medians.old, { ours: command(ours), old: command(old) }),
    [`### After the start, in the same labs, median of ${n} runs each`],
    afterTable(ours, old),
    reading.after(medians.ours, medians.old, r.runs),
    [
      "**(g) The DNS relay's added latency** (ours only: the old sequence has no relay; the guest asks the wireless DNS server itself, and the host asks it through the NAT):",
    ],
    latencyTable(ours),
    ['Every run:'],
    perRunTables(r.runs),
    [`Inside ours (medians, s from t0; each step's end and each daemon's latest start, from its status): ${insideList(ours) || '—'}.`],
    [`Inside old (medians, s from t0; marks of the boot script and of the hook, by dhcpcd's reason): ${insideList(old) || '—'}.`],
    ['### Memory (/proc/PID/smaps_rollup; MB = 10⁶ bytes; medians)'],
    memoryTable(ours, old),
    ['### How each number is measured'],
    [
      ...howMeasured(r.runs.filter((x) => x.unNatAnswers > 0).map((x) => `${x.sequence} #${x.index + 1}: ${x.unNatAnswers}`)),
      ...(notes.length ? ['', `Seen during the runs: ${notes.join('; ')}.`] : []),
    ],
  ]);
}
