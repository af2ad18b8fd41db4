// Property-based fuzzing with fast-check: the upstream samples under random edits, arbitrary text,
// and the checks every parser's result must pass whatever the input. One seed for all: a failure
// prints its seed and path, and `{ seed, path }` in fc.assert replays that very input.
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import { UPSTREAM } from './paths';

export const SEED = 20251111;

/** Runs `predicate` on `runs` values of `arb`, reproducibly. */
export function check<T>(arb: fc.Arbitrary<T>, runs: number, predicate: (value: T) => void): void {
  fc.assert(fc.property(arb, predicate), { seed: SEED, numRuns: runs });
}

/** No parser may take longer than this on an input of a few KB (a hang, or backtracking gone wild). */
export const MAX_MS = 200;

/** `f()`, failing when it takes MAX_MS or more. Sync code cannot be interrupted: this catches the slow, not the endless. */
export function timed<T>(what: string, f: () => T): T {
  const start = performance.now();
  const result = f();
  const ms = performance.now() - start;
  if (ms >= MAX_MS) expect.fail(`${what} took ${ms.toFixed(0)} ms; expected under ${MAX_MS} ms`);
  return result;
}

/** A sample without its comment lines and blank lines: edits then land on what is read. */
export const withoutComments = (text: string): string =>
  `${text
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s*[#;]/.test(l))
    .join('\n')}\n`;

/** An upstream sample as it is, and without its comments. */
export function upstream(...rels: string[]): string[] {
  return rels.flatMap((rel) => {
    const text = readFileSync(join(UPSTREAM, rel), 'utf8');
    return [text, withoutComments(text)];
  });
}

/** What breaks parsers written for tidy files: controls, quotes, shell, encodings, lone halves of pairs. */
export const COMMON_HAZARDS: readonly string[] = [
  '\0',
  '\r',
  '\r\n',
  '\n',
  '\n\n',
  '\t',
  '\v',
  '\f',
  ' ',
  '\\',
  '\\\n',
  '"',
  "'",
  '`',
  '$(',
  '${',
  '$',
  '#',
  ';',
  '=',
  '%%',
  '/',
  ':',
  ',',
  '.',
  '-',
  '{',
  '}',
  '[',
  ']',
  '\u00e9',
  '\u00ff',
  '\u00a0',
  '\u202e',
  '\ufeff',
  '\u2028',
  '\ud83d\ude00',
  '\ud800',
  '\x1b[2J',
];

type Edit =
  | { kind: 'cut'; at: number; length: number; twice: boolean }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'line'; i: number; j: number; op: 'swap' | 'duplicate' | 'remove' };

/** Positions are taken modulo the text's length (or line count), so any number is a valid one. */
function applyEdit(text: string, e: Edit): string {
  if (e.kind === 'line') {
    const lines = text.split('\n');
    const i = e.i % lines.length;
    const j = e.j % lines.length;
    if (e.op === 'swap') [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
    else if (e.op === 'duplicate') lines.splice(i, 0, lines[i] as string);
    else lines.splice(i, 1);
    return lines.join('\n');
  }
  const at = e.at % (text.length + 1);
  if (e.kind === 'insert') return text.slice(0, at) + e.text + text.slice(at);
  // A stretch deleted, or doubled.
  const part = text.slice(at, at + e.length);
  return text.slice(0, at) + (e.twice ? part + part : '') + text.slice(at + e.length);
}

/** Text to insert: a parser's hazard words, the common ones, a very long line, any unicode, any code units. */
function insertion(hazards: readonly string[]): fc.Arbitrary<string> {
  const words = fc.constantFrom(...hazards, ...COMMON_HAZARDS);
  return fc.oneof(
    { weight: 6, arbitrary: words },
    { weight: 1, arbitrary: fc.tuple(words, fc.integer({ min: 100, max: 2000 })).map(([w, n]) => w.repeat(Math.ceil(n / Math.max(1, w.length)))) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  );
}

function edit(hazards: readonly string[]): fc.Arbitrary<Edit> {
  const at = fc.nat();
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('cut' as const), at, length: fc.integer({ min: 1, max: 40 }), twice: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), at, text: insertion(hazards) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('line' as const),
        i: fc.nat(),
        j: fc.nat(),
        op: fc.constantFrom('swap' as const, 'duplicate' as const, 'remove' as const),
      }),
    },
  );
}

/** A sample under one to five random edits; shrinking removes edits and moves them to the start. */
export function mutated(samples: readonly string[], hazards: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...samples), fc.array(edit(hazards), { minLength: 1, maxLength: 5 }))
    .map(([sample, edits]) => edits.reduce(applyEdit, sample));
}

/** Text with no shape at all: any code units, any unicode, bytes read as UTF-8 or Latin-1, hazards in a row. */
export function anyText(hazards: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8')),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.array(fc.constantFrom(...hazards, ...COMMON_HAZARDS), { maxLength: 60 }).map((w) => w.join('')),
  );
}

/** A parser's inputs when it has no generator of plausible files: mostly its samples under edits. */
export const fuzzInputs = (samples: readonly string[], hazards: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof({ weight: 4, arbitrary: mutated(samples, hazards) }, { weight: 1, arbitrary: anyText(hazards) });

export interface Problem {
  file: string;
  line: number;
  severity: string;
  message: string;
}

/**
 * Every problem names `file` and a line that `text` has (0, the file as a whole, only when
 * `wholeFile` allows it), is an error or a warning, says what was found and what was expected
 * ("…; expected …"), and is one printable line whatever the input held.
 */
export function expectProblemsOnRealLines(problems: readonly Problem[], text: string, file: string, wholeFile = false): void {
  const lineCount = text.split('\n').length;
  for (const p of problems) {
    const ok =
      p.file === file &&
      Number.isInteger(p.line) &&
      p.line >= (wholeFile ? 0 : 1) &&
      p.line <= lineCount &&
      (p.severity === 'error' || p.severity === 'warning') &&
      p.message.includes('; expected ') &&
      !/[\x00-\x1f\x7f]/.test(p.message);
    if (!ok) expect.fail(`bad problem ${JSON.stringify(p)} for input ${JSON.stringify(text)}`);
  }
}

export const hasError = (problems: readonly Problem[]): boolean => problems.some((p) => p.severity === 'error');

// Oracles written apart from the parsers, so a parser's own mistake cannot vouch for itself.

/** A dotted quad as `ip` and the kernel take it (no leading zeros). */
export const isAddress4 = (s: string): boolean => isIPv4(s);
/** An IPv6 address without a zone. */
export const isAddress6 = (s: string): boolean => isIPv6(s) && !s.includes('%');

const quad = (s: string): bigint => s.split('.').reduce((n, p) => n * 256n + BigInt(p), 0n);
export const sameNetwork4 = (a: string, b: string, prefix: number): boolean => quad(a) >> BigInt(32 - prefix) === quad(b) >> BigInt(32 - prefix);

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 253 characters at most. */
export const isHostname = (s: string): boolean => s.length <= 253 && s.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));

export interface Fuzzed<R> {
  /** What is called, for the time limit's message. */
  name: string;
  /** The file name the parser is given, which every problem must carry. */
  file: string;
  /** Line 0, the file as a whole, is a line problems may name. */
  wholeFile?: boolean;
  parse(text: string): R;
  problems(result: R): readonly Problem[];
  /** What must hold of the result whatever the input, besides its problems. */
  sound?(result: R, text: string): void;
}

/** The Fuzzed of a parser called as parse(text, file) whose result carries its problems. */
export function fileParser<R extends { problems: readonly Problem[] }>(
  name: string,
  file: string,
  parse: (text: string, file: string) => R,
  sound?: (result: R, text: string) => void,
): Fuzzed<R> {
  return { name, file, parse: (text) => parse(text, file), problems: (r) => r.problems, ...(sound && { sound }) };
}

/**
 * The fuzz every parser gets: `runs` inputs, each call timed and its problems and result checked.
 * At least one in twenty inputs must end with an error and one in twenty without: generators that
 * only ever break the file, or never do, would test half a parser.
 */
export function fuzzParser<R>(inputs: fc.Arbitrary<string>, runs: number, p: Fuzzed<R>): void {
  let clean = 0;
  let withError = 0;
  check(inputs, runs, (text) => {
    const result = timed(p.name, () => p.parse(text));
    const problems = p.problems(result);
    expectProblemsOnRealLines(problems, text, p.file, p.wholeFile);
    p.sound?.(result, text);
    if (hasError(problems)) withError++;
    else clean++;
  });
  expect(clean, 'inputs without an error').toBeGreaterThan(runs / 20);
  expect(withError, 'inputs with an error').toBeGreaterThan(runs / 20);
}
