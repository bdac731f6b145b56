// Length rewards and the reward combination of METHOD.md §2.

export type LengthRewardKind = 'triangular' | 'cutoff';

/**
 * Triangular length reward: rises linearly to r_max at ℓ = B, falls linearly to 0 at ℓ = 2B, 0 beyond.
 * r_len = r_max·ℓ/B (ℓ ≤ B), r_max·(2B − ℓ)/B (B < ℓ ≤ 2B), 0 otherwise. A zero budget pays r_max only
 * for no reasoning at all.
 */
export function triangularLengthReward(length: number, budget: number, rMax = 1): number {
  if (length < 0 || !Number.isFinite(length)) throw new Error(`length reward: invalid reasoning length ${length}`);
  if (budget <= 0) return length === 0 ? rMax : 0;
  if (length <= budget) return (rMax * length) / budget;
  if (length <= 2 * budget) return (rMax * (2 * budget - length)) / budget;
  return 0;
}

/** Hard cut-off: r_max within the budget, 0 beyond it. */
export function cutoffLengthReward(length: number, budget: number, rMax = 1): number {
  if (length < 0 || !Number.isFinite(length)) throw new Error(`length reward: invalid reasoning length ${length}`);
  return length <= budget ? rMax : 0;
}

export function lengthReward(kind: LengthRewardKind, length: number, budget: number, rMax = 1): number {
  return kind === 'triangular'
    ? triangularLengthReward(length, budget, rMax)
    : cutoffLengthReward(length, budget, rMax);
}

/**
 * r = (1 − w)·r_match + w·r_len (METHOD.md §2). With `onlyWhenCorrect`, the length term is paid only when the
 * prediction is correct, so a short wrong answer earns nothing.
 */
export function combineRewards(match: number, length: number, weight: number, onlyWhenCorrect = false): number {
  const lengthTerm = onlyWhenCorrect && match <= 0 ? 0 : length;
  return (1 - weight) * match + weight * lengthTerm;
}
