// The subset of the OpenAI completions API RMT speaks, with vLLM's field names (vLLM ≥ 0.10: `prompt` as
// token-id lists, `return_token_ids`, `prompt_logprobs`, `stop_token_ids`, `top_k`). The client validates
// every answer with the response schemas; `rmt serve` validates every request with the request schema.
// Ordering (vLLM's serving_completion): choices run over prompts, then over the n samples of each, and a
// choice's `index` is its place in that list — choice p·n + j is sample j of prompt p.
import { z } from 'zod';

/** The header carrying the weight version: sent by the client (the version it expects), echoed by `rmt serve` (the version that generated). */
export const WEIGHT_VERSION_HEADER = 'x-rmt-weight-version';

const tokenIds = z.array(z.number().int().nonnegative()).min(1);

export const completionRequestSchema = z
  .object({
    model: z.string().min(1),
    prompt: z.union([tokenIds, z.array(tokenIds).min(1)]),
    n: z.number().int().min(1).max(1024).default(1),
    max_tokens: z
      .number()
      .int()
      .min(0)
      .max(1 << 16)
      .default(16),
    temperature: z.number().min(0).max(100).default(1),
    top_p: z.number().gt(0).max(1).default(1),
    // vLLM: -1 (or 0) = off.
    top_k: z.number().int().min(-1).default(-1),
    seed: z.number().int().nullable().optional(),
    stop_token_ids: z.array(z.number().int().nonnegative()).max(1024).default([]),
    // Generation stops only at stop_token_ids (ours never stops at EOS by itself); accepted for vLLM parity.
    ignore_eos: z.boolean().optional(),
    logprobs: z.number().int().min(0).max(20).nullable().optional(),
    prompt_logprobs: z.number().int().min(0).max(64).nullable().optional(),
    return_token_ids: z.boolean().optional(),
    return_tokens_as_token_ids: z.boolean().optional(),
    stream: z.literal(false).optional(),
  })
  .strict();

export type CompletionRequest = z.output<typeof completionRequestSchema>;

/** One position of `prompt_logprobs`: token id (a string key) → its log-probability and rank (1 = most likely). */
const positionLogprobs = z.record(
  z.string().regex(/^\d+$/),
  z.object({
    logprob: z.number(),
    rank: z.number().int().min(1).nullable().optional(),
    decoded_token: z.string().nullable().optional(),
  }),
);

export type PositionLogprobs = z.output<typeof positionLogprobs>;

const completionChoiceSchema = z.object({
  index: z.number().int().nonnegative(),
  text: z.string().nullable().optional(),
  finish_reason: z.enum(['stop', 'length', 'abort', 'error']).nullable(),
  token_ids: z.array(z.number().int()).nullable().optional(),
  prompt_token_ids: z.array(z.number().int()).nullable().optional(),
  logprobs: z
    .object({
      token_logprobs: z.array(z.number().nullable()),
      tokens: z.array(z.string()).optional(),
      top_logprobs: z.array(z.record(z.string(), z.number()).nullable()).nullable().optional(),
      text_offset: z.array(z.number()).optional(),
    })
    .nullable()
    .optional(),
  // Element 0 is null (the first token has no context), then one record per prompt position.
  prompt_logprobs: z.array(positionLogprobs.nullable()).nullable().optional(),
});

export const completionResponseSchema = z.object({
  id: z.string().optional(),
  object: z.string().optional(),
  model: z.string(),
  choices: z.array(completionChoiceSchema),
});

export type CompletionResponse = z.output<typeof completionResponseSchema>;
export type CompletionChoice = z.output<typeof completionChoiceSchema>;

export const modelsResponseSchema = z.object({
  data: z.array(z.object({ id: z.string() }).loose()),
});

/** vLLM's `/collective_rpc` body (dev mode): a worker method and its arguments. */
export const collectiveRpcSchema = z
  .object({
    method: z.string().min(1),
    args: z.array(z.unknown()).default([]),
    kwargs: z.record(z.string(), z.unknown()).default({}),
    timeout: z.number().nullable().optional(),
  })
  .strict();

/** SGLang's `/update_weights_from_disk` body. */
export const updateFromDiskSchema = z
  .object({
    model_path: z.string().min(1),
    load_format: z.string().nullable().optional(),
    flush_cache: z.boolean().optional(),
    abort_all_requests: z.boolean().optional(),
  })
  .strict();
