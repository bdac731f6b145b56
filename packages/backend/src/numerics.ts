// Shared numerics: one implementation of each, used by the model, the curriculum scorer, the losses
// and the evaluation. All reduce over the last axis (the vocabulary) and work on every backend.
import * as tf from '@tensorflow/tfjs';
import { fusedOnThisBackend, gradKernel, withGradient } from './fused.js';

/** The fused target log-probability (one pass over the logits each way; on wasm and cpu with @rmt/kernels). */
export const TOKEN_LOGPROBS_KERNEL = 'RmtTokenLogProbs';
/** The fused entropy of softmax(logits) and its gradient (one pass each way; on wasm and cpu with @rmt/kernels). */
export const ENTROPY_KERNEL = 'RmtEntropy';

/**
 * log Σ exp(x) over the last axis, keeping that axis (size 1).
 * Shifted by the row max so ±1e4 logits neither overflow nor underflow; the gradient is written by
 * hand as softmax(x)·dy, so it does not route through `max` (whose gradient would cancel anyway).
 * A row of only -Inf gives -Inf; a NaN anywhere in a row makes the row NaN.
 */
export const logSumExp = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const axis = x.rank - 1;
  const rowMax = tf.max(x, axis, true);
  // A row of -Inf has max -Inf; shifting by it would give NaN, so shift by 0 there.
  const shift = tf.where(tf.isFinite(rowMax), rowMax, tf.zerosLike(rowMax));
  const value = tf.add(tf.log(tf.sum(tf.exp(tf.sub(x, shift)), axis, true)), shift);
  save([x, value]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [input, lse] = saved as [tf.Tensor, tf.Tensor];
      return tf.mul(dy, tf.exp(tf.sub(input, lse)));
    },
  };
  // tfjs types the saver as a trailing rest argument; the runtime passes it exactly like this.
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/** Stable log-softmax over the last axis: x − logΣexp(x). */
export function logSoftmax(logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(logits, logSumExp(logits)));
}

/** p·log p summed over the last axis, counting 0·log 0 as 0 (entries whose probability underflows or is exactly 0). */
function negEntropyFromLogProbs(logProbs: tf.Tensor): tf.Tensor {
  const p = tf.exp(logProbs);
  // 0·(−Inf) would be NaN; such terms are 0 by continuity. Flooring log p at −1e30 makes them 0·(−1e30) = 0
  // and, unlike a mask from tf.equal (which has no gradient in tfjs), keeps the entropy differentiable.
  // Any log p below −104 already has p = 0 in float32, so the floor changes no other term. NaN stays NaN.
  return tf.sum(tf.mul(p, tf.maximum(logProbs, -1e30)), -1);
}

/** Entropy of softmax(logits) over the full vocabulary, in nats; shape = logits.shape without the last axis. */
export function entropy(logits: tf.Tensor): tf.Tensor {
  if (fusedOnThisBackend(ENTROPY_KERNEL) && logits.dtype === 'float32' && logits.rank > 0) {
    // The op version is ~10 kernels over [tokens × vocabulary], each allocating an array of that size: a
    // twelfth of an RMT update at the bench shape, for the entropy statistic.
    const op = withGradient<[tf.Tensor]>((input, save) => {
      const [h, lse] = tf.engine().runKernel(ENTROPY_KERNEL, { logits: input }, {}) as unknown as [
        tf.Tensor,
        tf.Tensor,
      ];
      save([input, h!, lse!]);
      return {
        value: h!,
        gradFunc: (dy, [x, savedH, savedLse]) => [
          tf
            .engine()
            .runKernel(gradKernel(ENTROPY_KERNEL), { logits: x!, h: savedH!, lse: savedLse!, dy }, {}) as tf.Tensor,
        ],
      };
    });
    return op(logits);
  }
  return tf.tidy(() => tf.neg(negEntropyFromLogProbs(logSoftmax(logits))));
}

/**
 * Top-k entropy (RPT, METHOD.md §3): entropy of the softmax over the k largest logits only, in nats.
 * k larger than the vocabulary uses the whole vocabulary.
 */
export function topKEntropy(logits: tf.Tensor, k = 16): tf.Tensor {
  if (!Number.isInteger(k) || k < 1) throw new Error(`topKEntropy: k must be a positive integer, got ${k}`);
  return tf.tidy(() => {
    const vocab = logits.shape[logits.rank - 1] ?? 0;
    const { values } = tf.topk(logits, Math.min(k, vocab), false);
    return entropy(values);
  });
}

/**
 * log softmax(logits)[target] for each position: logits [..., V], targets [...] int32 → [...].
 * Gathers the target logit and subtracts logΣexp, without materialising the full log-softmax.
 */
export function tokenLogProbs(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  const vocab = logits.shape[logits.rank - 1]!;
  if (targets.rank !== logits.rank - 1 || targets.shape.some((d, i) => d !== logits.shape[i])) {
    throw new Error(
      `tokenLogProbs: targets shape [${targets.shape}] must equal logits shape [${logits.shape}] without the last axis`,
    );
  }
  if (fusedOnThisBackend(TOKEN_LOGPROBS_KERNEL)) {
    // The head's logits are the largest activation of a step: the op version below passes over them ~8
    // times, allocating as many arrays of their size; the kernels read them once forward (keeping each
    // row's log-sum-exp) and write the gradient in one pass.
    const ids = targets.dtype === 'int32' ? targets : tf.cast(targets, 'int32');
    const op = withGradient<[tf.Tensor]>((input, save) => {
      const [lp, lse] = tf
        .engine()
        .runKernel(TOKEN_LOGPROBS_KERNEL, { logits: input, targets: ids }, {}) as unknown as [tf.Tensor, tf.Tensor];
      save([input, lse!, ids]); // ids too: a cast made here is gone by the time the gradient runs
      return {
        value: lp!,
        gradFunc: (dy, [x, rowLse, savedIds]) => [
          tf
            .engine()
            .runKernel(
              gradKernel(TOKEN_LOGPROBS_KERNEL),
              { logits: x!, targets: savedIds!, lse: rowLse!, dy },
              {},
            ) as tf.Tensor,
        ],
      };
    });
    return op(logits);
  }
  return tf.tidy(() => {
    const rows = targets.size;
    const flatLogits = tf.reshape(logits, [rows * vocab]);
    const offsets = tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32'));
    const flatIndex = tf.add(offsets, tf.reshape(tf.cast(targets, 'int32'), [rows]));
    const picked = tf.gather(flatLogits, flatIndex);
    const lse = tf.reshape(logSumExp(tf.reshape(logits, [rows, vocab])), [rows]);
    return tf.reshape(tf.sub(picked, lse), targets.shape);
  });
}

/** Σ x·mask. Masked-out entries are excluded even when they are NaN or ±Inf. */
export function maskedSum(x: tf.Tensor, mask: tf.Tensor, axis?: number | number[]): tf.Tensor {
  return tf.tidy(() => {
    const keep = tf.greater(tf.cast(mask, 'float32'), 0);
    const weighted = tf.where(keep, tf.mul(x, tf.cast(mask, 'float32')), tf.zerosLike(x));
    return tf.sum(weighted, axis);
  });
}

/**
 * Σ x·mask / Σ mask. Where the mask is all zero the mean is 0 (an empty set of tokens contributes
 * nothing to a loss), not NaN.
 */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor, axis?: number | number[]): tf.Tensor {
  return tf.tidy(() => {
    const total = maskedSum(x, mask, axis);
    const count = tf.sum(tf.cast(mask, 'float32'), axis);
    const safeCount = tf.where(tf.greater(count, 0), count, tf.onesLike(count));
    return tf.div(total, safeCount);
  });
}

/**
 * A variable holding `initial`'s values, with `initial` disposed. `tf.variable` shares the initial tensor's
 * data and leaves that tensor alive; without this, every model load or init leaks one tensor per weight.
 */
export function variableFrom(initial: tf.Tensor, trainable = true): tf.Variable {
  const variable = tf.variable(initial, trainable);
  initial.dispose();
  return variable;
}
