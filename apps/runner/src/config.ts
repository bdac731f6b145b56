// The run configuration: one zod schema composed from the packages' schemas. YAML or JSON files,
// presets and `--set key=value` overrides are merged, then validated; unknown keys, wrong types and
// out-of-range values are errors that name the field.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import YAML from 'yaml';
import { BACKEND_NAMES } from '@rmt/backend';
import { dataConfigSchema, type SyntheticConfig } from '@rmt/data';
import { evalConfigSchema } from '@rmt/eval';
import { midtrainConfigSchema, posttrainConfigSchema, pretrainConfigSchema } from '@rmt/trainer';

export const runConfigSchema = z
  .object({
    seed: z.number().int().nonnegative().default(0).describe('Seed of everything random (data, sampling, sites).'),
    backend: z
      .enum(['auto', ...BACKEND_NAMES])
      .default('auto')
      .describe('TensorFlow.js backend.'),
    base: z
      .string()
      .default('embedded')
      .describe("Base checkpoint to mid-train: 'embedded' (the committed tiny model) or a path."),
    data: dataConfigSchema.default(dataConfigSchema.parse({})),
    pretrain: pretrainConfigSchema.default(pretrainConfigSchema.parse({})),
    midtrain: midtrainConfigSchema.default(midtrainConfigSchema.parse({})),
    posttrain: posttrainConfigSchema.default(posttrainConfigSchema.parse({})),
    eval: evalConfigSchema.default(evalConfigSchema.parse({})),
  })
  .strict();

export type RunConfig = z.output<typeof runConfigSchema>;

const PRESETS = ['default', 'quick', 'tiny', 'base', 'base-redundant'] as const;
export const presetsDir = fileURLToPath(new URL('../presets/', import.meta.url));
export const embeddedBaseDir = fileURLToPath(new URL('../base-model/', import.meta.url));

/**
 * The committed base for the synthetic task's knobs (README, "The synthetic task"): one per value of
 * data.synthetic.overthink, since that knob changes what the base learned to write (each recreated by
 * `rmt pretrain` from its preset, presets/base*.yaml). The other knobs change the mid-training corpus only
 * and keep the base: the repeated digits are text the base never saw, for next-token prediction to learn.
 */
export function embeddedBaseFor(synthetic: SyntheticConfig): string {
  return synthetic.overthink === 'redundant'
    ? fileURLToPath(new URL('../base-model-redundant/', import.meta.url))
    : embeddedBaseDir;
}

/** A config is a page of settings; anything larger is a wrong path, not a config (and is not read into memory). */
const MAX_CONFIG_BYTES = 1 << 20;

function parseFile(path: string): unknown {
  if (!existsSync(path)) throw new Error(`${path}: no such config file`);
  const size = statSync(path).size;
  if (size > MAX_CONFIG_BYTES)
    throw new Error(`${path}: ${size} bytes is too large for a config file (at most ${MAX_CONFIG_BYTES})`);
  const text = readFileSync(path, 'utf8');
  try {
    return path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new Error(
      `${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'} (${(error as Error).message.split('\n')[0]})`,
      { cause: error },
    );
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
const PATH_KEYS: readonly (readonly string[])[] = [
  ['base'],
  ['data', 'corpus', 'path'],
  ['pretrain', 'from'],
  ['midtrain', 'curriculum', 'scorer'],
  ['posttrain', 'taskFile'],
];

/** Values of a path key that are names, not paths (`base: embedded`, `scorer: base`): never resolved. */
const PATH_NAMES: Readonly<Record<string, string>> = { base: 'embedded', 'midtrain.curriculum.scorer': 'base' };

/** `raw` with the relative paths at PATH_KEYS made absolute against `folder` (the names of PATH_NAMES left as they are). */
function resolvePaths(raw: unknown, folder: string): unknown {
  for (const key of PATH_KEYS) {
    let parent = raw;
    for (const k of key.slice(0, -1)) parent = isObject(parent) ? parent[k] : undefined;
    const leaf = key.at(-1)!;
    if (!isObject(parent) || typeof parent[leaf] !== 'string') continue;
    const value = parent[leaf];
    if (value === '' || isAbsolute(value) || PATH_NAMES[key.join('.')] === value) continue;
    parent[leaf] = resolve(folder, value);
  }
  return raw;
}

/**
 * Preset → config file → --set overrides, validated. The file is merged over the preset (the default preset
 * unless one is named), so a file of only the fields a user changes keeps every other default.
 */
export function resolveConfig(options: { preset?: string; config?: string; set?: string[] }): {
  config: RunConfig;
  sources: string[];
} {
  const preset = options.preset ?? 'default';
  if (!(PRESETS as readonly string[]).includes(preset))
    throw new Error(`unknown preset '${preset}'; presets: ${PRESETS.join(', ')}`);
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
