import { describe, expect, it } from 'vitest';
import { meanInterval, median, splitsOf, wilsonInterval } from './index.js';

describe('intervals', () => {
  it('Wilson 95% matches hand-computed values', () => {
    // 8/10: centre (0.8 + 1.92/20)/(1 + 3.8415/10) = 0.6476, half-width 0.2573 → [0.4902, 0.9433].
    const a = wilsonInterval(8, 10);
    expect(a.low).toBeCloseTo(0.4902, 4);
    expect(a.high).toBeCloseTo(0.9433, 4);
    // 0/20: [0, z²/(n + z²)] = [0, 3.8415/23.8415] = [0, 0.1611].
    const b = wilsonInterval(0, 20);
    expect(b.low).toBe(0);
    expect(b.high).toBeCloseTo(0.1611, 4);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
  });
  it('t-interval across seeds by hand, and the median', () => {
    // 1, 2, 3: mean 2, sd 1, t(2) = 4.303 → 2 ± 4.303/√3 = 2 ± 2.4843.
    const m = meanInterval([1, 2, 3]);
    expect(m.mean).toBe(2);
    expect(m.high).toBeCloseTo(4.4843, 4);
    expect(meanInterval([5])).toEqual({ mean: 5, low: 5, high: 5 });
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });
  it('splits are nested (METHOD.md §6)', () => {
    expect(splitsOf(0.4, [0.5, 1, 1.5])).toEqual([]);
    expect(splitsOf(1.2, [0.5, 1, 1.5])).toEqual(['easy', 'medium']);
    expect(splitsOf(2, [0.5, 1, 1.5])).toEqual(['easy', 'medium', 'hard']);
  });
});
