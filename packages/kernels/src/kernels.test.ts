import { describe, expect, it } from 'vitest';
import { loadKernels } from './index.js';

const status = loadKernels();
// CI sets RMT_REQUIRE_NATIVE_KERNELS=1: there `npm ci` must have compiled the kernels, so these tests run.
const required = process.env.RMT_REQUIRE_NATIVE_KERNELS === '1';

/** The suite, or one skipped entry whose title says why the kernels did not load (as @rmt/testing's
 *  describeOrSkip does; this package sits below @rmt/backend, so its tests cannot import that). */
function describeNative(name: string, suite: () => void): void {
  if (status.available) describe(name, suite);
  else it.skip(`${name} — skipped: ${status.reason}`, () => {});
}

/** op(A)·op(B) in float64, the independent reference. */
function reference(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++)
        sum += (transA ? a[p * m + i]! : a[i * k + p]!) * (transB ? b[j * k + p]! : b[p * n + j]!);
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

describeNative('native matmul', () => {
  const kernels = status.available ? status.kernels : undefined!;

  // Sizes off every tile edge (MR ≤ 8 rows, NR ≤ 32 columns, k-blocks of 256), one row (the vector path),
  // few rows (B read in place), the model's shapes, and empty ones.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [1, 45, 70],
    [1, 64, 32],
    [3, 5, 7],
    [9, 33, 17],
    [17, 65, 300],
    [64, 64, 32],
    [16, 512, 128],
    [8, 40, 513],
    [0, 4, 3],
    [4, 0, 3],
    [4, 3, 0],
  ];
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
          for (let i = 0; i < expected.length; i++)
            expect(Math.abs(got[i]! - expected[i]!)).toBeLessThanOrEqual(1e-5 * Math.sqrt(k) + 1e-6);
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
    expect(() => kernels.matmul(memory, 0, 0, 0, 2, 3, 1, 1, 1, 1, false, false)).toThrow(
      /outside their memory or shapes invalid/,
    );
    expect(() => kernels.matmul(memory, -4, 0, 0, 1, 1, 1, 1, 1, 1, false, false)).toThrow(RangeError);
    expect(() => kernels.matmul(memory, 2, 0, 0, 1, 1, 1, 1, 1, 1, false, false)).toThrow(RangeError);
    expect(() => (kernels.matmul as (...args: unknown[]) => void)(memory, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0)).toThrow(
      TypeError,
    );
    expect(() => (kernels.matmul as (...args: unknown[]) => void)(memory, 0)).toThrow(TypeError);
  });
});

describeNative('native matmul on the thread pool', () => {
  const kernels = status.available ? status.kernels : undefined!;
  const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
  /** C from the kernel with `threads` threads, operands as Float32Arrays of their own (tfjs cpu tensors). */
  const product = (
    threads: number,
    a: Float32Array,
    b: Float32Array,
    batch: number,
    aBatch: number,
    bBatch: number,
    m: number,
    n: number,
    k: number,
    tA: boolean,
    tB: boolean,
  ) => {
    const c = new Float32Array(batch * m * n).fill(Number.NaN);
    kernels.setThreads(threads);
    try {
      kernels.matmul(null, a, b, c, batch, aBatch, bBatch, m, n, k, tA, tB);
    } finally {
      kernels.setThreads(0);
    }
    return c;
  };

  it('reads its thread count from the machine, and takes a setting', () => {
    expect(kernels.defaultThreads()).toBeGreaterThanOrEqual(1);
    kernels.setThreads(3);
    expect(kernels.threads()).toBe(3);
    kernels.setThreads(0);
    expect(kernels.threads()).toBe(
      process.env.RMT_KERNEL_THREADS ? Number(process.env.RMT_KERNEL_THREADS) : kernels.defaultThreads(),
    );
  });

  // Large enough to be split (≥ 2²¹ multiply-adds), by columns (m ≤ n), rows (m > n) and products, off every
  // tile edge; 1 and 2 rows (vector path, few-row direct path), and rows one past a panel edge (MR + 1).
  const shapes: [number, number, number, number, number][] = [
    [1, 1, 2048, 1031, 0],
    [1, 2, 1000, 1100, 0],
    [1, 16, 4133, 160, 0],
    [1, 97, 333, 200, 0],
    [1, 700, 65, 300, 0],
    [1, 17, 900, 260, 0],
    [6, 33, 130, 257, 1],
    [48, 24, 64, 64, 2],
    [3, 65, 70, 300, 0],
  ];
  for (const [batch, m, n, k, share] of shapes)
    for (const [tA, tB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const)
      it(`${batch} × ${m}×${k} · ${k}×${n}${tA ? ' Aᵀ' : ''}${tB ? ' Bᵀ' : ''}: 2, 3 and 8 threads bit-identical to 1, and within float64 tolerance`, () => {
        const aBatch = share === 1 ? 1 : batch,
          bBatch = share === 2 ? 1 : batch;
        const a = Float32Array.from({ length: aBatch * m * k }, random);
        const b = Float32Array.from({ length: bBatch * k * n }, random);
        const one = product(1, a, b, batch, aBatch, bBatch, m, n, k, tA, tB);
        for (const threads of [2, 3, 8])
          expect(bits(product(threads, a, b, batch, aBatch, bBatch, m, n, k, tA, tB))).toEqual(bits(one));
        const i = batch - 1;
        const expected = reference(
          a.subarray((aBatch === 1 ? 0 : i) * m * k, ((aBatch === 1 ? 0 : i) + 1) * m * k),
          b.subarray((bBatch === 1 ? 0 : i) * k * n, ((bBatch === 1 ? 0 : i) + 1) * k * n),
          m,
          n,
          k,
          tA,
          tB,
        );
        const got = one.subarray(i * m * n);
        for (let j = 0; j < expected.length; j++)
          expect(Math.abs(got[j]! - expected[j]!)).toBeLessThanOrEqual(1e-5 * Math.sqrt(k) + 1e-6);
      });

  it('checks Float32Array operands: too short, or of another type, is refused', () => {
    const a = new Float32Array(6),
      b = new Float32Array(6);
    expect(() => kernels.matmul(null, a, b, new Float32Array(3), 1, 1, 1, 2, 2, 3, false, false)).toThrow(RangeError);
    expect(() => kernels.matmul(null, a, b, new Float32Array(4), 1, 1, 1, 2, 2, 3, false, false)).not.toThrow();
    expect(() =>
      kernels.matmul(null, a, b, new Int32Array(4) as unknown as Float32Array, 1, 1, 1, 2, 2, 3, false, false),
    ).toThrow(TypeError);
    expect(() => kernels.matmul(null, 0, b, new Float32Array(4), 1, 1, 1, 2, 2, 3, false, false)).toThrow(RangeError); // an offset needs a memory
    const memory = new ArrayBuffer(4 * 6);
    new Float32Array(memory).set([1, 2, 3, 4, 5, 6]);
    const c = new Float32Array(4);
    kernels.matmul(memory, 0, Float32Array.of(1, 0, 0, 1, 1, 1), c, 1, 1, 1, 2, 2, 3, false, false); // mixed: A on the heap
    expect(Array.from(c)).toEqual([4, 5, 10, 11]);
  });
});

describeNative('native exp', () => {
  const kernels = status.available ? status.kernels : undefined!;

  it('is within 1 ulp of float64 e^x across the float range, and exact at the edges', () => {
    const n = 100_003; // not a multiple of any vector width
    const memory = new ArrayBuffer(8 * n);
    const x = new Float32Array(memory, 0, n);
    const out = new Float32Array(memory, 4 * n, n);
    for (let i = 0; i < n; i++) x[i] = -90 + (180 * i) / n; // beyond both ends of the normal range
    // Masked scores (−1e30) among values from −130 to −80: zeros, subnormals and normals in one vector.
    for (let i = 60_000; i < 70_000; i++) x[i] = i % 3 === 0 ? -1e30 : -130 + (50 * (i - 60_000)) / 10_000;
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

describeNative('native binary and adamw', () => {
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
    expect(() => kernels.binary(memory, 0, [0, 0, 0], Float32Array.of(1, 1, 1) as unknown as Int32Array)).toThrow(
      RangeError,
    );
    expect(() => (kernels.binary as (...args: unknown[]) => void)(memory, 0, [0, 0])).toThrow(TypeError);
    expect(() => kernels.adamw(memory, [0, 0, 0, 0, 0, 0, 40], 8, new Float32Array(10))).toThrow(RangeError);
    expect(() => kernels.adamw(memory, [0, 0, 0, 0, 0, 0, 0], 4, new Float32Array(9))).toThrow(RangeError);
  });
});

describeNative('native strided copy', () => {
  const kernels = status.available ? status.kernels : undefined!;

  it('transposes by strides, by runs and element by element, bit for bit in float32 and int32', () => {
    // x [2, 3, 4] = 0…23; out = x transposed by [1, 0, 2] (runs of 4) and by [2, 1, 0] (single elements).
    const x = Float32Array.from({ length: 24 }, (_, i) => i);
    const runs = new Float32Array(24);
    kernels.copy(null, x, runs, Int32Array.of(3, 2, 4, 4, 12, 1, 8, 4, 1));
    const byIndex = (perm: number[], shape: number[]) =>
      Array.from({ length: 24 }, (_, o) => {
        const out = perm.map((p) => shape[p]!);
        const strides = [12, 4, 1];
        let at = 0;
        for (let d = 2, rest = o; d >= 0; d--, rest = Math.floor(rest / out[d + 1]!))
          at += (rest % out[d]!) * strides[perm[d]!]!;
        return at;
      });
    expect(Array.from(runs)).toEqual(byIndex([1, 0, 2], [2, 3, 4]));
    const ints = Int32Array.from({ length: 24 }, (_, i) => i);
    const single = new Int32Array(24);
    kernels.copy(null, ints, single, Int32Array.of(4, 3, 2, 1, 4, 12, 6, 2, 1));
    expect(Array.from(single)).toEqual(byIndex([2, 1, 0], [2, 3, 4]));
    // NaN payloads and −0 survive: a copy, not arithmetic.
    const odd = new Float32Array(new Uint32Array([0x7fc00123, 0x80000000]).buffer);
    const moved = new Float32Array(2);
    kernels.copy(null, odd, moved, Int32Array.of(2, 1, 1));
    expect(Array.from(new Uint32Array(moved.buffer))).toEqual([0x7fc00123, 0x80000000]);
  });

  it('refuses operands outside the memory, bad ranks and wrong types', () => {
    const memory = new ArrayBuffer(64);
    expect(() => kernels.copy(memory, 0, 40, Int32Array.of(8, 1, 1))).toThrow(RangeError); // dst ends at 72
    expect(() => kernels.copy(memory, 0, 0, Int32Array.of(2, 3, 20, 1, 3, 1))).toThrow(RangeError); // src reaches 92
    expect(() => kernels.copy(memory, 0, 0, new Int32Array(27))).toThrow(RangeError); // rank 9
    expect(() => kernels.copy(null, new Float32Array(4), new Float32Array(3), Int32Array.of(4, 1, 1))).toThrow(
      RangeError,
    );
    expect(() =>
      kernels.copy(null, new Float64Array(4) as unknown as Float32Array, new Float32Array(4), Int32Array.of(4, 1, 1)),
    ).toThrow(TypeError);
  });
});

describeNative('native sampling', () => {
  const kernels = status.available ? status.kernels : undefined!;
  const logProb = new Float64Array(1);

  it('draws the inverse-CDF token of softmax(x / T) that float64 gives, with log π under softmax(x)', () => {
    const vocab = 1000; // not a multiple of the vector width
    const x = Float32Array.from({ length: vocab }, (_, i) => 4 * Math.sin(i * 1.7) + (i % 13 === 0 ? -1e30 : 0));
    for (const temperature of [1, 0.5, 2]) {
      const weights = Array.from(x, (v) => Math.exp((v - Math.max(...x)) / temperature));
      const total = weights.reduce((a, b) => a + b, 0);
      const logZ =
        Math.log(Array.from(x, (v) => Math.exp(v - Math.max(...x))).reduce((a, b) => a + b, 0)) + Math.max(...x);
      const cdf: number[] = [];
      weights.reduce((acc, w) => (cdf.push((acc + w) / total), acc + w), 0);
      for (let d = 0; d < 400; d++) {
        const u = (d + 0.5) / 400;
        const expected = cdf.findIndex((c) => c > u);
        if (Math.abs(cdf[expected]! - u) < 1e-5 || (expected > 0 && Math.abs(cdf[expected - 1]! - u) < 1e-5)) continue;
        expect(kernels.sample(null, x, vocab, temperature, u, logProb)).toBe(expected);
        expect(logProb[0]).toBeCloseTo(x[expected]! - logZ, 5);
      }
    }
  });

  it('takes the first largest logit at temperature 0 or with no finite logit, and refuses bad arguments', () => {
    const x = Float32Array.of(0, 3, NaN, 3, -1);
    expect(kernels.sample(null, x, 5, 0, 0, logProb)).toBe(1);
    expect(kernels.sample(null, Float32Array.of(-Infinity, -Infinity), 2, 1, 0.5, logProb)).toBe(0);
    expect(() => kernels.sample(null, x, 6, 1, 0.5, logProb)).toThrow(RangeError); // x holds 5
    expect(() => kernels.sample(null, x, 5, -1, 0.5, logProb)).toThrow(RangeError);
    expect(() => kernels.sample(null, x, 5, 1, 1, logProb)).toThrow(RangeError);
    expect(() => kernels.sample(null, x, 5, 1, 0.5, new Float64Array(0))).toThrow(RangeError);
  });
});

describeNative('native attention on the thread pool', () => {
  const kernels = status.available ? status.kernels : undefined!;

  it('gives the same bits for 1, 2 and 3 threads, near float64, masked keys skipped', () => {
    const [b, g, r, s, hd, scale] = [6, 4, 2, 160, 32, 0.2]; // 1.97M multiply-adds: split over the pool
    const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f));
    const [q, k, v] = [wave(b * g * r * hd, 0.37), wave(b * g * s * hd, 0.11), wave(b * g * s * hd, 0.23)];
    const bias = Float32Array.from({ length: b * r * s }, (_, i) => (i % s > 100 + (i % 7) ? -1e30 : 0));
    const run = (threads: number) => {
      kernels.setThreads(threads);
      const out = new Float32Array(b * g * r * hd);
      kernels.attention(null, q, k, v, bias, out, b, g, r, s, hd, scale);
      return out;
    };
    const before = kernels.threads();
    const one = run(1);
    for (const threads of [2, 3]) expect(Array.from(run(threads))).toEqual(Array.from(one));
    kernels.setThreads(before);
    // float64 for pair (sequence 5, group 3), row 1.
    const [pair, row] = [5 * g + 3, 1];
    const scores = Array.from({ length: s }, (_, j) => {
      let dot = 0;
      for (let d = 0; d < hd; d++) dot += q[(pair * r + row) * hd + d]! * k[(pair * s + j) * hd + d]!;
      return dot * scale + bias[(5 * r + row) * s + j]!;
    });
    const max = Math.max(...scores);
    const e = scores.map((x) => Math.exp(x - max));
    const sum = e.reduce((x, y) => x + y, 0);
    for (let d = 0; d < hd; d++) {
      const want = e.reduce((acc, p, j) => acc + (p / sum) * v[(pair * s + j) * hd + d]!, 0);
      expect(Math.abs(one[(pair * r + row) * hd + d]! - want)).toBeLessThan(1e-5);
    }
  });
});

describeNative('native elementwise and row kernels on the thread pool', () => {
  const kernels = status.available ? status.kernels : undefined!;

  it('give the same bits for 1, 2 and 3 threads (rows and ranges split, odd sizes)', () => {
    const wave = (n: number, f: number, scale = 3) =>
      Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * f + 0.3));
    const [rows, width, heads, hd] = [301, 333, 3, 18];
    const x = wave(rows * width, 0.013);
    const gu = wave(rows * 2 * width, 0.007);
    const dy = wave(rows * width, 0.019, 1);
    const dgu = wave(rows * 2 * width, 0.011, 1);
    const w = wave(width, 0.1, 1);
    const cos = wave(rows * hd, 0.05, 1);
    const sin = wave(rows * hd, 0.06, 1);
    const rx = wave(rows * heads * hd, 0.017);
    const targets = Int32Array.from({ length: rows }, (_, r) => (r * 37) % width);
    const flat = rows * width;
    const step = Float32Array.of(0.01, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.5, 0.3, 0.999, 0.7);
    const runs: [string, () => Float32Array[]][] = [
      [
        'binary (flat)',
        () => {
          const o = new Float32Array(flat);
          kernels.binary(null, 3, [x, dy, o], Int32Array.of(flat, 1, 1));
          return [o];
        },
      ],
      [
        'binary (broadcast rows)',
        () => {
          const o = new Float32Array(flat);
          kernels.binary(null, 2, [x, w, o], Int32Array.of(rows, width, width, 1, 0, 1));
          return [o];
        },
      ],
      [
        'exp',
        () => {
          const o = new Float32Array(flat);
          kernels.exp(null, x, o, flat);
          return [o];
        },
      ],
      [
        'adamw',
        () => {
          const o = [0, 1, 2].map(() => new Float32Array(flat));
          kernels.adamw(null, [x, dy, new Float32Array(flat).fill(1e-3), x, ...o], flat, step);
          return o;
        },
      ],
      [
        'rmsnorm',
        () => {
          const o = new Float32Array(flat);
          kernels.rmsnorm(null, x, w, o, rows, width, 1e-5);
          return [o];
        },
      ],
      [
        'rope',
        () => {
          const o = new Float32Array(rx.length);
          kernels.rope(null, rx, cos, sin, o, rows, heads, hd);
          return [o];
        },
      ],
      [
        'ropeGrad',
        () => {
          const o = new Float32Array(rx.length);
          kernels.ropeGrad(null, rx, cos, sin, o, rows, heads, hd);
          return [o];
        },
      ],
      [
        'swiglu',
        () => {
          const o = new Float32Array(flat);
          kernels.swiglu(null, gu, o, rows, width);
          return [o];
        },
      ],
      [
        'swigluGrad',
        () => {
          const o = new Float32Array(2 * flat);
          kernels.swigluGrad(null, gu, dy, o, rows, width);
          return [o];
        },
      ],
      [
        'softmax',
        () => {
          const o = new Float32Array(flat);
          kernels.softmax(null, x, o, rows, width);
          return [o];
        },
      ],
      [
        'softmaxGrad',
        () => {
          const o = new Float32Array(flat);
          kernels.softmaxGrad(null, x, dy, o, rows, width);
          return [o];
        },
      ],
      [
        'tokenLogProbs',
        () => {
          const [lp, lse] = [new Float32Array(rows), new Float32Array(rows)];
          kernels.tokenLogProbs(null, x, targets, lp, lse, rows, width);
          return [lp, lse];
        },
      ],
      [
        'tokenLogProbsGrad',
        () => {
          const o = new Float32Array(flat);
          kernels.tokenLogProbsGrad(null, x, targets, dgu.subarray(0, rows), dy.subarray(0, rows), o, rows, width);
          return [o];
        },
      ],
      [
        'entropy',
        () => {
          const [h, lse, dx] = [new Float32Array(rows), new Float32Array(rows), new Float32Array(flat)];
          kernels.entropy(null, x, h, lse, rows, width);
          kernels.entropyGrad(null, x, h, lse, dy.subarray(0, rows), dx, rows, width);
          return [h, lse, dx];
        },
      ],
    ];
    const before = kernels.threads();
    for (const [name, run] of runs) {
      kernels.setThreads(1);
      const one = run().map((a) => Array.from(a));
      for (const threads of [2, 3]) {
        kernels.setThreads(threads);
        expect(
          run().map((a) => Array.from(a)),
          `${name} on ${threads} threads`,
        ).toEqual(one);
      }
    }
    kernels.setThreads(before);
  });
});

describeNative('native row reductions: softmax, target log-probabilities, Σ x²', () => {
  const kernels = status.available ? status.kernels : undefined!;
  const floats = (n: number, scale = 1) => Float32Array.from({ length: n }, () => random() * scale);
  const near = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number) => {
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(tol);
  };

  it('softmax and its gradient match float64, rows longer than a vector and with masked (−1e30) entries', () => {
    const [rows, width] = [5, 37];
    const x = floats(rows * width, 8);
    x[3] = -1e30; // a masked key
    const dy = floats(rows * width);
    const y = new Float32Array(rows * width),
      dx = new Float32Array(rows * width);
    kernels.softmax(null, x, y, rows, width);
    kernels.softmaxGrad(null, y, dy, dx, rows, width);
    const wantY = new Float64Array(rows * width),
      wantDx = new Float64Array(rows * width);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * width, (r + 1) * width));
      const max = Math.max(...row);
      const e = row.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      let dot = 0;
      for (let j = 0; j < width; j++) dot += dy[r * width + j]! * (e[j]! / sum);
      for (let j = 0; j < width; j++) {
        wantY[r * width + j] = e[j]! / sum;
        wantDx[r * width + j] = (e[j]! / sum) * (dy[r * width + j]! - dot);
      }
    }
    near(y, wantY, 1e-6);
    near(dx, wantDx, 1e-6);
    expect(y[3]).toBe(0);
  });

  it('tokenLogProbs and its gradient match float64; a target outside the vocabulary is refused by name', () => {
    const [rows, vocab] = [4, 1000];
    const x = floats(rows * vocab, 20);
    const targets = Int32Array.of(0, 999, 17, 500);
    const dy = floats(rows);
    const lp = new Float32Array(rows),
      lse = new Float32Array(rows),
      dx = new Float32Array(rows * vocab);
    kernels.tokenLogProbs(null, x, targets, lp, lse, rows, vocab);
    kernels.tokenLogProbsGrad(null, x, targets, lse, dy, dx, rows, vocab);
    const wantLp = new Float64Array(rows),
      wantDx = new Float64Array(rows * vocab);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * vocab, (r + 1) * vocab));
      const max = Math.max(...row);
      const logSum = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
      wantLp[r] = row[targets[r]!]! - logSum;
      for (let j = 0; j < vocab; j++)
        wantDx[r * vocab + j] = dy[r]! * ((j === targets[r] ? 1 : 0) - Math.exp(row[j]! - logSum));
    }
    near(lp, wantLp, 2e-5);
    near(dx, wantDx, 1e-6);
    expect(() => kernels.tokenLogProbs(null, x, Int32Array.of(0, 1, 1000, 2), lp, lse, rows, vocab)).toThrow(
      /target id 1000 \(row 2\) outside the vocabulary of 1000/,
    );
    expect(() => kernels.tokenLogProbs(null, x, Float32Array.of(0, 1, 2, 3) as never, lp, lse, rows, vocab)).toThrow(
      TypeError,
    );
    expect(() => kernels.tokenLogProbs(null, x, targets, lp, lse, rows + 1, vocab)).toThrow(RangeError);
  });

  it('sumSquares is Σ x² in double, fixed in order (the same every call)', () => {
    const x = floats(100_003, 3);
    let want = 0;
    for (const v of x) want += v * v;
    const got = kernels.sumSquares(null, x, x.length);
    expect(Math.abs(got - want) / want).toBeLessThan(1e-12);
    expect(kernels.sumSquares(null, x, x.length)).toBe(got);
    expect(() => kernels.sumSquares(null, x, x.length + 1)).toThrow(RangeError);
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
      for (const f of ['install.cjs', 'binding.gyp', 'native'])
        cpSync(join(here, f), join(dir, f), { recursive: true });
      // PATH holds only node: no make, no cc, no python for node-gyp.
      mkdirSync(join(dir, 'bin'));
      symlinkSync(process.execPath, join(dir, 'bin', 'node'));
      const run = spawnSync(process.execPath, ['install.cjs'], {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: join(dir, 'bin'), HOME: dir },
      });
      expect(run.status).toBe(0);
      expect(run.stderr).toMatch(
        /@rmt\/kernels: (native build failed \(.+\)|node-gyp not found); matmuls stay in WebAssembly/,
      );
      expect(existsSync(join(dir, 'build', 'Release', 'rmt_kernels.node'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
