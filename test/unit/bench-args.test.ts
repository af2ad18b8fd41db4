// The benches' number options (bench/args.ts): the value, whether it was given, and the refusal.
import { describe, expect, it } from 'vitest';
import { numberOption, runsOption, wholeFrom } from '../../bench/args';

describe("a bench's number option", () => {
  it('gives the number after the option, or the fallback when the option is not there', () => {
    expect(runsOption(['--quick', '--runs', '3'], 5)).toEqual({ value: 3, given: true });
    expect(runsOption(['--quick'], 5)).toEqual({ value: 5, given: false });
    expect(numberOption([], '--host-reboot', null, wholeFrom(0), 'seconds')).toEqual({ value: null, given: false });
    expect(numberOption(['--host-reboot', '0'], '--host-reboot', null, wholeFrom(0), 'seconds')).toEqual({ value: 0, given: true });
  });

  it('refuses what it does not take, naming the option, what it expects and what it got', () => {
    expect(() => runsOption(['--runs', '0'], 5)).toThrow("--runs: expected a whole number from 1, got '0'");
    expect(() => runsOption(['--runs', '2.5'], 5)).toThrow("--runs: expected a whole number from 1, got '2.5'");
    expect(() => runsOption(['--runs'], 5)).toThrow("--runs: expected a whole number from 1, got 'undefined'");
    expect(() => numberOption(['--minutes', '-1'], '--minutes', 10, (n) => n > 0, 'minutes above 0')).toThrow("--minutes: expected minutes above 0, got '-1'");
  });
});
