// The trainer's slices of the run config (zod): pretraining, mid-training and post-training, each written
// once here. The runner composes them; `MidtrainSettings` is the parsed mid-training slice itself, so a
// setting has one shape from the YAML file to the loop.
import { z } from 'zod';
import { budgetConfigSchema } from '@rmt/budget';
import { curriculumConfigSchema } from '@rmt/curriculum';
import { dualLossConfigSchema } from '@rmt/dual-loss';
import { rolloutEngineConfigSchema } from '@rmt/engine';
import { llamaConfigSchema } from '@rmt/model';

export const optimizerConfigSchema = z
  .object({
    beta1: z.number().min(0).lt(1).default(0.9).describe('AdamW β₁ (METHOD.md §4).'),
    beta2: z.number().min(0).lt(1).default(0.999).describe('AdamW β₂ (METHOD.md §4).'),
    epsilon: z.number().positive().default(1e-8).describe('AdamW ε.'),
    weightDecay: z.number().min(0).default(0.01).describe('Decoupled weight decay (METHOD.md §4: 0.01).'),
    maxGradNorm: z.number().min(0).default(1).describe('Global gradient-norm clip (METHOD.md §4: 1.0); 0 = off.'),
  })
  .strict();

/** The learning-rate schedule's fields; each loop sets its own defaults. */
export const scheduleConfigFields = {
  lr: z.number().positive().describe('Peak learning rate.'),
  warmup: z.number().int().nonnegative().describe('Linear warm-up steps.'),
  decay: z.enum(['cosine', 'linear', 'constant']).default('cosine').describe('Learning-rate decay after warm-up.'),
  minLrRatio: z.number().min(0).max(1).default(0.1).describe('Final learning rate as a fraction of the peak.'),
};

export const pretrainConfigSchema = z
  .object({
    model: llamaConfigSchema
      .optional()
      .describe(
        'Architecture of a model trained from scratch (default: the embedded tiny base; vocabSize comes from the tokenizer).',
      ),
    from: z.string().nullable().default(null).describe('Continue from this checkpoint instead of a fresh model.'),
    sequences: z
      .number()
      .int()
      .positive()
      .max(1_000_000)
      .default(40000)
      .describe('Training sequences generated (half plain windows, half worked examples; ours).'),
    steps: z.number().int().positive().default(2000).describe('Optimizer steps.'),
    batchSize: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(32)
      .describe('Sequences per step.'),
    snapshotEvery: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('Also save the model every N steps as snapshots/step-N (0 = only at the end).'),
    ...scheduleConfigFields,
    lr: scheduleConfigFields.lr.default(2e-3),
    warmup: scheduleConfigFields.warmup.default(200),
    optimizer: optimizerConfigSchema.default({
      beta1: 0.9,
      beta2: 0.95,
      epsilon: 1e-8,
      weightDecay: 0.1,
      maxGradNorm: 1,
    }),
  })
  .strict();

export const midtrainConfigSchema = z
  .object({
    method: z
      .enum(['rmt', 'rpt', 'ntp'])
      .default('rmt')
      .describe('RMT, RPT, or continued next-token pre-training (METHOD.md §5).'),
    ntp: z
      .boolean()
      .default(true)
      .describe('RMT: train the NTP term on non-RL positions (METHOD.md §4); false = the "w/o NTP" ablation.'),
    steps: z.number().int().positive().default(200).describe('Mid-training steps.'),
    sitesPerStep: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(16)
      .describe('Key sites per step; the NTP baseline reads as many windows.'),
    groupSize: z.number().int().min(2).max(1024).default(8).describe('G, rollouts per site (METHOD.md §1).'),
    temperature: z.number().positive().default(0.8).describe('Rollout temperature (METHOD.md §1, RPT: 0.8).'),
    topK: z
      .number()
      .int()
      .nonnegative()
      .max(1 << 22)
      .default(0)
      .describe('Rollout top-k (0 = off).'),
    topP: z.number().gt(0).max(1).default(1).describe('Rollout top-p (1 = off).'),
    maxReasoningTokens: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(96)
      .describe('Reasoning cap when no budget is in force.'),
    ...scheduleConfigFields,
    lr: scheduleConfigFields.lr.default(1e-4),
    warmup: scheduleConfigFields.warmup.default(10),
    decay: scheduleConfigFields.decay.default('constant'),
    optimizer: optimizerConfigSchema.default({
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0.01,
      maxGradNorm: 1,
    }),
    microBatchRows: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(64)
      .describe('Most rollout rows per forward/backward (memory bound; gradients are summed exactly).'),
    workers: z
      .union([z.literal('auto'), z.number().int().min(0).max(64)])
      .default('auto')
      .describe(
        "Worker threads computing a share of each update's micro-batches (same result with any number). 'auto': one per spare core on wasm/cpu without @rmt/kernels, none where the kernels or a native backend already use every core.",
      ),
    checkpointEvery: z
      .number()
      .int()
      .nonnegative()
      .default(50)
      .describe('Write a checkpoint every N steps (and at the end); 0 = only at the end.'),
    keepLastN: z.number().int().positive().max(1000).default(2).describe('Checkpoints kept.'),
    warnAfter: z
      .number()
      .int()
      .positive()
      .default(10)
      .describe(
        'Warn when frac_reward_zero_std or clipped_ratio stays ≥ 0.95 this many steps; onNoSignal acts when frac_reward_zero_std is 1 this many steps.',
      ),
    onNoSignal: z
      .enum(['stop', 'warn'])
      .default('warn')
      .describe(
        'Every group with equal rewards (frac_reward_zero_std = 1) for warnAfter steps in a row: stop (with a checkpoint of that step) or warn, naming the cause and the fix (ours, METHOD.md §7).',
      ),
    preflight: z
      .object({
        sites: z
          .number()
          .int()
          .nonnegative()
          .max(1024)
          .default(4)
          .describe('Training sites sampled (× groupSize rollouts) before step 0 of an RL method; 0 = no preflight.'),
        action: z
          .enum(['stop', 'warn'])
          .default('stop')
          .describe(
            'When no preflight rollout gives a parsable answer: stop the run with the cause and the fix, or warn and train anyway.',
          ),
      })
      .strict()
      .default({ sites: 4, action: 'stop' })
      .describe(
        'Rollouts of the starting policy before training, reported in preflight.json (ours, METHOD.md §7): a run whose answers never parse has no learning signal.',
      ),
    sampleRollouts: z
      .number()
      .int()
      .nonnegative()
      .max(1 << 16)
      .default(4)
      .describe('Rollouts per step written to rollouts.jsonl.'),
    onNonFinite: z
      .enum(['stop', 'skip'])
      .default('stop')
      .describe(
        'NaN/Inf gradients: stop with the last good checkpoint, or skip that update (stops after warnAfter in a row).',
      ),
    budget: budgetConfigSchema.default(budgetConfigSchema.parse({})),
    curriculum: curriculumConfigSchema.default(curriculumConfigSchema.parse({})),
    loss: dualLossConfigSchema.default(dualLossConfigSchema.parse({})),
    rollout: rolloutEngineConfigSchema.default(rolloutEngineConfigSchema.parse({})),
  })
  .strict();

export const posttrainConfigSchema = z
  .object({
    steps: z.number().int().positive().default(40).describe('GRPO steps on the verifiable task (METHOD.md §6).'),
    task: z
      .enum(['synthetic', 'gsm8k', 'math500'])
      .default('synthetic')
      .describe(
        'The verifiable task: synthetic checksums (ours), or GSM8K / MATH-500 JSONL from taskFile, answers compared after normalisation (numbers, fractions, \\frac, units).',
      ),
    taskFile: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        'JSONL of the gsm8k or math500 task ({question, answer} / {problem, answer}); the first heldOut problems are held out, the next ones train.',
      ),
    problems: z
      .number()
      .int()
      .positive()
      .max(1_000_000)
      .default(2000)
      .describe(
        'Training problems (synthetic: generated checksums of 3–6 digits, ours; a task file: at most this many after the held-out ones).',
      ),
    heldOut: z
      .number()
      .int()
      .positive()
      .max(1_000_000)
      .default(300)
      .describe('Held-out problems scored before and after.'),
    heldOutSeedOffset: z
      .number()
      .int()
      .positive()
      .default(7919)
      .describe(
        'Held-out problems are generated from seed + this offset, so they differ from the training problems (generated from the seed itself).',
      ),
    sitesPerStep: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(8)
      .describe('Problems per step.'),
    groupSize: z.number().int().min(2).max(1024).default(8).describe('Rollouts per problem.'),
    temperature: z.number().positive().default(1).describe('Rollout temperature.'),
    lr: z.number().positive().default(1e-4).describe('Learning rate (constant after the warm-up).'),
    warmup: z.number().int().nonnegative().default(5).describe('Linear warm-up steps of the learning rate.'),
    maxReasoningTokens: z
      .number()
      .int()
      .positive()
      .max(1 << 16)
      .default(64)
      .describe('Reasoning cap.'),
    loss: dualLossConfigSchema
      .default(dualLossConfigSchema.parse({}))
      .describe(
        "Post-training's own GRPO loss (its NTP term is off). With beta > 0 the frozen starting checkpoint is the KL reference.",
      ),
  })
  .strict();

export type OptimizerConfig = z.output<typeof optimizerConfigSchema>;
export type PretrainConfig = z.output<typeof pretrainConfigSchema>;
export type MidtrainConfig = z.output<typeof midtrainConfigSchema>;
export type MidtrainConfigInput = z.input<typeof midtrainConfigSchema>;
export type PosttrainConfig = z.output<typeof posttrainConfigSchema>;
export type Method = MidtrainConfig['method'];
/** The settings of the mid-training loop: the parsed slice itself. */
export type MidtrainSettings = MidtrainConfig;

/**
 * What each method turns on (METHOD.md §5): the dynamic budget is RMT's (when enabled); the NTP term is RMT's
 * (unless the "w/o NTP" ablation) and the whole of the NTP baseline; RPT is RL alone.
 */
export function methodSwitches(
  m: Pick<MidtrainConfig, 'method' | 'ntp'> & { budget: Pick<MidtrainConfig['budget'], 'enabled'> },
): { useBudget: boolean; useNtp: boolean } {
  return { useBudget: m.method === 'rmt' && m.budget.enabled, useNtp: m.method === 'rmt' ? m.ntp : m.method === 'ntp' };
}

/**
 * The mid-training settings post-training runs with (METHOD.md §6): plain GRPO on the problems — the posttrain
 * slice's own sampling, schedule and loss, no NTP term, a budget only when the checkpoint was trained with
 * one (told in the prompt, no length reward), no periodic checkpoints, rollouts in process; the rest
 * (optimizer, micro-batches, workers, warnings) as in mid-training.
 */
export function posttrainSettings(
  pt: PosttrainConfig,
  m: MidtrainConfig,
  budget: number | undefined,
): MidtrainSettings {
  return {
    ...m,
    method: 'rmt',
    ntp: false,
    steps: pt.steps,
    sitesPerStep: pt.sitesPerStep,
    groupSize: pt.groupSize,
    temperature: pt.temperature,
    maxReasoningTokens: pt.maxReasoningTokens,
    lr: pt.lr,
    warmup: pt.warmup,
    decay: 'constant',
    checkpointEvery: 0,
    loss: pt.loss,
    budget: { ...m.budget, enabled: budget !== undefined, weight: 0 },
    // Post-training's rollouts run in process (its model is not the one an engine serves).
    rollout: { ...m.rollout, engine: 'local' },
  };
}
