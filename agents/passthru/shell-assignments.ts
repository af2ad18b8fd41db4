// The POSIX shell subset uds_passthru.conf is written in: `NAME=VALUE` statements, quoting and
// ${NAME} expansion, read without ever running anything. Anything else (commands, substitutions,
// special parameters) is reported with its line, and the statements after it still parse.
import { shorten, type Report } from '../common/problems';

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

export interface Assignment {
  name: string;
  line: number;
  value: Value;
}

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r';
const isNameStart = (c: string | undefined): boolean => c !== undefined && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_');
const isNameChar = (c: string | undefined): boolean => isNameStart(c) || (c !== undefined && c >= '0' && c <= '9');

/**
 * Reads `NAME=VALUE` statements one at a time. Each assignment is kept as it is
 * read, so expansion sees only variables assigned earlier, as the shell would.
 */
export class AssignmentReader {
  private pos = 0;
  private line = 1;
  /** Set by an unterminated quote or substitution: nothing after it can be read reliably. */
  stopped = false;
  private readonly vars = new Map<string, Value>();

  constructor(
    private readonly src: string,
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
        this.report(
          line,
          'error',
          `found '${this.firstWord(start)}' where a setting was expected; expected NAME=VALUE (commands, export and other shell syntax are not supported)`,
        );
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
        this.report(
          this.line,
          'error',
          `found '${this.firstWord(this.pos)}' after the value of ${name}; expected end of line or a # comment (quote values that contain spaces)`,
        );
        value.poison(this.line);
        this.skipRestOfCommand();
        if (this.stopped) return null;
      }
      const assignment: Assignment = { name, line, value: value.build() };
      this.vars.set(name, assignment.value);
      return assignment;
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
    this.report(
      openLine,
      'error',
      `unterminated ${kind} quote (${quote}) opened on this line; expected a closing ${quote} before the end of the file (parsing stopped here)`,
    );
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
        this.report(
          this.line,
          'error',
          `found '${c}' in the value of ${name}; expected one NAME=VALUE per line (quote the value if '${c}' is meant literally)`,
        );
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
      this.report(
        openLine,
        'error',
        `unterminated command substitution '${opener}' opened on this line; expected a closing ${close} before the end of the file (parsing stopped here)`,
      );
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
