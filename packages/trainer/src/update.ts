// The dual-objective update (METHOD.md §4): clipped policy loss on the rollouts, optional KL, NTP on the
// training windows except the RL sites; one AdamW step. Rollouts whose advantage is 0 contribute exactly
// nothing to the RL term, so they are skipped in the forward/backward — the token-mean normaliser still
// counts them, so the loss and gradient are those of the full batch (tested: micro-batching invariance).
import { tf } from '@rmt/backend';
import type { DualLossConfig } from '@rmt/dual-loss';
import type { LlamaModel } from '@rmt/model';
import type { NtpWindows, RlRows } from './block.js';
import type { AdamW } from './optimizer.js';
import { sumBlockGradients, updateBlocks, type ParallelWorkers } from './parallel.js';

export type { NtpWindows, RlRows } from './block.js';

export interface UpdateResult {
  lossRl: number;
  lossNtp: number;
  kl: number;
  /** Mean policy entropy over trained completion tokens (nats). */
  entropy: number;
  clipFraction: number;
  gradNorm: number;
  /** Rollout rows actually run through the update (non-zero advantage). */
  rlRows: number;
}

export interface UpdateSettings {
  loss: DualLossConfig;
  padId: number;
  lr: number;
  /** Most RL rows per forward/backward (memory bound); gradients are summed exactly across blocks. */
  microBatchRows: number;
  /** Frozen reference policy for the KL term (needed when loss.beta > 0). */
  reference?: LlamaModel;
  /** Worker threads that take a share of the blocks (wasm and cpu run one thread each). */
  workers?: ParallelWorkers;
}

/**
 * One AdamW step on L = L_RL + β·KL + λ·L_NTP over the rollout rows (in blocks of microBatchRows) and the
 * NTP windows. With `s.workers`, blocks are spread over worker threads; the gradients are summed in block
 * order on this thread, so the update is bit-identical with or without workers.
 */
export async function dualUpdate(
  model: LlamaModel,
  optimizer: AdamW,
  rl: RlRows | undefined,
  ntp: NtpWindows | undefined,
  s: UpdateSettings,
): Promise<UpdateResult> {
  if (s.loss.beta > 0 && !s.reference)
    throw new Error(`dualUpdate: loss.beta ${s.loss.beta} > 0 needs a reference model for the KL term`);
  // Rows with a non-zero advantage; normalisers over the whole rollout batch, zero-advantage rows included.
  const active = rl ? rl.advantages.map((a, i) => (a !== 0 ? i : -1)).filter((i) => i >= 0) : [];
  const rlNormalizer = rl
    ? s.loss.rlAggregation === 'token-mean'
      ? rl.completions.reduce((n, c) => n + c.length, 0)
      : rl.completions.length
    : 0;
  const withNtp = ntp !== undefined && ntp.windows.length > 0 && s.loss.lambda > 0;
  const blocks = updateBlocks(active, s.microBatchRows, withNtp);

  // ∇L = Σ over blocks of each block's gradient; then one AdamW step (none without blocks).
  const { grads, values } = await sumBlockGradients(
    model,
    optimizer.params,
    { rl, ntp, blocks, rlNormalizer },
    s,
    s.workers,
  );
  const gradNorm = grads ? await optimizer.apply(grads, s.lr) : 0;
  if (grads) tf.dispose(grads);
  return {
    lossRl: values.rl,
    lossNtp: values.ntp,
    kl: values.kl,
    entropy: values.tokens > 0 ? values.entropy / values.tokens : NaN,
    clipFraction: values.tokens > 0 ? values.clip / values.tokens : 0,
    gradNorm,
    rlRows: active.length,
  };
}
