import { z } from 'zod';
import {
  AdaptiveSchedule,
  ConstantSchedule,
  ExponentialSchedule,
  LinearSchedule,
  type BudgetSchedule,
} from './schedules.js';

/** Budget configuration; defaults are METHOD.md §2's published 14B values unless marked (ours). */
export const budgetConfigSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'Use the dynamic budget (METHOD.md §2). Off = no budget in the prompt and no length reward (RPT, RMT w/o budget).',
      ),
    schedule: z
      .enum(['constant', 'exponential', 'linear', 'adaptive'])
      .default('exponential')
      .describe('Schedule family (METHOD.md §2): exponential is the published one; adaptive is ours.'),
    initial: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(800)
      .describe(
        'B_0, the starting budget in reasoning tokens (METHOD.md §2: 800 at 14B; scale to the model and task).',
      ),
    minimum: z
      .number()
      .int()
      .nonnegative()
      .max(1 << 16)
      .default(1)
      .describe('B_min, the floor of the budget (METHOD.md §2).'),
    gamma: z
      .number()
      .positive()
      .max(1)
      .default(0.2)
      .describe('γ: the budget falls to B_0·γ by the last step (METHOD.md §2).'),
    adaptive: z
      .object({
        rate: z.number().positive().lt(1).default(0.05).describe('Fractional budget change per step (ours).'),
        tolerance: z
          .number()
          .nonnegative()
          .default(0.02)
          .describe('Accuracy drop below the best moving average that stops shrinking (ours).'),
        emaDecay: z.number().min(0).lt(1).default(0.9).describe('Decay of the accuracy moving average (ours).'),
        lengthFloor: z
          .number()
          .nonnegative()
          .default(0.8)
          .describe('Never shrink below this × the observed mean length (ours).'),
      })
      .strict()
      .default({ rate: 0.05, tolerance: 0.02, emaDecay: 0.9, lengthFloor: 0.8 })
      .describe('Adaptive schedule settings (ours).'),
    lengthReward: z
      .enum(['triangular', 'cutoff'])
      .default('triangular')
      .describe('Length reward shape (METHOD.md §2: triangular).'),
    rMax: z.number().nonnegative().default(1).describe('r_max of the length reward (METHOD.md §2, ours).'),
    weight: z.number().min(0).max(1).default(0.2).describe('w in r = (1 − w)·r_match + w·r_len (METHOD.md §2, ours).'),
    lengthRewardOnlyWhenCorrect: z
      .boolean()
      .default(false)
      .describe('Pay the length reward only for correct predictions (METHOD.md §2 option, ours).'),
    capMultiplier: z
      .number()
      .positive()
      .max(16)
      .default(2)
      .describe('Generation is hard-capped at capMultiplier·B_t reasoning tokens (METHOD.md §2).'),
  })
  .strict();

export type BudgetConfigInput = z.input<typeof budgetConfigSchema>;
export type BudgetConfig = z.output<typeof budgetConfigSchema>;

export function createBudgetSchedule(config: BudgetConfig): BudgetSchedule {
  switch (config.schedule) {
    case 'constant':
      return new ConstantSchedule(config.initial);
    case 'exponential':
      return new ExponentialSchedule(config.initial, config.minimum, config.gamma);
    case 'linear':
      return new LinearSchedule(config.initial, config.minimum, config.gamma);
    case 'adaptive':
      return new AdaptiveSchedule(config.initial, config.minimum, config.adaptive);
  }
}
