export {
  tokenBoundaries,
  tokensToBytes,
  type ChatMessage,
  type ChatTemplateOptions,
  type Tokenizer,
} from './tokenizer.js';
export { ByteTokenizer } from './byte.js';
export { Llama2cTokenizer } from './llama2c.js';
export { HuggingFaceTokenizer, type HuggingFaceTokenizerSources } from './huggingface.js';
