// Difficulty of a site = entropy of a scorer model's next-token distribution there (METHOD.md §3): full
// vocabulary and top-k (RPT), in nats. The scorer is a function (`@rmt/model`'s `positionEntropies` on a
// model, or an inference engine's prompt log-probs), so this package needs no tensor library: it groups the
// sites by window, runs each window once, and caches the scores on disk keyed by the scorer's hash and one
// of the corpus (windows and sites), because scoring a corpus costs as much as a training epoch.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readInput, writeFileAtomic } from '@rmt/core';
import type { Site } from '@rmt/data';

export interface SiteEntropy {
  /** Full-vocabulary entropy, nats. */
  full: number;
  /** Entropy of the softmax over the top-k logits, nats. */
  topK: number;
}

/** The entropies (full, top-k) at every position of each row: what a scorer model computes. */
export type PositionScorer = (rows: number[][], k: number) => Promise<{ full: number[][]; topK: number[][] }>;

/** A scorer and its identity for the cache (e.g. `modelWeightsHash` of the model it runs). */
export interface Scorer {
  score: PositionScorer;
  hash: string;
}

export interface ScoreOptions {
  /** k of the top-k entropy (METHOD.md §3: 16). */
  k: number;
  /** Windows per scorer call. */
  batch: number;
  onProgress?: (done: number, total: number) => void;
}

/** Entropies of every site, in the order of `sites`: each window scored once, `batch` windows a call. */
export async function scoreSites(
  score: PositionScorer,
  windows: readonly number[][],
  sites: readonly Site[],
  options: ScoreOptions,
): Promise<SiteEntropy[]> {
  const byWindow = new Map<number, number[]>();
  sites.forEach((s, i) => {
    if (s.position < 1) throw new Error(`site ${i} has no context (position ${s.position})`);
    const list = byWindow.get(s.window);
    if (list) list.push(i);
    else byWindow.set(s.window, [i]);
  });
  const out = new Array<SiteEntropy>(sites.length);
  const windowIds = [...byWindow.keys()];
  for (let at = 0; at < windowIds.length; at += options.batch) {
    const group = windowIds.slice(at, at + options.batch);
    const { full, topK } = await score(
      group.map((w) => [...windows[w]!]),
      options.k,
    );
    group.forEach((w, b) => {
      // The distribution over x_t is the output at position t − 1.
      for (const i of byWindow.get(w)!)
        out[i] = { full: full[b]![sites[i]!.position - 1]!, topK: topK[b]![sites[i]!.position - 1]! };
    });
    options.onProgress?.(Math.min(at + options.batch, windowIds.length), windowIds.length);
  }
  return out;
}

/** The corpus as scored: sha256 of the windows' token ids and the sites' (window, position). */
export function corpusHash(windows: readonly number[][], sites: readonly Site[]): string {
  const hash = createHash('sha256');
  for (const w of windows) {
    // Each window's length first, so two corpora cannot hash alike by moving a token across a window boundary.
    hash.update(new Int32Array([w.length]));
    hash.update(new Int32Array(w));
  }
  hash.update(new Int32Array(sites.flatMap((s) => [s.window, s.position])));
  return hash.digest('hex');
}

/**
 * The cache key of a scorer + corpus + k: `<scorer hash>-<corpus hash>-k<k>` (24 hex digits of each), so a
 * different scorer model (METHOD.md §3: `midtrain.curriculum.scorer`) or a different corpus, tokenisation,
 * window length or site rule never reads another's scores.
 */
export function scoreCacheKey(
  scorerHash: string,
  windows: readonly number[][],
  sites: readonly Site[],
  k: number,
): string {
  return `${scorerHash.slice(0, 24)}-${corpusHash(windows, sites).slice(0, 24)}-k${k}`;
}

/** {@link scoreSites} with an on-disk cache in `cacheDir` (a corrupt cache file is recomputed). */
export async function scoreSitesCached(
  cacheDir: string,
  scorer: Scorer,
  windows: readonly number[][],
  sites: readonly Site[],
  options: ScoreOptions,
): Promise<{ entropies: SiteEntropy[]; cached: boolean; key: string }> {
  const key = scoreCacheKey(scorer.hash, windows, sites, options.k);
  const file = join(cacheDir, `entropy-${key}.json`);
  if (existsSync(file)) {
    try {
      const data = JSON.parse(await readInput(file, 'utf8')) as { full: number[]; topK: number[] };
      if (data.full.length === sites.length && data.topK.length === sites.length) {
        return { entropies: data.full.map((full, i) => ({ full, topK: data.topK[i]! })), cached: true, key };
      }
    } catch {
      /* recompute below */
    }
  }
  const entropies = await scoreSites(scorer.score, windows, sites, options);
  await writeFileAtomic(
    file,
    JSON.stringify({ full: entropies.map((e) => e.full), topK: entropies.map((e) => e.topK) }),
  );
  return { entropies, cached: false, key };
}
