// allTokenScores (the evaluation's all-token next-token accuracy and NLL) against an independent computation:
// each window alone, unpadded, its log-softmax in float64 in plain JavaScript.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBackend, tf } from '@rmt/backend';
import { ByteTokenizer, LlamaModel, parseLlamaConfig } from '@rmt/model';
import { allTokenScores } from './index.js';

describe('allTokenScores', () => {
  beforeAll(async () => {
    await loadBackend('cpu');
  });
  it('is the mean NLL and argmax accuracy over every next token of every window, padding excluded', async () => {
    const tokenizer = new ByteTokenizer(['<pad>', '<s>', '</s>']);
    const model = LlamaModel.init(
      parseLlamaConfig({
        dim: 8,
        nLayers: 1,
        nHeads: 1,
        nKvHeads: 1,
        hiddenDim: 16,
        vocabSize: tokenizer.vocabSize,
        maxSeqLen: 32,
      }),
      { seed: 3 },
    );
    // Windows of different lengths (right-padded in one batch) and one too short to have a next token.
    const windows = [tokenizer.encode('abcab'), tokenizer.encode('ab'), [7], tokenizer.encode('hello there')];
    let tokens = 0;
    let nll = 0;
    let hits = 0;
    for (const w of windows.filter((x) => x.length >= 2)) {
      const logits = tf.tidy(
        () => model.forward(tf.tensor2d([w.slice(0, -1)], undefined, 'int32')).arraySync() as number[][][],
      )[0]!;
      logits.forEach((row, t) => {
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
        nll += lse - row[w[t + 1]!]!;
        if (row.indexOf(max) === w[t + 1]) hits++;
        tokens++;
      });
    }
    for (const batch of [1, 2, 8]) {
      const got = await allTokenScores(model, tokenizer, windows, batch);
      expect(got.tokens).toBe(tokens);
      expect(got.nll).toBeCloseTo(nll / tokens, 4);
      expect(got.accuracy).toBeCloseTo(hits / tokens, 10);
    }
    expect(await allTokenScores(model, tokenizer, [], 4)).toEqual({ tokens: 0, nll: NaN, accuracy: NaN });
    model.dispose();
  });
});
