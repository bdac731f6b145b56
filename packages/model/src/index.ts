/**
 * @rmt/model — the policy of RMT: a Llama-style causal LM on the shared tfjs engine, KV-cached batched
 * generation, tokenizers, safetensors checkpoints and importers (llama2.c, Hugging Face).
 */
export { headDim, llamaConfigSchema, parameterCount, parseLlamaConfig, type LlamaConfig, type LlamaConfigInput } from './config.js';
export { LlamaModel, type InitOptions, type KVCache, type LayerWeights, type LlamaWeights } from './llama.js';
export { generate, leftPad, sampleToken, type FinishReason, type GenerateOptions, type Generation } from './generate.js';
export { expectedHfShapes, fromHfTensors, toHfTensors } from './weights.js';
export { importLlama2c, parseLlama2c } from './llama2c-import.js';
export { fromHfConfig, loadModel, loadTokenizer, saveModel, saveTokenizer, toHfConfig, CONFIG_FILE, WEIGHTS_FILE, type LoadedModel } from './checkpoint.js';
export * from './tokenizers/index.js';
export { scoreTokens, type TextScore } from './score.js';
