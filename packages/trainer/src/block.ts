// One block of the dual-objective update (METHOD.md §4): the gradients of the clipped policy loss (and
// KL) over some rollout rows, or of the NTP term over the training windows. The same function runs on the
// main thread and in the parallel workers, so a block's gradients are the same bits wherever it ran.
import { entropy, maskedMean, readAllValues, tf, tokenLogProbs } from '@rmt/backend';
import { aggregate, clippedPolicyLoss, dualLoss, klPerToken, ntpLoss, type DualLossConfig } from '@rmt/dual-loss';
import { leftPad, type LlamaModel } from '@rmt/model';

export interface RlRows {
  prompts: number[][];
  completions: number[][];
  oldLogProbs: number[][];
  advantages: number[];
  /** Per completion token, a constant weight of its policy loss (truncated importance sampling, METHOD.md §7); absent = 1. */
  weights?: number[][];
}

export interface NtpWindows {
  /** Training windows (equal length). */
  windows: number[][];
  /** Per window, target positions excluded from NTP (this step's RL sites: m_t = 1[t ∉ C]). */
  excluded: number[][];
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
  const weights: number[][] = [];
  idx.forEach((i, r) => {
    const completion = rows.completions[i]!;
    const full = [
      ...new Array<number>(padLeft[r]!).fill(padId),
      ...prompts[r]!,
      ...completion,
      ...new Array<number>(C - completion.length).fill(padId),
    ];
    ids.push(full.slice(0, -1));
    targets.push(full.slice(1));
    // Completion token j is predicted at input position P − 1 + j.
    const m = new Array<number>(P + C - 1).fill(0);
    const o = new Array<number>(P + C - 1).fill(0);
    const w = new Array<number>(P + C - 1).fill(1);
    completion.forEach((_, j) => {
      m[P - 1 + j] = 1;
      o[P - 1 + j] = rows.oldLogProbs[i]![j]!;
      if (rows.weights) w[P - 1 + j] = rows.weights[i]![j]!;
    });
    mask.push(m);
    old.push(o);
    weights.push(w);
  });
  return {
    ids,
    targets,
    mask,
    old,
    padLeft,
    advantages: idx.map((i) => rows.advantages[i]!),
    weights: rows.weights ? weights : undefined,
  };
}

/** What a block needs of the update's settings. */
export interface BlockSettings {
  loss: DualLossConfig;
  padId: number;
  /** Frozen reference policy for the KL term (only used when loss.beta > 0; never sent to a worker). */
  reference?: LlamaModel;
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
 * same bits wherever each block ran. Asynchronous: the statistics are read back with `await` (a GPU backend
 * cannot read synchronously in Node).
 */
export async function blockGradients(
  model: LlamaModel,
  params: tf.Variable[],
  rl: RlRows | undefined,
  ntp: NtpWindows | undefined,
  block: UpdateBlock,
  s: BlockSettings,
  rlNormalizer: number,
): Promise<{ grads: tf.Tensor[]; values: BlockValues }> {
  const scalars: Record<string, tf.Tensor> = {};
  const grads = tf.tidy(() => {
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
          weights: t.weights && tf.tensor2d(t.weights),
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
          terms.kl = aggregate(
            klPerToken(logProbs, refLogProbs, s.loss.klEstimator),
            mask,
            s.loss.rlAggregation,
            rlNormalizer,
          );
        }
      }
      if (block.ntp && ntp) {
        const ids = tf.tensor2d(
          ntp.windows.map((w) => w.slice(0, -1)),
          undefined,
          'int32',
        );
        const targets = tf.tensor2d(
          ntp.windows.map((w) => w.slice(1)),
          undefined,
          'int32',
        );
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
    return params.map((p) => grads[p.name]!);
  });
  const keys = ['rl', 'ntp', 'kl', 'clip', 'entropy', 'tokens'] as const;
  const present = keys.filter((k) => scalars[k] !== undefined);
  const read = await readAllValues(present.map((k) => scalars[k]!));
  const value = (k: (typeof keys)[number]) => (present.includes(k) ? read[present.indexOf(k)]![0]! : 0);
  const values = {
    rl: value('rl'),
    ntp: value('ntp'),
    kl: value('kl'),
    clip: value('clip'),
    entropy: value('entropy'),
    tokens: value('tokens'),
  };
  return { grads, values };
}
