import { z } from 'zod';

/** Dual-objective settings (METHOD.md §4). */
export const dualLossConfigSchema = z
  .object({
    epsilon: z.number().positive().lt(1).default(0.2).describe('Clip range ε of the policy ratio (METHOD.md §4).'),
    delta: z.number().positive().default(1e-6).describe('δ in A = (r − mean)/(std + δ) (METHOD.md §4).'),
    beta: z
      .number()
      .nonnegative()
      .default(0)
      .describe('KL weight β to the reference policy; 0 skips the KL entirely (METHOD.md §4, as RPT).'),
    klEstimator: z.enum(['k1', 'k3']).default('k3').describe('KL estimator when β > 0 (ours).'),
    lambda: z.number().nonnegative().default(0.1).describe('λ, the weight of the NTP term (METHOD.md §4).'),
    rlAggregation: z
      .enum(['token-mean', 'sequence-mean'])
      .default('token-mean')
      .describe('Normalisation of the RL term (METHOD.md §4: a documented choice; ours: token-mean).'),
    ntpAggregation: z
      .enum(['token-mean', 'sequence-mean'])
      .default('token-mean')
      .describe('Normalisation of the NTP term (METHOD.md §4; ours: token-mean).'),
  })
  .strict();

export type DualLossConfig = z.output<typeof dualLossConfigSchema>;
export type DualLossConfigInput = z.input<typeof dualLossConfigSchema>;
