// wifibox-forward: the entry point only wires options, logging, signals and the agent.
import { optionsOrExit, residentUntilSignal, VERSION } from '../common/cli';
import { createLogger } from '../common/log';
import { ForwardAgent } from './agent';
import { dryRun } from './dry-run';
import { COMMAND, readOptions } from './options';
import { realSystem } from './system';

function main(argv: string[]): void {
  const parsed = optionsOrExit(COMMAND, () => readOptions(argv));
  if (!parsed) return;
  if (parsed.dryRun) {
    process.exit(
      dryRun(
        parsed.agent,
        realSystem,
        (s) => process.stdout.write(s),
        (s) => process.stderr.write(s),
      ),
    );
  }
  const log = createLogger({ name: COMMAND, level: parsed.level, syslogPath: parsed.syslog });
  const agent = new ForwardAgent(parsed.agent, realSystem, log);
  residentUntilSignal(log, () => agent.stop(), { failCode: 0, deadlineMs: 900 });
  process.on('SIGHUP', () => {
    log.info({ config: parsed.agent.config }, 'reloading configuration');
    agent.reload();
  });
  agent.start().then(
    () => log.info({ version: VERSION, config: parsed.agent.config }, 'started'),
    (err: Error) => {
      log.fatal({ err: err.message }, 'cannot start');
      console.error(`${COMMAND}: ${err.message}`);
      process.exit(1);
    },
  );
}

main(process.argv.slice(2));
