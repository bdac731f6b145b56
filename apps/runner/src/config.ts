// The run configuration: one zod schema composed from the packages' schemas. YAML or JSON files,
// presets and `--set key=value` overrides are merged, then validated; unknown keys, wrong types and
// out-of-range values are errors that name the field.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import YAML from 'yaml';
import { BACKEND_NAMES } from '@rmt/backend';
import { budgetConfigSchema } from '@rmt/budget';
import { curriculumConfigSchema } from '@rmt/curriculum';
import { dataConfigSchema } from '@rmt/data';
import { dualLossConfigSchema } from '@rmt/dual-loss';
import { llamaConfigSchema } from '@rmt/model';

const optimizerSchema = z
  .object({
    beta1: z.number().min(0).lt(1).default(0.9).describe('AdamW β₁ (METHOD.md §4).'),
    beta2: z.number().min(0).lt(1).default(0.999).describe('AdamW β₂ (METHOD.md §4).'),
    epsilon: z.number().positive().default(1e-8).describe('AdamW ε.'),
    weightDecay: z.number().min(0).default(0.01).describe('Decoupled weight decay (METHOD.md §4: 0.01).'),
    maxGradNorm: z.number().min(0).default(1).describe('Global gradient-norm clip (METHOD.md §4: 1.0); 0 = off.'),
  })
  .strict();

const scheduleFields = {
  lr: z.number().positive().describe('Peak learning rate.'),
  warmup: z.number().int().nonnegative().describe('Linear warm-up steps.'),
  decay: z.enum(['cosine', 'linear', 'constant']).default('cosine').describe('Learning-rate decay after warm-up.'),
  minLrRatio: z.number().min(0).max(1).default(0.1).describe('Final learning rate as a fraction of the peak.'),
};

export const pretrainSchema = z
  .object({
    model: llamaConfigSchema.optional().describe('Architecture of a model trained from scratch (default: the embedded tiny base; vocabSize comes from the tokenizer).'),
    from: z.string().nullable().default(null).describe('Continue from this checkpoint instead of a fresh model.'),
    sequences: z.number().int().positive().max(1_000_000).default(40000).describe('Training sequences generated (half plain windows, half worked examples; ours).'),
    steps: z.number().int().positive().default(2000).describe('Optimizer steps.'),
    batchSize: z.number().int().positive().max(1 << 16).default(32).describe('Sequences per step.'),
    snapshotEvery: z.number().int().nonnegative().default(0).describe('Also save the model every N steps as snapshots/step-N (0 = only at the end).'),
    ...scheduleFields,
    lr: scheduleFields.lr.default(2e-3),
    warmup: scheduleFields.warmup.default(200),
    optimizer: optimizerSchema.default({ beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1, maxGradNorm: 1 }),
  })
  .strict();

export const midtrainSchema = z
  .object({
    method: z.enum(['rmt', 'rpt', 'ntp']).default('rmt').describe('RMT, RPT, or continued next-token pre-training (METHOD.md §5).'),
    ntp: z.boolean().default(true).describe('RMT: train the NTP term on non-RL positions (METHOD.md §4); false = the "w/o NTP" ablation.'),
    steps: z.number().int().positive().default(200).describe('Mid-training steps.'),
    sitesPerStep: z.number().int().positive().max(1 << 16).default(16).describe('Key sites per step; the NTP baseline reads as many windows.'),
    groupSize: z.number().int().min(2).max(1024).default(8).describe('G, rollouts per site (METHOD.md §1).'),
    temperature: z.number().positive().default(0.8).describe('Rollout temperature (METHOD.md §1, RPT: 0.8).'),
    topK: z.number().int().nonnegative().max(1 << 22).default(0).describe('Rollout top-k (0 = off).'),
    topP: z.number().gt(0).max(1).default(1).describe('Rollout top-p (1 = off).'),
    maxReasoningTokens: z.number().int().positive().max(1 << 16).default(96).describe('Reasoning cap when no budget is in force.'),
    ...scheduleFields,
    lr: scheduleFields.lr.default(1e-4),
    warmup: scheduleFields.warmup.default(10),
    decay: scheduleFields.decay.default('constant'),
    optimizer: optimizerSchema.default({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 }),
    microBatchRows: z.number().int().positive().max(1 << 16).default(64).describe('Most rollout rows per forward/backward (memory bound; gradients are summed exactly).'),
    workers: z
      .union([z.literal('auto'), z.number().int().min(0).max(64)])
      .default('auto')
      .describe("Worker threads computing a share of each update's micro-batches (same result with any number). 'auto': one per spare core on wasm/cpu, none on the native backends (already multi-threaded)."),
    checkpointEvery: z.number().int().nonnegative().default(50).describe('Write a checkpoint every N steps (and at the end); 0 = only at the end.'),
    keepLastN: z.number().int().positive().max(1000).default(2).describe('Checkpoints kept.'),
    warnAfter: z.number().int().positive().default(10).describe('Warn when frac_reward_zero_std or clipped_ratio stays ≥ 0.95 this many steps.'),
    sampleRollouts: z.number().int().nonnegative().max(1 << 16).default(4).describe('Rollouts per step written to rollouts.jsonl.'),
    onNonFinite: z
      .enum(['stop', 'skip'])
      .default('stop')
      .describe('NaN/Inf gradients: stop with the last good checkpoint, or skip that update (stops after warnAfter in a row).'),
    budget: budgetConfigSchema.default(budgetConfigSchema.parse({})),
    curriculum: curriculumConfigSchema.default(curriculumConfigSchema.parse({})),
    loss: dualLossConfigSchema.default(dualLossConfigSchema.parse({})),
  })
  .strict();

export const posttrainSchema = z
  .object({
    steps: z.number().int().positive().default(40).describe('GRPO steps on the verifiable task (METHOD.md §6).'),
    problems: z.number().int().positive().max(1_000_000).default(2000).describe('Training problems generated (synthetic checksums of 3–6 digits, ours).'),
    heldOut: z.number().int().positive().max(1_000_000).default(300).describe('Held-out problems scored before and after.'),
    sitesPerStep: z.number().int().positive().max(1 << 16).default(8).describe('Problems per step.'),
    groupSize: z.number().int().min(2).max(1024).default(8).describe('Rollouts per problem.'),
    temperature: z.number().positive().default(1).describe('Rollout temperature.'),
    lr: z.number().positive().default(1e-4).describe('Learning rate (constant after 5 warm-up steps).'),
    maxReasoningTokens: z.number().int().positive().max(1 << 16).default(64).describe('Reasoning cap.'),
  })
  .strict();

export const evalSchema = z
  .object({
    sites: z.number().int().positive().max(1_000_000).default(600).describe('Held-out sites evaluated (METHOD.md §6).'),
    thresholds: z.tuple([z.number(), z.number(), z.number()]).default([0.5, 1.0, 1.5]).describe('Nested split thresholds on the base model’s top-k entropy (METHOD.md §6).'),
    maxReasoningTokens: z.number().int().positive().max(1 << 16).default(96).describe('Reasoning cap in evaluation.'),
    batch: z.number().int().positive().max(1 << 16).default(64).describe('Sites per generation batch.'),
  })
  .strict();

export const runConfigSchema = z
  .object({
    seed: z.number().int().nonnegative().default(0).describe('Seed of everything random (data, sampling, sites).'),
    backend: z.enum(['auto', ...BACKEND_NAMES]).default('auto').describe('TensorFlow.js backend.'),
    base: z.string().default('embedded').describe("Base checkpoint to mid-train: 'embedded' (the committed tiny model) or a path."),
    data: dataConfigSchema.default(dataConfigSchema.parse({})),
    pretrain: pretrainSchema.default(pretrainSchema.parse({})),
    midtrain: midtrainSchema.default(midtrainSchema.parse({})),
    posttrain: posttrainSchema.default(posttrainSchema.parse({})),
    eval: evalSchema.default(evalSchema.parse({})),
  })
  .strict();

export type RunConfig = z.output<typeof runConfigSchema>;

export const PRESETS = ['default', 'quick', 'tiny', 'base'] as const;
export const presetsDir = fileURLToPath(new URL('../presets/', import.meta.url));
export const embeddedBaseDir = fileURLToPath(new URL('../base-model/', import.meta.url));

/** A config is a page of settings; anything larger is a wrong path, not a config (and is not read into memory). */
const MAX_CONFIG_BYTES = 1 << 20;

function parseFile(path: string): unknown {
  if (!existsSync(path)) throw new Error(`${path}: no such config file`);
  const size = statSync(path).size;
  if (size > MAX_CONFIG_BYTES) throw new Error(`${path}: ${size} bytes is too large for a config file (at most ${MAX_CONFIG_BYTES})`);
  const text = readFileSync(path, 'utf8');
  try {
    return path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'} (${(error as Error).message.split('\n')[0]})`, { cause: error });
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Deep merge of plain objects; arrays and scalars of `over` replace. */
export function merge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

/** `a.b.c=value` → { a: { b: { c: value } } }; the value is read as YAML (numbers, booleans, lists), else as a string. */
export function parseSet(assignment: string): Record<string, unknown> {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new Error(`--set '${assignment}': expected key=value (e.g. midtrain.steps=50)`);
  const path = assignment.slice(0, eq).split('.');
  const text = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch {
    value = text; // not YAML (e.g. '@scope/pkg'): the plain string
  }
  for (const key of path.reverse()) value = { [key]: value };
  return value as Record<string, unknown>;
}

export function validateConfig(raw: unknown, source: string): RunConfig {
  const result = runConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source}: invalid config\n${lines.join('\n')}`);
  }
  return result.data;
}

/**
 * Config keys that hold file paths. In a config file a relative path is read from the file's folder (as a
 * user who keeps a config beside its data expects); on the command line (`--set`) from the working directory.
 */
export const PATH_KEYS: readonly (readonly string[])[] = [['base'], ['data', 'corpus', 'path'], ['pretrain', 'from']];

/** `raw` with the relative paths at PATH_KEYS made absolute against `folder` (`base: embedded` is a name, not a path). */
function resolvePaths(raw: unknown, folder: string): unknown {
  for (const key of PATH_KEYS) {
    let parent = raw;
    for (const k of key.slice(0, -1)) parent = isObject(parent) ? parent[k] : undefined;
    const leaf = key.at(-1)!;
    if (!isObject(parent) || typeof parent[leaf] !== 'string') continue;
    const value = parent[leaf];
    if (value === '' || isAbsolute(value) || (key.length === 1 && key[0] === 'base' && value === 'embedded')) continue;
    parent[leaf] = resolve(folder, value);
  }
  return raw;
}

/**
 * Preset → config file → --set overrides, validated. The file is merged over the preset (the default preset
 * unless one is named), so a file of only the fields a user changes keeps every other default.
 */
export function resolveConfig(options: { preset?: string; config?: string; set?: string[] }): { config: RunConfig; sources: string[] } {
  const preset = options.preset ?? 'default';
  if (!(PRESETS as readonly string[]).includes(preset)) throw new Error(`unknown preset '${preset}'; presets: ${PRESETS.join(', ')}`);
  let raw = parseFile(`${presetsDir}${preset}.yaml`);
  const sources = [`preset ${preset}`];
  if (options.config) {
    raw = merge(raw, resolvePaths(parseFile(options.config), dirname(resolve(options.config))));
    sources.push(options.config);
  }
  for (const s of options.set ?? []) {
    raw = merge(raw, parseSet(s));
    sources.push(`--set ${s}`);
  }
  return { config: validateConfig(raw, sources.join(' + ')), sources };
}

/** JSON Schema of the whole config (for editors and `rmt config schema`). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(runConfigSchema, { io: 'input', unrepresentable: 'any' });
}
