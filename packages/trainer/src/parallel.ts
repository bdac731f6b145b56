// Data parallelism for the single-threaded backends: wasm runs one thread in Node, so a pool of worker
// threads, each with its own engine and a copy of the policy, takes a share of each update's blocks and of
// each step's rollout rows on the other cores. What a worker computes is what this thread would: the
// results do not depend on the number of workers (tested).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '@rmt/backend';
import type { Generation, LlamaModel } from '@rmt/model';
import type { BlockRunner } from './update.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

/** The built worker beside this module (dist/), or — when this module runs from src/ in tests — the built one. */
function workerUrl(): URL {
  const sibling = new URL('./worker.js', import.meta.url);
  return existsSync(fileURLToPath(sibling)) ? sibling : new URL('../dist/worker.js', import.meta.url);
}

type Payload<K extends WorkerRequest['kind']> = Omit<Extract<WorkerRequest, { kind: K }>, 'config' | 'weights'>;

export class ParallelWorkers implements BlockRunner {
  /** Per worker, the parameter tensors whose values it holds (a variable's data changes identity on update). */
  private readonly holds: (readonly object[] | undefined)[];

  private constructor(private readonly workers: Worker[]) {
    this.holds = workers.map(() => undefined);
  }

  /** Start `count` workers on `backend` and wait until each has loaded it. */
  static async start(count: number, backend: BackendName): Promise<ParallelWorkers> {
    const url = workerUrl();
    if (!existsSync(fileURLToPath(url))) throw new Error(`parallel workers: ${fileURLToPath(url)} is missing; build @rmt/trainer first`);
    const workers = Array.from({ length: count }, () => new Worker(url, { workerData: { backend } }));
    await Promise.all(workers.map((w) => reply<'ready'>(w)));
    return new ParallelWorkers(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Gradients of update blocks (see dualUpdate): shares[w] goes to worker w; answers in the same shape. */
  async run(model: LlamaModel, shares: Payload<'grads'>['jobs'][], settings: Payload<'grads'>['settings'], rlNormalizer: number) {
    const replies = await this.ask(
      model,
      shares.map((jobs) => (jobs.length === 0 ? undefined : { kind: 'grads', jobs, settings: { loss: settings.loss, padId: settings.padId }, rlNormalizer })),
    );
    return replies.map((r) => (r ? (r as Extract<WorkerReply, { results: unknown }>).results : []));
  }

  /** Generations of groups of rows, group w on worker w (each row with its own RNG seed). */
  async generate(model: LlamaModel, groups: { prompts: number[][]; rowSeeds: string[] }[], options: Payload<'generate'>['options']): Promise<Generation[]> {
    const replies = await this.ask(model, groups.map((g) => (g.prompts.length === 0 ? undefined : { kind: 'generate', ...g, options })));
    return replies.map((r) => (r ? (r as Extract<WorkerReply, { generation: unknown }>).generation : { tokens: [], logProbs: [], finishReasons: [] }));
  }

  /** Send worker w payload w (none: skip it), with the weights where it does not hold them yet; the answers. */
  private async ask(model: LlamaModel, payloads: (Payload<'grads'> | Payload<'generate'> | undefined)[]): Promise<(WorkerReply | undefined)[]> {
    if (payloads.length !== this.workers.length) throw new Error(`parallel workers: ${payloads.length} shares for ${this.workers.length} workers`);
    const params = model.parameters();
    const current = params.map((p) => p.dataId);
    let weights: Float32Array[] | undefined;
    return Promise.all(
      this.workers.map(async (worker, w) => {
        const payload = payloads[w];
        if (!payload) return undefined;
        const held = this.holds[w];
        const fresh = held?.length === current.length && held.every((id, i) => id === current[i]);
        if (!fresh) weights ??= params.map((p) => p.dataSync() as Float32Array);
        this.holds[w] = undefined; // until the worker has answered
        worker.postMessage({ config: model.config, weights: fresh ? undefined : weights, ...payload } as WorkerRequest);
        const answer = await reply<WorkerReply>(worker);
        if (!answer.ok) throw new Error(`parallel worker ${w}: ${answer.error}`);
        this.holds[w] = current;
        return answer;
      }),
    );
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
      reject(new Error(`parallel worker failed: ${error.message}`, { cause: error }));
    };
    const onExit = (code: number) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      reject(new Error(`parallel worker exited with code ${code}`));
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}
