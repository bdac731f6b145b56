// The sampler contract (METHOD.md §3): which key sites get RL at each step. Built-in samplers and third-party
// ones (npm packages) implement the same interface; the runner loads either by name.
import type { TierIndex } from './tiers.js';

/** Version of this contract. A plugin declares the version it was written for; a mismatch is an error. */
export const SAMPLER_SPECIFICATION_VERSION = 1;

/** What a sampler knows about each candidate site. */
export interface SamplerSite {
  /** Index in the trainer's site list (what `next` returns). */
  index: number;
  tier: TierIndex;
  /** Difficulty measure (top-k entropy of the scorer, nats). */
  entropy: number;
}

export interface SamplerContext {
  sites: readonly SamplerSite[];
  totalSteps: number;
  seed: number;
}

/** What happened to a sampled site: the mean reward of its rollouts. */
export interface SiteOutcome {
  index: number;
  reward: number;
}

export interface Sampler {
  readonly name: string;
  /** `n` site indices for `step` (distinct while there are enough candidates). */
  next(step: number, n: number): number[];
  /** The tier distribution in force at `step`, for metrics (curriculum samplers). */
  tierProbabilities?(step: number): [number, number, number];
  /** Feedback after the rollouts of a step (samplers that adapt to the policy). */
  observe?(step: number, outcomes: readonly SiteOutcome[]): void;
  /** JSON-serialisable state for checkpoints; `restore` must make `next` continue exactly. */
  state(): unknown;
  restore(state: unknown): void;
}

/** A schema with zod's safeParse shape (plugins may bring their own zod). */
export interface OptionsSchema<O> {
  safeParse(
    input: unknown,
  ):
    | { success: true; data: O }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/** What a sampler package exports (as `default` or `sampler`). */
export interface SamplerDefinition<O = unknown> {
  name: string;
  specificationVersion: number;
  description?: string;
  optionsSchema: OptionsSchema<O>;
  create(options: O, context: SamplerContext): Sampler;
}

export function defineSampler<O>(definition: SamplerDefinition<O>): SamplerDefinition<O> {
  return definition;
}
