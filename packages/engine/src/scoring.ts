// Site difficulty on the engine (METHOD.md §3): RPT's top-k entropy from the engine's prompt_logprobs —
// each window is sent once as a prompt, and the record at position t (the distribution over x_t given
// x_<t) gives the site's entropy: its k most likely tokens (rank ≤ k; a record also holds the prompt's
// own token, which may rank lower), renormalised. Cached on disk like the local scorer's scores.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readInput, writeFileAtomic } from '@rmt/core';
import type { OpenAIEngineClient } from './client.js';
import type { PositionLogprobs } from './protocol.js';

/** Entropy (nats) of the softmax over the k most likely tokens of one prompt_logprobs record. */
export function topKEntropyOfRecord(record: PositionLogprobs, k: number): number {
  const entries = Object.values(record);
  // Ranks, when the engine gives them, pick the top k; otherwise the k largest log-probs.
  const top = entries.every((e) => typeof e.rank === 'number')
    ? entries.filter((e) => e.rank! <= k)
    : [...entries].sort((a, b) => b.logprob - a.logprob).slice(0, k);
  if (top.length === 0) throw new Error(`prompt_logprobs record has no entry of rank ≤ ${k}`);
  const lps = top.map((e) => e.logprob);
  const max = Math.max(...lps);
  const logZ = max + Math.log(lps.reduce((s, lp) => s + Math.exp(lp - max), 0));
  return -lps.reduce((h, lp) => h + Math.exp(lp - logZ) * (lp - logZ), 0);
}

export interface EngineScoreOptions {
  /** k of the top-k entropy (METHOD.md §3: 16). */
  k: number;
  /** Windows per request. */
  batch: number;
  /** The scorer's vocabulary (ids outside it are refused). */
  vocabSize: number;
  /** Cache folder, and the key of the scorer's weights + windows + sites + k (the runner passes the local scorer's key). */
  cacheDir: string;
  key: string;
  /** Run before asking the engine (only on a cache miss): e.g. push the scorer's weights. */
  before?: () => Promise<void>;
}

/** Top-k entropies of `sites` (in their order) from the engine, cached in `cacheDir` under `entropy-engine-<key>.json`. */
export async function scoreSitesOnEngine(
  client: Pick<OpenAIEngineClient, 'promptLogprobs'>,
  windows: readonly number[][],
  sites: readonly { window: number; position: number }[],
  options: EngineScoreOptions,
): Promise<{ entropies: number[]; cached: boolean }> {
  const file = join(options.cacheDir, `entropy-engine-${options.key}.json`);
  if (existsSync(file)) {
    try {
      const { topK } = JSON.parse(await readInput(file, 'utf8')) as { topK: number[] };
      if (Array.isArray(topK) && topK.length === sites.length) return { entropies: topK, cached: true };
    } catch {
      /* recompute below */
    }
  }
  sites.forEach((s, i) => {
    if (s.position < 1) throw new Error(`site ${i} has no context (position ${s.position})`);
  });
  await options.before?.();
  const ids = [...new Set(sites.map((s) => s.window))];
  const records = await client.promptLogprobs(
    ids.map((w) => windows[w]!),
    options.k,
    options.batch,
    options.vocabSize,
  );
  const byWindow = new Map(ids.map((w, i) => [w, records[i]!]));
  const entropies = sites.map((s) => topKEntropyOfRecord(byWindow.get(s.window)![s.position]!, options.k));
  await writeFileAtomic(file, JSON.stringify({ topK: entropies }));
  return { entropies, cached: false };
}
