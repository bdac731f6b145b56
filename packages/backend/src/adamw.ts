// One AdamW step for one parameter, as a single kernel where the backend has one (wasm and cpu with
// @rmt/kernels, webgpu) and as tfjs ops elsewhere. Both evaluate the same float32 expressions in the same order.
import * as tf from '@tensorflow/tfjs';

/** The constants of one step for one parameter (the optimizer folds clipping, bias correction and decay in). */
export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Bias corrections 1 − β1^t and 1 − β2^t. */
  c1: number;
  c2: number;
  /** Decoupled weight decay as a factor on the parameter: 1 − lr·weightDecay, or 1 for none. */
  decay: number;
  /** Global-norm clipping as a factor on the gradient (1 = none). */
  gradScale: number;
}

/** The kernel's name: @rmt/kernels on wasm and cpu, WGSL on webgpu. */
export const ADAMW_KERNEL = 'RmtAdamW';
/** Σ x² of one tensor in one pass, accumulated in double (wasm and cpu with @rmt/kernels). */
export const SUM_SQUARES_KERNEL = 'RmtSumSquares';

/**
 * [p', m', v'] after one AdamW step from gradient g: g' = g·gradScale, m' = β1·m + (1−β1)·g',
 * v' = β2·v + (1−β2)·g'², p' = p·decay − lr·(m'/c1)/(√(v'/c2) + ε). New tensors; the caller assigns them.
 * `momentsInPlace` (for an optimizer that alone holds m and v): where the kernel can, m' and v' are m's and
 * v's own data, updated in place — no two arrays the size of the parameter per step; p' is always new.
 */
export function adamwStep(
  p: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  step: AdamWStep,
  { momentsInPlace = false } = {},
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (tf.getKernel(ADAMW_KERNEL, tf.getBackend()) !== undefined) {
    return tf.engine().runKernel(ADAMW_KERNEL, { p, m, v, g }, { ...step, momentsInPlace }) as unknown as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
  }
  return tf.tidy(() => {
    const { lr, beta1, beta2, epsilon, c1, c2, decay, gradScale } = step;
    const scaled = gradScale === 1 ? g : tf.mul(g, gradScale);
    const m2 = tf.add(tf.mul(m, beta1), tf.mul(scaled, 1 - beta1));
    const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(scaled), 1 - beta2));
    const update = tf.div(tf.div(m2, c1), tf.add(tf.sqrt(tf.div(v2, c2)), epsilon));
    const p2 = tf.sub(decay === 1 ? p : tf.mul(p, decay), tf.mul(update, lr));
    return [p2, m2, v2];
  });
}

/**
 * Σ x² as a float32 scalar: the global gradient norm's term of one parameter. One kernel where the backend
 * has it (no array of squares the size of the gradient: 113 MB for a 49k × 576 embedding).
 */
export function sumOfSquares(x: tf.Tensor): tf.Scalar {
  if (tf.getKernel(SUM_SQUARES_KERNEL, tf.getBackend()) !== undefined)
    return tf.engine().runKernel(SUM_SQUARES_KERNEL, { x }, {}) as tf.Scalar;
  return tf.tidy(() => tf.sum(tf.square(x)));
}
