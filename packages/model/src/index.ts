/**
 * @rmt/model — the policy of RMT: a Llama-style causal LM on the shared tfjs engine, KV-cached batched
 * generation, tokenizers, safetensors checkpoints and importers (llama2.c, Hugging Face).
 */
export {
  headDim,
  llamaConfigSchema,
  parameterCount,
  parseLlamaConfig,
  ropeInverseFrequencies,
  ropeScalingSchema,
  type LlamaConfig,
  type LlamaConfigInput,
  type RopeScaling,
} from './config.js';
export { HARMLESS_KEYS, modelTypeOf, SUPPORTED_MODEL_TYPES, type ModelType } from './hf-config.js';
export { LlamaModel, type InitOptions, type KVCache, type LayerWeights, type LlamaWeights } from './llama.js';
export {
  generate,
  leftPad,
  sampleToken,
  type FinishReason,
  type GenerateOptions,
  type Generation,
} from './generate.js';
export { expectedHfShapes, expectedHfTensors, fromHfTensors, toHfTensors, type ExpectedTensor } from './weights.js';
export { importLlama2c, parseLlama2c } from './llama2c-import.js';
export {
  fromHfConfig,
  loadModel,
  loadTokenizer,
  saveModel,
  saveTokenizer,
  toHfConfig,
  CONFIG_FILE,
  INDEX_FILE,
  WEIGHTS_FILE,
  type LoadedModel,
} from './checkpoint.js';
// The tokenizers live in @rmt/tokenizers (no tensor library, so @rmt/data needs no tfjs); re-exported because
// loadModel returns one and users of @rmt/model have always found them here.
export * from '@rmt/tokenizers';
export { modelWeightsHash, positionEntropies, scoreTokens, type PositionEntropies, type TextScore } from './score.js';
