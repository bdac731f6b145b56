// The short before/after table `rmt run` prints.
import type { EvalResult } from '@rmt/eval';
import { pct } from './format.js';

// Columns six wide: the one `pct` of format.ts, right-aligned.
const cell = (x: number | undefined) => pct(x).padStart(6);
const num = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '  –  ' : x.toFixed(1).padStart(5));

export function comparisonTable(rows: { name: string; result: EvalResult }[]): string {
  const header = 'model        mode        easy     medium   hard     average  | reasoning length (avg)';
  const lines = [header, '-'.repeat(header.length)];
  for (const { name, result } of rows) {
    const s = result.splits;
    lines.push(
      `${name.padEnd(12)} next-token  ${cell(s.easy.ntpAccuracy)}   ${cell(s.medium.ntpAccuracy)}   ${cell(s.hard.ntpAccuracy)}   ${cell(result.average.ntpAccuracy)}   |`,
    );
    lines.push(
      `${''.padEnd(12)} reasoning   ${cell(s.easy.reasoningAccuracy)}   ${cell(s.medium.reasoningAccuracy)}   ${cell(s.hard.reasoningAccuracy)}   ${cell(result.average.reasoningAccuracy)}   | ${num(result.average.meanLength)}`,
    );
  }
  const first = rows[0]!.result;
  // Every held-out token, teacher-forced: what the NTP term keeps, which the site columns do not see.
  for (const { name, result } of rows)
    if (result.allTokens)
      lines.push(
        `${name}: all ${result.allTokens.tokens} held-out tokens: next-token accuracy ${pct(result.allTokens.accuracy)}, NLL ${result.allTokens.nll.toFixed(3)} nats`,
      );
  lines.push(
    `sites: easy ${first.splits.easy.sites}, medium ${first.splits.medium.sites}, hard ${first.splits.hard.sites} (nested, base top-k entropy > ${first.thresholds.join(' / ')} nats)`,
  );
  return lines.join('\n');
}
