/**
 * @rmt/backend — the only package of RMT that imports TensorFlow.js.
 * Every other package takes `tf` from here, so a process holds exactly one tfjs engine.
 */
export * as tf from '@tensorflow/tfjs';
export {
  BACKEND_NAMES,
  BackendUnavailableError,
  activeBackend,
  autoOrder,
  availableBackends,
  loadBackend,
  probeBackends,
  type BackendInfo,
  type BackendName,
  type BackendProbe,
  type BackendRequest,
  type LoadBackendOptions,
  type TrainingWorkload,
  WorkloadTooLargeError,
} from './select.js';
export {
  WASM_HEAP_HEADROOM,
  WASM_HEAP_LIMIT,
  describeTrainingMemory,
  estimateTrainingBytes,
  formatBytes,
  memoryMetrics,
  parameterCountOf,
  type ModelShape,
  type TrainingMemory,
} from './memory.js';
export { kernelThreads, setKernelThreads } from './threads.js';
export { drawToken } from './sample.js';
export { readAllValues, readArray, readScalar, readValues } from './read.js';
export { gpuDeviceNode, type GpuAdapterInfo } from './webgpu.js';
export { kvCacheWrite, kvCacheWritesInPlace } from './kv-cache.js';
export { adamwStep, sumOfSquares, type AdamWStep } from './adamw.js';
export { attention, rmsNorm, rope, softmax, swiglu } from './fused.js';
export {
  entropy,
  logSoftmax,
  logSumExp,
  maskedMean,
  maskedSum,
  tokenLogProbs,
  topKEntropy,
  variableFrom,
} from './numerics.js';
