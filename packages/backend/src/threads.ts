// How many threads one native product may use, for this process (@rmt/kernels' thread pool).
import { loadKernels } from '@rmt/kernels';

/**
 * Threads a native matmul may use in this process (shared by its worker threads): `n` ≥ 1, or 0 for the
 * default (the cores this process may run on, or `RMT_KERNEL_THREADS`). Set 1 when data-parallel workers
 * already occupy the other cores, so that the kernels do not oversubscribe them. Returns the setting in
 * force, 1 without @rmt/kernels (WebAssembly and plain JavaScript run on one thread).
 */
export function setKernelThreads(n: number): number {
  const native = loadKernels();
  if (!native.available) return 1;
  native.kernels.setThreads(Math.floor(n));
  return native.kernels.threads();
}

/** The threads a native matmul may use now (1 without @rmt/kernels). */
export function kernelThreads(): number {
  const native = loadKernels();
  return native.available ? native.kernels.threads() : 1;
}
