// Real-data tests: llama2.c's stories260K + tok512 (the shared test data, never copied into the repo).
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readArray, readValues, tf } from '@rmt/backend';
import { describeEachBackend, describeOrSkip, sharedData, sharedDataSkip } from '@rmt/testing';
import {
  generate,
  loadModel,
  saveModel,
  scoreTokens,
  tokenBoundaries,
  type LlamaModel,
  type Tokenizer,
} from './index.js';

const modelPath = sharedData('stories260k/stories260K.bin');
const tokPath = sharedData('stories260k/tok512.bin');
// Produced by tools/reference/llama2c_logits.py: float64 NumPy forward pass + run.c's encoding.
const reference = JSON.parse(
  readFileSync(new URL('../test/fixtures/stories260k-logits.json', import.meta.url), 'utf8'),
) as {
  text: string;
  tokens: number[];
  logits: number[][];
};

/** max |ours − ref| / max |ref| over all positions and the vocabulary. */
function relativeError(ours: Float32Array, ref: number[][]): number {
  let maxDiff = 0;
  let maxRef = 0;
  ref.flat().forEach((r, i) => {
    maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - r));
    maxRef = Math.max(maxRef, Math.abs(r));
  });
  return maxDiff / maxRef;
}

describeOrSkip('stories260K (real llama2.c checkpoint)', sharedDataSkip, () => {
  describeEachBackend('import', () => {
    let model: LlamaModel;
    let tokenizer: Tokenizer;
    beforeAll(async () => {
      const loaded = await loadModel(modelPath, tokPath);
      model = loaded.model;
      tokenizer = loaded.tokenizer!;
    });
    afterAll(() => model.dispose());

    it('tokenizes like run.c and round-trips byte-exactly', async () => {
      expect(tokenizer.encode(reference.text)).toEqual(reference.tokens);
      expect(tokenizer.decode(reference.tokens)).toBe(reference.text);
      for (const text of ['', ' leading space', 'tabs\tand\nnewlines', 'emoji 🙂 and ü', 'x'.repeat(50)]) {
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
      }
    });

    it('matches the float64 reference logits to relative error < 1e-4', async () => {
      const ours = await readValues(tf.tidy(() => model.forward(tf.tensor2d([reference.tokens], undefined, 'int32'))));
      expect(relativeError(ours, reference.logits)).toBeLessThan(1e-4);
    });

    it("greedy generation from BOS reproduces llama2.c's story", async () => {
      const out = await generate(model, [[tokenizer.bosId!]], { maxNewTokens: 60, temperature: 0 });
      expect(tokenizer.decode([tokenizer.bosId!, ...out.tokens[0]!])).toMatch(
        /^Once upon a time, there was a little girl named Lily\. She loved to play outside in the park\. One day, she saw a big, red ball\./,
      );
      expect(out.finishReasons).toEqual(['length']);
    });
  });

  it('llama2.c import → safetensors export → reload gives the same logits and tokenizer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rmt-model-'));
    try {
      const first = await loadModel(modelPath, tokPath);
      await saveModel(dir, first.model, first.tokenizer);
      const second = await loadModel(dir);
      expect(second.format).toBe('safetensors-folder');
      const ids = tf.tensor2d([reference.tokens], undefined, 'int32');
      const a = await tf.tidy(() => first.model.forward(ids)).data();
      const b = await tf.tidy(() => second.model.forward(ids)).data();
      expect(Array.from(b)).toEqual(Array.from(a));
      expect(second.tokenizer!.encode(reference.text)).toEqual(reference.tokens);
      expect(tokenBoundaries(second.tokenizer!, reference.tokens.slice(1, 4))).toEqual([5, 10, 12]); // " Once" " upon" " a"
      tf.dispose(ids);
      first.model.dispose();
      second.model.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeOrSkip('scoreTokens on the TinyStories sample', sharedDataSkip, () => {
  it('matches a position-by-position float64 recomputation from the logits', async () => {
    const { model, tokenizer } = await loadModel(modelPath, tokPath);
    const text = readFileSync(sharedData('tinystories-sample/tinystories_sample.txt'), 'utf8').slice(0, 400);
    const ids = tokenizer!.encode(text);
    const score = await scoreTokens(model, ids, { window: 64, batch: 3 });
    expect(score.tokens).toBe(ids.length - 1);
    // Reference: one window at a time, statistics computed in float64 from the raw logits.
    let correct = 0;
    let nll = 0;
    let ent = 0;
    for (let at = 0; at + 1 < ids.length; at += 63) {
      const w = ids.slice(at, at + 64);
      const logits = (
        await readArray<number[][][]>(tf.tidy(() => model.forward(tf.tensor2d([w.slice(0, -1)], undefined, 'int32'))))
      )[0]!;
      logits.forEach((row, t) => {
        const m = Math.max(...row);
        const z = row.reduce((s, x) => s + Math.exp(x - m), 0);
        const logp = row.map((x) => x - m - Math.log(z));
        nll -= logp[w[t + 1]!]!;
        ent -= logp.reduce((s, lp) => s + Math.exp(lp) * lp, 0);
        if (row.indexOf(m) === w[t + 1]) correct++;
      });
    }
    expect(score.top1).toBeCloseTo(correct / score.tokens, 10);
    expect(score.loss).toBeCloseTo(nll / score.tokens, 4);
    expect(score.entropy).toBeCloseTo(ent / score.tokens, 4);
    expect(score.top1).toBeGreaterThan(0.3); // a trained model, not noise
    model.dispose();
  });
});
