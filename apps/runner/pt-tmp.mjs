import { loadBackend } from '@rmt/backend';
import { LlamaModel, parseLlamaConfig, generate, saveModel, createRng } from '@rmt/model';
import { ControlTokenFormat, SYNTHETIC_BUDGETS, syntheticPretrainSequences, syntheticTokenizer, reasoningExample, trace } from '@rmt/data';
import { pretrain } from '@rmt/trainer';
const info = await loadBackend(process.env.B ?? 'auto');
const tok = syntheticTokenizer();
const format = new ControlTokenFormat(tok, [...SYNTHETIC_BUDGETS]);
const seqs = syntheticPretrainSequences(1, Number(process.env.N ?? 40000), tok, format, 48);
const cfg = JSON.parse(process.env.CFG ?? '{}');
const model = LlamaModel.init(parseLlamaConfig({ dim: 64, nLayers: 4, nHeads: 4, nKvHeads: 4, hiddenDim: 168, vocabSize: tok.vocabSize, maxSeqLen: 160, positionEncoding: 'learned', ...cfg }), { seed: 0 });
const steps = Number(process.env.STEPS ?? 50);
const t0 = Date.now();
pretrain(model, seqs, { steps, batchSize: Number(process.env.BS ?? 32), lr: Number(process.env.LR ?? 2e-3), warmup: Math.min(200, steps / 5), decay: 'cosine', minLrRatio: 0.1, optimizer: { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1, maxGradNorm: 1 }, seed: 0, padId: tok.padId,
  onStep: (m) => { if (m.step % 250 === 0 || m.step === steps - 1) console.log(JSON.stringify({ step: m.step, loss: +m.loss.toFixed(4), s: +m['timing/step'].toFixed(3) })); } });
console.log(info.name, 'total s', (Date.now() - t0) / 1000);
await saveModel(process.env.OUT ?? '/tmp/pt/base', model, tok);
const rng = createRng(99);
const N = 200;
const ex = Array.from({ length: N }, () => reasoningExample(rng, 46));
for (const budget of [undefined, 4, 8, 16, 32]) {
  const prompts = ex.map((e) => format.build(tok.encode(e.context), budget));
  const out = generate(model, prompts, { maxNewTokens: 120, temperature: 0, stopTokens: format.stopTokens });
  const byN = {};
  out.tokens.forEach((t, i) => { const p = format.parse(t); const n = ex[i].digits.length; byN[n] ??= { c: 0, len: 0, k: 0, concise: n }; byN[n].k++; byN[n].len += p.reasoningTokens; if (p.prediction && Buffer.from(p.prediction).toString() === ex[i].answer) byN[n].c++; });
  console.log('budget', budget, Object.entries(byN).map(([n, v]) => `n=${n}: acc ${(v.c / v.k).toFixed(2)} len ${(v.len / v.k).toFixed(1)}`).join(' | '));
  if (budget === undefined || budget === 8) console.log('  e.g.', tok.render(ex[5].digits.map(String)) , '->', tok.render(out.tokens[5]));
}
// plain next-token accuracy at answer sites
const lines = ex.map(e => e.context + e.answer);
let plainC = 0; const byNp = {};
const { tf } = await import('@rmt/backend');
for (const [i, e] of ex.entries()) {
  const ids = tok.encode(e.context);
  const pred = tf.tidy(() => tf.argMax(model.lastLogProbs(model.forward(tf.tensor2d([ids], undefined, 'int32'))), -1).dataSync()[0]);
  const n = e.digits.length; byNp[n] ??= [0, 0]; byNp[n][1]++; if (pred === tok.encode(e.answer)[0]) { byNp[n][0]++; plainC++; }
}
console.log('plain acc', plainC / N, Object.entries(byNp).map(([n, v]) => `n=${n}: ${(v[0] / v[1]).toFixed(2)}`).join(' | '));
