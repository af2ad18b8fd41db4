// wifibox-diag: the entry point only wires options, the diagnosis, and the output.
import { join } from 'node:path';
import { numberOption, optionsOrExit, parseOptions, type OptionSpec } from '../common/cli';
import { BundleWriteError, defaultBundleName, writeBundle } from './bundle';
import { bundleFiles } from './bundle-files';
import { diagnoseGuest } from './diagnosis';
import { DEFAULTS, type DiagOptions } from './options';
import { realSystem } from './system';
import { renderText } from './text';

const COMMAND = 'wifibox-diag';
const SUMMARY =
  'Tells what is up in the guest, what is wrong and why: a verdict first (OK, or each problem\n' +
  'with its likely cause and what to do), then agents, interfaces, wireless, DHCP, NAT,\n' +
  'passthrough, forwarding, memory and the latest warnings. Reads only; changes nothing.\n' +
  'Exit status: 0 healthy, 1 degraded, 2 down (3: this command itself failed; 64: usage).\n\n' +
  `  ${COMMAND} bundle [FILE] [options]\n` +
  '      writes a .tar.gz for a bug report (report, configs, logs; secrets redacted);\n' +
  `      FILE defaults to ${DEFAULTS.bundleDir}/wifibox-diag-<UTC time>.tar.gz`;

const path = (def: string, help: string, arg = 'PATH') => ({ type: 'string', default: def, arg, help }) as const;

const SPEC = {
  json: { type: 'boolean', help: 'print the report as JSON (its shape: docs/diag.md in the source)' },
  'init-socket': path(DEFAULTS.initSocket, "wifibox-init's status endpoint"),
  'init-run-dir': path(DEFAULTS.initRunDir, "wifibox-init's run folder, where each daemon's last output is", 'DIR'),
  'passthru-socket': path(DEFAULTS.passthruSocket, "wifibox-passthru's status endpoint"),
  'forward-socket': path(DEFAULTS.forwardSocket, "wifibox-forward's status endpoint"),
  'wpa-supplicant-dir': path(DEFAULTS.wpaSupplicantDir, "wpa_supplicant's control socket folder", 'DIR'),
  'hostapd-dir': path(DEFAULTS.hostapdDir, "hostapd's control socket folder", 'DIR'),
  'wireless-interface': path(DEFAULTS.wirelessInterface, 'the wireless interface', 'IF'),
  'lan-interface': path(DEFAULTS.lanInterface, 'the interface toward the host', 'IF'),
  'udhcpd-conf': path(DEFAULTS.udhcpdConf, "udhcpd's rendered config, when wifibox-init does not say"),
  'udhcpd-leases': path(DEFAULTS.udhcpdLeases, "udhcpd's lease file, when its config names none"),
  'syslog-file': path(DEFAULTS.syslogFile, 'the syslog file'),
  kmsg: path(DEFAULTS.kmsg, 'the kernel log; dmesg when it cannot be read'),
  proc: path(DEFAULTS.proc, 'the proc file system', 'DIR'),
  'sys-class-net': path(DEFAULTS.sysClassNet, 'where network devices appear', 'DIR'),
  'sys-bus-pci': path(DEFAULTS.sysBusPci, 'where the wireless PCI device appears', 'DIR'),
  'tmp-dir': path(DEFAULTS.tmpDir, 'where the private control socket is made, and removed after', 'DIR'),
  'conf-dir': path(DEFAULTS.confDir, 'the appliance configuration folder (bundle)', 'DIR'),
  'wpa-supplicant-conf-dir': path(DEFAULTS.wpaSupplicantConfDir, "wpa_supplicant's configuration folder (bundle)", 'DIR'),
  'hostapd-conf-dir': path(DEFAULTS.hostapdConfDir, "hostapd's configuration folder (bundle)", 'DIR'),
  'bundle-dir': path(DEFAULTS.bundleDir, 'where bundle writes when given no FILE', 'DIR'),
  ip: path(DEFAULTS.tools.ip, 'the ip program (iproute2)'),
  'iptables-save': path(DEFAULTS.tools.iptablesSave, 'the iptables-save program'),
  dmesg: path(DEFAULTS.tools.dmesg, 'the dmesg program'),
  timeout: { type: 'string', default: String(DEFAULTS.timeoutMs), arg: 'MS', help: 'longest wait for one endpoint, request or command' },
  'log-lines': { type: 'string', default: String(DEFAULTS.logLines), arg: 'N', help: 'how many warning and error lines to show' },
} satisfies Record<string, OptionSpec>;

interface Invocation {
  opts: DiagOptions;
  json: boolean;
  /** undefined: no bundle; null: bundle to the default file. */
  bundle: string | null | undefined;
}

function readOptions(argv: string[]): Invocation | null {
  let bundle: string | null | undefined;
  if (argv[0] === 'bundle') {
    bundle = argv[1] !== undefined && !argv[1].startsWith('-') ? argv[1] : null;
    argv = argv.slice(bundle === null ? 1 : 2);
  }
  const o = parseOptions(COMMAND, SUMMARY, SPEC, argv);
  if (!o) return null;
  const opts: DiagOptions = {
    initSocket: o['init-socket'],
    passthruSocket: o['passthru-socket'],
    forwardSocket: o['forward-socket'],
    initRunDir: o['init-run-dir'],
    wpaSupplicantDir: o['wpa-supplicant-dir'],
    hostapdDir: o['hostapd-dir'],
    wirelessInterface: o['wireless-interface'],
    lanInterface: o['lan-interface'],
    udhcpdConf: o['udhcpd-conf'],
    udhcpdLeases: o['udhcpd-leases'],
    syslogFile: o['syslog-file'],
    kmsg: o.kmsg,
    proc: o.proc,
    sysClassNet: o['sys-class-net'],
    sysBusPci: o['sys-bus-pci'],
    tmpDir: o['tmp-dir'],
    confDir: o['conf-dir'],
    bundleDir: o['bundle-dir'],
    wpaSupplicantConfDir: o['wpa-supplicant-conf-dir'],
    hostapdConfDir: o['hostapd-conf-dir'],
    tools: { ip: o.ip, iptablesSave: o['iptables-save'], dmesg: o.dmesg },
    timeoutMs: numberOption('timeout', o.timeout, 10, 60_000),
    logLines: numberOption('log-lines', o['log-lines'], 0, 1000),
  };
  return { opts, json: o.json, bundle };
}

/** Exits once stdout is flushed: a pipe to the host's script must get every byte. */
function finish(text: string, code: number): void {
  process.stdout.write(text, () => process.exit(code));
}

async function main(argv: string[]): Promise<void> {
  const inv = optionsOrExit(COMMAND, () => readOptions(argv));
  if (!inv) return;
  const report = await diagnoseGuest(realSystem, inv.opts);
  const text = renderText(report);
  if (inv.bundle === undefined) {
    finish(inv.json ? JSON.stringify(report, null, 2) + '\n' : text, report.exitCode);
    return;
  }
  const file = inv.bundle ?? join(inv.opts.bundleDir, defaultBundleName(new Date(report.generatedAt)));
  try {
    const r = writeBundle(file, { report: text, json: report, files: bundleFiles(realSystem, inv.opts, report), now: new Date(report.generatedAt) });
    const missing = r.missing.length ? `; ${r.missing.length} file(s) could not be read (listed in missing.txt)` : '';
    finish(`${text.split('\n')[0]}\nbundle: ${r.file} (${r.bytes} bytes, ${r.redacted} secret value(s) redacted${missing})\n`, 0);
  } catch (err) {
    process.stderr.write(`${COMMAND}: ${err instanceof BundleWriteError ? err.message : ((err as Error).stack ?? err)}\n`);
    process.exit(3);
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`${COMMAND}: ${(err as Error).stack ?? err}\n`);
  process.exit(3);
});
