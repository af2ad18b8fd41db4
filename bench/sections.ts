// docs/BENCHMARKS.md holds one section per benchmark between its own markers: each run replaces
// its section and leaves the others as they are.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const FILE_HEADER =
  '# Benchmarks\n\nEvery figure here comes from a command in this repo; machines are shared and noisy, so compare ratios measured in the same run.\n';

/** Writes or replaces the section between `startMark` and `endMark`; appends it when they are missing. */
export function replaceSection(file: string, section: string, startMark: string, endMark: string): void {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : FILE_HEADER;
  const start = text.indexOf(startMark);
  const end = text.indexOf(endMark);
  if (start >= 0 && end > start) {
    text = text.slice(0, start) + section + text.slice(end + endMark.length);
  } else {
    text = `${text.trimEnd()}\n\n${section}\n`;
  }
  writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}
