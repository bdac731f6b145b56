// report.html for a run directory (`rmt report`, every finished `rmt run`) and for a comparison (`rmt
// compare`): gathers what the run directory holds — config.resolved.yaml, metrics.jsonl, warnings.jsonl,
// rollouts.jsonl, eval.json — and hands it to report-html.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { EvalResult } from '@rmt/eval';
import { writeFileAtomic } from '@rmt/core';
import { claims } from './claims.js';
import type { Band, ClaimCheck, CompareResults, SweepResults } from './compare-results.js';
import { pct } from './format.js';
import {
  renderReport,
  type LearningCurvePanel,
  type ReportRollout,
  type ReportRun,
  type ReportTable,
  type ReportWarning,
} from './report-html.js';

/** What report.html reads of preflight.json (written by the runner from the trainer's PreflightReport). */
interface PreflightFile {
  rollouts: number;
  parsed: number;
  parseRate: number;
  accuracy: number;
  meanReasoningTokens: number;
  clippedRatio: number;
  outcome: 'ok' | 'warned' | 'stopped';
  message: string | null;
}

/** The JSON lines of a log; blank lines and a last line torn by a kill are skipped, other bad lines throw. */
function readJsonl(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Record<string, unknown>[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch (error) {
      const last = lines.slice(i + 1).every((rest) => rest.trim() === '');
      if (!last) throw new Error(`${file}:${i + 1}: not JSON`, { cause: error });
    }
  });
  return out;
}

function readMetrics(dir: string): Record<string, number>[] {
  return readJsonl(join(dir, 'metrics.jsonl')) as Record<string, number>[];
}

/**
 * The warnings a run logged: `warnings.jsonl` lines `{step?, message}`, and a `warning` field (a string or
 * strings) on metrics.jsonl lines. `persisted` is false when the directory has neither (an older run, or
 * a runner that printed warnings to stderr only).
 */
function readWarnings(dir: string): { warnings: ReportWarning[]; persisted: boolean } {
  const file = join(dir, 'warnings.jsonl');
  const step = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const warnings: ReportWarning[] = readJsonl(file).flatMap((w) =>
    typeof w.message === 'string' ? [{ step: step(w.step), message: w.message }] : [],
  );
  let inMetrics = false;
  for (const m of readJsonl(join(dir, 'metrics.jsonl'))) {
    const w = (m as { warning?: unknown }).warning;
    const messages =
      typeof w === 'string' ? [w] : Array.isArray(w) ? w.filter((x): x is string => typeof x === 'string') : [];
    if ('warning' in m) inMetrics = true;
    for (const message of messages) warnings.push({ step: step(m.step), message });
  }
  return { warnings, persisted: existsSync(file) || inMetrics };
}

/** Rollouts of a few steps of rollouts.jsonl (first, middle, last), identical ones in a step shown once. */
function readRollouts(dir: string, steps = 3, perStep = 4): ReportRollout[] {
  const all = readJsonl(join(dir, 'rollouts.jsonl')).flatMap((r): ReportRollout[] =>
    typeof r.step === 'number' && typeof r.completion === 'string'
      ? [
          {
            step: r.step,
            site: typeof r.site === 'string' ? r.site : undefined,
            prompt: String(r.prompt ?? ''),
            completion: r.completion,
            prediction: typeof r.prediction === 'string' ? r.prediction : null,
            match: typeof r.match === 'number' ? r.match : undefined,
            reward: typeof r.reward === 'number' ? r.reward : undefined,
            advantage: typeof r.advantage === 'number' ? r.advantage : undefined,
          },
        ]
      : [],
  );
  const distinct = [...new Set(all.map((r) => r.step))].sort((a, b) => a - b);
  const picked = new Set(
    distinct.length <= steps
      ? distinct
      : Array.from({ length: steps }, (_, i) => distinct[Math.round((i * (distinct.length - 1)) / (steps - 1))]!),
  );
  const out: ReportRollout[] = [];
  for (const s of [...picked]) {
    const seen = new Set<string>();
    for (const r of all.filter((x) => x.step === s)) {
      const key = `${r.site}\u0000${r.prompt}\u0000${r.completion}`;
      if (seen.has(key) || seen.size >= perStep) continue;
      seen.add(key);
      out.push(r);
    }
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const finite = (metrics: Record<string, unknown>[], key: string) =>
  metrics.map((m) => m[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));

/** Context for reading the curves, computed from the metrics (what a person would otherwise work out). */
function metricNotes(metrics: Record<string, unknown>[], prefix = ''): string[] {
  const notes: string[] = [];
  const n = metrics.length;
  if (n === 0) return notes;
  const quarter = Math.max(1, Math.floor(n / 4));
  const early = (key: string) => mean(finite(metrics.slice(0, quarter), key));
  const late = (key: string) => mean(finite(metrics.slice(-quarter), key));
  const reward = finite(metrics, 'reward');
  const pHard = finite(metrics, 'curriculum/p_hard');
  if (reward.length >= 4) {
    const [r0, r1] = [early('reward'), late('reward')];
    const hardNote =
      pHard.length >= 4 && late('curriculum/p_hard') > early('curriculum/p_hard') + 0.05
        ? `; curriculum/p_hard rose from ${early('curriculum/p_hard').toFixed(2)} to ${late('curriculum/p_hard').toFixed(2)} over the same steps, so later rewards are on harder sites — judge progress by the held-out table`
        : '';
    if (r1 < r0 - 0.02)
      notes.push(
        `${prefix}Training reward fell from ${r0.toFixed(2)} (first quarter of the steps) to ${r1.toFixed(2)} (last quarter)${hardNote}.`,
      );
    else
      notes.push(
        `${prefix}Training reward: ${r0.toFixed(2)} in the first quarter of the steps, ${r1.toFixed(2)} in the last${hardNote}.`,
      );
  }
  const zeroStd = finite(metrics, 'frac_reward_zero_std');
  const flat = zeroStd.filter((v) => v >= 0.95).length;
  if (zeroStd.length > 0 && flat > 0)
    notes.push(
      `${prefix}On ${flat} of ${zeroStd.length} steps (almost) every group's rollouts got the same reward: those steps gave RL no gradient (loss/rl ≈ 0).`,
    );
  // JSON writes NaN and ±Infinity as null.
  const bad = new Map<string, number>();
  for (const m of metrics)
    for (const [k, v] of Object.entries(m))
      if (k !== 'warning' && (v === null || (typeof v === 'number' && !Number.isFinite(v))))
        bad.set(k, (bad.get(k) ?? 0) + 1);
  if (bad.size > 0)
    notes.push(
      `${prefix}Not a finite number (NaN or null) on some steps: ${[...bad].map(([k, c]) => `${k} on ${c} of ${n}`).join(', ')}.`,
    );
  return notes;
}

function evalRows(name: string, r: EvalResult): (string | number)[][] {
  const s = r.splits;
  return [
    [
      name,
      'next-token',
      pct(s.easy.ntpAccuracy),
      pct(s.medium.ntpAccuracy),
      pct(s.hard.ntpAccuracy),
      pct(r.average.ntpAccuracy),
      '',
    ],
    [
      name,
      'reasoning',
      pct(s.easy.reasoningAccuracy),
      pct(s.medium.reasoningAccuracy),
      pct(s.hard.reasoningAccuracy),
      pct(r.average.reasoningAccuracy),
      r.average.meanLength?.toFixed(1) ?? '',
    ],
  ];
}

interface EvalFile {
  base?: EvalResult | null;
  trained?: EvalResult;
  method?: string;
  seed?: number;
  steps?: number;
  budget?: number | null;
  backend?: { name: string; device?: string };
}

function parseConfig(text: string): { seed?: number; midtrain?: { method?: string; steps?: number } } {
  try {
    return (YAML.parse(text) ?? {}) as { seed?: number; midtrain?: { method?: string; steps?: number } };
  } catch {
    return {};
  }
}

function warningsNote(persisted: boolean): string {
  return persisted
    ? 'No warnings recorded.'
    : 'No warnings recorded (no warnings.jsonl: none were logged, or the run predates warnings.jsonl and printed them to the terminal only).';
}

/** `rmt report <run-dir>`: the run summary, warnings, eval.json's table, the curves and a few rollouts. */
export async function writeRunReport(dir: string): Promise<string> {
  const configFile = join(dir, 'config.resolved.yaml');
  if (!existsSync(configFile)) throw new Error(`${dir}: not a run directory (no config.resolved.yaml)`);
  const config = readFileSync(configFile, 'utf8');
  const cfg = parseConfig(config);
  const metrics = readMetrics(dir);
  const tables: ReportTable[] = [];
  const evalFile = join(dir, 'eval.json');
  const e: EvalFile | undefined = existsSync(evalFile)
    ? (JSON.parse(readFileSync(evalFile, 'utf8')) as EvalFile)
    : undefined;
  const method = e?.method ?? cfg.midtrain?.method ?? 'run';
  if (e) {
    const rows = [...(e.base ? evalRows('base', e.base) : []), ...(e.trained ? evalRows(method, e.trained) : [])];
    tables.push({
      caption: 'Held-out next-token accuracy by split (nested, base top-16 entropy)',
      header: ['model', 'mode', 'easy', 'medium', 'hard', 'average', 'reasoning length'],
      rows,
    });
  }
  const summary: [string, string][] = [['method', method]];
  const last = metrics.at(-1);
  const planned = e?.steps ?? cfg.midtrain?.steps;
  summary.push(['steps', `${metrics.length}${planned !== undefined ? ` of ${planned}` : ''} logged`]);
  summary.push(['seed', String(e?.seed ?? cfg.seed ?? 0)]);
  if (e?.backend) summary.push(['backend', `${e.backend.name}${e.backend.device ? ` (${e.backend.device})` : ''}`]);
  if (e?.trained) {
    const reasoning = method !== 'ntp' && e.trained.average.reasoningAccuracy !== undefined;
    const acc = (r: EvalResult) => pct(reasoning ? r.average.reasoningAccuracy : r.average.ntpAccuracy);
    summary.push([
      `held-out accuracy (${reasoning ? 'reasoning' : 'next-token'} mode, average)`,
      e.base ? `base ${acc(e.base)} → ${method} ${acc(e.trained)}` : acc(e.trained),
    ]);
    const sites = e.trained.splits;
    summary.push([
      'held-out sites',
      `easy ${sites.easy.sites}, medium ${sites.medium.sites}, hard ${sites.hard.sites}`,
    ]);
    if (reasoning && e.trained.average.meanLength !== undefined)
      summary.push([
        'reasoning length (held-out, mean)',
        `${e.base?.average.meanLength !== undefined ? `base ${e.base.average.meanLength.toFixed(1)} → ` : ''}${e.trained.average.meanLength.toFixed(1)} tokens`,
      ]);
  } else summary.push(['evaluation', 'none yet (no eval.json: the run is unfinished or was stopped); curves only']);
  if (e?.budget !== undefined && e.budget !== null) summary.push(['final budget', String(e.budget)]);
  const time = finite(metrics, 'timing/step');
  if (time.length > 0)
    summary.push([
      'training time',
      `${time.reduce((a, b) => a + b, 0).toFixed(1)} s (${mean(time).toFixed(2)} s/step)`,
    ]);
  if (last && typeof last.lr === 'number') summary.push(['final lr', last.lr.toExponential(2)]);
  const { warnings, persisted } = readWarnings(dir);
  // The preflight's rollouts on the base, before step 0 (preflight.json): the first thing to read when a run
  // stopped without a learning signal.
  const preflightFile = join(dir, 'preflight.json');
  if (existsSync(preflightFile)) {
    const pre = JSON.parse(readFileSync(preflightFile, 'utf8')) as PreflightFile;
    summary.push([
      'preflight (the base, before step 0)',
      `${pre.parsed} of ${pre.rollouts} rollouts parsed (${pct(pre.parseRate)}), accuracy ${pct(pre.accuracy)}, reasoning ${pre.meanReasoningTokens.toFixed(1)} tokens, clipped ${pct(pre.clippedRatio)}: ${pre.outcome}`,
    ]);
    if (pre.message) warnings.unshift({ step: 0, message: `preflight: ${pre.message}` });
  }
  const rollouts = readRollouts(dir);
  const html = await renderReport({
    title: `RMT run ${dir}`,
    summary,
    warnings,
    warningsNote: warningsNote(persisted),
    notes: metricNotes(metrics),
    tables,
    runs: [{ name: method, metrics }],
    layout: 'single',
    rollouts: [
      {
        caption:
          'Rollouts of the first, a middle and the last logged step (rollouts.jsonl; identical rollouts of a group shown once)',
        rows: rollouts,
      },
    ],
    config,
  });
  const file = join(dir, 'report.html');
  await writeFileAtomic(file, html);
  return file;
}

/** report.html of a comparison: every method's curves (first seed) as small multiples, and the result tables. */
export async function writeCompareReport(dir: string, results: CompareResults, config: string): Promise<string> {
  const seed = results.seeds[0]!;
  const trained = Object.keys(results.methods).filter((m) => m !== 'base');
  const runDir = (m: string) => join(dir, `seed-${seed}`, m);
  const runs: ReportRun[] = trained.map((m) => ({ name: m, metrics: readMetrics(runDir(m)) }));
  const methods = Object.entries(results.methods);
  const ci = (v: CompareResults['methods'][string], k: 'easy' | 'medium' | 'hard' | 'average') =>
    `${pct(v.accuracy[k])} [${pct(v.accuracy_ci[k].low)}, ${pct(v.accuracy_ci[k].high)}]`;
  const measured = claims(results);
  const warnings: ReportWarning[] = [];
  let persisted = false;
  for (const s of results.seeds) {
    for (const m of trained) {
      const w = readWarnings(join(dir, `seed-${s}`, m));
      persisted ||= w.persisted;
      warnings.push(...w.warnings.map((x) => ({ ...x, run: results.seeds.length > 1 ? `${m} (seed ${s})` : m })));
    }
  }
  const rmt = results.methods.rmt;
  const summary: [string, string][] = [
    ['methods', Object.keys(results.methods).join(', ')],
    ['seeds', results.seeds.join(', ')],
    ['held-out sites', `easy ${results.sites.easy}, medium ${results.sites.medium}, hard ${results.sites.hard}`],
    ['claims holding', `${measured.filter((c) => c.holds).length} of ${measured.length}`],
    ...(rmt
      ? ([
          [
            'rmt average accuracy',
            `${pct(rmt.accuracy.average)} [${pct(rmt.accuracy_ci.average.low)}, ${pct(rmt.accuracy_ci.average.high)}]`,
          ],
        ] as [string, string][])
      : []),
    ['curves', `seed ${seed}, one panel per method`],
  ];
  const html = await renderReport({
    title: 'RMT comparison',
    summary,
    warnings,
    warningsNote: warningsNote(persisted),
    notes: runs.flatMap((r) => metricNotes(r.metrics, `${r.name}: `).slice(0, 1)),
    runs,
    layout: 'facet',
    tables: [
      {
        caption: `Next-token accuracy (mean over seeds [95% interval]; sites: easy ${results.sites.easy}, medium ${results.sites.medium}, hard ${results.sites.hard})`,
        header: ['method', 'mode', 'easy', 'medium', 'hard', 'average'],
        rows: methods.map(([m, v]) => [m, v.mode, ci(v, 'easy'), ci(v, 'medium'), ci(v, 'hard'), ci(v, 'average')]),
      },
      {
        caption: 'Mean reasoning length (tokens)',
        header: ['method', 'length'],
        rows: methods.map(([m, v]) => [m, Number.isFinite(v.reasoning_length) ? v.reasoning_length.toFixed(1) : '–']),
      },
      {
        caption: 'Post-training: verifiable-task accuracy',
        header: ['starting checkpoint', 'before', 'after'],
        rows: methods.map(([m, v]) => [m, pct(v.posttrain.before), pct(v.posttrain.after)]),
      },
      {
        caption: 'The published claims, measured',
        header: ['claim (paper)', 'measured', 'holds'],
        rows: measured.map((c) => [c.claim, c.measured, c.holds ? 'yes' : 'no']),
      },
      ...studyTables(results),
    ],
    rollouts: rmt
      ? [
          {
            caption: `rmt (seed ${seed}): rollouts of the first, a middle and the last logged step`,
            rows: readRollouts(runDir('rmt')),
          },
        ]
      : [],
    config,
    learningCurves: learningCurvePanels(results),
  });
  const file = join(dir, 'report.html');
  await writeFileAtomic(file, html);
  return file;
}

const bandText = (b: Band, f: (x: number) => string) =>
  `${f(b.mean)}${b.low !== null && b.high !== null ? ` [${f(b.low)}, ${f(b.high)}]` : ''}`;

/** A claim's cell: mean [95% interval] → verdict. */
function claimText(c: ClaimCheck): string {
  const f = (x: number) => x.toFixed(Math.abs(c.threshold) >= 0.1 ? 2 : 3);
  return `${f(c.mean)} ${c.interval ? `[${f(c.interval.low)}, ${f(c.interval.high)}]` : c.per_seed.length < 2 ? '(1 seed: no interval)' : '(a value is not finite: no interval)'} → ${c.verdict}`;
}

/** The statistic of a claim's weakest part (its interval is the claim's). */
function weakest(c: ClaimCheck): string {
  return c.parts?.find((p) => p.mean === c.mean && p.interval?.low === c.interval?.low)?.statistic ?? 'its parts';
}

/** The study's tables of a comparison: all-token prediction, equal compute, the claims with intervals. */
function studyTables(r: CompareResults): ReportTable[] {
  const tables: ReportTable[] = [];
  const methods = Object.entries(r.methods);
  if (methods.some(([, v]) => v.all_tokens)) {
    tables.push({
      caption:
        'Next-token prediction on every held-out token, teacher-forced (mean over seeds [95% interval]): what the NTP term keeps',
      header: ['method', 'accuracy', 'NLL (nats)', 'generated reasoning tokens'],
      rows: methods.map(([m, v]) => [
        m,
        v.all_tokens ? bandText(v.all_tokens.accuracy, pct) : '–',
        v.all_tokens ? bandText(v.all_tokens.nll, (x) => x.toFixed(3)) : '–',
        v.generated_tokens !== undefined ? Math.round(v.generated_tokens) : '–',
      ]),
    });
  }
  if (r.equal_compute) {
    tables.push({
      caption: `At equal compute: each RL method at its checkpoint nearest ${Math.round(r.equal_compute.tokens)} generated reasoning tokens (the fewest any RL method generated in any seed)`,
      header: ['method', 'step', 'accuracy (reasoning, average)', 'reasoning length'],
      rows: Object.entries(r.equal_compute.methods).map(([m, v]) => [
        m,
        v.step.mean.toFixed(0),
        bandText(v.accuracy, pct),
        bandText(v.length, (x) => x.toFixed(1)),
      ]),
    });
  }
  if (r.claims) {
    tables.push({
      caption:
        "The claims with 95% intervals over seeds: holds / fails when the interval excludes the threshold on the claim's side / the other side, else inconclusive (pre-registered)",
      header: ['claim', 'statistic (per seed)', 'threshold', 'mean [95% interval] → verdict'],
      rows: r.claims.flatMap((c) => [
        [
          c.claim,
          c.parts ? 'every part below' : c.statistic,
          c.parts ? '' : `${c.direction === 'above' ? '>' : '<'} ${c.threshold}`,
          c.parts ? c.verdict : claimText(c),
        ],
        ...(c.parts ?? []).map((p) => [
          `↳ ${p.claim}`,
          p.statistic,
          `${p.direction === 'above' ? '>' : '<'} ${p.threshold}`,
          claimText(p),
        ]),
      ]),
    });
  }
  return tables;
}

/** Held-out accuracy and reasoning length against steps and against generated tokens, one panel per method. */
function learningCurvePanels(r: CompareResults, prefix = '', only?: ('accuracy' | 'length')[]): LearningCurvePanel[] {
  if (!r.curves) return [];
  const curves = r.curves;
  const runs = Object.keys(curves.methods);
  const panel = (quantity: 'accuracy' | 'length', axis: 'step' | 'tokens'): LearningCurvePanel => ({
    id: `${prefix ? `${prefix}-` : ''}${quantity}-${axis}`,
    title: `${prefix ? `${prefix}: ` : ''}held-out ${quantity === 'accuracy' ? 'reasoning accuracy' : 'reasoning length'} against ${axis === 'step' ? 'steps' : 'generated tokens'}`,
    x: axis === 'step' ? 'step' : 'generated reasoning tokens',
    y: quantity === 'accuracy' ? 'accuracy (average of splits)' : 'tokens',
    domain: quantity === 'accuracy' ? [0, 1] : undefined,
    caption: `${axis === 'step' ? `Checkpoints every ${curves.every} steps (step 0: the base, no budget).` : `The shared compute grid (every ${Math.round(curves.grid_tokens[1] ?? 0)} tokens): at each point each seed's checkpoint nearest it; NTP and the base generate no tokens (empty panels).`} Line: mean over seeds; band: 95% t-interval across seeds (none with one seed). Greedy decoding, each checkpoint told the budget of its step.`,
    rows: runs.flatMap((m) =>
      (axis === 'step' ? curves.methods[m]!.by_step : curves.methods[m]!.by_tokens).map((p) => ({
        run: m,
        x: p.x,
        mean: p[quantity].mean,
        low: p[quantity].low,
        high: p[quantity].high,
      })),
    ),
    runs,
  });
  return (only ?? (['accuracy', 'length'] as const)).flatMap((q) => [panel(q, 'step'), panel(q, 'tokens')]);
}

/** report.html of a sweep: which claim holds in which setting, and each setting's accuracy curves. */
export async function writeSweepReport(dir: string, results: SweepResults, config: string): Promise<string> {
  const labels = results.settings.map((s) => s.label);
  const html = await renderReport({
    title: 'RMT sweep',
    summary: [
      ['swept', results.sweep.map((s) => `${s.key} ∈ {${s.values.map(String).join(', ')}}`).join(' × ')],
      ['settings', labels.join('; ')],
      ['seeds', results.seeds.join(', ')],
      [
        'per setting',
        "a folder with its own results.json, results.md and report.html (every method's training curves)",
      ],
    ],
    warnings: [],
    warningsNote: "Warnings are in each setting's report.html.",
    notes: [],
    tables: [
      {
        caption:
          "Which claim holds where: mean [95% interval over seeds] → verdict (holds / fails: the interval excludes the threshold on the claim's side / the other side; else inconclusive)",
        header: ['claim', ...labels],
        rows: results.summary.map((row) => [
          row.claim,
          ...results.settings.map((s) => {
            const c = s.results.claims!.find((x) => x.id === row.id)!;
            // A claim of parts: its verdict, and the numbers of its weakest part (the one that decides it).
            return c.parts ? `weakest part, ${weakest(c)}: ${claimText(c)}` : claimText(c);
          }),
        ]),
      },
      ...results.settings.flatMap((s) =>
        studyTables(s.results).map((t) => ({ ...t, caption: `${s.label}: ${t.caption}` })),
      ),
    ],
    runs: [],
    layout: 'facet',
    rollouts: [],
    config,
    learningCurves: results.settings.flatMap((s) => learningCurvePanels(s.results, s.label, ['accuracy'])),
  });
  const file = join(dir, 'report.html');
  await writeFileAtomic(file, html);
  return file;
}
