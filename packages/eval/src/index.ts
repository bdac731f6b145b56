/**
 * @rmt/eval — evaluation of RMT checkpoints (METHOD.md §6): next-token accuracy by the base model's entropy
 * splits, in NTP and reasoning mode, reasoning length, and confidence intervals.
 */
export {
  allTokenScores,
  evaluate,
  splitsOf,
  SPLITS,
  type AllTokens,
  type EvalOptions,
  type EvalResult,
  type Split,
  type SplitResult,
} from './evaluate.js';
export { meanInterval, median, wilsonInterval, type Interval } from './stats.js';
export { verifiableAccuracy, type VerifiableProblem, type VerifiableScore } from './verifiable.js';
export { evalConfigSchema, type EvalConfig } from './config.js';
