import { z } from 'zod';

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
            field: z.string().default('text').describe('JSONL field holding the text.'),
            separator: z.string().default('<|endoftext|>').describe('Document separator in text files.'),
          })
          .strict(),
      ])
      .default('synthetic')
      .describe('Mid-training corpus (METHOD.md §1).'),
    documents: z.number().int().positive().max(1_000_000).default(2000).describe('Synthetic corpus: number of documents (ours).'),
    heldOutDocuments: z.number().int().positive().max(1_000_000).default(400).describe('Synthetic corpus: held-out documents for evaluation (ours).'),
    windowLength: z.number().int().min(2).max(1 << 20).default(46).describe('Tokens per training window (METHOD.md §1); 46 = one synthetic document (BOS + 5 lines of 9).'),
    skipFirst: z.number().int().nonnegative().max(1 << 20).default(8).describe('Positions at the start of a window that are never sites (METHOD.md §3, ours: 8).'),
    continuationTokens: z.number().int().positive().max(1 << 16).default(8).describe('Tokens of ground-truth continuation kept for the prefix reward (METHOD.md §1).'),
    sitesAfter: z.string().nullable().default(':').describe("Only positions right after this string are sites (synthetic: the answer digit after ':'); null = every position."),
    format: z.enum(['control-tokens', 'llm-text']).default('control-tokens').describe('Prompt format (METHOD.md §1).'),
    promptContextTokens: z.number().int().positive().max(1 << 20).nullable().default(7).describe('Control-token format: keep only the last N context tokens in the reasoning prompt (ours; synthetic: 7 = exactly the question line `3492..:`; null = all).'),
  })
  .strict();

export type DataConfig = z.output<typeof dataConfigSchema>;
export type DataConfigInput = z.input<typeof dataConfigSchema>;
