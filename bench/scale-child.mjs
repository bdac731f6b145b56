#!/usr/bin/env node
// One shape on one backend, in its own process (bench/scale.mjs starts it): a fresh heap per shape, a peak
// RSS that is this shape's alone, and a failure (out of memory, a WebAssembly abort) that ends only this run.
// Prints one JSON line: train step and KV-cached decode medians (ms), peak RSS (bytes), the memory estimate.
//   node bench/scale-child.mjs '<shape json>' <backend> <trainReps> <decodeReps>
import { estimateTrainingBytes, loadBackend, tf } from '@rmt/backend';
import { generate, LlamaModel, parseLlamaConfig } from '@rmt/model';
import { createRng } from '@rmt/core';
import { dualLossConfigSchema } from '@rmt/dual-loss';
import { AdamW, dualUpdate, generateRows, nextTokenStep, padBatch } from '@rmt/trainer';

const [shapeJson, backend, trainRepsArg, decodeRepsArg] = process.argv.slice(2);
const shape = JSON.parse(shapeJson);
const trainReps = Number(trainRepsArg);
const decodeReps = Number(decodeRepsArg);
const out = { shape: shape.name, backend };
try {
  const info = await loadBackend(backend);
  out.device = info.device;
  const config = parseLlamaConfig({ ...shape.model, maxSeqLen: Math.max(256, shape.seqLen + 1) });
  out.estimate = estimateTrainingBytes(config, shape.batch, shape.seqLen);
  const model = LlamaModel.init(config, { seed: 0 });
  out.parameters = model.parameterCount();
  const opt = new AdamW(model.parameters(), {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0.01,
    maxGradNorm: 1,
  });
  let seed = 1;
  const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const ids = (rows, cols) =>
    Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.floor(rand() * config.vocabSize)));
  const times = async (fn, n, warmup) => {
    for (let i = 0; i < warmup; i++) await fn();
    const ms = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await fn();
      ms.push(performance.now() - t);
    }
    return ms;
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const batch = padBatch(ids(shape.batch, shape.seqLen + 1), 0);
  // Warm-ups: the shape's own count (the first steps of a large model fault in its memory), else 1.
  const train = await times(
    () => nextTokenStep(model, opt, batch, 1e-4),
    trainReps,
    shape.warmup ?? (trainReps > 1 ? 1 : 0),
  );
  out.train_ms = median(train);
  out.train_all_ms = train;
  out.rss_after_train = process.memoryUsage().rss;
  out.tensors = tf.memory().numTensors;
  const d = shape.decode;
  const prompts = ids(d.batch, d.prompt);
  const decode = await times(
    () => generate(model, prompts, { maxNewTokens: d.newTokens, temperature: 1, seed: 1 }),
    decodeReps,
    shape.warmup ?? 1,
  );
  // Per generated token, prefill included (as bench/torch_reference.py and bench/run.mjs count it).
  out.decode_ms = median(decode) / d.newTokens;
  out.decode_all_ms = decode.map((x) => x / d.newTokens);
  const r = shape.rmt;
  if (r) {
    // Rollouts (sampled, KV-cached) then the dual-loss update, as one step of `rmt run` does.
    const step = async () => {
      const prompts = ids(r.sites, r.ctx).flatMap((p) => Array(r.group).fill(p));
      const rolled = await generateRows(model, prompts, { maxNewTokens: r.gen, temperature: 1 }, createRng(2));
      const rl = {
        prompts,
        completions: rolled.tokens,
        oldLogProbs: rolled.logProbs,
        advantages: prompts.map(() => rand() * 2 - 1),
      };
      const ntp = { windows: ids(r.sites, r.ctx), excluded: ids(r.sites, 0) };
      await dualUpdate(model, opt, rl, ntp, {
        loss: dualLossConfigSchema.parse({}),
        padId: 0,
        lr: 1e-4,
        microBatchRows: 64,
      });
    };
    // One warm-up: the step's shapes (rollout rows, the update's batch) are new to the allocator.
    out.rmt_step_ms = median(await times(step, 1, shape.warmup === 0 ? 0 : 1));
  }
  opt.dispose();
  model.dispose();
} catch (error) {
  out.error = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
}
out.peak_rss = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify(out)}\n`);
