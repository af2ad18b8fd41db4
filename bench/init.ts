// npm run bench -- init [--quick | --runs N] [--only-ours | --only-old] [--write]: wifibox-init
// against the old OpenRC sequence (sysctl, ifupdown-ng, dhcpcd and its hook, iptables-restore,
// udhcpd), station flavor, each run in a fresh lab, alternating; prints the report and, for a full
// run (or with --write), writes its section of docs/BENCHMARKS.md. WIFIBOX_BENCH_DEBUG=1 prints
// every run's process logs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, release } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../lab/paths';
import { renderInitSection, writeInitSection, type InitMachine, type InitResults } from './init-report';
import { abortRuns, runOnce, type RunFigures, type Sequence } from './init-runs';

function log(msg: string): void {
  process.stderr.write(`bench init: [${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
}

function firstLine(argv: string[], pattern?: RegExp): string {
  try {
    const out = execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    return (pattern ? pattern.exec(out)?.[0] : out.split('\n')[0]?.trim()) ?? 'unknown';
  } catch (err) {
    // some print their version and exit non-zero
    const out = String((err as { stdout?: Buffer }).stdout ?? '');
    const hit = pattern ? pattern.exec(out)?.[0] : out.split('\n')[0]?.trim();
    return hit || `unknown (${(err as Error).message.split('\n')[0]})`;
  }
}

function machine(distDir: string): InitMachine {
  const dirty = firstLine(['git', '-C', repoRoot(), 'status', '--porcelain']) ? '+uncommitted changes' : '';
  const deb = (pkg: string) => firstLine(['dpkg-query', '-W', '-f', '${Version}', pkg]);
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    kernel: release(),
    node: process.version,
    dhcpcd: firstLine(['dhcpcd', '--version']),
    busybox: firstLine(['busybox'], /BusyBox v\S+/),
    ifupdownNg: `${firstLine(['ifup', '--version'])} (Debian package ${deb('ifupdown-ng')})`,
    iptables: firstLine(['iptables', '-V']),
    procps: firstLine(['sysctl', '--version']),
    agent: firstLine([process.execPath, join(distDir, 'wifibox-init.js'), '--version']),
    git: `${firstLine(['git', '-C', repoRoot(), 'rev-parse', '--short=10', 'HEAD'])}${dirty}`,
  };
}

export async function runInitBench(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const runsArg = argv.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(argv[runsArg + 1]) : quick ? 1 : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a whole number from 1, got '${argv[runsArg + 1]}'`);
  const only = argv.includes('--only-ours') ? ['ours'] : argv.includes('--only-old') ? ['old'] : ['ours', 'old'];
  const t0 = Date.now();
  // A private copy of the bundles: anyone's build rewrites dist/ in place meanwhile, and dhcpcd
  // runs the hook from its file at every event.
  const dist = join(repoRoot(), 'dist');
  const privateDist = join(dist, `bench-init-${process.pid}`);
  mkdirSync(privateDist, { recursive: true });
  for (const f of ['wifibox-init.js', 'wifibox-dhcpcd-hook.js', 'wifibox_dgram.node']) copyFileSync(join(dist, f), join(privateDist, f));
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: cleaning up`);
    abortRuns(); // the run in progress stops waiting and brings its lab down
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const info = machine(privateDist);
    const figures: RunFigures[] = [];
    // Alternating, so both see the same drift of a shared machine.
    for (let i = 0; i < runs && !interrupted; i++) {
      for (const seq of (i % 2 ? [...only].reverse() : only) as Sequence[]) {
        if (interrupted) break;
        log(`${seq} #${i + 1} of ${runs}`);
        figures.push(await runOnce(seq, i, privateDist, log));
      }
    }
    if (interrupted) throw new Error('interrupted');
    const results: InitResults = {
      quick,
      command: quick ? 'npm run bench -- init --quick' : 'npm run bench -- init',
      machine: info,
      runs: figures,
      durationSec: (Date.now() - t0) / 1000,
    };
    const section = renderInitSection(results);
    process.stdout.write(`${section}\n`);
    if ((quick || only.length < 2 || runsArg >= 0) && !argv.includes('--write')) {
      log('not a full run: docs/BENCHMARKS.md left as it is (add --write to replace its section anyway)');
    } else {
      const file = join(repoRoot(), 'docs', 'BENCHMARKS.md');
      writeInitSection(file, section);
      log(`wrote ${file}`);
    }
  } finally {
    rmSync(privateDist, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
