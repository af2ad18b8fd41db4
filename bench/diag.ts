// npm run bench -- diag [--quick] [--write]: wifibox-diag on a healthy lab guest (target: "runs
// in ≤ 1 s on the lab guest and adds no resident process"), against what a person runs by hand
// today for the same information. The guest is set up as its lab test sets it up (lab/diag-guest.ts). The
// bench's launcher runs inside the guest (started once through nsenter) and runs every program to
// its exit there (jobs.ts), so neither nsenter nor `ip netns exec` is in any figure. Prints the
// report and, for a full run (or with --write), writes its section of docs/BENCHMARKS.md.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIAG_LAB_ARGS, startHealthyGuest, writeDiagStandIns } from '../lab/diag-guest';
import { Lab } from '../lab/lab';
import { pidsIn } from '../lab/namespaces';
import { sleep, waitFor } from '../lab/proc';
import { WIRELESS_DNS } from '../lab/wireless';
import { benchLog, inLab, onInterrupt, privateDist } from './harness';
import { TIME } from './jobs';
import { mbOrDash, wallMs } from './format';
import { agentVersion, machineFacts, programVersion, type MachineFacts } from './machine';
import { startLauncher, useBenchScript, type LauncherClient } from './procs';
import type { Step } from './protocol';
import { publishSection, type SectionMarks } from './sections';
import { median, percentile } from './stats';

export const DIAG_MARKS: SectionMarks = { start: '<!-- diag-bench:start -->', end: '<!-- diag-bench:end -->' };

const TARGET_MS = 1000;
/** /usr/sbin/wifibox-diag's body (`exec node …/wifibox-diag.js "$@"`), node and the bundle given as $0 and $1. */
const WRAPPER = 'exec "$0" "$@"';

/** What a person types today for the same information, one after another. */
const MANUAL: { label: string; short: string; argv: string[] }[] = [
  { label: 'ps', short: 'ps', argv: ['busybox', 'ps'] },
  { label: 'ip addr', short: 'ip addr', argv: ['ip', 'addr'] },
  { label: 'ip route', short: 'ip route', argv: ['ip', 'route'] },
  { label: 'iptables -t nat -L -v -n', short: 'iptables', argv: ['iptables', '-t', 'nat', '-L', '-v', '-n'] },
  { label: 'wpa_cli -p /var/run/wpa_supplicant -i wlan0 status', short: 'wpa_cli', argv: ['wpa_cli', '-p', '/var/run/wpa_supplicant', '-i', 'wlan0', 'status'] },
  { label: 'cat /proc/meminfo', short: 'cat', argv: ['cat', '/proc/meminfo'] },
];

const log = benchLog('bench diag');

/** Every path under a guest folder (no symlink followed), as the guest names it. */
function guestTree(lab: Lab, dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (real: string, shown: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(real, { withFileTypes: true });
    } catch {
      return; // removed meanwhile
    }
    for (const e of entries) {
      const p = `${shown}/${e.name}`;
      out.add(p);
      if (e.isDirectory() && depth < 12) walk(join(real, e.name), p, depth + 1);
    }
  };
  walk(lab.guestPath(dir), dir, 0);
  return out;
}

function describePid(pid: number): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return `${pid} ${cmd.length > 120 ? `${cmd.slice(0, 117)}…` : cmd}`;
  } catch {
    return `${pid} (gone)`;
  }
}

type Kind = 'text' | 'json' | 'manual' | 'node';

interface Sample {
  kind: Kind;
  ms: number;
  codes: (number | null)[];
  stdoutBytes: number;
  /** --json: the report's own durationMs; text and --json: the verdict (ok, degraded, down). */
  durationMs: number | null;
  health: string | null;
  /** ip netns pids identical right before and right after. */
  samePids: boolean;
  /** Not there before, still there 0.5 s after the run. */
  pidsLeft: string[];
  filesLeft: string[];
  /** Seen right after the run but gone 0.5 s later, or gone during it: other processes' doing. */
  transient: string[];
  errors: string[];
}

interface RssSample {
  kind: Kind;
  /** KiB per step (one step, or the six of the manual sequence). */
  perStep: (number | null)[];
}

function diagArgv(distDir: string, json: boolean): string[] {
  // As /usr/sbin/wifibox-diag runs it: a /bin/sh wrapper that execs node on the bundle.
  return ['/bin/sh', '-c', WRAPPER, process.execPath, join(distDir, 'wifibox-diag.js'), ...(json ? ['--json'] : []), ...DIAG_LAB_ARGS];
}

function steps(kind: Kind, distDir: string, rss: boolean): Step[] {
  switch (kind) {
    case 'text':
      return [{ argv: diagArgv(distDir, false), rss, keepStdout: true }];
    case 'json':
      return [{ argv: diagArgv(distDir, true), rss, keepStdout: true }];
    case 'manual':
      return MANUAL.map((m) => ({ argv: m.argv, rss }));
    case 'node':
      return [{ argv: [process.execPath, '-e', '0'], rss }];
  }
}

async function measure(lab: Lab, launcher: LauncherClient, kind: Kind, distDir: string): Promise<Sample> {
  const ns = lab.ns.guest;
  const pidsBefore = new Set(await pidsIn(ns));
  const filesBefore = new Set([...guestTree(lab, '/run'), ...guestTree(lab, '/tmp')]);
  const r = await launcher.job(steps(kind, distDir, false));
  const pidsAfter = new Set(await pidsIn(ns));
  const filesAfter = new Set([...guestTree(lab, '/run'), ...guestTree(lab, '/tmp')]);
  const samePids = pidsBefore.size === pidsAfter.size && [...pidsBefore].every((p) => pidsAfter.has(p));
  let newPids = [...pidsAfter].filter((p) => !pidsBefore.has(p));
  let newFiles = [...filesAfter].filter((f) => !filesBefore.has(f));
  const transient: string[] = [...pidsBefore].filter((p) => !pidsAfter.has(p)).map((p) => `pid ${p} ended during the run`);
  if (newPids.length || newFiles.length) {
    const described = new Map(newPids.map((p) => [p, describePid(p)]));
    await sleep(500);
    const still = new Set(await pidsIn(ns));
    const filesStill = new Set([...guestTree(lab, '/run'), ...guestTree(lab, '/tmp')]);
    transient.push(...newPids.filter((p) => !still.has(p)).map((p) => `pid ${described.get(p)} (gone 0.5 s later)`));
    transient.push(...newFiles.filter((f) => !filesStill.has(f)).map((f) => `${f} (gone 0.5 s later)`));
    newPids = newPids.filter((p) => still.has(p));
    newFiles = newFiles.filter((f) => filesStill.has(f));
  }
  const errors = r.steps.filter((s) => s.error || s.signal).map((s) => s.error ?? `signal ${s.signal}`);
  let durationMs: number | null = null;
  let health: string | null = null;
  if (kind === 'text') health = /^(OK|DEGRADED|DOWN)\b/.exec(r.steps[0]!.stdout ?? '')?.[1]?.toLowerCase() ?? `unclear: ${(r.steps[0]!.stdout ?? '').split('\n')[0]}`;
  if (kind === 'json') {
    try {
      const rep = JSON.parse(r.steps[0]!.stdout ?? '') as { durationMs: number; health: string };
      durationMs = rep.durationMs;
      health = rep.health;
    } catch {
      errors.push(`no JSON: ${r.steps[0]!.stderrTail.slice(-300)}`);
    }
  }
  return {
    kind,
    ms: r.totalMs,
    codes: r.steps.map((s) => s.code),
    stdoutBytes: r.steps.reduce((a, s) => a + s.stdoutBytes, 0),
    durationMs,
    health,
    samePids,
    pidsLeft: newPids.map(describePid),
    filesLeft: newFiles,
    transient,
    errors,
  };
}

// ---------------------------------------------------------------------------------------------
// Figures and the report.


interface DiagMachine extends MachineFacts {
  diag: string;
  busybox: string;
  iproute: string;
  iptables: string;
  wpaCli: string;
}

interface DiagResults {
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

export function renderDiagSection(r: DiagResults): string {
  const m = r.machine;
  const by = (k: Kind) => r.samples.filter((s) => s.kind === k);
  const t = (k: Kind) => by(k).map((s) => s.ms);
  const manualMedian = median(t('manual'));
  const diagSamples = [...by('text'), ...by('json')];
  const pidsLeft = diagSamples.flatMap((s) => s.pidsLeft);
  const filesLeft = diagSamples.flatMap((s) => s.filesLeft);
  const samePids = diagSamples.filter((s) => s.samePids).length;
  const manualLeft = [...by('manual').flatMap((s) => s.pidsLeft), ...by('manual').flatMap((s) => s.filesLeft)];
  const transient = r.samples.flatMap((s) => s.transient.map((x) => `${s.kind}: ${x}`));
  const errors = r.samples.flatMap((s) => s.errors.map((x) => `${s.kind}: ${x}`));
  const health = [...new Set(diagSamples.map((s) => s.health))].join(', ');
  const manualRss = rssOf(r.rss, 'manual');

  const row = (what: string, k: Kind, target: boolean) => {
    const v = t(k);
    const med = median(v);
    const max = Math.max(...v);
    const rss = rssOf(r.rss, k).peak;
    const ratio = k === 'manual' ? '1' : `${(med / manualMedian).toFixed(1)}×`;
    const tgt = target ? `≤ 1 s, every run: ${max <= TARGET_MS ? '✓' : '✗'}` : k === 'manual' ? '' : 'for information';
    return `| ${what} | ${v.length} | ${wallMs(med)} | ${wallMs(percentile(v, 90))} | ${wallMs(max)} | ${ratio} | ${codesText(by(k))} | ${mbOrDash(rss)} | ${Math.round(median(by(k).map((s) => s.stdoutBytes)))} | ${tgt} |`;
  };
  const resident = pidsLeft.length ? `${new Set(pidsLeft).size} (${[...new Set(pidsLeft)].join('; ')})` : '0';
  const files = filesLeft.length ? `${new Set(filesLeft).size} (${[...new Set(filesLeft)].join(', ')})` : '0';
  const lines = [
    DIAG_MARKS.start,
    '## wifibox-diag on a healthy lab guest, against the same information by hand',
    '',
    `Command: \`${r.command}\` — run ${m.date}, took ${r.durationSec.toFixed(0)} s${r.quick ? ` (quick: ${r.runs} runs each)` : ''}.`,
    `Machine: ${m.nproc} CPUs (${m.cpu}), Linux ${m.kernel}, Node ${m.node}, ${m.busybox}, ${m.iproute}, ${m.iptables}, ${m.wpaCli}; ` +
      `${m.diag} (tree ${m.git}).`,
    '',
    'The guest is set up as `test/lab/diag.test.ts` sets it up (station flavor, guest unconfigured): the wireless',
    `network (udhcpd handing wlan0 its address with DNS ${WIRELESS_DNS}, a web server), \`wifibox-init --lease-write 1\`,`,
    'the host\'s DHCP client, wpa_supplicant (wired driver), `wifibox-passthru`; then the bench waits until init reports',
    'the wireless lease and its DNS, fetches a page through the NAT from the host, sends `wpa_cli ping` through the',
    'host\'s socat and the passthrough, and runs `wifibox-diag --json` (not counted) until it exits 0. Every',
    'program is then started by a launcher inside the guest (no nsenter in any figure), one at a time, in this',
    `order, ${r.runs} times: text, --json, by hand, bare node, then the reverse. Every run of wifibox-diag here said \`${health}\`.`,
    '',
    `| | runs | median, ms | p90, ms | max, ms | ours / by hand (medians) | exit codes | peak RSS, MB | output, bytes | target |`,
    '|---|---:|---:|---:|---:|---:|---|---:|---:|---|',
    row('`wifibox-diag` (text)', 'text', true),
    row('`wifibox-diag --json`', 'json', true),
    row('by hand: `ps`; `ip addr`; `ip route`; `iptables -t nat -L -v -n`; `wpa_cli -p /var/run/wpa_supplicant -i wlan0 status`; `cat /proc/meminfo`', 'manual', false),
    row('bare `node -e 0`', 'node', false),
    '',
    `**Resident processes added: ${resident}.** The guest's PID set (\`ip netns pids\`) was the same right before and`,
    `right after ${samePids} of ${diagSamples.length} wifibox-diag runs${samePids < diagSamples.length && !pidsLeft.length ? '; the others differed only by processes that were gone 0.5 s later or had ended during the run (listed below)' : ''}.`,
    `**Files left in the guest's /run or /tmp: ${files}.**` +
      ` (By hand, for comparison: ${manualLeft.length ? [...new Set(manualLeft)].join(', ') : 'none'}.)`,
    '',
    `wifibox-diag's own \`durationMs\` (its gathering, from its --json report): median ${wallMs(median(by('json').map((s) => s.durationMs ?? NaN)))} ms;` +
      ` the rest of its wall time is /bin/sh, Node's start-up and loading the bundle (bare \`node -e 0\`: ${wallMs(median(t('node')))} ms).` +
      ` By hand, the six commands' peak RSS, MB: ${MANUAL.map((c, i) => `${c.short} ${mbOrDash(manualRss.perStepMax[i] ?? null)}`).join(', ')}.`,
    '',
    '### How each figure is measured',
    '',
    '- **Wall time**: the launcher (a node process in the guest\'s network and mount namespaces, started once by',
    '  `nsenter`) takes `performance.now()` right before `spawn()` and again at the child\'s `exit` event; stdout and',
    '  stderr are pipes it drains (and throws away, but for --json, which is parsed). wifibox-diag runs as the',
    '  package\'s `/usr/sbin/wifibox-diag` does: `/bin/sh -c \'exec node …/wifibox-diag.js "$@"\'`, with the lab\'s',
    `  stand-ins for three guest paths (\`${DIAG_LAB_ARGS.join(' ')}\`, as the lab test passes them).`,
    '  "By hand" is the six commands started one after another, each once the previous has exited and its output',
    '  has ended, timed from the first spawn to the last exit (what typing them costs is not counted). `ps` is',
    '  `busybox ps`, as the guest (Alpine) has it; it lists every process of this machine, as the lab has no PID',
    '  namespace. Percentiles are nearest-rank; the ratio is the medians\' ratio.',
    `- **Target**: the target is ≤ ${TARGET_MS / 1000} s on the lab guest; ✓ only if the slowest run of that row is within it.`,
    '- **Exit codes**: each run\'s, from the same `exit` event (by hand: all six).',
    `- **Peak RSS**: \`${TIME} -f %M\` (the kernel's ru_maxrss of the reaped child, KiB; MB = 10⁶ bytes), in ${r.rssRuns}`,
    '  separate runs of each row after the timed ones, so the wrapper\'s fork and exec are in no time above; the',
    '  largest is shown. By hand: the largest of the six commands (they never run at the same time).',
    '- **Resident processes**: `ip netns pids <guest>` right before and right after each run; a PID that is new',
    '  after the run is looked at again 0.5 s later, and counted only if it is still there.',
    '- **Files**: every path under the guest\'s /run and /tmp (its own tmpfs mounts), listed right before and right',
    '  after each run; a new path is looked at again 0.5 s later, and counted only if it is still there.',
    ...(transient.length ? ['', `Seen during the runs, not counted (other processes\' doing): ${[...new Set(transient)].slice(0, 12).join('; ')}${transient.length > 12 ? '; …' : ''}.`] : []),
    ...(errors.length ? ['', `Errors: ${[...new Set(errors)].slice(0, 8).join('; ')}.`] : []),
    DIAG_MARKS.end,
  ];
  return lines.join('\n');
}

function machine(distDir: string): DiagMachine {
  return {
    ...machineFacts(),
    diag: agentVersion(distDir, 'wifibox-diag.js'),
    busybox: programVersion.busybox('BusyBox (version unknown)'),
    iproute: programVersion.iproute(),
    iptables: programVersion.iptables(),
    wpaCli: programVersion.wpaCli(),
  };
}

// ---------------------------------------------------------------------------------------------

export async function runDiagBench(argv: string[], command?: string): Promise<void> {
  const quick = argv.includes('--quick');
  const runs = quick ? 5 : 15;
  const rssRuns = quick ? 2 : 5;
  const t0 = Date.now();
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (Debian package time): the peak RSS needs it`);
  const dist = privateDist('diag', ['wifibox-diag.js', 'wifibox-init.js', 'wifibox-dhcpcd-hook', 'wifibox-passthru.js', 'wifibox_dgram.node'], true);
  const privateDir = dist.dir;
  let lab: Lab | null = null;
  let launcher: LauncherClient | null = null;
  const cleanup = async () => {
    launcher?.close();
    await lab?.down();
    dist.remove();
  };
  const interrupt = onInterrupt(log, () => void cleanup().finally(() => process.exit(130)));
  await inLab({ lab: () => lab, cleanup, interrupt }, async () => {
    const info = machine(privateDir);
    log('bringing the lab up');
    lab = await Lab.up({ flavor: 'wpa_supplicant', configureGuest: false, distDir: privateDir });
    writeDiagStandIns(lab);
    await startHealthyGuest(lab);
    log(`lab ${lab.tag}: healthy guest up after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    useBenchScript(join(privateDir, 'bench.js'));
    launcher = await startLauncher(lab);
    const l = launcher;
    const lb = lab;
    await waitFor('wifibox-diag to say OK', async () => {
      const r = await l.job(steps('json', privateDir, false));
      return r.steps[0]!.code === 0;
    }, 20_000, 250);
    // One more of each, untimed: the page cache holds every program from here on.
    for (const k of ['text', 'manual', 'node'] as Kind[]) await l.job(steps(k, privateDir, false));

    const order: Kind[] = ['text', 'json', 'manual', 'node'];
    const samples: Sample[] = [];
    for (let i = 0; i < runs && !interrupt.interrupted; i++) {
      for (const k of i % 2 ? [...order].reverse() : order) samples.push(await measure(lb, l, k, privateDir));
    }
    log(`${runs} timed runs each done after ${((Date.now() - t0) / 1000).toFixed(1)} s; peak RSS runs`);
    const rss: RssSample[] = [];
    for (let i = 0; i < rssRuns && !interrupt.interrupted; i++) {
      for (const k of order) {
        const r = await l.job(steps(k, privateDir, true));
        rss.push({ kind: k, perStep: r.steps.map((s) => s.rssKiB) });
      }
    }
    if (interrupt.interrupted) throw new Error('interrupted');
    const results: DiagResults = {
      command: command ?? (quick ? 'npm run bench -- diag --quick' : 'npm run bench -- diag'),
      quick,
      runs,
      rssRuns,
      machine: info,
      samples,
      rss,
      durationSec: (Date.now() - t0) / 1000,
    };
    publishSection(renderDiagSection(results), DIAG_MARKS, quick ? 'quick run' : null, argv, log);
  });
}
