// `rmt compare`: the rows of METHOD.md §5 from the same base, corpus and token budget — base, NTP, RPT, RMT and
// the three ablations — each post-trained afterwards; results.json and results.md (the paper's tables).
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvalResult, Split } from '@rmt/eval';
import { writeFileAtomic } from '@rmt/core';
import { meanInterval, SPLITS } from '@rmt/eval';
import { merge, validateConfig, type RunConfig } from './config.js';
import { RunDirectory } from './output.js';
import type { Reporter } from './progress.js';
import { claims } from './claims.js';
import type { Accuracy, CompareResults } from './compare-results.js';
import { writeCompareReport } from './report.js';
import { basePath, runMidtrain, runPosttrain } from './run.js';
import { pct } from './format.js';

export type { CompareResults } from './compare-results.js';

const COMPARE_METHODS = ['base', 'ntp', 'rpt', 'rmt', 'rmt-no-budget', 'rmt-no-curriculum', 'rmt-no-ntp'] as const;
type CompareMethod = (typeof COMPARE_METHODS)[number];

/** Config changes that turn the RMT config into each row of METHOD.md §5. */
const OVERRIDES: Record<Exclude<CompareMethod, 'base'>, unknown> = {
  ntp: { midtrain: { method: 'ntp' } },
  rpt: { midtrain: { method: 'rpt' } },
  rmt: { midtrain: { method: 'rmt' } },
  'rmt-no-budget': { midtrain: { method: 'rmt', budget: { enabled: false } } },
  'rmt-no-curriculum': { midtrain: { method: 'rmt', curriculum: { sampler: 'entropy-filtered', options: { minTier: 'easy' } } } },
  'rmt-no-ntp': { midtrain: { method: 'rmt', ntp: false } },
};

interface SeedResult {
  /** Held-out evaluation (both modes). */
  result: EvalResult;
  posttrain: { before: number; after: number };
}

function accuracyOf(result: EvalResult, mode: 'reasoning' | 'next-token'): Accuracy {
  const pick = (s: { ntpAccuracy: number; reasoningAccuracy?: number }) => (mode === 'reasoning' ? (s.reasoningAccuracy ?? NaN) : s.ntpAccuracy);
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
function accuracyInterval(rows: SeedResult[], mode: 'reasoning' | 'next-token', key: Split | 'average'): { low: number; high: number } {
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
  return { low: all.reduce((a, c) => a + c.low, 0) / all.length, high: all.reduce((a, c) => a + c.high, 0) / all.length };
}

/** A comparison row finished by an earlier invocation: its evaluation and its post-training, both written. */
function finished(dir: RunDirectory): { eval: { base: EvalResult | null; trained: EvalResult; budget: number | null }; posttrain: SeedResult['posttrain'] } | undefined {
  const evalFile = dir.path('eval.json');
  const posttrain = readPosttrain(dir.path('posttrain'));
  if (!existsSync(evalFile) || !posttrain) return undefined;
  return { eval: JSON.parse(readFileSync(evalFile, 'utf8')) as { base: EvalResult | null; trained: EvalResult; budget: number | null }, posttrain };
}

function readPosttrain(dir: string): SeedResult['posttrain'] | undefined {
  const file = join(dir, 'posttrain.json');
  if (!existsSync(file)) return undefined;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { before: { accuracy: number }; after: { accuracy: number } };
  return { before: saved.before.accuracy, after: saved.after.accuracy };
}

/** Post-train into `dir`, dropping what an interrupted attempt left there (post-training is not resumed). */
async function freshPosttrain(cfg: RunConfig, model: string, dir: string, reporter: Reporter, budget?: number): Promise<SeedResult['posttrain']> {
  await rm(dir, { recursive: true, force: true });
  const post = await runPosttrain(cfg, model, new RunDirectory(dir), reporter, budget);
  return { before: post.before.accuracy, after: post.after.accuracy };
}

export async function runCompare(config: RunConfig, seeds: number[], out: RunDirectory, reporter: Reporter): Promise<CompareResults> {
  const perMethod = new Map<CompareMethod, SeedResult[]>();
  const add = (m: CompareMethod, r: SeedResult) => perMethod.set(m, [...(perMethod.get(m) ?? []), r]);
  let sites: Record<Split, number> | undefined;
  for (const seed of seeds) {
    const seeded = validateConfig(merge(config, { seed }), `compare seed ${seed}`);
    let baseRow: SeedResult | undefined;
    for (const method of COMPARE_METHODS.filter((m) => m !== 'base')) {
      const cfg = validateConfig(merge(seeded, OVERRIDES[method as Exclude<CompareMethod, 'base'>]), `compare ${method}`);
      const dir = new RunDirectory(join(out.dir, `seed-${seed}`, method));
      const needBase = baseRow === undefined;
      // Rerun into the same --out, a comparison keeps every finished row and resumes an interrupted one.
      const done = finished(dir);
      let outcome: { base?: EvalResult; trained: EvalResult; finalBudget: number | undefined };
      if (done) {
        reporter.log(`compare: seed ${seed}, ${method}: finished earlier, kept`);
        outcome = { base: done.eval.base ?? undefined, trained: done.eval.trained, finalBudget: done.eval.budget ?? undefined };
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
      const post = done?.posttrain ?? (await freshPosttrain(cfg, dir.path('model'), dir.path('posttrain'), reporter, outcome.finalBudget));
      if (needBase) {
        if (!outcome.base) throw new Error(`compare: ${dir.dir} has no base evaluation (eval.json without 'base')`);
        const baseDir = join(out.dir, `seed-${seed}`, 'base-posttrain');
        const basePost = readPosttrain(baseDir) ?? (await freshPosttrain(cfg, basePath(cfg), baseDir, reporter));
        baseRow = { result: outcome.base, posttrain: basePost };
        add('base', baseRow);
        sites = Object.fromEntries(SPLITS.map((s) => [s, outcome.base!.splits[s].sites])) as Record<Split, number>;
      }
      add(method, { result: outcome.trained, posttrain: post });
    }
  }
  const results: CompareResults = { seeds, sites: sites!, methods: {} };
  for (const method of COMPARE_METHODS) {
    const rows = perMethod.get(method)!;
    const mode = method === 'base' || method === 'ntp' ? 'next-token' : 'reasoning';
    const mean = (f: (r: SeedResult) => number) => meanInterval(rows.map(f));
    const keys = [...SPLITS, 'average'] as const;
    const acc = (m: 'reasoning' | 'next-token') => Object.fromEntries(keys.map((k) => [k, mean((r) => accuracyOf(r.result, m)[k]).mean])) as Accuracy;
    results.methods[method] = {
      mode,
      accuracy: acc(mode),
      accuracy_ci: Object.fromEntries(keys.map((k) => [k, accuracyInterval(rows, mode, k)])) as CompareResults['methods'][string]['accuracy_ci'],
      accuracy_ntp_mode: acc('next-token'),
      accuracy_reasoning_mode: acc('reasoning'),
      reasoning_length: mean((r) => r.result.average.meanLength ?? NaN).mean,
      posttrain: { before: mean((r) => r.posttrain.before).mean, after: mean((r) => r.posttrain.after).mean },
    };
  }
  await out.writeJson('results.json', results);
  await writeFileAtomic(out.path('results.md'), resultsMarkdown(results));
  await writeCompareReport(out.dir, results, readFileSync(out.path('config.resolved.yaml'), 'utf8'));
  return results;
}

export function resultsMarkdown(r: CompareResults): string {
  const lines: string[] = [];
  lines.push(`# RMT comparison`, '', `Seeds: ${r.seeds.join(', ')}. Held-out sites per split (nested, base top-16 entropy): easy ${r.sites.easy}, medium ${r.sites.medium}, hard ${r.sites.hard}. Accuracy: mean over seeds [95% interval: t across seeds, Wilson with one seed]; reasoning mode for RPT, RMT and ablations, next-token mode for base and NTP.`, '');
  lines.push('## Next-token accuracy', '', '| method | mode | easy | medium | hard | average |', '| --- | --- | ---: | ---: | ---: | ---: |');
  for (const [m, v] of Object.entries(r.methods)) {
    const cell = (k: 'easy' | 'medium' | 'hard' | 'average') => `${pct(v.accuracy[k])} [${pct(v.accuracy_ci[k].low)}, ${pct(v.accuracy_ci[k].high)}]`;
    lines.push(`| ${m} | ${v.mode} | ${cell('easy')} | ${cell('medium')} | ${cell('hard')} | ${cell('average')} |`);
  }
  lines.push('', '## Reasoning length (mean tokens)', '', '| method | length |', '| --- | ---: |');
  for (const [m, v] of Object.entries(r.methods)) if (v.mode === 'reasoning' || m === 'base') lines.push(`| ${m} | ${Number.isFinite(v.reasoning_length) ? v.reasoning_length.toFixed(1) : '–'} |`);
  lines.push('', '## Post-training (verifiable task accuracy)', '', '| starting checkpoint | before | after |', '| --- | ---: | ---: |');
  for (const [m, v] of Object.entries(r.methods)) lines.push(`| ${m} | ${pct(v.posttrain.before)} | ${pct(v.posttrain.after)} |`);
  lines.push('', '## Ablations', '', '| method | average accuracy | Δ vs RMT | reasoning length |', '| --- | ---: | ---: | ---: |');
  const rmt = r.methods.rmt!;
  for (const m of ['rmt', 'rmt-no-ntp', 'rmt-no-budget', 'rmt-no-curriculum']) {
    const v = r.methods[m]!;
    lines.push(`| ${m} | ${pct(v.accuracy.average)} | ${m === 'rmt' ? '' : `${(100 * (v.accuracy.average - rmt.accuracy.average)).toFixed(1)} pt`} | ${v.reasoning_length.toFixed(1)} |`);
  }
  lines.push('', '## The published claims, measured', '', '| claim (paper) | measured | holds |', '| --- | --- | :---: |');
  for (const c of claims(r)) lines.push(`| ${c.claim} | ${c.measured} | ${c.holds ? 'yes' : 'no'} |`);
  return `${lines.join('\n')}\n`;
}
