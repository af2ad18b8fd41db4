// npm run bench [-- --quick [--write]]: our passthru agent against the old socat glue, in the lab,
// then wifibox-init against the old OpenRC sequence, then wifibox-diag against the same information
// by hand; `npm run bench -- init [...]` or `-- diag [...]` runs only that one.
// The same bundle also runs as the bench's client (in the lab's host namespace) and as its
// launcher (in the guest); the orchestrator starts those modes itself.
import { runClient } from './client';
import { runDiagBench } from './diag';
import { runInitBench } from './init';
import { runLauncher } from './launcher';
import { runBench } from './run';

function main(argv: string[]): void {
  const fail = (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  };
  if (argv[0] === '--client') {
    runClient(argv[1] ?? '').then(() => process.exit(0), fail);
  } else if (argv[0] === '--launcher') {
    runLauncher(argv[1] ?? '/run/bench-launcher.sock');
  } else if (argv[0] === 'diag') {
    runDiagBench(argv.slice(1)).then(() => process.exit(0), fail);
  } else if (argv[0] === 'init') {
    runInitBench(argv.slice(1)).then(() => process.exit(0), fail);
  } else {
    runBench(argv).then(() => runInitBench(argv)).then(() => runDiagBench(argv, ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '))).then(() => process.exit(0), fail);
  }
}

main(process.argv.slice(2));
