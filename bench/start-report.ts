// The start bench's section of docs/BENCHMARKS.md: a resume on one CPU, the network first.
import { emojiMark, fixed3 } from './format';
import { commandAndMachine, type MachineFacts } from './machine';
import { sectionText, type SectionMarks } from './sections';
import { medianOfPresent } from './stats';

export const START_MARKS: SectionMarks = { start: '<!-- start-bench:start -->', end: '<!-- start-bench:end -->' };

export type StartLayout = 'init alone' | 'two runtimes' | 'three runtimes';

/** The target: the host's traffic with every part starting at most this many times later than with wifibox-init alone. */
const START_TARGET_RATIO = 1.1;

export interface StartRun {
  layout: StartLayout;
  index: number;
  /** Seconds from t0 until the host's HTTP probe got a page through the NAT; null: not within the run. */
  reached: number | null;
  /** Seconds from t0 until every part was ready. */
  ready: number;
  /** Seconds from t0 until the last service's start returned (as OpenRC would go on). */
  servicesStarted: number;
  /** User + system CPU of the runtimes from their exec until every part was ready. */
  cpuSeconds: number;
  runtimes: number;
  notes: string[];
}

interface StartResults {
  command: string;
  machine: MachineFacts;
  runs: StartRun[];
  durationSec: number;
}

export function renderStartSection(r: StartResults): string {
  const layouts: StartLayout[] = ['init alone', 'two runtimes', 'three runtimes'];
  const of = (l: StartLayout) => r.runs.filter((x) => x.layout === l);
  const med = (l: StartLayout, f: (x: StartRun) => number | null): number | null => medianOfPresent(of(l).map(f));
  const alone = med('init alone', (x) => x.reached);
  const two = med('two runtimes', (x) => x.reached);
  const ratio = alone && two ? two / alone : null;
  /** Runs of a layout whose traffic came a DHCP retry later than init alone's in the same run (same index). */
  const secondLate = (l: StartLayout): number =>
    of(l).filter((x) => {
      const base = of('init alone').find((a) => a.index === x.index)?.reached;
      return x.reached === null || (base != null && x.reached - base >= 0.5);
    }).length;
  const late = (['two runtimes', 'three runtimes'] as const).map((l) => `${secondLate(l)} of ${of(l).length}`).join(', ');
  const rows = layouts.map(
    (l) =>
      `| ${l} | ${of(l)[0]?.runtimes ?? '—'} | ${of(l).length} | ${fixed3(med(l, (x) => x.reached))} | ${fixed3(med(l, (x) => x.ready))} | ${fixed3(med(l, (x) => x.cpuSeconds))} |`,
  );
  const runRows = r.runs.map(
    (x) =>
      `| ${x.index + 1} | ${x.layout} | ${fixed3(x.reached)} | ${fixed3(x.ready)} | ${fixed3(x.servicesStarted)} | ${x.cpuSeconds.toFixed(2)} | ${x.notes.join('; ')} |`,
  );
  return sectionText(START_MARKS, 'A resume on one CPU: the network first', [
    [commandAndMachine(r.command, r.machine, r.durationSec)],
    [
      "Each run a fresh lab whose guest processes all share CPU 0 (its budget's cpuset: the guest's one vCPU). As in the",
      'init bench, the wireless network and an associated wpa_supplicant are there before t0 (its service comes before',
      "`net`), and the host's DHCP client (busybox udhcpc, asking once a second) and an HTTP probe from the host are",
      "running; t0 is the spawn of wifibox-init. Then the other services start as OpenRC's runlevel starts them, each",
      "once the one before has returned: `uds_passthru` (now: switches the passthrough on in wifibox-init's runtime and",
      'waits for its state; before: wifibox-passthru as its own process), then `forwarding` (wifibox-forward on the',
      'sample\'s two lines, as its wrapper starts it: at niceness 19 until its lines are bound). "Traffic" is the host\'s',
      'first page through the NAT; the host asks for its lease once a second, so a part that delays the network by',
      'a few tens of ms can cost the host a whole second in one run and nothing in the next. "Ready" is every part ready (the',
      'network\'s steps and its wireless lease, port 1200 listening, every forwarding line listening); "CPU" is the',
      'user + system time the runtimes used from their exec until then (/proc/PID/stat). Medians; the layouts rotate',
      'from one run to the next.',
    ],
    ['| layout | Node runtimes | runs | traffic, s | every part ready, s | CPU until ready, s |', '|---|---|---|---|---|---|', ...rows],
    [
      '| target | measured | |',
      '|---|---|---|',
      `| the host's traffic with every part starting ≤ ${START_TARGET_RATIO}× wifibox-init alone | ${fixed3(two)} s vs ${fixed3(alone)} s (${ratio === null ? '—' : `${ratio.toFixed(2)}×`}) | ${emojiMark(ratio !== null && ratio <= START_TARGET_RATIO)} |`,
      `| runs in which the host's traffic came ≥ 0.5 s later than with wifibox-init alone in the same run (its DHCP client's next second): two runtimes, three runtimes | ${late} | for information |`,
      `| CPU until every part is ready: two runtimes against three | ${fixed3(med('two runtimes', (x) => x.cpuSeconds))} s vs ${fixed3(med('three runtimes', (x) => x.cpuSeconds))} s | for information |`,
    ],
    ['| run | layout | traffic, s | ready, s | services started, s | CPU, s | notes |', '|---:|---|---:|---:|---:|---:|---|', ...runRows],
  ]);
}
