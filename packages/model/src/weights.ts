// Conversion between our internal weight layout (fused, [in, out]) and Hugging Face Llama tensor names
// ([out, in] matrices), so checkpoints are readable by HF tooling and HF folders load here.
import { tf, variableFrom } from '@rmt/backend';
import { headDim, type LlamaConfig } from './config.js';
import { LlamaModel, type LlamaWeights } from './llama.js';
import type { NamedArray, TensorMap } from './safetensors.js';

/** Row-major transpose of a [rows, cols] matrix. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
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

/** The HF tensor names and shapes a config implies. */
export function expectedHfShapes(c: LlamaConfig): Map<string, number[]> {
  const hd = headDim(c);
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [c.vocabSize, c.dim]]]);
  if (c.positionEncoding === 'learned') shapes.set('model.embed_positions.weight', [c.maxSeqLen, c.dim]);
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}.`;
    shapes.set(`${p}input_layernorm.weight`, [c.dim]);
    shapes.set(`${p}self_attn.q_proj.weight`, [c.nHeads * hd, c.dim]);
    shapes.set(`${p}self_attn.k_proj.weight`, [c.nKvHeads * hd, c.dim]);
    shapes.set(`${p}self_attn.v_proj.weight`, [c.nKvHeads * hd, c.dim]);
    shapes.set(`${p}self_attn.o_proj.weight`, [c.dim, c.nHeads * hd]);
    shapes.set(`${p}post_attention_layernorm.weight`, [c.dim]);
    shapes.set(`${p}mlp.gate_proj.weight`, [c.hiddenDim, c.dim]);
    shapes.set(`${p}mlp.up_proj.weight`, [c.hiddenDim, c.dim]);
    shapes.set(`${p}mlp.down_proj.weight`, [c.dim, c.hiddenDim]);
  }
  shapes.set('model.norm.weight', [c.dim]);
  if (!c.tieEmbeddings) shapes.set('lm_head.weight', [c.vocabSize, c.dim]);
  return shapes;
}

/** Export weights under HF Llama names ([out, in] matrices; RoPE in HF's rotate-half convention). */
export function toHfTensors(model: LlamaModel): TensorMap {
  const c = model.config;
  const hd = headDim(c);
  const read = (v: tf.Variable) => v.dataSync() as Float32Array;
  const map: TensorMap = new Map();
  const put = (name: string, data: Float32Array, shape: number[]) => map.set(name, { data: Float32Array.from(data), shape });
  const w = model.weights;
  put('model.embed_tokens.weight', read(w.tokEmb), [c.vocabSize, c.dim]);
  if (w.posEmb) put('model.embed_positions.weight', read(w.posEmb), [c.maxSeqLen, c.dim]);
  const qCols = c.nHeads * hd;
  const kvCols = c.nKvHeads * hd;
  const qkvCols = qCols + 2 * kvCols;
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`;
    const qkv = read(l.wqkv);
    put(`${p}input_layernorm.weight`, read(l.attnNorm), [c.dim]);
    put(`${p}self_attn.q_proj.weight`, transpose2d(columns(qkv, c.dim, qkvCols, 0, qCols), c.dim, qCols), [qCols, c.dim]);
    put(`${p}self_attn.k_proj.weight`, transpose2d(columns(qkv, c.dim, qkvCols, qCols, qCols + kvCols), c.dim, kvCols), [kvCols, c.dim]);
    put(`${p}self_attn.v_proj.weight`, transpose2d(columns(qkv, c.dim, qkvCols, qCols + kvCols, qkvCols), c.dim, kvCols), [kvCols, c.dim]);
    put(`${p}self_attn.o_proj.weight`, transpose2d(read(l.wo), qCols, c.dim), [c.dim, qCols]);
    put(`${p}post_attention_layernorm.weight`, read(l.ffnNorm), [c.dim]);
    const w13 = read(l.w13);
    put(`${p}mlp.gate_proj.weight`, transpose2d(columns(w13, c.dim, 2 * c.hiddenDim, 0, c.hiddenDim), c.dim, c.hiddenDim), [c.hiddenDim, c.dim]);
    put(`${p}mlp.up_proj.weight`, transpose2d(columns(w13, c.dim, 2 * c.hiddenDim, c.hiddenDim, 2 * c.hiddenDim), c.dim, c.hiddenDim), [c.hiddenDim, c.dim]);
    put(`${p}mlp.down_proj.weight`, transpose2d(read(l.w2), c.hiddenDim, c.dim), [c.dim, c.hiddenDim]);
  });
  put('model.norm.weight', read(w.finalNorm), [c.dim]);
  if (w.lmHead) put('lm_head.weight', transpose2d(read(w.lmHead), c.dim, c.vocabSize), [c.vocabSize, c.dim]);
  return map;
}

/**
 * Build a model from HF-named tensors. Every expected tensor must be present with its exact shape, and
 * no unknown name may appear (a typo or another architecture is an error, not silently ignored).
 */
export function fromHfTensors(c: LlamaConfig, tensors: TensorMap, file = 'weights'): LlamaModel {
  const expected = expectedHfShapes(c);
  // HF ties embeddings by omitting lm_head; some exports include it anyway (identical values).
  const extra = [...tensors.keys()].filter((n) => !expected.has(n) && !(c.tieEmbeddings && n === 'lm_head.weight') && !n.endsWith('rotary_emb.inv_freq'));
  if (extra.length > 0) throw new Error(`${file}: unknown tensor name(s) for this Llama config: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
  const get = (name: string): NamedArray => {
    const t = tensors.get(name);
    const shape = expected.get(name)!;
    if (!t) throw new Error(`${file}: missing tensor '${name}' (expected shape [${shape}])`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${file}: tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
    }
    return t;
  };
  const hd = headDim(c);
  const qCols = c.nHeads * hd;
  const kvCols = c.nKvHeads * hd;
  const variable = (data: Float32Array, shape: number[]) => variableFrom(tf.tensor(data, shape, 'float32'));
  const weights: LlamaWeights = {
    tokEmb: variable(get('model.embed_tokens.weight').data, [c.vocabSize, c.dim]),
    layers: Array.from({ length: c.nLayers }, (_, i) => {
      const p = `model.layers.${i}.`;
      const wq = transpose2d(get(`${p}self_attn.q_proj.weight`).data, qCols, c.dim);
      const wk = transpose2d(get(`${p}self_attn.k_proj.weight`).data, kvCols, c.dim);
      const wv = transpose2d(get(`${p}self_attn.v_proj.weight`).data, kvCols, c.dim);
      const gate = transpose2d(get(`${p}mlp.gate_proj.weight`).data, c.hiddenDim, c.dim);
      const up = transpose2d(get(`${p}mlp.up_proj.weight`).data, c.hiddenDim, c.dim);
      return {
        attnNorm: variable(get(`${p}input_layernorm.weight`).data, [c.dim]),
        wqkv: variable(concatColumns([{ data: wq, cols: qCols }, { data: wk, cols: kvCols }, { data: wv, cols: kvCols }], c.dim), [c.dim, qCols + 2 * kvCols]),
        wo: variable(transpose2d(get(`${p}self_attn.o_proj.weight`).data, c.dim, qCols), [qCols, c.dim]),
        ffnNorm: variable(get(`${p}post_attention_layernorm.weight`).data, [c.dim]),
        w13: variable(concatColumns([{ data: gate, cols: c.hiddenDim }, { data: up, cols: c.hiddenDim }], c.dim), [c.dim, 2 * c.hiddenDim]),
        w2: variable(transpose2d(get(`${p}mlp.down_proj.weight`).data, c.dim, c.hiddenDim), [c.hiddenDim, c.dim]),
      };
    }),
    finalNorm: variable(get('model.norm.weight').data, [c.dim]),
  };
  if (c.positionEncoding === 'learned') weights.posEmb = variable(get('model.embed_positions.weight').data, [c.maxSeqLen, c.dim]);
  if (!c.tieEmbeddings) weights.lmHead = variable(transpose2d(get('lm_head.weight').data, c.vocabSize, c.dim), [c.dim, c.vocabSize]);
  return new LlamaModel(c, weights);
}
