// radvd.conf, the IPv6 router advertisement daemon's config, used as a template:
// %%DNS%% in an RDNSS line is filled with the wireless network's IPv6 DNS servers.
// Pure: text in, template and problems out; template and servers in, file text out.
import { collector, shorten, type ConfigProblem, type Report } from '../../common/problems';
import { isIPv6, isInterfaceName } from './address';

export interface RadvdTemplate {
  file: string;
  text: string;
  /** Names of the `interface NAME { … };` blocks, in file order. */
  interfaces: string[];
  /** True when an RDNSS line holds %%DNS%%; false means rendering returns the text unchanged. */
  hasDnsPlaceholder: boolean;
  /** The addresses the RDNSS lines with %%DNS%% name themselves, besides it. */
  fixedDns: string[];
}

interface Token {
  kind: 'word' | '{' | '}' | ';';
  text: string;
  line: number;
  start: number;
  end: number;
}

interface Statement {
  words: Token[];
  /** null for `words… ;`, the inner statements for `words… { … };`. */
  block: Statement[] | null;
  /** Offsets of the first word and just past the closing ';' (or what ended the statement). */
  start: number;
  end: number;
}

const PLACEHOLDER = /%%([^%\s]*)%%/g;
const DNS = '%%DNS%%';
const MAX_DEPTH = 16;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ kind: c, text: c, line, start: i, end: i + 1 });
      i++;
    } else {
      const start = i;
      // Exactly the separators above end a word. Anything else belongs to it, Unicode blanks too
      // (U+00A0, U+FEFF): a word ending at one would be empty, and the loop would never move on.
      while (i < text.length && !/[ \t\r\n\f\v{};#]/.test(text[i] as string)) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), line, start, end: i });
    }
  }
  return tokens;
}

/** radvd's grammar reduced to its shape: statements end with ';', blocks are `words { … };`. */
function parseStatements(tokens: Token[], report: Report): Statement[] {
  let i = 0;
  let stopped = false;
  const list = (opener: Token | null, depth: number): { out: Statement[]; closed: boolean } => {
    const out: Statement[] = [];
    if (opener !== null && depth > MAX_DEPTH) {
      // radvd nests three deep at most; a runaway file must not exhaust the stack.
      report(opener.line, 'error', `blocks nested ${depth} deep here; expected at most ${MAX_DEPTH} (parsing stopped here)`);
      stopped = true;
      i = tokens.length;
      return { out, closed: false };
    }
    for (;;) {
      const t = tokens[i];
      if (t === undefined) {
        if (opener !== null && !stopped)
          report(opener.line, 'error', `'{' opened on this line is never closed; expected a matching '};' before the end of the file`);
        return { out, closed: false };
      }
      if (t.kind === '}') {
        i++;
        if (opener !== null) return { out, closed: true };
        report(t.line, 'error', `found '}' with no open block; expected it only to close a '{'`);
        continue;
      }
      if (t.kind === ';') {
        i++;
        report(t.line, 'error', `found ';' with nothing before it; expected a setting such as AdvSendAdvert on;`);
        continue;
      }
      const words: Token[] = [];
      while (tokens[i]?.kind === 'word') words.push(tokens[i++] as Token);
      const next = tokens[i];
      if (next?.kind === '{') {
        i++;
        const inner = list(next, depth + 1);
        // At the end of the file: this block's opener gets reported on the next turn.
        if (!inner.closed) continue;
        const close = tokens[i - 1] as Token;
        let end = close.end;
        if (tokens[i]?.kind === ';') {
          end = (tokens[i] as Token).end;
          i++;
        } else {
          report(close.line, 'error', `'}' is not followed by ';'; expected '};' to close the block opened on line ${next.line}`);
        }
        if (words.length === 0) {
          report(next.line, 'error', `found a '{' block with no name; expected e.g. interface NAME { … };`);
        } else {
          out.push({ words, block: inner.out, start: (words[0] as Token).start, end });
        }
        continue;
      }
      // Only words reach here: a '}', ';' or '{' was handled above.
      const first = words[0] as Token;
      if (next?.kind === ';') {
        i++;
        out.push({ words, block: null, start: first.start, end: next.end });
      } else {
        const last = words[words.length - 1] as Token;
        report(last.line, 'error', `'${shorten(words.map((w) => w.text).join(' '))}' is not ended by ';'; expected a ';' after each setting`);
      }
    }
  };
  return list(null, 0).out;
}

/** RDNSS statements that hold %%DNS%%; reports placeholders anywhere else. */
function checkPlaceholders(stmts: Statement[], report: Report, inRdnss: Statement[]): void {
  for (const s of stmts) {
    const isRdnss = (s.words[0] as Token).text.toUpperCase() === 'RDNSS';
    let hasDns = false;
    s.words.forEach((w, k) => {
      if (w.text.replace(PLACEHOLDER, '').includes('%%')) {
        report(w.line, 'error', `found an unpaired '%%' in '${shorten(w.text)}'; expected the placeholder written %%DNS%%`);
      }
      for (const m of w.text.matchAll(PLACEHOLDER)) {
        if (m[0] !== DNS) {
          report(w.line, 'error', `unknown placeholder '${shorten(m[0])}'; expected only %%DNS%%, in an RDNSS line`);
        } else if (!isRdnss || k === 0 || w.text !== DNS) {
          report(w.line, 'error', `%%DNS%% in '${shorten(s.words.map((x) => x.text).join(' '))}'; expected it only as an address of an RDNSS line`);
        } else {
          hasDns = true;
        }
      }
    });
    if (hasDns) inRdnss.push(s);
    if (s.block !== null) checkPlaceholders(s.block, report, inRdnss);
  }
}

/** Statements, RDNSS-with-placeholder statements and interfaces of a template, or what is wrong with it. */
function scan(text: string, report: Report): { rdnss: Statement[]; interfaces: string[] } {
  const stmts = parseStatements(tokenize(text), report);
  const interfaces: string[] = [];
  const lines = new Map<string, number>();
  for (const s of stmts) {
    const [kw, name, ...rest] = s.words;
    const at = (kw as Token).line;
    if (kw?.text !== 'interface' || s.block === null || name === undefined || rest.length > 0) {
      report(
        at,
        'error',
        `found '${shorten(s.words.map((w) => w.text).join(' '))}${s.block === null ? ';' : ' { … }'}' at the top level; expected interface NAME { … };`,
      );
      continue;
    }
    if (!isInterfaceName(name.text)) {
      report(name.line, 'error', `interface '${shorten(name.text)}' is not a valid interface name; expected e.g. eth0 or wlan0`);
      continue;
    }
    const earlier = lines.get(name.text);
    if (earlier !== undefined) {
      report(at, 'error', `interface ${name.text} is defined again (first on line ${earlier}); expected one block per interface`);
      continue;
    }
    lines.set(name.text, at);
    interfaces.push(name.text);
  }
  const rdnss: Statement[] = [];
  checkPlaceholders(stmts, report, rdnss);
  return { rdnss, interfaces };
}

export function parseRadvdTemplate(text: string, file: string): { template: RadvdTemplate | null; problems: ConfigProblem[] } {
  const { problems, report } = collector(file);
  const { rdnss, interfaces } = scan(text, report);
  if (interfaces.length === 0 && problems.length === 0) {
    report(1, 'error', 'no interface block found; expected interface NAME { AdvSendAdvert on; … };');
  }
  problems.sort((a, b) => a.line - b.line);
  if (problems.some((p) => p.severity === 'error')) return { template: null, problems };
  const fixedDns = rdnss.flatMap((s) =>
    s.words
      .slice(1)
      .map((w) => w.text)
      .filter((a) => a !== DNS && isIPv6(a)),
  );
  return { template: { file, text, interfaces, hasDnsPlaceholder: rdnss.length > 0, fixedDns }, problems };
}

/**
 * The file radvd reads: %%DNS%% in RDNSS lines becomes the given IPv6 servers.
 * An RDNSS statement left with no address would be a syntax error, so it is
 * left out whole (its braces too). Comments are kept as they are. The servers
 * come from the wireless network, which is not trusted: anything but an IPv6
 * address is left out.
 */
export function renderRadvd(t: RadvdTemplate, dns6: string[]): string {
  if (!t.hasDnsPlaceholder) return t.text;
  const servers = dns6.filter(isIPv6).join(' ');
  // The template parsed cleanly, so nothing is reported here.
  const { rdnss } = scan(t.text, () => undefined);
  let text = t.text;
  for (const s of [...rdnss].reverse()) {
    const addresses = s.words.slice(1).flatMap((w) => (w.text === DNS ? servers.split(' ').filter((a) => a !== '') : [w.text]));
    if (addresses.length > 0) {
      const last = s.words[s.words.length - 1] as Token;
      const filled = text
        .slice(s.start, last.end)
        .split(DNS)
        .join(servers)
        .replace(/([ \t])[ \t]+/g, '$1');
      text = text.slice(0, s.start) + filled + text.slice(last.end);
      continue;
    }
    // Whole lines when the statement has them to itself, so no blank line is left behind.
    const lineStart = text.lastIndexOf('\n', s.start - 1) + 1;
    const nl = text.indexOf('\n', s.end);
    const lineEnd = nl < 0 ? text.length : nl + 1;
    const indent = text.slice(lineStart, s.start);
    const ownLines = /^[ \t]*$/.test(indent) && /^[ \t]*\r?\n?$/.test(text.slice(s.end, lineEnd));
    const note = '# RDNSS left out: no IPv6 DNS server known yet';
    text = ownLines ? `${text.slice(0, lineStart)}${indent}${note}\n${text.slice(lineEnd)}` : `${text.slice(0, s.start)}${text.slice(s.end)}`;
  }
  return text;
}
