// npm run bench [-- --quick [--write]]: our passthru agent against the old socat glue, in the lab,
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

function main(argv: string[]): void {
  const fail = (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  };
  if (argv[0] === '--client') {
    runClient(argv[1] ?? '').then(() => process.exit(0), fail);
  } else if (argv[0] === '--forward-load') {
    runForwardLoad(argv[1] ?? '').then(() => process.exit(0), fail);
  } else if (argv[0] === '--launcher') {
    runLauncher(argv[1] ?? '/run/bench-launcher.sock');
  } else if (argv[0] === 'diag') {
    runDiagBench(argv.slice(1)).then(() => process.exit(0), fail);
  } else if (argv[0] === 'forward') {
    runForwardBench(argv.slice(1)).then(() => process.exit(0), fail);
  } else if (argv[0] === 'soak') {
    runSoakBench(argv.slice(1)).then(() => process.exit(0), fail);
  } else if (argv[0] === 'reliability') {
    runReliability(argv.slice(1)).then(() => process.exit(0), fail);
  } else if (argv[0] === 'start') {
    runStartBench(argv.slice(1)).then(() => process.exit(0), fail);
  } else if (argv[0] === 'guest') {
    runGuestBench(argv.slice(1)).then(() => process.exit(0), fail);
  } else if (argv[0] === 'resume') {
    runResumeBench(argv.slice(1)).then(() => process.exit(0), fail);
  } else if (argv[0] === 'dns-cache') {
    runDnsCacheBench(argv.slice(1)).then(() => process.exit(0), fail);
  } else if (argv[0] === 'init') {
    runInitBench(argv.slice(1)).then(() => process.exit(0), fail);
  } else {
    const command = ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' ');
    runBench(argv).then(() => runInitBench(argv)).then(() => runDiagBench(argv, command)).then(() => runForwardBench(argv, command)).then(() => runGuestBench(argv, command)).then(() => runStartBench(argv, command)).then(() => runDnsCacheBench(argv, command)).then(() => process.exit(0), fail);
  }
}

main(process.argv.slice(2));
