// The task a run works on: tokenizer, prompt format, training and held-out windows and sites, and the
// base model's entropy per site (the curriculum's difficulty and the evaluation's splits).
import { join } from 'node:path';
import {
  assignTiers,
  scoreSitesCached,
  tierThresholds,
  type CurriculumConfig,
  type SamplerSite,
} from '@rmt/curriculum';
import {
  buildWindows,
  ControlTokenFormat,
  findSites,
  LlmTextFormat,
  readCorpus,
  SYNTHETIC_BUDGETS,
  syntheticDocuments,
  syntheticOptionsOf,
  budgetTokenName,
  type DataConfig,
  type PromptFormat,
  type Site,
} from '@rmt/data';
import { modelWeightsHash, positionEntropies, type LlamaModel, type Tokenizer } from '@rmt/model';

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

/** The prompt format of `data.format`; `task` says what an llm-text prompt asks for (post-training: a problem's answer). */
export function promptFormat(
  data: DataConfig,
  tokenizer: Tokenizer,
  task: 'next-token' | 'problem' = 'next-token',
): PromptFormat {
  if (data.format === 'llm-text') {
    const t = data.chatTemplate;
    const named = typeof t === 'string' && t !== 'auto' ? t : undefined; // a template's name: that one, required
    return new LlmTextFormat(tokenizer, {
      chat: named ? true : (t as 'auto' | boolean),
      template: named,
      enableThinking: data.enableThinking,
      task,
    });
  }
  if (data.chatTemplate !== 'auto' || !data.enableThinking)
    throw new Error(
      "data.chatTemplate and data.enableThinking apply to data.format 'llm-text' only; data.format is 'control-tokens'",
    );
  const budgets = SYNTHETIC_BUDGETS.filter((b) => tokenizer.specialId(budgetTokenName(b)) !== undefined);
  return new ControlTokenFormat(tokenizer, budgets, 4, data.promptContextTokens);
}

export async function prepareTask(d: DataConfig, seed: number, tokenizer: Tokenizer): Promise<Task> {
  let trainDocs: string[];
  let heldDocs: string[];
  if (d.corpus === 'synthetic') {
    const knobs = syntheticOptionsOf(d.synthetic); // data.synthetic.*: the task knobs (today's corpus at their defaults)
    trainDocs = syntheticDocuments(seed, d.documents, knobs);
    heldDocs = syntheticDocuments(seed + HELD_OUT_SEED, d.heldOutDocuments, knobs);
  } else {
    const docs = await readCorpus(d.corpus);
    const held = Math.max(1, Math.floor(docs.length / 10));
    if (docs.length < 2) throw new Error(`${d.corpus.path}: need at least 2 documents (training + held-out)`);
    trainDocs = docs.slice(0, docs.length - held);
    heldDocs = docs.slice(docs.length - held);
  }
  const rules = {
    skipFirst: d.skipFirst,
    continuationTokens: d.continuationTokens,
    eligible: d.sitesAfter === null ? ('all' as const) : { after: d.sitesAfter },
  };
  const split = (docs: string[], what: string): Split => {
    const windows = buildWindows(docs, tokenizer, d.windowLength);
    const sites = findSites(windows, tokenizer, rules);
    if (sites.length === 0)
      throw new Error(
        `data: the ${what} corpus has no sites (windowLength ${d.windowLength}, skipFirst ${d.skipFirst}, sitesAfter ${JSON.stringify(d.sitesAfter)})`,
      );
    return { windows, sites };
  };
  return {
    format: promptFormat(d, tokenizer),
    train: split(trainDocs, 'training'),
    heldOut: split(heldDocs, 'held-out'),
  };
}

/** Base-model entropy of each site (cached on disk), in the configured measure. */
export async function siteEntropies(
  base: LlamaModel,
  split: Split,
  c: CurriculumConfig,
  cacheDir: string,
  onProgress?: (done: number, total: number) => void,
): Promise<number[]> {
  const scorer = {
    score: (rows: number[][], k: number) => positionEntropies(base, rows, k),
    hash: await modelWeightsHash(base),
  };
  const { entropies } = await scoreSitesCached(join(cacheDir, 'entropy'), scorer, split.windows, split.sites, {
    k: c.k,
    batch: c.scoreBatch,
    onProgress,
  });
  return entropies.map((e) => (c.measure === 'full' ? e.full : e.topK));
}

/** Tiers of the training sites for the sampler (METHOD.md §3). */
export function samplerSites(
  entropies: number[],
  tierRule: CurriculumConfig['tiers'],
): { sites: SamplerSite[]; thresholds: [number, number, number] } {
  const thresholds = tierThresholds(entropies, tierRule);
  const tiers = assignTiers(entropies, thresholds);
  return { sites: entropies.map((entropy, index) => ({ index, tier: tiers[index]!, entropy })), thresholds };
}

/** Text the tokenizer check encodes with both tokenizers: letters, digits, punctuation, spaces, newlines, accents. */
const TOKENIZER_PROBE = 'Once upon a time, 3492 + 17 = 3509.\n\n  "Hello!" — café, naïve; x_t <- f(x) {ok}\tend';

/**
 * A scorer model must read the policy's token ids as the same text (sites are token positions, METHOD.md §3):
 * the same vocabulary size, the same bytes for every id, the same special ids, and the same encoding of a
 * probe text. Throws naming the scorer, the base and the first difference.
 */
export function assertSameTokenizer(policy: Tokenizer, scorer: Tokenizer, scorerPath: string, basePath: string): void {
  const refuse = (detail: string): never => {
    throw new Error(
      `midtrain.curriculum.scorer '${scorerPath}': its tokenizer differs from the base's (${basePath}): ${detail}. Sites are token positions of the base's tokenizer, ` +
        `so the scorer must share it; use a scorer of the same model family (e.g. a smaller model with the same tokenizer), or scorer: base`,
    );
  };
  if (scorer.vocabSize !== policy.vocabSize)
    refuse(`vocabulary of ${scorer.vocabSize} tokens, not ${policy.vocabSize}`);
  for (const name of ['bosId', 'eosId'] as const)
    if (scorer[name] !== policy[name]) refuse(`${name} ${String(scorer[name])}, not ${String(policy[name])}`);
  for (let id = 0; id < policy.vocabSize; id++) {
    const a = policy.tokenBytes(id);
    const b = scorer.tokenBytes(id);
    if (a.length !== b.length || a.some((x, i) => x !== b[i]))
      refuse(
        `token ${id} is ${JSON.stringify(Buffer.from(b).toString('latin1'))}, not ${JSON.stringify(Buffer.from(a).toString('latin1'))}`,
      );
  }
  const a = policy.encode(TOKENIZER_PROBE, { bos: false });
  const b = scorer.encode(TOKENIZER_PROBE, { bos: false });
  if (a.length !== b.length || a.some((x, i) => x !== b[i]))
    refuse(
      `it encodes ${JSON.stringify(TOKENIZER_PROBE.slice(0, 20))}… as [${b.slice(0, 8).join(', ')}, …], not [${a.slice(0, 8).join(', ')}, …]`,
    );
}
