// forwarding.conf: one socat command line per line, read as the old `forwarding` service read it
// (a line starting with `#` is a comment, anything after a `#` is dropped, the rest is split on
// blanks into socat's arguments), then validated. Pure: text in, typed lines and problems out.
// A line with an error is not served; the others are.
import { collector, printable, type ConfigProblem, type Report } from '../common/problems';
import { parseAddress, parseSeconds, SUPPORTED_FORMS, type ListenAddress, type TargetAddress } from './address';

export interface ForwardLine {
  line: number;
  /** The arguments joined by one blank: what identifies the line across reloads. */
  text: string;
  listen: ListenAddress;
  target: TargetAddress;
  /** socat -u: from the listening side to the target only; replies are not sent back. */
  oneWay: boolean;
  /** socat -T: close an association or connection idle this long (null: the agent's default). */
  idleTimeoutMs: number | null;
  /** socat -t: once one side has ended, close the rest after this long (null: when the other side ends, or idles). */
  closeTimeoutMs: number | null;
}

export interface ForwardConfig {
  file: string;
  lines: ForwardLine[];
  problems: ConfigProblem[];
}

const EXAMPLE = 'UDP4-RECV:11223,broadcast,reuseaddr UDP4:10.0.0.2:11223';

export function parseForwardConfig(text: string, file: string): ForwardConfig {
  const { problems, report } = collector(file);
  const lines: ForwardLine[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const n = i + 1;
    if (/^[ \t]*#/.test(raw)) return;
    const hash = raw.indexOf('#');
    const words = (hash < 0 ? raw : raw.slice(0, hash)).split(/[ \t\r\f\v]+/).filter(Boolean);
    if (!words.length) return;
    const parsed = parseLine(words, n, report);
    if (!parsed) return;
    const first = seen.get(parsed.text);
    if (first !== undefined) {
      report(n, 'warning', `the same forwarding as line ${first}; expected each line once (served once)`);
      return;
    }
    seen.set(parsed.text, n);
    lines.push(parsed);
  });
  return { file, lines, problems };
}

function parseLine(words: string[], line: number, report: Report): ForwardLine | null {
  const fail = (message: string): null => {
    // Whatever of the line the message quotes, it stays one printable line in the log.
    report(line, 'error', `${printable(message)} (line not served)`);
    return null;
  };
  let oneWay = false;
  let idleTimeoutMs: number | null = null;
  let closeTimeoutMs: number | null = null;
  let i = 0;
  // socat's own options come first; a lone '-' would be socat's STDIO address.
  for (; i < words.length && (words[i] as string).startsWith('-') && words[i] !== '-'; i++) {
    const w = words[i] as string;
    if (/^-d+$/.test(w)) {
      report(line, 'warning', `socat option ${w} (debug output) is ignored; expected no debug option here: wifibox-forward logs to syslog at its --loglevel`);
    } else if (w === '-u') {
      oneWay = true;
    } else if (w === '-4') {
      // IPv4 is all this agent forwards.
    } else if (/^-[Tt]/.test(w)) {
      const value = w.length > 2 ? w.slice(2) : words[++i];
      const seconds = value === undefined ? null : parseSeconds(value);
      if (seconds === null) return fail(`socat option ${w.slice(0, 2)} needs a time; expected ${w.slice(0, 2)} SECONDS, e.g. ${w.slice(0, 2)} 600`);
      if (w[1] === 'T') idleTimeoutMs = seconds * 1000;
      else closeTimeoutMs = seconds * 1000;
    } else {
      return fail(`socat option '${w}' is not supported; expected only -u, -T SECONDS, -t SECONDS (or -d, ignored) before the two addresses`);
    }
  }
  const addresses = words.slice(i);
  if (addresses.length !== 2) {
    return fail(`found ${addresses.length} address${addresses.length === 1 ? '' : 'es'}; expected two, as in '${EXAMPLE}'`);
  }
  const [first, second] = addresses.map(parseAddress) as [ReturnType<typeof parseAddress>, ReturnType<typeof parseAddress>];
  if ('error' in first) return fail(first.error);
  if ('error' in second) return fail(second.error);
  const listen = first.ok;
  const target = second.ok;
  if (listen.role !== 'listen') {
    const hint = target.role === 'listen' ? ': swap the two addresses' : '';
    return fail(`the first address is a target${hint}; expected the listening or receiving address first, then the target (${SUPPORTED_FORMS})`);
  }
  if (target.role !== 'target')
    return fail(`both addresses listen; expected the second to be a target, ${listen.protocol === 'udp' ? 'UDP4' : 'TCP4'}:HOST:PORT`);
  if (listen.protocol !== target.protocol) {
    const want = listen.protocol === 'udp' ? 'UDP4:HOST:PORT' : 'TCP4:HOST:PORT';
    return fail(`${words[i]?.split(':')[0]} is ${listen.protocol.toUpperCase()} but the target is ${target.protocol.toUpperCase()}; expected ${want}`);
  }
  return { line, text: words.join(' '), listen, target, oneWay, idleTimeoutMs, closeTimeoutMs };
}
