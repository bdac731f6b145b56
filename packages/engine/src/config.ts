// The rollout engine's slice of the run config (`midtrain.rollout`): where rollouts are generated — on the
// trainer's own model (`local`) or on an OpenAI-compatible server (`openai`: vLLM, SGLang, `rmt serve`) —
// how that server is reached, how often it gets the trainer's weights, and the importance-sampling
// correction for the engine/trainer mismatch (METHOD.md §7). Every key is honoured or refused by name.
import { z } from 'zod';

/** An environment variable's name (the key itself never goes in a config file, which is logged and copied). */
const envName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'must be the NAME of an environment variable holding the key (letters, digits, _), not the key itself',
  );

export const retryConfigSchema = z
  .object({
    attempts: z
      .number()
      .int()
      .min(0)
      .max(20)
      .default(4)
      .describe(
        'Retries of a request that failed to connect, timed out or got a 5xx/429 (0 = none); then the run stops with its newest checkpoint kept.',
      ),
    backoffMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(500)
      .describe('Wait before the first retry; doubled at each further one.'),
    maxBackoffMs: z.number().int().min(0).max(600_000).default(10_000).describe('Longest wait between two retries.'),
  })
  .strict();

export const tisConfigSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Weight each token of the policy loss by min(π_trainer/π_engine, cap) (truncated importance sampling; METHOD.md §7).',
      ),
    cap: z.number().min(1).max(1000).default(2).describe('C, the truncation of the importance weight.'),
  })
  .strict();

export const rolloutEngineConfigSchema = z
  .object({
    engine: z
      .enum(['local', 'openai'])
      .default('local')
      .describe(
        "Where rollouts are generated: 'local' (the trainer's model, in process) or 'openai' (an OpenAI-compatible server: vLLM, SGLang, `rmt serve`). Post-training always runs local.",
      ),
    baseUrl: z
      .url({ protocol: /^https?$/ })
      .nullable()
      .default(null)
      .describe("The server's address, e.g. http://127.0.0.1:8000 (engine: openai; required there)."),
    model: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        'The served model name sent with each request and checked in each answer (engine: openai; required there).',
      ),
    apiKeyEnv: envName
      .nullable()
      .default(null)
      .describe('NAME of the environment variable holding the bearer key (null = no key).'),
    flavor: z
      .enum(['vllm', 'sglang'])
      .default('vllm')
      .describe(
        "How weights are pushed: vllm's /collective_rpc (update_config + reload_weights; needs VLLM_SERVER_DEV_MODE=1) or sglang's /update_weights_from_disk. `rmt serve` speaks both.",
      ),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(8)
      .describe('Requests in flight at once (one per site: its G samples are one request with n = G).'),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .max(3_600_000)
      .default(120_000)
      .describe('Deadline of one request; a request past it is retried.'),
    maxResponseBytes: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 30)
      .default(64 * 2 ** 20)
      .describe('A larger answer is refused (a misbehaving server must not exhaust memory).'),
    retries: retryConfigSchema.default(retryConfigSchema.parse({})),
    syncEvery: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(1)
      .describe(
        'Push the trainer’s weights to the engine every N updates (1 = on-policy; more = faster, rollouts up to N − 1 updates stale).',
      ),
    weightsDir: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        'Folder, on a disk the engine also sees, where each weight version is written (null = <run dir>/engine-weights).',
      ),
    scoring: z
      .enum(['auto', 'local', 'engine'])
      .default('auto')
      .describe(
        "Where the curriculum's site entropies are computed: 'engine' from prompt_logprobs (top-k only), 'local' on the trainer, 'auto' = engine when engine is openai and the measure is top-k.",
      ),
    tis: tisConfigSchema.default(tisConfigSchema.parse({})),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.engine === 'openai') {
      if (c.baseUrl === null)
        ctx.addIssue({
          code: 'custom',
          path: ['baseUrl'],
          message: "required with engine: openai (the server's address, e.g. http://127.0.0.1:8000)",
        });
      if (c.model === null)
        ctx.addIssue({
          code: 'custom',
          path: ['model'],
          message: 'required with engine: openai (the served model name)',
        });
      return;
    }
    // A server setting with the local engine would be silently ignored: refuse it instead.
    for (const key of ['baseUrl', 'model', 'apiKeyEnv', 'weightsDir'] as const) {
      if (c[key] !== null)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `set, but engine is 'local' (set engine: openai, or remove ${key})`,
        });
    }
    if (c.scoring === 'engine')
      ctx.addIssue({ code: 'custom', path: ['scoring'], message: "'engine' needs engine: openai" });
  });

export type RolloutEngineConfig = z.output<typeof rolloutEngineConfigSchema>;
export type RolloutEngineConfigInput = z.input<typeof rolloutEngineConfigSchema>;
export type RetryConfig = z.output<typeof retryConfigSchema>;
export type TisConfig = z.output<typeof tisConfigSchema>;
