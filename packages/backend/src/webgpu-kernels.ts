// The fused blocks of fused.ts (RMSNorm, RoPE, SwiGLU, with their gradients) and the AdamW step of adamw.ts as
// WGSL compute shaders on tfjs-backend-webgpu. As tfjs ops each is 4–16 shader dispatches, each a pass over
// the tensor through GPU memory and a trip through the tfjs engine; here one to three. Same expressions, in
// the same order, as the op versions and @rmt/kernels' C (packages/kernels/native/fused.c, adamw.c), in
// float32. WGSL lets the shader compiler fuse a multiply and an add (at least as accurate), and its division
// and sqrt are not correctly rounded, so results can differ from the CPU backends in the last bits — as
// tfjs-webgpu's own ops do; the tests hold them to the same float64 tolerances as every other backend.
//
// tfjs-backend-webgpu is an optional peer loaded by dynamic import (webgpu.ts): nothing here imports it. Its
// programs are plain objects (the WebGPUProgram shape below) that the backend compiles once per shader key
// and ranks, prefixing our WGSL with the bindings (`result` at 0, each input by its variable name, then
// `uniforms`), and that `runWebGPUProgram` dispatches. A program writes one output tensor, so a kernel with
// several outputs runs one program per output.
import * as tf from '@tensorflow/tfjs';
import { ADAMW_KERNEL, type AdamWStep } from './adamw.js';
import { gradKernel, RMSNORM_KERNEL, ROPE_KERNEL, SWIGLU_KERNEL } from './fused.js';
import type { KernelArgs } from './wasm-backend.js';

type Dispatch = [number, number, number];
type DispatchLayout = { x: number[]; y?: number[]; z?: number[] };

/** What tfjs-backend-webgpu 4.22 compiles and runs (its WebGPUProgram, the fields used here). */
export interface WebGpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: DispatchLayout;
  dispatch: Dispatch;
  variableNames: string[];
  workgroupSize: Dispatch;
  /** Adds `uniforms.size`, the output's element count. */
  size?: boolean;
  /** Extra uniform fields, `name : type,` each, filled in order from runWebGPUProgram's last argument. */
  uniforms?: string;
  getUserCode(): string;
}

type Uniform = { type: 'int32' | 'float32'; data: number[] };

/** What the kernels use of tfjs-backend-webgpu's WebGPUBackend (the backend a kernel function receives). */
export interface WebGpuBackendLike {
  /** `output`: a tensor to write into instead of a new one. */
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: Uniform[],
    output?: tf.TensorInfo,
  ): tf.TensorInfo;
  disposeData(dataId: object): boolean;
  /** The workgroup count below which tfjs's matmul looks for more parallelism (8, or 16 on Intel Gen 12+). */
  thresholdToIncreaseWorkgroups?: number;
}

/** What is used of the imported @tensorflow/tfjs-backend-webgpu module: its dispatch helpers. */
interface WebGpuModule {
  webgpu_util: {
    computeDispatch(layout: DispatchLayout, outputShape: number[], workgroupSize?: Dispatch): Dispatch;
    flatDispatchLayout(shape: number[]): DispatchLayout;
  };
}

/** Threads per workgroup: of an elementwise program, and of a row reduction (one workgroup per row). */
const THREADS = 64;
/** The dw column sum: a workgroup of COLUMNS columns × LANES row lanes (256 threads, WebGPU's default cap). */
const COLUMNS = 16;
const LANES = 16;

/**
 * The workgroup's index in the dispatch. tfjs spreads a dispatch beyond the per-dimension limit (65,535)
 * over y and z (its reshapeDispatch), so a row's workgroup is found from all three; the extra workgroups of
 * such a spread get an index past the last row and only take part in the barriers.
 */
const WORKGROUP_INDEX = `i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x)`;

/**
 * Tree sums of `names[·][0..n)` in workgroup memory, each into its [0], in a fixed order (deterministic for a
 * shape, no atomics). Every invocation reaches each barrier: the loop's bounds are constants (WGSL requires
 * barriers in uniform control flow); the arrays share them.
 */
const treeSum = (names: string[], n: number, lane: string) => `
  workgroupBarrier();
  for (var k = ${n / 2}; k > 0; k = k / 2) {
    if (${lane} < k) {
      ${names.map((a) => `${a}[${lane}] = ${a}[${lane}] + ${a}[${lane} + k];`).join('\n      ')}
    }
    workgroupBarrier();
  }`;

function float32(args: KernelArgs): KernelArgs {
  for (const t of Object.values(args.inputs) as tf.TensorInfo[])
    if (t.dtype !== 'float32') throw new Error(`fused kernels take float32, got ${t.dtype}`);
  return args;
}

const rowsOf = (x: tf.TensorInfo, dim: number) => (dim === 0 ? 0 : tf.util.sizeFromShape(x.shape) / dim);

function kernelsOn(util: WebGpuModule['webgpu_util']): Record<string, tf.KernelFunc> {
  /** An elementwise program: one thread per output element, `main(index)` with index < uniforms.size. */
  const elementwise = (
    shaderKey: string,
    outputShape: number[],
    variableNames: string[],
    uniforms: string,
    body: string,
  ): WebGpuProgram => {
    const dispatchLayout = util.flatDispatchLayout(outputShape);
    return {
      outputShape,
      shaderKey,
      dispatchLayout,
      dispatch: util.computeDispatch(dispatchLayout, outputShape, [THREADS, 1, 1]),
      variableNames,
      workgroupSize: [THREADS, 1, 1],
      size: true,
      uniforms,
      getUserCode: () => `
        fn main(index : i32) {
          if (index < uniforms.size) {
            ${body}
          }
        }`,
    };
  };

  /**
   * One workgroup per row of `rows`: the body sees `row`, `lane` (0..THREADS) and `inRange` (false for the
   * spare workgroups of a spread dispatch) and `shared`, its workgroup arrays of THREADS floats, for treeSum.
   */
  const perRow = (
    shaderKey: string,
    outputShape: number[],
    variableNames: string[],
    rows: number,
    shared: string[],
    uniforms: string,
    body: string,
  ): WebGpuProgram => ({
    outputShape,
    shaderKey,
    // Flat on x: tfjs spreads more than 65,535 workgroups over y and z itself (see WORKGROUP_INDEX).
    dispatchLayout: { x: [0] },
    dispatch: [rows, 1, 1],
    variableNames,
    workgroupSize: [THREADS, 1, 1],
    uniforms,
    getUserCode: () => `
      ${shared.map((a) => `var<workgroup> ${a} : array<f32, ${THREADS}>;`).join('\n')}
      fn main(index : i32) {
        let row = ${WORKGROUP_INDEX};
        let lane = i32(localIndex);
        let inRange = row < uniforms.rows;
        ${body}
      }`,
  });

  const ropeSizes = (x: tf.TensorInfo, cos: tf.TensorInfo, sin: tf.TensorInfo) => {
    const [heads, hd] = x.shape.slice(-2) as [number, number];
    const rows = tf.util.sizeFromShape(x.shape) / (heads * hd);
    if (tf.util.sizeFromShape(cos.shape) !== rows * hd || tf.util.sizeFromShape(sin.shape) !== rows * hd) {
      throw new Error(`rope: cos [${cos.shape}] and sin [${sin.shape}] do not match [${x.shape}]`);
    }
    return { heads, hd };
  };

  /** x·cos + rotate-half(x)·sin (and its transpose for the gradient); cos and sin shared by the heads. */
  const rope = (grad: boolean) =>
    ((args: KernelArgs) => {
      const { cos, sin } = float32(args).inputs as { cos: tf.TensorInfo; sin: tf.TensorInfo };
      const name = grad ? 'dy' : 'x';
      const input = args.inputs[name] as tf.TensorInfo;
      const { heads, hd } = ropeSizes(input, cos, sin);
      // Forward: x[i]·c[i] + (−x[i+mid])·s[i] in the first half, x[i]·c[i] + x[i−mid]·s[i] in the second.
      // Gradient, Rᵀ: dy[i]·c[i] + dy[i+mid]·s[i+mid], dy[i]·c[i] − dy[i−mid]·s[i−mid].
      const [first, second] = grad
        ? [
            'dy[index] * c + dy[index + mid] * sinT[at + i + mid]',
            'dy[index] * c - dy[index - mid] * sinT[at + i - mid]',
          ]
        : ['x[index] * c + (-x[index + mid]) * sinT[at + i]', 'x[index] * c + x[index - mid] * sinT[at + i]'];
      const program = elementwise(
        grad ? 'rmtRoPEGrad' : 'rmtRoPE',
        input.shape,
        // Not `cos` and `sin`: the names of WGSL's built-in functions.
        [name, 'cosT', 'sinT'],
        'heads : i32, hd : i32,',
        `let mid = uniforms.hd / 2;
         let i = index % uniforms.hd;
         let at = (index / (uniforms.heads * uniforms.hd)) * uniforms.hd;
         let c = cosT[at + i];
         if (i < mid) { setOutputAtIndex(index, ${first}); } else { setOutputAtIndex(index, ${second}); }`,
      );
      return (args.backend as WebGpuBackendLike).runWebGPUProgram(program, [input, cos, sin], 'float32', [
        { type: 'int32', data: [heads] },
        { type: 'int32', data: [hd] },
      ]);
    }) as tf.KernelFunc;

  return {
    [RMSNORM_KERNEL]: ((args: KernelArgs) => {
      const { x, w } = float32(args).inputs as { x: tf.TensorInfo; w: tf.TensorInfo };
      const dim = x.shape[x.shape.length - 1]!;
      if (tf.util.sizeFromShape(w.shape) !== dim)
        throw new Error(`rmsNorm: weight of shape [${w.shape}] for rows of ${dim}`);
      const { eps } = args.attrs as { eps: number };
      const rows = rowsOf(x, dim);
      // Each lane sums the squares of every THREADS-th element of the row, the tree adds the lanes; then the
      // lanes write the row scaled: x·(1/√(Σx²/dim + eps))·w.
      const program = perRow(
        'rmtRMSNorm',
        x.shape,
        ['x', 'w'],
        rows,
        ['sums'],
        'rows : i32, dim : i32, eps : f32,',
        `let base = row * uniforms.dim;
         var sum = 0.0;
         if (inRange) {
           for (var j = lane; j < uniforms.dim; j = j + ${THREADS}) { sum = sum + x[base + j] * x[base + j]; }
         }
         sums[lane] = sum;
         ${treeSum(['sums'], THREADS, 'lane')}
         let scale = 1.0 / sqrt(sums[0] / f32(uniforms.dim) + uniforms.eps);
         if (inRange) {
           for (var j = lane; j < uniforms.dim; j = j + ${THREADS}) { result[base + j] = x[base + j] * scale * w[j]; }
         }`,
      );
      return (args.backend as WebGpuBackendLike).runWebGPUProgram(program, [x, w], 'float32', [
        { type: 'int32', data: [rows] },
        { type: 'int32', data: [dim] },
        { type: 'float32', data: [eps] },
      ]);
    }) as tf.KernelFunc,

    // [dx, dw] in three programs: per-row statistics [rows, 2] = (s, c) with s = (mean(x²) + eps)^−½ and
    // c = s³·mean(dy·w·x) (a workgroup per row); dx = s·(dy·w) − x·c (elementwise); dw = Σ over rows of
    // dy·x·s, each column summed by 16 row lanes in a fixed order and their tree (no atomics: deterministic).
    [gradKernel(RMSNORM_KERNEL)]: ((args: KernelArgs) => {
      const { x, w, dy } = float32(args).inputs as { x: tf.TensorInfo; w: tf.TensorInfo; dy: tf.TensorInfo };
      const backend = args.backend as WebGpuBackendLike;
      const dim = x.shape[x.shape.length - 1]!;
      const { eps } = args.attrs as { eps: number };
      const rows = rowsOf(x, dim);
      const sizes: Uniform[] = [
        { type: 'int32', data: [rows] },
        { type: 'int32', data: [dim] },
      ];
      const stats = backend.runWebGPUProgram(
        perRow(
          'rmtRMSNormGradStats',
          [rows, 2],
          ['x', 'w', 'dy'],
          rows,
          ['sums', 'dots'],
          'rows : i32, dim : i32, eps : f32,',
          `let base = row * uniforms.dim;
           var sum = 0.0;
           var wxd = 0.0;
           if (inRange) {
             for (var j = lane; j < uniforms.dim; j = j + ${THREADS}) {
               let v = x[base + j];
               sum = sum + v * v;
               wxd = wxd + dy[base + j] * w[j] * v;
             }
           }
           sums[lane] = sum;
           dots[lane] = wxd;
           ${treeSum(['sums', 'dots'], THREADS, 'lane')}
           let dim = f32(uniforms.dim);
           let s = 1.0 / sqrt(sums[0] / dim + uniforms.eps);
           if (inRange && lane == 0) {
             result[2 * row] = s;
             result[2 * row + 1] = s * s * s * (dots[0] / dim);
           }`,
        ),
        [x, w, dy],
        'float32',
        [...sizes, { type: 'float32', data: [eps] }],
      );
      const dx = backend.runWebGPUProgram(
        elementwise(
          'rmtRMSNormGradDx',
          x.shape,
          ['x', 'w', 'dy', 'stats'],
          'dim : i32,',
          `let row = index / uniforms.dim;
           let j = index - row * uniforms.dim;
           let s = stats[2 * row];
           setOutputAtIndex(index, s * (dy[index] * w[j]) - x[index] * stats[2 * row + 1]);`,
        ),
        [x, w, dy, stats],
        'float32',
        [{ type: 'int32', data: [dim] }],
      );
      const dw = backend.runWebGPUProgram(
        {
          outputShape: w.shape,
          shaderKey: 'rmtRMSNormGradDw',
          dispatchLayout: { x: [0] },
          dispatch: [Math.ceil(dim / COLUMNS), 1, 1],
          variableNames: ['x', 'dy', 'stats'],
          workgroupSize: [COLUMNS, LANES, 1],
          uniforms: 'rows : i32, dim : i32,',
          getUserCode: () => `
            var<workgroup> tile : array<f32, ${COLUMNS * LANES}>;
            fn main(index : i32) {
              let column = ${WORKGROUP_INDEX} * ${COLUMNS} + i32(localId.x);
              let lane = i32(localId.y);
              let at = lane * ${COLUMNS} + i32(localId.x);
              var acc = 0.0;
              if (column < uniforms.dim) {
                for (var r = lane; r < uniforms.rows; r = r + ${LANES}) {
                  let i = r * uniforms.dim + column;
                  acc = acc + dy[i] * x[i] * stats[2 * r];
                }
              }
              tile[at] = acc;
              workgroupBarrier();
              for (var k = ${LANES / 2}; k > 0; k = k / 2) {
                if (lane < k) { tile[at] = tile[at] + tile[at + k * ${COLUMNS}]; }
                workgroupBarrier();
              }
              if (lane == 0 && column < uniforms.dim) { result[column] = tile[at]; }
            }`,
        },
        [x, dy, stats],
        'float32',
        sizes,
      );
      backend.disposeData(stats.dataId);
      return [dx, dw];
    }) as unknown as tf.KernelFunc,

    [ROPE_KERNEL]: rope(false),
    [gradKernel(ROPE_KERNEL)]: rope(true),

    [SWIGLU_KERNEL]: ((args: KernelArgs) => {
      const { gu } = float32(args).inputs as { gu: tf.TensorInfo };
      const [rows, width] = gu.shape as [number, number];
      const program = elementwise(
        'rmtSwiGLU',
        [rows, width / 2],
        ['gu'],
        'hidden : i32,',
        `let r = index / uniforms.hidden;
         let at = index + r * uniforms.hidden;
         let g = gu[at];
         setOutputAtIndex(index, g * (1.0 / (1.0 + exp(-g))) * gu[at + uniforms.hidden]);`,
      );
      return (args.backend as WebGpuBackendLike).runWebGPUProgram(program, [gu], 'float32', [
        { type: 'int32', data: [width / 2] },
      ]);
    }) as tf.KernelFunc,

    // s = σ(g): d gate = dy·up·s·(1 + g·(1 − s)); d up = dy·g·s. One thread per element of d gu.
    [gradKernel(SWIGLU_KERNEL)]: ((args: KernelArgs) => {
      const { gu, dy } = float32(args).inputs as { gu: tf.TensorInfo; dy: tf.TensorInfo };
      const [, width] = gu.shape as [number, number];
      const program = elementwise(
        'rmtSwiGLUGrad',
        gu.shape,
        ['gu', 'dy'],
        'hidden : i32,',
        `let h = uniforms.hidden;
         let r = index / (2 * h);
         let j = index - r * 2 * h;
         let gate = j < h;
         let c = select(j - h, j, gate);
         let g = gu[r * 2 * h + c];
         let d = dy[r * h + c];
         let s = 1.0 / (1.0 + exp(-g));
         if (gate) { setOutputAtIndex(index, d * gu[r * 2 * h + h + c] * s * (1.0 + g * (1.0 - s))); }
         else { setOutputAtIndex(index, d * g * s); }`,
      );
      return (args.backend as WebGpuBackendLike).runWebGPUProgram(program, [gu, dy], 'float32', [
        { type: 'int32', data: [width / 2] },
      ]);
    }) as tf.KernelFunc,

    // [p', m', v'] in three elementwise programs, m' and v' first: p' reads them back, so it uses exactly
    // the stored moments, as the op version does.
    [ADAMW_KERNEL]: ((args: KernelArgs) => {
      const { p, m, v, g } = float32(args).inputs as Record<'p' | 'm' | 'v' | 'g', tf.TensorInfo>;
      const backend = args.backend as WebGpuBackendLike;
      const s = args.attrs as unknown as AdamWStep;
      const names = 'lr beta1 oneMinusBeta1 beta2 oneMinusBeta2 epsilon c1 c2 decay gradScale'.split(' ');
      const constants = [s.lr, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.epsilon, s.c1, s.c2, s.decay, s.gradScale];
      const uniforms = names.map((n) => `${n} : f32,`).join(' ');
      const data: Uniform[] = constants.map((c) => ({ type: 'float32', data: [c] }));
      const u = 'uniforms.';
      const run = (key: string, inputs: tf.TensorInfo[], variables: string[], body: string) =>
        backend.runWebGPUProgram(elementwise(key, p.shape, variables, uniforms, body), inputs, 'float32', data);
      const m2 = run(
        'rmtAdamWM',
        [m, g],
        ['m', 'g'],
        `let gi = g[index] * ${u}gradScale;
         setOutputAtIndex(index, m[index] * ${u}beta1 + gi * ${u}oneMinusBeta1);`,
      );
      const v2 = run(
        'rmtAdamWV',
        [v, g],
        ['v', 'g'],
        `let gi = g[index] * ${u}gradScale;
         setOutputAtIndex(index, v[index] * ${u}beta2 + (gi * gi) * ${u}oneMinusBeta2);`,
      );
      const p2 = run(
        'rmtAdamWP',
        [p, m2, v2],
        ['p', 'm', 'v'],
        `let update = (m[index] / ${u}c1) / (sqrt(v[index] / ${u}c2) + ${u}epsilon);
         setOutputAtIndex(index, p[index] * ${u}decay - update * ${u}lr);`,
      );
      return [p2, m2, v2];
    }) as unknown as tf.KernelFunc,
  };
}

let registered = false;

/**
 * Register the kernels above on the webgpu backend (idempotent). `module` is the imported
 * @tensorflow/tfjs-backend-webgpu: registration comes after it (webgpu.ts), which also sets up the WebGPU
 * globals its programs use. A module without the helpers used here (another version) registers nothing,
 * and the blocks stay on tfjs ops.
 */
export function registerWebGpuKernels(module: unknown): boolean {
  if (registered) return true;
  const util = (module as Partial<WebGpuModule> | undefined)?.webgpu_util;
  if (typeof util?.computeDispatch !== 'function' || typeof util.flatDispatchLayout !== 'function') return false;
  registered = true;
  for (const [kernelName, kernelFunc] of Object.entries(kernelsOn(util)))
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc });
  return true;
}
