import { describe, expect, it } from 'vitest';
import {
  AdaptiveSchedule,
  budgetAt,
  budgetConfigSchema,
  combineRewards,
  createBudgetSchedule,
  cutoffLengthReward,
  triangularLengthReward,
} from './index.js';

describe('budget schedules (METHOD.md §2)', () => {
  it('the published schedule goes 800 → 160 (B_0 = 800, γ = 0.2)', () => {
    const s = createBudgetSchedule(budgetConfigSchema.parse({}));
    expect(s.budget(0, 1000)).toBe(800);
    expect(s.budget(1000, 1000)).toBe(160);
    // Hand values: 800·0.2^0.5 = 357.77 → 357; 800·0.2^0.25 = 534.99 → 534.
    expect(s.budget(500, 1000)).toBe(357);
    expect(s.budget(250, 1000)).toBe(534);
    // Monotone non-increasing.
    const all = Array.from({ length: 1001 }, (_, t) => s.budget(t, 1000));
    expect(all.every((b, i) => i === 0 || b <= all[i - 1]!)).toBe(true);
  });

  it('respects B_min and clamps steps past the end', () => {
    expect(budgetAt(10, 10, 10, 4, 0.01)).toBe(4);
    expect(budgetAt(20, 10, 800, 1, 0.2)).toBe(160);
    expect(() => budgetAt(-1, 10, 800, 1, 0.2)).toThrow(/step -1/);
    expect(() => budgetAt(1, 0, 800, 1, 0.2)).toThrow(/total 0/);
  });

  it('linear and constant schedules', () => {
    const linear = createBudgetSchedule(budgetConfigSchema.parse({ schedule: 'linear' }));
    expect([0, 500, 1000].map((t) => linear.budget(t, 1000))).toEqual([800, 480, 160]);
    const constant = createBudgetSchedule(budgetConfigSchema.parse({ schedule: 'constant', initial: 64 }));
    expect([0, 999].map((t) => constant.budget(t, 1000))).toEqual([64, 64]);
  });

  it('the adaptive schedule shrinks while accuracy holds, grows back when it falls, and resumes exactly', () => {
    const s = new AdaptiveSchedule(100, 2, { rate: 0.1, tolerance: 0.05, emaDecay: 0, lengthFloor: 0 });
    s.observe({ step: 0, accuracy: 0.9, meanLength: 50 });
    expect(s.budget(1, 10)).toBe(90);
    s.observe({ step: 1, accuracy: 0.88, meanLength: 40 });
    expect(s.budget(2, 10)).toBe(81);
    s.observe({ step: 2, accuracy: 0.5, meanLength: 30 }); // accuracy fell: back off
    expect(s.budget(3, 10)).toBe(90);
    const copy = new AdaptiveSchedule(100, 2, { rate: 0.1, tolerance: 0.05, emaDecay: 0, lengthFloor: 0 });
    copy.restore(JSON.parse(JSON.stringify(s.state())));
    s.observe({ step: 3, accuracy: 0.95, meanLength: 20 });
    copy.observe({ step: 3, accuracy: 0.95, meanLength: 20 });
    expect(copy.budget(4, 10)).toBe(s.budget(4, 10));
    // The length floor keeps the budget near what the policy uses.
    const floored = new AdaptiveSchedule(100, 2, { rate: 0.5, tolerance: 0.05, emaDecay: 0, lengthFloor: 1 });
    floored.observe({ step: 0, accuracy: 1, meanLength: 80 });
    expect(floored.budget(1, 10)).toBe(80);
  });
});

describe('length rewards', () => {
  it('triangular: hand values on both slopes and beyond 2B', () => {
    expect([0, 5, 10, 15, 20, 21].map((l) => triangularLengthReward(l, 10))).toEqual([0, 0.5, 1, 0.5, 0, 0]);
    expect(triangularLengthReward(3, 4, 2)).toBe(1.5);
    // Zero budget: only no reasoning is paid.
    expect([triangularLengthReward(0, 0), triangularLengthReward(1, 0)]).toEqual([1, 0]);
    expect(() => triangularLengthReward(NaN, 10)).toThrow(/invalid reasoning length/);
  });

  it('cut-off and the combination r = (1 − w)·match + w·len', () => {
    expect([cutoffLengthReward(10, 10), cutoffLengthReward(11, 10)]).toEqual([1, 0]);
    expect(combineRewards(1, 0.5, 0.2)).toBeCloseTo(0.9, 12);
    expect(combineRewards(0, 0.5, 0.2)).toBeCloseTo(0.1, 12);
    expect(combineRewards(0, 0.5, 0.2, true)).toBe(0);
  });

  it('config errors name the field', () => {
    expect(() => budgetConfigSchema.parse({ gamma: 2 })).toThrow(/gamma/);
    expect(() => budgetConfigSchema.parse({ initail: 5 })).toThrow(/initail/);
  });
});
