// Difficulty of a site = entropy of a scorer model's next-token distribution there (METHOD.md §3): full
// vocabulary and top-k (RPT), in nats. Each window is run once; scores are cached on disk keyed by a hash
// of the scorer's weights and one of the corpus (windows and sites), because scoring a corpus costs as
// much as a training epoch.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { entropy, readArray, tf, topKEntropy } from '@rmt/backend';
import { readInput, writeFileAtomic } from '@rmt/core';
import type { LlamaModel } from '@rmt/model';
import type { Site } from '@rmt/data';

export interface SiteEntropy {
  /** Full-vocabulary entropy, nats. */
  full: number;
  /** Entropy of the softmax over the top-k logits, nats. */
  topK: number;
}

export interface ScoreOptions {
  /** k of the top-k entropy (METHOD.md §3: 16). */
  k: number;
  /** Windows per forward pass. */
  batch: number;
  onProgress?: (done: number, total: number) => void;
  /** {@link modelWeightsHash} of the scorer, when the caller has it (it is computed otherwise). */
  scorerHash?: string;
}

/** Entropies of every site, in the order of `sites` (read back with `await`: a GPU backend cannot read synchronously in Node). */
export async function scoreSites(
  model: LlamaModel,
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
    const width = Math.max(...group.map((w) => windows[w]!.length));
    // Right padding cannot change earlier positions (causal attention), so rows need no mask.
    const rows = group.map((w) => [...windows[w]!, ...new Array<number>(width - windows[w]!.length).fill(0)]);
    const tensors = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(rows, undefined, 'int32'));
      return [entropy(logits), topKEntropy(logits, options.k)];
    });
    const [full, top] = (await Promise.all(tensors.map((t) => readArray<number[][]>(t)))) as [number[][], number[][]];
    group.forEach((w, b) => {
      // The distribution over x_t is the output at position t − 1.
      for (const i of byWindow.get(w)!)
        out[i] = { full: full[b]![sites[i]!.position - 1]!, topK: top[b]![sites[i]!.position - 1]! };
    });
    options.onProgress?.(Math.min(at + options.batch, windowIds.length), windowIds.length);
  }
  return out;
}

/**
 * The scorer's identity for the cache: sha256 of its architecture and every weight (not its path: a model
 * copied elsewhere keeps its scores, one retrained in place does not). Hashing reads every weight once;
 * pass the result as `ScoreOptions.scorerHash` to score several splits with one hash.
 */
export async function modelWeightsHash(model: LlamaModel): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(model.config));
  const values = (await Promise.all(model.parameters().map((p) => p.data()))) as Float32Array[];
  for (const v of values) hash.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return hash.digest('hex');
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
 * The cache key of a scorer + corpus + k: `<scorer weights hash>-<corpus hash>-k<k>` (24 hex digits of each), so
 * a different scorer model (METHOD.md §3: `midtrain.curriculum.scorer`) or a different corpus, tokenisation,
 * window length or site rule never reads another's scores.
 */
export async function scoreCacheKey(
  model: LlamaModel,
  windows: readonly number[][],
  sites: readonly Site[],
  k: number,
  scorerHash?: string,
): Promise<string> {
  return `${(scorerHash ?? (await modelWeightsHash(model))).slice(0, 24)}-${corpusHash(windows, sites).slice(0, 24)}-k${k}`;
}

/** {@link scoreSites} with an on-disk cache in `cacheDir` (a corrupt cache file is recomputed). */
export async function scoreSitesCached(
  cacheDir: string,
  model: LlamaModel,
  windows: readonly number[][],
  sites: readonly Site[],
  options: ScoreOptions,
): Promise<{ entropies: SiteEntropy[]; cached: boolean; key: string }> {
  const key = await scoreCacheKey(model, windows, sites, options.k, options.scorerHash);
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
  const entropies = await scoreSites(model, windows, sites, options);
  await writeFileAtomic(
    file,
    JSON.stringify({ full: entropies.map((e) => e.full), topK: entropies.map((e) => e.topK) }),
  );
  return { entropies, cached: false, key };
}
