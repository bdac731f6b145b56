// Group-relative advantages of GRPO (METHOD.md §4): A_i = (r_i − mean_G r) / (std_G r + δ), per group of G
// rollouts of the same site. Plain numbers: the trainer computes them between rollout and update.

export interface GroupAdvantages {
  /** One advantage per rollout, in input order. */
  advantages: number[];
  /** Number of distinct groups. */
  groups: number;
  /** Groups whose rewards are all equal: they carry no learning signal (TRL's frac_reward_zero_std). */
  zeroStdGroups: number;
  /** Per-group standard deviation of the rewards (population), by group id. */
  groupStd: Map<number | string, number>;
}

/**
 * Group ids are explicit (a rollout batch need not be ordered by group). std is the population standard
 * deviation over the group (ours; TRL uses the unbiased one — the difference is a constant factor per
 * group size, absorbed by the learning rate). A group of one has std 0 and advantage 0.
 */
export function groupAdvantages(
  rewards: readonly number[],
  groupIds: readonly (number | string)[],
  delta = 1e-6,
): GroupAdvantages {
  if (rewards.length !== groupIds.length)
    throw new Error(`groupAdvantages: ${rewards.length} rewards but ${groupIds.length} group ids`);
  const members = new Map<number | string, number[]>();
  rewards.forEach((r, i) => {
    if (!Number.isFinite(r)) throw new Error(`groupAdvantages: reward ${i} is ${r}`);
    const g = groupIds[i]!;
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  });
  const advantages = new Array<number>(rewards.length).fill(0);
  const groupStd = new Map<number | string, number>();
  let zeroStdGroups = 0;
  for (const [g, idx] of members) {
    const mean = idx.reduce((s, i) => s + rewards[i]!, 0) / idx.length;
    const std = Math.sqrt(idx.reduce((s, i) => s + (rewards[i]! - mean) ** 2, 0) / idx.length);
    groupStd.set(g, std);
    // Exactly equal rewards: advantages are exactly 0 (not a rounding residue amplified by 1/δ).
    if (idx.every((i) => rewards[i] === rewards[idx[0]!])) {
      zeroStdGroups++;
      continue;
    }
    for (const i of idx) advantages[i] = (rewards[i]! - mean) / (std + delta);
  }
  return { advantages, groups: members.size, zeroStdGroups, groupStd };
}
