import { z } from 'zod';
import { DEFAULT_SYNTHETIC, SYNTHETIC_SLOTS, type SyntheticOptions } from './synthetic.js';

/**
 * Task knobs of the embedded synthetic corpus (README, "The synthetic task": what each changes in the base,
 * measured by tools/synthetic-tiers.mjs). The defaults are today's corpus, exactly.
 */
export const syntheticConfigSchema = z
  .object({
    overthink: z
      .enum(['wrong', 'redundant'])
      .default('wrong')
      .describe(
        "What the base's long traces are: 'wrong' (explicit steps the base gets wrong on long lines, so reward alone shortens them; the committed base-model) or 'redundant' (the concise trace re-checked, as accurate, so only a length pressure shortens them; base-model-redundant). Picks the embedded base.",
      ),
    minDigits: z
      .number()
      .int()
      .min(1)
      .max(SYNTHETIC_SLOTS)
      .default(DEFAULT_SYNTHETIC.minDigits)
      .describe('Fewest digits in a line (difficulty range; 1–6, the slots the embedded bases read).'),
    maxDigits: z
      .number()
      .int()
      .min(1)
      .max(SYNTHETIC_SLOTS)
      .default(DEFAULT_SYNTHETIC.maxDigits)
      .describe('Most digits in a line (difficulty range: 5–6-digit lines are what the base fails; 1–6).'),
    repeatProbability: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe(
        'Probability that an operand digit repeats the one before it: text next-token prediction can learn and RL alone can forget (the NTP term shows in all-token accuracy / NLL); 0 = random digits.',
      ),
  })
  .strict()
  .refine((s) => s.minDigits <= s.maxDigits, { message: 'minDigits must be at most maxDigits', path: ['minDigits'] });

export type SyntheticConfig = z.output<typeof syntheticConfigSchema>;

/** The generator's options for a config's knobs (the pretraining trace shares stay the embedded task's). */
export function syntheticOptionsOf(c: SyntheticConfig): SyntheticOptions {
  return {
    ...DEFAULT_SYNTHETIC,
    minDigits: c.minDigits,
    maxDigits: c.maxDigits,
    overthink: c.overthink,
    repeatProbability: c.repeatProbability,
  };
}

const SYNTHETIC_DEFAULTS: SyntheticConfig = syntheticConfigSchema.parse({});

/** Knobs of data.synthetic set away from their defaults (named in the error when the corpus is a file). */
export function changedSyntheticKnobs(c: SyntheticConfig): string[] {
  return (Object.keys(SYNTHETIC_DEFAULTS) as (keyof SyntheticConfig)[])
    .filter((k) => c[k] !== SYNTHETIC_DEFAULTS[k])
    .map((k) => `data.synthetic.${k}`);
}

/** Data settings (METHOD.md §1 and §3). */
export const dataConfigSchema = z
  .object({
    corpus: z
      .union([
        z.literal('synthetic').describe('The embedded synthetic checksum corpus (ours).'),
        z
          .object({
            path: z.string().min(1).describe('File or folder of .txt / .jsonl files.'),
            format: z.enum(['auto', 'text', 'jsonl']).default('auto').describe('How to read the files.'),
            field: z
              .union([z.string().min(1), z.array(z.string().min(1)).min(1).max(64)])
              .default('auto')
              .describe(
                "JSONL field holding the text, or a list of fields joined with joinWith; 'auto' reads each file's shape from its first row: text, else GSM8K's question + answer, else MATH's problem + solution.",
              ),
            joinWith: z
              .string()
              .default('\n\n')
              .describe(
                'JSONL with a list of fields (or a GSM8K / MATH shape): what goes between the fields of a row.',
              ),
            separator: z.string().default('<|endoftext|>').describe('Document separator in text files.'),
            maxDocuments: z
              .number()
              .int()
              .positive()
              .max(100_000_000)
              .nullable()
              .default(null)
              .describe(
                'Keep only the first N documents in reading order (null = all); the last tenth of them is held out.',
              ),
          })
          .strict(),
      ])
      .default('synthetic')
      .describe('Mid-training corpus (METHOD.md §1).'),
    synthetic: syntheticConfigSchema
      .default(SYNTHETIC_DEFAULTS)
      .describe('Synthetic corpus: task knobs (ours; README, "The synthetic task").'),
    documents: z
      .number()
      .int()
      .positive()
      .max(1_000_000)
      .default(2000)
      .describe('Synthetic corpus: number of documents (ours).'),
    heldOutDocuments: z
      .number()
      .int()
      .positive()
      .max(1_000_000)
      .default(400)
      .describe('Synthetic corpus: held-out documents for evaluation (ours).'),
    windowLength: z
      .number()
      .int()
      .min(2)
      .max(1 << 20)
      .default(46)
      .describe('Tokens per training window (METHOD.md §1); 46 = one synthetic document (BOS + 5 lines of 9).'),
    skipFirst: z
      .number()
      .int()
      .nonnegative()
      .max(1 << 20)
      .default(8)
      .describe('Positions at the start of a window that are never sites (METHOD.md §3, ours: 8).'),
    continuationTokens: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(8)
      .describe('Tokens of ground-truth continuation kept for the prefix reward (METHOD.md §1).'),
    sitesAfter: z
      .string()
      .nullable()
      .default(':')
      .describe(
        "Only positions right after this string are sites (synthetic: the answer digit after ':'); null = every position.",
      ),
    format: z.enum(['control-tokens', 'llm-text']).default('control-tokens').describe('Prompt format (METHOD.md §1).'),
    chatTemplate: z
      .union([z.literal('auto'), z.boolean(), z.string().min(1)])
      .default('auto')
      .describe(
        "llm-text format: put the prompt through the tokenizer's chat template ('auto': when it has one; true: required; false: plain text; a name: that one of a named-template list).",
      ),
    enableThinking: z
      .boolean()
      .default(true)
      .describe(
        "llm-text format with a chat template: the template's enable_thinking flag (Qwen3); the format asks for reasoning inside <think>.",
      ),
    promptContextTokens: z
      .number()
      .int()
      .positive()
      .max(1 << 20)
      .nullable()
      .default(7)
      .describe(
        'Control-token format: keep only the last N context tokens in the reasoning prompt (ours; synthetic: 7 = exactly the question line `3492..:`; null = all).',
      ),
  })
  .strict()
  // The knobs shape the embedded corpus only; set on a file corpus they would be silently ignored.
  .superRefine((d, ctx) => {
    const set = changedSyntheticKnobs(d.synthetic);
    if (d.corpus !== 'synthetic' && set.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['synthetic'],
        message: `${set.join(', ')} ${set.length === 1 ? 'applies' : 'apply'} to data.corpus 'synthetic' only; remove ${set.length === 1 ? 'it' : 'them'} or use the synthetic corpus`,
      });
  });

export type DataConfig = z.output<typeof dataConfigSchema>;
export type DataConfigInput = z.input<typeof dataConfigSchema>;
