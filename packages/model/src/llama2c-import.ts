// Import llama2.c checkpoints ("version 0" legacy export: run.c's format). Header: 7 little-endian int32
// dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative = separate classifier), seq_len;
// then float32 tensors, matrices [out, in] row-major. llama2.c rotates adjacent pairs (2i, 2i+1); HF and
// we rotate halves (i, i + hd/2), so q/k rows are permuted per head exactly as HF's conversion script does.
import { readInput, type TensorMap } from '@rmt/core';
import { parseLlamaConfig, type LlamaConfig } from './config.js';
import type { LlamaModel } from './llama.js';
import { fromHfTensors } from './weights.js';

const MAX_DIM = 1 << 16;

/** Interleaved pairs → halves, per head: new row (parity·hd/2 + j) = old row (2j + parity). */
function interleavedToHalves(w: Float32Array, heads: number, hd: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = hd / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      for (let parity = 0; parity < 2; parity++) {
        const from = (h * hd + 2 * j + parity) * cols;
        const to = (h * hd + parity * half + j) * cols;
        out.set(w.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

export function parseLlama2c(
  bytes: Uint8Array,
  file = 'llama2.c checkpoint',
): { config: LlamaConfig; tensors: TensorMap } {
  const fail = (problem: string): never => {
    throw new Error(`${file}: not a valid llama2.c checkpoint: ${problem}`);
  };
  if (bytes.length < 28) fail(`file is ${bytes.length} bytes, shorter than the 28-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) === 0x616b3432)
    fail('this is a llama2.c "version 1/2" export (magic ak42); export it with version 0 (legacy)');
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = Array.from({ length: 7 }, (_, i) =>
    view.getInt32(i * 4, true),
  ) as [number, number, number, number, number, number, number];
  const vocab = Math.abs(rawVocab);
  const named = {
    dim,
    hidden_dim: hiddenDim,
    n_layers: nLayers,
    n_heads: nHeads,
    n_kv_heads: nKvHeads,
    vocab_size: vocab,
    seq_len: seqLen,
  };
  for (const [k, v] of Object.entries(named))
    if (v <= 0 || v > (k === 'vocab_size' ? 1 << 22 : MAX_DIM)) fail(`header field ${k} = ${v} is out of range`);
  const config = parseLlamaConfig(
    {
      dim,
      nLayers,
      nHeads,
      nKvHeads,
      hiddenDim,
      vocabSize: vocab,
      maxSeqLen: seqLen,
      ropeTheta: 10000,
      normEps: 1e-5,
      positionEncoding: 'rope',
      tieEmbeddings: rawVocab > 0,
    },
    file,
  );
  const hd = dim / nHeads;
  const kvDim = nKvHeads * hd;
  let at = 28;
  const floats = (count: number, what: string): Float32Array => {
    const end = at + count * 4;
    if (end > bytes.length)
      fail(`truncated: ${what} needs ${count * 4} bytes at offset ${at}, file has ${bytes.length}`);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(at + i * 4, true);
    at = end;
    return out;
  };
  const perLayer = (size: number, what: string) => {
    const all = floats(nLayers * size, what);
    return Array.from({ length: nLayers }, (_, i) => all.subarray(i * size, (i + 1) * size));
  };
  const tensors: TensorMap = new Map();
  tensors.set('model.embed_tokens.weight', { data: floats(vocab * dim, 'token_embedding'), shape: [vocab, dim] });
  const rmsAtt = perLayer(dim, 'rms_att');
  const wq = perLayer(dim * dim, 'wq');
  const wk = perLayer(kvDim * dim, 'wk');
  const wv = perLayer(kvDim * dim, 'wv');
  const wo = perLayer(dim * dim, 'wo');
  const rmsFfn = perLayer(dim, 'rms_ffn');
  const w1 = perLayer(hiddenDim * dim, 'w1');
  const w2 = perLayer(dim * hiddenDim, 'w2');
  const w3 = perLayer(hiddenDim * dim, 'w3');
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}.`;
    tensors.set(`${p}input_layernorm.weight`, { data: rmsAtt[i]!, shape: [dim] });
    tensors.set(`${p}self_attn.q_proj.weight`, {
      data: interleavedToHalves(wq[i]!, nHeads, hd, dim),
      shape: [dim, dim],
    });
    tensors.set(`${p}self_attn.k_proj.weight`, {
      data: interleavedToHalves(wk[i]!, nKvHeads, hd, dim),
      shape: [kvDim, dim],
    });
    tensors.set(`${p}self_attn.v_proj.weight`, { data: wv[i]!, shape: [kvDim, dim] });
    tensors.set(`${p}self_attn.o_proj.weight`, { data: wo[i]!, shape: [dim, dim] });
    tensors.set(`${p}post_attention_layernorm.weight`, { data: rmsFfn[i]!, shape: [dim] });
    tensors.set(`${p}mlp.gate_proj.weight`, { data: w1[i]!, shape: [hiddenDim, dim] });
    tensors.set(`${p}mlp.down_proj.weight`, { data: w2[i]!, shape: [dim, hiddenDim] });
    tensors.set(`${p}mlp.up_proj.weight`, { data: w3[i]!, shape: [hiddenDim, dim] });
  }
  tensors.set('model.norm.weight', { data: floats(dim, 'rms_final'), shape: [dim] });
  floats(seqLen * hd, 'freq_cis (legacy RoPE tables, unused)');
  if (rawVocab < 0) tensors.set('lm_head.weight', { data: floats(vocab * dim, 'wcls'), shape: [vocab, dim] });
  if (at !== bytes.length)
    fail(`${bytes.length - at} unexpected bytes after the last tensor (header and size disagree)`);
  return { config, tensors };
}

export async function importLlama2c(path: string): Promise<LlamaModel> {
  const { config, tensors } = parseLlama2c(await readInput(path), path);
  return fromHfTensors(config, tensors, path);
}
