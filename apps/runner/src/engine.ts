// The inference engine of a run (midtrain.rollout.engine: openai, METHOD.md §7): the client, connected
// before anything else so an unreachable engine fails at once naming its URL; the choice of scorer (the
// engine's prompt_logprobs, or the local model); and the hint an engine failure ends a run with.
import { join, resolve } from 'node:path';
import { scoreCacheKey } from '@rmt/curriculum';
import { EngineError, OpenAIEngineClient, scoreSitesOnEngine } from '@rmt/engine';
import { modelWeightsHash, type LlamaModel, type Tokenizer } from '@rmt/model';
import type { RunConfig } from './config.js';
import { siteEntropies, type Split } from './task.js';

/** The connected client with engine: openai (weights written to weightsDir, else <run dir>/engine-weights); undefined with engine: local. */
export async function connectEngine(
  config: RunConfig,
  runDir: string,
  onRetry: (message: string) => void,
): Promise<OpenAIEngineClient | undefined> {
  const r = config.midtrain.rollout;
  if (r.engine !== 'openai') return undefined;
  // The curriculum's full-vocabulary entropy cannot come from top-k prompt_logprobs.
  if (r.scoring === 'engine' && config.midtrain.curriculum.measure === 'full') {
    throw new Error(
      "midtrain.rollout.scoring: 'engine' gives top-k entropies only (prompt_logprobs); midtrain.curriculum.measure 'full' needs scoring 'local' (or 'auto')",
    );
  }
  const weightsDir = r.weightsDir === null ? join(runDir, 'engine-weights') : resolve(r.weightsDir);
  return OpenAIEngineClient.connect(r, { weightsDir, onRetry });
}

/**
 * Site entropies on the engine when the config asks for it (scoring: engine, or auto with an engine and
 * the top-k measure): cached under the local scorer's key (the same base weights, corpus, sites and k),
 * with the base pushed to the engine first on a cache miss. Undefined: score locally.
 */
async function engineSiteEntropies(
  engine: OpenAIEngineClient | undefined,
  base: LlamaModel,
  tokenizer: Tokenizer,
  split: Split,
  config: RunConfig,
  cacheDir: string,
): Promise<number[] | undefined> {
  const { rollout: r, curriculum: c } = config.midtrain;
  if (!engine || r.scoring === 'local' || c.measure === 'full') return undefined;
  const key = scoreCacheKey(await modelWeightsHash(base), split.windows, split.sites, c.k);
  const before = async () => {
    if (engine.version !== 0) await engine.pushWeights(base, tokenizer, 0);
  };
  const { entropies } = await scoreSitesOnEngine(engine, split.windows, split.sites, {
    k: c.k,
    batch: c.scoreBatch,
    vocabSize: base.config.vocabSize,
    cacheDir: join(cacheDir, 'entropy'),
    key,
    before,
  });
  return entropies;
}

/** Site entropies of a split: on the engine when the config asks for it (engineSiteEntropies), else on the local base. */
export async function siteScores(
  engine: OpenAIEngineClient | undefined,
  base: LlamaModel,
  tokenizer: Tokenizer,
  split: Split,
  config: RunConfig,
  cacheDir: string,
  onProgress?: (done: number, total: number) => void,
): Promise<number[]> {
  return (
    (await engineSiteEntropies(engine, base, tokenizer, split, config, cacheDir)) ??
    siteEntropies(base, split, config.midtrain.curriculum, cacheDir, onProgress)
  );
}

/** An engine failure stops the run with its newest checkpoint kept: say how to continue. */
export function withResumeHint(runDir: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof EngineError)
      throw new Error(
        `${error.message}; the run stopped with its newest checkpoint kept: continue with \`rmt resume ${runDir}\``,
        { cause: error },
      );
    throw error;
  };
}
