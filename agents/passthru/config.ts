// uds_passthru.conf: parsed from the POSIX shell subset that upstream samples
// use, then validated. Pure: text in, typed config and problems out.
import { parseIPv4, prefixOfMask, sameNetwork4 } from '../common/ipv4';
import { collector, shorten, type ConfigProblem, type Report } from '../common/problems';
import { AssignmentReader, type Assignment } from './shell-assignments';

export interface PassthruNetwork {
  address: string;
  mask: string;
  prefixLength: number;
}

export interface PassthruSocket {
  path: string;
  port: number;
  /** Source line of this entry. */
  line: number;
  /** user, group, mode, …: accepted and ignored here; they are the host's business. */
  extra: Record<string, string>;
}

export interface PassthruConfig {
  file: string;
  /** null = empty, absent or invalid: use eth0's address. */
  network: PassthruNetwork | null;
  sockets: PassthruSocket[];
  problems: ConfigProblem[];
}

const NETWORK_EXAMPLE = 'IP:MASK like 10.0.0.1:255.255.255.0';
const SOCKET_EXAMPLE = 'path=/absolute/path,port=N';
/** sun_path holds 108 bytes with its terminating NUL: a longer path can never be reached. */
export const MAX_SOCKET_PATH = 107;
const HOST_FIELDS = new Set(['user', 'group', 'mode']);

export function parsePassthruConfig(text: string, file: string): PassthruConfig {
  const { problems, report } = collector(file);

  const settings = new Map<'network' | 'sockets', Assignment>();
  const reader = new AssignmentReader(text, report);
  for (let a = reader.next(); a !== null; a = reader.next()) {
    if (a.name === 'network' || a.name === 'sockets') {
      const earlier = settings.get(a.name);
      if (earlier !== undefined) {
        report(a.line, 'warning', `${a.name} is set again (first on line ${earlier.line}); expected it once — only this last value is used`);
      }
      settings.set(a.name, a);
    } else if (!a.name.startsWith('_')) {
      report(a.line, 'warning', `unknown setting '${a.name}' (ignored); expected network, sockets, or a helper variable whose name starts with _`);
    }
  }

  const networkAt = settings.get('network');
  const network = networkAt === undefined ? null : parseNetwork(networkAt, report);

  const socketsAt = settings.get('sockets');
  let sockets: PassthruSocket[] = [];
  if (socketsAt !== undefined) {
    sockets = parseSockets(socketsAt, report);
  } else if (!reader.stopped) {
    // When parsing stopped early the setting may well be there, unreadable: that error already says so.
    report(1, 'warning', `no sockets setting found; expected sockets="${SOCKET_EXAMPLE}" (one entry per line), nothing will be forwarded`);
  }

  // Stable: problems on one line keep the order they were found in.
  problems.sort((a, b) => a.line - b.line);
  return { file, network, sockets, problems };
}

function parseNetwork(a: Assignment, report: Report): PassthruNetwork | null {
  if (a.value.bad.includes(true)) return null;
  const s = a.value.text;
  if (s === '') return null;
  const shown = shorten(s);
  const parts = s.split(':');
  if (parts.length !== 2) {
    const found = parts.length === 1 ? `network '${shown}' has no ':'` : `network '${shown}' has ${parts.length} ':'-separated parts`;
    report(a.line, 'error', `${found}; expected ${NETWORK_EXAMPLE}`);
    return null;
  }
  const [address, mask] = parts as [string, string];
  if (parseIPv4(address) === null) {
    report(a.line, 'error', `network address '${shorten(address)}' is not a dotted-quad IPv4 address; expected four numbers 0-255 as in ${NETWORK_EXAMPLE}`);
    return null;
  }
  const maskBits = parseIPv4(mask);
  if (maskBits === null) {
    report(a.line, 'error', `network mask '${shorten(mask)}' is not a dotted-quad mask; expected four numbers 0-255 as in ${NETWORK_EXAMPLE}`);
    return null;
  }
  const prefixLength = prefixOfMask(maskBits);
  if (prefixLength === null) {
    report(a.line, 'error', `network mask '${mask}' is not contiguous; expected leading one bits only, e.g. 255.255.255.0`);
    return null;
  }
  return { address, mask, prefixLength };
}

export function inNetwork(ip: string, net: PassthruNetwork): boolean {
  const mapped = ip.slice(0, 7).toLowerCase() === '::ffff:' ? ip.slice(7) : ip;
  const a = parseIPv4(mapped);
  const base = parseIPv4(net.address);
  if (a === null || base === null || !(Number.isInteger(net.prefixLength) && net.prefixLength >= 0 && net.prefixLength <= 32)) return false;
  return sameNetwork4(a, base, net.prefixLength);
}

function parseSockets(a: Assignment, report: Report): PassthruSocket[] {
  const { text, lines, bad } = a.value;
  if (text.trim() === '' && !bad.includes(true)) {
    report(a.line, 'warning', `sockets is empty; expected at least one entry ${SOCKET_EXAMPLE}, nothing will be forwarded`);
    return [];
  }
  const sockets: PassthruSocket[] = [];
  const portLines = new Map<number, number>();
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let first = start;
    while (first < end && (text[first] as string).trim() === '') first++;
    // Entries holding an already reported error are dropped without a second message.
    if (first < end && !bad.slice(start, end).includes(true)) {
      const line = lines[first] as number;
      const socket = parseSocketEntry(text.slice(start, end).trim(), line, report);
      if (socket !== null) {
        const firstLine = portLines.get(socket.port);
        if (firstLine !== undefined) {
          report(
            line,
            'error',
            `port ${socket.port} is already used by the socket on line ${firstLine}; expected a different port for each socket (entry skipped)`,
          );
        } else {
          portLines.set(socket.port, line);
          sockets.push(socket);
        }
      }
    }
    start = end + 1;
  }
  return sockets;
}

function parseSocketEntry(entry: string, line: number, report: Report): PassthruSocket | null {
  const fields = new Map<string, string>();
  const extra: Record<string, string> = {};
  let ok = true;
  const fail = (message: string): void => {
    report(line, 'error', `${message} (entry skipped)`);
    ok = false;
  };

  for (const raw of entry.split(',')) {
    const field = raw.trim();
    // A stray comma (e.g. trailing) carries nothing to misread.
    if (field === '') continue;
    const eq = field.indexOf('=');
    if (eq <= 0) {
      fail(`socket field '${shorten(field)}' has no ${eq < 0 ? "'='" : 'name'}; expected key=value (path, port, user, group, mode)`);
      continue;
    }
    const key = field.slice(0, eq).trim();
    const value = field.slice(eq + 1).trim();
    if (fields.has(key)) {
      fail(`socket field '${shorten(key)}' is given twice in one entry; expected it once`);
      continue;
    }
    fields.set(key, value);
    if (key === 'path' || key === 'port') continue;
    if (!HOST_FIELDS.has(key)) {
      report(line, 'warning', `unknown socket field '${shorten(key)}' (ignored); expected path, port, user, group or mode`);
    }
    extra[key] = value;
  }

  const path = fields.get('path');
  if (path === undefined) {
    fail(`socket entry '${shorten(entry)}' has no path; expected path=/absolute/path`);
  } else if (!path.startsWith('/')) {
    fail(`socket path '${shorten(path)}' is not absolute; expected a path starting with /`);
  } else if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    fail(`socket path '${shorten(path)}' is ${Buffer.byteLength(path)} bytes; expected at most ${MAX_SOCKET_PATH} (what a UNIX socket address holds)`);
  }

  const portText = fields.get('port');
  let port = 0;
  if (portText === undefined) {
    fail(`socket entry '${shorten(entry)}' has no port; expected port=N with N from 1 to 65535`);
  } else {
    port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) {
      fail(`socket port '${shorten(portText)}' is invalid; expected an integer from 1 to 65535`);
    }
  }

  return ok && path !== undefined ? { path, port, line, extra } : null;
}
