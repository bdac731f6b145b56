#!/usr/bin/env node
// The synthetic task, measured on a base model: per difficulty (digits per line) and per entropy tier,
// the base's top-16 entropy at the answer, plain next-token accuracy, reasoning accuracy and length
// (greedy, no budget and with budgets), and the concise trace length. Shows that entropy tracks
// difficulty and that the base reasons correctly but too long (README, "The synthetic task").
//
//   npm run build && node tools/synthetic-tiers.mjs [model-dir] [--backend wasm] [--n 600]
import { parseArgs } from 'node:util';
import { loadBackend, tf, topKEntropy } from '@rmt/backend';
import { createRng, generate, loadModel } from '@rmt/model';
import { ControlTokenFormat, SYNTHETIC_BUDGETS, reasoningExample, trace } from '@rmt/data';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { backend: { type: 'string', default: 'auto' }, n: { type: 'string', default: '600' }, budgets: { type: 'string', default: '4,8,16' } } });
const backend = await loadBackend(values.backend);
const dir = positionals[0] ?? new URL('../apps/runner/base-model/', import.meta.url).pathname;
const { model, tokenizer } = await loadModel(dir);
const format = new ControlTokenFormat(tokenizer, [...SYNTHETIC_BUDGETS], 4, 8);
const rng = createRng('synthetic-tiers');
const N = Number(values.n);
const examples = Array.from({ length: N }, () => reasoningExample(rng, 46));

// Plain next-token prediction at the answer, and the base's top-16 entropy there.
const plain = examples.map((e) =>
  tf.tidy(() => {
    const ids = tokenizer.encode(e.context);
    const logits = model.forward(tf.tensor2d([ids], undefined, 'int32'));
    const last = tf.slice(logits, [0, ids.length - 1, 0], [1, 1, model.config.vocabSize]);
    return { correct: tf.argMax(last, -1).dataSync()[0] === tokenizer.encode(e.answer)[0], entropy: topKEntropy(last, 16).dataSync()[0] };
  }),
);
const reason = (budget) => {
  const out = generate(model, examples.map((e) => format.build(tokenizer.encode(e.context), budget)), { maxNewTokens: 100, temperature: 0, stopTokens: [...format.stopTokens] });
  return out.tokens.map((t, i) => {
    const p = format.parse(t);
    return { correct: p.prediction !== null && Buffer.from(p.prediction).toString() === examples[i].answer, length: p.reasoningTokens };
  });
};
const budgets = values.budgets.split(',').map(Number);
const runs = { none: reason(undefined), ...Object.fromEntries(budgets.map((b) => [`B=${b}`, reason(b)])) };

const rows = [];
const group = (label, members) => {
  if (members.length === 0) return;
  const mean = (f) => members.reduce((s, i) => s + f(i), 0) / members.length;
  const row = [label, String(members.length), mean((i) => plain[i].entropy).toFixed(2), (100 * mean((i) => +plain[i].correct)).toFixed(0) + '%'];
  for (const r of Object.values(runs)) row.push(`${(100 * mean((i) => +r[i].correct)).toFixed(0)}% / ${mean((i) => r[i].length).toFixed(1)}`);
  row.push(mean((i) => trace(examples[i].digits, 'concise').length).toFixed(1));
  rows.push(row);
};
for (let n = 1; n <= 6; n++) group(`${n} digits`, examples.map((e, i) => (e.digits.length === n ? i : -1)).filter((i) => i >= 0));
const tier = (lo, hi) => examples.map((_, i) => (plain[i].entropy >= lo && plain[i].entropy < hi ? i : -1)).filter((i) => i >= 0);
group('tier < 0.5', tier(-1, 0.5));
group('easy [0.5,1)', tier(0.5, 1));
group('medium [1,1.5)', tier(1, 1.5));
group('hard ≥ 1.5', tier(1.5, 99));
group('all', examples.map((_, i) => i));
const header = ['sites', 'n', 'H top-16', 'plain acc', ...Object.keys(runs).map((k) => `reasoning ${k} (acc / len)`), 'concise len'];
console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(`\n${dir} on ${backend.name}, ${N} sites (seeded), greedy decoding`);
