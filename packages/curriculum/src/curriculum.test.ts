import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entropy, readAllValues, tf, topKEntropy } from '@rmt/backend';
import { describeEachBackend } from '@rmt/testing';
import { LlamaModel, modelWeightsHash, parseLlamaConfig, positionEntropies } from '@rmt/model';
import {
  assignTiers,
  createSampler,
  curriculumSampler,
  defineSampler,
  quantile,
  resolveSamplerDefinition,
  SAMPLER_SPECIFICATION_VERSION,
  scoreSitesCached,
  tierProbabilities,
  tierThresholds,
  tierWithSites,
  validateSamplerDefinition,
  type SamplerSite,
} from './index.js';

const schedule = {
  t1: 0.3,
  t2: 0.7,
  p1: [0.6, 0.3, 0.1] as [number, number, number],
  p2: [0.1, 0.3, 0.6] as [number, number, number],
};

describe('tiers (METHOD.md §3)', () => {
  it('assigns easy [0.5,1), medium [1,1.5), hard ≥ 1.5, and never-RL below 0.5 or NaN', () => {
    expect(assignTiers([0.2, 0.5, 0.99, 1.0, 1.49, 1.5, 9, NaN], [0.5, 1, 1.5])).toEqual([-1, 0, 0, 1, 1, 2, 2, -1]);
    expect(() => assignTiers([1], [1, 0.5, 2])).toThrow(/non-decreasing/);
  });
  it('quantile thresholds by hand', async () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(tierThresholds([0, 1, 2, 3, 4], { mode: 'quantiles', quantiles: [0.25, 0.5, 0.75] })).toEqual([1, 2, 3]);
  });
  it('the two-phase schedule: p1, linear in between, p2', async () => {
    expect(tierProbabilities(0, 100, schedule)).toEqual([0.6, 0.3, 0.1]);
    expect(tierProbabilities(29, 100, schedule)).toEqual([0.6, 0.3, 0.1]);
    const mid = tierProbabilities(50, 100, schedule);
    [0.35, 0.3, 0.35].forEach((p, i) => expect(mid[i]).toBeCloseTo(p, 12));
    expect(tierProbabilities(70, 100, schedule)).toEqual([0.1, 0.3, 0.6]);
  });
  it('an empty tier hands its draw to the nearest tier with sites', async () => {
    expect(tierWithSites(2, [true, true, false])).toBe(1);
    expect(tierWithSites(1, [true, false, true])).toBe(0);
    expect(tierWithSites(0, [false, false, true])).toBe(2);
  });
});

const sites: SamplerSite[] = Array.from({ length: 300 }, (_, i) => ({
  index: i,
  tier: ((i % 4) - 1) as -1 | 0 | 1 | 2,
  entropy: i % 4,
}));

describe('samplers', () => {
  it('curriculum draws tiers with p_t (chi-square-sized tolerance) and never below-threshold sites', async () => {
    const sampler = await createSampler('curriculum', {}, { sites, totalSteps: 100, seed: 1 });
    for (const [step, p] of [
      [0, [0.6, 0.3, 0.1]],
      [99, [0.1, 0.3, 0.6]],
    ] as const) {
      const counts = [0, 0, 0];
      for (let i = 0; i < 200; i++) for (const s of sampler.next(step, 20)) counts[sites[s]!.tier]! += 1;
      const n = 4000;
      // 4 standard deviations of a binomial share.
      p.forEach((pi, t) => expect(Math.abs(counts[t]! / n - pi)).toBeLessThan(4 * Math.sqrt((pi * (1 - pi)) / n)));
    }
    expect(sampler.tierProbabilities!(50)).toEqual(tierProbabilities(50, 100, schedule));
  });

  it('state → restore continues exactly', async () => {
    const a = await createSampler('curriculum', {}, { sites, totalSteps: 10, seed: 3 });
    a.next(0, 8);
    const saved = JSON.parse(JSON.stringify(a.state()));
    const b = await createSampler('curriculum', {}, { sites, totalSteps: 10, seed: 3 });
    b.restore(saved);
    expect(b.next(1, 8)).toEqual(a.next(1, 8));
  });

  it('entropy-filtered takes only hard sites; uniform takes any; draws are distinct within a step', async () => {
    const rpt = await createSampler('entropy-filtered', {}, { sites, totalSteps: 10, seed: 1 });
    expect(rpt.next(0, 50).every((i) => sites[i]!.tier === 2)).toBe(true);
    const uniform = await createSampler('uniform', {}, { sites, totalSteps: 10, seed: 1 });
    const picks = uniform.next(0, 300);
    expect(new Set(picks).size).toBe(300);
  });

  it('empty or unusable site sets are clear errors, never a loop', async () => {
    const none = sites.map((s) => ({ ...s, tier: -1 as const }));
    await expect(createSampler('curriculum', {}, { sites: none, totalSteps: 1, seed: 0 })).rejects.toThrow(
      /no site is in any tier/,
    );
    await expect(createSampler('entropy-filtered', {}, { sites: none, totalSteps: 1, seed: 0 })).rejects.toThrow(
      /no site is in tier 'hard'/,
    );
    const onlyEasy = sites.filter((s) => s.tier === 0);
    const s = await createSampler('curriculum', {}, { sites: onlyEasy, totalSteps: 10, seed: 0 });
    expect(s.next(9, 10).every((i) => sites[i]!.tier === 0)).toBe(true);
  });

  it('options are validated naming the field; unknown names list the built-ins', async () => {
    await expect(createSampler('curriculum', { t1: 2 }, { sites, totalSteps: 1, seed: 0 })).rejects.toThrow(
      /options: t1:/,
    );
    await expect(createSampler('curriculum', { p9: 1 }, { sites, totalSteps: 1, seed: 0 })).rejects.toThrow(/p9/);
    await expect(resolveSamplerDefinition('no-such-sampler-xyz')).rejects.toThrow(
      /unknown sampler 'no-such-sampler-xyz'.*built-in samplers: curriculum, entropy-filtered, uniform/,
    );
  });

  it('plugin contract: missing fields and another specification version are rejected', async () => {
    expect(() => validateSamplerDefinition({ name: 'x' }, 'pkg')).toThrow(
      /pkg: not a sampler definition \(missing specificationVersion, optionsSchema, create\)/,
    );
    const wrong = defineSampler({
      ...curriculumSampler,
      specificationVersion: SAMPLER_SPECIFICATION_VERSION + 1,
    } as never);
    expect(() => validateSamplerDefinition(wrong, 'pkg')).toThrow(
      /specification version 2, but this RMT supports version 1/,
    );
    expect(validateSamplerDefinition(curriculumSampler, 'pkg').name).toBe('curriculum');
  });
});

describeEachBackend('entropy scoring', () => {
  it('equals the entropy of the logits at position t − 1, and is cached by weights + corpus', async () => {
    const model = LlamaModel.init(
      parseLlamaConfig({ dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 24, vocabSize: 30, maxSeqLen: 16 }),
      { seed: 1, std: 0.5 },
    );
    const windows = [
      [1, 2, 3, 4, 5, 6],
      [7, 8, 9],
    ];
    const siteList = [
      { window: 0, position: 3, target: 4 },
      { window: 1, position: 2, target: 9 },
      { window: 0, position: 5, target: 6 },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'rmt-score-'));
    const scorer = {
      score: (rows: number[][], k: number) => positionEntropies(model, rows, k),
      hash: await modelWeightsHash(model),
    };
    try {
      const first = await scoreSitesCached(dir, scorer, windows, siteList, { k: 4, batch: 1 });
      expect(first.cached).toBe(false);
      for (const [i, s] of siteList.entries()) {
        const [full, top] = (
          await readAllValues(
            tf.tidy(() => {
              const logits = model.forward(tf.tensor2d([windows[s.window]!.slice(0, s.position)], undefined, 'int32'));
              const last = tf.slice(logits, [0, s.position - 1, 0], [1, 1, 30]);
              return [entropy(last), topKEntropy(last, 4)];
            }),
          )
        ).map((v) => v[0]!) as [number, number];
        expect(first.entropies[i]!.full).toBeCloseTo(full, 5);
        expect(first.entropies[i]!.topK).toBeCloseTo(top, 5);
      }
      const second = await scoreSitesCached(dir, scorer, windows, siteList, { k: 4, batch: 2 });
      expect(second.cached).toBe(true);
      expect(second.entropies).toEqual(first.entropies);
      const otherK = await scoreSitesCached(dir, scorer, windows, siteList, { k: 8, batch: 2 });
      expect(otherK.cached).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });
});
