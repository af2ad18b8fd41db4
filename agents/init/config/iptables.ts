// iptables / ip6tables files in iptables-save format. The text goes to
// iptables-restore unchanged; this only checks its shape, so a broken file is
// reported with its line before the firewall is half applied.
import { collector, shorten, type ConfigProblem } from '../../common/problems';
import { splitLines } from './lines';

const TABLES = new Set(['filter', 'nat', 'mangle', 'raw', 'security']);
const EXPECTED = 'expected *TABLE, :CHAIN POLICY [0:0], -A CHAIN …, COMMIT or a # comment';
const COUNTERS = /^\[[0-9]+:[0-9]+\]$/;
const COMMANDS = new Set([
  '-A',
  '--append',
  '-I',
  '--insert',
  '-D',
  '--delete',
  '-R',
  '--replace',
  '-N',
  '--new-chain',
  '-X',
  '--delete-chain',
  '-F',
  '--flush',
  '-Z',
  '--zero',
  '-P',
  '--policy',
]);

export function checkIptablesRestore(text: string, file: string): ConfigProblem[] {
  const { problems, report } = collector(file);
  let open: { name: string; line: number } | null = null;
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const l = (lines[i] as string).trim();
    if (l === '' || l.startsWith('#')) continue;
    const w = l.split(/\s+/);
    const first = w[0] as string;

    if (first.startsWith('*')) {
      if (open !== null) {
        report(
          open.line,
          'error',
          `table *${shorten(open.name)} is not closed by COMMIT before *${shorten(first.slice(1))} on line ${line}; expected COMMIT at the end of each table`,
        );
      }
      const name = first.slice(1);
      if (w.length !== 1 || !TABLES.has(name)) {
        report(line, 'error', `found table '${shorten(l)}'; expected one of *${[...TABLES].join(', *')}`);
      }
      open = { name, line };
    } else if (first === 'COMMIT') {
      if (open === null) report(line, 'error', `found COMMIT with no table open; expected a *TABLE line before it`);
      else if (w.length !== 1) report(line, 'error', `found '${shorten(l)}'; expected COMMIT alone on its line`);
      open = null;
    } else if (open === null && (first.startsWith(':') || first.startsWith('-') || first.startsWith('['))) {
      report(line, 'error', `found '${shorten(l)}' outside a table; expected a *TABLE line before chains and rules`);
    } else if (first.startsWith(':')) {
      const ok = first.length > 1 && (w.length === 2 || (w.length === 3 && COUNTERS.test(w[2] as string))) && /^([A-Z]+|-)$/.test(w[1] ?? '');
      if (!ok) report(line, 'error', `found chain line '${shorten(l)}'; expected :CHAIN POLICY [packets:bytes], e.g. :INPUT ACCEPT [0:0]`);
    } else {
      const cmd = COUNTERS.test(first) ? w[1] : first;
      const chainIndex = COUNTERS.test(first) ? 2 : 1;
      if (cmd === undefined || !COMMANDS.has(cmd)) {
        report(line, 'error', `found '${shorten(l)}'; ${EXPECTED}`);
      } else if (
        w[chainIndex] === undefined &&
        cmd !== '-F' &&
        cmd !== '--flush' &&
        cmd !== '-Z' &&
        cmd !== '--zero' &&
        cmd !== '-X' &&
        cmd !== '--delete-chain'
      ) {
        report(line, 'error', `${cmd} has no chain; expected ${cmd} CHAIN …`);
      }
    }
  }
  if (open !== null) {
    report(
      open.line,
      'error',
      `table *${shorten(open.name)} is not closed by COMMIT; expected COMMIT at the end of each table (iptables-restore would apply nothing)`,
    );
  }
  problems.sort((a, b) => a.line - b.line);
  return problems;
}
