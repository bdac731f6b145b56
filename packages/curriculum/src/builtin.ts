// Built-in samplers: curriculum (RMT), entropy-filtered (RPT), uniform.
import { z } from 'zod';
import { createRng, type Rng, type RngState } from '@rmt/core';
import { defineSampler, SAMPLER_SPECIFICATION_VERSION, type Sampler, type SamplerSite } from './sampler.js';
import { tierProbabilities, TIERS, type TierIndex, type TierSchedule } from './tiers.js';

/** Draw `n` distinct items uniformly (all of them, shuffled, when n ≥ the pool). */
export function drawDistinct<T>(pool: readonly T[], n: number, rng: Rng): T[] {
  const copy = [...pool];
  const out: T[] = [];
  while (out.length < n && copy.length > 0) {
    const j = Math.floor(rng.next() * copy.length);
    out.push(copy[j]!);
    copy[j] = copy[copy.length - 1]!;
    copy.pop();
  }
  return out;
}

interface RngSampler {
  rng: Rng;
}

function rngState(s: RngSampler): { rng: RngState } {
  return { rng: s.rng.state() };
}

function restoreRng(s: RngSampler, state: unknown): void {
  const saved = (state as { rng?: RngState } | undefined)?.rng;
  if (!saved) throw new Error('sampler: saved state has no RNG state');
  s.rng = createRng(saved);
}

function requireSites(name: string, sites: readonly SamplerSite[]): void {
  if (sites.length === 0)
    throw new Error(`sampler '${name}': no candidate sites (check the corpus and the tier thresholds)`);
}

export const uniformSampler = defineSampler({
  name: 'uniform',
  specificationVersion: SAMPLER_SPECIFICATION_VERSION,
  description: 'Every site equally likely, no entropy filter (METHOD.md §3).',
  optionsSchema: z.object({}).strict(),
  create(_options, context): Sampler {
    requireSites('uniform', context.sites);
    const all = context.sites.map((s) => s.index);
    const self = {
      name: 'uniform',
      rng: createRng(`sampler:uniform:${context.seed}`),
      next: (_step: number, n: number) => drawDistinct(all, n, self.rng),
      state: () => rngState(self),
      restore: (state: unknown) => restoreRng(self, state),
    };
    return self;
  },
});

export const entropyFilteredSampler = defineSampler({
  name: 'entropy-filtered',
  specificationVersion: SAMPLER_SPECIFICATION_VERSION,
  description: "RPT's sampler: uniform over sites at or above a tier (METHOD.md §5: the hard-ish ones).",
  optionsSchema: z
    .object({ minTier: z.enum(TIERS).default('hard').describe('Lowest tier that is sampled (RPT: hard).') })
    .strict(),
  create(options, context): Sampler {
    const floor = TIERS.indexOf(options.minTier);
    const pool = context.sites.filter((s) => s.tier >= floor).map((s) => s.index);
    if (pool.length === 0)
      throw new Error(`sampler 'entropy-filtered': no site is in tier '${options.minTier}' or above`);
    const self = {
      name: 'entropy-filtered',
      rng: createRng(`sampler:entropy-filtered:${context.seed}`),
      next: (_step: number, n: number) => drawDistinct(pool, n, self.rng),
      state: () => rngState(self),
      restore: (state: unknown) => restoreRng(self, state),
    };
    return self;
  },
});

const probabilities = z
  .tuple([z.number().min(0), z.number().min(0), z.number().min(0)])
  .refine((p) => p.some((x) => x > 0), 'at least one tier probability must be positive');

export const curriculumOptionsSchema = z
  .object({
    t1: z.number().min(0).max(1).default(0.3).describe('First transition point, fraction of training (METHOD.md §3).'),
    t2: z.number().min(0).max(1).default(0.7).describe('Second transition point, fraction of training (METHOD.md §3).'),
    p1: probabilities
      .default([0.6, 0.3, 0.1])
      .describe('Tier distribution (easy, medium, hard) before t1 (METHOD.md §3, ours).'),
    p2: probabilities.default([0.1, 0.3, 0.6]).describe('Tier distribution after t2 (METHOD.md §3, ours).'),
  })
  .strict()
  .refine((o) => o.t1 <= o.t2, { message: 't1 must not exceed t2', path: ['t1'] });

/**
 * For each draw a tier from p_t, then a site uniformly within it. A tier without sites hands its draw to
 * the nearest tier that has some (easier first on a tie), so an empty tier never loops or yields NaN.
 */
export function tierWithSites(tier: TierIndex, available: readonly boolean[]): TierIndex {
  for (let d = 0; d < 3; d++) {
    for (const t of [tier - d, tier + d]) if (t >= 0 && t <= 2 && available[t]) return t as TierIndex;
  }
  throw new Error('no tier has sites');
}

export const curriculumSampler = defineSampler({
  name: 'curriculum',
  specificationVersion: SAMPLER_SPECIFICATION_VERSION,
  description: "RMT's curriculum: tiers sampled easy → hard on a two-phase schedule (METHOD.md §3).",
  optionsSchema: curriculumOptionsSchema,
  create(options, context): Sampler {
    const byTier: number[][] = [[], [], []];
    for (const s of context.sites) if (s.tier >= 0) byTier[s.tier]!.push(s.index);
    if (byTier.every((t) => t.length === 0))
      throw new Error("sampler 'curriculum': no site is in any tier (all below the lowest threshold?)");
    const available = byTier.map((t) => t.length > 0);
    const schedule: TierSchedule = options as TierSchedule;
    const self = {
      name: 'curriculum',
      rng: createRng(`sampler:curriculum:${context.seed}`),
      tierProbabilities: (step: number) => tierProbabilities(step, context.totalSteps, schedule),
      next(step: number, n: number): number[] {
        const p = self.tierProbabilities(step);
        const total = p[0] + p[1] + p[2];
        const taken = new Set<number>();
        const out: number[] = [];
        for (let i = 0; i < n; i++) {
          let u = self.rng.next() * total;
          let tier: TierIndex = 2;
          for (const t of [0, 1, 2] as const) {
            if (u < p[t]) {
              tier = t;
              break;
            }
            u -= p[t];
          }
          const pool = byTier[tierWithSites(tier, available)]!;
          // Distinct within a step while the tier has unused sites.
          let pick = pool[Math.floor(self.rng.next() * pool.length)]!;
          for (let tries = 0; taken.has(pick) && tries < 8; tries++)
            pick = pool[Math.floor(self.rng.next() * pool.length)]!;
          taken.add(pick);
          out.push(pick);
        }
        return out;
      },
      state: () => rngState(self),
      restore: (state: unknown) => restoreRng(self, state),
    };
    return self;
  },
});

export const BUILTIN_SAMPLERS = [curriculumSampler, entropyFilteredSampler, uniformSampler] as const;
