// A worker thread of ParallelWorkers: its own tfjs engine and a copy of the policy. Each request brings the
// current weights and either some blocks of the dual update (answered with each block's gradients and loss
// statistics) or some rollout rows (answered with their generations). Same code, same backend, same
// inputs as the main thread, hence the same bits (see sumBlockGradients and generateRows).
import { parentPort, workerData } from 'node:worker_threads';
import { loadBackend, readAllValues, tf, type BackendName } from '@rmt/backend';
import { createRng } from '@rmt/core';
import { generate, LlamaModel, type GenerateOptions, type Generation, type LlamaConfig } from '@rmt/model';
import {
  blockGradients,
  type BlockSettings,
  type BlockValues,
  type NtpWindows,
  type RlRows,
  type UpdateBlock,
} from './block.js';

/** `weights` is absent when the worker already holds these values (rollout and update of one step share them). */
export type WorkerRequest = { config: LlamaConfig; weights?: Float32Array[] } & (
  | {
      kind: 'grads';
      jobs: { rl: RlRows | undefined; ntp: NtpWindows | undefined; block: UpdateBlock }[];
      settings: Pick<BlockSettings, 'loss' | 'padId'>;
      rlNormalizer: number;
    }
  | {
      kind: 'generate';
      prompts: number[][];
      rowSeeds: string[];
      options: Omit<GenerateOptions, 'rng' | 'rowRngs' | 'seed'>;
    }
);

export type WorkerReply =
  | { ok: true; results: { grads: Float32Array[]; values: BlockValues }[] }
  | { ok: true; generation: Generation }
  | { ok: false; error: string };

const port = parentPort!;
let model: LlamaModel | undefined;
let modelConfig = '';

/** The worker's policy, with the weights of the request (or those of the previous one). */
function policy(config: LlamaConfig, weights: Float32Array[] | undefined): LlamaModel {
  const key = JSON.stringify(config);
  if (!model || key !== modelConfig) {
    if (!weights) throw new Error('a first request (or a new model) must bring its weights');
    model?.dispose();
    model = LlamaModel.init(config);
    modelConfig = key;
  }
  const params = model.parameters();
  if (weights) tf.tidy(() => params.forEach((p, i) => p.assign(tf.tensor(weights[i]!, p.shape))));
  return model;
}

async function answer(request: WorkerRequest): Promise<void> {
  try {
    const m = policy(request.config, request.weights);
    if (request.kind === 'generate') {
      const generation = await generate(m, request.prompts, {
        ...request.options,
        rowRngs: request.rowSeeds.map((seed) => createRng(seed)),
      });
      port.postMessage({ ok: true, generation } satisfies WorkerReply);
      return;
    }
    const results: { grads: Float32Array<ArrayBuffer>[]; values: BlockValues }[] = [];
    for (const job of request.jobs) {
      const { grads, values } = await blockGradients(
        m,
        m.parameters(),
        job.rl,
        job.ntp,
        job.block,
        request.settings,
        request.rlNormalizer,
      );
      const arrays = (await readAllValues(grads)).map((g) => Float32Array.from(g as Float32Array));
      results.push({ grads: arrays, values });
    }
    port.postMessage(
      { ok: true, results } satisfies WorkerReply,
      results.flatMap((r) => r.grads.map((g) => g.buffer)),
    );
  } catch (error) {
    port.postMessage({ ok: false, error: (error as Error).stack ?? String(error) } satisfies WorkerReply);
  }
}

// No top-level await: the package also builds as CommonJS.
void loadBackend((workerData as { backend: BackendName }).backend).then(
  () => {
    // One request at a time, in order (answers await their reads; the parent sends one request per worker anyway).
    let queue = Promise.resolve();
    port.on('message', (request: WorkerRequest) => {
      queue = queue.then(() => answer(request));
    });
    port.postMessage('ready');
  },
  (error: unknown) => {
    throw error; // reaches the parent as the worker's 'error' event
  },
);
