// npm run bench [-- --quick [--write]] (--help: the usage): our passthru agent against the old socat glue, in the lab,
// then wifibox-init against the old OpenRC sequence, then wifibox-diag against the same information
// by hand, then wifibox-forward against socat, then the whole guest at rest (wake-ups, memory) in
// both runtime layouts, then a resume on one CPU in both; `npm run bench -- init [...]`,
// `-- diag [...]`, `-- forward [...]`, `-- guest [...]` or `-- start [...]` runs only that one;
// `-- dns-cache` (the relay's cache against dnsmasq's) runs only that one too;
// `-- resume [--runs N] [--json]` (the host's dhclient, OpenRC's order, a router's dnsmasq) runs only on its own.
// `soak [--minutes N]` and `reliability` (npm run soak, npm run reliability) write docs/RELIABILITY.md.
// The same bundle also runs as the bench's client (in the lab's host namespace), as its launcher
// (in the guest) and as the forwarding bench's load; the orchestrators start those modes themselves.
import { runClient } from './client';
import { runDiagBench } from './diag';
import { runDnsCacheBench } from './dns-cache';
import { runForwardBench } from './forward';
import { runForwardLoad } from './forward-load';
import { runGuestBench } from './guest';
import { runStartBench } from './start';
import { runInitBench } from './init';
import { runLauncher } from './launcher';
import { runReliability, runSoakBench } from './reliability';
import { runResumeBench } from './resume';
import { runBench } from './run';

const USAGE = `npm run bench [-- --quick [--write]]          every bench of docs/BENCHMARKS.md in turn
npm run bench -- NAME [options]                    one bench: init, diag, forward, guest, start, dns-cache, resume
npm run bench -- resume [--runs N] [--json]        the resume, with the host's dhclient and OpenRC's order
npm run soak [-- --minutes N], npm run reliability  docs/RELIABILITY.md
--quick: smaller sizes where a bench has them; docs/ left as it is unless --write.
`;

/** `npm run bench -- <name> [...]`: that bench alone, with the rest of the command line. */
const BENCHES = new Map<string, (argv: string[]) => Promise<void>>([
  ['diag', runDiagBench],
  ['forward', runForwardBench],
  ['soak', runSoakBench],
  ['reliability', runReliability],
  ['start', runStartBench],
  ['guest', runGuestBench],
  ['resume', runResumeBench],
  ['dns-cache', runDnsCacheBench],
  ['init', runInitBench],
]);

/** The bundle's other modes, which the orchestrators start with one argument of their own. */
const MODES = new Map<string, (arg: string | undefined) => Promise<void>>([
  ['--client', (json) => runClient(json ?? '')],
  ['--forward-load', (json) => runForwardLoad(json ?? '')],
]);

/** `npm run bench [-- --quick ...]`: every bench of docs/BENCHMARKS.md in turn, under the one command. */
async function runAll(argv: string[]): Promise<void> {
  const command = ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' ');
  await runBench(argv);
  await runInitBench(argv);
  for (const run of [runDiagBench, runForwardBench, runGuestBench, runStartBench, runDnsCacheBench]) await run(argv, command);
}

function main(argv: string[]): void {
  const fail = (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  };
  const [first = '', ...rest] = argv;
  const mode = MODES.get(first);
  const bench = BENCHES.get(first);
  if (first === '--help' || first === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  if (first !== '' && !first.startsWith('-') && !bench) {
    process.stderr.write(`bench: no bench '${first}'; expected one of ${[...BENCHES.keys()].join(', ')}, or none for all of them\n`);
    process.exit(64);
  }
  if (first === '--launcher') runLauncher(argv[1] ?? '/run/bench-launcher.sock');
  else (mode ? mode(argv[1]) : bench ? bench(rest) : runAll(argv)).then(() => process.exit(0), fail);
}

main(process.argv.slice(2));
