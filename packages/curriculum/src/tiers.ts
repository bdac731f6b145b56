// Difficulty tiers (METHOD.md §3) and the two-phase tier schedule.

export const TIERS = ['easy', 'medium', 'hard'] as const;
export type Tier = (typeof TIERS)[number];
/** Tier index per site: 0 easy, 1 medium, 2 hard, −1 below the lowest threshold (never RL). */
export type TierIndex = -1 | 0 | 1 | 2;

export type TierRule =
  | { mode: 'thresholds'; thresholds: [number, number, number] }
  | { mode: 'quantiles'; quantiles: [number, number, number] };

/** Quantile q of values (linear interpolation between order statistics). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** The three thresholds a rule gives on these entropies (quantiles are turned into values). */
export function tierThresholds(entropies: readonly number[], rule: TierRule): [number, number, number] {
  if (rule.mode === 'thresholds') return rule.thresholds;
  return rule.quantiles.map((q) => quantile(entropies, q)) as [number, number, number];
}

/**
 * easy [τ₀, τ₁), medium [τ₁, τ₂), hard ≥ τ₂; below τ₀ a site never gets RL (METHOD.md §3: 0.5 / 1.0 / 1.5
 * nats on top-16 entropy). NaN entropies are never RL.
 */
export function assignTiers(entropies: readonly number[], thresholds: readonly [number, number, number]): TierIndex[] {
  const [t0, t1, t2] = thresholds;
  if (!(t0 <= t1 && t1 <= t2)) throw new Error(`tier thresholds must be non-decreasing, got ${thresholds.join(', ')}`);
  return entropies.map((h) => (!(h >= t0) ? -1 : h < t1 ? 0 : h < t2 ? 1 : 2));
}

export interface TierSchedule {
  /** Transition points as fractions of training (METHOD.md §3: 0.3, 0.7). */
  t1: number;
  t2: number;
  /** Tier distributions (easy, medium, hard) before t1 and after t2 (METHOD.md §3, ours: 0.6/0.3/0.1 → 0.1/0.3/0.6). */
  p1: [number, number, number];
  p2: [number, number, number];
}

/** p_t: p1 before t1·T, linear interpolation in [t1·T, t2·T), p2 after (METHOD.md §3). */
export function tierProbabilities(step: number, total: number, s: TierSchedule): [number, number, number] {
  const f = total > 0 ? step / total : 0;
  if (f < s.t1) return [...s.p1];
  if (f >= s.t2) return [...s.p2];
  const a = (f - s.t1) / (s.t2 - s.t1);
  return s.p1.map((p, i) => p + (s.p2[i]! - p) * a) as [number, number, number];
}
