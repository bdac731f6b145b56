// The dual objective of RMT (METHOD.md §4): a token-level clipped policy loss on the RL rollouts, an optional KL
// to a reference policy, and next-token cross-entropy on every non-RL position: L = L_RL + λ·L_NTP.
import { maskedSum, tf, tokenLogProbs } from '@rmt/backend';

/**
 * How per-token losses become one number.
 * - `token-mean`: Σ over all tokens / number of tokens (DAPO; long completions weigh more).
 * - `sequence-mean`: mean over sequences of each sequence's token mean (the original GRPO).
 */
export type LossAggregation = 'token-mean' | 'sequence-mean';

/**
 * Aggregate per-token values [B, T] under a mask, divided by `normalizer` (default: this batch's own
 * count). Passing the full batch's count to every micro-batch makes their losses — and gradients — sum
 * exactly to the full batch's.
 */
export function aggregate(
  perToken: tf.Tensor2D,
  mask: tf.Tensor2D,
  mode: LossAggregation,
  normalizer?: number,
): tf.Scalar {
  return tf.tidy(() => {
    const m = tf.cast(mask, 'float32');
    let total: tf.Tensor;
    if (mode === 'token-mean') {
      total = maskedSum(perToken, m);
      if (normalizer === undefined) {
        // The batch's own token count stays on the device: no read back (a GPU backend cannot read
        // synchronously in Node). Same values as dividing by the count as a number: the sum of a 0/1 mask is
        // exact in float32, and `where` passes the chosen branch (and its gradient) through unchanged.
        const count = tf.sum(m);
        return tf.where(tf.greater(count, 0), tf.div(total, tf.maximum(count, 1)), tf.mul(total, 0)) as tf.Scalar;
      }
    } else {
      const lengths = tf.sum(m, 1);
      const perSequence = tf.div(maskedSum(perToken, m, 1), tf.maximum(lengths, 1));
      total = tf.sum(perSequence);
    }
    const denominator = normalizer ?? perToken.shape[0];
    return (denominator > 0 ? tf.div(total, denominator) : tf.mul(total, 0)) as tf.Scalar;
  });
}

export interface PolicyLossInput {
  /** log π_θ of the rollout tokens [B, T] (differentiable). */
  logProbs: tf.Tensor2D;
  /** log π_old of the same tokens [B, T] (from the rollout; constant). */
  oldLogProbs: tf.Tensor2D;
  /** One advantage per rollout [B]. */
  advantages: tf.Tensor1D;
  /** 1 on completion tokens that are trained, 0 on prompt and padding [B, T]. */
  mask: tf.Tensor2D;
  /** Clip range ε (METHOD.md §4: 0.2). */
  epsilon: number;
  aggregation: LossAggregation;
  normalizer?: number;
  /**
   * Constant per-token weights of the surrogate [B, T] (truncated importance sampling of rollouts from
   * another engine, min(π_old/π_engine, C); METHOD.md §7). Absent: 1.
   */
  weights?: tf.Tensor2D;
}

/**
 * Token-level clipped surrogate: −w·min(ρ·A, clip(ρ, 1−ε, 1+ε)·A), ρ = exp(log π_θ − log π_old), w the
 * optional importance weights (1 without them). Returns the loss and the fraction of trained tokens where
 * clipping was active.
 */
export function clippedPolicyLoss(input: PolicyLossInput): { loss: tf.Scalar; clipFraction: tf.Scalar } {
  const { logProbs, oldLogProbs, advantages, mask, epsilon, aggregation, normalizer, weights } = input;
  return tf.tidy(() => {
    const ratio = tf.exp(tf.sub(logProbs, oldLogProbs));
    const adv = tf.expandDims(advantages, 1);
    const unclipped = tf.mul(ratio, adv);
    const clipped = tf.mul(tf.clipByValue(ratio, 1 - epsilon, 1 + epsilon), adv);
    const surrogate = tf.neg(tf.minimum(unclipped, clipped)) as tf.Tensor2D;
    const perToken = weights ? (tf.mul(surrogate, weights) as tf.Tensor2D) : surrogate;
    const clippedActive = tf.cast(tf.greater(unclipped, clipped), 'float32');
    const m = tf.cast(mask, 'float32');
    const clipFraction = tf.div(tf.sum(tf.mul(clippedActive, m)), tf.maximum(tf.sum(m), 1)) as tf.Scalar;
    return { loss: aggregate(perToken, mask, aggregation, normalizer), clipFraction };
  });
}

export type KlEstimator = 'k1' | 'k3';

/**
 * Per-token KL(π_θ ‖ π_ref) estimates from samples of π_θ (Schulman's estimators):
 * k1 = log π_θ − log π_ref; k3 = exp(log π_ref − log π_θ) − (log π_ref − log π_θ) − 1 (≥ 0, low variance).
 */
export function klPerToken(logProbs: tf.Tensor2D, refLogProbs: tf.Tensor2D, estimator: KlEstimator): tf.Tensor2D {
  return tf.tidy(() => {
    const diff = tf.sub(refLogProbs, logProbs);
    return (estimator === 'k1' ? tf.neg(diff) : tf.sub(tf.sub(tf.exp(diff), diff), 1)) as tf.Tensor2D;
  });
}

export interface NtpLossInput {
  /** Logits of the training windows [B, T, V] (differentiable). */
  logits: tf.Tensor3D;
  /** Next tokens [B, T] int32. */
  targets: tf.Tensor2D;
  /** m_t = 1[t ∉ C]: 1 on every position except the RL sites and padding [B, T] (METHOD.md §4). */
  mask: tf.Tensor2D;
  aggregation: LossAggregation;
  normalizer?: number;
}

/** Masked next-token cross-entropy, nats. */
export function ntpLoss(input: NtpLossInput): tf.Scalar {
  return tf.tidy(() =>
    aggregate(
      tf.neg(tokenLogProbs(input.logits, input.targets)) as tf.Tensor2D,
      input.mask,
      input.aggregation,
      input.normalizer,
    ),
  );
}

/** L = L_RL + β·KL + λ·L_NTP (METHOD.md §4). Terms that are absent or weighted 0 are skipped entirely. */
export function dualLoss(terms: {
  rl?: tf.Scalar;
  kl?: tf.Scalar;
  ntp?: tf.Scalar;
  beta: number;
  lambda: number;
}): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Scalar = tf.scalar(0);
    if (terms.rl) total = tf.add(total, terms.rl);
    if (terms.kl && terms.beta !== 0) total = tf.add(total, tf.mul(terms.kl, terms.beta));
    if (terms.ntp && terms.lambda !== 0) total = tf.add(total, tf.mul(terms.ntp, terms.lambda));
    return total;
  });
}
