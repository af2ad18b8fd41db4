// npm run bench -- diag [--quick] [--write]: wifibox-diag on a healthy lab guest (target: "runs
// in ≤ 1 s on the lab guest and adds no resident process"), against what a person runs by hand
// today for the same information. The guest is set up as its lab test sets it up (lab/diag-guest.ts). The
// bench's launcher runs inside the guest (started once through nsenter) and runs every program to
// its exit there (jobs.ts), so neither nsenter nor `ip netns exec` is in any figure (diag-runs.ts).
// Prints the report (diag-report.ts) and, for a full run (or with --write), writes its section of
// docs/BENCHMARKS.md.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startHealthyGuest, writeDiagStandIns } from '../lab/diag-guest';
import { Lab } from '../lab/lab';
import { DIAG_MARKS, renderDiagSection, type DiagMachine, type DiagResults } from './diag-report';
import { rssRuns, timedRuns, warmUp } from './diag-runs';
import { benchLog, inOwnLab, privateDist } from './harness';
import { TIME } from './jobs';
import { agentVersion, machineFacts, programVersion } from './machine';
import { startLauncher, useBenchScript } from './procs';
import { publishSection } from './sections';

const log = benchLog('bench diag');

interface DiagOptions {
  quick: boolean;
  /** Timed runs of each kind, then runs of each for the peak RSS. */
  runs: number;
  rssRuns: number;
  /** As the report names it: the whole bench's command when it runs as a part of that. */
  command: string;
}

function diagOptions(argv: readonly string[], command?: string): DiagOptions {
  const quick = argv.includes('--quick');
  return {
    quick,
    runs: quick ? 5 : 15,
    rssRuns: quick ? 2 : 5,
    command: command ?? (quick ? 'npm run bench -- diag --quick' : 'npm run bench -- diag'),
  };
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

export async function runDiagBench(argv: string[], command?: string): Promise<void> {
  const o = diagOptions(argv, command);
  const t0 = Date.now();
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (Debian package time): the peak RSS needs it`);
  const dist = privateDist('diag', ['wifibox-diag.js', 'wifibox-init.js', 'wifibox-dhcpcd-hook', 'wifibox-passthru.js', 'wifibox_dgram.node'], true);
  const privateDir = dist.dir;
  await inOwnLab(log, dist, async (held, interrupt) => {
    const stop = () => interrupt.interrupted;
    const info = machine(privateDir);
    log('bringing the lab up');
    const lab = (held.lab = await Lab.up({ flavor: 'wpa_supplicant', configureGuest: false, distDir: privateDir }));
    writeDiagStandIns(lab);
    await startHealthyGuest(lab);
    log(`lab ${lab.tag}: healthy guest up after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    useBenchScript(join(privateDir, 'bench.js'));
    const launcher = await startLauncher(lab);
    held.stops.push(() => launcher.close());
    await warmUp(launcher, privateDir);
    const samples = await timedRuns(lab, launcher, privateDir, o.runs, stop);
    log(`${o.runs} timed runs each done after ${((Date.now() - t0) / 1000).toFixed(1)} s; peak RSS runs`);
    const rss = await rssRuns(launcher, privateDir, o.rssRuns, stop);
    if (interrupt.interrupted) throw new Error('interrupted');
    const results: DiagResults = {
      command: o.command,
      quick: o.quick,
      runs: o.runs,
      rssRuns: o.rssRuns,
      machine: info,
      samples,
      rss,
      durationSec: (Date.now() - t0) / 1000,
    };
    publishSection(renderDiagSection(results), DIAG_MARKS, null, argv, log);
  });
}
