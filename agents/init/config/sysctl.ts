// sysctl.conf and sysctl.d/*.conf, as procps `sysctl -p` reads them. Pure: text in, entries and problems out.
import { collector, shorten, type ConfigProblem } from '../../common/problems';
import { splitLines } from './lines';

export interface SysctlEntry {
  /** Dotted form; a '/' inside it stands for a literal '.' in a name (e.g. a VLAN interface eth0.100). */
  key: string;
  value: string;
  file: string;
  line: number;
  /** Written as `-key = value`: a failed write is not worth reporting (e.g. a module not loaded). */
  ignoreErrors: boolean;
}

// Path components: conservative on purpose, so a key can never climb out of /proc/sys.
const COMPONENT = /^[A-Za-z0-9_.@+:-]+$/;

export function parseSysctl(text: string, file: string): { entries: SysctlEntry[]; problems: ConfigProblem[] } {
  const { problems, report } = collector(file);
  const entries: SysctlEntry[] = [];
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = (lines[i] as string).trim();
    if (raw === '' || raw.startsWith('#') || raw.startsWith(';')) continue;

    const eq = raw.indexOf('=');
    if (eq < 0) {
      report(line, 'error', `found '${shorten(raw)}' without '='; expected key = value`);
      continue;
    }
    let keyText = raw.slice(0, eq).trim();
    const value = raw.slice(eq + 1).trim();
    const ignoreErrors = keyText.startsWith('-');
    if (ignoreErrors) keyText = keyText.slice(1).trim();

    const key = normaliseKey(keyText);
    if (key === null) {
      report(
        line,
        'error',
        `key '${shorten(keyText)}' is invalid; expected names of letters, digits, _ - @ + : separated by '.' or '/', like net.ipv4.ip_forward`,
      );
      continue;
    }
    if (value === '') {
      report(line, 'error', `${key} has no value after '='; expected key = value`);
      continue;
    }
    if (value.includes('#')) {
      // procps only knows whole-line comments: the kernel would get the text after '#' too.
      report(
        line,
        'warning',
        `value '${shorten(value)}' of ${key} contains '#', which is written as part of the value; expected comments on a line of their own`,
      );
    }
    entries.push({ key, value, file, line, ignoreErrors });
  }
  return { entries, problems };
}

/**
 * To dotted form, as procps does: when the first separator is '/', the key is
 * a path whose dots are literal, so '.' and '/' swap. null when invalid.
 */
function normaliseKey(k: string): string | null {
  if (k === '') return null;
  const firstSep = k.search(/[./]/);
  const slashForm = firstSep >= 0 && k[firstSep] === '/';
  const parts = k.split(slashForm ? '/' : '.').map((p) => (slashForm ? p : p.replace(/\//g, '.')));
  for (const p of parts) {
    if (!COMPONENT.test(p) || /^\.+$/.test(p)) return null;
  }
  return parts.map((p) => p.replace(/\./g, '/')).join('.');
}

/** Path of a key from parseSysctl under /proc/sys, e.g. net.ipv4.ip_forward → net/ipv4/ip_forward. */
export function sysctlPath(key: string): string {
  return key
    .split('.')
    .map((p) => p.replace(/\//g, '.'))
    .join('/');
}

/**
 * Where a write lands. net.* is per network namespace: the lab's guest namespace
 * gets its own copy. Everything else is treated as machine-wide (kernel.*, fs.*,
 * vm.*, dev.*, user.*, debug.*, abi.*, and any other top level), so a test must
 * not write it on the machine it runs on.
 */
export function scope(key: string): 'net' | 'global' {
  return key === 'net' || key.startsWith('net.') ? 'net' : 'global';
}
