import { expect, it } from 'vitest';
import { describeEachBackend } from '@rmt/testing';
import { tf } from './index.js';

/** x[begin : begin + size] by index arithmetic on nested arrays: the independent reference. */
function reference(x: unknown, begin: number[], size: number[]): unknown {
  if (begin.length === 0) return x;
  return (x as unknown[])
    .slice(begin[0], begin[0]! + size[0]!)
    .map((row) => reference(row, begin.slice(1), size.slice(1)));
}

const iota = (shape: number[], dtype: 'float32' | 'int32' | 'bool') =>
  dtype === 'bool'
    ? tf.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i % 3 === 0),
        shape,
        dtype,
      )
    : tf.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (dtype === 'int32' ? i - 7 : i * 0.5)),
        shape,
        dtype,
      );

describeEachBackend('slice, split and concat (in-heap copies on wasm)', () => {
  const cases: [number[], number[], number[]][] = [
    [[10], [3], [4]],
    [
      [4, 6],
      [0, 2],
      [4, 3],
    ], // columns: one run per row
    [
      [4, 6],
      [1, 0],
      [2, 6],
    ], // whole rows: one run
    [
      [3, 4, 5],
      [1, 1, 2],
      [2, 2, 3],
    ],
    [
      [2, 3, 4, 5],
      [0, 1, 0, 0],
      [2, 2, 4, 5],
    ],
    [
      [2, 3, 2, 3, 2],
      [1, 0, 1, 1, 0],
      [1, 3, 1, 2, 2],
    ], // rank 5
    [
      [4, 6],
      [2, 2],
      [0, 3],
    ], // empty
  ];
  for (const dtype of ['float32', 'int32', 'bool'] as const)
    for (const [shape, begin, size] of cases)
      it(`slices ${dtype} [${shape}] at [${begin}] size [${size}]`, async () => {
        const x = iota(shape, dtype);
        const got = tf.slice(x, begin, size);
        expect(got.shape).toEqual(size);
        expect(await got.array()).toEqual(reference(await x.array(), begin, size));
        tf.dispose([x, got]);
      });

  it('splits the fused q/k/v product and concatenates it back', async () => {
    const x = iota([5, 3, 12], 'float32');
    const parts = tf.split(x, [4, 4, 4], 2);
    for (const [i, p] of parts.entries())
      expect(await p.array()).toEqual(reference(await x.array(), [0, 0, 4 * i], [5, 3, 4]));
    const halves = tf.split(x, 2, 2);
    expect(await halves[1]!.array()).toEqual(reference(await x.array(), [0, 0, 6], [5, 3, 6]));
    const back = tf.concat(parts, 2);
    expect(await back.array()).toEqual(await x.array());
    const rows = tf.concat([tf.slice(x, [0, 0, 0], [2, 3, 12]), tf.slice(x, [2, 0, 0], [3, 3, 12])], 0);
    expect(await rows.array()).toEqual(await x.array());
    tf.dispose([x, ...parts, ...halves, back, rows]);
  });

  it('concatenates int32 and bool along an inner axis, skipping empty inputs', async () => {
    const a = tf.tensor2d(
      [
        [1, 2],
        [3, 4],
      ],
      [2, 2],
      'int32',
    );
    const b = tf.tensor2d([[5], [6]], [2, 1], 'int32');
    const empty = tf.zeros([2, 0], 'int32');
    expect(await tf.concat([a, empty, b], 1).array()).toEqual([
      [1, 2, 5],
      [3, 4, 6],
    ]);
    const p = tf.tensor2d([[true], [false]], [2, 1], 'bool');
    expect(await tf.concat([p, tf.logicalNot(p)], 1).array()).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('keeps the gradients of split and slice', async () => {
    const x = iota([2, 6], 'float32');
    const g = tf.grad((t: tf.Tensor) => {
      const [a, b] = tf.split(t, [2, 4], 1);
      return tf.add(tf.sum(tf.mul(a!, 3)), tf.sum(tf.slice(b!, [1, 1], [1, 2])));
    })(x);
    expect(await g.array()).toEqual([
      [3, 3, 0, 0, 0, 0],
      [3, 3, 0, 1, 1, 0],
    ]);
    tf.dispose([x, g]);
  });
});

describeEachBackend('gather and tile (row copies on wasm)', (backend) => {
  it('gathers rows, columns and inner slices like index arithmetic', async () => {
    const x = iota([4, 3, 2], 'float32');
    const nested = (await x.array()) as number[][][];
    const ids = tf.tensor2d(
      [
        [3, 0],
        [1, 1],
      ],
      [2, 2],
      'int32',
    );
    expect(await tf.gather(x, ids).array()).toEqual([
      [nested[3], nested[0]],
      [nested[1], nested[1]],
    ]);
    const cols = tf.tensor1d([2, 0], 'int32');
    expect(await tf.gather(x, cols, 1).array()).toEqual(nested.map((m) => [m[2], m[0]]));
    expect(await tf.gather(x, tf.tensor1d([1], 'int32'), 2).array()).toEqual(nested.map((m) => m.map((r) => [r[1]])));
    expect(await tf.gather(iota([5], 'int32'), tf.tensor1d([4, 0, 4], 'int32')).array()).toEqual([-3, -7, -3]);
    // A GPU gather cannot check its indices on the host without reading them back: tfjs-webgpu does not.
    if (backend !== 'webgpu') expect(() => tf.gather(x, tf.tensor1d([4], 'int32'))).toThrow(/4 is not in \[0, 3\]/);
  });

  it('tiles along every dimension like index arithmetic', async () => {
    for (const [shape, reps] of [
      [
        [2, 3],
        [2, 2],
      ],
      [
        [2, 1, 3],
        [1, 4, 1],
      ],
      [[3], [3]],
      [
        [2, 2, 1, 2],
        [1, 1, 3, 2],
      ],
      [
        [2, 3],
        [1, 1],
      ],
      [
        [2, 3],
        [0, 2],
      ],
    ] as [number[], number[]][]) {
      const x = iota(shape, 'float32');
      const values = await x.data();
      const outShape = shape.map((d, i) => d * reps[i]!);
      const got = tf.tile(x, reps);
      expect(got.shape).toEqual(outShape);
      const flat = await got.data();
      // Output element at multi-index o comes from x at o mod shape.
      for (let e = 0; e < flat.length; e++) {
        let rest = e,
          src = 0,
          stride = 1;
        for (let i = shape.length - 1; i >= 0; i--) {
          src += ((rest % outShape[i]!) % shape[i]!) * stride;
          rest = Math.floor(rest / outShape[i]!);
          stride *= shape[i]!;
        }
        expect(flat[e]).toBe(values[src]);
      }
    }
  });
});

describeEachBackend('cast (a same-dtype cast shares the data on wasm)', () => {
  it('keeps its values after the source is disposed, and converts between dtypes (to bool: x ≠ 0)', async () => {
    const x = tf.tensor1d([1.5, -2.25, 3]);
    const same = tf.cast(x, 'float32');
    const toInt = tf.cast(x, 'int32');
    x.dispose();
    expect(Array.from(await same.data())).toEqual([1.5, -2.25, 3]);
    expect(Array.from(await toInt.data())).toEqual([1, -2, 3]);
    expect(Array.from(await tf.cast(tf.tensor1d([0, 2, -3], 'int32'), 'bool').data())).toEqual([0, 1, 1]);
    expect(Array.from(await tf.cast(tf.tensor1d([0, 0.5, Number.NaN]), 'bool').data())).toEqual([0, 1, 1]);
    tf.dispose([same, toInt]);
  });
});
