import { loadBackend, tf } from '@rmt/backend';
import { createRng, generate, loadModel } from '@rmt/model';
import { ControlTokenFormat, SYNTHETIC_BUDGETS, reasoningExample } from '@rmt/data';
await loadBackend('tensorflow');
const { model, tokenizer: tok } = await loadModel(process.argv[2]);
const format = new ControlTokenFormat(tok, [...SYNTHETIC_BUDGETS], 4, 8);
const rng = createRng(5);
const ex = Array.from({ length: 8 }, () => reasoningExample(rng, 46));
const prompts = ex.map((e) => format.build(tok.encode(e.context)));
const out = generate(model, prompts, { maxNewTokens: 60, temperature: 0, stopTokens: [...format.stopTokens] });
ex.forEach((e, i) => console.log(JSON.stringify(tok.render(prompts[i])), '->', tok.render(out.tokens[i]), '| truth', e.trace.slice(0, 20), e.answer));
// teacher-forced probabilities of the true concise trace
const e = ex[0];
const seq = [...format.build(tok.encode(e.context)), ...format.render(tok.encode('x'), tok.encode(e.answer))];
