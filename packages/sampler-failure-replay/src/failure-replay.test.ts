import { describe, expect, it } from 'vitest';
import { createSampler, validateSamplerDefinition, type SamplerSite } from '@rmt/curriculum';
import sampler, { optionsSchema } from './index.js';

const sites: SamplerSite[] = Array.from({ length: 40 }, (_, i) => ({ index: i, tier: i < 4 ? -1 : 1, entropy: 1 }));
const context = { sites, totalSteps: 10, seed: 1 };

describe('failure-replay sampler', () => {
  it('meets the sampler contract', () => {
    expect(validateSamplerDefinition(sampler, 'test').name).toBe('failure-replay');
  });

  it('never draws below-threshold sites and draws distinct sites', () => {
    const s = sampler.create(optionsSchema.parse({}), context);
    const picks = s.next(0, 36);
    expect(new Set(picks).size).toBe(36);
    expect(picks.every((i) => i >= 4)).toBe(true);
  });

  it('prefers sites the policy fails on: weight ∝ floor + score (hand-computed share)', () => {
    const s = sampler.create({ prior: 0.5, decay: 0, floor: 0.05 }, context);
    // Sites 4..21 solved (score 0), sites 22..39 failed (score 1): weights 0.05 vs 1.05.
    s.observe!(
      0,
      sites.filter((x) => x.tier >= 0).map((x) => ({ index: x.index, reward: x.index < 22 ? 1 : 0 })),
    );
    let failed = 0;
    const draws = 2000;
    for (let i = 0; i < draws; i++) if (s.next(1, 1)[0]! >= 22) failed++;
    const expected = (18 * 1.05) / (18 * 1.05 + 18 * 0.05); // 0.9545
    expect(Math.abs(failed / draws - expected)).toBeLessThan(4 * Math.sqrt((expected * (1 - expected)) / draws));
  });

  it('state → restore continues exactly, and bad options name the field', async () => {
    const a = sampler.create({ prior: 0.5, decay: 0.5, floor: 0.05 }, context);
    a.observe!(0, [{ index: 5, reward: 0 }]);
    a.next(0, 3);
    const b = sampler.create({ prior: 0.5, decay: 0.5, floor: 0.05 }, context);
    b.restore(JSON.parse(JSON.stringify(a.state())));
    expect(b.next(1, 5)).toEqual(a.next(1, 5));
    await expect(createSampler('@rmt/sampler-failure-replay', { decay: 2 }, context)).rejects.toThrow(/decay/);
  });
});
