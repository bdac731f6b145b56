import { z } from 'zod';

/**
 * RoPE frequency scaling, as Hugging Face's `rope_scaling` / `rope_parameters` name it (modeling_rope_utils).
 * 'dynamic' (NTK) only changes the frequencies for sequences longer than `max_position_embeddings`, which
 * `maxSeqLen` (= max_position_embeddings on import) never allows, so within this model it equals the default.
 */
export const ropeScalingSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('linear'), factor: z.number().positive() }).strict(),
  z.object({ type: z.literal('dynamic'), factor: z.number().positive() }).strict(),
  z
    .object({
      type: z.literal('llama3'),
      factor: z.number().positive(),
      lowFreqFactor: z.number().positive(),
      highFreqFactor: z.number().positive(),
      originalMaxPositionEmbeddings: z.number().int().positive(),
    })
    .strict(),
]);
export type RopeScaling = z.infer<typeof ropeScalingSchema>;

/**
 * Decoder configuration (field names as in llama2.c / Meta's reference). One decoder with switches covers
 * Llama (SmolLM2), Qwen2 and Qwen3: the switches are what differs in their forward passes. The upper bounds
 * are far above any model this toolkit trains, and keep a mistyped or crafted config from asking for
 * terabytes.
 */
export const llamaConfigSchema = z
  .object({
    dim: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .describe('Model width (hidden size).'),
    nLayers: z.number().int().positive().max(1024).describe('Number of transformer blocks.'),
    nHeads: z.number().int().positive().max(1024).describe('Query heads per attention layer.'),
    nKvHeads: z
      .number()
      .int()
      .positive()
      .max(1024)
      .describe('Key/value heads (grouped-query attention); must divide nHeads.'),
    headDim: z
      .number()
      .int()
      .positive()
      .max(4096)
      .optional()
      .describe('Width of one attention head; default dim / nHeads. Qwen3 sets it independently of dim.'),
    hiddenDim: z
      .number()
      .int()
      .positive()
      .max(1 << 18)
      .describe('SwiGLU inner width.'),
    vocabSize: z
      .number()
      .int()
      .positive()
      .max(1 << 22)
      .describe('Vocabulary size.'),
    maxSeqLen: z
      .number()
      .int()
      .positive()
      .max(1 << 20)
      .describe('Longest sequence (prompt + generation) the model accepts.'),
    ropeTheta: z.number().positive().default(10000).describe('Rotary embedding base.'),
    ropeScaling: ropeScalingSchema.optional().describe('RoPE frequency scaling (Llama 3.x: llama3); none by default.'),
    normEps: z.number().positive().default(1e-5).describe('RMSNorm epsilon.'),
    positionEncoding: z
      .enum(['rope', 'learned'])
      .default('rope')
      .describe(
        "'rope' (Llama) or 'learned' absolute positions. measured on the tiny default task: it needs 'learned', " +
          'or RoPE lets the model learn the arithmetic directly so reasoning stops helping.',
      ),
    tieEmbeddings: z.boolean().default(true).describe('Share the token embedding with the output head.'),
    activation: z
      .enum(['silu', 'gelu_tanh'])
      .default('silu')
      .describe("MLP gate activation: 'silu' (SwiGLU) or 'gelu_tanh' (HF gelu_pytorch_tanh / gelu_new)."),
    qkvBias: z.boolean().default(false).describe('Bias on the q/k/v projections (Qwen2; Llama/Qwen3 attention_bias).'),
    oBias: z.boolean().default(false).describe('Bias on the attention output projection (Llama/Qwen3 attention_bias).'),
    mlpBias: z.boolean().default(false).describe('Bias on gate/up/down projections (Llama mlp_bias).'),
    qkNorm: z
      .boolean()
      .default(false)
      .describe('Per-head RMSNorm of queries and keys over headDim, before RoPE (Qwen3).'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.headDim === undefined && c.dim % c.nHeads !== 0)
      ctx.addIssue({ code: 'custom', path: ['dim'], message: `dim ${c.dim} is not divisible by nHeads ${c.nHeads}` });
    if (c.nHeads % c.nKvHeads !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['nKvHeads'],
        message: `nHeads ${c.nHeads} is not divisible by nKvHeads ${c.nKvHeads}`,
      });
    const hd = c.headDim ?? c.dim / c.nHeads;
    if (c.positionEncoding === 'rope' && hd % 2 !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: [c.headDim === undefined ? 'nHeads' : 'headDim'],
        message: `RoPE needs an even head dimension, got ${hd}`,
      });
    }
    if (c.ropeScaling?.type === 'llama3' && c.ropeScaling.highFreqFactor <= c.ropeScaling.lowFreqFactor) {
      // The llama3 ramp divides by (high − low): equal factors give NaN frequencies.
      ctx.addIssue({
        code: 'custom',
        path: ['ropeScaling', 'highFreqFactor'],
        message: 'llama3 RoPE needs highFreqFactor > lowFreqFactor',
      });
    }
    if (c.positionEncoding === 'learned' && c.ropeScaling)
      ctx.addIssue({ code: 'custom', path: ['ropeScaling'], message: 'RoPE scaling with learned positions' });
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
  return config.headDim ?? config.dim / config.nHeads;
}

/** Parameter count of a config (embeddings included once when tied). */
export function parameterCount(c: LlamaConfig): number {
  const hd = headDim(c);
  const qkv = (c.nHeads + 2 * c.nKvHeads) * hd;
  const biases = (c.qkvBias ? qkv : 0) + (c.oBias ? c.dim : 0) + (c.mlpBias ? 2 * c.hiddenDim + c.dim : 0);
  const perLayer =
    2 * c.dim + c.dim * qkv + c.nHeads * hd * c.dim + 3 * c.dim * c.hiddenDim + biases + (c.qkNorm ? 2 * hd : 0);
  const positions = c.positionEncoding === 'learned' ? c.maxSeqLen * c.dim : 0;
  const head = c.tieEmbeddings ? 0 : c.vocabSize * c.dim;
  return c.vocabSize * c.dim + positions + c.nLayers * perLayer + c.dim + head;
}

/**
 * RoPE inverse frequencies, one per pair of head dimensions, as transformers' modeling_rope_utils computes
 * them for each rope type (in float64 here; HF uses float32, a difference far below bf16 weights' noise).
 */
export function ropeInverseFrequencies(c: LlamaConfig): Float64Array {
  const hd = headDim(c);
  const half = hd / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / c.ropeTheta ** ((2 * i) / hd);
  const s = c.ropeScaling;
  if (s?.type === 'linear') for (let i = 0; i < half; i++) inv[i]! /= s.factor;
  else if (s?.type === 'llama3') {
    // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, and the band between the two
    // wavelength bounds interpolated smoothly.
    const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const f = inv[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowWavelen) inv[i] = f / s.factor;
      else if (wavelen >= highWavelen) {
        const smooth =
          (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = ((1 - smooth) * f) / s.factor + smooth * f;
      }
    }
  }
  // 'dynamic': unchanged up to max_position_embeddings (see ropeScalingSchema), and longer is refused.
  return inv;
}
