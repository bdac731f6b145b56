// The score cache's key (METHOD.md §3): the scorer model's weights hash and the corpus hash, so another
// scorer (midtrain.curriculum.scorer) or another corpus never reads someone else's scores.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBackend } from '@rmt/backend';
import { LlamaModel, modelWeightsHash, parseLlamaConfig, positionEntropies } from '@rmt/model';
import { corpusHash, scoreCacheKey, scoreSites, scoreSitesCached } from './index.js';

const scorerOf = async (model: LlamaModel) => ({
  score: (rows: number[][], k: number) => positionEntropies(model, rows, k),
  hash: await modelWeightsHash(model),
});

beforeAll(async () => {
  await loadBackend('cpu');
});

const config = parseLlamaConfig({
  dim: 8,
  nLayers: 1,
  nHeads: 2,
  nKvHeads: 1,
  hiddenDim: 16,
  vocabSize: 20,
  maxSeqLen: 16,
});
const windows = [
  [1, 2, 3, 4, 5, 6],
  [7, 8, 9],
];
const sites = [
  { window: 0, position: 3, target: 4 },
  { window: 1, position: 2, target: 9 },
];

describe('score cache key', () => {
  it('is <scorer weights hash>-<corpus hash>-k<k>, and each part moves with what it hashes', async () => {
    const a = LlamaModel.init(config, { seed: 1 });
    const same = LlamaModel.init(config, { seed: 1 });
    const other = LlamaModel.init(config, { seed: 2 });
    try {
      const key = scoreCacheKey(await modelWeightsHash(a), windows, sites, 16);
      expect(key).toMatch(/^[0-9a-f]{24}-[0-9a-f]{24}-k16$/);
      expect(key).toBe(`${(await modelWeightsHash(a)).slice(0, 24)}-${corpusHash(windows, sites).slice(0, 24)}-k16`);
      expect(scoreCacheKey(await modelWeightsHash(same), windows, sites, 16)).toBe(key); // same weights, another object: same scores
      // Another scorer: the first part changes, the corpus part does not.
      const byOther = scoreCacheKey(await modelWeightsHash(other), windows, sites, 16);
      expect(byOther.split('-')[0]).not.toBe(key.split('-')[0]);
      expect(byOther.split('-')[1]).toBe(key.split('-')[1]);
      // Another corpus (a token, a site, a token moved across a window boundary) or k: the rest changes.
      expect(
        scoreCacheKey(
          await modelWeightsHash(a),
          [
            [1, 2, 3, 4, 5, 7],
            [7, 8, 9],
          ],
          sites,
          16,
        ).split('-')[1],
      ).not.toBe(key.split('-')[1]);
      expect(scoreCacheKey(await modelWeightsHash(a), windows, [sites[0]!], 16)).not.toBe(key);
      expect(
        corpusHash(
          [
            [1, 2, 3, 4, 5],
            [6, 7, 8, 9],
          ],
          [],
        ),
      ).not.toBe(
        corpusHash(
          [
            [1, 2, 3, 4, 5, 6],
            [7, 8, 9],
          ],
          [],
        ),
      );
      expect(scoreCacheKey(await modelWeightsHash(a), windows, sites, 8)).not.toBe(key);
    } finally {
      [a, same, other].forEach((m) => m.dispose());
    }
  });

  it('two scorers of one corpus keep two cache files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rmt-score-key-'));
    const a = LlamaModel.init(config, { seed: 1 });
    const b = LlamaModel.init(config, { seed: 2 });
    try {
      const first = await scoreSitesCached(dir, await scorerOf(a), windows, sites, { k: 4, batch: 2 });
      const second = await scoreSitesCached(dir, await scorerOf(b), windows, sites, { k: 4, batch: 2 });
      expect([first.cached, second.cached]).toEqual([false, false]);
      expect(second.entropies).not.toEqual(first.entropies);
      expect(readdirSync(dir).sort()).toEqual([`entropy-${first.key}.json`, `entropy-${second.key}.json`].sort());
      expect((await scoreSitesCached(dir, await scorerOf(a), windows, sites, { k: 4, batch: 1 })).cached).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      a.dispose();
      b.dispose();
    }
  });
});

describe('scoreSites', () => {
  it("reads site t's entropies at position t − 1 of its window, each window scored once", async () => {
    // A scorer whose entropy at position p of a row is (first token of the row) + p / 10, by hand.
    const calls: number[][][] = [];
    const score = async (rows: number[][]) => {
      calls.push(rows);
      const at = rows.map((r) => r.map((_, p) => r[0]! + p / 10));
      return { full: at, topK: at.map((r) => r.map((x) => -x)) };
    };
    const out = await scoreSites(score, windows, [...sites, { window: 0, position: 5, target: 6 }], { k: 4, batch: 1 });
    expect(out.map((e) => e.full)).toEqual([1.2, 7.1, 1.4]);
    expect(out.map((e) => e.topK)).toEqual([-1.2, -7.1, -1.4]);
    expect(calls.map((c) => c.length)).toEqual([1, 1]); // two windows, one call each (batch 1)
  });
});
