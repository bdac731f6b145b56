// `rmt compare --sweep` at CI size (tiny preset, 1 seed, 2 settings, 4 steps): the results' structure —
// curves over steps and generated tokens for every method, claims per setting with the decision rule — and
// that every number of the claims follows from the run's own per-seed numbers (recomputed here, not a snapshot).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meanInterval } from '@rmt/eval';
import { verdictOf } from './claims.js';
import { parseSweep } from './compare.js';
import type { ClaimCheck, CompareResults, SweepResults } from './compare-results.js';
import { captureCli } from './test-cli.js';

const root = mkdtempSync(join(tmpdir(), 'rmt-sweep-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const rmt = (...args: string[]) => captureCli(['--backend', 'wasm', ...args]);

const METHODS = ['base', 'ntp', 'rpt', 'rmt', 'rmt-no-budget', 'rmt-no-curriculum', 'rmt-no-ntp'];
const RL = ['rpt', 'rmt', 'rmt-no-budget', 'rmt-no-curriculum', 'rmt-no-ntp'];

/** The statistic of each claim part, per seed, from the methods' per-seed numbers. */
function expectedPerSeed(r: CompareResults, id: string): number[] {
  const per = (m: string, k: 'accuracy' | 'length' | 'posttrain_after' | 'all_tokens_accuracy' | 'all_tokens_nll') =>
    r.methods[m]!.per_seed!.map((s) => s[k] ?? NaN);
  const eq = (m: string, k: 'accuracy' | 'length') => r.methods[m]!.per_seed!.map((s) => s.equal_compute![k]);
  const zip = (a: number[], b: number[], f: (x: number, y: number) => number) => a.map((x, i) => f(x, b[i]!));
  const ratio = (x: number, y: number) => x / y;
  const minus = (x: number, y: number) => x - y;
  const table: Record<string, () => number[]> = {
    accuracy: () => zip(per('rmt', 'accuracy'), per('rpt', 'accuracy'), ratio),
    length: () => zip(per('rmt', 'length'), per('rpt', 'length'), ratio),
    'accuracy-compute': () => zip(eq('rmt', 'accuracy'), eq('rpt', 'accuracy'), ratio),
    'length-compute': () => zip(eq('rmt', 'length'), eq('rpt', 'length'), ratio),
    'ablations/ntp>budget': () => zip(per('rmt-no-budget', 'accuracy'), per('rmt-no-ntp', 'accuracy'), minus),
    'ablations/budget>curriculum': () =>
      zip(per('rmt-no-curriculum', 'accuracy'), per('rmt-no-budget', 'accuracy'), minus),
    'ablations/curriculum>0': () => zip(per('rmt', 'accuracy'), per('rmt-no-curriculum', 'accuracy'), minus),
    'posttrain/base': () => zip(per('rmt', 'posttrain_after'), per('base', 'posttrain_after'), minus),
    'posttrain/ntp': () => zip(per('rmt', 'posttrain_after'), per('ntp', 'posttrain_after'), minus),
    'posttrain/rpt': () => zip(per('rmt', 'posttrain_after'), per('rpt', 'posttrain_after'), minus),
    'ntp-term/accuracy': () => zip(per('rmt', 'all_tokens_accuracy'), per('rmt-no-ntp', 'all_tokens_accuracy'), minus),
    'ntp-term/nll': () => zip(per('rmt-no-ntp', 'all_tokens_nll'), per('rmt', 'all_tokens_nll'), minus),
  };
  return table[id]!();
}

function expectClaimFollows(r: CompareResults, c: ClaimCheck): void {
  if (c.parts) {
    for (const p of c.parts) expectClaimFollows(r, p);
    const v = c.parts.map((p) => p.verdict);
    expect(c.verdict).toBe(v.includes('fails') ? 'fails' : v.every((x) => x === 'holds') ? 'holds' : 'inconclusive');
    return;
  }
  const expected = expectedPerSeed(r, c.id);
  expect(c.per_seed.length).toBe(r.seeds.length);
  // JSON writes NaN as null.
  c.per_seed.forEach((x, i) =>
    Number.isFinite(expected[i]) ? expect(x).toBeCloseTo(expected[i]!, 12) : expect(x).toBeNull(),
  );
  if (r.seeds.length < 2 || !expected.every(Number.isFinite)) expect(c.interval).toBeNull();
  else {
    const i = meanInterval(expected);
    expect(c.interval!.low).toBeCloseTo(i.low, 12);
    expect(c.interval!.high).toBeCloseTo(i.high, 12);
  }
  expect(c.verdict).toBe(verdictOf(c.interval, c.direction, c.threshold));
}

describe('rmt compare --sweep (tiny)', () => {
  const base = join(root, 'pretrain', 'model');
  const out = join(root, 'sweep');
  let results: SweepResults;
  beforeAll(async () => {
    const pre = await rmt('pretrain', '--preset', 'tiny', '--out', join(root, 'pretrain'));
    expect(pre.code, pre.stderr).toBe(0);
    const { code, stderr } = await rmt(
      'compare',
      '--preset',
      'tiny',
      '--set',
      `base=${base}`,
      '--set',
      'midtrain.curriculum.tiers.quantiles=[0.1,0.2,0.3]',
      '--seeds',
      '1',
      '--curve-every',
      '2',
      '--sweep',
      'data.synthetic.repeatProbability=0,0.5',
      '--out',
      out,
      '--quiet',
    );
    expect(code, stderr).toBe(0);
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as SweepResults;
  }, 300_000);

  it('parses --sweep values as YAML and refuses malformed ones by name', () => {
    expect(parseSweep('data.synthetic.overthink=wrong,redundant')).toEqual({
      key: 'data.synthetic.overthink',
      values: ['wrong', 'redundant'],
    });
    expect(parseSweep('data.synthetic.repeatProbability=0,0.5').values).toEqual([0, 0.5]);
    expect(() => parseSweep('data.synthetic.overthink')).toThrow(
      /--sweep 'data.synthetic.overthink': expected key=value1,value2/,
    );
    expect(() => parseSweep('a=1,1')).toThrow(/repeated/);
  });

  it('writes one comparison per setting, a summary of which claim holds where, and the reports', () => {
    expect(results.settings.map((s) => s.label)).toEqual([
      'data.synthetic.repeatProbability=0',
      'data.synthetic.repeatProbability=0.5',
    ]);
    for (const s of results.settings) {
      for (const f of ['results.json', 'results.md', 'report.html'])
        expect(existsSync(join(out, s.dir, f)), `${s.dir}/${f}`).toBe(true);
      expect(readFileSync(join(out, s.dir, 'config.resolved.yaml'), 'utf8')).toMatch(
        new RegExp(`repeatProbability: ${String(s.values['data.synthetic.repeatProbability'])}\\n`),
      );
    }
    const ids = results.settings[0]!.results.claims!.map((c) => c.id);
    expect(ids).toEqual([
      'accuracy',
      'length',
      'accuracy-compute',
      'length-compute',
      'ablations',
      'posttrain',
      'ntp-term',
    ]);
    expect(results.summary.map((r) => r.id)).toEqual(ids);
    for (const row of results.summary)
      for (const s of results.settings)
        expect(row.verdicts[s.label]!.verdict).toBe(s.results.claims!.find((c) => c.id === row.id)!.verdict);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toMatch(/\| claim \| data.synthetic.repeatProbability=0 \| data.synthetic.repeatProbability=0.5 \|/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/Which claim holds where/);
    expect(html).toMatch(/id="curve-data.synthetic.repeatProbability=0-accuracy-tokens"/);
    const one = readFileSync(join(out, results.settings[0]!.dir, 'report.html'), 'utf8');
    for (const id of ['accuracy-step', 'accuracy-tokens', 'length-step', 'length-tokens'])
      expect(one).toContain(`id="curve-${id}"`);
  });

  it('has curves over steps and generated tokens for every method, from the run’s own checkpoints and metrics', () => {
    for (const s of results.settings) {
      const r = s.results;
      expect(Object.keys(r.curves!.methods)).toEqual(METHODS);
      for (const m of METHODS.filter((x) => x !== 'base')) {
        const c = r.curves!.methods[m]!;
        // step 0 (the base), the checkpoint of step 2, the final model at step 4
        expect(c.by_step.map((p) => p.x)).toEqual([0, 2, 4]);
        expect(c.per_seed[0]!.map((p) => p.step)).toEqual([0, 2, 4]);
        const final = JSON.parse(readFileSync(join(out, s.dir, 'seed-0', m, 'eval.json'), 'utf8')) as {
          trained: { average: { reasoningAccuracy: number }; allTokens: { accuracy: number } };
        };
        expect(c.per_seed[0]!.at(-1)!.accuracy).toBe(final.trained.average.reasoningAccuracy);
        expect(c.per_seed[0]!.at(-1)!.all_tokens_accuracy).toBe(final.trained.allTokens.accuracy);
        // Generated tokens: the sum of completions/mean_length × rollouts per step of metrics.jsonl.
        const lines = readFileSync(join(out, s.dir, 'seed-0', m, 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, number>);
        const total = lines.reduce((a, l) => a + (l['completions/mean_length'] ?? 0) * 3 * 3, 0);
        expect(c.per_seed[0]!.at(-1)!.tokens).toBeCloseTo(total, 9);
        expect(r.methods[m]!.per_seed![0]!.tokens).toBeCloseTo(total, 9);
        if (m === 'ntp') expect(total).toBe(0);
      }
      for (const m of RL) {
        const byTokens = r.curves!.methods[m]!.by_tokens;
        expect(byTokens.length).toBeGreaterThan(0);
        byTokens.forEach((p) => expect(r.curves!.grid_tokens).toContain(p.x));
        // The equal-compute point: the fewest tokens of any RL method; each method read at its checkpoint nearest it.
        const pts = r.curves!.methods[m]!.per_seed[0]!;
        const near = pts.reduce(
          (b, p) =>
            Math.abs(p.tokens - r.equal_compute!.tokens) < Math.abs(b.tokens - r.equal_compute!.tokens) ? p : b,
          pts[0]!,
        );
        expect(r.methods[m]!.per_seed![0]!.equal_compute).toEqual({
          step: near.step,
          tokens: near.tokens,
          accuracy: near.accuracy,
          length: near.length,
        });
      }
      expect(r.equal_compute!.tokens).toBeCloseTo(Math.min(...RL.map((m) => r.methods[m]!.per_seed![0]!.tokens)), 9);
      expect(r.curves!.methods.ntp!.by_tokens).toEqual([]);
    }
  });

  it('computes every claim from the per-seed numbers and decides it by the pre-registered rule', () => {
    for (const s of results.settings) for (const c of s.results.claims!) expectClaimFollows(s.results, c);
  });

  it('the decision rule: an interval that excludes the threshold decides, on either side', () => {
    expect(verdictOf({ low: 1.31, high: 1.5 }, 'above', 1.3)).toBe('holds');
    expect(verdictOf({ low: 1.0, high: 1.29 }, 'above', 1.3)).toBe('fails');
    expect(verdictOf({ low: 1.2, high: 1.4 }, 'above', 1.3)).toBe('inconclusive');
    expect(verdictOf({ low: 0.1, high: 0.2 }, 'below', 0.25)).toBe('holds');
    expect(verdictOf({ low: 0.3, high: 0.5 }, 'below', 0.25)).toBe('fails');
    expect(verdictOf(null, 'below', 0.25)).toBe('inconclusive');
  });
});
