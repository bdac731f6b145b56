/**
 * @rmt/budget — the dynamic token budget of RMT (METHOD.md §2): budget schedules and length rewards.
 * Pure numbers: no tensors, no dependencies beyond zod.
 */
export { budgetConfigSchema, createBudgetSchedule, type BudgetConfig, type BudgetConfigInput } from './config.js';
export {
  AdaptiveSchedule,
  type AdaptiveState,
  ConstantSchedule,
  ExponentialSchedule,
  LinearSchedule,
  budgetAt,
  type BudgetObservation,
  type BudgetSchedule,
} from './schedules.js';
export {
  combineRewards,
  cutoffLengthReward,
  lengthReward,
  triangularLengthReward,
  type LengthRewardKind,
} from './length-reward.js';
