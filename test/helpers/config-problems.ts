// Malformed config files and the problem each must give, for every parser's tests.
import { expect } from 'vitest';

/** A file's text from its lines. */
export const lines = (...l: string[]): string => `${l.join('\n')}\n`;

/** A malformed input: it must give a problem on `line`, of `severity` (default error), whose message has `fragment`. */
export interface BadInput {
  name: string;
  text: string;
  line: number;
  severity?: 'error' | 'warning';
  fragment: string;
}

export function expectProblem(problems: readonly { file: string; line: number; severity: string; message: string }[], file: string, bad: BadInput): void {
  expect(problems).toContainEqual({ file, line: bad.line, severity: bad.severity ?? 'error', message: expect.stringContaining(bad.fragment) });
}
