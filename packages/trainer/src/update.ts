// The dual-objective update (SPEC §4): clipped policy loss on the rollouts, optional KL, NTP on the
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
}

export function dualUpdate(model: LlamaModel, optimizer: AdamW, rl: RlRows | undefined, ntp: NtpWindows | undefined, s: UpdateSettings): UpdateResult {
  const active = rl ? rl.advantages.map((a, i) => (a !== 0 ? i : -1)).filter((i) => i >= 0) : [];
  // Normalisers over the whole rollout batch, zero-advantage rows included.
  const rlNormalizer = rl ? (s.loss.rlAggregation === 'token-mean' ? rl.completions.reduce((n, c) => n + c.length, 0) : rl.completions.length) : 0;
  const blocks: number[][] = [];
  for (let i = 0; i < active.length; i += s.microBatchRows) blocks.push(active.slice(i, i + s.microBatchRows));
  const withNtp = ntp !== undefined && ntp.windows.length > 0 && s.loss.lambda > 0;
  // The NTP term rides with the first block (or alone when no row has signal).
  if (blocks.length === 0 && withNtp) blocks.push([]);

  let lossRl = 0;
  let lossNtp = 0;
  let kl = 0;
  let entropySum = 0;
  let entropyTokens = 0;
  let clipSum = 0;
  let summed: tf.Tensor[] | undefined;
  blocks.forEach((block, b) => {
    const previous = summed;
    const stats = tf.tidy(() => {
      const scalars: Record<string, tf.Tensor> = {};
      const f = () => {
        const terms: { rl?: tf.Scalar; kl?: tf.Scalar; ntp?: tf.Scalar } = {};
        if (block.length > 0 && rl) {
          const t = rlTensors(rl, block, s.padId);
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
        if (b === 0 && withNtp && ntp) {
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
      const { grads } = tf.variableGrads(f, optimizer.params);
      const ordered = optimizer.params.map((p) => grads[p.name]!);
      summed = (previous ? previous.map((g, i) => tf.add(g, ordered[i]!)) : ordered).map((g) => tf.keep(g));
      const read = (k: string) => (scalars[k] ? scalars[k].dataSync()[0]! : 0);
      const values = { rl: read('rl'), ntp: read('ntp'), kl: read('kl'), clip: read('clip'), entropy: read('entropy'), tokens: read('tokens') };
      tf.dispose(Object.values(scalars));
      return values;
    });
    if (previous) tf.dispose(previous);
    lossRl += stats.rl;
    lossNtp += stats.ntp;
    kl += stats.kl;
    clipSum += stats.clip;
    entropySum += stats.entropy;
    entropyTokens += stats.tokens;
  });
  let gradNorm = 0;
  if (summed) {
    gradNorm = optimizer.apply(summed, s.lr);
    tf.dispose(summed);
  }
  return {
    lossRl,
    lossNtp,
    kl,
    entropy: entropyTokens > 0 ? entropySum / entropyTokens : NaN,
    clipFraction: entropyTokens > 0 ? clipSum / entropyTokens : 0,
    gradNorm,
    rlRows: active.length,
  };
}
