// report.html for a run directory (`rmt report`) and for a comparison (`rmt compare`).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReport, type EvalResult, type ReportRun } from '@rmt/eval';
import { writeFileAtomic } from '@rmt/core';
import { claims } from './claims.js';
import type { CompareResults } from './compare.js';
import { pct } from './format.js';


export function readMetrics(dir: string): Record<string, number>[] {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as Record<string, number>;
      } catch (error) {
        throw new Error(`${file}:${i + 1}: not JSON`, { cause: error });
      }
    });
}

function evalRows(name: string, r: EvalResult): (string | number)[][] {
  const s = r.splits;
  return [
    [name, 'next-token', pct(s.easy.ntpAccuracy), pct(s.medium.ntpAccuracy), pct(s.hard.ntpAccuracy), pct(r.average.ntpAccuracy), ''],
    [name, 'reasoning', pct(s.easy.reasoningAccuracy), pct(s.medium.reasoningAccuracy), pct(s.hard.reasoningAccuracy), pct(r.average.reasoningAccuracy), r.average.meanLength?.toFixed(1) ?? ''],
  ];
}

/** `rmt report <run-dir>`: curves from metrics.jsonl, tables from eval.json. */
export async function writeRunReport(dir: string): Promise<string> {
  const configFile = join(dir, 'config.resolved.yaml');
  if (!existsSync(configFile)) throw new Error(`${dir}: not a run directory (no config.resolved.yaml)`);
  const config = readFileSync(configFile, 'utf8');
  const tables = [];
  const evalFile = join(dir, 'eval.json');
  let seeds = [0];
  if (existsSync(evalFile)) {
    const e = JSON.parse(readFileSync(evalFile, 'utf8')) as { base?: EvalResult | null; trained?: EvalResult; method?: string; seed?: number };
    seeds = [e.seed ?? 0];
    const rows = [...(e.base ? evalRows('base', e.base) : []), ...(e.trained ? evalRows(e.method ?? 'trained', e.trained) : [])];
    tables.push({ caption: 'Held-out next-token accuracy by split (nested, base top-16 entropy)', header: ['model', 'mode', 'easy', 'medium', 'hard', 'average', 'reasoning length'], rows });
  }
  const html = await renderReport({ title: `RMT run ${dir}`, config, seeds, runs: [{ name: 'run', metrics: readMetrics(dir) }], tables });
  const file = join(dir, 'report.html');
  await writeFileAtomic(file, html);
  return file;
}

/** report.html of a comparison: every method's curves (first seed) and the result tables. */
export async function writeCompareReport(dir: string, results: CompareResults, config: string): Promise<string> {
  const seed = results.seeds[0]!;
  const runs: ReportRun[] = Object.keys(results.methods)
    .filter((m) => m !== 'base')
    .map((m) => ({ name: m, metrics: readMetrics(join(dir, `seed-${seed}`, m)) }));
  const methods = Object.entries(results.methods);
  const ci = (v: CompareResults['methods'][string], k: 'easy' | 'medium' | 'hard' | 'average') => `${pct(v.accuracy[k])} [${pct(v.accuracy_ci[k].low)}, ${pct(v.accuracy_ci[k].high)}]`;
  const html = await renderReport({
    title: 'RMT comparison',
    config,
    seeds: results.seeds,
    runs,
    tables: [
      { caption: `Next-token accuracy (mean over seeds [95% interval]; sites: easy ${results.sites.easy}, medium ${results.sites.medium}, hard ${results.sites.hard})`, header: ['method', 'mode', 'easy', 'medium', 'hard', 'average'], rows: methods.map(([m, v]) => [m, v.mode, ci(v, 'easy'), ci(v, 'medium'), ci(v, 'hard'), ci(v, 'average')]) },
      { caption: 'Mean reasoning length (tokens)', header: ['method', 'length'], rows: methods.map(([m, v]) => [m, Number.isFinite(v.reasoning_length) ? v.reasoning_length.toFixed(1) : '–']) },
      { caption: 'Post-training: verifiable-task accuracy', header: ['starting checkpoint', 'before', 'after'], rows: methods.map(([m, v]) => [m, pct(v.posttrain.before), pct(v.posttrain.after)]) },
      { caption: 'The published claims, measured', header: ['claim (paper)', 'measured', 'holds'], rows: claims(results).map((c) => [c.claim, c.measured, c.holds ? 'yes' : 'no']) },
    ],
  });
  const file = join(dir, 'report.html');
  await writeFileAtomic(file, html);
  return file;
}
