// Config problems, as every agent reports them: FILE:LINE: SEVERITY: what was found; expected what.

export interface ConfigProblem {
  file: string;
  /** 0 stands for the file as a whole (e.g. a required file that is missing). */
  line: number;
  severity: 'error' | 'warning';
  message: string;
}

/**
 * Input quoted in a message: control characters shown as '?' and long input cut, so that a
 * problem stays one readable line whatever a user (or a fuzzer) put in the file.
 */
export function shorten(s: string, max = 40): string {
  const p = printable(s);
  return p.length > max ? `${p.slice(0, max)}…` : p;
}

/** Control characters shown as '?': quoted input cannot break a message into lines. */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, '?');
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}: ${p.severity}: ${p.message}`;
}

/**
 * What every agent's --dry-run prints: each problem on `err` (a string is a problem already
 * said, such as an unreadable file, and counts as an error), then the plan on `out`. The exit
 * status: 1 when any problem is an error, else 0.
 */
export function printDryRun(problems: readonly (ConfigProblem | string)[], plan: string, out: (s: string) => void, err: (s: string) => void): number {
  for (const p of problems) err(`${typeof p === 'string' ? p : formatProblem(p)}\n`);
  out(plan);
  return problems.some((p) => typeof p === 'string' || p.severity === 'error') ? 1 : 0;
}

/** How a parser tells of a problem; the file is the collector's. */
export type Report = (line: number, severity: ConfigProblem['severity'], message: string) => void;

interface Collector {
  problems: ConfigProblem[];
  report: Report;
}

export function collector(file: string): Collector {
  const problems: ConfigProblem[] = [];
  return { problems, report: (line, severity, message) => problems.push({ file, line, severity, message }) };
}
