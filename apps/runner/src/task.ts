// The task a run works on: tokenizer, prompt format, training and held-out windows and sites, and the
// base model's entropy per site (the curriculum's difficulty and the evaluation's splits).
import { join } from 'node:path';
import { assignTiers, scoreSitesCached, tierThresholds, type CurriculumConfig, type SamplerSite } from '@rmt/curriculum';
import {
  buildWindows,
  ControlTokenFormat,
  findSites,
  LlmTextFormat,
  readCorpus,
  SYNTHETIC_BUDGETS,
  syntheticDocuments,
  budgetTokenName,
  type DataConfig,
  type PromptFormat,
  type Site,
} from '@rmt/data';
import type { LlamaModel, Tokenizer } from '@rmt/model';

export interface Split {
  windows: number[][];
  sites: Site[];
}

export interface Task {
  format: PromptFormat;
  train: Split;
  heldOut: Split;
}

/** Seed offset of the held-out documents: never the same documents as training. */
const HELD_OUT_SEED = 1_000_003;

export function promptFormat(data: DataConfig, tokenizer: Tokenizer): PromptFormat {
  if (data.format === 'llm-text') return new LlmTextFormat(tokenizer);
  const budgets = SYNTHETIC_BUDGETS.filter((b) => tokenizer.specialId(budgetTokenName(b)) !== undefined);
  return new ControlTokenFormat(tokenizer, budgets, 4, data.promptContextTokens);
}

export async function prepareTask(d: DataConfig, seed: number, tokenizer: Tokenizer): Promise<Task> {
  let trainDocs: string[];
  let heldDocs: string[];
  if (d.corpus === 'synthetic') {
    trainDocs = syntheticDocuments(seed, d.documents);
    heldDocs = syntheticDocuments(seed + HELD_OUT_SEED, d.heldOutDocuments);
  } else {
    const docs = await readCorpus(d.corpus);
    const held = Math.max(1, Math.floor(docs.length / 10));
    if (docs.length < 2) throw new Error(`${d.corpus.path}: need at least 2 documents (training + held-out)`);
    trainDocs = docs.slice(0, docs.length - held);
    heldDocs = docs.slice(docs.length - held);
  }
  const rules = { skipFirst: d.skipFirst, continuationTokens: d.continuationTokens, eligible: d.sitesAfter === null ? ('all' as const) : { after: d.sitesAfter } };
  const split = (docs: string[], what: string): Split => {
    const windows = buildWindows(docs, tokenizer, d.windowLength);
    const sites = findSites(windows, tokenizer, rules);
    if (sites.length === 0) throw new Error(`data: the ${what} corpus has no sites (windowLength ${d.windowLength}, skipFirst ${d.skipFirst}, sitesAfter ${JSON.stringify(d.sitesAfter)})`);
    return { windows, sites };
  };
  return { format: promptFormat(d, tokenizer), train: split(trainDocs, 'training'), heldOut: split(heldDocs, 'held-out') };
}

/** Base-model entropy of each site (cached on disk), in the configured measure. */
export async function siteEntropies(base: LlamaModel, split: Split, c: CurriculumConfig, cacheDir: string, onProgress?: (done: number, total: number) => void): Promise<number[]> {
  const { entropies } = await scoreSitesCached(join(cacheDir, 'entropy'), base, split.windows, split.sites, { k: c.k, batch: c.scoreBatch, onProgress });
  return entropies.map((e) => (c.measure === 'full' ? e.full : e.topK));
}

/** Tiers of the training sites for the sampler (METHOD.md §3). */
export function samplerSites(entropies: number[], tierRule: CurriculumConfig['tiers']): { sites: SamplerSite[]; thresholds: [number, number, number] } {
  const thresholds = tierThresholds(entropies, tierRule);
  const tiers = assignTiers(entropies, thresholds);
  return { sites: entropies.map((entropy, index) => ({ index, tier: tiers[index]!, entropy })), thresholds };
}
