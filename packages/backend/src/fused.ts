// The transformer's small blocks — RMSNorm, RoPE, SwiGLU — as single kernels where the backend has them
// (wasm with @rmt/kernels) and as tfjs ops elsewhere. A decode step of a small model is hundreds of kernel
// launches whose cost is the launch, not the arithmetic: these three are ~40% of them. The op versions are
// the reference and exactly what every other backend runs; the fused ones carry their gradients as tfjs
// ops (below), derived by hand and tested against float64 and against autodiff of the op versions.
import * as tf from '@tensorflow/tfjs';

export const RMSNORM_KERNEL = 'RmtRMSNorm';
export const ROPE_KERNEL = 'RmtRoPE';
export const SWIGLU_KERNEL = 'RmtSwiGLU';

const fusedOnThisBackend = (kernel: string) => tf.getKernel(kernel, tf.getBackend()) !== undefined;

type Gradient = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
/** tf.customGrad with typed arguments (its own typing is a rest array of tensors and a save function). */
function withGradient<A extends tf.Tensor[]>(f: (...args: [...A, tf.GradSaveFunc]) => { value: tf.Tensor; gradFunc: Gradient }) {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...args: A) => tf.Tensor;
}

/** x·(1/√(mean(x², last axis) + eps))·weight, normalising over the last axis (RMSNorm). */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  if (!fusedOnThisBackend(RMSNORM_KERNEL)) return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight);
  const op = withGradient<[tf.Tensor, tf.Tensor]>((input, w, save) => {
    save([input, w]);
    return {
      value: tf.engine().runKernel(RMSNORM_KERNEL, { x: input, w }, { eps }) as tf.Tensor,
      // r = (mean(x²) + eps)^−½: dx = r·(dy·w) − x·r³·mean(dy·w·x); dw = Σ over rows of dy·x·r.
      gradFunc: (g, [xs, ws]) => {
        const r = tf.rsqrt(tf.add(tf.mean(tf.square(xs!), -1, true), eps));
        const gw = tf.mul(g, ws!);
        const dx = tf.sub(tf.mul(gw, r), tf.mul(tf.mul(xs!, tf.pow(r, 3)), tf.mean(tf.mul(gw, xs!), -1, true)));
        const dw = tf.sum(tf.reshape(tf.mul(tf.mul(g, xs!), r), [-1, ws!.size]), 0);
        return [dx, tf.reshape(dw, ws!.shape)];
      },
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
  const hd = x.shape[x.rank - 1]!;
  const rotate = (t: tf.Tensor, transpose: boolean) => tf.reshape(tf.matMul(tf.reshape(t, [-1, hd]), rotateHalf, false, transpose), t.shape);
  if (!fusedOnThisBackend(ROPE_KERNEL)) return tf.add(tf.mul(x, cos), tf.mul(rotate(x, false), sin));
  const op = withGradient<[tf.Tensor]>((input, save) => {
    save([]);
    return {
      value: tf.engine().runKernel(ROPE_KERNEL, { x: input, cos, sin }, {}) as tf.Tensor,
      // Linear in x: dx = dy·cos + (dy·sin)·Rᵀ.
      gradFunc: (dy) => [tf.add(tf.mul(dy, cos), rotate(tf.mul(dy, sin), true))],
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
      // s = σ(g): d gate = dy·up·s·(1 + g·(1 − s)); d up = dy·g·s.
      gradFunc: (dy, [saved]) => {
        const [g, u] = tf.split(saved!, 2, 1);
        const s = tf.sigmoid(g!);
        const dGate = tf.mul(tf.mul(dy, u!), tf.mul(s, tf.add(1, tf.mul(g!, tf.sub(1, s)))));
        const dUp = tf.mul(dy, tf.mul(g!, s));
        return [tf.concat([dGate, dUp], 1)];
      },
    };
  });
  return op(gu) as tf.Tensor2D;
}
