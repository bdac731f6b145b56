export { tokenBoundaries, tokensToBytes, type Tokenizer } from './tokenizer.js';
export { ByteTokenizer } from './byte.js';
export { Llama2cTokenizer } from './llama2c.js';
export { HuggingFaceTokenizer } from './huggingface.js';
