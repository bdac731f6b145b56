/**
 * @rmt/engine — rollouts and scoring on an existing inference engine: a client of OpenAI-compatible servers
 * (vLLM, SGLang) that validates every answer, weight sync through disk, top-k site entropies from
 * prompt_logprobs, and `startServer`, the same API over RMT's own model (`rmt serve`).
 */
export {
  rolloutEngineConfigSchema,
  retryConfigSchema,
  tisConfigSchema,
  type RetryConfig,
  type RolloutEngineConfig,
  type RolloutEngineConfigInput,
  type TisConfig,
} from './config.js';
export {
  EngineError,
  EngineResponseError,
  EngineUnavailableError,
  OpenAIEngineClient,
  StaleWeightsError,
  type CompletionParams,
  type EngineClientOptions,
  type EngineCompletions,
  type RolloutEngine,
} from './client.js';
export {
  completionRequestSchema,
  completionResponseSchema,
  WEIGHT_VERSION_HEADER,
  type CompletionRequest,
  type CompletionResponse,
  type PositionLogprobs,
} from './protocol.js';
export { publishWeights, pruneWeights, readWeightsVersion, versionFolder, VERSION_FILE } from './weights.js';
export { scoreSitesOnEngine, topKEntropyOfRecord, type EngineScoreOptions } from './scoring.js';
export { isLoopback, startServer, type RunningServer, type ServeOptions } from './server.js';
