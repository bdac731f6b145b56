/**
 * @rmt/dual-loss — the dual objective of RMT (METHOD.md §4): GRPO group advantages, the token-level clipped
 * policy loss, KL to a reference, masked next-token cross-entropy, and L = L_RL + λ·L_NTP.
 */
export { groupAdvantages, type GroupAdvantages } from './advantages.js';
export {
  aggregate,
  clippedPolicyLoss,
  dualLoss,
  klPerToken,
  ntpLoss,
  type KlEstimator,
  type LossAggregation,
  type NtpLossInput,
  type PolicyLossInput,
} from './losses.js';
export { dualLossConfigSchema, type DualLossConfig, type DualLossConfigInput } from './config.js';
