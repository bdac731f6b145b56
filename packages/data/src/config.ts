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
            field: z
              .union([z.string().min(1), z.array(z.string().min(1)).min(1).max(64)])
              .default('auto')
              .describe(
                "JSONL field holding the text, or a list of fields joined with joinWith; 'auto' reads each file's shape from its first row: text, else GSM8K's question + answer, else MATH's problem + solution.",
              ),
            joinWith: z.string().default('\n\n').describe('JSONL with a list of fields (or a GSM8K / MATH shape): what goes between the fields of a row.'),
            separator: z.string().default('<|endoftext|>').describe('Document separator in text files.'),
            maxDocuments: z.number().int().positive().max(100_000_000).nullable().default(null).describe('Keep only the first N documents in reading order (null = all); the last tenth of them is held out.'),
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
    chatTemplate: z
      .union([z.literal('auto'), z.boolean(), z.string().min(1)])
      .default('auto')
      .describe("llm-text format: put the prompt through the tokenizer's chat template ('auto': when it has one; true: required; false: plain text; a name: that one of a named-template list)."),
    enableThinking: z.boolean().default(true).describe("llm-text format with a chat template: the template's enable_thinking flag (Qwen3); the format asks for reasoning inside <think>."),
    promptContextTokens: z.number().int().positive().max(1 << 20).nullable().default(7).describe('Control-token format: keep only the last N context tokens in the reasoning prompt (ours; synthetic: 7 = exactly the question line `3492..:`; null = all).'),
  })
  .strict();

export type DataConfig = z.output<typeof dataConfigSchema>;
export type DataConfigInput = z.input<typeof dataConfigSchema>;
