import { expect, it } from 'vitest';
import { loadKernels } from '@rmt/kernels';
import { autoOrder, gpuDeviceNode, loadBackend, probeBackends } from './index.js';

it('auto tries the GPUs first, then wasm before native TensorFlow exactly when @rmt/kernels loaded', async () => {
  const order = autoOrder();
  expect(order.slice(0, 2)).toEqual(['tensorflow-gpu', 'webgpu']);
  expect(order.indexOf('wasm') < order.indexOf('tensorflow')).toBe(loadKernels().available);
  // What auto picks is the first of that order this process can load — a software WebGPU adapter (lavapipe)
  // excepted: it is slower than every CPU path — and it says why.
  const picked = await loadBackend('auto');
  const probes = await probeBackends();
  const loadable = probes.filter((p) => p.available && !p.adapter?.software).map((p) => p.name);
  expect(picked.name).toBe(order.find((name) => loadable.includes(name)));
  expect(picked.reason).toMatch(/^auto: fastest/);
  const webgpu = probes.find((p) => p.name === 'webgpu')!;
  // Without a GPU device node, auto does not even start Dawn; with one, it checks the adapter.
  if (webgpu.adapter?.software)
    expect(picked.reason).toMatch(
      gpuDeviceNode() === false ? /webgpu: no GPU device on this machine/ : /webgpu: software adapter/,
    );
  // The adapter is named from Dawn's GPUAdapterInfo (`rmt info` prints it).
  if (webgpu.available) expect(webgpu.reason).toMatch(/WebGPU on Dawn: \S+/);
});
