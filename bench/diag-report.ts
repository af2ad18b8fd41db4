// The diag bench's figures (bench/diag-runs.ts) as the markdown section of docs/BENCHMARKS.md.
import { DIAG_LAB_ARGS } from '../lab/diag-guest';
import { WIRELESS_DNS } from '../lab/wireless';
import { MANUAL, type Kind, type RssSample, type Sample } from './diag-runs';
import { mark, mbOrDash, wallMs } from './format';
import { TIME } from './jobs';
import { machineLine, type MachineFacts } from './machine';
import { sectionText, type SectionMarks } from './sections';
import { median, percentile } from './stats';

export const DIAG_MARKS: SectionMarks = { start: '<!-- diag-bench:start -->', end: '<!-- diag-bench:end -->' };

/** The target: "runs in ≤ 1 s on the lab guest", every run. */
const TARGET_MS = 1000;

export interface DiagMachine extends MachineFacts {
  diag: string;
  busybox: string;
  iproute: string;
  iptables: string;
  wpaCli: string;
}

export interface DiagResults {
  command: string;
  quick: boolean;
  runs: number;
  rssRuns: number;
  machine: DiagMachine;
  samples: Sample[];
  rss: RssSample[];
  durationSec: number;
}

function codesText(samples: Sample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const k = s.kind === 'manual' ? (s.codes.every((c) => c === 0) ? 'all six 0' : s.codes.map(String).join('/')) : String(s.codes[0]);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} × ${k}`).join(', ');
}

function rssOf(r: RssSample[], kind: Kind): { peak: number | null; perStepMax: (number | null)[] } {
  const mine = r.filter((x) => x.kind === kind);
  if (!mine.length) return { peak: null, perStepMax: [] };
  const steps = mine[0]!.perStep.length;
  const perStepMax = Array.from({ length: steps }, (_, i) => {
    const v = mine.map((x) => x.perStep[i]).filter((x): x is number => typeof x === 'number');
    return v.length ? Math.max(...v) : null;
  });
  const all = perStepMax.filter((x): x is number => x !== null);
  return { peak: all.length ? Math.max(...all) : null, perStepMax };
}

const samplesOf = (r: DiagResults, k: Kind): Sample[] => r.samples.filter((s) => s.kind === k);
const timesOf = (r: DiagResults, k: Kind): number[] => samplesOf(r, k).map((s) => s.ms);
/** Both of wifibox-diag's rows. */
const diagSamples = (r: DiagResults): Sample[] => [...samplesOf(r, 'text'), ...samplesOf(r, 'json')];

/** One row of the table: a kind's times, against the manual sequence's median. */
function timesRow(r: DiagResults, what: string, k: Kind, target: boolean): string {
  const v = timesOf(r, k);
  const med = median(v);
  const max = Math.max(...v);
  const rss = rssOf(r.rss, k).peak;
  const againstManual = k === 'manual' ? '1' : `${(med / median(timesOf(r, 'manual'))).toFixed(1)}×`;
  const tgt = target ? `≤ 1 s, every run: ${mark(max <= TARGET_MS)}` : k === 'manual' ? '' : 'for information';
  return `| ${what} | ${v.length} | ${wallMs(med)} | ${wallMs(percentile(v, 90))} | ${wallMs(max)} | ${againstManual} | ${codesText(samplesOf(r, k))} | ${mbOrDash(rss)} | ${Math.round(median(samplesOf(r, k).map((s) => s.stdoutBytes)))} | ${tgt} |`;
}

function timesTable(r: DiagResults): string[] {
  return [
    `| | runs | median, ms | p90, ms | max, ms | ours / by hand (medians) | exit codes | peak RSS, MB | output, bytes | target |`,
    '|---|---:|---:|---:|---:|---:|---|---:|---:|---|',
    timesRow(r, '`wifibox-diag` (text)', 'text', true),
    timesRow(r, '`wifibox-diag --json`', 'json', true),
    timesRow(
      r,
      'by hand: `ps`; `ip addr`; `ip route`; `iptables -t nat -L -v -n`; `wpa_cli -p /var/run/wpa_supplicant -i wlan0 status`; `cat /proc/meminfo`',
      'manual',
      false,
    ),
    timesRow(r, 'bare `node -e 0`', 'node', false),
  ];
}

/** What the runs left in the guest (processes, files), and where wifibox-diag's time and memory go. */
function leftAndSpent(r: DiagResults): string[] {
  const diag = diagSamples(r);
  const pidsLeft = diag.flatMap((s) => s.pidsLeft);
  const filesLeft = diag.flatMap((s) => s.filesLeft);
  const samePids = diag.filter((s) => s.samePids).length;
  const manual = samplesOf(r, 'manual');
  const manualLeft = [...manual.flatMap((s) => s.pidsLeft), ...manual.flatMap((s) => s.filesLeft)];
  const manualRss = rssOf(r.rss, 'manual');
  const resident = pidsLeft.length ? `${new Set(pidsLeft).size} (${[...new Set(pidsLeft)].join('; ')})` : '0';
  const files = filesLeft.length ? `${new Set(filesLeft).size} (${[...new Set(filesLeft)].join(', ')})` : '0';
  return [
    `**Resident processes added: ${resident}.** The guest's PID set (\`ip netns pids\`) was the same right before and`,
    `right after ${samePids} of ${diag.length} wifibox-diag runs${samePids < diag.length && !pidsLeft.length ? '; the others differed only by processes that were gone 0.5 s later or had ended during the run (listed below)' : ''}.`,
    `**Files left in the guest's /run or /tmp: ${files}.**` +
      ` (By hand, for comparison: ${manualLeft.length ? [...new Set(manualLeft)].join(', ') : 'none'}.)`,
    '',
    `wifibox-diag's own \`durationMs\` (its gathering, from its --json report): median ${wallMs(median(samplesOf(r, 'json').map((s) => s.durationMs ?? NaN)))} ms;` +
      ` the rest of its wall time is /bin/sh, Node's start-up and loading the bundle (bare \`node -e 0\`: ${wallMs(median(timesOf(r, 'node')))} ms).` +
      ` By hand, the six commands' peak RSS, MB: ${MANUAL.map((c, i) => `${c.short} ${mbOrDash(manualRss.perStepMax[i] ?? null)}`).join(', ')}.`,
  ];
}

function howMeasured(r: DiagResults): string[] {
  return [
    "- **Wall time**: the launcher (a node process in the guest's network and mount namespaces, started once by",
    "  `nsenter`) takes `performance.now()` right before `spawn()` and again at the child's `exit` event; stdout and",
    '  stderr are pipes it drains (and throws away, but for --json, which is parsed). wifibox-diag runs as the',
    "  package's `/usr/sbin/wifibox-diag` does: `/bin/sh -c 'exec node …/wifibox-diag.js \"$@\"'`, with the lab's",
    `  stand-ins for three guest paths (\`${DIAG_LAB_ARGS.join(' ')}\`, as the lab test passes them).`,
    '  "By hand" is the six commands started one after another, each once the previous has exited and its output',
    '  has ended, timed from the first spawn to the last exit (what typing them costs is not counted). `ps` is',
    '  `busybox ps`, as the guest (Alpine) has it; it lists every process of this machine, as the lab has no PID',
    "  namespace. Percentiles are nearest-rank; the ratio is the medians' ratio.",
    `- **Target**: the target is ≤ ${TARGET_MS / 1000} s on the lab guest; ✓ only if the slowest run of that row is within it.`,
    "- **Exit codes**: each run's, from the same `exit` event (by hand: all six).",
    `- **Peak RSS**: \`${TIME} -f %M\` (the kernel's ru_maxrss of the reaped child, KiB; MB = 10⁶ bytes), in ${r.rssRuns}`,
    "  separate runs of each row after the timed ones, so the wrapper's fork and exec are in no time above; the",
    '  largest is shown. By hand: the largest of the six commands (they never run at the same time).',
    '- **Resident processes**: `ip netns pids <guest>` right before and right after each run; a PID that is new',
    '  after the run is looked at again 0.5 s later, and counted only if it is still there.',
    "- **Files**: every path under the guest's /run and /tmp (its own tmpfs mounts), listed right before and right",
    '  after each run; a new path is looked at again 0.5 s later, and counted only if it is still there.',
  ];
}

/** What was seen during the runs that no figure counts, and the errors. */
function seenDuring(r: DiagResults): string[] {
  const transient = r.samples.flatMap((s) => s.transient.map((x) => `${s.kind}: ${x}`));
  const errors = r.samples.flatMap((s) => s.errors.map((x) => `${s.kind}: ${x}`));
  return [
    ...(transient.length
      ? [
          '',
          `Seen during the runs, not counted (other processes\' doing): ${[...new Set(transient)].slice(0, 12).join('; ')}${transient.length > 12 ? '; …' : ''}.`,
        ]
      : []),
    ...(errors.length ? ['', `Errors: ${[...new Set(errors)].slice(0, 8).join('; ')}.`] : []),
  ];
}

export function renderDiagSection(r: DiagResults): string {
  const m = r.machine;
  const health = [...new Set(diagSamples(r).map((s) => s.health))].join(', ');
  return sectionText(DIAG_MARKS, 'wifibox-diag on a healthy lab guest, against the same information by hand', [
    [
      `Command: \`${r.command}\` — run ${m.date}, took ${r.durationSec.toFixed(0)} s${r.quick ? ` (quick: ${r.runs} runs each)` : ''}.`,
      machineLine(m, [m.busybox, m.iproute, m.iptables, m.wpaCli], m.diag),
    ],
    [
      'The guest is set up as `test/lab/diag.test.ts` sets it up (station flavor, guest unconfigured): the wireless',
      `network (udhcpd handing wlan0 its address with DNS ${WIRELESS_DNS}, a web server), \`wifibox-init --lease-write 1\`,`,
      "the host's DHCP client, wpa_supplicant (wired driver), `wifibox-passthru`; then the bench waits until init reports",
      'the wireless lease and its DNS, fetches a page through the NAT from the host, sends `wpa_cli ping` through the',
      "host's socat and the passthrough, and runs `wifibox-diag --json` (not counted) until it exits 0. Every",
      'program is then started by a launcher inside the guest (no nsenter in any figure), one at a time, in this',
      `order, ${r.runs} times: text, --json, by hand, bare node, then the reverse. Every run of wifibox-diag here said \`${health}\`.`,
    ],
    timesTable(r),
    leftAndSpent(r),
    ['### How each figure is measured'],
    [...howMeasured(r), ...seenDuring(r)],
  ]);
}
