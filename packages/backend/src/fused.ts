// The transformer's small blocks — RMSNorm, RoPE, SwiGLU, attention's softmax — as single kernels where the backend has them
// (wasm with @rmt/kernels) and as tfjs ops elsewhere. A decode step of a small model is hundreds of kernel
// launches whose cost is the launch, not the arithmetic: these three were ~40% of them. The op versions are
// the reference and exactly what every other backend runs; a backend that fuses a block also registers its
// gradient kernel (`<name>Grad`, derived by hand; both tested against float64 on every backend).
import * as tf from '@tensorflow/tfjs';

export const RMSNORM_KERNEL = 'RmtRMSNorm';
export const ROPE_KERNEL = 'RmtRoPE';
export const SWIGLU_KERNEL = 'RmtSwiGLU';
export const SOFTMAX_KERNEL = 'RmtSoftmax';
export const ATTENTION_KERNEL = 'RmtAttention';
export const gradKernel = (kernel: string) => `${kernel}Grad`;

export const fusedOnThisBackend = (kernel: string) => tf.getKernel(kernel, tf.getBackend()) !== undefined;

type Gradient = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
/** tf.customGrad with typed arguments (its own typing is a rest array of tensors and a save function). */
export function withGradient<A extends tf.Tensor[]>(
  f: (...args: [...A, tf.GradSaveFunc]) => { value: tf.Tensor; gradFunc: Gradient },
) {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...args: A) => tf.Tensor;
}

/** x·(1/√(mean(x², last axis) + eps))·weight, normalising over the last axis (RMSNorm). */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  if (!fusedOnThisBackend(RMSNORM_KERNEL))
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight);
  const op = withGradient<[tf.Tensor, tf.Tensor]>((input, w, save) => {
    save([input, w]);
    return {
      value: tf.engine().runKernel(RMSNORM_KERNEL, { x: input, w }, { eps }) as tf.Tensor,
      gradFunc: (dy, [xs, ws]) =>
        tf.engine().runKernel(gradKernel(RMSNORM_KERNEL), { x: xs!, w: ws!, dy }, { eps }) as unknown as tf.Tensor[],
    };
  });
  return op(x, weight);
}

/**
 * Rotary position embedding (rotate-half): x [..., heads, hd], cos and sin [..., 1, hd] broadcast over the
 * heads; x·cos + concat(−x₂, x₁)·sin. `rotateHalf` is the [hd, hd] matrix R with x·R = concat(−x₂, x₁)
 * (what the op version multiplies by).
 */
export function rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor, rotateHalf: tf.Tensor2D): tf.Tensor {
  if (!fusedOnThisBackend(ROPE_KERNEL)) {
    const rotated = tf.reshape(tf.matMul(tf.reshape(x, [-1, x.shape[x.rank - 1]!]), rotateHalf), x.shape);
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
  }
  const op = withGradient<[tf.Tensor]>((input, save) => {
    save([]);
    return {
      value: tf.engine().runKernel(ROPE_KERNEL, { x: input, cos, sin }, {}) as tf.Tensor,
      gradFunc: (dy) => [tf.engine().runKernel(gradKernel(ROPE_KERNEL), { dy, cos, sin }, {}) as tf.Tensor],
    };
  });
  return op(x);
}

/** SwiGLU on a fused product: gu [n, 2h] = gate | up → [n, h] = gate·σ(gate)·up. */
export function swiglu(gu: tf.Tensor2D): tf.Tensor2D {
  if (!fusedOnThisBackend(SWIGLU_KERNEL)) {
    const [gate, up] = tf.split(gu, 2, 1);
    return tf.mul(tf.mul(gate!, tf.sigmoid(gate!)), up!);
  }
  const op = withGradient<[tf.Tensor]>((input, save) => {
    save([input]);
    return {
      value: tf.engine().runKernel(SWIGLU_KERNEL, { gu: input }, {}) as tf.Tensor,
      gradFunc: (dy, [saved]) => [
        tf.engine().runKernel(gradKernel(SWIGLU_KERNEL), { gu: saved!, dy }, {}) as tf.Tensor,
      ],
    };
  });
  return op(gu) as tf.Tensor2D;
}

/**
 * Softmax over the last axis (attention's scores). Fused, its gradient is one pass from the output,
 * y·(dy − Σ dy·y), where tfjs's is four kernels and three arrays the size of the scores.
 */
export function softmax(x: tf.Tensor): tf.Tensor {
  if (!fusedOnThisBackend(SOFTMAX_KERNEL)) return tf.softmax(x);
  const op = withGradient<[tf.Tensor]>((input, save) => {
    const y = tf.engine().runKernel(SOFTMAX_KERNEL, { x: input }, {}) as tf.Tensor;
    save([y]);
    return {
      value: y,
      gradFunc: (dy, [ys]) => [tf.engine().runKernel(gradKernel(SOFTMAX_KERNEL), { y: ys!, dy }, {}) as tf.Tensor],
    };
  });
  return op(x);
}

/**
 * softmax(scale·q·Kᵀ + bias)·V over the last two axes: q [B, G, R, hd], k and v [B, G, S, hd], bias
 * [B, 1, R, S] (shared by the G KV heads) → [B, G, R, hd]. With `inference` (no gradient will be taken:
 * decoding and prefill over the KV cache) one kernel where the backend has it, where the op version is five —
 * two of them batches of one-row products, each costing more to launch than to compute.
 */
export function attention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor4D,
  scale: number,
  { inference = false } = {},
): tf.Tensor4D {
  if (inference && fusedOnThisBackend(ATTENTION_KERNEL))
    return tf.engine().runKernel(ATTENTION_KERNEL, { q, k, v, bias }, { scale }) as tf.Tensor4D;
  return tf.tidy(() => tf.matMul(softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), scale), bias)), v));
}
