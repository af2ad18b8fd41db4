// Small statistics over latency samples (milliseconds).

export interface Summary {
  n: number;
  median: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return {
    n,
    median: n % 2 ? percentile(sorted, 50) : n ? (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2 : NaN,
    p99: percentile(sorted, 99),
    mean: n ? sorted.reduce((a, b) => a + b, 0) / n : NaN,
    min: n ? sorted[0]! : NaN,
    max: n ? sorted[n - 1]! : NaN,
  };
}
