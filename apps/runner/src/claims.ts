// The paper's four headline comparisons (issue 6), checked on a comparison's results and reported as
// measured — the tables say whether each holds; nothing is tuned to make them hold.
import type { CompareResults } from './compare-results.js';
import { pct } from './format.js';

/** The four comparisons the paper reports, checked on these results (issue: report them, whatever they say). */
export function claims(r: CompareResults): { claim: string; measured: string; holds: boolean }[] {
  const m = r.methods;
  const acc = (k: string) => m[k]!.accuracy.average;
  const ratio = acc('rmt') / acc('rpt');
  const lengthRatio = m.rmt!.reasoning_length / m.rpt!.reasoning_length;
  // Published order of harm: without NTP hurts most, then without budget, then without curriculum.
  const order = ['rmt-no-ntp', 'rmt-no-budget', 'rmt-no-curriculum'];
  const measuredOrder = [...order].sort((a, b) => acc(a) - acc(b));
  const after = (k: string) => m[k]!.posttrain.after;
  const others = ['base', 'ntp', 'rpt'];
  return [
    { claim: 'RMT average accuracy ≥ 1.3 × RPT (+30.7%)', measured: `${ratio.toFixed(2)}× (${pct(acc('rmt'))} vs ${pct(acc('rpt'))})`, holds: ratio >= 1.3 },
    { claim: 'RMT reasoning length ≤ 0.25 × RPT (21%)', measured: `${lengthRatio.toFixed(2)}× (${m.rmt!.reasoning_length.toFixed(1)} vs ${m.rpt!.reasoning_length.toFixed(1)} tokens)`, holds: lengthRatio <= 0.25 },
    {
      claim: 'ablations hurt in the order: w/o NTP > w/o budget > w/o curriculum',
      measured: `most harm first: ${measuredOrder.map((k) => `${k.replace('rmt-', '')} (${pct(acc(k))})`).join(' > ')}`,
      holds: measuredOrder.join() === order.join() && acc(order[2]!) < acc('rmt'),
    },
    {
      claim: 'post-training from RMT beats base, NTP and RPT',
      measured: `after: rmt ${pct(after('rmt'))}; ${others.map((k) => `${k} ${pct(after(k))}`).join(', ')}`,
      holds: others.every((k) => after('rmt') > after(k)),
    },
  ];
}
