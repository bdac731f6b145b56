// Mutation fuzzing of every file this package reads: each mutated input is either accepted or rejected
// with an Error naming the file — no crash, no hang, no allocation the file size does not bound.
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzParser } from '@rmt/testing';
import { loadBackend } from '@rmt/backend';
import {
  ByteTokenizer,
  HuggingFaceTokenizer,
  Llama2cTokenizer,
  LlamaModel,
  loadModel,
  parseLlama2c,
  parseLlamaConfig,
  saveModel,
} from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'rmt-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A valid llama2.c legacy checkpoint built by hand: header, then every tensor in run.c's order. */
function llama2cFile(): Uint8Array {
  const [dim, hidden, layers, heads, kvHeads, vocab, seq] = [8, 16, 1, 2, 2, 16, 8];
  const hd = dim / heads;
  const floats = vocab * dim + layers * (dim + 4 * dim * dim + dim + 3 * hidden * dim) + dim + seq * hd;
  const out = Buffer.alloc(28 + 4 * floats);
  [dim, hidden, layers, heads, kvHeads, vocab, seq].forEach((v, i) => out.writeInt32LE(v, 4 * i));
  for (let i = 0; i < floats; i++) out.writeFloatLE(Math.sin(i), 28 + 4 * i);
  return out;
}

describe('fuzzing the model files', () => {
  beforeAll(async () => {
    await loadBackend('cpu');
  });

  it('llama2.c checkpoints', async () => {
    const good = llama2cFile();
    expect(parseLlama2c(good, 'm.bin').config.dim).toBe(8);
    const rejected = await fuzzParser(good, 'm.bin', (b) => parseLlama2c(b, 'm.bin'), 400);
    expect(rejected).toBeGreaterThan(100);
  });

  it('llama2.c tokenizer.bin', async () => {
    const pieces = ['<unk>', '<s>', '</s>', ...'abcdefghij'.split(''), 'the', ' a', 'ing'];
    const good = Buffer.alloc(4 + pieces.reduce((n, p) => n + 8 + p.length, 0));
    good.writeInt32LE(5, 0); // max_token_length
    let at = 4;
    pieces.forEach((p, i) => {
      good.writeFloatLE(-i, at);
      good.writeInt32LE(p.length, at + 4);
      good.write(p, at + 8);
      at += 8 + p.length;
    });
    expect(Llama2cTokenizer.parse(good, pieces.length, 'tok.bin').vocabSize).toBe(pieces.length);
    const rejected = await fuzzParser(good, 'tok.bin', (b) => Llama2cTokenizer.parse(b, pieces.length, 'tok.bin'), 400);
    expect(rejected).toBeGreaterThan(100);
  });

  it('Hugging Face tokenizer.json', async () => {
    const vocab = Object.fromEntries([...'abcdefghijklmnopqrstuvwxyz '].map((c, i) => [c, i]));
    const json = {
      version: '1.0',
      added_tokens: [
        { id: 27, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      ],
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        vocab: { ...vocab, th: 28 },
        merges: ['t h'],
      },
    };
    const file = join(dir, 'tokenizer.json');
    const good = Buffer.from(JSON.stringify(json, null, 1));
    writeFileSync(file, good);
    expect((await HuggingFaceTokenizer.load(file)).encode('the')).toEqual([28, 4]);
    const rejected = await fuzzParser(good, file, async (b) => {
      writeFileSync(file, b);
      const tok = await HuggingFaceTokenizer.load(file);
      tok.decode(tok.encode('the cat'));
    });
    expect(rejected).toBeGreaterThan(50);
  });

  it("a checkpoint's config.json", async () => {
    const tokenizer = new ByteTokenizer();
    const model = LlamaModel.init(
      parseLlamaConfig({
        dim: 8,
        nLayers: 1,
        nHeads: 2,
        nKvHeads: 1,
        hiddenDim: 16,
        vocabSize: tokenizer.vocabSize,
        maxSeqLen: 16,
      }),
      { seed: 1 },
    );
    const ckpt = join(dir, 'ckpt');
    await saveModel(ckpt, model, tokenizer);
    model.dispose();
    const file = join(ckpt, 'config.json');
    const good = readFileSync(file);
    // A mutation may make config.json disagree with the weights: then the error names the checkpoint.
    const rejected = await fuzzParser(
      good,
      ckpt,
      async (b) => {
        writeFileSync(file, b);
        (await loadModel(ckpt)).model.dispose();
      },
      200,
    );
    expect(rejected).toBeGreaterThan(50);
  });
});
