// Conversion between our internal weight layout (fused, [in, out]) and Hugging Face tensor names ([out, in]
// matrices, 1-D biases and norms), so checkpoints are readable by HF tooling and HF folders load here. The
// names are shared by Llama, Qwen2 and Qwen3; which optional tensors exist follows the config's switches.
import { tf, variableFrom } from '@rmt/backend';
import type { NamedArray, TensorMap } from '@rmt/core';
import { headDim, type LlamaConfig } from './config.js';
import { LlamaModel, type LayerWeights, type LlamaWeights } from './llama.js';

/** Row-major transpose of a [rows, cols] matrix. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** Columns [from, to) of a row-major [rows, cols] matrix. */
function columns(data: Float32Array, rows: number, cols: number, from: number, to: number): Float32Array {
  const width = to - from;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols + from, r * cols + to), r * width);
  return out;
}

/** Side-by-side concatenation of row-major matrices with equal row counts. */
function concatColumns(parts: { data: Float32Array; cols: number }[], rows: number): Float32Array {
  const total = parts.reduce((n, p) => n + p.cols, 0);
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let at = r * total;
    for (const p of parts) {
      out.set(p.data.subarray(r * p.cols, (r + 1) * p.cols), at);
      at += p.cols;
    }
  }
  return out;
}

/** One expected tensor: its shape, and the config.json keys that determine each dimension (for errors). */
export interface ExpectedTensor {
  shape: number[];
  keys: string[];
}

/**
 * The HF tensor names a config implies, with shapes and the HF config keys behind each dimension, so a
 * shape error can say which key disagrees with the file.
 */
export function expectedHfTensors(c: LlamaConfig): Map<string, ExpectedTensor> {
  const hd = headDim(c);
  const D = 'hidden_size';
  const HD = c.headDim === undefined ? 'head_dim (default hidden_size / num_attention_heads)' : 'head_dim';
  const Q = `num_attention_heads × ${HD}`;
  const KV = `num_key_value_heads × ${HD}`;
  const I = 'intermediate_size';
  const t = (shape: number[], keys: string[]): ExpectedTensor => ({ shape, keys });
  const out = new Map<string, ExpectedTensor>([
    ['model.embed_tokens.weight', t([c.vocabSize, c.dim], ['vocab_size', D])],
  ]);
  if (c.positionEncoding === 'learned')
    out.set('model.embed_positions.weight', t([c.maxSeqLen, c.dim], ['max_position_embeddings', D]));
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}.`;
    out.set(`${p}input_layernorm.weight`, t([c.dim], [D]));
    out.set(`${p}self_attn.q_proj.weight`, t([c.nHeads * hd, c.dim], [Q, D]));
    out.set(`${p}self_attn.k_proj.weight`, t([c.nKvHeads * hd, c.dim], [KV, D]));
    out.set(`${p}self_attn.v_proj.weight`, t([c.nKvHeads * hd, c.dim], [KV, D]));
    if (c.qkvBias) {
      out.set(`${p}self_attn.q_proj.bias`, t([c.nHeads * hd], [Q]));
      out.set(`${p}self_attn.k_proj.bias`, t([c.nKvHeads * hd], [KV]));
      out.set(`${p}self_attn.v_proj.bias`, t([c.nKvHeads * hd], [KV]));
    }
    if (c.qkNorm) {
      out.set(`${p}self_attn.q_norm.weight`, t([hd], [HD]));
      out.set(`${p}self_attn.k_norm.weight`, t([hd], [HD]));
    }
    out.set(`${p}self_attn.o_proj.weight`, t([c.dim, c.nHeads * hd], [D, Q]));
    if (c.oBias) out.set(`${p}self_attn.o_proj.bias`, t([c.dim], [D]));
    out.set(`${p}post_attention_layernorm.weight`, t([c.dim], [D]));
    out.set(`${p}mlp.gate_proj.weight`, t([c.hiddenDim, c.dim], [I, D]));
    out.set(`${p}mlp.up_proj.weight`, t([c.hiddenDim, c.dim], [I, D]));
    out.set(`${p}mlp.down_proj.weight`, t([c.dim, c.hiddenDim], [D, I]));
    if (c.mlpBias) {
      out.set(`${p}mlp.gate_proj.bias`, t([c.hiddenDim], [I]));
      out.set(`${p}mlp.up_proj.bias`, t([c.hiddenDim], [I]));
      out.set(`${p}mlp.down_proj.bias`, t([c.dim], [D]));
    }
  }
  out.set('model.norm.weight', t([c.dim], [D]));
  if (!c.tieEmbeddings) out.set('lm_head.weight', t([c.vocabSize, c.dim], ['vocab_size', D]));
  return out;
}

/** The HF tensor names and shapes a config implies. */
export function expectedHfShapes(c: LlamaConfig): Map<string, number[]> {
  return new Map([...expectedHfTensors(c)].map(([name, e]) => [name, e.shape]));
}

/**
 * Names a folder may hold that this model does not use: HF ties embeddings by omitting lm_head, but some
 * exports include it anyway (identical values); old exports carry RoPE's inv_freq buffer.
 */
function ignorable(c: LlamaConfig, name: string): boolean {
  return (c.tieEmbeddings && name === 'lm_head.weight') || name.endsWith('rotary_emb.inv_freq');
}

/**
 * Check one tensor against what the config expects, naming the tensor, both shapes and the config keys that
 * set each dimension. Unknown names are an error (a typo or another architecture, never silently ignored).
 * Returns false for a name that is present but unused (see `ignorable`).
 */
export function checkHfTensor(
  c: LlamaConfig,
  expected: Map<string, ExpectedTensor>,
  name: string,
  shape: number[],
  file: string,
): boolean {
  const e = expected.get(name);
  if (!e) {
    if (ignorable(c, name)) return false;
    throw new Error(
      `${file}: unknown tensor '${name}' for this config (e.g. a bias, norm or layer it does not declare)`,
    );
  }
  if (shape.length !== e.shape.length || shape.some((d, i) => d !== e.shape[i])) {
    throw new Error(
      `${file}: tensor '${name}' has shape [${shape}], expected [${e.shape}] from config.json [${e.keys.join(', ')}]`,
    );
  }
  return true;
}

/**
 * Export weights under HF names ([out, in] matrices; RoPE in HF's rotate-half convention). Asynchronous:
 * every parameter is read back with `await data()` first (a GPU backend cannot read synchronously in Node).
 */
export async function toHfTensors(model: LlamaModel): Promise<TensorMap> {
  const c = model.config;
  const hd = headDim(c);
  const params = model.parameters();
  const values = new Map(params.map((v, i) => [v, i] as const));
  const data = (await Promise.all(params.map((v) => v.data()))) as Float32Array[];
  const read = (v: tf.Variable) => data[values.get(v)!]!;
  const map: TensorMap = new Map();
  const put = (name: string, data: Float32Array, shape: number[]) =>
    map.set(name, { data: Float32Array.from(data), shape });
  const w = model.weights;
  put('model.embed_tokens.weight', read(w.tokEmb), [c.vocabSize, c.dim]);
  if (w.posEmb) put('model.embed_positions.weight', read(w.posEmb), [c.maxSeqLen, c.dim]);
  const qCols = c.nHeads * hd;
  const kvCols = c.nKvHeads * hd;
  const qkvCols = qCols + 2 * kvCols;
  const H = c.hiddenDim;
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`;
    const qkv = read(l.wqkv);
    put(`${p}input_layernorm.weight`, read(l.attnNorm), [c.dim]);
    put(`${p}self_attn.q_proj.weight`, transpose2d(columns(qkv, c.dim, qkvCols, 0, qCols), c.dim, qCols), [
      qCols,
      c.dim,
    ]);
    put(
      `${p}self_attn.k_proj.weight`,
      transpose2d(columns(qkv, c.dim, qkvCols, qCols, qCols + kvCols), c.dim, kvCols),
      [kvCols, c.dim],
    );
    put(
      `${p}self_attn.v_proj.weight`,
      transpose2d(columns(qkv, c.dim, qkvCols, qCols + kvCols, qkvCols), c.dim, kvCols),
      [kvCols, c.dim],
    );
    if (l.bqkv) {
      const b = read(l.bqkv);
      put(`${p}self_attn.q_proj.bias`, b.subarray(0, qCols), [qCols]);
      put(`${p}self_attn.k_proj.bias`, b.subarray(qCols, qCols + kvCols), [kvCols]);
      put(`${p}self_attn.v_proj.bias`, b.subarray(qCols + kvCols), [kvCols]);
    }
    if (l.qNorm) put(`${p}self_attn.q_norm.weight`, read(l.qNorm), [hd]);
    if (l.kNorm) put(`${p}self_attn.k_norm.weight`, read(l.kNorm), [hd]);
    put(`${p}self_attn.o_proj.weight`, transpose2d(read(l.wo), qCols, c.dim), [c.dim, qCols]);
    if (l.bo) put(`${p}self_attn.o_proj.bias`, read(l.bo), [c.dim]);
    put(`${p}post_attention_layernorm.weight`, read(l.ffnNorm), [c.dim]);
    const w13 = read(l.w13);
    put(`${p}mlp.gate_proj.weight`, transpose2d(columns(w13, c.dim, 2 * H, 0, H), c.dim, H), [H, c.dim]);
    put(`${p}mlp.up_proj.weight`, transpose2d(columns(w13, c.dim, 2 * H, H, 2 * H), c.dim, H), [H, c.dim]);
    put(`${p}mlp.down_proj.weight`, transpose2d(read(l.w2), H, c.dim), [c.dim, H]);
    if (l.b13) {
      const b = read(l.b13);
      put(`${p}mlp.gate_proj.bias`, b.subarray(0, H), [H]);
      put(`${p}mlp.up_proj.bias`, b.subarray(H), [H]);
    }
    if (l.b2) put(`${p}mlp.down_proj.bias`, read(l.b2), [c.dim]);
  });
  put('model.norm.weight', read(w.finalNorm), [c.dim]);
  if (w.lmHead) put('lm_head.weight', transpose2d(read(w.lmHead), c.dim, c.vocabSize), [c.vocabSize, c.dim]);
  return map;
}

/**
 * Build a model from HF-named tensors. Every expected tensor must be present with its exact shape, and no
 * unknown name may appear. Tensors are taken out of `tensors` as they are converted, so the caller's map
 * does not hold a second copy of the weights while the variables are made (the map is emptied).
 */
export function fromHfTensors(c: LlamaConfig, tensors: TensorMap, file = 'weights'): LlamaModel {
  const expected = expectedHfTensors(c);
  for (const [name, t] of tensors) checkHfTensor(c, expected, name, t.shape, file);
  const missing = [...expected.keys()].filter((n) => !tensors.has(n));
  if (missing.length > 0) {
    const first = expected.get(missing[0]!)!;
    throw new Error(
      `${file}: missing tensor${missing.length > 1 ? `s (${missing.length})` : ''} '${missing[0]}' (expected shape [${first.shape}])${missing.length > 1 ? `, ${missing.slice(1, 4).join(', ')}${missing.length > 4 ? ', …' : ''}` : ''}`,
    );
  }
  const take = (name: string): NamedArray => {
    const t = tensors.get(name)!;
    tensors.delete(name);
    return t;
  };
  const hd = headDim(c);
  const qCols = c.nHeads * hd;
  const kvCols = c.nKvHeads * hd;
  const H = c.hiddenDim;
  const variable = (data: Float32Array, shape: number[]) => variableFrom(tf.tensor(data, shape, 'float32'));
  const concat = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const weights: LlamaWeights = {
    tokEmb: variable(take('model.embed_tokens.weight').data, [c.vocabSize, c.dim]),
    layers: Array.from({ length: c.nLayers }, (_, i) => {
      const p = `model.layers.${i}.`;
      const wq = transpose2d(take(`${p}self_attn.q_proj.weight`).data, qCols, c.dim);
      const wk = transpose2d(take(`${p}self_attn.k_proj.weight`).data, kvCols, c.dim);
      const wv = transpose2d(take(`${p}self_attn.v_proj.weight`).data, kvCols, c.dim);
      const gate = transpose2d(take(`${p}mlp.gate_proj.weight`).data, H, c.dim);
      const up = transpose2d(take(`${p}mlp.up_proj.weight`).data, H, c.dim);
      const layer: LayerWeights = {
        attnNorm: variable(take(`${p}input_layernorm.weight`).data, [c.dim]),
        wqkv: variable(
          concatColumns(
            [
              { data: wq, cols: qCols },
              { data: wk, cols: kvCols },
              { data: wv, cols: kvCols },
            ],
            c.dim,
          ),
          [c.dim, qCols + 2 * kvCols],
        ),
        wo: variable(transpose2d(take(`${p}self_attn.o_proj.weight`).data, c.dim, qCols), [qCols, c.dim]),
        ffnNorm: variable(take(`${p}post_attention_layernorm.weight`).data, [c.dim]),
        w13: variable(
          concatColumns(
            [
              { data: gate, cols: H },
              { data: up, cols: H },
            ],
            c.dim,
          ),
          [c.dim, 2 * H],
        ),
        w2: variable(transpose2d(take(`${p}mlp.down_proj.weight`).data, c.dim, H), [H, c.dim]),
      };
      if (c.qkvBias) {
        const b = concat([
          take(`${p}self_attn.q_proj.bias`).data,
          take(`${p}self_attn.k_proj.bias`).data,
          take(`${p}self_attn.v_proj.bias`).data,
        ]);
        layer.bqkv = variable(b, [qCols + 2 * kvCols]);
      }
      if (c.oBias) layer.bo = variable(take(`${p}self_attn.o_proj.bias`).data, [c.dim]);
      if (c.qkNorm) {
        layer.qNorm = variable(take(`${p}self_attn.q_norm.weight`).data, [hd]);
        layer.kNorm = variable(take(`${p}self_attn.k_norm.weight`).data, [hd]);
      }
      if (c.mlpBias) {
        layer.b13 = variable(concat([take(`${p}mlp.gate_proj.bias`).data, take(`${p}mlp.up_proj.bias`).data]), [2 * H]);
        layer.b2 = variable(take(`${p}mlp.down_proj.bias`).data, [c.dim]);
      }
      return layer;
    }),
    finalNorm: variable(take('model.norm.weight').data, [c.dim]),
  };
  if (c.positionEncoding === 'learned')
    weights.posEmb = variable(take('model.embed_positions.weight').data, [c.maxSeqLen, c.dim]);
  if (!c.tieEmbeddings)
    weights.lmHead = variable(transpose2d(take('lm_head.weight').data, c.vocabSize, c.dim), [c.dim, c.vocabSize]);
  tensors.clear();
  return new LlamaModel(c, weights);
}
