// The WebGPU backend: @tensorflow/tfjs-backend-webgpu on Dawn's Node bindings (npm `webgpu`, which ships
// dawn.node for linux/macOS/windows in its tarball: nothing is downloaded or compiled at install). Dawn runs
// on Vulkan (Linux), Metal (macOS) or D3D12 (Windows); on Linux it needs a Vulkan loader and driver: the
// GPU vendor's, or Mesa's lavapipe (software, on the CPU: what CI tests on, never picked by `auto`).
//
// tfjs-backend-webgpu registers itself at import only when `navigator.gpu` exists, and its kernels use the
// WebGPU globals (GPUBufferUsage, …): both must be in place before it is imported, hence the order below.
// A GPU tensor cannot be read synchronously in Node (tfjs reads back through an OffscreenCanvas, which Node
// lacks), so RMT reads every tensor with `await t.data()` (see `readValues`), on every backend.

import { existsSync, readdirSync } from 'node:fs';
import { registerWebGpuKernels } from './webgpu-kernels.js';
import { registerDeterministicWebGpuKernels } from './webgpu-determinism.js';

/** What Dawn says of the adapter it picked (WebGPU's `GPUAdapterInfo`). */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasteriser (lavapipe/llvmpipe, SwiftShader): correct but slower than RMT's CPU paths. */
  software: boolean;
}

/** The optional peers, loaded by dynamic import only when asked for. */
export const WEBGPU_PACKAGES = ['webgpu', '@tensorflow/tfjs-backend-webgpu'] as const;

const WEBGPU_INSTALL_HINT =
  'install it with `npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0` (Dawn ships in the npm tarball: no download); ' +
  'on Linux it needs a Vulkan driver (the GPU vendor’s, or Mesa ≥ 24 lavapipe: on Debian bookworm `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`)';

/** A reason the backend cannot load; select.ts turns it into a BackendUnavailableError. */
export class WebGpuUnavailable extends Error {}

let loaded: Promise<GpuAdapterInfo> | undefined;

function text(error: unknown): string {
  const t = error instanceof Error ? error.message : String(error);
  return t.split('\n')[0] ?? t;
}

function isMissing(error: unknown, pkg: string): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return (
    ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && text(error).includes(pkg)) ||
    text(error).includes(`Could not resolve "${pkg}"`)
  );
}

async function importOptional(pkg: string): Promise<unknown> {
  try {
    // A variable specifier keeps bundlers from resolving the optional peer at build time.
    const specifier: string = pkg;
    return await import(/* @vite-ignore */ specifier);
  } catch (error) {
    if (isMissing(error, pkg)) throw new WebGpuUnavailable(`${pkg} is not installed; ${WEBGPU_INSTALL_HINT}`);
    throw new WebGpuUnavailable(`${pkg} is installed but failed to load (${text(error)}); ${WEBGPU_INSTALL_HINT}`);
  }
}

interface DawnModule {
  create(options: string[]): { requestAdapter(options?: object): Promise<DawnAdapter | null> };
  globals: object;
}
interface DawnAdapter {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}

/**
 * On Linux a GPU shows as a device node: /dev/dri/renderD* (Mesa's Intel, AMD and virtual drivers) or
 * /dev/nvidia* (NVIDIA's). Without one, any adapter Dawn finds is a software one: `auto` can pass webgpu over
 * without starting Dawn (which takes seconds and prints lavapipe's limit warnings). Elsewhere: unknown.
 */
export function gpuDeviceNode(): boolean | undefined {
  if (process.platform !== 'linux') return undefined;
  const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  return entries('/dev/dri').some((n) => n.startsWith('renderD')) || entries('/dev').some((n) => /^nvidia\d+$/.test(n));
}

/** Software adapters by what Dawn reports: lavapipe says architecture 'software', device llvmpipe. */
function isSoftwareAdapter(a: DawnAdapter): boolean {
  const i = a.info ?? {};
  return (
    a.isFallbackAdapter === true ||
    i.isFallbackAdapter === true ||
    i.architecture === 'software' ||
    /llvmpipe|lavapipe|swiftshader|softpipe/i.test(`${i.device ?? ''} ${i.description ?? ''}`)
  );
}

async function load(): Promise<GpuAdapterInfo> {
  const dawn = (await importOptional('webgpu')) as DawnModule;
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailable(
      'Dawn found no WebGPU adapter (on Linux: no Vulkan driver that Dawn accepts; Debian bookworm’s Mesa 22.3 lavapipe is refused, Mesa 25 from bookworm-backports works, as does an NVIDIA/AMD/Intel driver with libvulkan1)',
    );
  }
  const g = globalThis as { navigator?: { gpu?: unknown } };
  Object.assign(globalThis, dawn.globals);
  // Node ≥ 21 has a global `navigator` without `gpu`; Node 20 has none.
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  // RMT's WGSL kernels (the fused blocks, AdamW) take its dispatch helpers, so they register after it.
  registerWebGpuKernels(await importOptional('@tensorflow/tfjs-backend-webgpu'));
  // Its kernels that add with atomics (run-to-run different sums), replaced by ordered ones.
  registerDeterministicWebGpuKernels();
  const i = adapter.info ?? {};
  return {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    software: isSoftwareAdapter(adapter),
  };
}

/**
 * Load Dawn and tfjs-backend-webgpu once per process and return the adapter; throws {@link WebGpuUnavailable}
 * (the same one on every later call) when a package is missing or Dawn finds no adapter.
 */
export function loadWebGpu(): Promise<GpuAdapterInfo> {
  loaded ??= load();
  return loaded;
}

/** The adapter in words, for `rmt info` and the backend's `device`. */
export function describeAdapter(a: GpuAdapterInfo): string {
  const parts = [a.vendor || 'unknown vendor', a.architecture, a.device].filter((p) => p !== '');
  return `GPU (WebGPU on Dawn: ${parts.join(' ')}${a.description ? `; driver: ${a.description}` : ''}${a.software ? '; software adapter, on the CPU' : ''})`;
}
