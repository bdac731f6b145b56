// How much memory a training step takes, before the first step: so that `auto` picks a backend that holds
// it (the wasm heap is 32-bit: 4 GiB at most, and a training step that outgrows it ends in a bare
// `RuntimeError: Aborted()` from inside WebAssembly), or refuses with the sizes and what to install.
//
// The model of a step (float32 everywhere; what tfjs keeps alive at the peak, at the end of the backward
// pass): weights, the two AdamW moments and the gradients (16 bytes a parameter); every forward
// intermediate of every layer, which tfjs's tape holds until the backward pass ends; and the head's
// logits [B·T, V] with the log-softmax around them and their gradients. The activation terms count the
// tensors @rmt/model's forward pass creates (see ACTIVATION_MARGIN for what the count misses).
import * as tf from '@tensorflow/tfjs';

/** A model's shape: the fields of @rmt/model's LlamaConfig that size a training step. */
export interface ModelShape {
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Width of one head (default dim / nHeads). */
  headDim?: number;
  hiddenDim: number;
  vocabSize: number;
  /** Output head shares the token embedding (default true). */
  tieEmbeddings?: boolean;
  /** Learned absolute positions add maxSeqLen × dim parameters. */
  positionEncoding?: 'rope' | 'learned';
  maxSeqLen?: number;
  qkvBias?: boolean;
  oBias?: boolean;
  mlpBias?: boolean;
  qkNorm?: boolean;
}

/** Bytes of one training step (AdamW), by part; `total` is their sum. */
export interface TrainingMemory {
  parameters: number;
  weights: number;
  /** AdamW's first and second moments. */
  adamMoments: number;
  gradients: number;
  /** Forward intermediates the backward pass needs, for every layer, and the head's logits and log-softmax. */
  activations: number;
  total: number;
}

/**
 * The measured peak exceeds the tensors counted below: reshapes and transposes that copy in the backward
 * pass, gradient temporaries, and the allocator's fragmentation. On the wasm heap (its high-water mark,
 * which never shrinks) the layers measured 1.6× the counted activations (SmolLM2-135M's widths, 1–6 layers,
 * 4 × 128 tokens) and the head 9 × the logits' size; both are folded in here.
 */
const ACTIVATION_MARGIN = 1.6;
const HEAD_LOGIT_COPIES = 9;

/** Parameters of a Llama-style model (as @rmt/model's parameterCount). */
export function parameterCountOf(s: ModelShape): number {
  const hd = s.headDim ?? s.dim / s.nHeads;
  const qkv = (s.nHeads + 2 * s.nKvHeads) * hd;
  const biases = (s.qkvBias ? qkv : 0) + (s.oBias ? s.dim : 0) + (s.mlpBias ? 2 * s.hiddenDim + s.dim : 0);
  const perLayer =
    2 * s.dim + s.dim * qkv + s.nHeads * hd * s.dim + 3 * s.dim * s.hiddenDim + biases + (s.qkNorm ? 2 * hd : 0);
  const positions = s.positionEncoding === 'learned' ? (s.maxSeqLen ?? 0) * s.dim : 0;
  const head = s.tieEmbeddings === false ? s.vocabSize * s.dim : 0;
  return s.vocabSize * s.dim + positions + s.nLayers * perLayer + s.dim + head;
}

/**
 * Estimated bytes of a training step of `model` on `batch` rows of `seqLen` tokens with AdamW, by part.
 * Backend-independent (float32 tensors); compare `total` with {@link WASM_HEAP_LIMIT} and the machine's memory.
 */
export function estimateTrainingBytes(model: ModelShape, batch: number, seqLen: number): TrainingMemory {
  const parameters = parameterCountOf(model);
  const f = 4;
  const n = batch * seqLen; // tokens
  const hd = model.headDim ?? model.dim / model.nHeads;
  const q = model.nHeads * hd;
  const kv = model.nKvHeads * hd;
  const qkv = q + 2 * kv;
  const h = model.hiddenDim;
  const d = model.dim;
  // Per token and layer: the residual stream and its two norms and two sums (6·d, plus the attention and
  // MLP outputs: 8·d), the q/k/v product and its split (2·qkv), queries roped and grouped (2·q) and the
  // attention output and its merge (2·q), keys and values roped and transposed (2·kv), the gate|up product
  // (2·h) and SwiGLU's output (h).
  const perToken = 8 * d + 2 * qkv + 4 * q + 2 * kv + 3 * h;
  // Attention scores, scaled, biased and soft-maxed: 4 × [B, heads, T, T].
  const scores = 4 * batch * model.nHeads * seqLen * seqLen;
  const layers = model.nLayers * (n * perToken + scores) * f * ACTIVATION_MARGIN;
  // The head: logits and the log-softmax's temporaries and gradients, and the embedding's gradient from
  // both the lookup and (tied) the head, before they are summed.
  const head =
    HEAD_LOGIT_COPIES * n * model.vocabSize * f + (model.tieEmbeddings === false ? 1 : 2) * model.vocabSize * d * f;
  const activations = Math.round(layers + head);
  const weights = parameters * f;
  const adamMoments = 2 * parameters * f;
  const gradients = parameters * f;
  return {
    parameters,
    weights,
    adamMoments,
    gradients,
    activations,
    total: weights + adamMoments + gradients + activations,
  };
}

/** The most a wasm32 heap can hold (tfjs-backend-wasm is built with a 4 GiB maximum). */
export const WASM_HEAP_LIMIT = 4 * 2 ** 30;
/** What `auto` leaves free of the wasm heap: what tfjs-wasm itself and other tensors (a rollout's cache) hold. */
export const WASM_HEAP_HEADROOM = 0.15;

/** Bytes in GiB (or MiB below 1 GiB), for messages. */
export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** One line: the total and its parts. */
export function describeTrainingMemory(m: TrainingMemory): string {
  return (
    `${formatBytes(m.total)} (${(m.parameters / 1e6).toFixed(1)}M parameters: weights ${formatBytes(m.weights)}, ` +
    `AdamW moments ${formatBytes(m.adamMoments)}, gradients ${formatBytes(m.gradients)}, activations ${formatBytes(m.activations)})`
  );
}

/**
 * The engine's memory as run metrics: `mem/tensors`, `mem/bytes` and, where the backend reports it (webgpu),
 * `mem/gpu_bytes` (bytes in GPU buffers held by tensors) and `mem/gpu_allocated_bytes` (buffers allocated,
 * pooled ones included).
 */
export function memoryMetrics(): Record<string, number> {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
  return {
    'mem/tensors': m.numTensors,
    'mem/bytes': m.numBytes,
    ...(m.numBytesInGPU !== undefined ? { 'mem/gpu_bytes': m.numBytesInGPU } : {}),
    ...(m.numBytesAllocatedInGPU !== undefined ? { 'mem/gpu_allocated_bytes': m.numBytesAllocatedInGPU } : {}),
  };
}
