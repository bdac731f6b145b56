#!/usr/bin/env node
// The synthetic task, measured on a base model over held-out corpus sites (answer digits): per difficulty
// (digits in the line) and per entropy tier, the base's top-16 entropy at the site, plain next-token
// accuracy, reasoning accuracy and length (greedy; without a budget and with budget tokens), and the
// concise trace length. Shows that entropy tracks difficulty and that the base reasons, too long
// (README, "The synthetic task"). The task knobs (data.synthetic.*) change the held-out corpus as they change a
// run's: --overthink picks the embedded base of that value (unless a model-dir is given), --min-digits /
// --max-digits the difficulty range, --repeat the repeated-digit share; the last line measures plain
// next-token prediction on every held-out token (what the NTP term keeps or learns).
//
//   npm run build && node tools/synthetic-tiers.mjs [model-dir] [--backend wasm] [--documents 120] [--overthink redundant] [--min-digits 1] [--max-digits 6] [--repeat 0.5]
import { parseArgs } from 'node:util';
import { loadBackend, readAllValues, tf, topKEntropy } from '@rmt/backend';
import { generate, loadModel } from '@rmt/model';
import {
  buildWindows,
  ControlTokenFormat,
  findSites,
  siteContext,
  SYNTHETIC_BUDGETS,
  syntheticConfigSchema,
  syntheticDocuments,
  syntheticOptionsOf,
  syntheticWindowLength,
  trace,
} from '@rmt/data';
import { allTokenScores } from '@rmt/eval';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    backend: { type: 'string', default: 'auto' },
    documents: { type: 'string', default: '120' },
    budgets: { type: 'string', default: '4,8,16' },
    overthink: { type: 'string', default: 'wrong' },
    'min-digits': { type: 'string', default: '1' },
    'max-digits': { type: 'string', default: '6' },
    repeat: { type: 'string', default: '0' },
  },
});
// The same schema as data.synthetic, so a wrong value is refused with the field's name.
const knobs = syntheticConfigSchema.parse({
  overthink: values.overthink,
  minDigits: Number(values['min-digits']),
  maxDigits: Number(values['max-digits']),
  repeatProbability: Number(values.repeat),
});
const options = syntheticOptionsOf(knobs);
const backend = await loadBackend(values.backend);
const dir =
  positionals[0] ??
  new URL(
    knobs.overthink === 'redundant' ? '../apps/runner/base-model-redundant/' : '../apps/runner/base-model/',
    import.meta.url,
  ).pathname;
const { model, tokenizer } = await loadModel(dir);
const format = new ControlTokenFormat(tokenizer, [...SYNTHETIC_BUDGETS], 4, 7);
const windows = buildWindows(
  syntheticDocuments(424242, Number(values.documents), options),
  tokenizer,
  syntheticWindowLength(options),
);
const sites = findSites(windows, tokenizer, { skipFirst: 8, continuationTokens: 1, eligible: { after: ':' } });
const contexts = sites.map((s) => siteContext(windows, s));
const digitsOf = (context) => [...tokenizer.decode(context).split('\n').at(-1).replace(/[.:]/g, '')].map(Number);

// Plain next-token prediction at the site, and the base's top-16 entropy there (one forward per window).
const plain = sites.map(() => ({}));
for (const [wi, w] of windows.entries()) {
  const [argmax, h] = await readAllValues(
    tf.tidy(() => {
      const logits = model.forward(tf.tensor2d([w], undefined, 'int32'));
      return [tf.argMax(logits, -1), topKEntropy(logits, 16)];
    }),
  );
  sites.forEach((s, i) => {
    if (s.window === wi) plain[i] = { correct: argmax[s.position - 1] === s.target, entropy: h[s.position - 1] };
  });
}
const reason = async (budget) => {
  const out = await generate(
    model,
    contexts.map((c) => format.build(c, budget)),
    { maxNewTokens: 100, temperature: 0, stopTokens: [...format.stopTokens] },
  );
  return out.tokens.map((t, i) => {
    const p = format.parse(t);
    return {
      correct: p.prediction !== null && p.prediction.length === 1 && p.prediction[0] === sites[i].target,
      length: p.reasoningTokens,
    };
  });
};
const budgets = values.budgets.split(',').map(Number);
const runs = { none: await reason(undefined) };
for (const b of budgets) runs[`B=${b}`] = await reason(b);

const rows = [];
const group = (label, members) => {
  if (members.length === 0) return;
  const mean = (f) => members.reduce((s, i) => s + f(i), 0) / members.length;
  const row = [
    label,
    String(members.length),
    mean((i) => plain[i].entropy).toFixed(2),
    `${(100 * mean((i) => +plain[i].correct)).toFixed(0)}%`,
  ];
  for (const r of Object.values(runs))
    row.push(`${(100 * mean((i) => +r[i].correct)).toFixed(0)}% / ${mean((i) => r[i].length).toFixed(1)}`);
  row.push(mean((i) => trace(digitsOf(contexts[i]), 'concise').length).toFixed(1));
  // Accurate long traces would tie with the concise ones: the redundant base's long traces should.
  rows.push(row);
};
const where = (f) => sites.map((_, i) => (f(i) ? i : -1)).filter((i) => i >= 0);
for (let n = 1; n <= 6; n++)
  group(
    `${n} digits`,
    where((i) => digitsOf(contexts[i]).length === n),
  );
const tier = (lo, hi) => where((i) => plain[i].entropy >= lo && plain[i].entropy < hi);
group('below 0.5 (no RL)', tier(-1, 0.5));
group('easy [0.5, 1)', tier(0.5, 1));
group('medium [1, 1.5)', tier(1, 1.5));
group('hard ≥ 1.5', tier(1.5, 99));
group(
  'all',
  where(() => true),
);
const header = [
  'sites',
  'n',
  'base H top-16',
  'plain acc',
  ...Object.keys(runs).map((k) => `reasoning ${k === 'none' ? 'no budget' : k} (acc / len)`),
  'concise len',
];
console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
const all = await allTokenScores(model, tokenizer, windows, 32);
console.log(
  `\nall ${all.tokens} held-out tokens, teacher-forced: next-token accuracy ${(100 * all.accuracy).toFixed(1)}%, NLL ${all.nll.toFixed(3)} nats`,
);
console.log(
  `${dir} on ${backend.name}: ${sites.length} held-out answer sites in ${windows.length} windows, greedy decoding; data.synthetic ${JSON.stringify(knobs)}`,
);
