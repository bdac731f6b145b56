// Two tfjs-backend-webgpu 4.22 kernels add floats with atomics, so the order of the additions, and the last
// bits of the sum, change from run to run; a training run on webgpu then does not reproduce for its seed, and
// a resumed run does not end with the weights of an uninterrupted one:
// - UnsortedSegmentSum (the gradient of every `gather`: the token and position embeddings, the picked
//   log-probability) adds each input element into its segment with a compare-and-swap loop. Replaced here by
//   one thread per column that adds the rows in order: no atomics, and the cpu backend's order (row 0 first).
// - BatchMatMul and _FusedMatMul pick MatMulSplitKProgram, which adds partial products with atomics, for a
//   product with few output tiles and an inner dimension of 2000 or more (a weight gradient dW = xᵀ·dy over
//   2000+ tokens of a narrow layer). Here such a product runs MatMulSmallOutputSizeProgram instead, the
//   program tfjs picks for the same shapes below 2000: tiled, each output summed by one thread.
// Measured on lavapipe (software Vulkan): two `rmt run --preset tiny` runs differed in a few moments of the
// embeddings at step 2; a 64×4096·4096×64 product differed in ~2000 of its 4096 outputs between calls.
import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from './wasm-backend.js';
import type { WebGpuBackendLike, WebGpuProgram } from './webgpu-kernels.js';

const THREADS = 64;

/** TensorFlow's UnsortedSegmentSum, in order: output[s] = Σ x[n] over n = 0, 1, … with segmentIds[n] = s. */
function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const segmentIds = args.inputs.segmentIds as tf.TensorInfo;
  const { numSegments } = args.attrs as { numSegments: number };
  if (x.dtype !== 'float32' && x.dtype !== 'int32')
    throw new Error(`UnsortedSegmentSum takes float32 or int32, got ${x.dtype}`);
  const count = tf.util.sizeFromShape(segmentIds.shape);
  const inner = count === 0 ? 0 : tf.util.sizeFromShape(x.shape) / count;
  const outputShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const program: WebGpuProgram = {
    outputShape,
    shaderKey: `rmtUnsortedSegmentSum_${x.dtype}`,
    dispatchLayout: { x: [0] },
    dispatch: [Math.max(1, Math.ceil(inner / THREADS)), 1, 1],
    variableNames: ['x', 'segmentIds'],
    workgroupSize: [THREADS, 1, 1],
    uniforms: 'inner : i32, count : i32, numSegments : i32,',
    // Thread `index` owns column `index` of every segment: it alone writes it, so nothing races. The rows are
    // few (the tokens of a batch) next to the segments (a vocabulary, or every logit of a batch for the picked
    // log-probability, whose columns are 1 wide): the output is zeroed by tfjs's Fill, in parallel, first.
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.inner) {
          for (var n = 0; n < uniforms.count; n = n + 1) {
            let s = i32(segmentIds[n]);
            if (s >= 0 && s < uniforms.numSegments) {
              let at = s * uniforms.inner + index;
              result[at] = result[at] + x[n * uniforms.inner + index];
            }
          }
        }
      }`,
  };
  const backend = args.backend as WebGpuBackendLike;
  const fill = tf.getKernel('Fill', 'webgpu')!.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo;
  const zeros = fill({ inputs: {}, attrs: { shape: outputShape, value: 0, dtype: x.dtype }, backend });
  const uniforms = [inner, count, numSegments].map((v) => ({ type: 'int32' as const, data: [v] }));
  return backend.runWebGPUProgram(program, [x, segmentIds], x.dtype, uniforms, zeros);
}

const MATMUL_PROGRAM_FLAG = 'WEBGPU_MATMUL_PROGRAM_TYPE';
const THRESHOLD_FLAG = 'WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL';
/** tfjs-backend-webgpu's MatMulProgramType.MatMulSmallOutputSizeProgram. */
const SMALL_OUTPUT_SIZE_PROGRAM = 2;

/** Whether tfjs-backend-webgpu 4.22's batchMatMulImpl would pick MatMulSplitKProgram (its test, restated). */
function picksSplitK(args: KernelArgs): boolean {
  if (tf.env().getNumber(MATMUL_PROGRAM_FLAG) >= 0) return false; // the program is forced: not ours to change
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const [ra, rb] = [a.shape.length, b.shape.length];
  const inner = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const outerA = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const outerB = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const batch = Math.max(tf.util.sizeFromShape(a.shape.slice(0, -2)), tf.util.sizeFromShape(b.shape.slice(0, -2)));
  const flag = tf.env().getNumber(THRESHOLD_FLAG);
  const threshold = flag > 0 ? flag : ((args.backend as WebGpuBackendLike).thresholdToIncreaseWorkgroups ?? 8);
  const tiles = batch * Math.ceil(outerA / 32) * Math.ceil(outerB / 32);
  const fewTiles = tiles <= threshold || (outerA <= 8 && tiles <= threshold * 2);
  return fewTiles && batch * outerA * outerB > 128 && batch === 1 && inner >= 2000;
}

/** The matmul kernel, with MatMulSmallOutputSizeProgram forced for the one call where it would split K. */
function withoutSplitK(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    if (!picksSplitK(args)) return original(args as never);
    const env = tf.env();
    const previous = env.getNumber(MATMUL_PROGRAM_FLAG);
    env.set(MATMUL_PROGRAM_FLAG, SMALL_OUTPUT_SIZE_PROGRAM);
    try {
      return original(args as never);
    } finally {
      env.set(MATMUL_PROGRAM_FLAG, previous);
    }
  }) as unknown as tf.KernelFunc;
}

let registered = false;

/**
 * Replace tfjs-backend-webgpu's UnsortedSegmentSum and keep its matmuls off the split-K program, so that a
 * webgpu run is deterministic (call after importing tfjs-backend-webgpu, which registers its kernels; idempotent).
 */
export function registerDeterministicWebGpuKernels(): void {
  if (registered) return;
  const replace = (name: string, kernelFunc: (original: tf.KernelFunc) => tf.KernelFunc) => {
    const kernel = tf.getKernel(name, 'webgpu');
    if (!kernel) return;
    tf.unregisterKernel(name, 'webgpu');
    tf.registerKernel({ ...kernel, kernelFunc: kernelFunc(kernel.kernelFunc) });
  };
  if (tf.getKernel('UnsortedSegmentSum', 'webgpu') === undefined) return; // tfjs-backend-webgpu not loaded
  registered = true;
  replace('UnsortedSegmentSum', () => unsortedSegmentSum as unknown as tf.KernelFunc);
  replace('BatchMatMul', withoutSplitK);
  replace('_FusedMatMul', withoutSplitK);
}
