// report.html: a self-contained page (inline SVG, no scripts, no external resources) with the training
// curves of one or more runs and the result tables. Plots are vega-lite specs rendered to SVG by vega.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface ReportRun {
  name: string;
  metrics: Record<string, number>[];
}

export interface ReportInput {
  title: string;
  /** Shown verbatim (the resolved config, YAML). */
  config: string;
  seeds: number[];
  runs: ReportRun[];
  /** Result tables as [caption, header, rows]. */
  tables: { caption: string; header: string[]; rows: (string | number)[][] }[];
}

type Row = { run: string; step: number; series: string; value: number };

function long(runs: ReportRun[], keys: string[], label: (run: string, key: string) => string): Row[] {
  const out: Row[] = [];
  for (const r of runs) for (const m of r.metrics) for (const k of keys) if (Number.isFinite(m[k])) out.push({ run: r.name, step: m.step!, series: label(r.name, k), value: m[k]! });
  return out;
}

function lineChart(title: string, rows: Row[], yTitle: string): TopLevelSpec | undefined {
  if (rows.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 420,
    height: 200,
    data: { values: rows },
    mark: { type: 'line', interpolate: 'monotone' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: yTitle },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The training curves of METHOD.md §6's report: reward, length vs budget, tier probabilities, losses, accuracy. */
export function curveSpecs(runs: ReportRun[]): TopLevelSpec[] {
  const many = runs.length > 1;
  const name = (run: string, key: string) => (many ? `${run}: ${key}` : key);
  return [
    lineChart('Reward', long(runs, ['reward'], name), 'mean reward'),
    lineChart('Reasoning length vs budget', long(runs, ['completions/mean_length', 'budget'], name), 'tokens'),
    lineChart('Curriculum tier probabilities', long(runs, ['curriculum/p_easy', 'curriculum/p_medium', 'curriculum/p_hard'], name), 'probability'),
    lineChart('Losses', long(runs, ['loss/rl', 'loss/ntp'], name), 'loss'),
    lineChart('Rollout accuracy', long(runs, ['accuracy'], name), 'prefix-match accuracy'),
  ].filter((s): s is TopLevelSpec => s !== undefined);
}

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export async function renderReport(input: ReportInput): Promise<string> {
  const charts = await Promise.all(curveSpecs(input.runs).map(renderSvg));
  const tables = input.tables
    .map(
      (t) =>
        `<table><caption>${escape(t.caption)}</caption><thead><tr>${t.header.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
          .map((r) => `<tr>${r.map((c) => `<td>${escape(String(c))}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(input.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
table{border-collapse:collapse;margin:1rem 0}caption{text-align:left;font-weight:600;margin-bottom:.3rem}
td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}
pre{background:#f6f6f6;padding:1rem;overflow:auto;font-size:.8rem}
</style></head><body>
<h1>${escape(input.title)}</h1>
<p>Seeds: ${input.seeds.join(', ')} · generated ${new Date().toISOString()}</p>
${tables}
<h2>Training curves</h2>
<div class="charts">${charts.join('\n')}</div>
<h2>Configuration</h2>
<pre>${escape(input.config)}</pre>
</body></html>
`;
}
