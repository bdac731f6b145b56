// Data parallelism for the single-threaded backends: wasm runs one thread in Node, so a pool of worker
// threads, each with its own engine and a copy of the policy, takes a share of each update's blocks and of
// each step's rollout rows on the other cores. What a worker computes is what this thread would: the
// results do not depend on the number of workers (tested). Here too: how an update is cut into blocks
// and which thread computes which block.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { activeBackend, kernelThreads, setKernelThreads, tf, type BackendName } from '@rmt/backend';
import type { Generation, LlamaModel } from '@rmt/model';
import {
  blockGradients,
  type BlockSettings,
  type BlockValues,
  type NtpWindows,
  type RlRows,
  type UpdateBlock,
} from './block.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

/**
 * 'auto': none where the kernels already use every core (@rmt/kernels' thread pool, or a native backend);
 * on wasm and cpu without them (one thread), the other cores for data parallelism (capped: 4 threads in
 * all). With the pool, the bench's RMT step took 0.78 s in one process and 0.87–1.01 s with a worker.
 */
export function workerCount(setting: 'auto' | number): number {
  if (setting !== 'auto') return setting;
  const backend = activeBackend()?.name;
  if ((backend !== 'wasm' && backend !== 'cpu') || kernelThreads() > 1) return 0;
  return Math.min(3, Math.max(0, availableParallelism() - 1));
}

/**
 * The blocks of one update. The NTP term is a block of its own (first), so with workers it runs beside the
 * RL rows; then the active RL rows in blocks of at most microBatchRows. The blocks do not depend on the
 * number of workers. RL blocks are of even size (88 rows at 64 a block: 44 + 44, not 64 + 24), so threads
 * finish together.
 */
export function updateBlocks(active: readonly number[], microBatchRows: number, withNtp: boolean): UpdateBlock[] {
  const blocks: UpdateBlock[] = withNtp ? [{ rows: [], ntp: true }] : [];
  const count = Math.ceil(active.length / microBatchRows);
  for (let b = 0, at = 0; b < count; b++) {
    const size = Math.floor(active.length / count) + (b < active.length % count ? 1 : 0);
    blocks.push({ rows: active.slice(at, (at += size)), ntp: false });
  }
  return blocks;
}

/** The blocks of one update with what they read: the rollout rows, the NTP windows, the RL normaliser. */
export interface BlockJob {
  rl: RlRows | undefined;
  ntp: NtpWindows | undefined;
  blocks: UpdateBlock[];
  rlNormalizer: number;
}

/**
 * The thread of each block (0 = this one, w + 1 = worker w). It changes nothing in the result, only the
 * time: the costliest blocks first, each to the least loaded thread.
 */
function assignThreads({ rl, ntp, blocks }: BlockJob, threads: number): number[] {
  const cost = blocks.map((block) =>
    block.ntp
      ? (ntp?.windows ?? []).reduce((n, w) => n + w.length, 0)
      : block.rows.reduce((n, i) => n + (rl?.prompts[i]?.length ?? 0) + (rl?.completions[i]?.length ?? 0), 0),
  );
  const load = new Array<number>(threads).fill(0);
  const thread = new Array<number>(blocks.length).fill(0);
  for (const b of blocks.map((_, i) => i).sort((x, y) => cost[y]! - cost[x]! || x - y)) {
    thread[b] = load.indexOf(Math.min(...load));
    load[thread[b]!]! += cost[b]!;
  }
  return thread;
}

type BlockResult = { grads: tf.Tensor[]; values: BlockValues };

/**
 * All blocks' gradients w.r.t. `params` summed, and their loss statistics summed, both in block order on
 * this thread — so the sums are the same bits with or without `workers`, which take a share of the blocks.
 * `grads` is undefined when there are no blocks (the caller disposes it otherwise). The KL reference model
 * stays on this thread: an update with a KL term runs here.
 */
export async function sumBlockGradients(
  model: LlamaModel,
  params: tf.Variable[],
  job: BlockJob,
  s: BlockSettings,
  workers?: ParallelWorkers,
): Promise<{ grads: tf.Tensor[] | undefined; values: BlockValues }> {
  const pool = s.reference && s.loss.beta > 0 ? undefined : workers;
  const thread = assignThreads(job, (pool?.size ?? 0) + 1);
  // shares[w]: the blocks of worker w (thread w + 1), in block order.
  const shares = Array.from({ length: pool?.size ?? 0 }, (_, w) =>
    job.blocks.map((_, b) => b).filter((b) => thread[b] === w + 1),
  );
  const jobs = shares.map((share) => share.map((b) => ({ rl: job.rl, ntp: job.ntp, block: job.blocks[b]! })));
  const pending =
    pool && shares.some((share) => share.length > 0) ? pool.run(model, jobs, s, job.rlNormalizer) : undefined;
  const results: BlockResult[] = new Array(job.blocks.length);
  try {
    for (const [b, block] of job.blocks.entries()) {
      if (thread[b] === 0)
        results[b] = await blockGradients(model, params, job.rl, job.ntp, block, s, job.rlNormalizer);
    }
    (await pending)?.forEach((answers, w) =>
      answers.forEach((r, k) => {
        results[shares[w]![k]!] = { grads: r.grads.map((g, i) => tf.tensor(g, params[i]!.shape)), values: r.values };
      }),
    );
  } catch (error) {
    tf.dispose(results.flatMap((r) => r?.grads ?? []));
    await pending?.catch(() => undefined); // let the workers finish before the next call, and leave no rejection unhandled
    throw error;
  }
  const total = (k: keyof BlockValues) => results.reduce((n, r) => n + r.values[k], 0);
  const values = {
    rl: total('rl'),
    ntp: total('ntp'),
    kl: total('kl'),
    clip: total('clip'),
    entropy: total('entropy'),
    tokens: total('tokens'),
  };
  return { grads: sumInOrder(results), values };
}

/** Σ over blocks of the gradients, in block order (the blocks' own tensors are disposed). */
function sumInOrder(results: BlockResult[]): tf.Tensor[] | undefined {
  if (results.length <= 1) return results[0]?.grads;
  const summed = tf.tidy(() => results.map((r) => r.grads).reduce((acc, g) => acc.map((x, i) => tf.add(x, g[i]!))));
  tf.dispose(results.flatMap((r) => r.grads));
  return summed;
}

/** The built worker beside this module (dist/), or — when this module runs from src/ in tests — the built one. */
function workerUrl(): URL {
  const sibling = new URL('./worker.js', import.meta.url);
  return existsSync(fileURLToPath(sibling)) ? sibling : new URL('../dist/worker.js', import.meta.url);
}

type Payload<K extends WorkerRequest['kind']> = Omit<Extract<WorkerRequest, { kind: K }>, 'config' | 'weights'>;

export class ParallelWorkers {
  /** Per worker, the parameter tensors whose values it holds (a variable's data changes identity on update). */
  private readonly holds: (readonly object[] | undefined)[];

  private constructor(
    private readonly workers: Worker[],
    private readonly kernelThreadsBefore: number,
  ) {
    this.holds = workers.map(() => undefined);
  }

  /** Start `count` workers on `backend` and wait until each has loaded it. */
  static async start(count: number, backend: BackendName): Promise<ParallelWorkers> {
    const url = workerUrl();
    if (!existsSync(fileURLToPath(url)))
      throw new Error(`parallel workers: ${fileURLToPath(url)} is missing; build @rmt/trainer first`);
    // The workers occupy the other cores: the native kernels' own threads would only oversubscribe them
    // (the setting covers the whole process, worker threads included; the results do not depend on it).
    const before = kernelThreads();
    setKernelThreads(1);
    const workers = Array.from({ length: count }, () => new Worker(url, { workerData: { backend } }));
    try {
      await Promise.all(workers.map((w) => reply<'ready'>(w)));
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      setKernelThreads(before);
      throw error;
    }
    return new ParallelWorkers(workers, before);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Gradients of update blocks (see sumBlockGradients): shares[w] goes to worker w; answers in the same shape. */
  async run(
    model: LlamaModel,
    shares: Payload<'grads'>['jobs'][],
    settings: Payload<'grads'>['settings'],
    rlNormalizer: number,
  ) {
    const replies = await this.ask(
      model,
      shares.map((jobs) =>
        jobs.length === 0
          ? undefined
          : { kind: 'grads', jobs, settings: { loss: settings.loss, padId: settings.padId }, rlNormalizer },
      ),
    );
    return replies.map((r) => (r ? (r as Extract<WorkerReply, { results: unknown }>).results : []));
  }

  /** Generations of groups of rows, group w on worker w (each row with its own RNG seed). */
  async generate(
    model: LlamaModel,
    groups: { prompts: number[][]; rowSeeds: string[] }[],
    options: Payload<'generate'>['options'],
  ): Promise<Generation[]> {
    const replies = await this.ask(
      model,
      groups.map((g) => (g.prompts.length === 0 ? undefined : { kind: 'generate', ...g, options })),
    );
    return replies.map((r) =>
      r
        ? (r as Extract<WorkerReply, { generation: unknown }>).generation
        : { tokens: [], logProbs: [], finishReasons: [] },
    );
  }

  /** Send worker w payload w (none: skip it), with the weights where it does not hold them yet; the answers. */
  private async ask(
    model: LlamaModel,
    payloads: (Payload<'grads'> | Payload<'generate'> | undefined)[],
  ): Promise<(WorkerReply | undefined)[]> {
    if (payloads.length !== this.workers.length)
      throw new Error(`parallel workers: ${payloads.length} shares for ${this.workers.length} workers`);
    const params = model.parameters();
    const current = params.map((p) => p.dataId);
    // Read once for every worker that needs them (asynchronously: a GPU backend cannot read synchronously).
    let weights: Promise<Float32Array[]> | undefined;
    return Promise.all(
      this.workers.map(async (worker, w) => {
        const payload = payloads[w];
        if (!payload) return undefined;
        const held = this.holds[w];
        const fresh = held?.length === current.length && held.every((id, i) => id === current[i]);
        if (!fresh) weights ??= Promise.all(params.map((p) => p.data() as Promise<Float32Array>));
        this.holds[w] = undefined; // until the worker has answered
        worker.postMessage({
          config: model.config,
          weights: fresh ? undefined : await weights,
          ...payload,
        } as WorkerRequest);
        const answer = await reply<WorkerReply>(worker);
        if (!answer.ok) throw new Error(`parallel worker ${w}: ${answer.error}`);
        this.holds[w] = current;
        return answer;
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    setKernelThreads(this.kernelThreadsBefore);
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
