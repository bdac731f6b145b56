import { expect, it } from 'vitest';
import { loadKernels } from '@rmt/kernels';
import { autoOrder, availableBackends, loadBackend } from './index.js';

it('auto tries the GPU first, then wasm before native TensorFlow exactly when @rmt/kernels loaded', async () => {
  const order = autoOrder();
  expect(order[0]).toBe('tensorflow-gpu');
  expect(order.indexOf('wasm') < order.indexOf('tensorflow')).toBe(loadKernels().available);
  // What auto picks is the first of that order this process can load, and it says why.
  const picked = await loadBackend('auto');
  const loadable = await availableBackends();
  expect(picked.name).toBe(order.find((name) => loadable.includes(name)));
  expect(picked.reason).toMatch(/^auto: fastest/);
});
