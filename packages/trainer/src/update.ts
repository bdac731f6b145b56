// The dual-objective update (METHOD.md §4): clipped policy loss on the rollouts, optional KL, NTP on the
// training windows except the RL sites; one AdamW step. Rollouts whose advantage is 0 contribute exactly
// nothing to the RL term, so they are skipped in the forward/backward — the token-mean normaliser still
// counts them, so the loss and gradient are those of the full batch (tested: micro-batching invariance).
import { entropy, maskedMean, tf, tokenLogProbs } from '@rmt/backend';
import { aggregate, clippedPolicyLoss, dualLoss, klPerToken, ntpLoss, type DualLossConfig } from '@rmt/dual-loss';
import { leftPad, type LlamaModel } from '@rmt/model';
import type { AdamW } from './optimizer.js';

export interface RlRows {
  prompts: number[][];
  completions: number[][];
  oldLogProbs: number[][];
  advantages: number[];
}

export interface NtpWindows {
  /** Training windows (equal length). */
  windows: number[][];
  /** Per window, target positions excluded from NTP (this step's RL sites: m_t = 1[t ∉ C]). */
  excluded: number[][];
}

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

/** Tensors of one block of RL rows: ids [R, P+C−1], targets, completion mask, old log-probs, pads. */
function rlTensors(rows: RlRows, idx: number[], padId: number) {
  const prompts = idx.map((i) => rows.prompts[i]!);
  const { width: P, padLeft } = leftPad(prompts, padId);
  const C = Math.max(...idx.map((i) => rows.completions[i]!.length));
  const ids: number[][] = [];
  const targets: number[][] = [];
  const mask: number[][] = [];
  const old: number[][] = [];
  idx.forEach((i, r) => {
    const completion = rows.completions[i]!;
    const full = [...new Array<number>(padLeft[r]!).fill(padId), ...prompts[r]!, ...completion, ...new Array<number>(C - completion.length).fill(padId)];
    ids.push(full.slice(0, -1));
    targets.push(full.slice(1));
    // Completion token j is predicted at input position P − 1 + j.
    const m = new Array<number>(P + C - 1).fill(0);
    const o = new Array<number>(P + C - 1).fill(0);
    completion.forEach((_, j) => {
      m[P - 1 + j] = 1;
      o[P - 1 + j] = rows.oldLogProbs[i]![j]!;
    });
    mask.push(m);
    old.push(o);
  });
  return { ids, targets, mask, old, padLeft, advantages: idx.map((i) => rows.advantages[i]!) };
}

export interface UpdateSettings {
  loss: DualLossConfig;
  padId: number;
  lr: number;
  /** Most RL rows per forward/backward (memory bound); gradients are summed exactly across blocks. */
  microBatchRows: number;
  /** Frozen reference policy for the KL term (only used when loss.beta > 0). */
  reference?: LlamaModel;
  /** Worker threads that take a share of the blocks (wasm and cpu run one thread each). */
  workers?: BlockRunner;
}

/** The loss statistics of one block (summed over its tokens), read back as numbers. */
export interface BlockValues {
  rl: number;
  ntp: number;
  kl: number;
  clip: number;
  entropy: number;
  tokens: number;
}

/** One block of the update: RL rows, or the NTP term over the training windows. */
export interface UpdateBlock {
  rows: number[];
  ntp: boolean;
}

/**
 * Gradients of one block of the dual loss w.r.t. `params` (kept tensors, caller disposes) and its loss
 * statistics. Runs the same way on the main thread and in a parallel worker, so the sum over blocks is the
 * same bits wherever each block ran.
 */
export function blockGradients(
  model: LlamaModel,
  params: tf.Variable[],
  rl: RlRows | undefined,
  ntp: NtpWindows | undefined,
  block: UpdateBlock,
  s: Pick<UpdateSettings, 'loss' | 'padId' | 'reference'>,
  rlNormalizer: number,
): { grads: tf.Tensor[]; values: BlockValues } {
  return tf.tidy(() => {
    const scalars: Record<string, tf.Tensor> = {};
    const f = () => {
      const terms: { rl?: tf.Scalar; kl?: tf.Scalar; ntp?: tf.Scalar } = {};
      if (block.rows.length > 0 && rl) {
        const t = rlTensors(rl, block.rows, s.padId);
        const ids = tf.tensor2d(t.ids, undefined, 'int32');
        const targets = tf.tensor2d(t.targets, undefined, 'int32');
        const mask = tf.tensor2d(t.mask);
        const logits = model.forward(ids, t.padLeft);
        const logProbs = tokenLogProbs(logits, targets) as tf.Tensor2D;
        const policy = clippedPolicyLoss({
          logProbs,
          oldLogProbs: tf.tensor2d(t.old),
          advantages: tf.tensor1d(t.advantages),
          mask,
          epsilon: s.loss.epsilon,
          aggregation: s.loss.rlAggregation,
          normalizer: rlNormalizer,
        });
        terms.rl = policy.loss;
        scalars.clip = tf.keep(tf.mul(policy.clipFraction, tf.sum(mask)));
        scalars.entropy = tf.keep(tf.mul(maskedMean(entropy(logits), mask), tf.sum(mask)));
        scalars.tokens = tf.keep(tf.sum(mask));
        if (s.loss.beta > 0 && s.reference) {
          // The reference is another model: its variables are not differentiated.
          const refLogProbs = tokenLogProbs(s.reference.forward(ids, t.padLeft), targets) as tf.Tensor2D;
          terms.kl = aggregate(klPerToken(logProbs, refLogProbs, s.loss.klEstimator), mask, s.loss.rlAggregation, rlNormalizer);
        }
      }
      if (block.ntp && ntp) {
        const ids = tf.tensor2d(ntp.windows.map((w) => w.slice(0, -1)), undefined, 'int32');
        const targets = tf.tensor2d(ntp.windows.map((w) => w.slice(1)), undefined, 'int32');
        const mask = tf.tensor2d(
          ntp.windows.map((w, i) => {
            const m = new Array<number>(w.length - 1).fill(1);
            // Target position p is predicted at input position p − 1.
            for (const p of ntp.excluded[i]!) if (p >= 1) m[p - 1] = 0;
            return m;
          }),
        );
        terms.ntp = ntpLoss({ logits: model.forward(ids), targets, mask, aggregation: s.loss.ntpAggregation });
      }
      for (const [k, v] of Object.entries(terms)) scalars[k] = tf.keep(v);
      return dualLoss({ ...terms, beta: s.loss.beta, lambda: s.loss.lambda });
    };
    const { grads } = tf.variableGrads(f, params);
    const ordered = params.map((p) => tf.keep(grads[p.name]!));
    const read = (k: string) => (scalars[k] ? scalars[k].dataSync()[0]! : 0);
    const values = { rl: read('rl'), ntp: read('ntp'), kl: read('kl'), clip: read('clip'), entropy: read('entropy'), tokens: read('tokens') };
    tf.dispose(Object.values(scalars));
    return { grads: ordered, values };
  });
}

/** Computes blocks of the update elsewhere (worker threads); see ParallelWorkers. */
export interface BlockRunner {
  /** Worker threads (the calling thread computes blocks too). */
  readonly size: number;
  /** shares[w]: the blocks of worker w; the answer has the same shape. */
  run(model: LlamaModel, shares: { rl: RlRows | undefined; ntp: NtpWindows | undefined; block: UpdateBlock }[][], s: Pick<UpdateSettings, 'loss' | 'padId'>, rlNormalizer: number): Promise<{ grads: Float32Array[]; values: BlockValues }[][]>;
}

/**
 * One AdamW step on L = L_RL + λ·L_NTP over the rollout rows (in blocks of microBatchRows) and the NTP
 * windows. With `s.workers`, blocks are spread over worker threads; the gradients are summed in block
 * order on this thread, so the update is bit-identical with or without workers.
 */
export async function dualUpdate(model: LlamaModel, optimizer: AdamW, rl: RlRows | undefined, ntp: NtpWindows | undefined, s: UpdateSettings): Promise<UpdateResult> {
  const active = rl ? rl.advantages.map((a, i) => (a !== 0 ? i : -1)).filter((i) => i >= 0) : [];
  // Normalisers over the whole rollout batch, zero-advantage rows included.
  const rlNormalizer = rl ? (s.loss.rlAggregation === 'token-mean' ? rl.completions.reduce((n, c) => n + c.length, 0) : rl.completions.length) : 0;
  const withNtp = ntp !== undefined && ntp.windows.length > 0 && s.loss.lambda > 0;
  // The NTP term is a block of its own (first), so with workers it runs beside the RL rows; then the RL
  // rows in blocks of microBatchRows. The blocks do not depend on the number of workers.
  // RL blocks are of even size (88 rows at 64 a block: 44 + 44, not 64 + 24), so threads finish together.
  const blocks: UpdateBlock[] = withNtp ? [{ rows: [], ntp: true }] : [];
  const count = Math.ceil(active.length / s.microBatchRows);
  for (let b = 0, at = 0; b < count; b++) {
    const size = Math.floor(active.length / count) + (b < active.length % count ? 1 : 0);
    blocks.push({ rows: active.slice(at, (at += size)), ntp: false });
  }

  // Which thread computes which block changes nothing in the result, only the time: the costliest blocks
  // first, each to the least loaded thread (this one is thread 0). The KL reference model stays here.
  const workers = s.reference && s.loss.beta > 0 ? undefined : s.workers;
  const cost = blocks.map((block) =>
    block.ntp ? ntp!.windows.reduce((n, w) => n + w.length, 0) : block.rows.reduce((n, i) => n + rl!.prompts[i]!.length + rl!.completions[i]!.length, 0),
  );
  const load = new Array<number>((workers?.size ?? 0) + 1).fill(0);
  const thread = new Array<number>(blocks.length).fill(0);
  for (const b of blocks.map((_, i) => i).sort((x, y) => cost[y]! - cost[x]! || x - y)) {
    thread[b] = load.indexOf(Math.min(...load));
    load[thread[b]!]! += cost[b]!;
  }
  // shares[w]: the blocks of worker w (thread w + 1), in block order.
  const shares = Array.from({ length: workers?.size ?? 0 }, (_, w) => blocks.map((_, b) => b).filter((b) => thread[b] === w + 1));
  const pending = workers && shares.some((share) => share.length > 0) ? workers.run(model, shares.map((share) => share.map((b) => ({ rl, ntp, block: blocks[b]! }))), s, rlNormalizer) : undefined;
  const results: { grads: tf.Tensor[]; values: BlockValues }[] = new Array(blocks.length);
  try {
    blocks.forEach((block, b) => {
      if (thread[b] === 0) results[b] = blockGradients(model, optimizer.params, rl, ntp, block, s, rlNormalizer);
    });
    (await pending)?.forEach((answers, w) =>
      answers.forEach((r, k) => {
        results[shares[w]![k]!] = { grads: r.grads.map((g, i) => tf.tensor(g, optimizer.params[i]!.shape)), values: r.values };
      }),
    );
  } catch (error) {
    tf.dispose(results.flatMap((r) => r?.grads ?? []));
    await pending?.catch(() => undefined); // let the workers finish before the next call, and leave no rejection unhandled
    throw error;
  }

  let gradNorm = 0;
  if (results.length > 0) {
    // Σ over blocks, in block order.
    const summed = results.length === 1 ? results[0]!.grads : tf.tidy(() => results.map((r) => r.grads).reduce((acc, g) => acc.map((x, i) => tf.add(x, g[i]!))));
    if (results.length > 1) tf.dispose(results.flatMap((r) => r.grads));
    gradNorm = optimizer.apply(summed, s.lr);
    tf.dispose(summed);
  }
  const total = (k: keyof BlockValues) => results.reduce((n, r) => n + r.values[k], 0);
  const tokens = total('tokens');
  return {
    lossRl: total('rl'),
    lossNtp: total('ntp'),
    kl: total('kl'),
    entropy: tokens > 0 ? total('entropy') / tokens : NaN,
    clipFraction: tokens > 0 ? total('clip') / tokens : 0,
    gradNorm,
    rlRows: active.length,
  };
}
