import { expect, it } from 'vitest';
import { describeEachBackend } from '@rmt/testing';
import { tf } from './index.js';

let seed = 11;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 2;

/** a op b with numpy broadcasting, by index arithmetic in float64 over float32 inputs. */
function reference(
  op: (x: number, y: number) => number,
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
) {
  const rank = Math.max(aShape.length, bShape.length);
  const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(aShape), pad(bShape)];
  const out = pa.map((d, i) => (d === 1 ? pb[i]! : d));
  const size = out.reduce((x, y) => x * y, 1);
  const values = new Float64Array(size);
  const at = (shape: number[], index: number[]) =>
    shape.reduce((flat, d, i) => flat * d + (d === 1 ? 0 : index[i]!), 0);
  for (let e = 0; e < size; e++) {
    const index: number[] = [];
    let rest = e;
    for (let i = rank - 1; i >= 0; i--) {
      index[i] = rest % out[i]!;
      rest = Math.floor(rest / out[i]!);
    }
    values[e] = op(a[at(pa, index)]!, b[at(pb, index)]!);
  }
  return { shape: out, values };
}

describeEachBackend('add, sub, mul, div with broadcasting (native on wasm, when compiled)', () => {
  const ops = [
    ['add', tf.add, (x: number, y: number) => x + y],
    ['sub', tf.sub, (x: number, y: number) => x - y],
    ['mul', tf.mul, (x: number, y: number) => x * y],
    ['div', tf.div, (x: number, y: number) => x / y],
  ] as const;
  const shapes: [number[], number[]][] = [
    [
      [5, 7],
      [5, 7],
    ], // same shape: one flat row
    [
      [16, 1, 4, 32],
      [16, 1, 1, 32],
    ], // RoPE
    [
      [16, 1, 128],
      [16, 1, 1],
    ], // RMSNorm's scale
    [[3, 128], [128]], // a gain
    [
      [2, 3, 4, 5],
      [2, 1, 4, 5],
    ], // attention bias
    [
      [3, 1, 5],
      [1, 4, 1],
    ], // both broadcast
    [[], [2, 3]], // a scalar
    [[4, 1], []],
    [
      [2, 0, 3],
      [1, 1, 3],
    ], // empty
  ];
  for (const [name, op, f] of ops)
    for (const [aShape, bShape] of shapes)
      it(`${name} [${aShape}] and [${bShape}] matches float64`, async () => {
        const a = tf.tensor(Float32Array.from({ length: aShape.reduce((x, y) => x * y, 1) }, random), aShape);
        const b = tf.tensor(
          Float32Array.from({ length: bShape.reduce((x, y) => x * y, 1) }, () => random() || 1),
          bShape,
        );
        const got = op(a, b);
        const want = reference(f, (await a.data()) as Float32Array, aShape, (await b.data()) as Float32Array, bShape);
        expect(got.shape).toEqual(want.shape);
        const values = await got.data();
        want.values.forEach((v, i) => expect(Math.abs(values[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * 1.2e-7));
        tf.dispose([a, b, got]);
      });

  it('keeps IEEE semantics: division by zero, NaN, infinities; int32 stays exact', async () => {
    const got = await tf.div(tf.tensor1d([1, -1, 0, Number.NaN, Infinity]), tf.tensor1d([0, 0, 0, 1, Infinity])).data();
    expect(Array.from(got)).toEqual([Infinity, -Infinity, Number.NaN, Number.NaN, Number.NaN]);
    expect(Array.from(await tf.add(tf.tensor1d([2 ** 30, 7], 'int32'), tf.scalar(1, 'int32')).data())).toEqual([
      2 ** 30 + 1,
      8,
    ]);
  });

  it('differentiates through broadcasting like float64', async () => {
    const x = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const w = tf.tensor1d([0.5, -1, 2]);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(a, b)))([x, w]);
    expect(await dx!.array()).toEqual([
      [0.5, -1, 2],
      [0.5, -1, 2],
    ]);
    expect(await dw!.array()).toEqual([5, 7, 9]);
  });
});
