// AdamW against a float64 hand computation; checkpoints: exact round trip, rotation, and a disk that fills
// up mid-write (a real 160 KB tmpfs when the test runs as root) keeping the last good checkpoint.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackend, tf } from '@rmt/backend';
import { ByteTokenizer, LlamaModel, parseLlamaConfig } from '@rmt/model';
import { smallDisk } from '@rmt/testing';
import { dualLossConfigSchema } from '@rmt/dual-loss';
import { AdamW, dualUpdate, ParallelWorkers, listCheckpoints, loadCheckpoint, saveCheckpoint } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'rmt-trainer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await loadBackend('cpu');
});

describe('AdamW', () => {
  it('two steps match float64: moments, bias correction, decoupled decay on matrices only, clipping', async () => {
    const w = tf.variable(tf.tensor2d([[0.5, -1.0]]));
    const g = tf.variable(tf.tensor1d([2.0]));
    const opt = new AdamW([w, g], { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1, maxGradNorm: 1 });
    const grads = [[3, 4], [0]]; // norm 5 → scaled by 1/5
    const lr = 0.01;
    // float64 reference
    let ref = [0.5, -1.0];
    let m = [0, 0];
    let v = [0, 0];
    for (let t = 1; t <= 2; t++) {
      const scaled = grads[0]!.map((x) => x / 5);
      m = m.map((mi, i) => 0.9 * mi + 0.1 * scaled[i]!);
      v = v.map((vi, i) => 0.999 * vi + 0.001 * scaled[i]! ** 2);
      ref = ref.map(
        (p, i) => p * (1 - lr * 0.1) - (lr * (m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[i]! / (1 - 0.999 ** t)) + 1e-8),
      );
      const norm = await opt.apply([tf.tensor2d([grads[0]!]), tf.tensor1d(grads[1]!)], lr);
      expect(norm).toBeCloseTo(5, 5);
    }
    const got = Array.from(await w.data());
    ref.forEach((r, i) => expect(Math.abs(got[i]! - r)).toBeLessThan(1e-6));
    // The 1-D gain had zero gradient and is not decayed: unchanged.
    expect((await g.data())[0]).toBe(2);
    expect(await opt.apply([tf.tensor2d([[NaN, 0]]), tf.tensor1d([0])], lr)).toBeNaN();
    expect(Array.from(await w.data())).toEqual(got); // a non-finite gradient is never applied
    opt.dispose();
  });
});

async function tinyModel(seed: number) {
  const tokenizer = new ByteTokenizer();
  const model = LlamaModel.init(
    parseLlamaConfig({
      dim: 16,
      nLayers: 1,
      nHeads: 2,
      nKvHeads: 1,
      hiddenDim: 32,
      vocabSize: tokenizer.vocabSize,
      maxSeqLen: 16,
    }),
    { seed },
  );
  const optimizer = new AdamW(model.parameters(), {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0.01,
    maxGradNorm: 1,
  });
  await optimizer.apply(
    model.parameters().map((p) => tf.onesLike(p)),
    1e-3,
  );
  return { model, tokenizer, optimizer };
}

describe('checkpoints', () => {
  it('round-trip weights, moments and state exactly; keep the newest keepLastN', async () => {
    const dir = join(root, 'ckpts');
    const { model, tokenizer, optimizer } = await tinyModel(1);
    for (const step of [1, 2, 3])
      await saveCheckpoint(dir, step, { model, tokenizer, optimizer, state: { cursor: step * 10 } }, 2);
    expect((await listCheckpoints(dir)).map((c) => c.step)).toEqual([2, 3]);
    const back = await loadCheckpoint((await listCheckpoints(dir)).at(-1)!.dir);
    expect(back.state).toMatchObject({ step: 3, cursor: 30, optimizerStep: 1 });
    for (const [i, p] of back.model.parameters().entries())
      expect(Array.from(await p.data())).toEqual(Array.from(await model.parameters()[i]!.data()));
    expect(back.optimizerState.v).toEqual((await optimizer.state()).v);
    back.model.dispose();
    model.dispose();
    optimizer.dispose();
  });

  // A real full disk: a 160 KB tmpfs holds one checkpoint of this model (~85 KB) but not two.
  const disk = smallDisk(root, '160k');

  it.skipIf(!disk.mounted)(
    'disk full while writing: a clear error, the partial folder removed, the last good checkpoint intact',
    async () => {
      const { model, tokenizer, optimizer } = await tinyModel(2);
      const dir = join(disk.path, 'checkpoints');
      await saveCheckpoint(dir, 1, { model, tokenizer, optimizer, state: {} }, 5);
      await expect(saveCheckpoint(dir, 2, { model, tokenizer, optimizer, state: {} }, 5)).rejects.toThrow(
        /checkpoints: could not write the checkpoint of step 2 \(disk full\); the newest complete checkpoint, step 1, is kept/,
      );
      expect(readdirSync(dir)).toEqual(['step-000001']);
      const back = await loadCheckpoint(join(dir, 'step-000001'));
      expect(Array.from(await back.model.parameters()[0]!.data())).toEqual(
        Array.from(await model.parameters()[0]!.data()),
      );
      back.model.dispose();
      model.dispose();
      optimizer.dispose();
      expect(existsSync(join(dir, 'step-000002'))).toBe(false);
    },
  );
});

describe('data-parallel update (parallel workers)', () => {
  beforeAll(async () => {
    await loadBackend('wasm');
  });

  it('gives bit-identical weights and statistics to the single-threaded update', async () => {
    const loss = dualLossConfigSchema.parse({});
    let state = 5;
    const rand = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const tokens = (n: number) => Array.from({ length: n }, () => 3 + Math.floor(rand() * 250));
    const rl = {
      prompts: [] as number[][],
      completions: [] as number[][],
      oldLogProbs: [] as number[][],
      advantages: [] as number[],
    };
    for (let r = 0; r < 14; r++) {
      const c = tokens(2 + (r % 5));
      rl.prompts.push(tokens(3 + (r % 3)));
      rl.completions.push(c);
      rl.oldLogProbs.push(c.map(() => -5 - rand()));
      rl.advantages.push(r % 4 === 0 ? 0 : rand() * 2 - 1); // some rows without signal are skipped
    }
    const ntp = { windows: [tokens(10), tokens(10)], excluded: [[4], [2, 7]] };
    const run = async (workers?: ParallelWorkers) => {
      const { model, optimizer } = await tinyModel(7);
      const result = await dualUpdate(model, optimizer, rl, ntp, {
        loss,
        padId: 0,
        lr: 1e-2,
        microBatchRows: 3,
        workers,
      });
      const weights = (await Promise.all(model.parameters().map((p) => p.data()))).map((v) => Array.from(v));
      model.dispose();
      optimizer.dispose();
      return { result, weights };
    };
    const serial = await run();
    const pool = await ParallelWorkers.start(2, 'wasm');
    try {
      const parallel = await run(pool);
      expect(parallel.result).toEqual(serial.result);
      expect(parallel.weights).toEqual(serial.weights);
      expect(serial.result.rlRows).toBe(10);
    } finally {
      await pool.close();
    }
  });
});
