// A gradient worker thread: its own tfjs engine and a copy of the policy. Each request brings the current
// weights and some blocks of the dual update; it answers with each block's gradients and loss statistics.
// Same code, same backend, same inputs as the main thread, hence the same bits (see dualUpdate).
import { parentPort, workerData } from 'node:worker_threads';
import { loadBackend, tf, type BackendName } from '@rmt/backend';
import { LlamaModel, type LlamaConfig } from '@rmt/model';
import { blockGradients, type BlockValues, type NtpWindows, type RlRows, type UpdateBlock, type UpdateSettings } from './update.js';

export interface WorkerRequest {
  config: LlamaConfig;
  weights: Float32Array[];
  jobs: { rl: RlRows | undefined; ntp: NtpWindows | undefined; block: UpdateBlock }[];
  settings: Pick<UpdateSettings, 'loss' | 'padId'>;
  rlNormalizer: number;
}

export type WorkerReply = { ok: true; results: { grads: Float32Array[]; values: BlockValues }[] } | { ok: false; error: string };

const port = parentPort!;
let model: LlamaModel | undefined;
let modelConfig = '';

function answer(request: WorkerRequest): void {
  try {
    const key = JSON.stringify(request.config);
    if (!model || key !== modelConfig) {
      model?.dispose();
      model = LlamaModel.init(request.config);
      modelConfig = key;
    }
    const params = model.parameters();
    tf.tidy(() => params.forEach((p, i) => p.assign(tf.tensor(request.weights[i]!, p.shape))));
    const results = request.jobs.map((job) => {
      const { grads, values } = blockGradients(model!, params, job.rl, job.ntp, job.block, request.settings, request.rlNormalizer);
      const arrays = grads.map((g) => Float32Array.from(g.dataSync() as Float32Array));
      tf.dispose(grads);
      return { grads: arrays, values };
    });
    port.postMessage({ ok: true, results } satisfies WorkerReply, results.flatMap((r) => r.grads.map((g) => g.buffer)));
  } catch (error) {
    port.postMessage({ ok: false, error: (error as Error).stack ?? String(error) } satisfies WorkerReply);
  }
}

// No top-level await: the package also builds as CommonJS.
void loadBackend((workerData as { backend: BackendName }).backend).then(
  () => {
    port.on('message', answer);
    port.postMessage('ready');
  },
  (error: unknown) => {
    throw error; // reaches the parent as the worker's 'error' event
  },
);
