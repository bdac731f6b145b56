// Budget schedules B_t (METHOD.md §2). A schedule is asked once per step for the budget to tell the policy.

/** What the trainer observed at a step: accuracy of the rollouts and their mean reasoning length. */
export interface BudgetObservation {
  step: number;
  accuracy: number;
  meanLength: number;
}

export interface BudgetSchedule {
  readonly name: string;
  /** Budget (reasoning tokens) at `step` of `total`. */
  budget(step: number, total: number): number;
  /** Feed back what the step produced (only the adaptive schedule uses it). */
  observe?(observation: BudgetObservation): void;
  /** JSON state for checkpoints (exact resume); stateless schedules return undefined. */
  state?(): unknown;
  restore?(state: unknown): void;
}

function checkStep(step: number, total: number): void {
  if (!Number.isFinite(step) || !Number.isFinite(total) || total <= 0 || step < 0) {
    throw new Error(`budget schedule: need 0 ≤ step and total > 0, got step ${step}, total ${total}`);
  }
}

/** B_t = max(B_min, ⌊B_0 · γ^(t/T)⌋) — the published schedule (METHOD.md §2). */
export function budgetAt(step: number, total: number, initial: number, minimum: number, gamma: number): number {
  checkStep(step, total);
  // A tiny epsilon keeps exact products (800·0.2 = 160.00000000000003 or 159.99999999999997) on their integer.
  return Math.max(minimum, Math.floor(initial * gamma ** (Math.min(step, total) / total) + 1e-9));
}

export class ConstantSchedule implements BudgetSchedule {
  readonly name = 'constant';
  constructor(private readonly initial: number) {}
  budget(step: number, total: number): number {
    checkStep(step, total);
    return this.initial;
  }
}

/** Schedules that fall from B_0 toward B_0·γ over training, floored at B_min. */
abstract class DecayingSchedule implements BudgetSchedule {
  abstract readonly name: string;
  constructor(
    protected readonly initial: number,
    protected readonly minimum: number,
    protected readonly gamma: number,
  ) {}
  abstract budget(step: number, total: number): number;
}

export class ExponentialSchedule extends DecayingSchedule {
  readonly name = 'exponential';
  budget(step: number, total: number): number {
    return budgetAt(step, total, this.initial, this.minimum, this.gamma);
  }
}

/** Straight line from B_0 to B_0·γ over training (same end points as the exponential schedule). */
export class LinearSchedule extends DecayingSchedule {
  readonly name = 'linear';
  budget(step: number, total: number): number {
    checkStep(step, total);
    const fraction = Math.min(step, total) / total;
    return Math.max(this.minimum, Math.floor(this.initial * (1 - (1 - this.gamma) * fraction) + 1e-9));
  }
}

export interface AdaptiveState {
  budget: number;
  accuracyEma: number | null;
  bestEma: number | null;
}

/**
 * Adaptive schedule (ours; the published method has none). A feedback controller that looks for the
 * shortest budget that costs no accuracy: it keeps an exponential moving average of rollout accuracy;
 * while the average stays within `tolerance` of the best seen, the budget shrinks by `rate` per step
 * (never below B_min, and never far below what the policy actually uses: at least `lengthFloor` × the
 * observed mean length); when accuracy falls further, the budget grows back by the same factor (up to B_0).
 * So it shortens reasoning as fast as the policy can follow, and backs off when compression starts to hurt.
 */
export class AdaptiveSchedule implements BudgetSchedule {
  readonly name = 'adaptive';
  private s: AdaptiveState;
  constructor(
    private readonly initial: number,
    private readonly minimum: number,
    private readonly options: { rate: number; tolerance: number; emaDecay: number; lengthFloor: number },
  ) {
    this.s = { budget: initial, accuracyEma: null, bestEma: null };
  }
  budget(step: number, total: number): number {
    checkStep(step, total);
    return Math.max(this.minimum, Math.round(this.s.budget));
  }
  observe({ accuracy, meanLength }: BudgetObservation): void {
    if (!Number.isFinite(accuracy) || !Number.isFinite(meanLength)) return;
    const { rate, tolerance, emaDecay, lengthFloor } = this.options;
    const ema = this.s.accuracyEma === null ? accuracy : emaDecay * this.s.accuracyEma + (1 - emaDecay) * accuracy;
    const best = Math.max(this.s.bestEma ?? ema, ema);
    const holding = ema >= best - tolerance;
    let next = holding ? this.s.budget * (1 - rate) : this.s.budget / (1 - rate);
    if (holding) next = Math.max(next, lengthFloor * meanLength);
    this.s = { budget: Math.min(this.initial, Math.max(this.minimum, next)), accuracyEma: ema, bestEma: best };
  }
  state(): AdaptiveState {
    return { ...this.s };
  }
  restore(state: unknown): void {
    const s = state as AdaptiveState;
    if (typeof s?.budget !== 'number') throw new Error('adaptive budget schedule: invalid saved state');
    this.s = { ...s };
  }
}
