// Backend selection: the one place in RMT that decides which TensorFlow.js backend runs.
// Every package takes `tf` from @rmt/backend, so the process holds exactly one tfjs engine.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { totalmem } from 'node:os';
import { loadKernels } from '@rmt/kernels';
import {
  describeTrainingMemory,
  estimateTrainingBytes,
  formatBytes,
  WASM_HEAP_HEADROOM,
  WASM_HEAP_LIMIT,
  type ModelShape,
  type TrainingMemory,
} from './memory.js';
import { registerCpuKernels } from './cpu-kernels.js';
import { registerKvWrite } from './kv-cache.js';
import { cpuKernelPath, registerCpuNativeKernels, wasmKernelPath } from './native-kernels.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';
import {
  describeAdapter,
  gpuDeviceNode,
  loadWebGpu,
  WEBGPU_PACKAGES,
  WebGpuUnavailable,
  type GpuAdapterInfo,
} from './webgpu.js';

/** Every backend, GPU first; `auto` tries them in {@link autoOrder}. The one list: the type derives from it. */
export const BACKEND_NAMES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendRequest = BackendName | 'auto';

/** A training run's shape, for `auto` to size before the first step ({@link estimateTrainingBytes}). */
export interface TrainingWorkload {
  model: ModelShape;
  /** Rows per optimizer step (the largest micro-batch when steps are split). */
  batch: number;
  /** Tokens per row. */
  seqLen: number;
}

export interface LoadBackendOptions {
  /** Size the run first: `auto` skips backends that cannot hold it, and refuses, with the sizes, when none can. */
  workload?: TrainingWorkload;
}

/** Why `wasm` cannot hold a run (undefined when it can): its heap is 32-bit. */
function wasmTooSmall(memory: TrainingMemory | undefined): string | undefined {
  if (!memory || memory.total <= WASM_HEAP_LIMIT * (1 - WASM_HEAP_HEADROOM)) return undefined;
  return `a training step needs ~${formatBytes(memory.total)}, more than the WebAssembly heap holds (32-bit: ${formatBytes(WASM_HEAP_LIMIT)}, ${WASM_HEAP_HEADROOM * 100}% of it kept free)`;
}

/**
 * The order `auto` tries, fastest first. On CPU, wasm with @rmt/kernels measured faster than native
 * TensorFlow on every bench workload of RMT-sized models (train step 2×, decode 5×, RMT step 1.5×; README,
 * "Speed": TensorFlow pays an eager op per kernel, and the kernels fuse), so it comes first when they load.
 * A run too large for the wasm heap (`workload`, see {@link estimateTrainingBytes}) goes to native
 * TensorFlow, then to the cpu backend with @rmt/kernels (tensors in ordinary memory); without the kernels
 * the cpu backend's plain JavaScript is not tried for it (hours a step): `auto` refuses, saying what to install.
 * `webgpu` comes right after `tensorflow-gpu` but `auto` takes it only on a hardware adapter: a software one
 * (Mesa's lavapipe, what CI has) measured far slower than wasm (README, "Speed": every kernel is a shader
 * run on the CPU through Vulkan), so `auto` skips it and it runs only when asked for by name. Where a
 * hardware adapter stands against the CPU paths is what `tools/device/` measures (not yet run on one).
 */
export function autoOrder(workload?: TrainingWorkload): readonly BackendName[] {
  const kernels = loadKernels().available;
  const memory = workload && estimateTrainingBytes(workload.model, workload.batch, workload.seqLen);
  if (wasmTooSmall(memory))
    return kernels ? ['tensorflow-gpu', 'webgpu', 'tensorflow', 'cpu'] : ['tensorflow-gpu', 'webgpu', 'tensorflow'];
  return kernels ? ['tensorflow-gpu', 'webgpu', 'wasm', 'tensorflow', 'cpu'] : BACKEND_NAMES;
}

export interface BackendInfo {
  /** Our name for the backend. */
  name: BackendName;
  /** The name tfjs registered it under (`tensorflow` for both native packages). */
  tfjsName: string;
  /** What it computes on, in words. */
  device: string;
  /** Why this backend was picked. */
  reason: string;
  /** On webgpu: the adapter Dawn picked (vendor, architecture, device, driver). */
  adapter?: GpuAdapterInfo;
}

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** Why it is or is not available; for a missing one, how to install it. */
  reason: string;
  /** On webgpu: the adapter Dawn found. */
  adapter?: GpuAdapterInfo;
}

/** The optional native packages, loaded by dynamic import only when asked for. */
const NATIVE_PACKAGES = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const;

const INSTALL_HINTS: Record<keyof typeof NATIVE_PACKAGES, string> = {
  'tensorflow-gpu':
    'install it with `npm install @tensorflow/tfjs-node-gpu@4.22.0` on a machine with CUDA 11.2 and cuDNN 8.1 ' +
    '(its install script downloads libtensorflow, so it needs network access)',
  tensorflow:
    'install it with `npm install @tensorflow/tfjs-node@4.22.0`, or without network access build it from a local ' +
    'TensorFlow CPU wheel with `bash tools/native/build-tfjs-node.sh` (README, "Native backend without network")',
};

export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: BackendName,
    detail: string,
  ) {
    super(`Backend '${backend}' is not available: ${detail}`);
    this.name = 'BackendUnavailableError';
  }
}

let active: BackendInfo | undefined;
/** Which native package registered tfjs's `tensorflow` backend in this process, if any. */
let nativeLoadedFrom: keyof typeof NATIVE_PACKAGES | undefined;

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

function isModuleMissing(error: unknown, pkg: string): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && errorText(error).includes(pkg)) return true;
  // Vite's module runner (vitest) reports a missing package in words, without Node's error code.
  return errorText(error).includes(`Could not resolve "${pkg}"`);
}

/** Why a native package failed to load, so later probes give the same answer without retrying. */
const nativeFailures = new Map<keyof typeof NATIVE_PACKAGES, BackendUnavailableError>();

async function loadNative(name: keyof typeof NATIVE_PACKAGES): Promise<void> {
  if (nativeLoadedFrom === name) return;
  const failed = nativeFailures.get(name);
  if (failed) throw failed;
  try {
    await importNative(name);
  } catch (error) {
    if (error instanceof BackendUnavailableError && nativeLoadedFrom === undefined) nativeFailures.set(name, error);
    throw error;
  }
}

async function importNative(name: keyof typeof NATIVE_PACKAGES): Promise<void> {
  if (nativeLoadedFrom !== undefined) {
    throw new BackendUnavailableError(
      name,
      `this process already loaded ${NATIVE_PACKAGES[nativeLoadedFrom]}; both register tfjs's 'tensorflow' backend, so only one can be used per process`,
    );
  }
  const pkg = NATIVE_PACKAGES[name];
  // TensorFlow's C++ start-up banner (oneDNN, CPU features) is noise on every run; the user can lower it.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  try {
    // A variable specifier keeps bundlers from resolving the optional peer at build time.
    const specifier: string = pkg;
    await import(/* @vite-ignore */ specifier);
  } catch (error) {
    if (isModuleMissing(error, pkg))
      throw new BackendUnavailableError(name, `${pkg} is not installed; ${INSTALL_HINTS[name]}`);
    throw new BackendUnavailableError(
      name,
      `${pkg} is installed but failed to load (${errorText(error)}); ${INSTALL_HINTS[name]}`,
    );
  }
  if (tf.findBackend('tensorflow') === null) {
    throw new BackendUnavailableError(name, `${pkg} loaded but registered no 'tensorflow' backend`);
  }
  nativeLoadedFrom = name;
}

async function deviceOf(name: BackendName): Promise<string> {
  switch (name) {
    case 'tensorflow-gpu':
      return 'GPU (CUDA, native TensorFlow)';
    case 'tensorflow':
      return 'CPU (native TensorFlow)';
    case 'wasm': {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      return `CPU (WebAssembly${simd ? ' SIMD' : ''}, 1 thread; ${wasmKernelPath()})`;
    }
    case 'cpu':
      return `CPU (JavaScript; ${cpuKernelPath()})`;
    case 'webgpu':
      return describeAdapter(await webgpuAdapter());
  }
}

/** Dawn's adapter, loading Dawn and tfjs-backend-webgpu on first use; a BackendUnavailableError when it cannot. */
async function webgpuAdapter(): Promise<GpuAdapterInfo> {
  try {
    return await loadWebGpu();
  } catch (error) {
    if (error instanceof WebGpuUnavailable) throw new BackendUnavailableError('webgpu', error.message);
    throw new BackendUnavailableError('webgpu', `${WEBGPU_PACKAGES.join(' + ')} failed to start (${errorText(error)})`);
  }
}

async function activate(name: BackendName, reason: string, auto = false): Promise<BackendInfo> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') await loadNative(name);
  const adapter = name === 'webgpu' ? await webgpuAdapter() : undefined;
  if (auto && adapter?.software) {
    throw new BackendUnavailableError(
      'webgpu',
      `the adapter is a software one (${describeAdapter(adapter)}), slower than the CPU backends: ask for 'webgpu' by name to use it`,
    );
  }
  const tfjsName = name === 'tensorflow-gpu' ? 'tensorflow' : name;
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfjsName);
  } catch (error) {
    throw new BackendUnavailableError(name, `tfjs could not initialise it (${errorText(error)})`);
  }
  if (!ok) throw new BackendUnavailableError(name, 'tfjs could not initialise it');
  await tf.ready();
  if (name === 'wasm') registerWasmTrainingKernels();
  if (name === 'cpu') {
    registerCpuKernels();
    registerCpuNativeKernels();
  }
  if (name === 'wasm' || name === 'cpu') registerKvWrite();
  // The cpu backend prints an install advert on its first write in Node; `rmt info` says the same, better.
  if (name === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  active = { name, tfjsName, device: await deviceOf(name), reason, ...(adapter ? { adapter } : {}) };
  return active;
}

/** A run no backend of this process can hold; the message gives the sizes and what to install. */
export class WorkloadTooLargeError extends Error {
  constructor(
    readonly memory: TrainingMemory,
    detail: string,
  ) {
    super(`This training run needs ~${describeTrainingMemory(memory)}; ${detail}`);
    this.name = 'WorkloadTooLargeError';
  }
}

/**
 * Select the TensorFlow.js backend for this process and return what was picked and why.
 * `auto` takes the fastest one that loads ({@link autoOrder}): tensorflow-gpu, then wasm when @rmt/kernels
 * compiled, tensorflow, wasm, cpu. With `options.workload` it first estimates the run's memory and skips
 * backends that cannot hold it (wasm beyond its 4 GiB heap), throwing a {@link WorkloadTooLargeError} with
 * the sizes when none can (also for more than the machine's memory, and for wasm asked for by name).
 * Asking for a backend that cannot load throws a {@link BackendUnavailableError} saying how to install it.
 */
export async function loadBackend(
  request: BackendRequest = 'auto',
  options: LoadBackendOptions = {},
): Promise<BackendInfo> {
  const w = options.workload;
  const memory = w && estimateTrainingBytes(w.model, w.batch, w.seqLen);
  if (memory && memory.total > totalmem()) {
    throw new WorkloadTooLargeError(
      memory,
      `this machine has ${formatBytes(totalmem())} in all: lower the batch size or the sequence length, or train on a machine with more memory (or a GPU: tensorflow-gpu)`,
    );
  }
  if (request !== 'auto') {
    if (!BACKEND_NAMES.includes(request)) {
      throw new Error(`Unknown backend '${String(request)}'; valid names: auto, ${BACKEND_NAMES.join(', ')}`);
    }
    const tooSmall = request === 'wasm' ? wasmTooSmall(memory) : undefined;
    if (memory && tooSmall)
      throw new WorkloadTooLargeError(
        memory,
        `${tooSmall}: use backend 'auto' or 'cpu' (tensors outside the heap, with @rmt/kernels), or 'tensorflow'`,
      );
    if (active?.name === request) return active;
    return activate(request, 'requested by name');
  }
  const skipped: string[] = [];
  const tooSmall = wasmTooSmall(memory);
  if (tooSmall) skipped.push(`wasm: ${tooSmall}`);
  const sized = memory ? `; the run needs ~${formatBytes(memory.total)}` : '';
  for (const name of autoOrder(w)) {
    if (name === 'webgpu' && gpuDeviceNode() === false) {
      skipped.push('webgpu: no GPU device on this machine (/dev/dri/renderD*, /dev/nvidia*)');
      continue;
    }
    try {
      return await activate(
        name,
        skipped.length === 0
          ? `auto: fastest backend${sized}`
          : `auto: fastest that loads (${skipped.join('; ')})${sized}`,
        true,
      );
    } catch (error) {
      const software = error instanceof BackendUnavailableError && /software one/.test(error.message);
      skipped.push(
        `${name}: ${software ? 'software adapter, slower than the CPU' : error instanceof BackendUnavailableError ? 'not available' : errorText(error)}`,
      );
    }
  }
  if (memory && tooSmall) {
    throw new WorkloadTooLargeError(
      memory,
      `${tooSmall}, and no backend that keeps tensors outside it can run here (${skipped.slice(1).join('; ')}): let @rmt/kernels compile (a C compiler and make, then \`npm rebuild @rmt/kernels\`) for the cpu backend with native kernels, or ${INSTALL_HINTS.tensorflow}`,
    );
  }
  throw new Error(`No TensorFlow.js backend could be loaded (${skipped.join('; ')})`);
}

/** The backend selected by the last {@link loadBackend}, if any. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

/**
 * Which backends this process can use, without changing the active one.
 * Probing a native backend imports its package (that is the only reliable test that its library loads).
 */
export async function probeBackends(): Promise<BackendProbe[]> {
  const probes: BackendProbe[] = [];
  for (const name of BACKEND_NAMES) {
    if (name === 'wasm' || name === 'cpu') {
      probes.push({ name, available: true, reason: `bundled with @rmt/backend: ${await deviceOf(name)}` });
      continue;
    }
    if (name === 'webgpu') {
      try {
        const adapter = await webgpuAdapter();
        probes.push({
          name,
          available: true,
          reason: `${WEBGPU_PACKAGES.join(' + ')} load: ${describeAdapter(adapter)}`,
          adapter,
        });
      } catch (error) {
        probes.push({
          name,
          available: false,
          reason:
            error instanceof BackendUnavailableError
              ? error.message.replace(/^Backend '[^']+' is not available: /, '')
              : errorText(error),
        });
      }
      continue;
    }
    try {
      await loadNative(name);
      probes.push({ name, available: true, reason: `${NATIVE_PACKAGES[name]} loads: ${await deviceOf(name)}` });
    } catch (error) {
      probes.push({
        name,
        available: false,
        reason:
          error instanceof BackendUnavailableError
            ? error.message.replace(/^Backend '[^']+' is not available: /, '')
            : errorText(error),
      });
    }
  }
  return probes;
}

/** Backends that load in this process, fastest first (what tests run on). */
export async function availableBackends(): Promise<BackendName[]> {
  return (await probeBackends()).filter((probe) => probe.available).map((probe) => probe.name);
}
