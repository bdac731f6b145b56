import { expect, it } from 'vitest';
import { describeEachBackend } from '@rmt/testing';
import { kvCacheWrite, kvCacheWritesInPlace, tf } from './index.js';

describeEachBackend('kvCacheWrite', (backend) => {
  it('writes an update at a position of a cache [B, H, S, hd], leaving the rest, against index arithmetic', async () => {
    const [b, h, s, hd, t, at] = [2, 3, 7, 4, 2, 3];
    const start = tf.memory().numTensors;
    const base = Array.from({ length: b * h * s * hd }, (_, i) => i * 0.25);
    const upd = Array.from({ length: b * h * t * hd }, (_, i) => -1 - i);
    const cache = tf.tensor4d(base, [b, h, s, hd]);
    const update = tf.tensor4d(upd, [b, h, t, hd]);
    const out = kvCacheWrite(cache, update, at);
    const expected = [...base];
    for (let r = 0; r < b * h; r++)
      for (let p = 0; p < t; p++)
        for (let j = 0; j < hd; j++) expected[(r * s + at + p) * hd + j] = upd[(r * t + p) * hd + j]!;
    expect(out.shape).toEqual([b, h, s, hd]);
    expect(Array.from(await out.data())).toEqual(expected);
    expect(kvCacheWritesInPlace()).toBe(backend === 'wasm' || backend === 'cpu');
    // In place: the cache handle sees the write, and disposing one handle leaves the other valid.
    if (kvCacheWritesInPlace()) expect(Array.from(await cache.data())).toEqual(expected);
    cache.dispose();
    expect(Array.from(await out.data())).toEqual(expected);
    tf.dispose([out, update]);
    expect(tf.memory().numTensors).toBe(start);
    expect(() => kvCacheWrite(tf.zeros([1, 1, 2, 4]), tf.zeros([1, 1, 1, 4]), 2)).toThrow(/does not fit/);
  });
});
