/**
 * @rmt/core — what every RMT package shares and none of them needs tensors for: the seeded random source
 * with saveable state, file IO that names the file in its errors (atomic writes), and safetensors
 * parsing and writing on plain Float32Arrays. No TensorFlow.js, no other RMT package.
 */
export { createRng, type Rng, type RngState } from './rng.js';
export { readInput, writeFileAtomic, writeFolderAtomic } from './files.js';
export {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
  SafetensorsError,
  type NamedArray,
  type TensorMap,
} from './safetensors.js';
