// The benches' options that take a number (`--runs 3`): read one way, each refusal naming the
// option, what it expects and what it got.

/** `name N`: N when `name` is given (an error unless `valid`), else `fallback`; `given` says which. */
export function numberOption<F>(
  argv: readonly string[],
  name: string,
  fallback: F,
  valid: (n: number) => boolean,
  expected: string,
): { value: number | F; given: boolean } {
  const at = argv.indexOf(name);
  if (at < 0) return { value: fallback, given: false };
  const value = Number(argv[at + 1]);
  if (!valid(value)) throw new Error(`${name}: expected ${expected}, got '${argv[at + 1]}'`);
  return { value, given: true };
}

/** A whole number from `min` on. */
export const wholeFrom =
  (min: number) =>
  (n: number): boolean =>
    Number.isInteger(n) && n >= min;

/** `--runs N`: how many runs (from 1), or `fallback`. */
export function runsOption(argv: readonly string[], fallback: number): { value: number; given: boolean } {
  return numberOption(argv, '--runs', fallback, wholeFrom(1), 'a whole number from 1');
}
