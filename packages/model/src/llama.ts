// A Llama-family decoder on the shared tfjs engine: RMSNorm, RoPE (or learned positions), grouped-query
// attention, SwiGLU, optional tied head. Switches in the config cover what Qwen2 (q/k/v biases), Qwen3
// (per-head q/k RMSNorm, explicit head width) and other Llama variants (biases, GELU, RoPE scaling) change. Weights are held in the layout that is fastest here — fused
// QKV and gate/up projections stored [in, out] — and converted to Hugging Face names and [out, in]
// matrices only at the checkpoint boundary (checkpoint.ts).
import {
  attention,
  kvCacheWrite,
  logSoftmax,
  maskedSum,
  rmsNorm,
  rope,
  swiglu,
  tf,
  tokenLogProbs,
  variableFrom,
} from '@rmt/backend';
import { headDim, parameterCount, ropeInverseFrequencies, type LlamaConfig } from './config.js';

/**
 * Keys and values of all past positions, per layer: [B, nKvHeads, capacity, headDim] float32, preallocated;
 * positions from `length` on are zeros, masked out of attention. A decoding step writes its keys and values
 * in place (`kvCacheWrite` of @rmt/backend: on wasm and cpu; a new tensor elsewhere) and grows the cache,
 * doubling it, only when it is full.
 */
export interface KVCache {
  keys: tf.Tensor4D[];
  values: tf.Tensor4D[];
  /** Left padding of each row (pads are never attended to, and positions count from the first real token). */
  padLeft: number[];
  /** Number of positions already in the cache (pads included). */
  length: number;
}

export interface LayerWeights {
  attnNorm: tf.Variable; // [D]
  wqkv: tf.Variable; // [D, (nHeads + 2·nKvHeads)·hd]
  wo: tf.Variable; // [nHeads·hd, D]
  ffnNorm: tf.Variable; // [D]
  w13: tf.Variable; // [D, 2·hidden]  gate (w1) | up (w3)
  w2: tf.Variable; // [hidden, D]
  bqkv?: tf.Variable; // [(nHeads + 2·nKvHeads)·hd] (qkvBias)
  bo?: tf.Variable; // [D] (oBias)
  qNorm?: tf.Variable; // [hd] (qkNorm)
  kNorm?: tf.Variable; // [hd] (qkNorm)
  b13?: tf.Variable; // [2·hidden] gate | up (mlpBias)
  b2?: tf.Variable; // [D] (mlpBias)
}

/** The optional per-layer tensors, in the order parameters() lists them after the six always present. */
const OPTIONAL_LAYER_WEIGHTS = ['bqkv', 'bo', 'qNorm', 'kNorm', 'b13', 'b2'] as const;

export interface LlamaWeights {
  tokEmb: tf.Variable; // [V, D]
  posEmb?: tf.Variable; // [maxSeqLen, D] (learned positions only)
  layers: LayerWeights[];
  finalNorm: tf.Variable; // [D]
  lmHead?: tf.Variable; // [D, V] (untied only)
}

export interface InitOptions {
  seed?: number;
  /**
   * Standard deviation of the normal init; residual projections are scaled by 1/√(2·nLayers) (GPT-2).
   * Default 1/√dim: GPT-2's 0.02 suits dim 768; at dim 64 it leaves attention uniform for thousands of
   * steps (measured: the tiny base never learned to read its input digits at 0.02).
   */
  std?: number;
}

/** Masked-out attention scores: large and finite, so a row can never become NaN. */
const MASKED = -1e9;

export class LlamaModel {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  private readonly ropeCos?: tf.Tensor2D; // [maxSeqLen, hd]
  private readonly ropeSin?: tf.Tensor2D; // [maxSeqLen, hd]
  private readonly rotateHalf?: tf.Tensor2D; // [hd, hd]: x·R = concat(−x₂, x₁)

  constructor(config: LlamaConfig, weights: LlamaWeights) {
    this.config = config;
    this.weights = weights;
    if (config.positionEncoding === 'rope') {
      const hd = headDim(config);
      const half = hd / 2;
      const cos = new Float32Array(config.maxSeqLen * hd);
      const sin = new Float32Array(config.maxSeqLen * hd);
      // Meta's / llama2.c's frequencies, scaled as HF's rope types say (computed in float64, stored float32).
      const inv = ropeInverseFrequencies(config);
      for (let p = 0; p < config.maxSeqLen; p++) {
        for (let i = 0; i < half; i++) {
          const angle = p * inv[i]!;
          cos[p * hd + i] = cos[p * hd + i + half] = Math.cos(angle);
          sin[p * hd + i] = sin[p * hd + i + half] = Math.sin(angle);
        }
      }
      const rot = new Float32Array(hd * hd);
      for (let i = 0; i < half; i++) {
        rot[(i + half) * hd + i] = -1; // out[i] = −x[i + half]
        rot[i * hd + i + half] = 1; // out[i + half] = x[i]
      }
      this.ropeCos = tf.keep(tf.tensor2d(cos, [config.maxSeqLen, hd]));
      this.ropeSin = tf.keep(tf.tensor2d(sin, [config.maxSeqLen, hd]));
      this.rotateHalf = tf.keep(tf.tensor2d(rot, [hd, hd]));
    }
  }

  /** A freshly initialised model (seeded: same weights on every backend). */
  static init(config: LlamaConfig, options: InitOptions = {}): LlamaModel {
    const seed = options.seed ?? 0;
    const std = options.std ?? 1 / Math.sqrt(config.dim);
    const hd = headDim(config);
    let counter = 0;
    // tfjs treats a seed of 0 as "no seed" (Math.random), so derived seeds start at 1.
    const normal = (shape: number[], s = std) =>
      variableFrom(tf.randomNormal(shape, 0, s, 'float32', seed * 1000 + ++counter));
    const ones = (n: number) => variableFrom(tf.ones([n]));
    // Biases start at zero, as transformers initialises nn.Linear biases; the seeded draws above are
    // unaffected, so a config without the switches initialises exactly as before.
    const zeros = (n: number) => variableFrom(tf.zeros([n]));
    const residualStd = std / Math.sqrt(2 * config.nLayers);
    const qkvCols = (config.nHeads + 2 * config.nKvHeads) * hd;
    const weights: LlamaWeights = {
      tokEmb: normal([config.vocabSize, config.dim]),
      layers: Array.from({ length: config.nLayers }, () => {
        const layer: LayerWeights = {
          attnNorm: ones(config.dim),
          wqkv: normal([config.dim, qkvCols]),
          wo: normal([config.nHeads * hd, config.dim], residualStd),
          ffnNorm: ones(config.dim),
          w13: normal([config.dim, 2 * config.hiddenDim]),
          w2: normal([config.hiddenDim, config.dim], residualStd),
        };
        if (config.qkvBias) layer.bqkv = zeros(qkvCols);
        if (config.oBias) layer.bo = zeros(config.dim);
        if (config.qkNorm) {
          layer.qNorm = ones(hd);
          layer.kNorm = ones(hd);
        }
        if (config.mlpBias) {
          layer.b13 = zeros(2 * config.hiddenDim);
          layer.b2 = zeros(config.dim);
        }
        return layer;
      }),
      finalNorm: ones(config.dim),
    };
    if (config.positionEncoding === 'learned') weights.posEmb = normal([config.maxSeqLen, config.dim]);
    if (!config.tieEmbeddings) weights.lmHead = normal([config.dim, config.vocabSize]);
    return new LlamaModel(config, weights);
  }

  /** Trainable variables, in a fixed order (optimizer state and checkpoints rely on it). */
  parameters(): tf.Variable[] {
    const w = this.weights;
    return [
      w.tokEmb,
      ...(w.posEmb ? [w.posEmb] : []),
      // Optional tensors come after the six of every layer, so configs without them keep the old order.
      ...w.layers.flatMap((l) => [
        l.attnNorm,
        l.wqkv,
        l.wo,
        l.ffnNorm,
        l.w13,
        l.w2,
        ...OPTIONAL_LAYER_WEIGHTS.flatMap((k) => (l[k] ? [l[k]] : [])),
      ]),
      w.finalNorm,
      ...(w.lmHead ? [w.lmHead] : []),
    ];
  }

  parameterCount(): number {
    return parameterCount(this.config);
  }

  dispose(): void {
    tf.dispose([
      ...this.parameters(),
      ...[this.ropeCos, this.ropeSin, this.rotateHalf, this.embT?.value].filter((t) => t !== undefined),
    ]);
  }

  /**
   * Next-token logits for every position: ids [B, T] int32 → [B, T, V].
   * `padLeft[b]` leading tokens of row b are padding: never attended to, and positions start after them.
   */
  forward(ids: tf.Tensor2D, padLeft?: number[]): tf.Tensor3D {
    return tf.tidy(() => {
      const [batch, len] = ids.shape;
      this.checkLength(len);
      const pads = padLeft ?? new Array<number>(batch).fill(0);
      const { hidden } = this.blocks(ids, pads, 0, undefined);
      return this.head(hidden);
    });
  }

  /**
   * log π(target) per position: ids [B, T], targets [B, T] int32, mask [B, T] (1 = keep) → [B, T],
   * 0 where the mask is 0.
   */
  logProbs(ids: tf.Tensor2D, targets: tf.Tensor2D, mask?: tf.Tensor2D, padLeft?: number[]): tf.Tensor2D {
    return tf.tidy(() => {
      const lp = tokenLogProbs(this.forward(ids, padLeft), targets) as tf.Tensor2D;
      if (mask === undefined) return lp;
      return tf.where(tf.greater(mask, 0), lp, tf.zerosLike(lp));
    });
  }

  /** Mean next-token cross-entropy over masked positions (nats). */
  nextTokenLoss(ids: tf.Tensor2D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => {
      const lp = tokenLogProbs(this.forward(ids), targets);
      return tf.div(tf.neg(maskedSum(lp, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
    });
  }

  /** Log-softmax of the last position's logits, for scoring and sampling: [B, V]. */
  lastLogProbs(logits: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const [b, t, v] = logits.shape;
      return logSoftmax(tf.reshape(tf.slice(logits, [0, t - 1, 0], [b, 1, v]), [b, v])) as tf.Tensor2D;
    });
  }

  /**
   * Run the prompt once and keep its keys/values. ids [B, P] (left-padded) → logits of the last position [B, V].
   * `capacity` (default P; at most maxSeqLen) preallocates the cache for the positions decoding will add.
   */
  prefill(ids: tf.Tensor2D, padLeft: number[], capacity = ids.shape[1]): { logits: tf.Tensor2D; cache: KVCache } {
    const [batch, len] = ids.shape;
    this.checkLength(len);
    const room = Math.max(0, Math.min(capacity, this.config.maxSeqLen) - len);
    const out = tf.tidy(() => {
      const { hidden, keys, values } = this.blocks(ids, padLeft, 0, undefined);
      const last = tf.slice(hidden, [0, len - 1, 0], [batch, 1, this.config.dim]);
      const grow = (t: tf.Tensor4D) =>
        room > 0 ? (tf.concat([t, tf.zeros([t.shape[0], t.shape[1], room, t.shape[3]])], 2) as tf.Tensor4D) : t;
      return {
        logits: tf.reshape(this.head(last, true), [batch, this.config.vocabSize]) as tf.Tensor2D,
        keys: keys.map(grow),
        values: values.map(grow),
      };
    });
    return { logits: out.logits, cache: { keys: out.keys, values: out.values, padLeft: [...padLeft], length: len } };
  }

  /**
   * One decoding step: tokens [B] int32 → logits [B, V]; returns the extended cache and disposes the old one
   * (on wasm and cpu the new cache holds the same data, written in place).
   */
  decodeStep(tokens: tf.Tensor1D, cache: KVCache): { logits: tf.Tensor2D; cache: KVCache } {
    const batch = tokens.shape[0];
    this.checkLength(cache.length + 1);
    const out = tf.tidy(() => {
      const ids = tf.reshape(tokens, [batch, 1]) as tf.Tensor2D;
      const { hidden, keys, values } = this.blocks(ids, cache.padLeft, cache.length, cache);
      return {
        logits: tf.reshape(this.head(hidden, true), [batch, this.config.vocabSize]) as tf.Tensor2D,
        keys,
        values,
      };
    });
    tf.dispose([...cache.keys, ...cache.values]);
    return {
      logits: out.logits,
      cache: { keys: out.keys, values: out.values, padLeft: cache.padLeft, length: cache.length + 1 },
    };
  }

  private checkLength(len: number): void {
    if (len > this.config.maxSeqLen) {
      throw new Error(`sequence of ${len} tokens exceeds the model's maxSeqLen ${this.config.maxSeqLen}`);
    }
  }

  /**
   * Final norm and output projection: [B, T, D] → [B, T, V]. In inference (prefill, decode) a tied head
   * multiplies by a kept transposed copy of the embedding, remade only when the embedding's value changes:
   * on wasm a transposed matmul operand is copied and re-packed on every call, the largest cost of a decode
   * step. Training goes through the embedding itself, so its gradient is unchanged.
   */
  private head(hidden: tf.Tensor3D, inference = false): tf.Tensor3D {
    const [b, t, d] = hidden.shape;
    const x = tf.reshape(this.rmsNorm(hidden, this.weights.finalNorm), [b * t, d]) as tf.Tensor2D;
    const emb = this.weights.tokEmb;
    let logits: tf.Tensor;
    if (this.weights.lmHead) logits = tf.matMul(x, this.weights.lmHead);
    else if (!inference) logits = tf.matMul(x, emb, false, true);
    else {
      if (this.embT?.source !== emb.dataId) {
        this.embT?.value.dispose();
        this.embT = { source: emb.dataId, value: tf.keep(tf.transpose(emb)) as tf.Tensor2D };
      }
      logits = tf.matMul(x, this.embT!.value);
    }
    return tf.reshape(logits, [b, t, this.config.vocabSize]);
  }

  /** The tied embedding transposed, for inference; keyed by the embedding's data (a new value, a new copy). */
  private embT: { source: object; value: tf.Tensor2D } | undefined;

  /** RMSNorm over the last axis (one kernel where the backend fuses it; @rmt/backend's `rmsNorm`). */
  private rmsNorm(x: tf.Tensor, weight: tf.Tensor): tf.Tensor {
    return rmsNorm(x, weight, this.config.normEps);
  }

  /**
   * act(gate)·up from the fused gate | up product [N, 2·hidden] → [N, hidden]. SiLU takes the fused swiglu
   * kernel; GELU (tanh approximation, HF's gelu_pytorch_tanh) has no fused kernel and is composed of tf ops.
   */
  private gatedActivation(gu: tf.Tensor2D): tf.Tensor2D {
    if (this.config.activation === 'silu') return swiglu(gu);
    const [gate, up] = tf.split(gu, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(gate, tf.mul(0.044715, tf.pow(gate, 3))));
    return tf.mul(tf.mul(tf.mul(0.5, gate), tf.add(1, tf.tanh(inner))), up);
  }

  /** Position of each token: count from the first real token of its row (pads get 0; they are masked). */
  private positions(batch: number, len: number, pads: number[], offset: number): Int32Array {
    const pos = new Int32Array(batch * len);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < len; t++) pos[b * len + t] = Math.max(0, offset + t - pads[b]!);
    }
    return pos;
  }

  /**
   * Additive attention bias [B, 1, T, S]: causal, and pads of each row never attended to. S is `keys`
   * (default offset + T): a preallocated cache's positions past offset + T are masked as the future.
   */
  private attentionBias(batch: number, len: number, pads: number[], offset: number, keys = offset + len): tf.Tensor4D {
    const bias = new Float32Array(batch * len * keys);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < len; t++) {
        const row = (b * len + t) * keys;
        for (let s = 0; s < keys; s++) if (s > offset + t || s < pads[b]!) bias[row + s] = MASKED;
      }
    }
    return tf.tensor4d(bias, [batch, 1, len, keys]);
  }

  private blocks(ids: tf.Tensor2D, pads: number[], offset: number, cache: KVCache | undefined) {
    const c = this.config;
    const hd = headDim(c);
    const rep = c.nHeads / c.nKvHeads;
    const [batch, len] = ids.shape;
    const posIds = tf.tensor2d(this.positions(batch, len, pads, offset), [batch, len], 'int32');
    let x = tf.gather(this.weights.tokEmb, ids) as tf.Tensor3D; // [B, T, D]
    if (this.weights.posEmb) x = tf.add(x, tf.gather(this.weights.posEmb, posIds));
    // Queries are grouped by the KV head they share: [B, nKv, rep·T, hd], so K/V are never repeated.
    // The bias is tiled to match (query index r·T + t).
    // With a cache: where this step's keys go, and how many positions attention covers (all of a
    // preallocated cache; beyond offset + T masked). A full cache is grown, doubling, up to maxSeqLen.
    const capacity = cache ? cache.keys[0]!.shape[2] : 0;
    const grown =
      cache && offset + len > capacity ? Math.min(c.maxSeqLen, Math.max(offset + len, 2 * offset)) : capacity;
    const bias = tf.tile(this.attentionBias(batch, len, pads, offset, cache ? grown : offset + len), [1, 1, rep, 1]);
    const cos = this.ropeCos ? tf.reshape(tf.gather(this.ropeCos, posIds), [batch, len, 1, hd]) : undefined;
    const sin = this.ropeSin ? tf.reshape(tf.gather(this.ropeSin, posIds), [batch, len, 1, hd]) : undefined;
    const rotary = (t: tf.Tensor): tf.Tensor =>
      cos && sin && this.rotateHalf ? rope(t, cos, sin, this.rotateHalf) : t;
    const scale = 1 / Math.sqrt(hd);
    const keys: tf.Tensor4D[] = [];
    const values: tf.Tensor4D[] = [];
    // Qwen3's q_norm / k_norm: RMSNorm over each head's hd values (last axis), before RoPE.
    const headNorm = (t: tf.Tensor, w: tf.Variable | undefined): tf.Tensor => (w ? this.rmsNorm(t, w) : t);
    const addBias = (t: tf.Tensor, b: tf.Variable | undefined): tf.Tensor => (b ? tf.add(t, b) : t);
    this.weights.layers.forEach((layer, i) => {
      const h = tf.reshape(this.rmsNorm(x, layer.attnNorm), [batch * len, c.dim]) as tf.Tensor2D;
      const qkv = addBias(tf.matMul(h, layer.wqkv), layer.bqkv);
      const [qFlat, kFlat, vFlat] = tf.split(qkv, [c.nHeads * hd, c.nKvHeads * hd, c.nKvHeads * hd], 1);
      const q = rotary(headNorm(tf.reshape(qFlat!, [batch, len, c.nHeads, hd]), layer.qNorm));
      let k = tf.transpose(
        rotary(headNorm(tf.reshape(kFlat!, [batch, len, c.nKvHeads, hd]), layer.kNorm)),
        [0, 2, 1, 3],
      ) as tf.Tensor4D;
      let v = tf.transpose(tf.reshape(vFlat!, [batch, len, c.nKvHeads, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
      if (cache && grown > capacity) {
        // No room: a new cache, the old positions, this step's and zeros after (prefill without capacity).
        const after = () => tf.zeros([batch, c.nKvHeads, grown - offset - len, hd]) as tf.Tensor4D;
        k = tf.concat([tf.slice(cache.keys[i]!, [0, 0, 0, 0], [batch, c.nKvHeads, offset, hd]), k, after()], 2);
        v = tf.concat([tf.slice(cache.values[i]!, [0, 0, 0, 0], [batch, c.nKvHeads, offset, hd]), v, after()], 2);
      } else if (cache) {
        k = kvCacheWrite(cache.keys[i]!, k, offset);
        v = kvCacheWrite(cache.values[i]!, v, offset);
      }
      keys.push(k);
      values.push(v);
      const qGrouped = tf.reshape(tf.transpose(tf.reshape(q, [batch, len, c.nKvHeads, rep, hd]), [0, 2, 3, 1, 4]), [
        batch,
        c.nKvHeads,
        rep * len,
        hd,
      ]) as tf.Tensor4D;
      // [B, nKv, rep·T, hd]; one kernel over the cache when decoding or prefilling (no gradient there).
      const attended = attention(qGrouped, k, v, bias as tf.Tensor4D, scale, { inference: cache !== undefined });
      const merged = tf.reshape(
        tf.transpose(tf.reshape(attended, [batch, c.nKvHeads, rep, len, hd]), [0, 3, 1, 2, 4]),
        [batch * len, c.nHeads * hd],
      );
      x = tf.add(x, tf.reshape(addBias(tf.matMul(merged, layer.wo), layer.bo), [batch, len, c.dim]));
      const f = tf.reshape(this.rmsNorm(x, layer.ffnNorm), [batch * len, c.dim]) as tf.Tensor2D;
      const gated = this.gatedActivation(addBias(tf.matMul(f, layer.w13), layer.b13) as tf.Tensor2D);
      x = tf.add(x, tf.reshape(addBias(tf.matMul(gated, layer.w2), layer.b2), [batch, len, c.dim]));
    });
    return { hidden: x, keys, values };
  }
}
