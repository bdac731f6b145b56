// The short before/after table `rmt run` prints.
import type { EvalResult } from '@rmt/eval';

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '   –  ' : `${(100 * x).toFixed(1).padStart(5)}%`);
const num = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '  –  ' : x.toFixed(1).padStart(5));

export function comparisonTable(rows: { name: string; result: EvalResult }[]): string {
  const header = 'model        mode        easy     medium   hard     average  | reasoning length (avg)';
  const lines = [header, '-'.repeat(header.length)];
  for (const { name, result } of rows) {
    const s = result.splits;
    lines.push(`${name.padEnd(12)} next-token  ${pct(s.easy.ntpAccuracy)}   ${pct(s.medium.ntpAccuracy)}   ${pct(s.hard.ntpAccuracy)}   ${pct(result.average.ntpAccuracy)}   |`);
    lines.push(`${''.padEnd(12)} reasoning   ${pct(s.easy.reasoningAccuracy)}   ${pct(s.medium.reasoningAccuracy)}   ${pct(s.hard.reasoningAccuracy)}   ${pct(result.average.reasoningAccuracy)}   | ${num(result.average.meanLength)}`);
  }
  const first = rows[0]!.result;
  lines.push(`sites: easy ${first.splits.easy.sites}, medium ${first.splits.medium.sites}, hard ${first.splits.hard.sites} (nested, base top-k entropy > ${first.thresholds.join(' / ')} nats)`);
  return lines.join('\n');
}
