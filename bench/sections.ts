// A generated document (docs/BENCHMARKS.md, docs/RELIABILITY.md) holds one section per command
// between its own markers: each run replaces its section and leaves the others as they are.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lab/paths';
import type { Log } from './harness';

export interface SectionMarks {
  start: string;
  end: string;
}

/**
 * A section's text: its `## title` and its blocks of lines between its marks, a blank line
 * before each block.
 */
export function sectionText(marks: SectionMarks, title: string, blocks: readonly (readonly string[])[]): string {
  return [marks.start, `## ${title}`, ...blocks.flatMap((b) => ['', ...b]), marks.end].join('\n');
}

/** A document of docs/: its file name, and what it starts with when a run creates it. */
export interface Doc {
  name: string;
  header: string;
}

const BENCHMARKS_DOC: Doc = {
  name: 'BENCHMARKS.md',
  header: '# Benchmarks\n\nEvery figure here comes from a command in this repo; machines are shared and noisy, so compare ratios measured in the same run.\n',
};

/** Writes or replaces the section between its marks; appends it when they are missing. */
function replaceSection(file: string, section: string, marks: SectionMarks, header: string): void {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : header;
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
 * Why a run leaves its document as it is (`partial`'s reason, or a quick run: `--quick` counts
 * also for a bench without smaller sizes of its own), or null to write it; --write writes anyway.
 */
export function leftAlone(partial: string | null, argv: readonly string[]): string | null {
  if (argv.includes('--write')) return null;
  return partial ?? (argv.includes('--quick') ? 'quick run' : null);
}

/**
 * Prints a section and writes it into its document (docs/BENCHMARKS.md unless `doc` says
 * otherwise), unless the run is not a full one (`partial` says why) and --write was not given.
 */
export function publishSection(section: string, marks: SectionMarks, partial: string | null, argv: readonly string[], log: Log, doc = BENCHMARKS_DOC): void {
  process.stdout.write(`${section}\n`);
  const why = leftAlone(partial, argv);
  if (why) {
    log(`${why}: docs/${doc.name} left as it is (add --write to replace its section anyway)`);
  } else {
    const file = join(repoRoot(), 'docs', doc.name);
    replaceSection(file, section, marks, doc.header);
    log(`wrote ${file}`);
  }
}
