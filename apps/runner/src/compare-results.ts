// The shape of a comparison's results.json. Types only, importing none of the runner's modules, so that
// compare.ts (which computes them), claims.ts (which checks them) and report.ts (which draws them) can all
// depend on it without depending on one another in a circle.
import type { Split } from '@rmt/eval';

export type Accuracy = Record<Split | 'average', number>;

export interface CompareResults {
  seeds: number[];
  sites: Record<Split, number>;
  methods: Record<string, {
    /** Reasoning mode for rpt/rmt and ablations, NTP mode for base/ntp. */
    mode: 'reasoning' | 'next-token';
    accuracy: Accuracy;
    accuracy_ci: Record<Split | 'average', { low: number; high: number }>;
    accuracy_ntp_mode: Accuracy;
    accuracy_reasoning_mode: Accuracy;
    reasoning_length: number;
    posttrain: { before: number; after: number };
  }>;
}
