// Small statistics over the benches' samples: medians, nearest-rank percentiles, a summary.

export interface Summary {
  n: number;
  median: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

/** Nearest-rank percentile of sorted values (p in 0..100). */
function nearestRank(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function medianOfSorted(sorted: readonly number[]): number {
  const n = sorted.length;
  return n % 2 ? nearestRank(sorted, 50) : n ? (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2 : NaN;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  return nearestRank(ascending(values), p);
}

export function median(values: readonly number[]): number {
  return medianOfSorted(ascending(values));
}

/** The median of the values that are there (null and undefined left out); null when none is. */
export function medianOfPresent(values: readonly (number | null | undefined)[]): number | null {
  const present = values.filter((x): x is number => x !== null && x !== undefined);
  return present.length ? median(present) : null;
}

/** The median only when every value is there: null when one is missing (or there are none). */
export function medianOfAll(values: readonly (number | null)[]): number | null {
  return values.length && values.every((x) => x !== null) ? median(values as number[]) : null;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = ascending(values);
  const n = sorted.length;
  return {
    n,
    median: medianOfSorted(sorted),
    p99: nearestRank(sorted, 99),
    mean: n ? sorted.reduce((a, b) => a + b, 0) / n : NaN,
    min: n ? sorted[0]! : NaN,
    max: n ? sorted[n - 1]! : NaN,
  };
}
