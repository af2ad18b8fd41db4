// Everything the init orchestrator reads from the host's appliance folder,
// parsed and checked together. Reading goes through `files`, so tests (and the
// lab) can serve the upstream samples or a fake tree.
import { posix } from 'node:path';
import { parseIPv4, sameNetwork4 } from '../../common/ipv4';
import { AGENTS_CONF, readAgentsConf } from '../../common/agents-conf';
import { GUEST_INTERFACES, GUEST_PATHS } from '../../common/paths';
import type { ConfigProblem } from '../../common/problems';
import type { GuestFlavor } from '../../common/status';
import { parseHostname } from './hostname';
import { parseInterfaces, type IfaceConfig } from './interfaces';
import { checkIptablesRestore } from './iptables';
import { parseRadvdTemplate, type RadvdTemplate } from './radvd';
import { parseSysctl, type SysctlEntry } from './sysctl';
import { parseUdhcpdTemplate, type UdhcpdTemplate } from './udhcpd';
import { INIT_SETTINGS, type InitSettings } from '../settings';

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

interface RestoreFile {
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
  /** wifibox-init's section of wifibox-agents.conf (every default when the file is absent). */
  settings: InitSettings;
  flavor: GuestFlavor;
  /**
   * Every file's problems, in the order the files are read. Line 0 stands for a
   * file as a whole (e.g. a required file that is missing).
   */
  problems: ConfigProblem[];
}

/** Where the files are, and which interfaces are which (the options of wifibox-init). */
interface GuestConfigPlace {
  dir: string;
  lanInterface: string;
  wirelessInterface: string;
}

const GUEST_PLACE: GuestConfigPlace = { dir: GUEST_PATHS.confDir, lanInterface: GUEST_INTERFACES.lan, wirelessInterface: GUEST_INTERFACES.wireless };

/**
 * Reads the guest's config files. An absent optional file turns its feature off (its field is
 * null); only interfaces.conf is required. Never throws on bad content: everything wrong is in
 * `problems`.
 */
export function loadGuestConfig(files: GuestConfigFiles, place: Partial<GuestConfigPlace> = {}): GuestConfig {
  const { dir, lanInterface: lan, wirelessInterface: wlan } = { ...GUEST_PLACE, ...place };
  const problems: ConfigProblem[] = [];
  const path = (name: string): string => posix.join(dir, name);
  /** A file through its parser, its problems kept; null when the file is absent. */
  const parse = <T>(name: string, parser: (text: string, file: string) => { problems: ConfigProblem[] } & T): T | null => {
    const file = path(name);
    const text = files.read(file);
    if (text === null) return null;
    const r = parser(text, file);
    problems.push(...r.problems);
    return r;
  };

  const hostname = parse('hostname', parseHostname)?.hostname ?? null;
  const parsedInterfaces = parse('interfaces.conf', parseInterfaces);
  if (parsedInterfaces === null) {
    problems.push({
      file: path('interfaces.conf'),
      line: 0,
      severity: 'error',
      message: 'file not found; expected the interfaces.conf of the appliance folder (eth0 and wlan0 cannot be configured without it)',
    });
  }
  const interfaces = parsedInterfaces?.interfaces ?? [];
  const interfacesOk = parsedInterfaces !== null && !parsedInterfaces.problems.some((p) => p.severity === 'error');

  // Byte order, as sysctl sorts: the same on every machine whatever the locale.
  const dropIns = files
    .list(path('sysctl.d'))
    .filter((n) => n.endsWith('.conf'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const sysctl = [...dropIns.map((n) => posix.join('sysctl.d', n)), 'sysctl.conf'].flatMap((name) => parse(name, parseSysctl)?.entries ?? []);

  const restore = (name: string): RestoreFile | null => {
    const r = parse(name, (text, file) => ({ problems: checkIptablesRestore(text, file), file, text }));
    return r === null || r.problems.some((p) => p.severity === 'error') ? null : { file: r.file, text: r.text };
  };
  const iptables = restore('iptables');
  const ip6tables = restore('ip6tables');
  const udhcpd = parse('udhcpd.conf', parseUdhcpdTemplate)?.template ?? null;
  const dhcpcdConf = files.read(path('dhcpcd.conf')) === null ? null : path('dhcpcd.conf');
  const radvd = parse('radvd.conf', parseRadvdTemplate)?.template ?? null;
  const settings = (parse(AGENTS_CONF, (text, file) => readAgentsConf(text, file, 'init', INIT_SETTINGS)) ?? readAgentsConf(null, '', 'init', INIT_SETTINGS))
    .settings;

  const wireless = interfaces.find((i) => i.name === wlan);
  const flavor = wireless?.inet?.method === 'static' ? 'access-point' : 'station';
  // Checks across files, only on an interfaces.conf without errors: otherwise they would repeat its problems.
  if (interfacesOk) {
    const at = path('interfaces.conf');
    if ((wireless?.inet ?? null) === null) {
      problems.push({
        file: at,
        line: wireless?.line ?? 1,
        severity: 'error',
        message: `no iface ${wlan} inet stanza; expected iface ${wlan} dhcp (station) or iface ${wlan} inet static (access point)`,
      });
    }
    if ((interfaces.find((i) => i.name === lan)?.inet ?? null) === null) {
      problems.push({
        file: at,
        line: 1,
        severity: 'error',
        message: `no iface ${lan} inet stanza; expected iface ${lan} inet static with the address the host reaches the guest at`,
      });
    }
    if (udhcpd !== null) problems.push(...checkUdhcpdAgainst(udhcpd, interfaces, lan, wlan));
  }

  return { dir, hostname, interfaces, sysctl, iptables, ip6tables, udhcpd, dhcpcdConf, radvd, settings, flavor, problems };
}

/** udhcpd needs an address of its own on the interface it serves, and hands out addresses from that network. */
function checkUdhcpdAgainst(t: UdhcpdTemplate, interfaces: IfaceConfig[], lan: string, wlan: string): ConfigProblem[] {
  const inet = interfaces.find((i) => i.name === t.interface)?.inet;
  if (inet?.method !== 'static') {
    const found = inet === undefined || inet === null ? 'has no inet stanza' : 'gets its address by DHCP';
    return [
      {
        file: t.file,
        line: t.lines.interface,
        severity: 'error',
        message: `udhcpd serves ${t.interface}, which ${found} in interfaces.conf; expected an interface with inet static (${lan} for the station flavor, ${wlan} for the access point)`,
      },
    ];
  }
  const out: ConfigProblem[] = [];
  const own = parseIPv4(inet.address) as number;
  for (const [key, ip, line] of [
    ['start', t.start, t.lines.start],
    ['end', t.end, t.lines.end],
  ] as const) {
    const n = parseIPv4(ip);
    if (n !== null && !sameNetwork4(n, own, inet.prefixLength)) {
      out.push({
        file: t.file,
        line: line ?? t.lines.interface,
        severity: 'warning',
        message: `${key} ${ip} is outside ${t.interface}'s network ${inet.address}/${inet.prefixLength}; expected a range inside it, or clients get addresses they cannot use`,
      });
    }
  }
  return out;
}
