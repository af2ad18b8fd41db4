// wifibox-passthru: the entry point only wires options, logging, signals and the agent. The same
// passthrough runs inside wifibox-init as one of its parts (part.ts); this command runs it alone.
import { optionsOrExit, residentUntilSignal, VERSION } from '../common/cli';
import { createLogger } from '../common/log';
import { PassthruAgent } from './agent';
import { dryRun } from './dry-run';
import { COMMAND, readOptions } from './options';
import { realSystem } from './system';

function main(argv: string[]): void {
  const parsed = optionsOrExit(COMMAND, () => readOptions(argv));
  if (!parsed) return;
  const opts = parsed.agent;
  if (parsed.dryRun) {
    process.exit(
      dryRun(
        opts,
        realSystem,
        (s) => process.stdout.write(s),
        (s) => process.stderr.write(s),
      ),
    );
  }
  const log = createLogger({ name: COMMAND, level: parsed.level, syslogPath: parsed.syslog });
  const agent = new PassthruAgent(opts, realSystem, log);
  // The 1 s promise to OpenRC holds even if something hangs: a hard exit after 900 ms.
  residentUntilSignal(log, () => agent.stop(), { failCode: 0, deadlineMs: 900 });
  process.on('SIGHUP', () => agent.reload());
  try {
    agent.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot start');
    process.exit(1);
  }
  log.info({ version: VERSION, config: opts.config }, 'started');
}

main(process.argv.slice(2));
