// Post-training score (METHOD.md §6): accuracy on a task with verifiable final answers, greedy decoding.
import { answersEquivalent, type PromptFormat, type VerifiableProblem } from '@rmt/data';
import { generate, type LlamaModel, type Tokenizer } from '@rmt/model';
import { wilsonInterval, type Interval } from './stats.js';

export type { VerifiableProblem };

export interface VerifiableScore {
  problems: number;
  accuracy: number;
  ci: Interval;
  meanLength: number;
}

/**
 * Share of problems whose parsed answer is equivalent to the reference (`answersEquivalent`: normalised
 * LaTeX and numbers compared by value, so `\frac{1}{2}`, `1/2` and `0.5` agree), greedy decoding
 * (METHOD.md §6).
 */
export async function verifiableAccuracy(
  model: LlamaModel,
  tokenizer: Tokenizer,
  format: PromptFormat,
  problems: readonly VerifiableProblem[],
  options: {
    maxReasoningTokens: number;
    batch: number;
    budget?: number;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<VerifiableScore> {
  let correct = 0;
  let length = 0;
  for (let at = 0; at < problems.length; at += options.batch) {
    const chunk = problems.slice(at, at + options.batch);
    const out = await generate(
      model,
      chunk.map((p) => format.build(tokenizer.encode(p.question), options.budget)),
      {
        maxNewTokens: options.maxReasoningTokens + format.answerRoom,
        temperature: 0,
        stopTokens: [...format.stopTokens],
        padId: tokenizer.padId ?? 0,
      },
    );
    out.tokens.forEach((t, i) => {
      const parsed = format.parse(t);
      length += parsed.reasoningTokens;
      if (
        parsed.prediction !== null &&
        answersEquivalent(Buffer.from(parsed.prediction).toString('utf8'), chunk[i]!.answer)
      )
        correct++;
    });
    options.onProgress?.(at + chunk.length, problems.length);
  }
  const n = problems.length;
  return {
    problems: n,
    accuracy: n ? correct / n : NaN,
    ci: wilsonInterval(correct, n),
    meanLength: n ? length / n : NaN,
  };
}
