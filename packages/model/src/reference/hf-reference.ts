// An independent float64 reference of Hugging Face's forward pass for LlamaForCausalLM, Qwen2ForCausalLM and
// Qwen3ForCausalLM, read straight from config.json keys and HF-named tensors, in plain loops. Written from
// transformers' modeling_llama.py / modeling_qwen2.py / modeling_qwen3.py / modeling_rope_utils.py and the
// configuration classes' defaults, without sharing code with the tfjs model (hf-config.ts, llama.ts): it is
// what the loaded model is tested against. Test-only; slow by design.

type Json = Record<string, unknown>;
export interface RefTensor {
  data: ArrayLike<number>;
  shape: number[];
}

/** transformers' config-class defaults for the keys the forward reads. */
function defaults(modelType: string): Json {
  const llama = {
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    max_position_embeddings: 2048,
  };
  if (modelType === 'llama') return llama;
  if (modelType === 'qwen2') return { ...llama, max_position_embeddings: 32768 };
  if (modelType === 'qwen3') return { ...llama, max_position_embeddings: 32768, head_dim: 128 };
  throw new Error(`reference: model_type ${modelType}`);
}

/** inv_freq per modeling_rope_utils: _compute_{default,linear_scaling,dynamic_ntk,llama3}_parameters. */
function referenceInvFreq(config: Json, seqLen: number): number[] {
  const c = { ...defaults(String(config.model_type)), ...config };
  const rope = (c.rope_parameters ?? c.rope_scaling ?? {}) as Json;
  let base = Number(rope.rope_theta ?? c.rope_theta);
  const dim = Number(c.head_dim ?? Number(c.hidden_size) / Number(c.num_attention_heads));
  const type = String(rope.rope_type ?? rope.type ?? 'default');
  const factor = Number(rope.factor);
  if (type === 'dynamic') {
    const maxPos = Number(c.max_position_embeddings);
    const len = seqLen > maxPos ? seqLen : maxPos;
    base = base * ((factor * len) / maxPos - (factor - 1)) ** (dim / (dim - 2));
  }
  const inv: number[] = [];
  for (let i = 0; i < dim; i += 2) inv.push(1 / base ** (i / dim));
  if (type === 'linear') return inv.map((f) => f / factor);
  if (type === 'llama3') {
    const old = Number(rope.original_max_position_embeddings);
    const low = Number(rope.low_freq_factor);
    const high = Number(rope.high_freq_factor);
    const lowWavelen = old / low;
    const highWavelen = old / high;
    return inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      const scaled = wavelen > lowWavelen ? f / factor : f;
      const smooth = (old / wavelen - low) / (high - low);
      const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
      return medium ? ((1 - smooth) * scaled) / factor + smooth * scaled : scaled;
    });
  }
  if (type !== 'default' && type !== 'dynamic') throw new Error(`reference: rope type ${type}`);
  return inv;
}

/** y = x·Wᵀ (+ b): nn.Linear with W [out, in]. */
function linear(x: Float64Array, inDim: number, w: RefTensor, b: RefTensor | undefined): Float64Array {
  const out = w.shape[0]!;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b ? b.data[o]! : 0;
    for (let i = 0; i < inDim; i++) s += w.data[o * inDim + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

/** LlamaRMSNorm: weight · x / sqrt(mean(x²) + eps), over `width` values starting at `at`. */
function rmsNormInPlace(x: Float64Array, at: number, width: number, weight: RefTensor, eps: number): void {
  let ss = 0;
  for (let i = 0; i < width; i++) ss += x[at + i]! ** 2;
  const r = 1 / Math.sqrt(ss / width + eps);
  for (let i = 0; i < width; i++) x[at + i] = weight.data[i]! * x[at + i]! * r;
}

const ACT: Record<string, (x: number) => number> = {
  silu: (x) => x / (1 + Math.exp(-x)),
  gelu_pytorch_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
};

/**
 * Next-token log-probabilities at every position of `ids` (one sequence, positions 0…T−1): [T][V].
 */
export function referenceLogProbs(config: Json, tensors: Map<string, RefTensor>, ids: number[]): Float64Array[] {
  const modelType = String(config.model_type);
  const c = { ...defaults(modelType), ...config };
  const D = Number(c.hidden_size);
  const nH = Number(c.num_attention_heads);
  const nKv = Number(c.num_key_value_heads ?? nH);
  const hd = Number(c.head_dim ?? D / nH);
  const V = Number(c.vocab_size);
  const eps = Number(c.rms_norm_eps);
  const act = ACT[String(c.hidden_act)];
  if (!act) throw new Error(`reference: hidden_act ${String(c.hidden_act)}`);
  const T = ids.length;
  const get = (n: string): RefTensor => {
    const t = tensors.get(n);
    if (!t) throw new Error(`reference: missing ${n}`);
    return t;
  };
  const opt = (n: string) => tensors.get(n);
  const inv = referenceInvFreq(config, T);
  const half = hd / 2;
  // cos/sin per position: emb = cat(freqs, freqs), as LlamaRotaryEmbedding builds it.
  const rot = (v: Float64Array, at: number, pos: number) => {
    const out = new Float64Array(hd);
    for (let i = 0; i < hd; i++) {
      const angle = pos * inv[i % half]!;
      const rotated = i < half ? -v[at + i + half]! : v[at + i - half]!; // rotate_half: cat(−x₂, x₁)
      out[i] = v[at + i]! * Math.cos(angle) + rotated * Math.sin(angle);
    }
    out.forEach((o, i) => (v[at + i] = o));
  };

  const emb = get('model.embed_tokens.weight');
  let h: Float64Array[] = ids.map((id) => Float64Array.from({ length: D }, (_, i) => emb.data[id * D + i]!));
  for (let l = 0; ; l++) {
    const p = `model.layers.${l}.`;
    if (!tensors.has(`${p}input_layernorm.weight`)) break;
    const qs: Float64Array[] = [];
    const ks: Float64Array[] = [];
    const vs: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const x = Float64Array.from(h[t]!);
      rmsNormInPlace(x, 0, D, get(`${p}input_layernorm.weight`), eps);
      const q = linear(x, D, get(`${p}self_attn.q_proj.weight`), opt(`${p}self_attn.q_proj.bias`));
      const k = linear(x, D, get(`${p}self_attn.k_proj.weight`), opt(`${p}self_attn.k_proj.bias`));
      const v = linear(x, D, get(`${p}self_attn.v_proj.weight`), opt(`${p}self_attn.v_proj.bias`));
      const qn = opt(`${p}self_attn.q_norm.weight`);
      const kn = opt(`${p}self_attn.k_norm.weight`);
      // Qwen3: RMSNorm of each head over head_dim, then RoPE.
      for (let hh = 0; hh < nH; hh++) {
        if (qn) rmsNormInPlace(q, hh * hd, hd, qn, eps);
        rot(q, hh * hd, t);
      }
      for (let hh = 0; hh < nKv; hh++) {
        if (kn) rmsNormInPlace(k, hh * hd, hd, kn, eps);
        rot(k, hh * hd, t);
      }
      qs.push(q);
      ks.push(k);
      vs.push(v);
    }
    const rep = nH / nKv;
    const next: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const attn = new Float64Array(nH * hd);
      for (let hh = 0; hh < nH; hh++) {
        const kvh = Math.floor(hh / rep); // repeat_kv: head hh reads kv head hh // n_rep
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += qs[t]![hh * hd + i]! * ks[s]![kvh * hd + i]!;
          scores.push(dot / Math.sqrt(hd));
        }
        const m = Math.max(...scores);
        const e = scores.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++)
          for (let i = 0; i < hd; i++) attn[hh * hd + i]! += (e[s]! / z) * vs[s]![kvh * hd + i]!;
      }
      const o = linear(attn, nH * hd, get(`${p}self_attn.o_proj.weight`), opt(`${p}self_attn.o_proj.bias`));
      const x1 = Float64Array.from(h[t]!, (v, i) => v + o[i]!);
      const f = Float64Array.from(x1);
      rmsNormInPlace(f, 0, D, get(`${p}post_attention_layernorm.weight`), eps);
      const gate = linear(f, D, get(`${p}mlp.gate_proj.weight`), opt(`${p}mlp.gate_proj.bias`));
      const up = linear(f, D, get(`${p}mlp.up_proj.weight`), opt(`${p}mlp.up_proj.bias`));
      const g = gate.map((v, i) => act(v) * up[i]!);
      const down = linear(g, g.length, get(`${p}mlp.down_proj.weight`), opt(`${p}mlp.down_proj.bias`));
      next.push(Float64Array.from(x1, (v, i) => v + down[i]!));
    }
    h = next;
  }
  const head = c.tie_word_embeddings === true ? emb : get('lm_head.weight');
  return h.map((x) => {
    const y = Float64Array.from(x);
    rmsNormInPlace(y, 0, D, get('model.norm.weight'), eps);
    const logits = linear(y, D, head, undefined);
    const m = Math.max(...logits);
    const lse = m + Math.log(logits.reduce((a, v) => a + Math.exp(v - m), 0));
    return logits.map((v) => v - lse).slice(0, V);
  });
}
