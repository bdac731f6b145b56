// The score cache's key (METHOD.md §3): the scorer model's weights hash and the corpus hash, so another
// scorer (midtrain.curriculum.scorer) or another corpus never reads someone else's scores.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBackend } from '@rmt/backend';
import { LlamaModel, parseLlamaConfig } from '@rmt/model';
import { corpusHash, modelWeightsHash, scoreCacheKey, scoreSitesCached } from './index.js';

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
      const key = await scoreCacheKey(a, windows, sites, 16);
      expect(key).toMatch(/^[0-9a-f]{24}-[0-9a-f]{24}-k16$/);
      expect(key).toBe(`${(await modelWeightsHash(a)).slice(0, 24)}-${corpusHash(windows, sites).slice(0, 24)}-k16`);
      expect(await scoreCacheKey(same, windows, sites, 16)).toBe(key); // same weights, another object: same scores
      expect(await scoreCacheKey(a, windows, sites, 16, await modelWeightsHash(a))).toBe(key); // a precomputed hash gives the same key
      // Another scorer: the first part changes, the corpus part does not.
      const byOther = await scoreCacheKey(other, windows, sites, 16);
      expect(byOther.split('-')[0]).not.toBe(key.split('-')[0]);
      expect(byOther.split('-')[1]).toBe(key.split('-')[1]);
      // Another corpus (a token, a site, a token moved across a window boundary) or k: the rest changes.
      expect(
        (
          await scoreCacheKey(
            a,
            [
              [1, 2, 3, 4, 5, 7],
              [7, 8, 9],
            ],
            sites,
            16,
          )
        ).split('-')[1],
      ).not.toBe(key.split('-')[1]);
      expect(await scoreCacheKey(a, windows, [sites[0]!], 16)).not.toBe(key);
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
      expect(await scoreCacheKey(a, windows, sites, 8)).not.toBe(key);
    } finally {
      [a, same, other].forEach((m) => m.dispose());
    }
  });

  it('two scorers of one corpus keep two cache files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rmt-score-key-'));
    const a = LlamaModel.init(config, { seed: 1 });
    const b = LlamaModel.init(config, { seed: 2 });
    try {
      const first = await scoreSitesCached(dir, a, windows, sites, { k: 4, batch: 2 });
      const second = await scoreSitesCached(dir, b, windows, sites, { k: 4, batch: 2 });
      expect([first.cached, second.cached]).toEqual([false, false]);
      expect(second.entropies).not.toEqual(first.entropies);
      expect(readdirSync(dir).sort()).toEqual([`entropy-${first.key}.json`, `entropy-${second.key}.json`].sort());
      expect(
        (await scoreSitesCached(dir, a, windows, sites, { k: 4, batch: 1, scorerHash: await modelWeightsHash(a) }))
          .cached,
      ).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      a.dispose();
      b.dispose();
    }
  });
});
