/**
 * @rmt/curriculum — curriculum-based adaptive sampling (METHOD.md §3): entropy scoring of sites, difficulty
 * tiers, the easy → hard schedule, built-in samplers and the contract for third-party sampler packages.
 */
export {
  corpusHash,
  scoreCacheKey,
  scoreSites,
  scoreSitesCached,
  type PositionScorer,
  type Scorer,
  type ScoreOptions,
  type SiteEntropy,
} from './scoring.js';
export {
  assignTiers,
  quantile,
  tierProbabilities,
  tierThresholds,
  TIERS,
  type Tier,
  type TierIndex,
  type TierRule,
  type TierSchedule,
} from './tiers.js';
export {
  defineSampler,
  SAMPLER_SPECIFICATION_VERSION,
  type OptionsSchema,
  type Sampler,
  type SamplerContext,
  type SamplerDefinition,
  type SamplerSite,
  type SiteOutcome,
} from './sampler.js';
export {
  BUILTIN_SAMPLERS,
  curriculumOptionsSchema,
  curriculumSampler,
  drawDistinct,
  entropyFilteredSampler,
  tierWithSites,
  uniformSampler,
} from './builtin.js';
export { createSampler, resolveSamplerDefinition, validateSamplerDefinition } from './registry.js';
export { curriculumConfigSchema, type CurriculumConfig, type CurriculumConfigInput } from './config.js';
