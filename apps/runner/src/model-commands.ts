// `rmt generate` and `rmt score`: the model package on real checkpoints, as a newcomer runs it.
import { readInput } from '@rmt/core';
import { generate, loadModel, scoreTokens, type LoadedModel, type Tokenizer } from '@rmt/model';

export interface ModelSource {
  model: string;
  tokenizer?: string;
}

async function loadWithTokenizer(source: ModelSource): Promise<LoadedModel & { tokenizer: Tokenizer }> {
  const loaded = await loadModel(source.model, source.tokenizer);
  const { tokenizer } = loaded;
  if (!tokenizer) {
    throw new Error(
      `${source.model}: no tokenizer found beside the model; pass --tokenizer <tok.bin | tokenizer.json | folder>`,
    );
  }
  return { ...loaded, tokenizer };
}

export interface GenerateCommandOptions extends ModelSource {
  prompt: string;
  maxTokens: number;
  greedy?: boolean;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
}

export async function generateCommand(opts: GenerateCommandOptions) {
  const { model, tokenizer } = await loadWithTokenizer(opts);
  const prompt = tokenizer.encode(opts.prompt, { bos: true });
  const started = performance.now();
  const out = await generate(model, [prompt], {
    maxNewTokens: opts.maxTokens,
    temperature: opts.greedy ? 0 : opts.temperature,
    topK: opts.topK,
    topP: opts.topP,
    seed: opts.seed,
    // An instruction model ends its turn with an end-of-turn token (<|im_end|>, <|eot_id|>) as well as EOS.
    stopTokens: [...(tokenizer.endOfTurnIds ?? (tokenizer.eosId === undefined ? [] : [tokenizer.eosId]))],
  });
  const seconds = (performance.now() - started) / 1000;
  const tokens = out.tokens[0]!;
  model.dispose();
  return {
    prompt: opts.prompt,
    text: tokenizer.decode([...prompt, ...tokens]),
    completion: tokenizer.decode(tokens),
    tokens,
    finish_reason: out.finishReasons[0]!,
    tokens_per_second: tokens.length / seconds,
  };
}

export async function scoreCommand(opts: ModelSource & { text: string }) {
  const { model, tokenizer } = await loadWithTokenizer(opts);
  const text = await readInput(opts.text, 'utf8');
  const score = await scoreTokens(model, tokenizer.encode(text, { bos: true }));
  model.dispose();
  return score;
}
