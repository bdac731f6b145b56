// `rmt compare`: the rows of METHOD.md §5 from the same base, corpus and token budget — base, NTP, RPT, RMT and
// the three ablations — each post-trained afterwards; results.json and results.md (the paper's tables).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvalResult, Split } from '@rmt/eval';
import { writeFileAtomic } from '@rmt/core';
import { meanInterval, SPLITS } from '@rmt/eval';
import { merge, parseSet, validateConfig, type RunConfig } from './config.js';
import { RunDirectory } from './output.js';
import type { Reporter } from './progress.js';
import { claimChecks, claims } from './claims.js';
import type {
  Accuracy,
  Band,
  ClaimCheck,
  CompareResults,
  CurvePoint,
  CurveSummary,
  SeedNumbers,
  SweepResults,
} from './compare-results.js';
import { writeCompareReport, writeSweepReport } from './report.js';
import { basePath, evaluateCheckpoints, runMidtrain, runPosttrain } from './run.js';
import { pct } from './format.js';

export type { CompareResults, SweepResults } from './compare-results.js';

const COMPARE_METHODS = ['base', 'ntp', 'rpt', 'rmt', 'rmt-no-budget', 'rmt-no-curriculum', 'rmt-no-ntp'] as const;
type CompareMethod = (typeof COMPARE_METHODS)[number];

/** Config changes that turn the RMT config into each row of METHOD.md §5. */
const OVERRIDES: Record<Exclude<CompareMethod, 'base'>, unknown> = {
  ntp: { midtrain: { method: 'ntp' } },
  rpt: { midtrain: { method: 'rpt' } },
  rmt: { midtrain: { method: 'rmt' } },
  'rmt-no-budget': { midtrain: { method: 'rmt', budget: { enabled: false } } },
  'rmt-no-curriculum': {
    midtrain: { method: 'rmt', curriculum: { sampler: 'entropy-filtered', options: { minTier: 'easy' } } },
  },
  'rmt-no-ntp': { midtrain: { method: 'rmt', ntp: false } },
};

interface SeedResult {
  seed: number;
  /** Held-out evaluation (both modes). */
  result: EvalResult;
  posttrain: { before: number; after: number };
  /** The learning curve: the base (step 0), every kept checkpoint, the final model. */
  curve: CurvePoint[];
}

/** Options of a comparison beyond its config. */
export interface CompareOptions {
  /** Evaluate a checkpoint every this many steps for the learning curves (default: a tenth of the run). */
  curveEvery?: number;
}

function accuracyOf(result: EvalResult, mode: 'reasoning' | 'next-token'): Accuracy {
  const pick = (s: { ntpAccuracy: number; reasoningAccuracy?: number }) =>
    mode === 'reasoning' ? (s.reasoningAccuracy ?? NaN) : s.ntpAccuracy;
  return {
    easy: pick(result.splits.easy),
    medium: pick(result.splits.medium),
    hard: pick(result.splits.hard),
    average: mode === 'reasoning' ? (result.average.reasoningAccuracy ?? NaN) : result.average.ntpAccuracy,
  };
}

/**
 * 95% interval of an accuracy: across seeds, a t-interval of the per-seed values; with one seed, the
 * Wilson interval of that seed's sites (for the average of the splits: the mean of the split bounds).
 */
function accuracyInterval(
  rows: SeedResult[],
  mode: 'reasoning' | 'next-token',
  key: Split | 'average',
): { low: number; high: number } {
  if (rows.length > 1) {
    const i = meanInterval(rows.map((r) => accuracyOf(r.result, mode)[key]));
    // An accuracy lies in [0, 1]; the t-interval of three seeds near 100% would reach past it.
    return { low: Math.max(0, i.low), high: Math.min(1, i.high) };
  }
  const splitCi = (s: Split) => {
    const r = rows[0]!.result.splits[s];
    return (mode === 'reasoning' ? r.reasoningCi : r.ntpCi) ?? { low: NaN, high: NaN };
  };
  if (key !== 'average') return splitCi(key);
  const all = SPLITS.map(splitCi);
  return {
    low: all.reduce((a, c) => a + c.low, 0) / all.length,
    high: all.reduce((a, c) => a + c.high, 0) / all.length,
  };
}

/** A comparison row finished by an earlier invocation: its evaluation and its post-training, both written. */
function finished(dir: RunDirectory):
  | {
      eval: { base: EvalResult | null; trained: EvalResult; budget: number | null };
      posttrain: SeedResult['posttrain'];
    }
  | undefined {
  const evalFile = dir.path('eval.json');
  const posttrain = readPosttrain(dir.path('posttrain'));
  if (!existsSync(evalFile) || !posttrain) return undefined;
  return {
    eval: JSON.parse(readFileSync(evalFile, 'utf8')) as {
      base: EvalResult | null;
      trained: EvalResult;
      budget: number | null;
    },
    posttrain,
  };
}

function readPosttrain(dir: string): SeedResult['posttrain'] | undefined {
  const file = join(dir, 'posttrain.json');
  if (!existsSync(file)) return undefined;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { before: { accuracy: number }; after: { accuracy: number } };
  return { before: saved.before.accuracy, after: saved.after.accuracy };
}

/** Post-train into `dir`, dropping what an interrupted attempt left there (post-training is not resumed). */
async function freshPosttrain(
  cfg: RunConfig,
  model: string,
  dir: string,
  reporter: Reporter,
  budget?: number,
): Promise<SeedResult['posttrain']> {
  await rm(dir, { recursive: true, force: true });
  const post = await runPosttrain(cfg, model, new RunDirectory(dir), reporter, budget);
  return { before: post.before.accuracy, after: post.after.accuracy };
}

export async function runCompare(
  config: RunConfig,
  seeds: number[],
  out: RunDirectory,
  reporter: Reporter,
  options: CompareOptions = {},
): Promise<CompareResults> {
  const perMethod = new Map<CompareMethod, SeedResult[]>();
  const add = (m: CompareMethod, r: SeedResult) => perMethod.set(m, [...(perMethod.get(m) ?? []), r]);
  let sites: Record<Split, number> | undefined;
  const every = curveEvery(config, options.curveEvery);
  for (const seed of seeds) {
    const seeded = validateConfig(merge(config, { seed }), `compare seed ${seed}`);
    let baseRow: SeedResult | undefined;
    for (const method of COMPARE_METHODS.filter((m) => m !== 'base')) {
      // Every `every` steps a checkpoint, all kept until the curve has read them (checkpoints change no result).
      const curveSettings = {
        midtrain: { checkpointEvery: every, keepLastN: Math.min(1000, Math.ceil(config.midtrain.steps / every) + 1) },
      };
      const cfg = validateConfig(
        merge(merge(seeded, OVERRIDES[method as Exclude<CompareMethod, 'base'>]), curveSettings),
        `compare ${method}`,
      );
      const dir = new RunDirectory(join(out.dir, `seed-${seed}`, method));
      const needBase = baseRow === undefined;
      // Rerun into the same --out, a comparison keeps every finished row and resumes an interrupted one.
      const done = finished(dir);
      let outcome: { base?: EvalResult; trained: EvalResult; finalBudget: number | undefined };
      if (done) {
        reporter.log(`compare: seed ${seed}, ${method}: finished earlier, kept`);
        outcome = {
          base: done.eval.base ?? undefined,
          trained: done.eval.trained,
          finalBudget: done.eval.budget ?? undefined,
        };
      } else {
        const resume = dir.hasCheckpoints();
        if (!resume) {
          await dir.truncateLogs(0); // what a run killed before its first checkpoint logged
          await dir.writeConfig(cfg, [`compare ${method} seed ${seed}`], 'midtrain');
        }
        reporter.log(`compare: seed ${seed}, ${method}${resume ? ' (resumed)' : ''}`);
        const run = await runMidtrain(cfg, dir, { quiet: true, json: false, resume, evaluateBase: needBase }, reporter);
        if (!run.trained) throw new Error(`compare: ${method} (seed ${seed}) stopped before its last step`);
        outcome = { base: run.base, trained: run.trained, finalBudget: run.finalBudget };
      }
      if (needBase) {
        if (!outcome.base) throw new Error(`compare: ${dir.dir} has no base evaluation (eval.json without 'base')`);
        sites = Object.fromEntries(SPLITS.map((s) => [s, outcome.base!.splits[s].sites])) as Record<Split, number>;
      }
      const baseEval = needBase ? outcome.base! : baseRow!.result;
      const curve = await learningCurve(cfg, dir, baseEval, outcome.trained, reporter);
      const post =
        done?.posttrain ??
        (await freshPosttrain(cfg, dir.path('model'), dir.path('posttrain'), reporter, outcome.finalBudget));
      if (needBase) {
        const baseDir = join(out.dir, `seed-${seed}`, 'base-posttrain');
        const basePost = readPosttrain(baseDir) ?? (await freshPosttrain(cfg, basePath(cfg), baseDir, reporter));
        baseRow = { seed, result: outcome.base!, posttrain: basePost, curve: [curvePoint(0, 0, outcome.base!)] };
        add('base', baseRow);
      }
      add(method, { seed, result: outcome.trained, posttrain: post, curve });
    }
  }
  const results: CompareResults = { seeds, sites: sites!, methods: {} };
  for (const method of COMPARE_METHODS) {
    const rows = perMethod.get(method)!;
    const mode = method === 'base' || method === 'ntp' ? 'next-token' : 'reasoning';
    const mean = (f: (r: SeedResult) => number) => meanInterval(rows.map(f));
    const keys = [...SPLITS, 'average'] as const;
    const acc = (m: 'reasoning' | 'next-token') =>
      Object.fromEntries(keys.map((k) => [k, mean((r) => accuracyOf(r.result, m)[k]).mean])) as Accuracy;
    results.methods[method] = {
      mode,
      accuracy: acc(mode),
      accuracy_ci: Object.fromEntries(
        keys.map((k) => [k, accuracyInterval(rows, mode, k)]),
      ) as CompareResults['methods'][string]['accuracy_ci'],
      accuracy_ntp_mode: acc('next-token'),
      accuracy_reasoning_mode: acc('reasoning'),
      reasoning_length: mean((r) => r.result.average.meanLength ?? NaN).mean,
      posttrain: { before: mean((r) => r.posttrain.before).mean, after: mean((r) => r.posttrain.after).mean },
      all_tokens: {
        accuracy: band(rows.map((r) => r.result.allTokens?.accuracy ?? NaN)),
        nll: band(rows.map((r) => r.result.allTokens?.nll ?? NaN)),
      },
      generated_tokens: mean((r) => r.curve.at(-1)!.tokens).mean,
      per_seed: rows.map((r) => seedNumbers(r, mode)),
    };
  }
  addCurves(results, perMethod, every);
  results.claims = claimChecks(results);
  await out.writeJson('results.json', results);
  await writeFileAtomic(out.path('results.md'), resultsMarkdown(results));
  await writeCompareReport(out.dir, results, readFileSync(out.path('config.resolved.yaml'), 'utf8'));
  return results;
}

/** Steps between the curve's checkpoints: `--curve-every`, else a tenth of the run (at least 1). */
function curveEvery(config: RunConfig, every: number | undefined): number {
  if (every !== undefined && (!Number.isInteger(every) || every < 1))
    throw new Error(`--curve-every ${every}: must be a positive number of steps`);
  return every ?? Math.max(1, Math.ceil(config.midtrain.steps / 10));
}

/** A seed's numbers for the claims (read back by claims.ts and by the tests). */
function seedNumbers(r: SeedResult, mode: 'reasoning' | 'next-token'): SeedNumbers {
  const last = r.curve.at(-1)!;
  return {
    seed: r.seed,
    accuracy: accuracyOf(r.result, mode).average,
    reasoning_accuracy: r.result.average.reasoningAccuracy ?? NaN,
    length: r.result.average.meanLength ?? NaN,
    posttrain_after: r.posttrain.after,
    all_tokens_accuracy: r.result.allTokens?.accuracy ?? null,
    all_tokens_nll: r.result.allTokens?.nll ?? null,
    tokens: last.tokens,
  };
}

const finite = (x: number | undefined | null): number | null =>
  x === undefined || x === null || !Number.isFinite(x) ? null : x;

function curvePoint(step: number, tokens: number, r: EvalResult): CurvePoint {
  return {
    step,
    tokens,
    accuracy: r.average.reasoningAccuracy ?? NaN,
    ntp_accuracy: r.average.ntpAccuracy,
    length: r.average.meanLength ?? NaN,
    all_tokens_accuracy: finite(r.allTokens?.accuracy),
    all_tokens_nll: finite(r.allTokens?.nll),
  };
}

/** Mean over seeds with its 95% t-interval (none with one seed, or when a value is missing). */
function band(values: number[]): Band {
  const i = meanInterval(values);
  const ok = values.length >= 2 && values.every(Number.isFinite);
  return { mean: i.mean, low: ok ? i.low : null, high: ok ? i.high : null, n: values.length };
}

/**
 * Cumulative generated tokens after each step, from metrics.jsonl: the trainer's `completions/cumulative_tokens`
 * when it logs it, else the sum of its per-step `completions/total_tokens`, else of `completions/mean_length` ×
 * rollouts per step (sitesPerStep × groupSize; exact, since every site gets groupSize rollouts).
 * Reasoning tokens: the answer's few tokens are the same for every method. NTP generates none.
 */
function cumulativeTokens(dir: RunDirectory, cfg: RunConfig): number[] {
  const file = dir.path('metrics.jsonl');
  const lines = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
    : [];
  const rows = cfg.midtrain.sitesPerStep * cfg.midtrain.groupSize;
  const out: number[] = [];
  let total = 0;
  for (const line of lines) {
    const m = JSON.parse(line) as Record<string, number>;
    const logged = m['completions/cumulative_tokens'];
    const step =
      m['completions/total_tokens'] ??
      (typeof m['completions/mean_length'] === 'number' ? m['completions/mean_length'] * rows : 0);
    total = typeof logged === 'number' ? logged : total + step;
    out[m.step!] = total;
  }
  return out;
}

/**
 * The learning curve of one run: the base at step 0, every checkpoint the run kept (each told the budget of
 * its step, as state.json records it), the final model. Checkpoint results are kept in curve.json (a rerun
 * reads them); the checkpoints read are then removed but the newest, which a resume needs.
 */
async function learningCurve(
  cfg: RunConfig,
  dir: RunDirectory,
  base: EvalResult,
  trained: EvalResult,
  reporter: Reporter,
): Promise<CurvePoint[]> {
  const tokens = cumulativeTokens(dir, cfg);
  const at = (step: number) => (step === 0 ? 0 : (tokens[step - 1] ?? NaN));
  const saved = dir.path('curve.json');
  let points: CurvePoint[];
  if (existsSync(saved)) points = (JSON.parse(readFileSync(saved, 'utf8')) as { points: CurvePoint[] }).points;
  else {
    const steps = existsSync(dir.checkpoints)
      ? readdirSync(dir.checkpoints)
          .flatMap((n) => (/^step-(\d+)$/.exec(n) ? [Number(n.slice(5))] : []))
          .filter((s) => s < cfg.midtrain.steps)
          .sort((a, b) => a - b)
      : [];
    const paths = steps.map((s) => join(dir.checkpoints, `step-${String(s).padStart(6, '0')}`));
    const budgets = paths.map(
      (p) =>
        (JSON.parse(readFileSync(join(p, 'state.json'), 'utf8')) as { budget?: number | null }).budget ?? undefined,
    );
    const results = steps.length
      ? await evaluateCheckpoints(
          cfg,
          dir,
          paths.map((path, i) => ({ path, budget: budgets[i] })),
          reporter,
        )
      : [];
    points = results.map((r, i) => curvePoint(steps[i]!, at(steps[i]!), r));
    await dir.writeJson('curve.json', { points });
    for (const p of paths) await rm(p, { recursive: true, force: true });
  }
  return [curvePoint(0, 0, base), ...points, curvePoint(cfg.midtrain.steps, at(cfg.midtrain.steps), trained)];
}

/** The point of `curve` nearest `tokens` generated (the earlier one on a tie). */
function nearest(curve: CurvePoint[], tokens: number): CurvePoint {
  return curve.reduce(
    (best, p) => (Math.abs(p.tokens - tokens) < Math.abs(best.tokens - tokens) ? p : best),
    curve[0]!,
  );
}

const RL_METHODS: CompareMethod[] = ['rpt', 'rmt', 'rmt-no-budget', 'rmt-no-curriculum', 'rmt-no-ntp'];

/**
 * Curves against steps and against a shared grid of generated tokens, and the equal-compute point: the
 * fewest tokens any RL method generated in any seed, each method read at its checkpoint nearest it (so a
 * method with shorter reasoning is not penalised for taking the same number of steps).
 */
function addCurves(results: CompareResults, perMethod: Map<CompareMethod, SeedResult[]>, every: number): void {
  const equal = Math.min(...RL_METHODS.flatMap((m) => perMethod.get(m)!.map((r) => r.curve.at(-1)!.tokens)));
  const most = Math.max(...RL_METHODS.flatMap((m) => perMethod.get(m)!.map((r) => r.curve.at(-1)!.tokens)));
  const points = Math.max(1, ...RL_METHODS.map((m) => perMethod.get(m)![0]!.curve.length - 1));
  const spacing = equal > 0 ? equal / points : 0;
  const grid = spacing > 0 ? Array.from({ length: Math.floor(most / spacing + 1e-9) + 1 }, (_, i) => i * spacing) : [0];
  const curves: NonNullable<CompareResults['curves']> = { every, grid_tokens: grid, methods: {} };
  for (const method of COMPARE_METHODS) {
    const rows = perMethod.get(method)!;
    const stepsSeen = [...new Set(rows.flatMap((r) => r.curve.map((p) => p.step)))].sort((a, b) => a - b);
    const byStep: CurveSummary[] = stepsSeen.map((step) => {
      const pts = rows.map((r) => r.curve.find((p) => p.step === step)).filter((p): p is CurvePoint => p !== undefined);
      return {
        x: step,
        accuracy: band(pts.map((p) => p.accuracy)),
        length: band(pts.map((p) => p.length)),
        other: band(pts.map((p) => p.tokens)),
      };
    });
    // Against tokens: RL methods only (NTP and the base generate none), at the grid points the method reached
    // in every seed (within half a grid step of its last checkpoint).
    const byTokens: CurveSummary[] = RL_METHODS.includes(method)
      ? grid
          .filter((g) => rows.every((r) => r.curve.at(-1)!.tokens >= g - spacing / 2))
          .map((g) => {
            const pts = rows.map((r) => nearest(r.curve, g));
            return {
              x: g,
              accuracy: band(pts.map((p) => p.accuracy)),
              length: band(pts.map((p) => p.length)),
              other: band(pts.map((p) => p.step)),
            };
          })
      : [];
    curves.methods[method] = { per_seed: rows.map((r) => r.curve), by_step: byStep, by_tokens: byTokens };
  }
  results.curves = curves;
  const eq: NonNullable<CompareResults['equal_compute']> = { tokens: equal, methods: {} };
  for (const method of RL_METHODS) {
    const rows = perMethod.get(method)!;
    const pts = rows.map((r) => nearest(r.curve, equal));
    eq.methods[method] = {
      accuracy: band(pts.map((p) => p.accuracy)),
      length: band(pts.map((p) => p.length)),
      step: band(pts.map((p) => p.step)),
    };
    results.methods[method]!.per_seed!.forEach(
      (s, i) =>
        (s.equal_compute = {
          step: pts[i]!.step,
          tokens: pts[i]!.tokens,
          accuracy: pts[i]!.accuracy,
          length: pts[i]!.length,
        }),
    );
  }
  results.equal_compute = eq;
}

/** `--sweep key=v1,v2`: the values of one knob (each read as YAML, like --set). */
export function parseSweep(spec: string): { key: string; values: unknown[] } {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1)
    throw new Error(`--sweep '${spec}': expected key=value1,value2 (e.g. data.synthetic.overthink=wrong,redundant)`);
  const key = spec.slice(0, eq);
  const values = spec
    .slice(eq + 1)
    .split(',')
    .map((v) => {
      const parsed = parseSet(`${key}=${v}`);
      return key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], parsed);
    });
  if (new Set(values.map((v) => JSON.stringify(v))).size !== values.length)
    throw new Error(`--sweep '${spec}': a value is repeated`);
  return { key, values };
}

/** Every combination of the swept values, in order (the first knob slowest). */
function settingsOf(sweep: { key: string; values: unknown[] }[]): Record<string, unknown>[] {
  return sweep.reduce<Record<string, unknown>[]>(
    (acc, { key, values }) => acc.flatMap((a) => values.map((v) => ({ ...a, [key]: v }))),
    [{}],
  );
}

/** A setting's folder and label: `data.synthetic.overthink=redundant` (knobs joined by `,`). */
function labelOf(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(',');
}

/**
 * `rmt compare --sweep …`: the comparison once per combination of the swept knobs (each in its own folder,
 * resumable like a comparison), then one table of which claim holds in which setting.
 */
export async function runSweep(
  config: RunConfig,
  sweep: { key: string; values: unknown[] }[],
  seeds: number[],
  out: RunDirectory,
  reporter: Reporter,
  options: CompareOptions = {},
): Promise<SweepResults> {
  if (sweep.length === 0) throw new Error('runSweep: no --sweep given');
  const keys = sweep.map((s) => s.key);
  if (new Set(keys).size !== keys.length)
    throw new Error(`--sweep: ${keys.find((k, i) => keys.indexOf(k) !== i)} is swept twice`);
  const settings: SweepResults['settings'] = [];
  for (const values of settingsOf(sweep)) {
    const label = labelOf(values);
    const overrides = Object.entries(values).reduce<unknown>(
      (acc, [k, v]) =>
        merge(
          acc,
          k.split('.').reduceRight<unknown>((inner, part) => ({ [part]: inner }), v),
        ),
      {},
    );
    const cfg = validateConfig(merge(config, overrides), `--sweep ${label}`);
    const dir = new RunDirectory(join(out.dir, label));
    if (!dir.holdsConfig(cfg))
      throw new Error(`${dir.dir} holds a comparison with another config; choose another --out`);
    await dir.writeConfig(cfg, [`compare --sweep ${label}`], 'compare');
    reporter.log(`sweep: ${label}`);
    settings.push({ label, values, dir: label, results: await runCompare(cfg, seeds, dir, reporter, options) });
  }
  const ids = settings[0]!.results.claims!.map((c) => c.id);
  const summary: SweepResults['summary'] = ids.map((id) => ({
    id,
    claim: settings[0]!.results.claims!.find((c) => c.id === id)!.claim,
    verdicts: Object.fromEntries(
      settings.map((s) => {
        const c = s.results.claims!.find((x) => x.id === id)!;
        return [s.label, { verdict: c.verdict, mean: c.mean, interval: c.interval }];
      }),
    ),
  }));
  const results: SweepResults = { sweep, seeds, settings, summary };
  await out.writeJson('results.json', results);
  await writeFileAtomic(out.path('results.md'), sweepMarkdown(results));
  await writeSweepReport(out.dir, results, readFileSync(out.path('config.resolved.yaml'), 'utf8'));
  return results;
}

/** A claim's numbers in a cell: mean [95% interval] → verdict. */
function claimCell(
  c: Pick<ClaimCheck, 'mean' | 'interval' | 'verdict' | 'threshold' | 'direction' | 'per_seed'>,
): string {
  const f = (x: number) => (Math.abs(x) >= 10 || Math.abs(c.threshold) >= 0.1 ? x.toFixed(2) : x.toFixed(3));
  return `${f(c.mean)} ${c.interval ? `[${f(c.interval.low)}, ${f(c.interval.high)}]` : c.per_seed.length < 2 ? '(1 seed: no interval)' : '(a value is not finite: no interval)'} → **${c.verdict}**`;
}

export function sweepMarkdown(r: SweepResults): string {
  const lines = [
    `# RMT sweep`,
    '',
    `Swept: ${r.sweep.map((s) => `${s.key} ∈ {${s.values.map(String).join(', ')}}`).join(' × ')}. Seeds: ${r.seeds.join(', ')}. Each cell: the claim's statistic, mean over seeds [95% t-interval] → verdict (holds / fails when the interval excludes the threshold on the claim's side / the other side, else inconclusive).`,
    '',
  ];
  lines.push(
    `| claim | ${r.settings.map((s) => s.label).join(' | ')} |`,
    `| --- |${r.settings.map(() => ' --- |').join('')}`,
  );
  for (const row of r.summary) {
    const c0 = r.settings[0]!.results.claims!.find((c) => c.id === row.id)!;
    lines.push(
      `| ${row.claim} (${c0.statistic}; threshold ${c0.direction === 'above' ? '>' : '<'} ${c0.threshold}) | ${r.settings
        .map((s) => {
          const c = s.results.claims!.find((x) => x.id === row.id)!;
          return c.parts ? `weakest part: ${claimCell(c)}` : claimCell(c);
        })
        .join(' | ')} |`,
    );
  }
  for (const s of r.settings)
    lines.push(
      '',
      `## ${s.label}`,
      '',
      resultsMarkdown(s.results)
        .replace(/^# RMT comparison\n/, '')
        .replace(/^## /gm, '### '),
    );
  return `${lines.join('\n')}\n`;
}

export function resultsMarkdown(r: CompareResults): string {
  const lines: string[] = [];
  lines.push(
    `# RMT comparison`,
    '',
    `Seeds: ${r.seeds.join(', ')}. Held-out sites per split (nested, base top-16 entropy): easy ${r.sites.easy}, medium ${r.sites.medium}, hard ${r.sites.hard}. Accuracy: mean over seeds [95% interval: t across seeds, Wilson with one seed]; reasoning mode for RPT, RMT and ablations, next-token mode for base and NTP.`,
    '',
  );
  lines.push(
    '## Next-token accuracy',
    '',
    '| method | mode | easy | medium | hard | average |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  );
  for (const [m, v] of Object.entries(r.methods)) {
    const cell = (k: 'easy' | 'medium' | 'hard' | 'average') =>
      `${pct(v.accuracy[k])} [${pct(v.accuracy_ci[k].low)}, ${pct(v.accuracy_ci[k].high)}]`;
    lines.push(`| ${m} | ${v.mode} | ${cell('easy')} | ${cell('medium')} | ${cell('hard')} | ${cell('average')} |`);
  }
  lines.push('', '## Reasoning length (mean tokens)', '', '| method | length |', '| --- | ---: |');
  for (const [m, v] of Object.entries(r.methods))
    if (v.mode === 'reasoning' || m === 'base')
      lines.push(`| ${m} | ${Number.isFinite(v.reasoning_length) ? v.reasoning_length.toFixed(1) : '–'} |`);
  lines.push(
    '',
    '## Post-training (verifiable task accuracy)',
    '',
    '| starting checkpoint | before | after |',
    '| --- | ---: | ---: |',
  );
  for (const [m, v] of Object.entries(r.methods))
    lines.push(`| ${m} | ${pct(v.posttrain.before)} | ${pct(v.posttrain.after)} |`);
  lines.push(
    '',
    '## Ablations',
    '',
    '| method | average accuracy | Δ vs RMT | reasoning length |',
    '| --- | ---: | ---: | ---: |',
  );
  const rmt = r.methods.rmt!;
  for (const m of ['rmt', 'rmt-no-ntp', 'rmt-no-budget', 'rmt-no-curriculum']) {
    const v = r.methods[m]!;
    lines.push(
      `| ${m} | ${pct(v.accuracy.average)} | ${m === 'rmt' ? '' : `${(100 * (v.accuracy.average - rmt.accuracy.average)).toFixed(1)} pt`} | ${v.reasoning_length.toFixed(1)} |`,
    );
  }
  if (r.methods.rmt?.all_tokens) {
    lines.push(
      '',
      '## Next-token prediction on all held-out tokens (teacher-forced)',
      '',
      '| method | accuracy | NLL (nats) |',
      '| --- | ---: | ---: |',
    );
    const b = (x: Band, f: (v: number) => string) =>
      `${f(x.mean)}${x.low !== null && x.high !== null ? ` [${f(x.low)}, ${f(x.high)}]` : ''}`;
    for (const [m, v] of Object.entries(r.methods))
      if (v.all_tokens)
        lines.push(`| ${m} | ${b(v.all_tokens.accuracy, pct)} | ${b(v.all_tokens.nll, (x) => x.toFixed(3))} |`);
  }
  if (r.equal_compute) {
    const e = r.equal_compute;
    lines.push(
      '',
      `## At equal compute: ${Math.round(e.tokens)} generated reasoning tokens`,
      '',
      'Each RL method at its checkpoint nearest the fewest tokens any RL method generated in any seed (checkpoints every ' +
        `${r.curves?.every ?? '?'} steps).`,
      '',
      '| method | step | accuracy (reasoning, average) | reasoning length |',
      '| --- | ---: | ---: | ---: |',
    );
    const b = (x: Band, f: (v: number) => string) =>
      `${f(x.mean)}${x.low !== null && x.high !== null ? ` [${f(x.low)}, ${f(x.high)}]` : ''}`;
    for (const [m, v] of Object.entries(e.methods))
      lines.push(`| ${m} | ${v.step.mean.toFixed(0)} | ${b(v.accuracy, pct)} | ${b(v.length, (x) => x.toFixed(1))} |`);
  }
  lines.push(
    '',
    '## The published claims, measured',
    '',
    '| claim (paper) | measured | holds |',
    '| --- | --- | :---: |',
  );
  for (const c of claims(r)) lines.push(`| ${c.claim} | ${c.measured} | ${c.holds ? 'yes' : 'no'} |`);
  if (r.claims) {
    lines.push(
      '',
      '## The claims with 95% intervals over seeds (pre-registered rule)',
      '',
      "holds / fails: the t-interval of the per-seed statistic excludes the threshold on the claim's side / the other side; otherwise inconclusive (and with one seed).",
      '',
      '| claim | statistic (per seed) | threshold | mean [95% interval] → verdict |',
      '| --- | --- | ---: | --- |',
    );
    for (const c of r.claims) {
      lines.push(
        `| ${c.claim} | ${c.parts ? 'every part below' : c.statistic} | ${c.parts ? '' : `${c.direction === 'above' ? '>' : '<'} ${c.threshold}`} | ${c.parts ? `**${c.verdict}**` : claimCell(c)} |`,
      );
      for (const p of c.parts ?? [])
        lines.push(
          `| ↳ ${p.claim} | ${p.statistic} | ${p.direction === 'above' ? '>' : '<'} ${p.threshold} | ${claimCell(p)} |`,
        );
    }
  }
  return `${lines.join('\n')}\n`;
}
