import { z } from 'zod';

/** Curriculum settings (METHOD.md §3). */
export const curriculumConfigSchema = z
  .object({
    sampler: z
      .string()
      .min(1)
      .default('curriculum')
      .describe(
        "Sampler name: 'curriculum' (RMT), 'entropy-filtered' (RPT), 'uniform', or an installed sampler package (METHOD.md §3).",
      ),
    options: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("The sampler's own options (curriculum: t1, t2, p1, p2 — METHOD.md §3)."),
    scorer: z
      .string()
      .min(1)
      .default('base')
      .describe(
        "Model whose entropy scores the training sites (METHOD.md §3): 'base' (the frozen starting checkpoint) or the path of another model with the same tokenizer (RPT: a small proxy). Evaluation splits stay the base's (METHOD.md §6).",
      ),
    measure: z
      .enum(['top-k', 'full'])
      .default('top-k')
      .describe('Entropy measure for difficulty (METHOD.md §3: top-k as RPT, or full vocabulary).'),
    k: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(16)
      .describe('k of the top-k entropy (METHOD.md §3).'),
    tiers: z
      .union([
        z.object({ mode: z.literal('thresholds'), thresholds: z.tuple([z.number(), z.number(), z.number()]) }).strict(),
        z
          .object({
            mode: z.literal('quantiles'),
            quantiles: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)]),
          })
          .strict(),
      ])
      .default({ mode: 'thresholds', thresholds: [0.5, 1.0, 1.5] })
      .describe(
        'Tier rule (METHOD.md §3): thresholds in nats (0.5/1.0/1.5), or quantiles of the scored sites for tiny models.',
      ),
    scoreBatch: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(32)
      .describe('Windows per scoring forward pass.'),
  })
  .strict();

export type CurriculumConfig = z.output<typeof curriculumConfigSchema>;
export type CurriculumConfigInput = z.input<typeof curriculumConfigSchema>;
