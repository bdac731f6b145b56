// Data parallelism for the single-threaded backends: wasm runs one thread in Node, so a pool of worker
// threads, each with its own engine, computes a share of the update's blocks on the other cores.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '@rmt/backend';
import type { LlamaModel } from '@rmt/model';
import type { WorkerReply, WorkerRequest } from './gradient-worker.js';
import type { BlockRunner } from './update.js';

/** The built worker beside this module (dist/), or — when this module runs from src/ in tests — the built one. */
function workerUrl(): URL {
  const sibling = new URL('./gradient-worker.js', import.meta.url);
  return existsSync(fileURLToPath(sibling)) ? sibling : new URL('../dist/gradient-worker.js', import.meta.url);
}

export class GradientWorkers implements BlockRunner {
  private constructor(private readonly workers: Worker[]) {}

  /** Start `count` workers on `backend` and wait until each has loaded it. */
  static async start(count: number, backend: BackendName): Promise<GradientWorkers> {
    const url = workerUrl();
    if (!existsSync(fileURLToPath(url))) throw new Error(`gradient workers: ${fileURLToPath(url)} is missing; build @rmt/trainer first`);
    const workers = Array.from({ length: count }, () => new Worker(url, { workerData: { backend } }));
    await Promise.all(workers.map((w) => reply<'ready'>(w)));
    return new GradientWorkers(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  async run(model: LlamaModel, jobs: WorkerRequest['jobs'], settings: WorkerRequest['settings'], rlNormalizer: number) {
    const weights = model.parameters().map((p) => p.dataSync() as Float32Array);
    // Job j goes to worker j mod n; answers are put back in job order.
    const shares = this.workers.map((_, w) => jobs.map((_, j) => j).filter((j) => j % this.workers.length === w));
    const replies = await Promise.all(
      this.workers.map(async (worker, w) => {
        if (shares[w]!.length === 0) return [];
        worker.postMessage({ config: model.config, weights, jobs: shares[w]!.map((j) => jobs[j]!), settings: { loss: settings.loss, padId: settings.padId }, rlNormalizer } satisfies WorkerRequest);
        const answer = await reply<WorkerReply>(worker);
        if (!answer.ok) throw new Error(`gradient worker ${w}: ${answer.error}`);
        return answer.results;
      }),
    );
    const out: Awaited<ReturnType<BlockRunner['run']>> = new Array(jobs.length);
    shares.forEach((share, w) => share.forEach((j, k) => (out[j] = replies[w]![k]!)));
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The next message of a worker, or its crash as an error. */
function reply<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: T) => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      resolve(message);
    };
    const onError = (error: Error) => {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      reject(new Error(`gradient worker failed: ${error.message}`, { cause: error }));
    };
    const onExit = (code: number) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      reject(new Error(`gradient worker exited with code ${code}`));
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}
