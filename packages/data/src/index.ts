/**
 * @rmt/data — the next-token reasoning task (METHOD.md §1): corpora, windows and sites, prompt formats,
 * answer parsing, the prefix-match reward, and the embedded synthetic corpus.
 */
export { prefixMatchReward } from './reward.js';
export {
  budgetTokenName,
  CONTROL_TOKENS,
  ControlTokenFormat,
  lastBoxed,
  LlmTextFormat,
  type LlmTextOptions,
  type ParsedCompletion,
  type PromptFormat,
} from './prompt.js';
export { JSONL_SHAPES, readCorpus, type CorpusField, type CorpusSource } from './corpus.js';
export {
  buildWindows,
  findSites,
  siteContext,
  siteContinuation,
  type Site,
  type SiteContinuation,
  type SiteRules,
} from './sites.js';
export {
  checksum,
  checksumLine,
  checksumQuestion,
  DEFAULT_SYNTHETIC,
  posttrainProblems,
  randomDigits,
  reasoningExample,
  runningSums,
  SYNTHETIC_BUDGETS,
  SYNTHETIC_SLOTS,
  slotsOf,
  syntheticDocuments,
  syntheticWindowLength,
  SYNTHETIC_LINES_PER_DOCUMENT,
  syntheticPretrainSequences,
  syntheticTokenizer,
  trace,
  type PosttrainProblem,
  type ReasoningExample,
  type Overthink,
  type SyntheticOptions,
  type TraceStyle,
} from './synthetic.js';
export {
  changedSyntheticKnobs,
  dataConfigSchema,
  syntheticConfigSchema,
  syntheticOptionsOf,
  type DataConfig,
  type DataConfigInput,
  type SyntheticConfig,
} from './config.js';
export {
  answersEquivalent,
  answerValue,
  extractAnswer,
  gsm8kFinalAnswer,
  normalizeAnswer,
  readGsm8k,
  readMath,
  type VerifiableProblem,
} from './tasks.js';
