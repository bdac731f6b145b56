import { it } from 'vitest';
import { sharedData } from '@rmt/testing';
import { readGsm8k, readMath, normalizeAnswer, answersEquivalent, answerValue, lastBoxed } from './index.js';
it('explore', async () => {
  const g = await readGsm8k(sharedData('gsm8k/test.jsonl'));
  const bad = g.filter((p) => answerValue(normalizeAnswer(p.answer)) === null);
  console.log('gsm8k', g.length, 'non-numeric', bad.map((p) => p.answer));
  const m = await readMath(sharedData('math500/test.jsonl'));
  let fails = 0;
  for (const p of m) {
    const boxed = lastBoxed(p.solution!);
    const self = answersEquivalent(p.answer, p.answer);
    const vs = boxed !== null && answersEquivalent(p.answer, boxed);
    if (!self || !vs) { fails++; console.log(JSON.stringify(p.id), JSON.stringify(p.answer), '|', JSON.stringify(boxed), '→', normalizeAnswer(p.answer), '|', boxed && normalizeAnswer(boxed)); }
  }
  console.log('math fails', fails, m.length);
  const sample = m.slice(0, 60).map((p) => `${p.answer}  ⇒  ${normalizeAnswer(p.answer)}`);
  console.log(sample.join('\n'));
});
