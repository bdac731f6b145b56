import { describe, expect, it } from 'vitest';
import { loadKernels } from './index.js';

const status = loadKernels();
// CI sets RMT_REQUIRE_NATIVE_KERNELS=1: there `npm ci` must have compiled the kernels, so these tests run.
const required = process.env.RMT_REQUIRE_NATIVE_KERNELS === '1';

/** op(A)·op(B) in float64, the independent reference. */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transA: boolean, transB: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += (transA ? a[p * m + i]! : a[i * k + p]!) * (transB ? b[j * k + p]! : b[p * n + j]!);
      c[i * n + j] = sum;
    }
  return c;
}

let seed = 7;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;

it('is compiled where the build is required', () => {
  if (required) expect(status).toMatchObject({ available: true });
  expect(status.reason.length).toBeGreaterThan(0);
});

describe.skipIf(!status.available)('native matmul', () => {
  const kernels = status.available ? status.kernels : undefined!;

  // Sizes off every tile edge (MR ≤ 8 rows, NR ≤ 32 columns, k-blocks of 256), one row (the vector path),
  // few rows (B read in place), the model's shapes, and empty ones.
  const shapes: [number, number, number][] = [[1, 1, 1], [1, 45, 70], [1, 64, 32], [3, 5, 7], [9, 33, 17], [17, 65, 300], [64, 64, 32], [16, 512, 128], [8, 40, 513], [0, 4, 3], [4, 0, 3], [4, 3, 0]];
  for (const [m, n, k] of shapes)
    for (const transA of [false, true])
      for (const transB of [false, true])
        it(`${m}×${k} · ${k}×${n}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''} matches float64`, () => {
          const a = Float32Array.from({ length: m * k }, random);
          const b = Float32Array.from({ length: k * n }, random);
          // Operands at offsets inside one buffer, as on the wasm heap; C starts filled with garbage.
          const memory = new ArrayBuffer(4 * (8 + a.length + b.length + m * n));
          const heap = new Float32Array(memory);
          heap.set(a, 8);
          heap.set(b, 8 + a.length);
          const cAt = 8 + a.length + b.length;
          heap.fill(Number.NaN, cAt);
          kernels.matmul(memory, 32, 4 * (8 + a.length), 4 * cAt, 1, 1, 1, m, n, k, transA, transB);
          const expected = reference(a, b, m, n, k, transA, transB);
          const got = heap.subarray(cAt, cAt + m * n);
          for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThanOrEqual(1e-5 * Math.sqrt(k) + 1e-6);
        });

  it('runs a batch of products, sharing an operand with batch 1', () => {
    const [batch, m, n, k] = [3, 5, 6, 4];
    const a = Float32Array.from({ length: batch * m * k }, random);
    const b = Float32Array.from({ length: k * n }, random); // one B for every product
    const memory = new ArrayBuffer(4 * (a.length + b.length + batch * m * n));
    const heap = new Float32Array(memory);
    heap.set(a);
    heap.set(b, a.length);
    kernels.matmul(memory, 0, 4 * a.length, 4 * (a.length + b.length), batch, batch, 1, m, n, k, false, false);
    for (let i = 0; i < batch; i++) {
      const expected = reference(a.subarray(i * m * k, (i + 1) * m * k), b, m, n, k, false, false);
      const at = a.length + b.length + i * m * n;
      expected.forEach((v, j) => expect(heap[at + j]).toBeCloseTo(v, 5));
    }
  });

  it('refuses operands outside the memory and arguments of the wrong type', () => {
    const memory = new ArrayBuffer(64);
    expect(() => kernels.matmul(memory, 0, 0, 52, 1, 1, 1, 2, 2, 2, false, false)).toThrow(RangeError); // C ends 4 bytes past the end
    expect(() => kernels.matmul(memory, 0, 0, 48, 1, 1, 1, 2, 2, 2, false, false)).not.toThrow();
    expect(() => kernels.matmul(memory, 0, 0, 0, 2, 3, 1, 1, 1, 1, false, false)).toThrow(/outside the memory or shapes invalid/);
    expect(() => kernels.matmul(memory, -4, 0, 0, 1, 1, 1, 1, 1, 1, false, false)).toThrow(RangeError);
    expect(() => kernels.matmul(memory, 2, 0, 0, 1, 1, 1, 1, 1, 1, false, false)).toThrow(RangeError);
    expect(() => (kernels.matmul as (...args: unknown[]) => void)(memory, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0)).toThrow(TypeError);
    expect(() => (kernels.matmul as (...args: unknown[]) => void)(memory, 0)).toThrow(TypeError);
  });
});

describe.skipIf(!status.available)('native exp', () => {
  const kernels = status.available ? status.kernels : undefined!;

  it('is within 1 ulp of float64 e^x across the float range, and exact at the edges', () => {
    const n = 100_003; // not a multiple of any vector width
    const memory = new ArrayBuffer(8 * n);
    const x = new Float32Array(memory, 0, n);
    const out = new Float32Array(memory, 4 * n, n);
    for (let i = 0; i < n; i++) x[i] = -90 + (180 * i) / n; // beyond both ends of the normal range
    const edges = [Number.NaN, -Infinity, Infinity, -1e30, 0, -0, 88.72283, 88.8, -87.33654, -103, -104];
    x.set(edges, 5000);
    kernels.exp(memory, 0, 4 * n, n);
    for (let i = 0; i < n; i++) {
      const want = Math.fround(Math.exp(x[i]!));
      if (Number.isNaN(want)) expect(out[i]).toBeNaN();
      else if (want === 0 || !Number.isFinite(want)) expect(out[i]).toBe(want);
      else {
        const ulp = Math.max(Math.abs(want) * 2 ** -23, 2 ** -149); // one unit in the last place of a float32
        expect(Math.abs(out[i]! - want) / ulp).toBeLessThanOrEqual(1);
      }
    }
  });

  it('works in place and refuses operands outside the memory', () => {
    const memory = new ArrayBuffer(16);
    new Float32Array(memory).set([0, 1, -1, 2]);
    kernels.exp(memory, 0, 0, 4);
    expect(Array.from(new Float32Array(memory))).toEqual([1, Math.E, 1 / Math.E, Math.E ** 2].map(Math.fround));
    expect(() => kernels.exp(memory, 4, 0, 4)).toThrow(RangeError);
    expect(() => (kernels.exp as (...args: unknown[]) => void)(memory, 0, 0)).toThrow(TypeError);
  });
});

describe.skipIf(!status.available)('native binary and adamw', () => {
  const kernels = status.available ? status.kernels : undefined!;

  it('broadcasts by strides: a [2, 3] row-wise times b [3]', () => {
    const memory = new ArrayBuffer(4 * 15);
    const heap = new Float32Array(memory);
    heap.set([1, 2, 3, 4, 5, 6], 0);
    heap.set([10, 100, 1000], 6);
    // shape [2, 3]; a's strides [3, 1]; b's strides [0, 1] (it repeats along rows)
    kernels.binary(memory, 2, [0, 24, 36], Int32Array.of(2, 3, 3, 1, 0, 1));
    expect(Array.from(heap.subarray(9))).toEqual([10, 200, 3000, 40, 500, 6000]);
  });

  it('refuses operands outside the memory, bad ops and ranks, and wrong types', () => {
    const memory = new ArrayBuffer(64);
    expect(() => kernels.binary(memory, 0, [0, 0, 40], Int32Array.of(8, 1, 1))).toThrow(RangeError); // out ends at 72
    expect(() => kernels.binary(memory, 0, [0, 60, 0], Int32Array.of(2, 1, 1))).toThrow(RangeError); // b reaches 68
    expect(() => kernels.binary(memory, 4 as 0, [0, 0, 0], Int32Array.of(1, 1, 1))).toThrow(RangeError);
    expect(() => kernels.binary(memory, 0, [0, 0, 0], new Int32Array(27))).toThrow(RangeError); // rank 9
    expect(() => kernels.binary(memory, 0, [0, 0, 0], Int32Array.of(-1, 1, 1))).toThrow(RangeError);
    expect(() => kernels.binary(memory, 0, [0, 0, 0], Float32Array.of(1, 1, 1) as unknown as Int32Array)).toThrow(RangeError);
    expect(() => (kernels.binary as (...args: unknown[]) => void)(memory, 0, [0, 0])).toThrow(TypeError);
    expect(() => kernels.adamw(memory, [0, 0, 0, 0, 0, 0, 40], 8, new Float32Array(10))).toThrow(RangeError);
    expect(() => kernels.adamw(memory, [0, 0, 0, 0, 0, 0, 0], 4, new Float32Array(9))).toThrow(RangeError);
  });
});

describe('install without a compiler', () => {
  it('warns, exits 0 and leaves no addon, so the install goes on', async () => {
    const { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } = await import('node:fs');
    const { spawnSync } = await import('node:child_process');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const here = new URL('..', import.meta.url).pathname;
    const dir = mkdtempSync(join(tmpdir(), 'rmt-kernels-'));
    try {
      for (const f of ['install.cjs', 'binding.gyp', 'native']) cpSync(join(here, f), join(dir, f), { recursive: true });
      // PATH holds only node: no make, no cc, no python for node-gyp.
      mkdirSync(join(dir, 'bin'));
      symlinkSync(process.execPath, join(dir, 'bin', 'node'));
      const run = spawnSync(process.execPath, ['install.cjs'], { cwd: dir, encoding: 'utf8', env: { PATH: join(dir, 'bin'), HOME: dir } });
      expect(run.status).toBe(0);
      expect(run.stderr).toMatch(/@rmt\/kernels: (native build failed \(.+\)|node-gyp not found); matmuls stay in WebAssembly/);
      expect(existsSync(join(dir, 'build', 'Release', 'rmt_kernels.node'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
