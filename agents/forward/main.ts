// wifibox-forward: the entry point only wires options, logging, signals and the agent.
import { LOG_OPTIONS, numberOption, optionsOrExit, parseOptions, stopOnSignals, VERSION, type OptionSpec } from '../common/cli';
import { createLogger, parseLogLevel } from '../common/log';
import { realSettleSystem, settleAfterBursts } from '../common/settle';
import { DEFAULTS, ForwardAgent, type ForwardOptions } from './agent';
import { realSystem } from './system';

const COMMAND = 'wifibox-forward';
const SUMMARY =
  'Serves the lines of forwarding.conf (socat address pairs: UDP4-RECV, UDP-LISTEN and\n' +
  'TCP-LISTEN toward UDP4 and TCP4 targets) in one process, without socat.';

const seconds = (ms: number) => String(ms / 1000);
/** One option taking a value: what its value is, its default, and what it does. */
const valued = (arg: string, def: string, help: string): OptionSpec => ({ type: 'string', arg, default: def, help });
const SPEC = {
  config: valued('FILE', DEFAULTS.config, 'one socat address pair per line'),
  'status-socket': valued('PATH', DEFAULTS.statusSocket, 'UNIX socket that answers with the status as JSON'),
  'run-dir': valued('DIR', DEFAULTS.runDir, 'its own folder (mode 0700, handed to --user); \'\' for none'),
  user: valued('NAME', DEFAULTS.user, 'started as root, serve as this user once the lines are bound'),
  'max-peers': valued('N', String(DEFAULTS.limits.maxPeers), 'UDP peers (associations) per line with fork'),
  'max-connections': valued('N', String(DEFAULTS.limits.maxConnections), 'TCP connections per line with fork'),
  'udp-idle-timeout': valued('SECONDS', seconds(DEFAULTS.limits.udpIdleMs), 'close a UDP association idle this long (a line\'s -T wins)'),
  'tcp-idle-timeout': valued('SECONDS', seconds(DEFAULTS.limits.tcpIdleMs), 'close a TCP connection idle this long (a line\'s -T wins)'),
  'connect-timeout': valued('SECONDS', seconds(DEFAULTS.limits.connectTimeoutMs), 'give up connecting to a TCP target after this long'),
  ...LOG_OPTIONS,
} satisfies Record<string, OptionSpec>;

function readOptions(argv: string[]) {
  const o = parseOptions(COMMAND, SUMMARY, SPEC, argv);
  if (!o) return null;
  const ms = (name: keyof typeof o & string) => numberOption(name, o[name] as string, 0.01, 86400) * 1000;
  const agent: ForwardOptions = {
    config: o.config,
    statusSocket: o['status-socket'],
    runDir: o['run-dir'] || null,
    user: o.user,
    limits: {
      maxPeers: numberOption('max-peers', o['max-peers'], 1, 4096, true),
      maxConnections: numberOption('max-connections', o['max-connections'], 1, 4096, true),
      udpIdleMs: ms('udp-idle-timeout'),
      tcpIdleMs: ms('tcp-idle-timeout'),
      connectTimeoutMs: ms('connect-timeout'),
    },
  };
  return { level: parseLogLevel(o.loglevel), syslog: o.syslog, agent };
}

function main(argv: string[]): void {
  const parsed = optionsOrExit(COMMAND, () => readOptions(argv));
  if (!parsed) return;
  const log = createLogger({ name: COMMAND, level: parsed.level, syslogPath: parsed.syslog });
  const agent = new ForwardAgent(parsed.agent, realSystem, log);
  const settler = settleAfterBursts(realSettleSystem, (bytes) => log.debug({ bytes }, 'quiet after a burst: heap pages given back'));
  stopOnSignals(log, () => {
    settler.stop();
    return agent.stop();
  }, { failCode: 0, deadlineMs: 900 });
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
