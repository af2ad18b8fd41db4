// udhcpd.conf, the busybox DHCP server's config, used as a template: %%DNS%%,
// %%DOMAIN%% and %%SEARCH%% are filled with what the wireless network's DHCP
// server gave. Pure: text in, template and problems out; template and values in, file text out.
import { collector, shorten, type ConfigProblem, type Report } from '../../common/problems';
import { parseIPv4 } from '../../common/ipv4';
import { isInterfaceName } from './address';
import { hostnameFault } from './hostname';
import { splitLines } from './lines';

export type UdhcpdPlaceholder = 'DNS' | 'DOMAIN' | 'SEARCH';

export interface UdhcpdTemplate {
  file: string;
  /** The template as read; rendering works from it. */
  text: string;
  interface: string;
  /** Where interface, start and end are set (null: not set), for problems found later against interfaces.conf. */
  lines: { interface: number; start: number | null; end: number | null };
  /** First and last address handed out (udhcpd's own defaults when the file sets none). */
  start: string;
  end: string;
  /** `opt lease`, null when absent (udhcpd then uses its default of 10 days). */
  leaseSeconds: number | null;
  leaseFile: string | null;
  /** Placeholders used outside comments, in order of first use. */
  placeholders: UdhcpdPlaceholder[];
  /** The DNS servers the file names itself, besides %%DNS%% (`opt dns %%DNS%% 8.8.8.8`). */
  fixedDns: string[];
  /** Its `static_lease MAC ADDRESS` lines (MAC in lower case), as udhcpd reads them. */
  staticLeases: Array<{ mac: string; ip: string }>;
}

export interface UdhcpdValues {
  dns: string[];
  domain: string | null;
  search: string[];
}

export interface UdhcpdOverrides {
  leaseSeconds?: number;
  leaseFile?: string;
}

// busybox udhcpd's defaults, used when the file sets no range.
const DEFAULT_START = '192.168.0.20';
const DEFAULT_END = '192.168.0.254';
const PLACEHOLDER = /%%([^%\s]*)%%/g;
const KNOWN_PLACEHOLDERS: readonly UdhcpdPlaceholder[] = ['DNS', 'DOMAIN', 'SEARCH'];
const SINGLE_VALUE = new Set(['start', 'end', 'interface', 'lease_file', 'pidfile', 'notify_file', 'siaddr', 'sname', 'boot_file', 'remaining']);
const NUMERIC = new Set(['max_leases', 'auto_time', 'decline_time', 'conflict_time', 'offer_time', 'min_lease']);
const KEYWORDS = new Set([...SINGLE_VALUE, ...NUMERIC, 'opt', 'option', 'static_lease']);
// Options whose values are IPv4 addresses; the rest are left to udhcpd.
const ADDRESS_OPTIONS = new Set(['subnet', 'router', 'dns', 'broadcast']);
const UINT32_MAX = 2 ** 32 - 1;

interface Word {
  text: string;
  start: number;
}

/** A line split as busybox does: a '#' anywhere starts a comment; words are separated by blanks. */
interface UdhcpdLine {
  raw: string;
  content: string;
  comment: string;
  words: Word[];
}

function splitLine(raw: string): UdhcpdLine {
  const hash = raw.indexOf('#');
  const content = hash < 0 ? raw : raw.slice(0, hash);
  const words: Word[] = [];
  for (const m of content.matchAll(/[^ \t\r\f\v]+/g)) words.push({ text: m[0], start: m.index ?? 0 });
  return { raw, content, comment: hash < 0 ? '' : raw.slice(hash), words };
}

const isUint32 = (s: string): boolean => /^(0|[1-9][0-9]{0,9})$/.test(s) && Number(s) <= UINT32_MAX;
const hasPlaceholder = (s: string): boolean => s.includes('%%');

export function parseUdhcpdTemplate(text: string, file: string): { template: UdhcpdTemplate | null; problems: ConfigProblem[] } {
  const { problems, report } = collector(file);
  const seen = new Map<string, { value: string; line: number }>();
  const placeholders: UdhcpdPlaceholder[] = [];

  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const l = splitLine(lines[i] as string);
    if (l.words.length === 0) continue;

    if (readPlaceholders(l, lineNo, placeholders, report)) readKeyword(l, lineNo, seen, report);
  }

  const iface = seen.get('interface');
  if (iface === undefined) {
    report(1, 'error', 'no interface line; expected interface NAME (eth0 for the station flavor, wlan0 for the access point)');
  }
  const { start, end } = checkRange(seen, report);

  problems.sort((a, b) => a.line - b.line);
  if (iface === undefined || problems.some((p) => p.severity === 'error')) return { template: null, problems };
  const lease = seen.get('opt lease');
  return {
    template: {
      file,
      text,
      interface: iface.value,
      lines: { interface: iface.line, start: start?.line ?? null, end: end?.line ?? null },
      start: start?.value ?? DEFAULT_START,
      end: end?.value ?? DEFAULT_END,
      leaseSeconds: lease === undefined ? null : Number(lease.value),
      leaseFile: seen.get('lease_file')?.value ?? null,
      placeholders,
      fixedDns: splitLines(text)
        .map(splitLine)
        .flatMap((l) => {
          const w = l.words.map((x) => x.text.toLowerCase());
          return (w[0] === 'opt' || w[0] === 'option') && w[1] === 'dns' ? w.slice(2).filter((a) => parseIPv4(a) !== null) : [];
        }),
      staticLeases: splitLines(text)
        .map(splitLine)
        .flatMap((l) => {
          const [key, mac, ip] = l.words.map((x) => x.text);
          return key?.toLowerCase() === 'static_lease' && mac && ip ? [{ mac: mac.toLowerCase(), ip }] : [];
        }),
    },
    problems,
  };
}

/** Records the line's placeholders; false (and reported) when one is unknown or a '%%' is unpaired. */
function readPlaceholders(l: UdhcpdLine, line: number, placeholders: UdhcpdPlaceholder[], report: Report): boolean {
  let ok = true;
  for (const m of l.content.matchAll(PLACEHOLDER)) {
    const name = KNOWN_PLACEHOLDERS.find((p) => p === m[1]);
    if (name === undefined) {
      report(line, 'error', `unknown placeholder '${shorten(m[0])}'; expected %%DNS%%, %%DOMAIN%% or %%SEARCH%%`);
      ok = false;
    } else if (!placeholders.includes(name)) {
      placeholders.push(name);
    }
  }
  if (l.content.replace(PLACEHOLDER, '').includes('%%')) {
    report(line, 'error', `found an unpaired '%%' in '${shorten(l.content.trim())}'; expected placeholders written %%DNS%%, %%DOMAIN%% or %%SEARCH%%`);
    ok = false;
  }
  return ok;
}

/** The start and end lines: each missing one is a warning (udhcpd's default applies), an empty range an error. */
function checkRange(seen: Map<string, { value: string; line: number }>, report: Report) {
  const start = seen.get('start');
  const end = seen.get('end');
  for (const [key, at, def] of [
    ['start', start, DEFAULT_START],
    ['end', end, DEFAULT_END],
  ] as const) {
    if (at === undefined) report(1, 'warning', `no ${key} line; expected ${key} ADDRESS (udhcpd would use ${def})`);
  }
  const startIp = parseIPv4(start?.value ?? DEFAULT_START);
  const endIp = parseIPv4(end?.value ?? DEFAULT_END);
  if (startIp !== null && endIp !== null && startIp > endIp) {
    report(
      end?.line ?? start?.line ?? 1,
      'error',
      `range ${start?.value ?? DEFAULT_START} - ${end?.value ?? DEFAULT_END} is empty; expected start at or below end`,
    );
  }

  return { start, end };
}

/** Checks one non-comment line; records single-valued settings in `seen` under their keyword ('opt lease' for the lease). */
function readKeyword(l: UdhcpdLine, line: number, seen: Map<string, { value: string; line: number }>, report: Report): void {
  const words = l.words.map((w) => w.text);
  const key = (words[0] as string).toLowerCase();
  const values = words.slice(1);
  const remember = (name: string, value: string): void => {
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      report(line, 'warning', `${name} is set again (first on line ${earlier.line}); expected it once — udhcpd uses this last value`);
    }
    seen.set(name, { value, line });
  };

  // Checked first: a keyword only spelled out after substitution would change what the file means.
  if (hasPlaceholder(words[0] as string) || (key !== 'opt' && key !== 'option' && values.some(hasPlaceholder))) {
    report(line, 'error', `placeholder in '${shorten(l.content.trim())}'; expected placeholders only in opt values`);
    return;
  }
  if (!KEYWORDS.has(key)) {
    report(
      line,
      'warning',
      `unknown keyword '${shorten(words[0] as string)}' (udhcpd ignores it); expected start, end, interface, opt, lease_file, max_leases or another udhcpd keyword`,
    );
    return;
  }
  if (values.length === 0) {
    report(line, 'error', `${key} has no value; expected ${key} VALUE`);
    return;
  }
  if (key === 'opt' || key === 'option') {
    readOption(values, line, remember, report);
    return;
  }
  if (SINGLE_VALUE.has(key) || NUMERIC.has(key)) {
    if (values.length > 1) {
      report(line, 'error', `${key} has ${values.length} values ('${shorten(values.join(' '))}'); expected one`);
      return;
    }
  }
  const value = values[0] as string;
  if ((key === 'start' || key === 'end' || key === 'siaddr') && parseIPv4(value) === null) {
    report(line, 'error', `${key} '${shorten(value)}' is not an IPv4 address; expected four numbers 0-255 like 10.0.0.2`);
  } else if (key === 'interface' && !isInterfaceName(value)) {
    report(line, 'error', `interface '${shorten(value)}' is not a valid interface name; expected e.g. eth0 or wlan0`);
  } else if (NUMERIC.has(key) && !isUint32(value)) {
    report(line, 'error', `${key} '${shorten(value)}' is not a whole number; expected 0 to ${UINT32_MAX}`);
  } else if (key !== 'static_lease') {
    remember(key, value);
  }
}

function readOption(values: string[], line: number, remember: (name: string, value: string) => void, report: Report): void {
  const name = (values[0] as string).toLowerCase();
  const args = values.slice(1);
  if (hasPlaceholder(name)) {
    report(line, 'error', `placeholder in the option name '${shorten(values[0] as string)}'; expected opt NAME VALUE…`);
  } else if (args.some((a) => hasPlaceholder(a) && !/^%%[A-Z]+%%$/.test(a))) {
    // Glued to other text, what is left after substitution is anyone's guess.
    const glued = args.find((a) => hasPlaceholder(a) && !/^%%[A-Z]+%%$/.test(a)) as string;
    report(line, 'error', `placeholder written inside '${shorten(glued)}'; expected it as a word of its own, e.g. opt dns %%DNS%% 8.8.8.8`);
  } else if (args.length === 0) {
    report(line, 'error', `opt ${shorten(name)} has no value; expected opt ${shorten(name)} VALUE…`);
  } else if (name === 'lease') {
    if (args.length !== 1 || !isUint32(args[0] as string)) {
      report(line, 'error', `opt lease '${shorten(args.join(' '))}' is not a number of seconds; expected one whole number, e.g. 864000 for 10 days`);
    } else {
      remember('opt lease', args[0] as string);
    }
  } else if (ADDRESS_OPTIONS.has(name)) {
    const bad = args.find((a) => !hasPlaceholder(a) && parseIPv4(a) === null);
    if (bad !== undefined) report(line, 'error', `opt ${name} value '${shorten(bad)}' is not an IPv4 address; expected four numbers 0-255 like 10.0.0.1`);
  }
}

/**
 * The file udhcpd reads. Comments and blank lines are left out (the guest's /tmp
 * holds 128 KiB); every other line is kept byte for byte unless a placeholder or
 * an override changes it. The values come from the wireless network, which is
 * not trusted: anything but IPv4 addresses and host names is left out, so a
 * hostile DHCP server cannot inject lines. Throws only on an override no config
 * file can produce (a programming error).
 */
export function renderUdhcpd(t: UdhcpdTemplate, values: UdhcpdValues, overrides: UdhcpdOverrides = {}): string {
  const { leaseSeconds, leaseFile } = overrides;
  if (leaseSeconds !== undefined && !(Number.isInteger(leaseSeconds) && leaseSeconds >= 0 && leaseSeconds <= UINT32_MAX)) {
    throw new RangeError(`leaseSeconds ${leaseSeconds}: expected a whole number from 0 to ${UINT32_MAX}`);
  }
  if (leaseFile !== undefined && !/^[^\s#%]+$/.test(leaseFile)) {
    throw new RangeError(`leaseFile '${leaseFile}': expected a path without blanks, '#' or '%'`);
  }
  const fill: Record<UdhcpdPlaceholder, string> = {
    DNS: values.dns.filter((a) => parseIPv4(a) !== null).join(' '),
    DOMAIN: values.domain !== null && hostnameFault(values.domain) === null ? values.domain : '',
    SEARCH: values.search.filter((d) => hostnameFault(d) === null).join(' '),
  };

  const out = [`# Made by wifibox-init from ${t.file}; edit that file instead.`];
  let leaseDone = false;
  let leaseFileDone = false;
  for (const raw of splitLines(t.text)) {
    const l = splitLine(raw);
    if (l.words.length === 0) continue;
    const key = (l.words[0] as Word).text.toLowerCase();
    const isOpt = key === 'opt' || key === 'option';
    const valueAt = isOpt ? 2 : 1;

    const replaceValue = (value: string): void => {
      const w = l.words[valueAt];
      out.push(w === undefined ? `${l.content.trimEnd()}\t${value}` : `${l.content.slice(0, w.start)}${value}`);
    };
    if (isOpt && l.words[1]?.text.toLowerCase() === 'lease' && leaseSeconds !== undefined) {
      replaceValue(String(leaseSeconds));
      leaseDone = true;
    } else if (key === 'lease_file' && leaseFile !== undefined) {
      replaceValue(leaseFile);
      leaseFileDone = true;
    } else if (hasPlaceholder(l.content)) {
      const filled = l.content.replace(PLACEHOLDER, (m, name: string) => {
        const known = KNOWN_PLACEHOLDERS.find((p) => p === name);
        return known === undefined ? m : fill[known];
      });
      const collapsed = filled.replace(/([ \t\r\f\v])[ \t\r\f\v]+/g, '$1').trimEnd();
      const left = collapsed.trim().split(/[ \t\r\f\v]+/);
      // udhcpd refuses an option with nothing after its name.
      if (left.length <= valueAt) out.push(`# wifibox-init: '${left.join(' ')}' left out: no value known yet`);
      else out.push(collapsed);
    } else if (hasPlaceholder(l.comment)) {
      out.push(l.content.trimEnd());
    } else {
      out.push(raw);
    }
  }
  if (leaseSeconds !== undefined && !leaseDone) out.push(`opt\tlease\t${leaseSeconds}`);
  if (leaseFile !== undefined && !leaseFileDone) out.push(`lease_file\t${leaseFile}`);
  return `${out.join('\n')}\n`;
}
