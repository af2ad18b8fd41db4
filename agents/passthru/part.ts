// The passthrough as a part of another runtime (wifibox-init's, agents/parts/): the same agent and
// options as the wifibox-passthru command, its own logger name, and its faults contained.
import { createLogger } from '../common/log';
import { PassthruAgent } from './agent';
import { COMMAND, readOptions } from './options';
import { containFaults, realSystem, type PassthruSystem } from './system';

interface RunningPassthru {
  reload(): void;
  stop(): Promise<void>;
}

/**
 * Starts the passthrough with `argv` (wifibox-passthru's options). A fault in its own callbacks
 * goes to `onFault` (the host stops it and starts it again); the process goes on. Throws on a bad
 * option, as the command would refuse it, and on --help, --version and --dry-run, which run nothing.
 */
export function startPassthru(argv: string[], onFault: (err: unknown) => void, base: PassthruSystem = realSystem): RunningPassthru {
  const parsed = readOptions(argv, () => undefined);
  if (!parsed) throw new Error('--help and --version are not options of a running passthrough');
  if (parsed.dryRun) throw new Error('--dry-run is not an option of a running passthrough; expected it on the command: wifibox-passthru --dry-run');
  const log = createLogger({ name: COMMAND, level: parsed.level, syslogPath: parsed.syslog });
  const agent = new PassthruAgent(parsed.agent, containFaults(base, onFault), log);
  agent.start();
  log.info({ config: parsed.agent.config }, 'started in wifibox-init');
  return {
    reload: () => agent.reload(),
    stop: () => agent.stop(),
  };
}
