// The shape of a comparison's results.json. Types only, importing none of the runner's modules, so that
// compare.ts (which computes them), claims.ts (which checks them) and report.ts (which draws them) can all
// depend on it without depending on one another in a circle.
import type { Split } from '@rmt/eval';

export type Accuracy = Record<Split | 'average', number>;

/** A mean over seeds and its 95% t-interval across seeds (null with one seed: no interval). */
export interface Band {
  mean: number;
  low: number | null;
  high: number | null;
  /** Seeds behind it. */
  n: number;
}

/** One evaluated checkpoint of one seed: held-out results after `step` steps and `tokens` generated tokens. */
export interface CurvePoint {
  step: number;
  /** Cumulative reasoning tokens the method's rollouts generated up to this step (0 for NTP, which generates none). */
  tokens: number;
  /** Reasoning-mode accuracy, average of the splits (greedy, told the budget of that step). */
  accuracy: number;
  /** NTP-mode accuracy at the sites, average of the splits. */
  ntp_accuracy: number;
  /** Mean reasoning tokens on the held-out sites. */
  length: number;
  /** Teacher-forced next-token accuracy and NLL on every held-out token. */
  all_tokens_accuracy: number | null;
  all_tokens_nll: number | null;
}

/** One point of a curve summarised over seeds; `x` is the step or the generated-token grid point. */
export interface CurveSummary {
  x: number;
  accuracy: Band;
  length: Band;
  /** Against steps: the tokens reached by then; against tokens: the step of the checkpoint used. */
  other: Band;
}

/** What a claim's verdict follows from: per-seed statistics, their 95% t-interval, and the rule. */
export interface ClaimCheck {
  id: string;
  claim: string;
  /** What is measured per seed (e.g. `rmt accuracy / rpt accuracy`). */
  statistic: string;
  /** The claim holds when the interval lies entirely above ('above') or below ('below') the threshold. */
  direction: 'above' | 'below';
  threshold: number;
  per_seed: number[];
  mean: number;
  interval: { low: number; high: number } | null;
  /** holds: the interval excludes the threshold on the claim's side; fails: on the other side; else inconclusive. */
  verdict: 'holds' | 'fails' | 'inconclusive';
  /** A claim made of several comparisons (an order, "beats all of"): it holds when every part holds, fails when one fails. */
  parts?: ClaimCheck[];
}

/** Per seed, the numbers the claims are computed from (in the order of `seeds`). */
export interface SeedNumbers {
  seed: number;
  /** The method's mode accuracy (average of the splits), at its last step. */
  accuracy: number;
  reasoning_accuracy: number;
  length: number;
  posttrain_after: number;
  all_tokens_accuracy: number | null;
  all_tokens_nll: number | null;
  /** Total reasoning tokens generated in mid-training. */
  tokens: number;
  /** At the shared compute point `equal_compute.tokens`: the checkpoint nearest it (RL methods only). */
  equal_compute?: { step: number; tokens: number; accuracy: number; length: number };
}

export interface CompareResults {
  seeds: number[];
  sites: Record<Split, number>;
  methods: Record<
    string,
    {
      /** Reasoning mode for rpt/rmt and ablations, NTP mode for base/ntp. */
      mode: 'reasoning' | 'next-token';
      accuracy: Accuracy;
      accuracy_ci: Record<Split | 'average', { low: number; high: number }>;
      accuracy_ntp_mode: Accuracy;
      accuracy_reasoning_mode: Accuracy;
      reasoning_length: number;
      posttrain: { before: number; after: number };
      /** Next-token accuracy and NLL over every held-out token (absent in results written before it existed). */
      all_tokens?: { accuracy: Band; nll: Band };
      /** Mean total reasoning tokens generated in mid-training. */
      generated_tokens?: number;
      per_seed?: SeedNumbers[];
    }
  >;
  /** Learning curves: checkpoints every `every` steps, against steps and against generated tokens. */
  curves?: {
    every: number;
    /** The shared compute grid (generated tokens) of the by_tokens curves. */
    grid_tokens: number[];
    methods: Record<string, { per_seed: CurvePoint[][]; by_step: CurveSummary[]; by_tokens: CurveSummary[] }>;
  };
  /**
   * Equal compute: the largest generated-token count every RL method reached in every seed; each method is
   * read at its checkpoint nearest it.
   */
  equal_compute?: { tokens: number; methods: Record<string, { accuracy: Band; length: Band; step: Band }> };
  /** The claims with 95% intervals over seeds and the pre-registered decision rule (README, "When does each part of RMT help?"). */
  claims?: ClaimCheck[];
}

/** `rmt compare --sweep`: one comparison per setting of the swept knobs, and which claim holds where. */
export interface SweepResults {
  sweep: { key: string; values: unknown[] }[];
  seeds: number[];
  settings: { label: string; values: Record<string, unknown>; dir: string; results: CompareResults }[];
  /** claim id → setting label → verdict (with the interval). */
  summary: {
    id: string;
    claim: string;
    verdicts: Record<
      string,
      { verdict: ClaimCheck['verdict']; mean: number; interval: { low: number; high: number } | null }
    >;
  }[];
}
