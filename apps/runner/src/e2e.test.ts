// End-to-end on the `tiny` preset: every loop runs, parameters change, metrics are finite, and a run
// interrupted at step N and resumed ends with exactly the weights of an uninterrupted run.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeBackend } from '@rmt/backend';
import { loadModel } from '@rmt/model';
import { itOrSkip, sharedData, sharedDataSkip, smallDisk } from '@rmt/testing';
import { resolveConfig, runMidtrain, type RunConfig } from './index.js';
import { RunDirectory } from './output.js';
import { createReporter } from './progress.js';
import { pct } from './format.js';
import { escapeHtml, splitReasoning } from './report-html.js';
import { captureCli } from './test-cli.js';

const root = mkdtempSync(join(tmpdir(), 'rmt-e2e-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const rmt = (...args: string[]) => captureCli(['--backend', 'wasm', ...args]);

function metrics(dir: string): Record<string, number>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
}

async function weights(dir: string): Promise<number[][]> {
  const { model } = await loadModel(dir);
  const out = model.parameters().map((p) => Array.from(p.dataSync()));
  model.dispose();
  return out;
}

describe('tiny end-to-end', () => {
  const pre = join(root, 'pretrain');
  const base = join(pre, 'model');
  beforeAll(async () => {
    const { code, stderr } = await rmt('pretrain', '--preset', 'tiny', '--out', pre);
    expect(code, stderr).toBe(0);
  });

  it('pretrain writes a model and finite metrics', () => {
    const m = metrics(pre);
    expect(m).toHaveLength(4);
    expect(m.every((x) => Number.isFinite(x.loss) && Number.isFinite(x.grad_norm))).toBe(true);
  });

  it('run: mid-trains with RMT, changes the parameters, writes every output, prints the table', async () => {
    const out = join(root, 'run');
    const { code, stdout, stderr } = await rmt('run', '--preset', 'tiny', '--set', `base=${base}`, '--out', out);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/base\s+next-token/);
    expect(stdout).toMatch(/rmt\s+next-token/);
    const m = metrics(out);
    expect(m.map((x) => x.step)).toEqual([0, 1, 2, 3]);
    for (const key of [
      'reward',
      'reward_std',
      'frac_reward_zero_std',
      'completions/mean_length',
      'completions/clipped_ratio',
      'budget',
      'curriculum/p_easy',
      'curriculum/p_hard',
      'loss/rl',
      'loss/ntp',
      'kl',
      'grad_norm',
      'lr',
      'timing/rollout',
      'timing/update',
      'mem/tensors',
    ]) {
      expect(
        m.every((x) => Number.isFinite(x[key])),
        key,
      ).toBe(true);
    }
    // No tensor leaks across steps (the count after each step is the same).
    expect(new Set(m.map((x) => x['mem/tensors'])).size).toBe(1);
    const before = await weights(base);
    const after = await weights(join(out, 'model'));
    expect(after.some((p, i) => p.some((v, j) => v !== before[i]![j]))).toBe(true);
    const evalJson = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
    expect(evalJson.trained.splits.hard.sites).toBeGreaterThan(0);
    expect(evalJson.backend).toEqual({ name: activeBackend()!.name, device: activeBackend()!.device }); // results depend on it
    expect(readFileSync(join(out, 'config.resolved.yaml'), 'utf8')).toMatch(/method: rmt/);
    expect(readFileSync(join(out, 'rollouts.jsonl'), 'utf8')).toMatch(/"completion"/);
    // report.html: self-contained (inline SVG plots, no scripts or external resources).
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(4);
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html).toMatch(/Reasoning length vs budget/);
    // One panel per quantity (own y scale): loss/rl and loss/ntp apart, each with its SVG and a caption.
    const panel = (id: string) =>
      html.match(new RegExp(`<figure class="panel" id="panel-${id}">([^]*?)</figure>`))?.[1];
    for (const id of ['reward', 'accuracy', 'length', 'curriculum', 'loss-rl', 'loss-ntp']) {
      expect(panel(id), id).toMatch(/<svg[^]*<\/svg><figcaption>[^<]{40,}<\/figcaption>$/);
    }
    expect(panel('reward')).toMatch(/compare with curriculum\/p_hard/);
    // The run summary on top carries eval.json's figures.
    expect(html).toContain(
      `base ${pct(evalJson.base.average.reasoningAccuracy)} → rmt ${pct(evalJson.trained.average.reasoningAccuracy)}`,
    );
    expect(html.indexOf('Run summary')).toBeLessThan(html.indexOf('Training curves'));
    expect(html).toMatch(/<section class="warnings-box" id="warnings"><h2>Warnings<\/h2>/);
    // Rollout examples from rollouts.jsonl, escaped (the completions hold tokens such as </s>).
    const rollout = JSON.parse(readFileSync(join(out, 'rollouts.jsonl'), 'utf8').split('\n')[0]!) as {
      prompt: string;
      completion: string;
    };
    const [reasoning, rest] = splitReasoning(rollout.completion);
    expect(html).toContain(`<code>${escapeHtml(rollout.prompt)}</code>`);
    expect(html).toContain(`<code>${escapeHtml(reasoning)}</code><span class="rest">${escapeHtml(rest)}</span>`);
    if (/[<>&]/.test(rollout.completion)) expect(html).not.toContain(rollout.completion);
    // The config folded away in a <details>, verbatim (escaped).
    const config = readFileSync(join(out, 'config.resolved.yaml'), 'utf8');
    expect(html).toContain(
      `<details id="config"><summary>Configuration (resolved, YAML)</summary><pre>${escapeHtml(config)}</pre></details>`,
    );
    // Warnings a run persists (warnings.jsonl lines {step, message}) are listed with their step, escaped.
    writeFileSync(
      join(out, 'warnings.jsonl'),
      `${JSON.stringify({ step: 2, message: 'clipped_ratio <high> & rising' })}\n`,
    );
    const again = await rmt('report', out);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain(
      '<li><span class="step">step 2</span> clipped_ratio &lt;high&gt; &amp; rising</li>',
    );
  });

  it('rmt eval of a mid-trained model uses the budget it was trained to, and says so', async () => {
    const run = join(root, 'run');
    const trainedTo = (JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')) as { budget: number }).budget;
    expect(trainedTo).toBeGreaterThan(0);
    const checkpoints = readdirSync(join(run, 'checkpoints'))
      .filter((n) => /^step-\d+$/.test(n))
      .sort();
    for (const model of [join(run, 'model'), join(run, 'checkpoints', checkpoints.at(-1)!)]) {
      const out = join(root, `eval-${checkpoints.length}-${model.length}`);
      const { code, stderr } = await rmt('eval', '--preset', 'tiny', '--model', model, '--out', out);
      expect(code, stderr).toBe(0);
      expect(stderr).toContain(`budget: ${trainedTo}, the one ${model} was trained to`);
      const evalJson = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as {
        budget: number;
        result: { budget?: number };
      };
      expect(evalJson.budget).toBe(trainedTo);
      expect(evalJson.result.budget).toBe(trainedTo);
    }
    // --budget overrides it.
    const { code } = await rmt(
      'eval',
      '--preset',
      'tiny',
      '--model',
      join(run, 'model'),
      '--budget',
      '5',
      '--out',
      join(root, 'eval-5'),
    );
    expect(code).toBe(0);
    expect((JSON.parse(readFileSync(join(root, 'eval-5', 'eval.json'), 'utf8')) as { budget: number }).budget).toBe(5);
  });

  it('rpt and ntp methods run too', async () => {
    for (const method of ['rpt', 'ntp']) {
      const out = join(root, method);
      const { code, stderr } = await rmt(
        'midtrain',
        '--preset',
        'tiny',
        '--set',
        `base=${base}`,
        '--set',
        `midtrain.method=${method}`,
        '--set',
        'midtrain.curriculum.tiers.quantiles=[0.1,0.2,0.3]',
        '--out',
        out,
        '--quiet',
      );
      expect(code, stderr).toBe(0);
      const m = metrics(out);
      expect(m.every((x) => Number.isFinite(x['loss/ntp']) && Number.isFinite(x.grad_norm))).toBe(true);
      if (method === 'rpt') expect(m.every((x) => x['loss/ntp'] === 0 && x.budget === undefined)).toBe(true);
      if (method === 'ntp') expect(m.every((x) => x.reward === undefined && x['loss/ntp']! > 0)).toBe(true);
      // --quiet runs write their report too; RPT's loss/ntp (0 on every step) gets no panel.
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      expect(html).toContain('id="panel-loss-rl"');
      expect(html.includes('id="panel-loss-ntp"')).toBe(method === 'ntp');
    }
  });

  it('a third-party sampler package loads by name from the config (the example plugin)', async () => {
    const out = join(root, 'plugin');
    const { code, stderr } = await rmt(
      'midtrain',
      '--preset',
      'tiny',
      '--set',
      `base=${base}`,
      '--set',
      'midtrain.curriculum.sampler=@rmt/sampler-failure-replay',
      '--set',
      'midtrain.curriculum.options={floor: 0.1}',
      '--out',
      out,
      '--quiet',
    );
    expect(code, stderr).toBe(0);
    expect(readFileSync(join(out, 'config.resolved.yaml'), 'utf8')).toMatch(/sampler: "@rmt\/sampler-failure-replay"/);
    const bad = await rmt(
      'midtrain',
      '--preset',
      'tiny',
      '--set',
      `base=${base}`,
      '--set',
      'midtrain.curriculum.sampler=rmt-no-such-sampler',
      '--out',
      join(root, 'plugin-bad'),
    );
    expect(bad.stderr).toMatch(/unknown sampler 'rmt-no-such-sampler'/);
  });

  it('N steps + stop + resume + N steps gives exactly the weights of 2N steps', async () => {
    const { config } = resolveConfig({
      preset: 'tiny',
      set: [`base=${base}`, 'backend=wasm', 'midtrain.checkpointEvery=0'],
    });
    const straight = new RunDirectory(join(root, 'straight'));
    await straight.writeConfig(config, ['test'], 'run');
    const quiet = createReporter({ quiet: true, json: false, label: '' });
    await runMidtrain(
      config as RunConfig,
      straight,
      { quiet: true, json: false, resume: false, evaluateBase: false },
      quiet,
    );

    const split = new RunDirectory(join(root, 'split'));
    await split.writeConfig(config, ['test'], 'run');
    let steps = 0;
    const first = await runMidtrain(
      config,
      split,
      { quiet: true, json: false, resume: false, evaluateBase: false, shouldStop: () => ++steps === 2 },
      quiet,
    );
    expect(first.stopped).toBe(true);
    expect(first.steps).toBe(2);
    const { code, stderr } = await rmt('resume', split.dir, '--quiet');
    expect(code, stderr).toBe(0);
    expect(await weights(join(split.dir, 'model'))).toEqual(await weights(join(straight.dir, 'model')));
    // The resumed run's metrics continue where the first part stopped.
    expect(metrics(split.dir).map((x) => x.step)).toEqual([0, 1, 2, 3]);
  });

  it('a run killed before its first checkpoint is started over by `rmt resume` from its saved config', async () => {
    const { config } = resolveConfig({ preset: 'tiny', set: [`base=${base}`, 'backend=wasm'] });
    const killed = new RunDirectory(join(root, 'killed-early'));
    await killed.writeConfig(config, ['test'], 'run');
    writeFileSync(join(killed.dir, 'metrics.jsonl'), '{"step": 0, "reward": 0.5}\n{"step": 1, "rew'); // torn by the kill
    const { code, stderr } = await rmt('resume', killed.dir);
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/no checkpoint yet .* starting it over from its saved config/);
    expect(metrics(killed.dir).map((x) => x.step)).toEqual([0, 1, 2, 3]);
    expect(existsSync(join(killed.dir, 'model', 'model.safetensors'))).toBe(true);
  });

  it('posttrain: GRPO on the verifiable task changes the model and scores before/after', async () => {
    const out = join(root, 'post');
    const { code, stdout, stderr } = await rmt(
      'posttrain',
      '--preset',
      'tiny',
      '--model',
      base,
      '--out',
      out,
      '--json',
    );
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as {
      before: { problems: number; accuracy: number };
      after: { accuracy: number };
    };
    expect(result.before.problems).toBe(8);
    expect(result.after.accuracy).toBeGreaterThanOrEqual(0);
    expect(metrics(out).every((x) => Number.isFinite(x.grad_norm))).toBe(true);
  });

  it('posttrain --task gsm8k: problems from a JSONL file, rewarded by answer equivalence', async () => {
    // Every reference answer is 7 (written as GSM8K does, after ####), so a rollout is right exactly when its
    // prediction is the number 7, however written.
    const file = join(root, 'sevens.jsonl');
    writeFileSync(
      file,
      Array.from({ length: 14 }, (_, i) =>
        JSON.stringify({ question: `${i}+7-${i}=`, answer: `so it is 7.\n#### 7` }),
      ).join('\n'),
    );
    const out = join(root, 'post-gsm8k');
    const { code, stderr } = await rmt(
      'posttrain',
      '--preset',
      'tiny',
      '--model',
      base,
      '--out',
      out,
      '--quiet',
      '--task',
      'gsm8k',
      '--task-file',
      file,
      '--set',
      'posttrain.heldOut=4',
      '--set',
      'posttrain.problems=10',
    );
    expect(code, stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'posttrain.json'), 'utf8')) as {
      task: string;
      problems: { train: number; heldOut: number };
      before: { problems: number };
    };
    expect(result.task).toBe('gsm8k');
    expect(result.problems).toEqual({ train: 10, heldOut: 4 });
    expect(result.before.problems).toBe(4);
    const records = readFileSync(join(out, 'rollouts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { prediction: string | null; match: number });
    expect(records.length).toBeGreaterThan(0);
    for (const r of records)
      expect(r.match, String(r.prediction)).toBe(
        r.prediction !== null && Number(r.prediction.replace(/,/g, '')) === 7 ? 1 : 0,
      );
    // A task file without its task, or a task without its file, is refused by name.
    const refused = await rmt(
      'posttrain',
      '--preset',
      'tiny',
      '--model',
      base,
      '--out',
      join(root, 'post-no-file'),
      '--task',
      'math500',
    );
    expect(refused.stderr).toMatch(/posttrain\.task 'math500' needs posttrain\.taskFile/);
  });

  itOrSkip('posttrain --task gsm8k on the real GSM8K test file runs end to end', sharedDataSkip, async () => {
    const out = join(root, 'post-gsm8k-real');
    const { code, stderr } = await rmt(
      'posttrain',
      '--preset',
      'tiny',
      '--model',
      base,
      '--out',
      out,
      '--quiet',
      '--task',
      'gsm8k',
      '--task-file',
      sharedData('gsm8k/test.jsonl'),
      '--set',
      'posttrain.heldOut=4',
      '--set',
      'posttrain.problems=6',
    );
    expect(code, stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'posttrain.json'), 'utf8')) as {
      problems: { train: number; heldOut: number };
      after: { accuracy: number; ci: { low: number; high: number } };
    };
    expect(result.problems).toEqual({ train: 6, heldOut: 4 });
    expect(result.after.ci.low).toBeLessThanOrEqual(result.after.accuracy);
  });

  it('posttrain with posttrain.loss.beta > 0 trains with the frozen starting checkpoint as KL reference', async () => {
    const out = join(root, 'post-kl');
    const { code, stderr } = await rmt(
      'posttrain',
      '--preset',
      'tiny',
      '--model',
      base,
      '--out',
      out,
      '--quiet',
      '--set',
      'posttrain.loss.beta=0.5',
      '--set',
      'posttrain.steps=4',
      '--set',
      'posttrain.lr=0.01',
    );
    expect(code, stderr).toBe(0);
    // The trainer refuses β > 0 without a reference model, so a finished run was given one (before, the KL
    // term was dropped without a word); the policy starts as that reference.
    const m = metrics(out);
    expect(m).toHaveLength(4);
    expect(m[0]!.kl).toBe(0);
    expect(m.every((x) => Number.isFinite(x.kl))).toBe(true);
  });

  it('compare: every row of METHOD.md §5, post-trained, in results.json and results.md', async () => {
    const out = join(root, 'compare');
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
      '--out',
      out,
      '--quiet',
    );
    expect(code, stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      seeds: number[];
      methods: Record<string, { mode: string; accuracy: Record<string, number>; posttrain: { before: number } }>;
    };
    expect(results.seeds).toEqual([0]);
    expect(Object.keys(results.methods)).toEqual([
      'base',
      'ntp',
      'rpt',
      'rmt',
      'rmt-no-budget',
      'rmt-no-curriculum',
      'rmt-no-ntp',
    ]);
    expect(results.methods.base!.mode).toBe('next-token');
    expect(results.methods.rmt!.mode).toBe('reasoning');
    expect(
      Object.values(results.methods).every(
        (m) => Number.isFinite(m.accuracy.average) && Number.isFinite(m.posttrain.before),
      ),
    ).toBe(true);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toMatch(/## Ablations/);
    // The claims table is computed from these very results (its arithmetic is tested in cli.test.ts).
    const ratio = results.methods.rmt!.accuracy.average! / results.methods.rpt!.accuracy.average!;
    expect(md).toContain(`| RMT average accuracy ≥ 1.3 × RPT (+30.7%) | ${ratio.toFixed(2)}×`);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    // Small multiples: one panel per trained method in each quantity's figure, every method in place.
    const reward = html.match(/<figure class="panel" id="panel-reward">([^]*?)<\/figure>/)?.[1] ?? '';
    for (const m of ['ntp', 'rpt', 'rmt', 'rmt-no-budget', 'rmt-no-curriculum', 'rmt-no-ntp'])
      expect(reward).toMatch(new RegExp(`<text[^>]*>${m}</text>`));
    expect(reward).toMatch(/One panel per method, same y scale/);
    expect(html).toContain('The published claims, measured');
  });

  it('compare rerun into the same folder keeps finished rows, redoes interrupted ones, gives the same results', async () => {
    const out = join(root, 'compare');
    const before = readFileSync(join(out, 'results.json'), 'utf8');
    // An interruption: one row lost its evaluation (kept checkpoints), another its post-training.
    rmSync(join(out, 'seed-0', 'rmt', 'eval.json'));
    rmSync(join(out, 'seed-0', 'rmt-no-ntp', 'posttrain', 'posttrain.json'));
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
      '--out',
      out,
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/seed 0, ntp: finished earlier, kept/);
    expect(stderr).toMatch(/seed 0, rmt \(resumed\)/);
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toBe(before);
    const other = await rmt(
      'compare',
      '--preset',
      'tiny',
      '--set',
      `base=${base}`,
      '--set',
      'midtrain.steps=3',
      '--seeds',
      '1',
      '--out',
      out,
      '--quiet',
    );
    expect(other.stderr).toMatch(/holds a comparison with another config/);
  });

  it('same config and seed give identical metrics (timings aside), with or without parallel workers', async () => {
    const strip = (rows: Record<string, number>[]) =>
      rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('timing/'))));
    const runs = [];
    // Micro-batches of 2 rows, so the update has several blocks to share out.
    for (const [name, workers] of [
      ['det-a', 0],
      ['det-b', 0],
      ['det-workers', 2],
    ] as const) {
      const out = join(root, name);
      const { code, stderr } = await rmt(
        'midtrain',
        '--preset',
        'tiny',
        '--set',
        `base=${base}`,
        '--set',
        'midtrain.microBatchRows=2',
        '--set',
        `midtrain.workers=${workers}`,
        '--out',
        out,
        '--quiet',
      );
      expect(code, stderr).toBe(0);
      runs.push(strip(metrics(out)));
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    expect(Math.max(...runs[0]!.map((m) => m['update/rl_rows']!))).toBeGreaterThan(2);
  });

  it('a diverging run stops with the step and keeps the last good checkpoint', async () => {
    const out = join(root, 'nan');
    const { code, stderr } = await rmt(
      'midtrain',
      '--preset',
      'tiny',
      '--set',
      `base=${base}`,
      '--set',
      'midtrain.lr=1e30',
      '--set',
      'midtrain.warmup=0',
      '--set',
      'midtrain.checkpointEvery=1',
      '--out',
      out,
      '--quiet',
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/training diverged at step (\d+): .*the last good checkpoint is kept/);
    const step = Number(/diverged at step (\d+)/.exec(stderr)![1]);
    const kept = readdirSync(join(out, 'checkpoints')).filter((n) => /^step-\d+$/.test(n));
    expect(kept.at(-1)).toBe(`step-${String(step).padStart(6, '0')}`);
  });

  it('onNonFinite: skip drops NaN updates with a warning and stops after warnAfter in a row', async () => {
    const out = join(root, 'nan-skip');
    const { code, stderr } = await rmt(
      'midtrain',
      '--preset',
      'tiny',
      '--set',
      `base=${base}`,
      '--set',
      'midtrain.lr=1e30',
      '--set',
      'midtrain.warmup=0',
      '--set',
      'midtrain.onNonFinite=skip',
      '--set',
      'midtrain.warnAfter=2',
      '--set',
      'midtrain.steps=8',
      '--out',
      out,
      '--quiet',
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/step (\d+): non-finite gradients .*update skipped/);
    expect(stderr).toMatch(/training diverged at step \d+: 2 steps in a row with non-finite gradients/);
    expect(metrics(out).filter((m) => m.skipped === 1)).toHaveLength(1);
  });

  // A real small disk (a 64 KB tmpfs; skipped where the tests cannot mount one).
  const disk = smallDisk(root, '64k');

  itOrSkip('a disk too small for the checkpoints is refused before training, with the sizes', disk.skip, async () => {
    const { code, stderr } = await rmt(
      'midtrain',
      '--preset',
      'tiny',
      '--set',
      `base=${base}`,
      '--out',
      join(disk.path, 'run'),
      '--quiet',
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/run: 0\.\d MB free on its disk, but 3 checkpoints and the final model need about 1\.\d MB/);
    expect(existsSync(join(disk.path, 'run', 'metrics.jsonl'))).toBe(false);
  });

  it('outputs cannot be written outside the run directory', () => {
    const out = new RunDirectory(join(root, 'contained'));
    for (const name of ['../escape.json', '/tmp/escape.json', 'a/../../escape.json', '.', ''])
      expect(() => out.path(name), name).toThrow(/is not inside the run directory/);
    expect(out.path('checkpoints/step-000001')).toBe(join(root, 'contained', 'checkpoints', 'step-000001'));
  });

  it('bad config is a clear error naming the field', async () => {
    const bad = await rmt('run', '--preset', 'tiny', '--set', 'midtrain.groupSize=1', '--out', join(root, 'bad'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/midtrain\.groupSize: Too small/);
    const unknown = await rmt('run', '--preset', 'tiny', '--set', 'midtrain.stpes=3', '--out', join(root, 'bad'));
    expect(unknown.stderr).toMatch(/midtrain: Unrecognized key: "stpes"/);
    const preset = await rmt('run', '--preset', 'huge');
    expect(preset.stderr).toMatch(/unknown preset 'huge'; presets: default, quick, tiny, base/);
  });
});
