import { z } from 'zod';

/** Evaluation settings (METHOD.md §6). */
export const evalConfigSchema = z
  .object({
    sites: z.number().int().positive().max(1_000_000).default(600).describe('Held-out sites evaluated (METHOD.md §6).'),
    thresholds: z
      .tuple([z.number(), z.number(), z.number()])
      .default([0.5, 1.0, 1.5])
      .describe('Nested split thresholds on the base model’s top-k entropy (METHOD.md §6).'),
    maxReasoningTokens: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(96)
      .describe('Reasoning cap in evaluation.'),
    batch: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(64)
      .describe('Sites per generation batch.'),
  })
  .strict();

export type EvalConfig = z.output<typeof evalConfigSchema>;
