// Resolving a sampler by name: a built-in, or an npm package that exports a sampler definition.
// A plugin is code that runs with the user's rights: load only packages you trust.
import { BUILTIN_SAMPLERS } from './builtin.js';
import { SAMPLER_SPECIFICATION_VERSION, type Sampler, type SamplerContext, type SamplerDefinition } from './sampler.js';

function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(options)'}: ${i.message}`).join('; ');
}

/** Check that a module export is a sampler definition of this contract version. */
export function validateSamplerDefinition(value: unknown, source: string): SamplerDefinition {
  const d = value as Partial<SamplerDefinition> | undefined;
  const missing = (['name', 'specificationVersion', 'optionsSchema', 'create'] as const).filter(
    (k) => d?.[k] === undefined,
  );
  if (!d || typeof d !== 'object' || missing.length > 0) {
    throw new Error(
      `${source}: not a sampler definition (missing ${missing.join(', ') || 'everything'}); export { name, specificationVersion, optionsSchema, create } as default or 'sampler'`,
    );
  }
  if (
    typeof d.name !== 'string' ||
    typeof d.create !== 'function' ||
    typeof d.optionsSchema?.safeParse !== 'function'
  ) {
    throw new Error(
      `${source}: not a sampler definition (name must be a string, create a function, optionsSchema a zod schema)`,
    );
  }
  if (d.specificationVersion !== SAMPLER_SPECIFICATION_VERSION) {
    throw new Error(
      `${source}: sampler '${d.name}' implements sampler specification version ${String(d.specificationVersion)}, but this RMT supports version ${SAMPLER_SPECIFICATION_VERSION}`,
    );
  }
  return d as SamplerDefinition;
}

/**
 * The definition for a name: a built-in (`curriculum`, `entropy-filtered`, `uniform`) or a package name
 * (`@scope/rmt-sampler-x`, loaded with import()).
 */
export async function resolveSamplerDefinition(name: string): Promise<SamplerDefinition> {
  const builtin = BUILTIN_SAMPLERS.find((s) => s.name === name);
  if (builtin) return builtin as SamplerDefinition;
  let module: Record<string, unknown>;
  try {
    const specifier: string = name;
    module = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
        ? 'no such built-in sampler or installed package'
        : (error as Error).message;
    throw new Error(
      `unknown sampler '${name}' (${why}); built-in samplers: ${BUILTIN_SAMPLERS.map((s) => s.name).join(', ')}, or the name of an installed sampler package`,
      { cause: error },
    );
  }
  const exported =
    module.default !== undefined && (module.default as { create?: unknown }).create !== undefined
      ? module.default
      : (module.sampler ?? module.default);
  return validateSamplerDefinition(exported, `sampler package '${name}'`);
}

/** Resolve, validate the options (errors name the field), and create. */
export async function createSampler(name: string, options: unknown, context: SamplerContext): Promise<Sampler> {
  const definition = await resolveSamplerDefinition(name);
  const parsed = definition.optionsSchema.safeParse(options ?? {});
  if (!parsed.success) throw new Error(`sampler '${definition.name}' options: ${describeIssues(parsed.error.issues)}`);
  return definition.create(parsed.data, context);
}
