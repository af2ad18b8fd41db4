// Everything the init orchestrator reads from the host's appliance folder,
// parsed and checked together. Reading goes through `files`, so tests (and the
// lab) can serve the upstream samples or a fake tree.
import { posix } from 'node:path';
import { parseIPv4, sameNetwork4 } from '../../common/ipv4';
import { GUEST_PATHS } from '../../common/paths';
import type { ConfigProblem } from '../../common/problems';
import type { GuestFlavor } from '../../common/status';
import { parseHostname } from './hostname';
import { parseInterfaces, type IfaceConfig } from './interfaces';
import { checkIptablesRestore } from './iptables';
import { parseRadvdTemplate, type RadvdTemplate } from './radvd';
import { parseSysctl, type SysctlEntry } from './sysctl';
import { parseUdhcpdTemplate, type UdhcpdTemplate } from './udhcpd';

export { hostnameFault, parseHostname } from './hostname';
export { parseInterfaces, type IfaceConfig, type Inet4, type Inet6 } from './interfaces';
export { checkIptablesRestore } from './iptables';
export { parseRadvdTemplate, renderRadvd, type RadvdTemplate } from './radvd';
export { parseSysctl, scope, sysctlPath, type SysctlEntry } from './sysctl';
export { parseUdhcpdTemplate, renderUdhcpd, type UdhcpdOverrides, type UdhcpdPlaceholder, type UdhcpdTemplate, type UdhcpdValues } from './udhcpd';

export interface GuestConfigFiles {
  /** File contents, or null when the file does not exist. */
  read(path: string): string | null;
  /** Names in a folder, [] when it does not exist. */
  list(dir: string): string[];
}

export interface RestoreFile {
  file: string;
  /** Fed to iptables-restore / ip6tables-restore unchanged. */
  text: string;
}

export interface GuestConfig {
  dir: string;
  hostname: string | null;
  interfaces: IfaceConfig[];
  /** In the order to apply them: sysctl.d/*.conf by name, then sysctl.conf, as `sysctl --system` does (later wins). */
  sysctl: SysctlEntry[];
  iptables: RestoreFile | null;
  ip6tables: RestoreFile | null;
  udhcpd: UdhcpdTemplate | null;
  /** Path of dhcpcd.conf when present (dhcpcd reads it itself); null: dhcpcd runs with its defaults. */
  dhcpcdConf: string | null;
  radvd: RadvdTemplate | null;
  flavor: GuestFlavor;
  /**
   * Every file's problems, in the order the files are read. Line 0 stands for a
   * file as a whole (e.g. a required file that is missing).
   */
  problems: ConfigProblem[];
}

/**
 * Reads the guest's config files from `dir`. An absent optional file turns its
 * feature off (its field is null); only interfaces.conf is required. Never
 * throws on bad content: everything wrong is in `problems`.
 */
export function loadGuestConfig(files: GuestConfigFiles, dir: string = GUEST_PATHS.confDir): GuestConfig {
  const problems: ConfigProblem[] = [];
  const path = (name: string): string => posix.join(dir, name);
  const read = (name: string): { file: string; text: string } | null => {
    const file = path(name);
    const text = files.read(file);
    return text === null ? null : { file, text };
  };

  let hostname: string | null = null;
  const hostnameFile = read('hostname');
  if (hostnameFile !== null) {
    const r = parseHostname(hostnameFile.text, hostnameFile.file);
    hostname = r.hostname;
    problems.push(...r.problems);
  }

  let interfaces: IfaceConfig[] = [];
  let interfacesOk = false;
  const interfacesFile = read('interfaces.conf');
  if (interfacesFile === null) {
    problems.push({ file: path('interfaces.conf'), line: 0, severity: 'error', message: 'file not found; expected the interfaces.conf of the appliance folder (eth0 and wlan0 cannot be configured without it)' });
  } else {
    const r = parseInterfaces(interfacesFile.text, interfacesFile.file);
    interfaces = r.interfaces;
    interfacesOk = !r.problems.some((p) => p.severity === 'error');
    problems.push(...r.problems);
  }

  const sysctl: SysctlEntry[] = [];
  const sysctlD = 'sysctl.d';
  // Byte order, as sysctl sorts: the same on every machine whatever the locale.
  const dropIns = files.list(path(sysctlD)).filter((n) => n.endsWith('.conf')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of [...dropIns.map((n) => posix.join(sysctlD, n)), 'sysctl.conf']) {
    const f = read(name);
    if (f === null) continue;
    const r = parseSysctl(f.text, f.file);
    sysctl.push(...r.entries);
    problems.push(...r.problems);
  }

  const restore = (name: string): RestoreFile | null => {
    const f = read(name);
    if (f === null) return null;
    const found = checkIptablesRestore(f.text, f.file);
    problems.push(...found);
    return found.some((p) => p.severity === 'error') ? null : f;
  };
  const iptables = restore('iptables');
  const ip6tables = restore('ip6tables');

  let udhcpd: UdhcpdTemplate | null = null;
  const udhcpdFile = read('udhcpd.conf');
  if (udhcpdFile !== null) {
    const r = parseUdhcpdTemplate(udhcpdFile.text, udhcpdFile.file);
    udhcpd = r.template;
    problems.push(...r.problems);
  }

  const dhcpcdConf = read('dhcpcd.conf') === null ? null : path('dhcpcd.conf');

  let radvd: RadvdTemplate | null = null;
  const radvdFile = read('radvd.conf');
  if (radvdFile !== null) {
    const r = parseRadvdTemplate(radvdFile.text, radvdFile.file);
    radvd = r.template;
    problems.push(...r.problems);
  }

  const wlan0 = interfaces.find((i) => i.name === 'wlan0');
  const flavor = wlan0?.inet?.method === 'static' ? 'access-point' : 'station';
  // Checks across files, only on an interfaces.conf without errors: otherwise they would repeat its problems.
  if (interfacesOk && interfacesFile !== null) {
    const at = interfacesFile.file;
    if ((wlan0?.inet ?? null) === null) {
      problems.push({ file: at, line: wlan0?.line ?? 1, severity: 'error', message: 'no iface wlan0 inet stanza; expected iface wlan0 dhcp (station) or iface wlan0 inet static (access point)' });
    }
    if ((interfaces.find((i) => i.name === 'eth0')?.inet ?? null) === null) {
      problems.push({ file: at, line: 1, severity: 'error', message: 'no iface eth0 inet stanza; expected iface eth0 inet static with the address the host reaches the guest at' });
    }
    if (udhcpd !== null) problems.push(...checkUdhcpdAgainst(udhcpd, interfaces));
  }

  return { dir, hostname, interfaces, sysctl, iptables, ip6tables, udhcpd, dhcpcdConf, radvd, flavor, problems };
}

/** udhcpd needs an address of its own on the interface it serves, and hands out addresses from that network. */
function checkUdhcpdAgainst(t: UdhcpdTemplate, interfaces: IfaceConfig[]): ConfigProblem[] {
  const inet = interfaces.find((i) => i.name === t.interface)?.inet;
  if (inet?.method !== 'static') {
    const found = inet === undefined || inet === null ? 'has no inet stanza' : 'gets its address by DHCP';
    return [{ file: t.file, line: t.lines.interface, severity: 'error', message: `udhcpd serves ${t.interface}, which ${found} in interfaces.conf; expected an interface with inet static (eth0 for the station flavor, wlan0 for the access point)` }];
  }
  const out: ConfigProblem[] = [];
  const own = parseIPv4(inet.address) as number;
  for (const [key, ip, line] of [['start', t.start, t.lines.start], ['end', t.end, t.lines.end]] as const) {
    const n = parseIPv4(ip);
    if (n !== null && !sameNetwork4(n, own, inet.prefixLength)) {
      out.push({ file: t.file, line: line ?? t.lines.interface, severity: 'warning', message: `${key} ${ip} is outside ${t.interface}'s network ${inet.address}/${inet.prefixLength}; expected a range inside it, or clients get addresses they cannot use` });
    }
  }
  return out;
}
