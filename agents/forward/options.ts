// wifibox-forward's command line: the options, their defaults and what they mean.
import { LOG_OPTIONS, numberOption, parseOptions, type OptionSpec } from '../common/cli';
import { parseLogLevel } from '../common/log';
import { DEFAULTS, type ForwardOptions } from './agent';

export const COMMAND = 'wifibox-forward';
const SUMMARY =
  'Serves the lines of forwarding.conf (socat address pairs: UDP4-RECV, UDP-LISTEN and\n' +
  'TCP-LISTEN toward UDP4 and TCP4 targets) in one process, without socat.';

const seconds = (ms: number) => String(ms / 1000);
/** One option taking a value: what its value is, its default, and what it does. */
const valued = (arg: string, def: string, help: string): OptionSpec => ({ type: 'string', arg, default: def, help });
const SPEC = {
  config: valued('FILE', DEFAULTS.config, 'one socat address pair per line'),
  'dry-run': { type: 'boolean', help: 'print the plan (and any config problems) and exit' },
  'status-socket': valued('PATH', DEFAULTS.statusSocket, 'UNIX socket that answers with the status as JSON'),
  'run-dir': valued('DIR', DEFAULTS.runDir, "its own folder (mode 0700, handed to --user); '' for none"),
  user: valued('NAME', DEFAULTS.user, 'started as root, serve as this user once the lines are bound'),
  'max-peers': valued('N', String(DEFAULTS.limits.maxPeers), 'UDP peers (associations) per line with fork'),
  'max-connections': valued('N', String(DEFAULTS.limits.maxConnections), 'TCP connections per line with fork'),
  'udp-idle-timeout': valued('SECONDS', seconds(DEFAULTS.limits.udpIdleMs), "close a UDP association idle this long (a line's -T wins)"),
  'tcp-idle-timeout': valued('SECONDS', seconds(DEFAULTS.limits.tcpIdleMs), "close a TCP connection idle this long (a line's -T wins)"),
  'connect-timeout': valued('SECONDS', seconds(DEFAULTS.limits.connectTimeoutMs), 'give up connecting to a TCP target after this long'),
  ...LOG_OPTIONS,
} satisfies Record<string, OptionSpec>;

/** The options in `argv`, or null when it asked for --help or --version (answered on `out`). */
export function readOptions(argv: string[], out?: (s: string) => void) {
  const o = parseOptions(COMMAND, SUMMARY, SPEC, argv, out);
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
  return { dryRun: o['dry-run'], level: parseLogLevel(o.loglevel), syslog: o.syslog, agent };
}
