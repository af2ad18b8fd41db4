// npm run bench -- init [--quick | --runs N] [--only-ours | --only-old] [--write]: wifibox-init
// against the old OpenRC sequence (sysctl, ifupdown-ng, dhcpcd and its hook, iptables-restore,
// udhcpd), station flavor, each run in a fresh lab, alternating: the host's way to the wireless
// network from the start, then a new wireless DNS server, wlan0 removed and back, and the DNS
// relay's latency. Prints the report and, for a full run (or with --write), writes its section of
// docs/BENCHMARKS.md. WIFIBOX_BENCH_DEBUG=1 prints every run's process logs and figures.
import { runsOption } from './args';
import { benchLog, onInterrupt, privateDist } from './harness';
import { INIT_MARKS, renderInitSection, type InitMachine, type InitResults } from './init-report';
import type { RunFigures, Sequence } from './init-figures';
import { abortRuns, runOnce } from './init-runs';
import { agentVersion, machineFacts, programVersion } from './machine';
import { publishSection } from './sections';

const log = benchLog('bench init');

function machine(distDir: string): InitMachine {
  return {
    ...machineFacts(),
    dhcpcd: programVersion.dhcpcd(),
    busybox: programVersion.busybox(),
    dnsmasq: programVersion.dnsmasq(),
    ifupdownNg: programVersion.ifupdownNg(),
    iptables: programVersion.iptables(),
    procps: programVersion.procps(),
    agent: agentVersion(distDir, 'wifibox-init.js'),
  };
}

export async function runInitBench(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const { value: runs, given: runsGiven } = runsOption(argv, quick ? 1 : 5);
  const only = argv.includes('--only-ours') ? ['ours'] : argv.includes('--only-old') ? ['old'] : ['ours', 'old'];
  const t0 = Date.now();
  const dist = privateDist('init', ['wifibox-init.js', 'wifibox-dhcpcd-hook', 'wifibox_dgram.node']);
  // The run in progress stops waiting and brings its lab down.
  const interrupt = onInterrupt(log, abortRuns);
  try {
    const info = machine(dist.dir);
    const figures: RunFigures[] = [];
    // Alternating, so both see the same drift of a shared machine.
    for (let i = 0; i < runs && !interrupt.interrupted; i++) {
      for (const seq of (i % 2 ? [...only].reverse() : only) as Sequence[]) {
        if (interrupt.interrupted) break;
        log(`${seq} #${i + 1} of ${runs}`);
        figures.push(await runOnce(seq, i, dist.dir, log));
      }
    }
    if (interrupt.interrupted) throw new Error('interrupted');
    const results: InitResults = {
      quick,
      command: `npm run bench -- init${quick ? ' --quick' : ''}${runsGiven ? ` --runs ${runs}` : ''}${only.length < 2 ? ` --only-${only[0]}` : ''}`,
      machine: info,
      runs: figures,
      durationSec: (Date.now() - t0) / 1000,
    };
    const partial = quick || only.length < 2 || runsGiven;
    publishSection(renderInitSection(results), INIT_MARKS, partial ? 'not a full run' : null, argv, log);
  } finally {
    dist.remove();
    interrupt.off();
  }
}
