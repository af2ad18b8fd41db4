// Seeded fuzzing of the config parsers: samples mutated a few times each, reproducibly, and the
// check every parser's problems must pass whatever the input.
import { expect } from 'vitest';
import { rng } from './rng';

export interface Mutations {
  /** Characters inserted at random places. */
  chars: string;
  /** Words inserted at random places too: a parser's own hazards (e.g. template placeholders). */
  words?: readonly string[];
}

/** One random edit: a character deleted, doubled or inserted, a word inserted, or two lines swapped. */
function mutate(text: string, rand: () => number, m: Mutations): string {
  const pick = (n: number): number => Math.floor(rand() * n);
  const words = m.words ?? [];
  const at = pick(text.length + 1);
  const edit = pick(words.length ? 5 : 4);
  if (edit === 0) return text.slice(0, at) + text.slice(at + 1);
  if (edit === 1) return text.slice(0, at) + text.slice(at, at + 1) + text.slice(at);
  if (edit === 2) return text.slice(0, at) + m.chars[pick(m.chars.length)] + text.slice(at);
  if (edit === 3 && words.length) return text.slice(0, at) + words[pick(words.length)] + text.slice(at);
  const l = text.split('\n');
  const i = pick(l.length);
  const j = pick(l.length);
  [l[i], l[j]] = [l[j] as string, l[i] as string];
  return l.join('\n');
}

/** `count` inputs: the seeds in turn, each mutated one to four times; the same every run for one `seed`. */
export function* mutatedInputs(seeds: readonly string[], count: number, seed: number, m: Mutations): Generator<string> {
  const rand = rng(seed);
  for (let i = 0; i < count; i++) {
    let text = seeds[i % seeds.length] as string;
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n; k++) text = mutate(text, rand, m);
    yield text;
  }
}

/** Every problem names `file` and a line that `text` has, and says something. */
export function expectProblemsOnRealLines(problems: readonly { file: string; line: number; message: string }[], text: string, file: string): void {
  const lineCount = text.split('\n').length;
  for (const p of problems) {
    if (!(p.file === file && Number.isInteger(p.line) && p.line >= 1 && p.line <= lineCount && p.message.trim().length > 0)) {
      expect.fail(`bad problem ${JSON.stringify(p)} for input ${JSON.stringify(text)}`);
    }
  }
}
