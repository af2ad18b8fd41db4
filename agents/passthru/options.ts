// wifibox-passthru's command line: the options, their defaults and what they mean, for the
// standalone command (main.ts) and for the passthrough as a part of wifibox-init (part.ts).
import { LOG_OPTIONS, numberOption, parseOptions, type OptionSpec } from '../common/cli';
import { parseLogLevel } from '../common/log';
import { DEFAULTS } from './agent';

export const COMMAND = 'wifibox-passthru';
const SUMMARY =
  "Bridges TCP ports on the guest's eth0 address to wpa_supplicant/hostapd control sockets,\n" +
  'one private datagram socket per connection, as configured in uds_passthru.conf.';

const SPEC = {
  config: { type: 'string', default: DEFAULTS.config, arg: 'FILE', help: 'socket list and network' },
  'dry-run': { type: 'boolean', help: 'print the plan (and any config problems) and exit' },
  'runtime-dir': { type: 'string', default: DEFAULTS.runtimeDir, arg: 'DIR', help: 'private folder for client sockets (mode 0700)' },
  'status-socket': { type: 'string', default: DEFAULTS.statusSocket, arg: 'PATH', help: 'UNIX socket that answers with the status as JSON' },
  'lan-interface': { type: 'string', default: DEFAULTS.lanInterface, arg: 'IF', help: 'interface whose address is used when network= is empty' },
  'wireless-interface': { type: 'string', default: DEFAULTS.wirelessInterface, arg: 'IF', help: 'never listened on' },
  'max-connections': { type: 'string', default: String(DEFAULTS.maxConnections), arg: 'N', help: 'open connections per port' },
  'max-request': { type: 'string', default: '0', arg: 'BYTES', help: "largest request, at most 8192; 0 = the daemon's (hostapd 4096, wpa_supplicant 8192)" },
  'idle-timeout': {
    type: 'string',
    default: String(DEFAULTS.limits.idleMs / 1000),
    arg: 'SECONDS',
    help: 'close a connection that never attached after this long idle',
  },
  linger: { type: 'string', default: String(DEFAULTS.limits.lingerMs), arg: 'MS', help: 'wait after the reply before closing a connection' },
  'message-gap': { type: 'string', default: String(DEFAULTS.limits.messageGapMs), arg: 'MS', help: 'least time between two messages on one connection' },
  'max-buffer': { type: 'string', default: String(DEFAULTS.limits.maxBuffered), arg: 'BYTES', help: 'bytes buffered toward a slow host before dropping' },
  ...LOG_OPTIONS,
} satisfies Record<string, OptionSpec>;

/** The options in `argv`, or null when it asked for --help or --version (answered on `out`). */
export function readOptions(argv: string[], out?: (s: string) => void) {
  const o = parseOptions(COMMAND, SUMMARY, SPEC, argv, out);
  if (!o) return null;
  return {
    dryRun: o['dry-run'],
    level: parseLogLevel(o.loglevel),
    syslog: o.syslog,
    agent: {
      config: o.config,
      runtimeDir: o['runtime-dir'],
      statusSocket: o['status-socket'],
      lanInterface: o['lan-interface'],
      wirelessInterface: o['wireless-interface'],
      maxConnections: numberOption('max-connections', o['max-connections'], 1, 4096, true),
      maxRequest: numberOption('max-request', o['max-request'], 0, 8192, true),
      limits: {
        idleMs: numberOption('idle-timeout', o['idle-timeout'], 0.1, 86400) * 1000,
        lingerMs: numberOption('linger', o.linger, 0, 10_000),
        maxBuffered: numberOption('max-buffer', o['max-buffer'], 1024, 64 * 1024 * 1024, true),
        detachWaitMs: DEFAULTS.limits.detachWaitMs,
        messageGapMs: numberOption('message-gap', o['message-gap'], 0, 1000),
      },
    },
  };
}
