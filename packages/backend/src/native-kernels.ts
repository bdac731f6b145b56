// The wasm and cpu backends' kernels on @rmt/kernels (C compiled at install): on wasm in place on the heap,
// on cpu on each tensor's own Float32Array (outside any heap, so a model is not bounded by wasm's 4 GiB;
// the operands of one call then live in separate arrays, which the kernels take as they take offsets). Every
// float32 BatchMatMul (tfjs-wasm runs transposed and batched products in a scalar loop, the rest through
// XNNPACK's 128-bit SIMD on one thread: ~15 GFLOP/s against ~230 here with AVX-512); Add/Sub/Multiply/
// RealDiv (tfjs-wasm finds a broadcast operand's element with a division per dimension: RoPE's and RMSNorm's
// products took ~12 µs for 2,048 elements); Exp (a scalar libm call per element in wasm, 5.5 ns; here
// vectorised, 0.5 ns, within 1 ulp); the fused AdamW step and RMSNorm, RoPE, SwiGLU with their
// gradients (adamw.ts, fused.ts), each one kernel where tfjs ops take 4–16; and softmax, the target
// log-probabilities and Σ x² (one or two passes where tfjs ops take 5–8 over the head's [tokens × vocab]).
import * as tf from '@tensorflow/tfjs';
import { loadKernels, type Kernels, type Memory, type Operand } from '@rmt/kernels';
import { ADAMW_KERNEL, SUM_SQUARES_KERNEL, type AdamWStep } from './adamw.js';
import { cpuBufferPool } from './cpu-pool.js';
import { ATTENTION_KERNEL, gradKernel, RMSNORM_KERNEL, ROPE_KERNEL, SOFTMAX_KERNEL, SWIGLU_KERNEL } from './fused.js';
import { ENTROPY_KERNEL, TOKEN_LOGPROBS_KERNEL } from './numerics.js';
import {
  heapOffset,
  replaceKernel,
  sharedTranspose,
  splitBySlices,
  type KernelArgs,
  type NativeHostName,
  type WasmBackendLike,
} from './wasm-backend.js';

type At = (t: tf.TensorInfo) => Operand;
type Call = (memory: Memory, at: At, outputs: Operand[], intAt: Host['intAt']) => void;

/** What the cpu backend (tfjs-backend-cpu) exposes of a tensor: its values, one typed array per tensor. */
interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** Where a kernel call's tensors live: the wasm heap (offsets into one buffer) or the cpu backend's arrays. */
interface Host {
  alloc(shape: number[], dtype?: 'float32' | 'int32'): tf.TensorInfo;
  /** Read after allocating: a growing wasm heap replaces its buffer. */
  memory(): Memory;
  at: At;
  /** An int32 tensor's operand (token ids). */
  intAt(t: tf.TensorInfo): number | Int32Array;
  /** Whether a float32 tensor's data is where the kernels can take it. */
  holds(t: tf.TensorInfo): boolean;
}

function hostOf(backend: unknown, name: NativeHostName): Host {
  if (name === 'wasm') {
    const wasm = backend as WasmBackendLike;
    return {
      alloc: (shape, dtype = 'float32') => wasm.makeOutput(shape, dtype),
      memory: () => wasm.wasm.HEAPU8.buffer,
      at: (t) => heapOffset(wasm, t),
      intAt: (t) => heapOffset(wasm, t),
      holds: () => true,
    };
  }
  const cpu = backend as CpuBackendLike;
  const values = (t: tf.TensorInfo) => cpu.data.get(t.dataId).values;
  const pool = cpuBufferPool(cpu);
  return {
    alloc: (shape, dtype = 'float32') => {
      const size = tf.util.sizeFromShape(shape);
      return cpu.makeTensorInfo(shape, dtype, dtype === 'int32' ? new Int32Array(size) : pool.take(size));
    },
    memory: () => null,
    at: (t) => {
      const v = values(t);
      if (!(v instanceof Float32Array))
        throw new Error(`@rmt/kernels on cpu: a ${t.dtype} tensor of shape [${t.shape}] holds no Float32Array`);
      return v;
    },
    intAt: (t) => {
      const v = values(t);
      if (!(v instanceof Int32Array))
        throw new Error(`@rmt/kernels on cpu: a ${t.dtype} tensor of shape [${t.shape}] holds no Int32Array`);
      return v;
    },
    holds: (t) => values(t) instanceof Float32Array,
  };
}

/**
 * Allocate float32 outputs of `shapes`, then run `call` with the memory, a tensor's operand and the
 * outputs' operands.
 */
function compute(args: KernelArgs, name: NativeHostName, shapes: number[][], call: Call): tf.TensorInfo[] {
  const host = hostOf(args.backend, name);
  const outputs = shapes.map((shape) => host.alloc(shape));
  call(host.memory(), host.at, outputs.map(host.at), host.intAt);
  return outputs;
}

const computeOne = (
  args: KernelArgs,
  name: NativeHostName,
  shape: number[],
  call: (memory: Memory, at: At, out: Operand, intAt: Host['intAt']) => void,
) => compute(args, name, [shape], (memory, at, [out], intAt) => call(memory, at, out!, intAt))[0]!;

/** Whether every input is float32 with its data where the kernels can take it. */
const nativeInputs = (args: KernelArgs, name: NativeHostName, tensors: tf.TensorInfo[]) => {
  const host = hostOf(args.backend, name);
  return tensors.every((t) => t.dtype === 'float32' && host.holds(t));
};

/**
 * Every float32 product on the native kernels, in place on the wasm heap. Batch dimensions are flattened, as
 * the wasm kernel does; an operand with batch 1 is shared by all products. Other broadcasts go to `fallback`.
 */
function nativeBatchMatMul(kernels: Kernels, name: NativeHostName, fallback: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batch = tf.util.sizeFromShape(outer);
    const aBatch = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const bBatch = tf.util.sizeFromShape(b.shape.slice(0, -2));
    if (!nativeInputs(args, name, [a, b]) || (aBatch !== batch && aBatch !== 1) || (bBatch !== batch && bBatch !== 1)) {
      return fallback(args as never);
    }
    const [ar, ac] = a.shape.slice(-2) as [number, number];
    const [br, bc] = b.shape.slice(-2) as [number, number];
    const [m, k] = transposeA ? [ac, ar] : [ar, ac];
    const [k2, n] = transposeB ? [bc, br] : [br, bc];
    if (k !== k2)
      throw new Error(
        `matMul: inner dimensions ${k} and ${k2} of shapes [${a.shape}] and [${b.shape}] differ (transposeA=${transposeA}, transposeB=${transposeB})`,
      );
    return computeOne(args, name, [...outer, m, n], (memory, at, out) =>
      kernels.matmul(memory, at(a), at(b), out, batch, aBatch, bBatch, m, n, k, transposeA, transposeB),
    );
  }) as tf.KernelFunc;
}

/** e^x for float32 on the native kernels, in place on the wasm heap. */
function nativeExp(kernels: Kernels, name: NativeHostName, original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (!nativeInputs(args, name, [x])) return original(args as never);
    return computeOne(args, name, x.shape, (memory, at, out) =>
      kernels.exp(memory, at(x), out, tf.util.sizeFromShape(x.shape)),
    );
  }) as tf.KernelFunc;
}

/** One AdamW step (see adamw.ts) on the native kernels: three new heap tensors from one pass. */
function nativeAdamW(kernels: Kernels, name: NativeHostName): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { p, m, v, g } = args.inputs as Record<'p' | 'm' | 'v' | 'g', tf.TensorInfo>;
    const s = args.attrs as unknown as AdamWStep;
    const constants = Float32Array.of(
      s.lr,
      s.beta1,
      1 - s.beta1,
      s.beta2,
      1 - s.beta2,
      s.epsilon,
      s.c1,
      s.c2,
      s.decay,
      s.gradScale,
    );
    // Moments in place when asked and nothing else shares their data (refcount 1): two arrays the size of
    // the parameter neither allocated nor faulted in per step (1 GB at 135M parameters).
    const backend = args.backend as { refCount(dataId: object): number; incRef(dataId: object): void };
    if (
      (args.attrs as { momentsInPlace?: boolean }).momentsInPlace &&
      backend.refCount(m.dataId) === 1 &&
      backend.refCount(v.dataId) === 1
    ) {
      const [pOut] = compute(args, name, [p.shape], (memory, at, [out]) =>
        kernels.adamw(
          memory,
          [at(p), at(m), at(v), at(g), out!, at(m), at(v)],
          tf.util.sizeFromShape(p.shape),
          constants,
        ),
      );
      backend.incRef(m.dataId);
      backend.incRef(v.dataId);
      return [pOut!, { ...m }, { ...v }];
    }
    return compute(args, name, [p.shape, p.shape, p.shape], (memory, at, outputs) =>
      kernels.adamw(memory, [...[p, m, v, g].map(at), ...outputs], tf.util.sizeFromShape(p.shape), constants),
    );
  }) as unknown as tf.KernelFunc;
}

/** Row-major element strides of `shape`, the last dimension's (1) included. */
const stridesOf = (shape: readonly number[]) => [...tf.util.computeStrides(shape as number[]), 1];

/**
 * The dims operand of `kernels.copy`: size-1 dimensions dropped, and neighbours merged where both sides
 * are contiguous across them, so that runs are as long as they can be.
 */
function copyDims(shape: readonly number[], src: readonly number[], dst: readonly number[]): Int32Array {
  const kept: [number, number, number][] = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const last = kept.at(-1);
    if (last && last[1] === n * src[d]! && last[2] === n * dst[d]!) {
      last[0] *= n;
      last[1] = src[d]!;
      last[2] = dst[d]!;
    } else kept.push([n, src[d]!, dst[d]!]);
  });
  if (kept.length === 0) kept.push([1, 1, 1]);
  return Int32Array.from([...kept.map((k) => k[0]), ...kept.map((k) => k[1]), ...kept.map((k) => k[2])]);
}

/**
 * Transpose, Slice, SplitV and Concat of float32 and int32 tensors as one native strided copy each (per
 * part of a split or input of a concatenation). In JavaScript, a split of the fused q/k/v product moved one
 * run per row (1,536 copyWithin calls), and the wasm backend's own Transpose moved one element at a time.
 */
function nativeCopies(
  kernels: Kernels,
  name: NativeHostName,
): Record<string, (original: tf.KernelFunc) => tf.KernelFunc> {
  const copyable = (args: KernelArgs, tensors: tf.TensorInfo[]) =>
    tensors.every((t) => (t.dtype === 'float32' || t.dtype === 'int32') && t.shape.length > 0 && t.shape.length <= 8) &&
    (name === 'wasm' ||
      tensors.every((t) => ArrayBuffer.isView((args.backend as CpuBackendLike).data.get(t.dataId).values)));
  /** t's operand, `elements` into it. */
  const operandAt = (host: Host, t: tf.TensorInfo, elements: number): Operand | Int32Array => {
    const at = t.dtype === 'int32' ? host.intAt(t) : host.at(t);
    return typeof at === 'number' ? at + 4 * elements : at.subarray(elements);
  };
  const copy = (
    host: Host,
    src: tf.TensorInfo,
    from: number,
    srcStrides: number[],
    dst: tf.TensorInfo,
    to: number,
    dstStrides: number[],
    shape: number[],
  ) =>
    kernels.copy(
      host.memory(),
      operandAt(host, src, from),
      operandAt(host, dst, to),
      copyDims(shape, srcStrides, dstStrides),
    );
  const slice = (host: Host, x: tf.TensorInfo, begin: number[], size: number[]) => {
    const out = host.alloc(size, x.dtype as 'float32' | 'int32');
    if (tf.util.sizeFromShape(size) === 0) return out;
    const strides = stridesOf(x.shape);
    const from = begin.reduce((n, b, d) => n + b * strides[d]!, 0);
    copy(host, x, from, strides, out, 0, stridesOf(size), size);
    return out;
  };
  return {
    Transpose: (original) =>
      ((args: KernelArgs) => {
        const x = args.inputs.x as tf.TensorInfo;
        const shared = sharedTranspose(args);
        if (shared || !copyable(args, [x])) return shared ?? original(args as never);
        const perm = (args.attrs as { perm: number[] }).perm;
        const shape = perm.map((p) => x.shape[p]!);
        const host = hostOf(args.backend, name);
        const out = host.alloc(shape, x.dtype as 'float32' | 'int32');
        const strides = stridesOf(x.shape);
        if (tf.util.sizeFromShape(shape) > 0)
          copy(
            host,
            x,
            0,
            perm.map((p) => strides[p]!),
            out,
            0,
            stridesOf(shape),
            shape,
          );
        return out;
      }) as tf.KernelFunc,
    Slice: (original) =>
      ((args: KernelArgs) => {
        const x = args.inputs.x as tf.TensorInfo;
        if (!copyable(args, [x])) return original(args as never);
        const { begin, size } = args.attrs as { begin: number | number[]; size?: number | number[] };
        const [begin_, size_] = tf.slice_util.parseSliceParams(x, begin, size) as [number[], number[]];
        return slice(hostOf(args.backend, name), x, begin_, size_);
      }) as tf.KernelFunc,
    SplitV: (original) =>
      ((args: KernelArgs) => {
        const x = args.inputs.x as tf.TensorInfo;
        if (!copyable(args, [x])) return original(args as never);
        const host = hostOf(args.backend, name);
        return splitBySlices(args, (begin, size) => slice(host, x, begin, size));
      }) as unknown as tf.KernelFunc,
    Concat: (original) =>
      ((args: KernelArgs) => {
        const inputs = Object.values(args.inputs) as tf.TensorInfo[];
        const first = inputs[0];
        if (!first || !copyable(args, inputs) || inputs.some((t) => t.dtype !== first.dtype))
          return original(args as never);
        const axis = tf.util.parseAxisParam((args.attrs as { axis: number }).axis, first.shape)[0]!;
        tf.backend_util.assertParamsConsistent(
          inputs.map((t) => t.shape),
          axis,
        );
        const shape = tf.backend_util.computeOutShape(
          inputs.map((t) => t.shape),
          axis,
        );
        const host = hostOf(args.backend, name);
        const out = host.alloc(shape, first.dtype as 'float32' | 'int32');
        const outStrides = stridesOf(shape);
        let at = 0;
        for (const t of inputs) {
          if (tf.util.sizeFromShape(t.shape) > 0)
            copy(host, t, 0, stridesOf(t.shape), out, at * outStrides[axis]!, outStrides, t.shape);
          at += t.shape[axis]!;
        }
        return out;
      }) as tf.KernelFunc,
  };
}

const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 } as const;

/** Float32 a op b with broadcasting on the native kernels: each operand's strides over the output shape. */
function nativeBinary(
  kernels: Kernels,
  name: NativeHostName,
  op: 0 | 1 | 2 | 3,
  original: tf.KernelFunc,
): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (!nativeInputs(args, name, [a, b])) return original(args as never);
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    // Equal shapes are one flat row; otherwise the output's dimensions, each operand aligned to the right.
    const same = tf.util.arraysEqual(a.shape, b.shape);
    const shape = same ? [tf.util.sizeFromShape(outShape)] : outShape;
    const rank = shape.length;
    if (rank > 8) return original(args as never);
    const dims = new Int32Array(3 * rank);
    dims.set(shape);
    for (const [operand, at] of [
      [a.shape, rank],
      [b.shape, 2 * rank],
    ] as const) {
      let stride = 1;
      for (let d = rank - 1, s = operand.length - 1; d >= 0; d--, s--) {
        const size = same ? shape[d]! : s >= 0 ? operand[s]! : 1;
        dims[at + d] = size === 1 ? 0 : stride;
        stride *= size;
      }
    }
    return computeOne(args, name, outShape, (memory, at, out) => kernels.binary(memory, op, [at(a), at(b), out], dims));
  }) as tf.KernelFunc;
}

/** The fused RMSNorm, RoPE and SwiGLU kernels of fused.ts and their gradients on the native kernels (float32). */
function nativeFused(kernels: Kernels, name: NativeHostName): Record<string, tf.KernelFunc> {
  const float32 = (args: KernelArgs) => {
    for (const t of Object.values(args.inputs) as tf.TensorInfo[])
      if (t.dtype !== 'float32') throw new Error(`fused kernels take float32, got ${t.dtype}`);
    return args;
  };
  const run = (args: KernelArgs, shape: number[], call: Parameters<typeof computeOne>[3]) =>
    computeOne(float32(args), name, shape, call);
  const runMany = (args: KernelArgs, shapes: number[][], call: Call) => compute(float32(args), name, shapes, call);
  const ropeSizes = (x: tf.TensorInfo, cos: tf.TensorInfo, sin: tf.TensorInfo) => {
    const [heads, hd] = x.shape.slice(-2) as [number, number];
    const rows = tf.util.sizeFromShape(x.shape) / (heads * hd);
    if (tf.util.sizeFromShape(cos.shape) !== rows * hd || tf.util.sizeFromShape(sin.shape) !== rows * hd) {
      throw new Error(`rope: cos [${cos.shape}] and sin [${sin.shape}] do not match [${x.shape}]`);
    }
    return { rows, heads, hd };
  };
  return {
    [RMSNORM_KERNEL]: ((args: KernelArgs) => {
      const { x, w } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo };
      const dim = x.shape[x.shape.length - 1]!;
      if (tf.util.sizeFromShape(w.shape) !== dim)
        throw new Error(`rmsNorm: weight of shape [${w.shape}] for rows of ${dim}`);
      const { eps } = args.attrs as { eps: number };
      return run(args, x.shape, (memory, at, out) =>
        kernels.rmsnorm(memory, at(x), at(w), out, tf.util.sizeFromShape(x.shape) / dim, dim, eps),
      );
    }) as tf.KernelFunc,
    [ROPE_KERNEL]: ((args: KernelArgs) => {
      const { x, cos, sin } = args.inputs as { x: tf.TensorInfo; cos: tf.TensorInfo; sin: tf.TensorInfo };
      const { rows, heads, hd } = ropeSizes(x, cos, sin);
      return run(args, x.shape, (memory, at, out) =>
        kernels.rope(memory, at(x), at(cos), at(sin), out, rows, heads, hd),
      );
    }) as tf.KernelFunc,
    [gradKernel(ROPE_KERNEL)]: ((args: KernelArgs) => {
      const { dy, cos, sin } = args.inputs as { dy: tf.TensorInfo; cos: tf.TensorInfo; sin: tf.TensorInfo };
      const { rows, heads, hd } = ropeSizes(dy, cos, sin);
      return run(args, dy.shape, (memory, at, out) =>
        kernels.ropeGrad(memory, at(dy), at(cos), at(sin), out, rows, heads, hd),
      );
    }) as tf.KernelFunc,
    [gradKernel(RMSNORM_KERNEL)]: ((args: KernelArgs) => {
      const { x, w, dy } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo; dy: tf.TensorInfo };
      const dim = x.shape[x.shape.length - 1]!;
      const { eps } = args.attrs as { eps: number };
      return runMany(args, [x.shape, w.shape], (memory, at, [dx, dw]) =>
        kernels.rmsnormGrad(memory, at(x), at(w), at(dy), dx!, dw!, tf.util.sizeFromShape(x.shape) / dim, dim, eps),
      );
    }) as unknown as tf.KernelFunc,
    [gradKernel(SWIGLU_KERNEL)]: ((args: KernelArgs) => {
      const { gu, dy } = args.inputs as { gu: tf.TensorInfo; dy: tf.TensorInfo };
      const [rows, width] = gu.shape as [number, number];
      return run(args, gu.shape, (memory, at, out) => kernels.swigluGrad(memory, at(gu), at(dy), out, rows, width / 2));
    }) as tf.KernelFunc,
    [SWIGLU_KERNEL]: ((args: KernelArgs) => {
      const { gu } = args.inputs as { gu: tf.TensorInfo };
      const [rows, width] = gu.shape as [number, number];
      return run(args, [rows, width / 2], (memory, at, out) => kernels.swiglu(memory, at(gu), out, rows, width / 2));
    }) as tf.KernelFunc,
  };
}

/**
 * The row reductions of fused.ts, numerics.ts and adamw.ts (softmax, target log-probabilities, Σ x²) with
 * their gradients, and inference's attention over the KV cache.
 */
function nativeRows(kernels: Kernels, name: NativeHostName): Record<string, tf.KernelFunc> {
  const float32 = (args: KernelArgs, ...names: string[]) => {
    for (const n of names)
      if ((args.inputs[n] as tf.TensorInfo).dtype !== 'float32')
        throw new Error(`row kernels take float32 ${n}, got ${(args.inputs[n] as tf.TensorInfo).dtype}`);
  };
  const rowsOf = (t: tf.TensorInfo) => {
    const width = t.shape[t.shape.length - 1] ?? 1;
    return { rows: width === 0 ? 0 : tf.util.sizeFromShape(t.shape) / width, width };
  };
  return {
    [SOFTMAX_KERNEL]: ((args: KernelArgs) => {
      float32(args, 'x');
      const x = args.inputs.x as tf.TensorInfo;
      const { rows, width } = rowsOf(x);
      return computeOne(args, name, x.shape, (memory, at, out) => kernels.softmax(memory, at(x), out, rows, width));
    }) as tf.KernelFunc,
    [gradKernel(SOFTMAX_KERNEL)]: ((args: KernelArgs) => {
      float32(args, 'y', 'dy');
      const { y, dy } = args.inputs as { y: tf.TensorInfo; dy: tf.TensorInfo };
      const { rows, width } = rowsOf(y);
      return computeOne(args, name, y.shape, (memory, at, out) =>
        kernels.softmaxGrad(memory, at(y), at(dy), out, rows, width),
      );
    }) as tf.KernelFunc,
    [ENTROPY_KERNEL]: ((args: KernelArgs) => {
      float32(args, 'logits');
      const logits = args.inputs.logits as tf.TensorInfo;
      const { rows, width } = rowsOf(logits);
      const shape = logits.shape.slice(0, -1);
      return compute(args, name, [shape, shape], (memory, at, [h, lse]) =>
        kernels.entropy(memory, at(logits), h!, lse!, rows, width),
      );
    }) as unknown as tf.KernelFunc,
    [gradKernel(ENTROPY_KERNEL)]: ((args: KernelArgs) => {
      float32(args, 'logits', 'h', 'lse', 'dy');
      const { logits, h, lse, dy } = args.inputs as Record<'logits' | 'h' | 'lse' | 'dy', tf.TensorInfo>;
      const { rows, width } = rowsOf(logits);
      return computeOne(args, name, logits.shape, (memory, at, out) =>
        kernels.entropyGrad(memory, at(logits), at(h), at(lse), at(dy), out, rows, width),
      );
    }) as tf.KernelFunc,
    [TOKEN_LOGPROBS_KERNEL]: ((args: KernelArgs) => {
      float32(args, 'logits');
      const { logits, targets } = args.inputs as { logits: tf.TensorInfo; targets: tf.TensorInfo };
      const { rows, width } = rowsOf(logits);
      return compute(args, name, [targets.shape, targets.shape], (memory, at, [lp, lse], intAt) =>
        kernels.tokenLogProbs(memory, at(logits), intAt(targets), lp!, lse!, rows, width),
      );
    }) as unknown as tf.KernelFunc,
    [gradKernel(TOKEN_LOGPROBS_KERNEL)]: ((args: KernelArgs) => {
      float32(args, 'logits', 'lse', 'dy');
      const { logits, targets, lse, dy } = args.inputs as Record<'logits' | 'targets' | 'lse' | 'dy', tf.TensorInfo>;
      const { rows, width } = rowsOf(logits);
      return computeOne(args, name, logits.shape, (memory, at, out, intAt) =>
        kernels.tokenLogProbsGrad(memory, at(logits), intAt(targets), at(lse), at(dy), out, rows, width),
      );
    }) as tf.KernelFunc,
    [ATTENTION_KERNEL]: ((args: KernelArgs) => {
      float32(args, 'q', 'k', 'v', 'bias');
      const { q, k, v, bias } = args.inputs as Record<'q' | 'k' | 'v' | 'bias', tf.TensorInfo>;
      const [batch, groups, rows, hd] = q.shape as [number, number, number, number];
      const keys = k.shape[2]!;
      const want = (t: tf.TensorInfo, shape: number[]) => {
        if (!tf.util.arraysEqual(t.shape, shape))
          throw new Error(`attention: ${t === bias ? 'bias' : 'k/v'} of shape [${t.shape}], expected [${shape}]`);
      };
      want(k, [batch, groups, keys, hd]);
      want(v, [batch, groups, keys, hd]);
      want(bias, [batch, 1, rows, keys]);
      const { scale } = args.attrs as { scale: number };
      return computeOne(args, name, q.shape, (memory, at, out) =>
        kernels.attention(memory, at(q), at(k), at(v), at(bias), out, batch, groups, rows, keys, hd, scale),
      );
    }) as tf.KernelFunc,
    [SUM_SQUARES_KERNEL]: ((args: KernelArgs) => {
      float32(args, 'x');
      const x = args.inputs.x as tf.TensorInfo;
      const host = hostOf(args.backend, name);
      const total = kernels.sumSquares(host.memory(), host.at(x), tf.util.sizeFromShape(x.shape));
      const out = host.alloc([]);
      // The scalar's one float, written where the host keeps it.
      const where = host.at(out);
      if (typeof where === 'number') new Float32Array(host.memory()!, where, 1)[0] = total;
      else where[0] = total;
      return out;
    }) as tf.KernelFunc,
  };
}

/**
 * Register every kernel above on the wasm backend (after wasm-kernels.ts has put its own in place) or on
 * the cpu backend, whose own matmul, arithmetic and exp are plain JavaScript loops.
 */
export function registerNativeKernels(kernels: Kernels, backendName: NativeHostName = 'wasm'): void {
  replaceKernel('BatchMatMul', (original) => nativeBatchMatMul(kernels, backendName, original), backendName);
  replaceKernel('Exp', (original) => nativeExp(kernels, backendName, original), backendName);
  for (const [name, op] of Object.entries(BINARY_OPS))
    replaceKernel(name, (original) => nativeBinary(kernels, backendName, op, original), backendName);
  for (const [name, wrap] of Object.entries(nativeCopies(kernels, backendName))) replaceKernel(name, wrap, backendName);
  tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName, kernelFunc: nativeAdamW(kernels, backendName) });
  for (const [kernelName, kernelFunc] of Object.entries({
    ...nativeFused(kernels, backendName),
    ...nativeRows(kernels, backendName),
  }))
    tf.registerKernel({ kernelName, backendName, kernelFunc });
}

let cpuRegistered = false;

/** The native kernels on tfjs's cpu backend, when @rmt/kernels loads (idempotent). */
export function registerCpuNativeKernels(): void {
  if (cpuRegistered) return;
  cpuRegistered = true;
  const native = loadKernels();
  if (native.available) registerNativeKernels(native.kernels, 'cpu');
}

/** How the cpu backend runs its heavy kernels. */
export function cpuKernelPath(): string {
  const native = loadKernels();
  return native.available
    ? `matmuls, arithmetic, exp, AdamW and fused blocks ${native.reason}, ${native.kernels.threads()} threads`
    : `plain JavaScript: @rmt/kernels ${native.reason}`;
}

/** How the wasm backend runs its heavy kernels, for `rmt info` and run metadata. */
export function wasmKernelPath(): string {
  const native = loadKernels();
  return native.available
    ? `matmuls, arithmetic, exp, AdamW and fused blocks ${native.reason}, ${native.kernels.threads()} threads`
    : `matmuls in WebAssembly: @rmt/kernels ${native.reason}`;
}
