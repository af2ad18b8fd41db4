// docs/BENCHMARKS.md holds one section per benchmark between its own markers: each run replaces
// its section and leaves the others as they are.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lab/paths';
import type { Log } from './harness';

const FILE_HEADER =
  '# Benchmarks\n\nEvery figure here comes from a command in this repo; machines are shared and noisy, so compare ratios measured in the same run.\n';

export interface SectionMarks {
  start: string;
  end: string;
}

/** Writes or replaces the section between its marks; appends it when they are missing. */
export function replaceSection(file: string, section: string, marks: SectionMarks): void {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : FILE_HEADER;
  const start = text.indexOf(marks.start);
  const end = text.indexOf(marks.end);
  if (start >= 0 && end > start) {
    text = text.slice(0, start) + section + text.slice(end + marks.end.length);
  } else {
    text = `${text.trimEnd()}\n\n${section}\n`;
  }
  writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Prints a benchmark's section and writes it into docs/BENCHMARKS.md, unless the run is not a
 * full one (`partial` says why) and --write was not given.
 */
export function publishSection(section: string, marks: SectionMarks, partial: string | null, argv: readonly string[], log: Log): void {
  process.stdout.write(`${section}\n`);
  if (partial && !argv.includes('--write')) {
    log(`${partial}: docs/BENCHMARKS.md left as it is (add --write to replace its section anyway)`);
  } else {
    const file = join(repoRoot(), 'docs', 'BENCHMARKS.md');
    replaceSection(file, section, marks);
    log(`wrote ${file}`);
  }
}
