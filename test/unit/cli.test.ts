// The option parsing every agent shares (the bundles' own --help/--version: test/lab/cli.test.ts).
import { describe, expect, it } from 'vitest';
import { numberOption, UsageError } from '../../agents/common/cli';

describe("agents' command line", () => {
  it('numbers: plain decimal only, in range, whole where it must be', () => {
    expect(numberOption('n', '64', 1, 4096, true)).toBe(64);
    expect(numberOption('t', '0.5', 0, 10)).toBe(0.5);
    for (const v of ['1.5', '0x10', '1e3', ' 5', '', '-1', '5000']) {
      expect(() => numberOption('n', v, 1, 4096, true), v).toThrow(UsageError);
    }
    expect(() => numberOption('t', '11', 0, 10)).toThrow(/expected a number from 0 to 10, got '11'/);
  });
});
