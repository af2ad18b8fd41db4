// interfaces.conf: the ifupdown-ng subset the Wifibox samples use, read into one
// typed entry per interface. Pure: text in, interfaces and problems out.
import { parseIPv4, prefixOfDottedMask, sameNetwork4 } from '../../common/ipv4';
import { collector, shorten, type ConfigProblem, type Report } from '../../common/problems';
import { isInterfaceName, isLinkLocal6, parseIPv6, parsePrefix, sameNetwork6 } from './address';
import { splitLines, words } from './lines';

export type Inet4 = { method: 'static'; address: string; prefixLength: number; gateway: string | null; line: number } | { method: 'dhcp'; line: number };

export interface Inet6 {
  method: 'static';
  address: string;
  prefixLength: number;
  gateway: string | null;
  line: number;
}

export interface IfaceConfig {
  name: string;
  /** Line of the first `iface` stanza for this interface. */
  line: number;
  /** null: no usable inet stanza (absent, `manual`/`loopback`, or broken and reported). */
  inet: Inet4 | null;
  inet6: Inet6 | null;
}

type Family = 'inet' | 'inet6';
type Method = 'static' | 'dhcp' | 'manual' | 'loopback';

interface Option {
  value: string;
  line: number;
  /** Already reported as unreadable: the stanza is dropped without a second message about it. */
  bad?: true;
}

interface Stanza {
  name: string;
  line: number;
  family: Family;
  method: Method;
  addresses: Option[];
  netmasks: Option[];
  gateways: Option[];
}

const IFACE_FORMS = 'iface NAME inet static|dhcp, iface NAME inet6 static or iface NAME dhcp';
const OPTIONS = 'address, netmask or gateway';
const HOOKS = new Set(['pre-up', 'up', 'post-up', 'pre-down', 'down', 'post-down']);
// Top-level statements that pull in or generate stanzas: skipping them silently would lose configuration.
const UNSUPPORTED_TOP = new Set(['source', 'source-directory', 'mapping', 'template']);

export function parseInterfaces(text: string, file: string): { interfaces: IfaceConfig[]; problems: ConfigProblem[] } {
  const { problems, report } = collector(file);
  const byName = new Map<string, IfaceConfig>();
  const familyLines = new Map<string, number>();
  // 'skip': inside a stanza already reported as unusable; its options would only repeat the news.
  let current: Stanza | 'skip' | null = null;

  const finish = (): void => {
    if (current !== null && current !== 'skip') applyStanza(current, byName, report);
    current = null;
  };

  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const w = words(lines[i] as string);
    if (w.length === 0 || (w[0] as string).startsWith('#')) continue;
    const key = w[0] as string;

    if (key === 'iface') {
      finish();
      current = readIfaceLine(w, lineNo, report);
      if (current === 'skip') continue;
      const seen = familyLines.get(`${current.name} ${current.family}`);
      if (seen !== undefined) {
        report(
          lineNo,
          'error',
          `iface ${current.name} ${current.family} is already defined on line ${seen}; expected one ${current.family} stanza per interface (this one is ignored)`,
        );
        current = 'skip';
        continue;
      }
      familyLines.set(`${current.name} ${current.family}`, lineNo);
      if (!byName.has(current.name)) byName.set(current.name, { name: current.name, line: lineNo, inet: null, inet6: null });
    } else if (key === 'auto' || key.startsWith('allow-')) {
      // Which interfaces come up is the orchestrator's fixed plan, not a per-file choice.
      finish();
    } else if (UNSUPPORTED_TOP.has(key)) {
      finish();
      report(lineNo, 'error', `'${key}' is not supported; expected iface stanzas written out in this file`);
      current = 'skip';
    } else if (current === 'skip') {
      continue;
    } else if (current === null) {
      report(lineNo, 'error', `found '${shorten(key)}' outside an iface stanza; expected an 'iface' line before options, or auto/allow-hotplug`);
    } else {
      readOption(current, w, lineNo, report);
    }
  }
  finish();

  problems.sort((a, b) => a.line - b.line);
  return { interfaces: [...byName.values()], problems };
}

function readIfaceLine(w: string[], line: number, report: Report): Stanza | 'skip' {
  const name = w[1];
  if (name === undefined) {
    report(line, 'error', `iface has no interface name; expected ${IFACE_FORMS}`);
    return 'skip';
  }
  if (!isInterfaceName(name)) {
    report(line, 'error', `'${shorten(name)}' is not a valid interface name; expected 1-15 letters, digits or . _ - @ +`);
    return 'skip';
  }
  let family: Family;
  let methodWord: string | undefined;
  let rest: string[];
  if (w[2] === 'inet' || w[2] === 'inet6') {
    family = w[2];
    methodWord = w[3];
    rest = w.slice(4);
  } else if (w[2] === 'dhcp') {
    // ifupdown-ng's family-less form, as the station sample writes wlan0.
    family = 'inet';
    methodWord = 'dhcp';
    rest = w.slice(3);
  } else {
    const found = w[2] === undefined ? 'nothing' : `'${shorten(w[2])}'`;
    report(line, 'error', `iface ${name}: found ${found} after the name; expected ${IFACE_FORMS}`);
    return 'skip';
  }
  if (rest.length > 0) {
    report(line, 'error', `iface ${name}: unexpected '${shorten(rest.join(' '))}' after the method; expected nothing more on the iface line`);
    return 'skip';
  }
  const allowed: readonly Method[] = family === 'inet' ? ['static', 'dhcp', 'manual', 'loopback'] : ['static', 'manual', 'loopback'];
  const method = allowed.find((m) => m === methodWord);
  if (method === undefined) {
    const found = methodWord === undefined ? 'no method' : `method '${shorten(methodWord)}'`;
    const why = family === 'inet6' && (methodWord === 'dhcp' || methodWord === 'auto') ? ' (wlan0 gets IPv6 from dhcpcd, see dhcpcd.conf)' : '';
    report(line, 'error', `iface ${name} ${family}: ${found}; expected ${allowed.join(', ')}${why}`);
    return 'skip';
  }
  return { name, line, family, method, addresses: [], netmasks: [], gateways: [] };
}

function readOption(s: Stanza, w: string[], line: number, report: Report): void {
  const key = w[0] as string;
  if (HOOKS.has(key)) {
    report(line, 'warning', `'${key}' runs a shell command, which wifibox-init does not run (ignored); expected ${OPTIONS}`);
    return;
  }
  const list = key === 'address' ? s.addresses : key === 'netmask' ? s.netmasks : key === 'gateway' ? s.gateways : null;
  if (list === null) {
    report(line, 'warning', `option '${shorten(key)}' is not supported, ignored; expected ${OPTIONS}`);
    return;
  }
  if (w.length !== 2) {
    const found = w.length === 1 ? 'no value' : `${w.length - 1} values`;
    const hint = w.slice(2).some((x) => x.startsWith('#')) ? ' (comments must be on a line of their own)' : '';
    report(line, 'error', `${key} has ${found}; expected exactly one${hint}`);
    list.push({ value: '', line, bad: true });
    return;
  }
  const earlier = list[0];
  if (earlier !== undefined) {
    report(line, 'error', `${key} is given again (first on line ${earlier.line}); expected one ${key} per ${s.family} stanza (this one is ignored)`);
    return;
  }
  list.push({ value: w[1] as string, line });
}

function applyStanza(s: Stanza, byName: Map<string, IfaceConfig>, report: Report): void {
  const iface = byName.get(s.name) as IfaceConfig;
  if ([...s.addresses, ...s.netmasks, ...s.gateways].some((o) => o.bad)) return;
  if (s.method !== 'static') {
    for (const o of [...s.addresses, ...s.netmasks, ...s.gateways]) {
      report(
        o.line,
        'warning',
        `'${shorten(o.value)}' is ignored with method ${s.method}; expected address, netmask and gateway only under ${s.family} static`,
      );
    }
    if (s.method === 'dhcp') iface.inet = { method: 'dhcp', line: s.line };
    return;
  }
  const address = s.addresses[0];
  if (address === undefined) {
    report(s.line, 'error', `iface ${s.name} ${s.family} static has no address; expected an 'address A/PREFIX' line below it`);
    return;
  }
  const parsed = s.family === 'inet' ? staticAddress(INET4, s, address, report) : staticAddress(INET6, s, address, report);
  if (parsed === null) return;
  if (s.family === 'inet') iface.inet = { method: 'static', ...parsed, line: s.line };
  else iface.inet6 = { method: 'static', ...parsed, line: s.line };
}

interface StaticAddress {
  address: string;
  prefixLength: number;
  gateway: string | null;
}

function splitAddress(o: Option): { ip: string; prefix: string | null } {
  const slash = o.value.indexOf('/');
  return slash < 0 ? { ip: o.value, prefix: null } : { ip: o.value.slice(0, slash), prefix: o.value.slice(slash + 1) };
}

/** Prefix from address/PREFIX and netmask, which must agree when both are given. */
function resolvePrefix(s: Stanza, address: Option, fromAddress: string | null, fromNetmask: (m: string) => number | null, report: Report): number | null {
  const max = s.family === 'inet' ? 32 : 128;
  let prefix: number | null = null;
  if (fromAddress !== null) {
    prefix = parsePrefix(fromAddress, max);
    if (prefix === null) {
      report(address.line, 'error', `prefix '/${shorten(fromAddress)}' in address is invalid; expected a number from 0 to ${max}`);
      return null;
    }
  }
  const netmask = s.netmasks[0];
  if (netmask !== undefined) {
    const m = fromNetmask(netmask.value);
    if (m === null) {
      const expected = s.family === 'inet' ? 'a contiguous dotted mask like 255.255.255.0 or a prefix length 0-32' : 'a prefix length 0-128';
      report(netmask.line, 'error', `netmask '${shorten(netmask.value)}' is invalid; expected ${expected}`);
      return null;
    }
    if (prefix !== null && m !== prefix) {
      report(
        netmask.line,
        'error',
        `netmask '${netmask.value}' (/${m}) contradicts the prefix /${prefix} given with the address on line ${address.line}; expected them to agree, or only one of them`,
      );
      return null;
    }
    prefix = m;
  }
  if (prefix === null) {
    report(
      address.line,
      'error',
      `address '${shorten(address.value)}' has no prefix and there is no netmask; expected address/prefix (e.g. ${s.family === 'inet' ? '10.0.0.1/24' : 'fd00::1/64'}) or a netmask line`,
    );
  }
  return prefix;
}

/** What an inet and an inet6 stanza's static address differ in: parsing, and the words of its errors. */
interface AddressFamily<A> {
  name: 'IPv4' | 'IPv6';
  parse(text: string): A | null;
  /** For the hint when an address of the other family is given. */
  other: { name: 'IPv4' | 'IPv6'; family: Family; parse(text: string): unknown };
  expected: string;
  gatewayExpected: string;
  prefixOf(mask: string): number | null;
  /** Whether the next hop `gw` is one `ip route add default via` takes for address/prefix. */
  reaches(gw: A, address: A, prefix: number): boolean;
  reachExpected: string;
}

const INET4: AddressFamily<number> = {
  name: 'IPv4',
  parse: parseIPv4,
  other: { name: 'IPv6', family: 'inet6', parse: parseIPv6 },
  expected: 'four numbers 0-255 like 10.0.0.1',
  gatewayExpected: 'four numbers 0-255 like 10.0.0.1',
  prefixOf: (m) => (m.includes('.') ? prefixOfDottedMask(m) : parsePrefix(m, 32)),
  // `ip route add default via` refuses a next hop it cannot reach on the link.
  reaches: (gw, address, prefix) => sameNetwork4(gw, address, prefix),
  reachExpected: 'an address in that network',
};

const INET6: AddressFamily<number[]> = {
  name: 'IPv6',
  parse: parseIPv6,
  other: { name: 'IPv4', family: 'inet', parse: parseIPv4 },
  expected: 'a form like fd00::1',
  gatewayExpected: 'a form like fd00::1 or fe80::1',
  prefixOf: (m) => parsePrefix(m, 128),
  reaches: (gw, address, prefix) => isLinkLocal6(gw) || sameNetwork6(gw, address, prefix),
  reachExpected: 'an address in that network or a link-local fe80:: address',
};

function staticAddress<A>(f: AddressFamily<A>, s: Stanza, address: Option, report: Report): StaticAddress | null {
  const { ip, prefix: prefixText } = splitAddress(address);
  const parsed = f.parse(ip);
  if (parsed === null) {
    const hint = f.other.parse(ip) !== null ? ` (an ${f.other.name} address belongs under iface ${s.name} ${f.other.family} static)` : '';
    report(address.line, 'error', `address '${shorten(ip)}' is not an ${f.name} address; expected ${f.expected}${hint}`);
    return null;
  }
  const prefix = resolvePrefix(s, address, prefixText, f.prefixOf, report);
  if (prefix === null) return null;

  const gw = s.gateways[0];
  if (gw === undefined) return { address: ip, prefixLength: prefix, gateway: null };
  const g = f.parse(gw.value);
  if (g === null) {
    report(gw.line, 'error', `gateway '${shorten(gw.value)}' is not an ${f.name} address; expected ${f.gatewayExpected}`);
    return null;
  }
  if (!f.reaches(g, parsed, prefix)) {
    report(gw.line, 'error', `gateway ${gw.value} is outside ${ip}/${prefix}; expected ${f.reachExpected}`);
    return null;
  }
  return { address: ip, prefixLength: prefix, gateway: gw.value };
}
