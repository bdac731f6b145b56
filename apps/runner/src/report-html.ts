// report.html rendering: a self-contained page (inline SVG, no scripts, no external resources) a researcher
// reads first — the run summary and warnings on top, the result tables, one panel per quantity (each with
// its own y scale, the raw per-step values thin and faint under a moving average, a caption saying how to
// read it), a few rollouts, and the config folded away. Plots are vega-lite specs rendered to SVG by vega.
// Reads no files and imports none of the runner's modules: report.ts gathers the input.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface ReportRun {
  name: string;
  metrics: Record<string, unknown>[];
}

export interface ReportWarning {
  /** The run (method) it came from, in a comparison. */
  run?: string;
  step?: number;
  message: string;
}

export interface ReportRollout {
  step: number;
  site?: string;
  prompt: string;
  completion: string;
  /** The parsed answer; null when none could be parsed. */
  prediction: string | null;
  match?: number;
  reward?: number;
  advantage?: number;
}

export interface ReportTable {
  caption: string;
  header: string[];
  rows: (string | number)[][];
}

export interface ReportInput {
  title: string;
  /** The run summary on top: label → value. */
  summary: [string, string][];
  /** Warnings the run logged (warnings.jsonl) and notes drawn from its metrics. */
  warnings: ReportWarning[];
  /** Said in the warnings section when no warning was recorded, or why none could be. */
  warningsNote?: string;
  /** Observations computed from the metrics (not warnings: context for reading the curves). */
  notes: string[];
  tables: ReportTable[];
  runs: ReportRun[];
  /** 'overlay' for one run; 'facet' for a comparison: one small panel per run, same y scale. */
  layout: 'single' | 'facet';
  rollouts: { caption: string; rows: ReportRollout[] }[];
  /** The resolved config, YAML, shown verbatim inside a collapsed <details>. */
  config: string;
  /** Held-out learning curves (a comparison): one small panel per method, a mean line and a seed band. */
  learningCurves?: LearningCurvePanel[];
}

/** One held-out quantity against steps or generated tokens, per method (`run`), mean over seeds and its 95% band. */
export interface LearningCurvePanel {
  id: string;
  title: string;
  x: string;
  y: string;
  caption: string;
  domain?: [number, number];
  rows: { run: string; x: number; mean: number; low: number | null; high: number | null }[];
  /** Panel order (methods). */
  runs: string[];
}

/** One quantity of the training curves: its metric keys (→ legend labels), axis title and caption. */
interface Panel {
  id: string;
  title: string;
  keys: Record<string, string>;
  y: string;
  caption: string;
  /** A fixed y domain (probabilities, shares). */
  domain?: [number, number];
  /** Let the y scale leave out zero (a loss that moves far from it). */
  zero?: boolean;
  /** Leave the panel out when every value is 0 (a quantity the method does not use). */
  hideIfAllZero?: boolean;
}

const PANELS: Panel[] = [
  {
    id: 'reward',
    title: 'Training reward',
    keys: { reward: 'mean reward' },
    y: 'mean reward',
    caption:
      'Mean reward of the rollouts on the sites sampled this step (correct answer, minus the length penalty). With the curriculum moving to harder tiers it can fall while held-out accuracy rises — compare with curriculum/p_hard below and with the held-out table above.',
  },
  {
    id: 'accuracy',
    title: 'Rollout accuracy (training sites)',
    keys: { accuracy: 'prefix-match accuracy' },
    y: 'share correct',
    domain: [0, 1],
    caption:
      "Share of this step's rollouts whose answer matches the true continuation, on the sampled training sites, not the held-out ones: like the reward it depends on which tiers were sampled.",
  },
  {
    id: 'length',
    title: 'Reasoning length vs budget',
    keys: { 'completions/mean_length': 'mean reasoning length', budget: 'budget' },
    y: 'tokens',
    caption:
      'Mean reasoning tokens per rollout against the budget told in the prompt. Length well above the budget: the length penalty does not bite; length at the cap: rollouts are cut off (see the learning-signal panel).',
  },
  {
    id: 'curriculum',
    title: 'Curriculum tier probabilities',
    keys: { 'curriculum/p_easy': 'p_easy', 'curriculum/p_medium': 'p_medium', 'curriculum/p_hard': 'p_hard' },
    y: 'probability',
    domain: [0, 1],
    caption:
      'Probability of drawing a site from each entropy tier of the base. A rising p_hard means harder training sites, which lowers training reward and rollout accuracy without the model getting worse.',
  },
  {
    id: 'loss-rl',
    title: 'RL loss (loss/rl)',
    keys: { 'loss/rl': 'loss/rl' },
    y: 'loss/rl',
    caption:
      "Clipped policy-gradient loss of the rollouts. It is 0 on steps where every group's rollouts got the same reward (no advantage, no gradient); its sign and size are not a progress measure — read the reward and the held-out table.",
  },
  {
    id: 'loss-ntp',
    title: 'Next-token loss (loss/ntp)',
    keys: { 'loss/ntp': 'loss/ntp' },
    y: 'nats',
    zero: false,
    hideIfAllZero: true,
    caption:
      'Cross-entropy of next-token prediction on the rest of the sampled windows (the dual loss). It should stay flat or fall; a steady rise means the RL updates erode language modelling.',
  },
  {
    id: 'loss',
    title: 'Training loss',
    keys: { loss: 'loss' },
    y: 'nats',
    zero: false,
    caption:
      'Cross-entropy of the training batch (pretraining). It should fall; a plateau early on suggests a learning rate too low, spikes one too high.',
  },
  {
    id: 'signal',
    title: 'Learning signal',
    keys: { frac_reward_zero_std: 'groups with equal rewards', 'completions/clipped_ratio': 'rollouts cut at the cap' },
    y: 'share',
    domain: [0, 1],
    caption:
      'Share of groups whose rollouts all got the same reward (they give no RL gradient) and share of rollouts cut at the length cap. Either near 1 for long: RL is not learning (sites too easy or too hard, or the cap too low).',
  },
  {
    id: 'grad',
    title: 'Gradient norm',
    keys: { grad_norm: 'grad_norm' },
    y: 'norm',
    caption:
      'Norm of the gradient of each update. Spikes or a steady climb warn of instability; 0 means no update was made.',
  },
  {
    id: 'kl',
    title: 'KL to the base (kl)',
    keys: { kl: 'kl' },
    y: 'nats',
    hideIfAllZero: true,
    caption:
      'KL divergence of the policy from the frozen base on the rollouts (only computed with loss.beta > 0). A steady climb: the policy drifts away from the base.',
  },
];

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

type Row = { run: string; step: number; series: string; value: number; smooth: number };

/** Window of the moving average: about a twentieth of the run, at least 1 (no smoothing) and odd. */
function smoothingWindow(steps: number): number {
  if (steps < 8) return 1;
  const w = Math.max(3, Math.round(steps / 20));
  return w % 2 === 0 ? w + 1 : w;
}

/** Centred moving average (shrinking at the ends), so a curve is not shifted right as a trailing one is. */
function movingAverage(values: number[], window: number): number[] {
  const half = Math.floor(window / 2);
  return values.map((_, i) => {
    const part = values.slice(Math.max(0, i - half), i + half + 1);
    return part.reduce((a, b) => a + b, 0) / part.length;
  });
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function panelRows(runs: ReportRun[], panel: Panel): { rows: Row[]; window: number } {
  const rows: Row[] = [];
  let window = 1;
  for (const r of runs) {
    for (const [key, label] of Object.entries(panel.keys)) {
      const points = r.metrics.flatMap((m) => {
        const step = num(m.step);
        const value = num(m[key]);
        return step === undefined || value === undefined ? [] : [{ step, value }];
      });
      const w = smoothingWindow(points.length);
      window = Math.max(window, w);
      const smooth = movingAverage(
        points.map((p) => p.value),
        w,
      );
      points.forEach((p, i) =>
        rows.push({ run: r.name, step: p.step, series: label, value: p.value, smooth: smooth[i]! }),
      );
    }
  }
  return { rows, window };
}

function panelSpec(
  panel: Panel,
  rows: Row[],
  window: number,
  layout: 'single' | 'facet',
  runOrder: string[],
): TopLevelSpec {
  const labels = Object.values(panel.keys).filter((l) => rows.some((r) => r.series === l));
  const color =
    labels.length > 1
      ? {
          field: 'series',
          type: 'nominal' as const,
          scale: { domain: labels, range: PALETTE.slice(0, labels.length) },
          legend: { title: null, orient: 'top' as const, direction: 'horizontal' as const, labelLimit: 0 },
        }
      : { value: PALETTE[0]! };
  const y = {
    type: 'quantitative' as const,
    title: panel.y,
    scale: { ...(panel.domain ? { domain: panel.domain } : {}), ...(panel.zero === false ? { zero: false } : {}) },
  };
  const x = { field: 'step', type: 'quantitative' as const, title: 'step' };
  const layers =
    window > 1
      ? [
          {
            mark: { type: 'line' as const, strokeWidth: 1, opacity: 0.35 },
            encoding: { x, y: { ...y, field: 'value' }, color, detail: { field: 'series' } },
          },
          {
            mark: { type: 'line' as const, strokeWidth: 2 },
            encoding: { x, y: { ...y, field: 'smooth' }, color, detail: { field: 'series' } },
          },
        ]
      : [
          {
            mark: { type: 'line' as const, strokeWidth: 1.5, point: { size: 18 } },
            encoding: { x, y: { ...y, field: 'value' }, color, detail: { field: 'series' } },
          },
        ];
  const config = {
    axis: { labelFontSize: 11, titleFontSize: 11 },
    legend: { labelFontSize: 12, symbolOpacity: 1, symbolStrokeWidth: 3, symbolSize: 160 },
    header: { labelFontSize: 12, labelFontWeight: 600 },
  };
  if (layout === 'single') {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      width: 430,
      height: 170,
      data: { values: rows },
      layer: layers,
      config,
    } as TopLevelSpec;
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: rows },
    facet: { field: 'run', type: 'nominal', title: null, sort: runOrder, header: { labelLimit: 0 } },
    columns: 3,
    spec: { width: 270, height: 120, layer: layers },
    resolve: { scale: { y: 'shared' } },
    config,
  } as TopLevelSpec;
}

/** Small multiples of a held-out curve: the seed band (95% t-interval; none with one seed) under the mean line. */
function learningCurveSpec(p: LearningCurvePanel): TopLevelSpec {
  const rows = p.rows.filter((r) => Number.isFinite(r.mean));
  // A method without points keeps its panel (an empty one), as curvePanels does for the training curves.
  for (const run of p.runs)
    if (!rows.some((r) => r.run === run))
      rows.push({ run, x: 0, mean: null as unknown as number, low: null, high: null });
  const x = { field: 'x', type: 'quantitative' as const, title: p.x };
  const y = { type: 'quantitative' as const, title: p.y, scale: p.domain ? { domain: p.domain } : {} };
  const config = {
    axis: { labelFontSize: 11, titleFontSize: 11 },
    header: { labelFontSize: 12, labelFontWeight: 600 },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: rows },
    facet: { field: 'run', type: 'nominal', title: null, sort: p.runs, header: { labelLimit: 0 } },
    columns: 4,
    spec: {
      width: 200,
      height: 110,
      layer: [
        {
          mark: { type: 'area' as const, opacity: 0.25, color: PALETTE[0] },
          transform: [{ filter: 'datum.low !== null && datum.high !== null' }],
          encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' } },
        },
        {
          mark: { type: 'line' as const, strokeWidth: 2, color: PALETTE[0], point: { size: 16 } },
          encoding: { x, y: { ...y, field: 'mean' } },
        },
      ],
    },
    resolve: { scale: { y: 'shared' } },
    config,
  } as TopLevelSpec;
}

async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The panels a report draws for these runs, with their vega-lite specs (panels without data left out). */
function curvePanels(
  runs: ReportRun[],
  layout: 'single' | 'facet',
): { panel: Panel; window: number; spec: TopLevelSpec }[] {
  const order = runs.map((r) => r.name);
  return PANELS.flatMap((panel) => {
    const { rows, window } = panelRows(runs, panel);
    if (rows.length === 0 || (panel.hideIfAllZero && rows.every((r) => r.value === 0))) return [];
    // Small multiples keep every method in its place: a method without this quantity (NTP has no reward)
    // gets an empty panel (a row with no value, which the marks leave out), not a gap that shifts the rest.
    if (layout === 'facet')
      for (const run of order)
        if (!rows.some((r) => r.run === run))
          rows.push({
            run,
            step: 0,
            series: Object.values(panel.keys)[0]!,
            value: null as unknown as number,
            smooth: null as unknown as number,
          });
    return [{ panel, window, spec: panelSpec(panel, rows, window, layout, order) }];
  });
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function table(t: ReportTable): string {
  return `<table><caption>${escapeHtml(t.caption)}</caption><thead><tr>${t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** A completion split at the end of its reasoning (`[/THINK]`, `</think>`): [reasoning, the rest]. */
export function splitReasoning(completion: string): [string, string] {
  const m = /\[\/THINK\]|<\/think>/i.exec(completion);
  return m ? [completion.slice(0, m.index), completion.slice(m.index)] : [completion, ''];
}

const fixed = (x: number | undefined, digits: number) =>
  x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);

function rolloutTable(caption: string, rows: ReportRollout[]): string {
  const body = rows
    .map((r) => {
      const [reasoning, rest] = splitReasoning(r.completion);
      const answer = r.prediction === null ? '<em>unparsed</em>' : `<code>${escapeHtml(r.prediction)}</code>`;
      return `<tr><td>${r.step}</td><td>${escapeHtml(r.site ?? '')}</td><td><code>${escapeHtml(r.prompt)}</code></td><td><code>${escapeHtml(reasoning)}</code><span class="rest">${escapeHtml(rest)}</span></td><td>${answer}</td><td>${r.match === undefined ? '–' : r.match ? 'yes' : 'no'}</td><td>${fixed(r.reward, 3)}</td><td>${fixed(r.advantage, 2)}</td></tr>`;
    })
    .join('');
  return `<table class="rollouts"><caption>${escapeHtml(caption)}</caption><thead><tr><th>step</th><th>site</th><th>prompt (end)</th><th>reasoning</th><th>answer</th><th>match</th><th>reward</th><th>advantage</th></tr></thead><tbody>${body}</tbody></table>`;
}

export async function renderReport(input: ReportInput): Promise<string> {
  const panels = curvePanels(input.runs, input.layout);
  const svgs = await Promise.all(panels.map((p) => renderSvg(p.spec)));
  const learning = input.learningCurves ?? [];
  const learningSvgs = await Promise.all(learning.map((p) => renderSvg(learningCurveSpec(p))));
  const learningFigures = learning
    .map(
      (p, i) =>
        `<figure class="panel" id="curve-${p.id}"><h3>${escapeHtml(p.title)}</h3>${learningSvgs[i]}<figcaption>${escapeHtml(p.caption)}</figcaption></figure>`,
    )
    .join('\n');
  const figures = panels
    .map(({ panel, window }, i) => {
      const how =
        window > 1
          ? `Thin faint line: each step's value; thick line: centred moving average over ${window} steps.`
          : 'Each point: one step (too few steps to smooth).';
      const facet = input.layout === 'facet' ? ' One panel per method, same y scale.' : '';
      return `<figure class="panel" id="panel-${panel.id}"><h3>${escapeHtml(panel.title)}</h3>${svgs[i]}<figcaption>${escapeHtml(`${panel.caption} ${how}${facet}`)}</figcaption></figure>`;
    })
    .join('\n');
  const summary = input.summary.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const warnings =
    input.warnings.length > 0
      ? `<ul class="warnings">${input.warnings.map((w) => `<li>${w.run ? `<b>${escapeHtml(w.run)}</b> ` : ''}${w.step !== undefined ? `<span class="step">step ${w.step}</span> ` : ''}${escapeHtml(w.step !== undefined ? w.message.replace(new RegExp(`^step ${w.step}: `), '') : w.message)}</li>`).join('')}</ul>`
      : `<p class="ok">${escapeHtml(input.warningsNote ?? 'No warnings recorded.')}</p>`;
  const notes =
    input.notes.length > 0
      ? `<ul class="notes">${input.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`
      : '';
  const rollouts = input.rollouts.filter((r) => r.rows.length > 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem 2rem;color:#222;max-width:1160px;line-height:1.35}
h1{margin:.2rem 0 .6rem;font-size:1.6rem}h2{margin:1.6rem 0 .5rem;font-size:1.25rem;border-bottom:1px solid #ddd}
h3{margin:0 0 .2rem;font-size:1rem}
.top{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
.summary{flex:0 1 520px;margin-top:0}.summary th{text-align:left;font-weight:600;background:#fafafa;white-space:nowrap}.summary td{text-align:left;min-width:15rem}
section.warnings-box{flex:1 1 420px}section.warnings-box h2{margin-top:0}
ul.warnings li{color:#8a4b00;margin:.2rem 0}ul.warnings .step{font-family:monospace;color:#555}
ul.notes li{color:#333;margin:.2rem 0}p.ok{color:#2a6a2a}
.panels{display:flex;flex-wrap:wrap;gap:1.2rem 1.5rem}
figure.panel{margin:0;flex:0 1 auto;max-width:100%}figure.panel svg{max-width:100%;height:auto}
figcaption{font-size:.82rem;color:#444;max-width:540px}
.facet figcaption{max-width:none}
table{border-collapse:collapse;margin:.8rem 0}caption{text-align:left;font-weight:600;margin-bottom:.3rem}
td,th{border:1px solid #ccc;padding:.2rem .55rem;text-align:right;vertical-align:top}th:first-child,td:first-child{text-align:left}
table.rollouts td,table.rollouts th{text-align:left;font-size:.85rem}table.rollouts code{white-space:pre-wrap;word-break:break-all}
.rest{color:#999;font-family:monospace;font-size:.8rem}
details{margin:1rem 0}summary{cursor:pointer;font-weight:600}
pre{background:#f6f6f6;padding:1rem;overflow:auto;font-size:.8rem}
</style></head><body>
<h1>${escapeHtml(input.title)}</h1>
<div class="top">
<table class="summary"><caption>Run summary</caption><tbody>${summary}</tbody></table>
<section class="warnings-box" id="warnings"><h2>Warnings</h2>${warnings}${notes}</section>
</div>
<h2>Results</h2>
${input.tables.map(table).join('\n')}
${learning.length > 0 ? `<h2 id="learning-curves">Learning curves (held-out)</h2>\n<div class="panels facet">\n${learningFigures}\n</div>` : ''}
<h2>Training curves</h2>
<div class="panels${input.layout === 'facet' ? ' facet' : ''}">
${figures}
</div>
${rollouts.length > 0 ? `<h2 id="rollouts">Rollout examples</h2>\n${rollouts.map((r) => rolloutTable(r.caption, r.rows)).join('\n')}` : ''}
<details id="config"><summary>Configuration (resolved, YAML)</summary><pre>${escapeHtml(input.config)}</pre></details>
<p class="generated">generated ${new Date().toISOString()}</p>
</body></html>
`;
}
