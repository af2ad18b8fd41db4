// wifibox-init's network part: its options, logging and the orchestrator. The runtime that hosts
// it (agents/parts/wifibox-init.ts) wires signals and its other part, the passthrough.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LOG_OPTIONS, numberOption, optionsOrExit, parseOptions, VERSION, type OptionSpec } from '../common/cli';
import { createLogger, parseLogLevel } from '../common/log';
import { GUEST_INTERFACES, GUEST_PATHS } from '../common/paths';
import { formatProblem, printDryRun } from '../common/problems';
import { loadGuestConfig } from './config';
import type { InitOptions } from './options';
import { Orchestrator } from './orchestrator';
import { formatPlan, makePlan } from './plan';
import { realSystem } from './system';

export const COMMAND = 'wifibox-init';
const SUMMARY =
  "Brings up the guest's network from the files in /media/etc: hostname, sysctl, iptables,\n" +
  'lo, eth0, wlan0, udhcpd, dhcpcd and radvd; follows the wireless DNS; tears down on SIGTERM.';

const tool = (name: string) => ({ type: 'string', default: name, arg: 'PATH', help: `the ${name} program` }) as const;

const SPEC = {
  'conf-dir': { type: 'string', default: GUEST_PATHS.confDir, arg: 'DIR', help: 'the appliance configuration folder' },
  'dry-run': { type: 'boolean', help: 'print the plan (and any config problems) and exit' },
  'proc-sys': { type: 'string', default: GUEST_PATHS.procSys, arg: 'DIR', help: 'where sysctl values are written' },
  'arp-table': { type: 'string', default: GUEST_PATHS.arpTable, arg: 'PATH', help: "the kernel's neighbour table, where the host is seen using its address" },
  'sys-class-net': { type: 'string', default: GUEST_PATHS.sysClassNet, arg: 'DIR', help: 'where network devices appear' },
  'sys-bus-pci': { type: 'string', default: GUEST_PATHS.sysBusPci, arg: 'DIR', help: 'where the wireless PCI device is released on stop' },
  'run-dir': { type: 'string', default: GUEST_PATHS.initRunDir, arg: 'DIR', help: "private folder (the dhcpcd hook's socket)" },
  'dhcpcd-run-dir': {
    type: 'string',
    default: GUEST_PATHS.dhcpcdRunDir,
    arg: 'DIR',
    help: "dhcpcd's own folder: its control sockets are removed when it was killed",
  },
  'tmp-dir': { type: 'string', default: GUEST_PATHS.tmp, arg: 'DIR', help: 'where udhcpd.conf and radvd.conf are rendered' },
  'status-socket': { type: 'string', default: GUEST_PATHS.initStatusSocket, arg: 'PATH', help: 'UNIX socket that answers with the status as JSON' },
  hook: { type: 'string', default: '', arg: 'PATH', help: 'the dhcpcd hook program (default: wifibox-dhcpcd-hook beside this file)' },
  'resolv-conf': { type: 'string', default: GUEST_PATHS.resolvConf, arg: 'PATH', help: "the guest's resolver file, written from the wireless DNS" },
  'lan-interface': { type: 'string', default: GUEST_INTERFACES.lan, arg: 'IF', help: 'the interface toward the host' },
  'wireless-interface': { type: 'string', default: GUEST_INTERFACES.wireless, arg: 'IF', help: 'the wireless interface' },
  'short-lease': { type: 'string', default: '10', arg: 'SECONDS', help: 'udhcpd lease time until the wireless DNS is known' },
  'lease-write': { type: 'string', default: '10', arg: 'SECONDS', help: 'udhcpd auto_time when the template sets none' },
  ip: tool('ip'),
  'iptables-restore': tool('iptables-restore'),
  'ip6tables-restore': tool('ip6tables-restore'),
  iptables: tool('iptables'),
  ip6tables: tool('ip6tables'),
  dhcpcd: tool('dhcpcd'),
  udhcpd: tool('udhcpd'),
  radvd: tool('radvd'),
  ...LOG_OPTIONS,
} satisfies Record<string, OptionSpec>;

function readOptions(argv: string[]) {
  const o = parseOptions(COMMAND, SUMMARY, SPEC, argv);
  if (!o) return null;
  const runDir = o['run-dir'];
  const init: InitOptions = {
    confDir: o['conf-dir'],
    procSys: o['proc-sys'],
    arpTable: o['arp-table'],
    sysClassNet: o['sys-class-net'],
    sysBusPci: o['sys-bus-pci'],
    runDir,
    dhcpcdRunDir: o['dhcpcd-run-dir'],
    tmpDir: o['tmp-dir'],
    statusSocket: o['status-socket'],
    hookSocket: join(runDir, 'hook.sock'),
    hookPath: o.hook || join(__dirname, 'wifibox-dhcpcd-hook'),
    resolvConf: o['resolv-conf'],
    lanInterface: o['lan-interface'],
    wirelessInterface: o['wireless-interface'],
    shortLeaseSeconds: numberOption('short-lease', o['short-lease'], 10, 86400),
    leaseWriteSeconds: numberOption('lease-write', o['lease-write'], 1, 86400),
    tools: {
      ip: o.ip,
      iptablesRestore: o['iptables-restore'],
      ip6tablesRestore: o['ip6tables-restore'],
      iptables: o.iptables,
      ip6tables: o.ip6tables,
      dhcpcd: o.dhcpcd,
      udhcpd: o.udhcpd,
      radvd: o.radvd,
    },
  };
  return { init, dryRun: o['dry-run'], level: parseLogLevel(o.loglevel), syslog: o.syslog };
}

interface InitPart {
  opts: InitOptions;
  log: Logger;
  /** Runs every step; resolves once each has run. */
  up(): Promise<void>;
  /** Stops the daemons and undoes the steps, newest first. */
  down(): Promise<void>;
  /** SIGHUP: the DNS relay empties its cache. */
  reload(): void;
}

/**
 * The network part from wifibox-init's command line; null when there is nothing to run (--help,
 * --version). A bad command line exits 64; --dry-run prints the plan and exits.
 */
export function startInit(argv: string[]): InitPart | null {
  const parsed = optionsOrExit(COMMAND, () => readOptions(argv));
  if (!parsed) return null;
  const { init } = parsed;
  const cfg = loadGuestConfig(
    { read: (p) => realSystem.read(p), list: (d) => realSystem.list(d) },
    { dir: init.confDir, lanInterface: init.lanInterface, wirelessInterface: init.wirelessInterface },
  );
  const plan = makePlan(cfg, { lanInterface: init.lanInterface, wirelessInterface: init.wirelessInterface });
  if (parsed.dryRun) {
    process.exit(
      printDryRun(
        cfg.problems,
        formatPlan(plan),
        (s) => process.stdout.write(s),
        (s) => process.stderr.write(s),
      ),
    );
  }
  const log = createLogger({ name: COMMAND, level: parsed.level, syslogPath: parsed.syslog });
  for (const p of cfg.problems) (p.severity === 'error' ? log.error.bind(log) : log.warn.bind(log))(formatProblem(p));
  const orch = new Orchestrator(cfg, plan, init, realSystem, log);
  return {
    opts: init,
    log,
    async up() {
      log.info({ version: VERSION, flavor: plan.flavor, steps: plan.steps.length }, 'starting');
      await orch.up();
      log.info('every step has run');
    },
    down: () => orch.down(),
    reload: () => orch.reload(),
  };
}
