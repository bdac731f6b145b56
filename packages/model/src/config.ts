import { z } from 'zod';

/**
 * Llama-family decoder configuration (field names as in llama2.c / Meta's reference). The upper bounds are far
 * above any model this toolkit trains, and keep a mistyped or crafted config from asking for terabytes.
 */
export const llamaConfigSchema = z
  .object({
    dim: z.number().int().positive().max(1 << 16).describe('Model width (hidden size).'),
    nLayers: z.number().int().positive().max(1024).describe('Number of transformer blocks.'),
    nHeads: z.number().int().positive().max(1024).describe('Query heads per attention layer.'),
    nKvHeads: z.number().int().positive().max(1024).describe('Key/value heads (grouped-query attention); must divide nHeads.'),
    hiddenDim: z.number().int().positive().max(1 << 18).describe('SwiGLU inner width.'),
    vocabSize: z.number().int().positive().max(1 << 22).describe('Vocabulary size.'),
    maxSeqLen: z.number().int().positive().max(1 << 20).describe('Longest sequence (prompt + generation) the model accepts.'),
    ropeTheta: z.number().positive().default(10000).describe('Rotary embedding base.'),
    normEps: z.number().positive().default(1e-5).describe('RMSNorm epsilon.'),
    positionEncoding: z
      .enum(['rope', 'learned'])
      .default('rope')
      .describe(
        "'rope' (Llama) or 'learned' absolute positions. PROTOTYPE.md: the tiny default task needs 'learned', " +
          'or RoPE lets the model learn the arithmetic directly so reasoning stops helping.',
      ),
    tieEmbeddings: z.boolean().default(true).describe('Share the token embedding with the output head.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.dim % c.nHeads !== 0) ctx.addIssue({ code: 'custom', path: ['dim'], message: `dim ${c.dim} is not divisible by nHeads ${c.nHeads}` });
    if (c.nHeads % c.nKvHeads !== 0) ctx.addIssue({ code: 'custom', path: ['nKvHeads'], message: `nHeads ${c.nHeads} is not divisible by nKvHeads ${c.nKvHeads}` });
    if (c.positionEncoding === 'rope' && (c.dim / c.nHeads) % 2 !== 0) {
      ctx.addIssue({ code: 'custom', path: ['nHeads'], message: `RoPE needs an even head dimension, got ${c.dim / c.nHeads}` });
    }
  });

export type LlamaConfigInput = z.input<typeof llamaConfigSchema>;
export type LlamaConfig = z.output<typeof llamaConfigSchema>;

/** Validate a config, naming the offending field in the error. `source` names where it came from. */
export function parseLlamaConfig(input: unknown, source = 'parseLlamaConfig'): LlamaConfig {
  const result = llamaConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${source}: invalid model config: ${problems}`);
  }
  return result.data;
}

export function headDim(config: LlamaConfig): number {
  return config.dim / config.nHeads;
}

/** Parameter count of a config (embeddings included once when tied). */
export function parameterCount(c: LlamaConfig): number {
  const hd = headDim(c);
  const perLayer = 2 * c.dim + c.dim * (c.nHeads + 2 * c.nKvHeads) * hd + c.nHeads * hd * c.dim + 3 * c.dim * c.hiddenDim;
  const positions = c.positionEncoding === 'learned' ? c.maxSeqLen * c.dim : 0;
  const head = c.tieEmbeddings ? 0 : c.vocabSize * c.dim;
  return c.vocabSize * c.dim + positions + c.nLayers * perLayer + c.dim + head;
}
