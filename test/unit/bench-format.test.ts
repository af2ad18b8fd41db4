// How the bench reports write numbers (bench/format.ts) and the medians of partial figures
// (bench/stats.ts): the ways the sections of docs/BENCHMARKS.md have always written them.
import { describe, expect, it } from 'vitest';
import { fixed3, latencyMs, mb, mbOfBytes, mbOrDash, msAsSeconds, ratio, seconds, sig3, signedPercent, wallMs, wholeSeconds } from '../../bench/format';
import { medianOfAll, medianOfPresent } from '../../bench/stats';

describe("the bench reports' numbers", () => {
  it('writes kB from /proc as MB of 10⁶ bytes, and bytes as MB', () => {
    expect(mb(10_000)).toBe('10.2');
    expect(mbOrDash(null)).toBe('—');
    expect(mbOrDash(NaN)).toBe('—');
    expect(mbOrDash(48_828)).toBe('50.0');
    expect(mbOfBytes(48e6)).toBe('48.0');
  });

  it("writes a latency finer than a program's wall time", () => {
    expect([0.1234, 12.345, 123.4].map(latencyMs)).toEqual(['0.123', '12.35', '123']);
    expect([0.1234, 12.345, 123.4].map(wallMs)).toEqual(['0.12', '12.3', '123']);
    expect(latencyMs(Infinity)).toBe('—');
    expect(wallMs(NaN)).toBe('—');
  });

  it('writes seconds, and ms as seconds', () => {
    expect([0.12345, -0.5, 1.2345, null, undefined].map(seconds)).toEqual(['0.123', '-0.500', '1.23', '—', '—']);
    expect(fixed3(1.23456)).toBe('1.235');
    expect(fixed3(null)).toBe('—');
    expect(msAsSeconds(1234)).toBe('1.234');
    expect(msAsSeconds(null, 'not reached')).toBe('not reached');
    expect(wholeSeconds(59_500)).toBe('60');
  });

  it('writes ratios, significant digits and growth', () => {
    expect(ratio(1, 3)).toBe('0.33×');
    expect([ratio(1, 0), ratio(0, 0), ratio(null, 1)]).toEqual(['—', '—', '—']);
    expect([0.58312, 21.44, 210.4, 49_851.2, NaN].map(sig3)).toEqual(['0.583', '21.4', '210', '49,851', '—']);
    expect([0.032, -0.005].map(signedPercent)).toEqual(['+3.2%', '-0.5%']);
  });
});

describe('medians of partial figures', () => {
  it('takes the figures there are, or only all of them', () => {
    expect(medianOfPresent([3, null, 1, undefined, 2])).toBe(2);
    expect(medianOfPresent([null, undefined])).toBeNull();
    expect(medianOfAll([1, 2, 3, 4])).toBe(2.5);
    expect(medianOfAll([1, null, 3])).toBeNull();
    expect(medianOfAll([])).toBeNull();
  });
});
