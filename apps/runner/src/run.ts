// Full runs: pretrain (the tiny base), mid-train (RMT / RPT / NTP) and evaluation against the base.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { loadBackend } from '@rmt/backend';
import { ConstantSchedule, createBudgetSchedule, type BudgetSchedule } from '@rmt/budget';
import { createSampler, drawDistinct, type Sampler } from '@rmt/curriculum';
import {
  answersEquivalent,
  posttrainProblems,
  readGsm8k,
  readMath,
  syntheticOptionsOf,
  syntheticPretrainSequences,
  syntheticTokenizer,
  type Site,
  type VerifiableProblem,
} from '@rmt/data';
import { evaluate, verifiableAccuracy, type EvalResult, type VerifiableScore } from '@rmt/eval';
import { createRng, readInput, writeFileAtomic } from '@rmt/core';
import {
  CONFIG_FILE,
  fromHfConfig,
  LlamaModel,
  loadModel,
  parseLlamaConfig,
  saveModel,
  type LlamaConfig,
  type Tokenizer,
} from '@rmt/model';
import type { OpenAIEngineClient } from '@rmt/engine';
import {
  methodSwitches,
  midtrain,
  posttrainSettings,
  preflight,
  PreflightError,
  preflightSummary,
  pretrain,
  type PreflightReport,
} from '@rmt/trainer';
import { embeddedBaseFor, validateConfig, type RunConfig } from './config.js';
import { connectEngine, siteScores, withResumeHint } from './engine.js';
import { RunDirectory } from './output.js';
import type { Reporter } from './progress.js';
import { assertSameTokenizer, prepareTask, promptFormat, samplerSites, siteEntropies, type Task } from './task.js';

/** Beside a run's final model: how it was trained (method, steps, the budget it ends at), read by `rmt eval`. */
const TRAINING_FILE = 'training.json';

export interface RunFlags {
  quiet: boolean;
  json: boolean;
}

export function basePath(config: RunConfig): string {
  // overthink picks the embedded base (what the base learned to write); with a base of one's own it would change nothing.
  if (config.base !== 'embedded' && config.data.synthetic.overthink !== 'wrong')
    throw new Error(
      `data.synthetic.overthink '${config.data.synthetic.overthink}' picks the embedded base (base-model-${config.data.synthetic.overthink}); with base set to ${config.base} it changes nothing: remove one of them`,
    );
  return config.base === 'embedded' ? embeddedBaseFor(config.data.synthetic) : config.base;
}

async function loadWithTokenizer(path: string): Promise<{ model: LlamaModel; tokenizer: Tokenizer }> {
  const { model, tokenizer } = await loadModel(path);
  if (!tokenizer) throw new Error(`${path}: the checkpoint has no tokenizer`);
  return { model, tokenizer };
}

/** Where a loop's events go: the run directory's logs (metrics.jsonl, warnings.jsonl) and the reporter. */
function recorder(out: RunDirectory, reporter: Reporter) {
  return {
    onStep: (metrics: Record<string, number>) => {
      out.appendMetrics(metrics);
      reporter.step(metrics);
    },
    onWarning: (message: string, step: number) => {
      out.appendWarning(step, message);
      reporter.warn(message);
    },
  };
}

/** Run `f` as a named phase of the reporter (a bar or log lines), so no phase longer than a second is silent. */
async function inPhase<T>(
  reporter: Reporter,
  label: string,
  f: (tick: (done: number, total: number) => void) => T | Promise<T>,
): Promise<T> {
  const phase = reporter.phase(label);
  try {
    return await f((done, total) => phase.tick(done, total));
  } finally {
    phase.end();
  }
}

/** A model folder's shape from its config.json, without its weights; undefined for a llama2.c file. */
async function modelShape(path: string): Promise<LlamaConfig | undefined> {
  const file = join(path, CONFIG_FILE);
  return existsSync(file)
    ? fromHfConfig(JSON.parse(await readInput(file, 'utf8')) as Record<string, unknown>, file)
    : undefined;
}

/**
 * The backend for training a model of this shape on micro-batches of `batch` rows of up to `seqLen` tokens:
 * `auto` estimates weights, AdamW moments, gradients and activations first and picks a backend that holds
 * them, or refuses with the sizes (never a WebAssembly abort mid-step).
 */
function loadTrainingBackend(config: RunConfig, model: LlamaConfig | undefined, batch: number, seqLen: number) {
  return loadBackend(
    config.backend,
    model ? { workload: { model, batch, seqLen: Math.min(seqLen, model.maxSeqLen) } } : {},
  );
}

/** `rmt pretrain`: train a model from scratch (or continue one) on the synthetic pretraining mix. */
export async function runPretrain(
  config: RunConfig,
  out: RunDirectory,
  flags: RunFlags,
  reporter: Reporter,
): Promise<{ dir: string; finalLoss: number }> {
  const p = config.pretrain;
  const tokenizer = syntheticTokenizer();
  const shape = p.from
    ? await modelShape(p.from)
    : p.model && parseLlamaConfig({ ...p.model, vocabSize: tokenizer.vocabSize }, 'pretrain.model');
  await loadTrainingBackend(config, shape, p.batchSize, shape?.maxSeqLen ?? 0);
  let model: LlamaModel;
  if (p.from) model = (await loadWithTokenizer(p.from)).model;
  else {
    if (!p.model)
      throw new Error('pretrain.model: an architecture is needed to train from scratch (or set pretrain.from)');
    model = LlamaModel.init(parseLlamaConfig({ ...p.model, vocabSize: tokenizer.vocabSize }, 'pretrain.model'), {
      seed: config.seed,
    });
  }
  const format = promptFormat(config.data, tokenizer);
  // data.synthetic.* shapes the pretraining mix too (overthink: the long traces' style; base-redundant.yaml).
  const sequences = syntheticPretrainSequences(
    config.seed,
    p.sequences,
    tokenizer,
    format,
    config.data.windowLength,
    syntheticOptionsOf(config.data.synthetic),
  );
  const tooLong = sequences.find((s) => s.length > model.config.maxSeqLen);
  if (tooLong)
    throw new Error(
      `pretrain: a training sequence has ${tooLong.length} tokens, more than maxSeqLen ${model.config.maxSeqLen}`,
    );
  reporter.start(p.steps, 0);
  const { finalLoss } = await pretrain(model, sequences, {
    steps: p.steps,
    batchSize: p.batchSize,
    lr: p.lr,
    warmup: p.warmup,
    decay: p.decay,
    minLrRatio: p.minLrRatio,
    optimizer: p.optimizer,
    seed: config.seed,
    padId: tokenizer.padId!,
    onStep: recorder(out, reporter).onStep,
    snapshotEvery: p.snapshotEvery,
    onSnapshot: (step) => saveModel(out.path(`snapshots/step-${step}`), model, tokenizer),
  });
  reporter.stop();
  const dir = out.path('model');
  await saveModel(dir, model, tokenizer);
  model.dispose();
  if (!flags.quiet && !flags.json)
    reporter.log(`pretrained: final loss ${finalLoss.toFixed(4)}; model saved to ${dir}`);
  return { dir, finalLoss };
}

interface Prepared {
  task: Task;
  base: LlamaModel;
  tokenizer: Tokenizer;
  trainEntropy: number[];
  heldEntropy: number[];
}

/**
 * Load the base, build the task, and score its sites. `training: false` (rmt eval) skips the training sites,
 * whose scores only the sampler uses (trainEntropy is then empty).
 */
async function prepare(
  config: RunConfig,
  out: RunDirectory,
  reporter: Reporter,
  baseModel = basePath(config),
  engine?: OpenAIEngineClient,
  training = true,
): Promise<Prepared> {
  const { model: base, tokenizer } = await inPhase(reporter, `loading ${baseModel}`, () =>
    loadWithTokenizer(baseModel),
  );
  // Windows are read whole by scoring and the NTP term: longer than the model's context, every forward would fail.
  if (config.data.windowLength > base.config.maxSeqLen) {
    base.dispose();
    throw new Error(
      `data.windowLength ${config.data.windowLength} is longer than the maxSeqLen ${base.config.maxSeqLen} of ${baseModel}: set data.windowLength to at most ${base.config.maxSeqLen}`,
    );
  }
  const task = await prepareTask(config.data, config.seed, tokenizer);
  reporter.log(
    `task: ${task.train.sites.length} training sites in ${task.train.windows.length} windows, ${task.heldOut.sites.length} held-out sites`,
  );
  const trainEntropy = training
    ? await trainingScores(config, out, reporter, { base, tokenizer, path: baseModel }, task, engine)
    : [];
  // The evaluation's splits are always the base's entropy (METHOD.md §6), whichever model scores the training sites.
  const heldEntropy = await inPhase(reporter, 'scoring held-out sites', (tick) =>
    siteScores(engine, base, tokenizer, task.heldOut, config, out.path('cache'), tick),
  );
  return { task, base, tokenizer, trainEntropy, heldEntropy };
}

/**
 * Entropies of the training sites by the curriculum's scorer (METHOD.md §3): `base`, the frozen starting
 * checkpoint (locally, or on the engine), or another model (RPT: a small proxy) that must share the base's
 * tokenizer, since sites are token positions. Its scores are cached under its own weights' hash.
 */
async function trainingScores(
  config: RunConfig,
  out: RunDirectory,
  reporter: Reporter,
  base: { base: LlamaModel; tokenizer: Tokenizer; path: string },
  task: Task,
  engine?: OpenAIEngineClient,
): Promise<number[]> {
  const scorerPath = config.midtrain.curriculum.scorer;
  if (scorerPath === 'base' || resolve(scorerPath) === resolve(base.path)) {
    return inPhase(reporter, 'scoring training sites', (tick) =>
      siteScores(engine, base.base, base.tokenizer, task.train, config, out.path('cache'), tick),
    );
  }
  const scorer = await inPhase(reporter, `loading the scorer ${scorerPath}`, () =>
    loadWithTokenizer(scorerPath).catch((error: Error) => {
      throw new Error(`midtrain.curriculum.scorer: ${error.message}`, { cause: error });
    }),
  );
  try {
    assertSameTokenizer(base.tokenizer, scorer.tokenizer, scorerPath, base.path);
    return await inPhase(reporter, `scoring training sites with the scorer ${scorerPath}`, (tick) =>
      siteEntropies(scorer.model, task.train, config.midtrain.curriculum, out.path('cache'), tick),
    );
  } finally {
    scorer.model.dispose();
  }
}

/**
 * Before step 0 of an RL method: the preflight's rollouts of the starting policy (packages/trainer/src/preflight.ts),
 * written to preflight.json and logged. Answers that never parse stop the run here (PreflightError, with the
 * cause and the fix) unless midtrain.preflight.action is warn.
 */
async function runPreflight(
  config: RunConfig,
  p: Prepared,
  budget: BudgetSchedule | undefined,
  out: RunDirectory,
  reporter: Reporter,
): Promise<PreflightReport> {
  const write = async (report: PreflightReport) => {
    await out.writeJson('preflight.json', report);
    reporter.log(preflightSummary(report));
  };
  try {
    const report = await inPhase(reporter, 'preflight rollouts', () =>
      preflight({
        model: p.base,
        tokenizer: p.tokenizer,
        format: p.task.format,
        windows: p.task.train.windows,
        sites: p.task.train.sites,
        budget,
        settings: config.midtrain,
        seed: config.seed,
        continuationTokens: config.data.continuationTokens,
        modelName: config.base === 'embedded' ? 'the embedded base' : config.base,
        onWarning: recorder(out, reporter).onWarning,
      }),
    );
    await write(report);
    return report;
  } catch (error) {
    if (error instanceof PreflightError) await write(error.report);
    throw error;
  }
}

/**
 * Held-out sites evaluated: a seeded uniform subset of at most eval.sites (not a stride: sites are periodic
 * in windows, and a stride would pick the same position of every window).
 */
function evalSubset(p: Prepared, config: RunConfig): { sites: Task['heldOut']['sites']; entropy: number[] } {
  const n = Math.min(config.eval.sites, p.task.heldOut.sites.length);
  const idx = drawDistinct(
    p.task.heldOut.sites.map((_, i) => i),
    n,
    createRng(`eval:${config.seed}`),
  ).sort((a, b) => a - b);
  return { sites: idx.map((i) => p.task.heldOut.sites[i]!), entropy: idx.map((i) => p.heldEntropy[i]!) };
}

/** A model on the held-out subset, split by the base's entropy (METHOD.md §6), as a named phase. */
function evaluateModel(
  model: LlamaModel,
  p: Prepared,
  config: RunConfig,
  reporter: Reporter,
  label: string,
  options: { reasoning: boolean; budget: number | undefined },
): Promise<EvalResult> {
  const subset = evalSubset(p, config);
  return inPhase(reporter, `evaluating ${label}`, (onProgress) =>
    evaluate(model, p.tokenizer, p.task.format, p.task.heldOut.windows, subset.sites, subset.entropy, {
      thresholds: config.eval.thresholds,
      reasoning: options.reasoning,
      budget: options.budget,
      maxReasoningTokens: config.eval.maxReasoningTokens,
      continuationTokens: config.data.continuationTokens,
      batch: config.eval.batch,
      onProgress,
    }),
  );
}

/** The sampler a method uses (METHOD.md §5): RMT's configured one, RPT's entropy filter, none for NTP. */
async function samplerFor(config: RunConfig, entropies: number[]): Promise<Sampler | undefined> {
  const m = config.midtrain;
  if (m.method === 'ntp') return undefined;
  const { sites } = samplerSites(entropies, m.curriculum.tiers);
  const context = { sites, totalSteps: m.steps, seed: config.seed };
  if (m.method === 'rpt') return createSampler('entropy-filtered', { minTier: 'hard' }, context);
  return createSampler(m.curriculum.sampler, m.curriculum.options, context);
}

export interface MidtrainOutcome {
  base?: EvalResult;
  /** Absent when the run was stopped (signal) before its last step. */
  trained?: EvalResult;
  finalBudget: number | undefined;
  steps: number;
  stopped: boolean;
  seconds: number;
}

/** `rmt run` / `rmt midtrain` / `rmt resume`: mid-train from the base, then evaluate against it. */
export async function runMidtrain(
  config: RunConfig,
  out: RunDirectory,
  flags: RunFlags & { resume: boolean; evaluateBase: boolean; shouldStop?: () => boolean },
  reporter: Reporter,
): Promise<MidtrainOutcome> {
  const started = performance.now();
  const m = config.midtrain;
  // The longest row of an update: the window's context, the reasoning cap (capMultiplier·B_0 or the fixed
  // cap) and room for the prompt's control tokens and the answer.
  const reasoningCap = Math.max(m.maxReasoningTokens, Math.ceil(m.budget.capMultiplier * m.budget.initial));
  const rows = Math.min(m.microBatchRows, m.sitesPerStep * m.groupSize);
  const backend = await loadTrainingBackend(
    config,
    await modelShape(basePath(config)),
    rows,
    config.data.windowLength + reasoningCap + 64,
  );
  reporter.log(`backend: ${backend.name} (${backend.device})`);
  // An engine (midtrain.rollout.engine: openai) is reached first: unreachable, the run fails here, naming its URL.
  const engine = await connectEngine(config, out.dir, (message) => reporter.warn(message));
  const p = await prepare(config, out, reporter, basePath(config), engine);
  // Each checkpoint holds the weights and two AdamW moments; keepLastN of them plus one being written, and
  // the final model. A megabyte more for logs, tokenizer and evaluation files.
  const weightBytes = 4 * p.base.parameterCount();
  out.ensureFreeSpace(
    3 * weightBytes * (m.keepLastN + 1) + weightBytes + 2 ** 20,
    `${m.keepLastN + 1} checkpoints and the final model`,
  );
  const budget = methodSwitches(m).useBudget ? createBudgetSchedule(m.budget) : undefined;
  const finalBudget = budget?.budget(m.steps, m.steps);
  // The preflight, before anything long (the base's evaluation, step 0), so a run without a learning signal
  // stops in seconds. Not on a resume from a checkpoint: that run passed it (or was told to go on).
  if (m.method !== 'ntp' && m.preflight.sites > 0 && !(flags.resume && out.hasCheckpoints()))
    await runPreflight(config, p, budget, out, reporter);

  // A resumed run reuses the base evaluation its first start wrote (the base does not change).
  const savedBase = out.path('eval.base.json');
  let base: EvalResult | undefined;
  if (flags.evaluateBase && flags.resume && existsSync(savedBase))
    base = JSON.parse(await readInput(savedBase, 'utf8')) as EvalResult;
  else if (flags.evaluateBase) {
    base = await evaluateModel(p.base, p, config, reporter, 'the base', { reasoning: true, budget: undefined });
    await out.writeJson('eval.base.json', base);
  }

  // The policy starts as a copy of the base (which stays frozen: scorer and, with β > 0, KL reference).
  const { model: policy } = await loadWithTokenizer(basePath(config));
  const sampler = await samplerFor(config, p.trainEntropy);
  reporter.start(m.steps, 0);
  const result = await midtrain({
    model: policy,
    tokenizer: p.tokenizer,
    format: p.task.format,
    windows: p.task.train.windows,
    sites: p.task.train.sites,
    sampler,
    budget,
    settings: m,
    seed: config.seed,
    continuationTokens: config.data.continuationTokens,
    checkpointDir: out.checkpoints,
    resume: flags.resume,
    reference: m.loss.beta > 0 ? p.base : undefined,
    engine,
    ...recorder(out, reporter),
    onRollouts: (_step, records) => out.appendRollouts(records),
    onResume: (step) => out.truncateLogs(step),
    shouldStop: flags.shouldStop,
  }).catch(withResumeHint(out.dir));
  reporter.stop();
  if (result.stopped) {
    policy.dispose();
    p.base.dispose();
    return { base, finalBudget, steps: result.steps, stopped: true, seconds: (performance.now() - started) / 1000 };
  }
  const trained = await evaluateModel(policy, p, config, reporter, `the ${m.method} model`, {
    reasoning: true,
    budget: finalBudget,
  });
  // The backend with its device line (for wasm: whether @rmt/kernels ran), since results depend on it.
  const ran = { name: backend.name, device: backend.device };
  await out.writeJson('eval.json', {
    method: m.method,
    steps: m.steps,
    budget: finalBudget ?? null,
    seed: config.seed,
    backend: ran,
    base: base ?? null,
    trained,
  });
  await saveModel(out.path('model'), policy, p.tokenizer, (tmp) =>
    writeFileAtomic(
      join(tmp, TRAINING_FILE),
      `${JSON.stringify({ method: m.method, steps: m.steps, budget: finalBudget ?? null }, null, 2)}\n`,
    ),
  );
  policy.dispose();
  p.base.dispose();
  return {
    base,
    trained,
    finalBudget,
    steps: result.steps,
    stopped: false,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * `rmt compare`'s learning curves: several checkpoints of one run on the run's held-out subset (split by the
 * base, as every evaluation), the task prepared and the held-out sites scored once (the scores are cached).
 */
export async function evaluateCheckpoints(
  config: RunConfig,
  out: RunDirectory,
  models: { path: string; budget: number | undefined }[],
  reporter: Reporter,
): Promise<EvalResult[]> {
  await loadBackend(config.backend);
  const p = await prepare(config, out, reporter, basePath(config), undefined, false);
  try {
    const results: EvalResult[] = [];
    for (const m of models) {
      const { model } = await loadWithTokenizer(m.path);
      try {
        results.push(await evaluateModel(model, p, config, reporter, m.path, { reasoning: true, budget: m.budget }));
      } finally {
        model.dispose();
      }
    }
    return results;
  } finally {
    p.base.dispose();
  }
}

/** Read a run directory's resolved config (for `rmt resume`). */
export async function readRunConfig(dir: string): Promise<RunConfig> {
  const file = join(dir, 'config.resolved.yaml');
  if (!existsSync(file)) throw new Error(`${dir}: not a run directory (no config.resolved.yaml)`);
  return validateConfig(YAML.parse(await readInput(file, 'utf8')), file);
}

export interface PosttrainOutcome {
  before: VerifiableScore;
  after: VerifiableScore;
  seconds: number;
}

/**
 * `rmt posttrain`: GRPO on a task with verifiable answers (METHOD.md §6), from any checkpoint. The problems
 * become sites (context = question, target = answer) and the mid-training loop runs on them with plain
 * GRPO (`posttrainSettings`: the posttrain slice's sampling, schedule and loss; uniform sampling, no NTP
 * term, no budget but a constant one for a budget-trained checkpoint; with posttrain.loss.beta > 0, KL to
 * the frozen starting checkpoint). Accuracy on held-out problems before and after.
 */
export async function runPosttrain(
  config: RunConfig,
  modelPath: string,
  out: RunDirectory,
  reporter: Reporter,
  budget?: number,
): Promise<PosttrainOutcome> {
  const started = performance.now();
  const rows = Math.min(config.midtrain.microBatchRows, config.posttrain.sitesPerStep * config.posttrain.groupSize);
  const shape = await modelShape(modelPath);
  await loadTrainingBackend(config, shape, rows, shape?.maxSeqLen ?? 0);
  const { model, tokenizer } = await loadWithTokenizer(modelPath);
  const pt = config.posttrain;
  const { train, held } = await posttrainTask(pt, config.seed);
  // A real task asks for the problem's final answer, checked by equivalence after normalisation.
  const real = pt.task !== 'synthetic';
  const format = promptFormat(config.data, tokenizer, real ? 'problem' : 'next-token');
  const verify = real
    ? (site: Site, prediction: Uint8Array | null) =>
        prediction !== null && answersEquivalent(Buffer.from(prediction).toString('utf8'), train[site.window]!.answer)
          ? 1
          : 0
    : undefined;
  const windows = train.map((p) => tokenizer.encode(p.question + p.answer));
  const sites: Site[] = train.map((p, i) => {
    const position = tokenizer.encode(p.question).length;
    return { window: i, position, target: windows[i]![position]! };
  });
  // A budget-trained checkpoint is asked with its final budget (told in the prompt, constant, and no
  // length reward: post-training rewards the answer only).
  const score = (when: string) =>
    inPhase(reporter, `scoring held-out problems ${when}`, (onProgress) =>
      verifiableAccuracy(model, tokenizer, format, held, {
        maxReasoningTokens: pt.maxReasoningTokens,
        batch: config.eval.batch,
        budget,
        onProgress,
      }),
    );
  const before = await score('before');
  const sampler = await createSampler(
    'uniform',
    {},
    { sites: sites.map((_, index) => ({ index, tier: 0, entropy: 0 })), totalSteps: pt.steps, seed: config.seed },
  );
  reporter.start(pt.steps, 0);
  // With β > 0 the KL term pulls toward the frozen starting checkpoint (a second copy, never trained).
  const reference = pt.loss.beta > 0 ? (await loadWithTokenizer(modelPath)).model : undefined;
  await midtrain({
    model,
    tokenizer,
    format,
    windows,
    sites,
    sampler,
    budget: budget === undefined ? undefined : new ConstantSchedule(budget),
    settings: posttrainSettings(pt, config.midtrain, budget),
    seed: config.seed,
    continuationTokens: 1, // the answer is one checksum digit: the whole of the window after the question
    verify,
    reference,
    checkpointDir: out.checkpoints,
    ...recorder(out, reporter),
    onRollouts: (_step, records) => out.appendRollouts(records),
  }).finally(() => reference?.dispose());
  reporter.stop();
  const after = await score('after');
  await out.writeJson('posttrain.json', {
    model: modelPath,
    task: pt.task,
    taskFile: pt.taskFile,
    problems: { train: train.length, heldOut: held.length },
    budget: budget ?? null,
    before,
    after,
  });
  model.dispose();
  return { before, after, seconds: (performance.now() - started) / 1000 };
}

/**
 * Training and held-out problems of the post-training task: synthetic checksums from two seeds, or a GSM8K /
 * MATH-500 file whose first `heldOut` problems are held out and the next `problems` train.
 */
async function posttrainTask(
  pt: RunConfig['posttrain'],
  seed: number,
): Promise<{ train: VerifiableProblem[]; held: VerifiableProblem[] }> {
  if (pt.task === 'synthetic') {
    if (pt.taskFile !== null)
      throw new Error(
        `posttrain.taskFile is set (${pt.taskFile}) but posttrain.task is 'synthetic'; set posttrain.task: gsm8k or math500`,
      );
    return {
      train: posttrainProblems(seed, pt.problems),
      held: posttrainProblems(seed + pt.heldOutSeedOffset, pt.heldOut),
    };
  }
  if (pt.taskFile === null)
    throw new Error(
      `posttrain.task '${pt.task}' needs posttrain.taskFile, the JSONL of its problems (rmt posttrain --task ${pt.task} --task-file <file>)`,
    );
  const all = pt.task === 'gsm8k' ? await readGsm8k(pt.taskFile) : await readMath(pt.taskFile);
  const held = all.slice(0, pt.heldOut);
  const train = all.slice(pt.heldOut, pt.heldOut + pt.problems);
  if (train.length === 0)
    throw new Error(
      `${pt.taskFile}: ${all.length} problems leave none to train on after posttrain.heldOut = ${pt.heldOut}`,
    );
  return { train, held };
}

/**
 * The budget a mid-trained model was trained to: a checkpoint's state.json or a run's final model/training.json
 * record it (null: trained without one). Undefined for any other model.
 */
async function trainedBudget(modelPath: string): Promise<number | null | undefined> {
  for (const name of ['state.json', TRAINING_FILE]) {
    const file = join(modelPath, name);
    if (!existsSync(file)) continue;
    const budget = (JSON.parse(await readInput(file, 'utf8')) as { budget?: unknown }).budget;
    if (budget === null || (typeof budget === 'number' && Number.isInteger(budget) && budget > 0)) return budget;
    if (budget !== undefined)
      throw new Error(`${file}: budget must be a positive integer or null, got ${JSON.stringify(budget)}`);
  }
  return undefined;
}

/**
 * `rmt eval`: a checkpoint on the held-out sites, split by the base model's entropy (the base defaults to
 * the checkpoint itself, e.g. for a real model such as stories260K on the TinyStories sample). A mid-trained
 * checkpoint is asked with the budget it was trained to unless `budget` says otherwise.
 */
export async function runEval(
  config: RunConfig,
  modelPath: string,
  out: RunDirectory,
  options: { base?: string; reasoning: boolean; budget?: number },
  reporter: Reporter,
): Promise<EvalResult> {
  await loadBackend(config.backend);
  const trained = options.budget === undefined ? await trainedBudget(modelPath) : undefined;
  const budget = options.budget ?? trained ?? undefined;
  if (trained !== undefined)
    reporter.log(`budget: ${trained ?? 'none'}, the one ${modelPath} was trained to (--budget overrides)`);
  const p = await prepare(config, out, reporter, options.base ?? modelPath, undefined, false);
  const model = options.base === undefined ? p.base : (await loadWithTokenizer(modelPath)).model;
  const result = await evaluateModel(model, p, config, reporter, modelPath, { reasoning: options.reasoning, budget });
  await out.writeJson('eval.json', {
    model: modelPath,
    base: options.base ?? modelPath,
    budget: budget ?? null,
    result,
  });
  if (model !== p.base) model.dispose();
  p.base.dispose();
  return result;
}
