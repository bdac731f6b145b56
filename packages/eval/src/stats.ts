// Confidence intervals for accuracies (METHOD.md §6: every figure with its count and an interval).

export interface Interval {
  low: number;
  high: number;
}

/**
 * Wilson score interval for a binomial proportion (95% by default, z = 1.959964). Better than the normal
 * approximation near 0 and 1 and for small n; n = 0 gives [0, 1].
 */
export function wilsonInterval(successes: number, n: number, z = 1.959963984540054): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** Mean and a 95% t-interval across seeds (n < 2: the interval is the point). */
export function meanInterval(values: readonly number[]): { mean: number } & Interval {
  const n = values.length;
  if (n === 0) return { mean: NaN, low: NaN, high: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, low: mean, high: mean };
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  // Two-sided 97.5% quantiles of Student's t for 1…10 degrees of freedom, then the normal value.
  const t = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228][n - 2] ?? 1.96;
  const half = (t * sd) / Math.sqrt(n);
  return { mean, low: mean - half, high: mean + half };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
