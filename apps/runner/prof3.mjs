import { loadBackend, tf } from '@rmt/backend';
import { LlamaModel, parseLlamaConfig, generate } from '@rmt/model';
import { AdamW, dualUpdate } from '@rmt/trainer';
import { dualLossConfigSchema } from '@rmt/dual-loss';
await loadBackend(process.argv[2] ?? 'wasm');
const C = { dim: 128, nLayers: 4, nHeads: 4, nKvHeads: 4, hiddenDim: 344, vocabSize: 512, maxSeqLen: 256, positionEncoding: 'rope', tieEmbeddings: true };
const model = LlamaModel.init(parseLlamaConfig(C), { seed: 0 });
const opt = new AdamW(model.parameters(), { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 });
let seed = 1;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const ids = (rows, cols) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.floor(rand() * 512)));
const prompt = ids(16, 48).flatMap((p) => Array(8).fill(p));
let t = performance.now();
const out = generate(model, prompt, { maxNewTokens: 32, temperature: 1, seed: 2 });
console.log('rollout s', ((performance.now() - t) / 1000).toFixed(2));
const advantages = prompt.map(() => rand() * 2 - 1);
const upd = () => dualUpdate(model, opt, { prompts: prompt, completions: out.tokens, oldLogProbs: out.logProbs, advantages }, { windows: ids(16, 48), excluded: ids(16, 0) }, { loss: dualLossConfigSchema.parse({}), padId: 0, lr: 1e-4, microBatchRows: 64 });
t = performance.now(); upd(); console.log('update s', ((performance.now() - t) / 1000).toFixed(2));
process.exit(0);
const prof = await tf.profile(() => { upd(); });
const by = new Map();
for (const k of prof.kernels) { const e = by.get(k.name) ?? { ms: 0, n: 0 }; e.ms += k.kernelTimeMs; e.n++; by.set(k.name, e); }
const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
console.log('kernels', prof.kernels.length, 'kernel ms', rows.reduce((s, [, e]) => s + e.ms, 0).toFixed(0));
for (const [k, e] of rows.slice(0, 14)) console.log(k.padEnd(28), e.ms.toFixed(1).padStart(8), String(e.n).padStart(6));
const agg = new Map();
for (const k of prof.kernels.filter((k) => k.name === 'BatchMatMul')) {
  const key = JSON.stringify(k.inputShapes);
  const e = agg.get(key) ?? { ms: 0, n: 0 }; e.ms += k.kernelTimeMs; e.n++; agg.set(key, e);
}
for (const [k, e] of [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)) console.log(k.padEnd(50), e.ms.toFixed(1), e.n);
