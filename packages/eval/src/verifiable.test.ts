import { beforeAll, describe, expect, it } from 'vitest';
import { loadBackend } from '@rmt/backend';
import type { ParsedCompletion, PromptFormat } from '@rmt/data';
import { ByteTokenizer, LlamaModel, parseLlamaConfig } from '@rmt/model';
import { verifiableAccuracy } from './index.js';

describe('verifiableAccuracy', () => {
  beforeAll(async () => {
    await loadBackend('cpu');
  });
  it('scores by answer equivalence, not string equality (METHOD.md §6)', async () => {
    const tokenizer = new ByteTokenizer();
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
      { seed: 1 },
    );
    // The model is random: a stub format answers in problem order, so only the comparison is under test.
    const answers = ['\\frac{1}{2}', '70,000', '\\boxed{6}', null];
    let next = 0;
    const format: PromptFormat = {
      name: 'stub',
      stopTokens: [],
      answerRoom: 1,
      build: (context) => [...context],
      render: (reasoning, answer) => [...reasoning, ...answer],
      parse: (): ParsedCompletion => {
        const a = answers[next++];
        return {
          reasoningTokens: 3,
          prediction: a === null || a === undefined ? null : new Uint8Array(Buffer.from(a)),
        };
      },
    };
    const problems = [
      { question: 'half?', answer: '0.5' },
      { question: 'big?', answer: '70000' },
      { question: 'five?', answer: '5' },
      { question: 'none?', answer: '1' },
    ];
    const score = await verifiableAccuracy(model, tokenizer, format, problems, { maxReasoningTokens: 2, batch: 3 });
    expect(score.problems).toBe(4);
    expect(score.accuracy).toBe(0.5);
    expect(score.meanLength).toBe(3);
    model.dispose();
  });
});
