import { loadBackend, tf } from '@rmt/backend';
import { loadModel, generate, createRng } from '@rmt/model';
import { ControlTokenFormat, SYNTHETIC_BUDGETS, reasoningExample } from '@rmt/data';
await loadBackend(process.env.B ?? 'auto');
const { model, tokenizer: tok } = await loadModel(process.env.M ?? '/tmp/pt/base1');
const format = new ControlTokenFormat(tok, [...SYNTHETIC_BUDGETS]);
const rng = createRng(99);
const N = 300;
const ex = Array.from({ length: N }, () => reasoningExample(rng, 46));
for (const budget of [undefined, 4, 8, 16, 32]) {
  const prompts = ex.map((e) => format.build(tok.encode(e.context), budget));
  const out = generate(model, prompts, { maxNewTokens: 100, temperature: 0, stopTokens: format.stopTokens });
  const byN = {};
  let tc = 0, tl = 0;
  out.tokens.forEach((t, i) => { const p = format.parse(t); const n = ex[i].digits.length; byN[n] ??= { c: 0, len: 0, k: 0 }; byN[n].k++; byN[n].len += p.reasoningTokens; tl += p.reasoningTokens; if (p.prediction && Buffer.from(p.prediction).toString() === ex[i].answer) { byN[n].c++; tc++; } });
  console.log('budget', budget, 'acc', (tc / N).toFixed(2), 'len', (tl / N).toFixed(1), '|', Object.entries(byN).map(([n, v]) => `n=${n}: ${(v.c / v.k).toFixed(2)}/${(v.len / v.k).toFixed(0)}`).join(' '));
  console.log('  e.g.', ex[7].context.split('\n').at(-1), '->', tok.render(out.tokens[7]));
}
const byNp = {}; let plainC = 0;
const ent = {};
for (const [i, e] of ex.entries()) {
  const ids = tok.encode(e.context);
  const [pred, h] = tf.tidy(() => { const lp = model.lastLogProbs(model.forward(tf.tensor2d([ids], undefined, 'int32'))); return [tf.argMax(lp, -1).dataSync()[0], tf.neg(tf.sum(tf.mul(tf.exp(lp), lp))).dataSync()[0]]; });
  const n = e.digits.length; byNp[n] ??= [0, 0, 0]; byNp[n][1]++; byNp[n][2] += h; if (pred === tok.encode(e.answer)[0]) { byNp[n][0]++; plainC++; }
}
console.log('plain acc', (plainC / N).toFixed(2), Object.entries(byNp).map(([n, v]) => `n=${n}: acc ${(v[0] / v[1]).toFixed(2)} H ${(v[2] / v[1]).toFixed(2)}`).join(' | '));
