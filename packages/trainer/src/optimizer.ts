// AdamW (decoupled weight decay, Loshchilov & Hutter) with global gradient-norm clipping (METHOD.md §4).
// Written here because tfjs's Adam has no decoupled decay and does not expose its moments for exact
// checkpoint/resume; the update is the textbook one, in float32 (`adamwStep`: one fused kernel on wasm with
// @rmt/kernels, tfjs ops elsewhere).
import { adamwStep, readScalar, sumOfSquares, tf, variableFrom } from '@rmt/backend';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Clip the global gradient L2 norm to this (0 = no clipping). */
  maxGradNorm: number;
}

export interface AdamWState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

/** 1-D parameters (norm gains) are not decayed: decay would pull them toward 0, not toward "no change". */
function decays(variable: tf.Variable): boolean {
  return variable.rank >= 2;
}

export class AdamW {
  private m: tf.Variable[];
  private v: tf.Variable[];
  private t = 0;

  constructor(
    readonly params: tf.Variable[],
    readonly options: AdamWOptions,
  ) {
    this.m = params.map((p) => variableFrom(tf.zerosLike(p), false));
    this.v = params.map((p) => variableFrom(tf.zerosLike(p), false));
  }

  get step(): number {
    return this.t;
  }

  /**
   * Apply one update from gradients (same order as params). Returns the gradient norm before clipping.
   * A non-finite norm skips the update and returns it, so the caller can stop with a message. Asynchronous:
   * the norm is read back with `await` (a GPU backend cannot read synchronously in Node).
   */
  async apply(grads: tf.Tensor[], lr: number): Promise<number> {
    const { beta1, beta2, epsilon, weightDecay, maxGradNorm } = this.options;
    // A left fold of adds, not tf.addN: tfjs-backend-webgpu's AddN binds every input in one shader and fails
    // validation beyond 7 (WebGPU's default 8 storage buffers per stage), leaving the norm unwritten.
    const norm = Math.sqrt(
      await readScalar(tf.tidy(() => grads.map((g) => sumOfSquares(g)).reduce((a, b) => tf.add(a, b)))),
    );
    if (!Number.isFinite(norm)) return norm;
    this.t += 1;
    const scale = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / norm : 1;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const decay = decays(p) && weightDecay > 0 ? 1 - lr * weightDecay : 1;
        // The moments are this optimizer's alone (state() copies them out), so they may be updated in place.
        const [p2, m2, v2] = adamwStep(
          p,
          this.m[i]!,
          this.v[i]!,
          grads[i]!,
          { lr, beta1, beta2, epsilon, c1, c2, decay, gradScale: scale },
          { momentsInPlace: true },
        );
        p.assign(p2);
        this.m[i]!.assign(m2);
        this.v[i]!.assign(v2);
      });
    });
    return norm;
  }

  /** The moments, copied (read back with `await`). */
  async state(): Promise<AdamWState> {
    const values = (await Promise.all([...this.m, ...this.v].map((x) => x.data()))) as Float32Array[];
    const copies = values.map((x) => Float32Array.from(x));
    return { step: this.t, m: copies.slice(0, this.m.length), v: copies.slice(this.m.length) };
  }

  restore(state: AdamWState): void {
    if (state.m.length !== this.m.length || state.v.length !== this.v.length) {
      throw new Error(`optimizer state has ${state.m.length} moments for ${this.m.length} parameters`);
    }
    this.t = state.step;
    tf.tidy(() => {
      this.m.forEach((x, i) => x.assign(tf.tensor(state.m[i]!, x.shape)));
      this.v.forEach((x, i) => x.assign(tf.tensor(state.v[i]!, x.shape)));
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

/** Linear warm-up, then cosine (or linear, or constant) decay to `minRatio`·peak. */
export function learningRateAt(
  step: number,
  total: number,
  peak: number,
  warmup: number,
  decay: 'cosine' | 'linear' | 'constant',
  minRatio: number,
): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  if (decay === 'constant' || total <= warmup) return peak;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  const shape = decay === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return peak * (minRatio + (1 - minRatio) * shape);
}
