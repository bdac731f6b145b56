import { loadBackend, tf } from '@rmt/backend';
import { LlamaModel, parseLlamaConfig } from '@rmt/model';
import { AdamW, nextTokenStep, padBatch } from '@rmt/trainer';
const name = process.argv[2] ?? 'wasm';
await loadBackend(name);
const C = { dim: 128, nLayers: 4, nHeads: 4, nKvHeads: 4, hiddenDim: 344, vocabSize: 512, maxSeqLen: 256, positionEncoding: 'rope', tieEmbeddings: true };
const model = LlamaModel.init(parseLlamaConfig(C), { seed: 0 });
const opt = new AdamW(model.parameters(), { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 });
let seed = 1;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const ids = (rows, cols) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.floor(rand() * 512)));
const batch = padBatch(ids(8, 65), 0);
nextTokenStep(model, opt, batch, 1e-4);
let t = performance.now();
nextTokenStep(model, opt, batch, 1e-4);
console.log('step ms', (performance.now() - t).toFixed(0));
const prof = await tf.profile(() => { nextTokenStep(model, opt, batch, 1e-4); });
const by = new Map();
for (const k of prof.kernels) {
  const e = by.get(k.name) ?? { ms: 0, n: 0 };
  e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0; e.n++;
  by.set(k.name, e);
}
const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((s, [, e]) => s + e.ms, 0);
console.log('kernels', prof.kernels.length, 'total kernel ms', total.toFixed(0));
for (const [k, e] of rows.slice(0, 25)) console.log(k.padEnd(28), e.ms.toFixed(1).padStart(8), String(e.n).padStart(5));
