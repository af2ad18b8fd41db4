// uds_passthru.conf: parsed from the POSIX shell subset that upstream samples
// use, then validated. Pure: text in, typed config and problems out.
import { parseIPv4, prefixOfMask, sameNetwork4 } from '../common/ipv4';
import { collector, type ConfigProblem, type Report } from '../common/problems';

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
const HOST_FIELDS = new Set(['user', 'group', 'mode']);

// ---------------------------------------------------------------------------
// Shell subset

/**
 * An expanded value. Every character remembers its source line so a socket
 * entry can report where it was written. `bad` marks a placeholder left where
 * an error was already reported: whatever contains it is dropped silently
 * instead of being reported a second time under a confusing name.
 */
interface Value {
  text: string;
  lines: number[];
  bad: boolean[];
}

class ValueBuilder {
  private readonly chars: string[] = [];
  private readonly lines: number[] = [];
  private readonly bad: boolean[] = [];

  push(ch: string, line: number): void {
    this.chars.push(ch);
    this.lines.push(line);
    this.bad.push(false);
  }

  /** Expanded text takes the line of its `$`, where the reader wrote it. */
  expand(v: Value, line: number): void {
    for (let i = 0; i < v.text.length; i++) {
      this.chars.push(v.text[i] as string);
      this.lines.push(line);
      this.bad.push(v.bad[i] as boolean);
    }
  }

  poison(line: number): void {
    this.chars.push('\0');
    this.lines.push(line);
    this.bad.push(true);
  }

  build(): Value {
    return { text: this.chars.join(''), lines: this.lines, bad: this.bad };
  }
}

interface Assignment {
  name: string;
  line: number;
  value: Value;
}

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r';
const isNameStart = (c: string | undefined): boolean =>
  c !== undefined && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_');
const isNameChar = (c: string | undefined): boolean =>
  isNameStart(c) || (c !== undefined && c >= '0' && c <= '9');

function shorten(s: string, max = 40): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * Reads `NAME=VALUE` statements one at a time. The caller stores each
 * assignment before asking for the next, so expansion sees only variables
 * assigned earlier, as the shell would.
 */
class AssignmentReader {
  private pos = 0;
  private line = 1;
  /** Set by an unterminated quote or substitution: nothing after it can be read reliably. */
  stopped = false;

  constructor(
    private readonly src: string,
    private readonly vars: ReadonlyMap<string, Value>,
    private readonly report: Report,
  ) {}

  next(): Assignment | null {
    const src = this.src;
    while (!this.stopped) {
      this.skipBlanks();
      if (this.pos >= src.length) return null;
      const c = src[this.pos];
      if (c === '\n') {
        this.pos++;
        this.line++;
        continue;
      }
      if (c === '#') {
        this.skipComment();
        continue;
      }

      const start = this.pos;
      const line = this.line;
      while (this.pos < src.length && (this.pos === start ? isNameStart(src[this.pos]) : isNameChar(src[this.pos]))) {
        this.pos++;
      }
      const name = src.slice(start, this.pos);
      if (name === '' || src[this.pos] !== '=') {
        this.report(line, 'error', `found '${this.firstWord(start)}' where a setting was expected; expected NAME=VALUE (commands, export and other shell syntax are not supported)`);
        this.pos = start;
        this.skipRestOfCommand();
        continue;
      }
      this.pos++;

      const value = this.readWord(name);
      if (this.stopped) return null;
      this.skipBlanks();
      if (this.pos < src.length && src[this.pos] !== '\n' && src[this.pos] !== '#') {
        // The shell would run this as a command with NAME set only for it.
        this.report(this.line, 'error', `found '${this.firstWord(this.pos)}' after the value of ${name}; expected end of line or a # comment (quote values that contain spaces)`);
        value.poison(this.line);
        this.skipRestOfCommand();
        if (this.stopped) return null;
      }
      return { name, line, value: value.build() };
    }
    return null;
  }

  private skipBlanks(): void {
    while (isBlank(this.src[this.pos])) this.pos++;
  }

  private skipComment(): void {
    const nl = this.src.indexOf('\n', this.pos);
    this.pos = nl < 0 ? this.src.length : nl;
  }

  private firstWord(from: number): string {
    let end = from;
    while (end < this.src.length && !isBlank(this.src[end]) && this.src[end] !== '\n') end++;
    return shorten(this.src.slice(from, end));
  }

  private unterminated(quote: string, openLine: number): void {
    const kind = quote === '"' ? 'double' : 'single';
    this.report(openLine, 'error', `unterminated ${kind} quote (${quote}) opened on this line; expected a closing ${quote} before the end of the file (parsing stopped here)`);
    this.stopped = true;
  }

  /** One shell word: unquoted, quoted and expanded parts glued together. */
  private readWord(name: string): ValueBuilder {
    const src = this.src;
    const b = new ValueBuilder();
    while (this.pos < src.length && !this.stopped) {
      const c = src[this.pos] as string;
      if (isBlank(c) || c === '\n') break;
      if (c === "'") {
        this.readSingleQuoted(b);
      } else if (c === '"') {
        this.readDoubleQuoted(b);
      } else if (c === '\\') {
        const n = src[this.pos + 1];
        if (n === '\n') {
          this.line++;
        } else {
          b.push(n ?? '\\', this.line);
        }
        this.pos += n === undefined ? 1 : 2;
      } else if (c === '$') {
        this.readDollar(b);
      } else if (c === '`') {
        this.commandSubstitution(b, '`');
      } else if (';&|<>()'.includes(c)) {
        this.report(this.line, 'error', `found '${c}' in the value of ${name}; expected one NAME=VALUE per line (quote the value if '${c}' is meant literally)`);
        b.poison(this.line);
        this.skipRestOfCommand();
        break;
      } else {
        b.push(c, this.line);
        this.pos++;
      }
    }
    return b;
  }

  private readSingleQuoted(b: ValueBuilder): void {
    const close = this.src.indexOf("'", this.pos + 1);
    if (close < 0) {
      this.unterminated("'", this.line);
      return;
    }
    for (let i = this.pos + 1; i < close; i++) {
      const c = this.src[i] as string;
      b.push(c, this.line);
      if (c === '\n') this.line++;
    }
    this.pos = close + 1;
  }

  private readDoubleQuoted(b: ValueBuilder): void {
    const src = this.src;
    const openLine = this.line;
    this.pos++;
    while (!this.stopped) {
      if (this.pos >= src.length) {
        this.unterminated('"', openLine);
        return;
      }
      const c = src[this.pos] as string;
      if (c === '"') {
        this.pos++;
        return;
      }
      if (c === '\\') {
        const n = src[this.pos + 1];
        if (n === '\n') {
          this.line++;
          this.pos += 2;
        } else if (n === '"' || n === '\\' || n === '$' || n === '`') {
          b.push(n, this.line);
          this.pos += 2;
        } else {
          // POSIX: inside double quotes any other backslash is literal.
          b.push('\\', this.line);
          this.pos++;
        }
      } else if (c === '$') {
        this.readDollar(b);
      } else if (c === '`') {
        this.commandSubstitution(b, '`');
      } else {
        b.push(c, this.line);
        if (c === '\n') this.line++;
        this.pos++;
      }
    }
  }

  private readDollar(b: ValueBuilder): void {
    const src = this.src;
    const n = src[this.pos + 1];
    if (n === '{') {
      let end = this.pos + 2;
      if (isNameStart(src[end])) {
        end++;
        while (isNameChar(src[end])) end++;
      }
      const name = src.slice(this.pos + 2, end);
      if (name !== '' && src[end] === '}') {
        this.pos = end + 1;
        this.expand(b, name);
        return;
      }
      const word = this.firstWord(this.pos);
      const shown = word.includes('}') ? word.slice(0, word.indexOf('}') + 1) : word;
      this.report(this.line, 'error', `found unsupported expansion '${shorten(shown, 20)}'; expected \${NAME} or $NAME`);
      b.poison(this.line);
      // Hunting for the `}` could swallow the file when it is simply missing;
      // what follows stays in the word, which is poisoned anyway.
      this.pos = end;
    } else if (n === '(') {
      this.commandSubstitution(b, '$(');
    } else if (isNameStart(n)) {
      let end = this.pos + 2;
      while (isNameChar(src[end])) end++;
      const name = src.slice(this.pos + 1, end);
      this.pos = end;
      this.expand(b, name);
    } else if (n !== undefined && '0123456789@*#?$!-'.includes(n)) {
      this.report(this.line, 'error', `found special parameter '$${n}', which is not supported here; expected \${NAME} or $NAME`);
      b.poison(this.line);
      this.pos += 2;
    } else {
      // Like the shell: a `$` that starts no expansion is just a dollar sign.
      b.push('$', this.line);
      this.pos++;
    }
  }

  private expand(b: ValueBuilder, name: string): void {
    const v = this.vars.get(name);
    if (v !== undefined) {
      b.expand(v, this.line);
      return;
    }
    // The shell would expand it to nothing, quietly hiding a typo.
    const known = [...this.vars.keys()];
    const hint = known.length > 0 ? `one of: ${known.join(', ')}` : 'none is assigned above';
    this.report(this.line, 'error', `unknown variable '${name}'; expected a variable assigned earlier in this file (${hint})`);
    b.poison(this.line);
  }

  /** Skips the whole substitution, as the shell would read it, so the statement after it still parses. */
  private commandSubstitution(b: ValueBuilder, opener: '$(' | '`'): void {
    const src = this.src;
    const openLine = this.line;
    this.report(openLine, 'error', `found command substitution '${opener}', which is not supported; expected a literal value, \${NAME} or $NAME`);
    b.poison(openLine);
    this.pos += opener.length;
    const close = opener === '`' ? '`' : ')';
    let depth = 1;
    while (this.pos < src.length && !this.stopped) {
      const c = src[this.pos] as string;
      if (c === "'" || c === '"') {
        this.skipQuoted();
        continue;
      }
      if (c === '\\') {
        if (src[this.pos + 1] === '\n') this.line++;
        this.pos += 2;
        continue;
      }
      this.pos++;
      if (c === '\n') this.line++;
      else if (c === '(' && opener === '$(') depth++;
      else if (c === close && --depth === 0) return;
    }
    if (!this.stopped) {
      this.report(openLine, 'error', `unterminated command substitution '${opener}' opened on this line; expected a closing ${close} before the end of the file (parsing stopped here)`);
      this.stopped = true;
    }
  }

  /** At a quote: moves past its closing quote, or stops parsing if there is none. */
  private skipQuoted(): void {
    const src = this.src;
    const q = src[this.pos] as string;
    const openLine = this.line;
    let i = this.pos + 1;
    while (i < src.length && src[i] !== q) {
      // Only double quotes honour backslashes.
      if (q === '"' && src[i] === '\\' && i + 1 < src.length) i++;
      if (src[i] === '\n') this.line++;
      i++;
    }
    if (i >= src.length) {
      this.pos = src.length;
      this.unterminated(q, openLine);
      return;
    }
    this.pos = i + 1;
  }

  /** Skips to the end of the logical line, through quotes, so a broken statement cannot desynchronise the next. */
  private skipRestOfCommand(): void {
    const src = this.src;
    while (this.pos < src.length && !this.stopped) {
      const c = src[this.pos] as string;
      if (c === '\n') return;
      if (c === '#' && (this.pos === 0 || isBlank(src[this.pos - 1]) || src[this.pos - 1] === '\n')) {
        this.skipComment();
        return;
      }
      if (c === "'" || c === '"') {
        this.skipQuoted();
      } else if (c === '\\') {
        if (src[this.pos + 1] === '\n') this.line++;
        this.pos += 2;
      } else {
        this.pos++;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Settings

export function parsePassthruConfig(text: string, file: string): PassthruConfig {
  const { problems, report } = collector(file);

  const vars = new Map<string, Value>();
  const settings = new Map<'network' | 'sockets', Assignment>();
  const reader = new AssignmentReader(text, vars, report);
  for (let a = reader.next(); a !== null; a = reader.next()) {
    vars.set(a.name, a.value);
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
          report(line, 'error', `port ${socket.port} is already used by the socket on line ${firstLine}; expected a different port for each socket (entry skipped)`);
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
