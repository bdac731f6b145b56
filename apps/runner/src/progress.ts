// Progress: a bar on a terminal (steps, reward, length, budget, s/step, ETA); a log line every N steps
// otherwise (CI, pipes); nothing with --quiet or --json.
import cliProgress from 'cli-progress';

/** A phase before or after the steps (scoring, evaluation): ticks as it goes, so no phase is silent. */
export interface Phase {
  tick(done: number, total: number): void;
  end(): void;
}

export interface Reporter {
  /** Begin a named phase; the training steps themselves go through start/step/stop. */
  phase(label: string): Phase;
  start(total: number, from: number): void;
  step(metrics: Record<string, number>): void;
  stop(): void;
  log(line: string): void;
  warn(line: string): void;
}

function fmt(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

export function createReporter(mode: { quiet: boolean; json: boolean; label: string }): Reporter {
  const silent = mode.quiet || mode.json;
  const err = (line: string) => process.stderr.write(`${line}\n`);
  const quietPhase: Phase = { tick() {}, end() {} };
  if (silent)
    return { phase: () => quietPhase, start() {}, step() {}, stop() {}, log() {}, warn: (l) => err(`warning: ${l}`) };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${mode.label} [{bar}] {value}/{total} | reward {reward} | len {len} | budget {budget} | {sps}s/step | ETA {eta_formatted}`,
        hideCursor: true,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    return {
      phase: (label) => terminalPhase(label),
      start: (total, from) => bar.start(total, from, { reward: '–', len: '–', budget: '–', sps: '–' }),
      step: (m) =>
        bar.update(m.step! + 1, {
          reward: fmt(m.reward),
          len: fmt(m['completions/mean_length'], 1),
          budget: m.budget ?? '–',
          sps: fmt(m['timing/step'], 1),
        }),
      stop: () => bar.stop(),
      log: (l) => err(l),
      warn: (l) => err(`warning: ${l}`),
    };
  }
  let total = 0;
  let every = 1;
  return {
    phase: (label) => logPhase(label, err),
    start: (t) => {
      total = t;
      every = Math.max(1, Math.round(t / 10));
    },
    step: (m) => {
      const s = m.step! + 1;
      if (s % every === 0 || s === total) {
        const fields =
          m.loss !== undefined
            ? `loss ${fmt(m.loss, 4)}  lr ${m.lr?.toExponential(2)}`
            : `reward ${fmt(m.reward)}  acc ${fmt(m.accuracy)}  len ${fmt(m['completions/mean_length'], 1)}  budget ${m.budget ?? '–'}  loss/rl ${fmt(m['loss/rl'], 4)}  loss/ntp ${fmt(m['loss/ntp'], 4)}`;
        err(`${mode.label} step ${s}/${total}  ${fields}  ${fmt(m['timing/step'], 2)}s/step`);
      }
    },
    stop: () => {},
    log: (l) => err(l),
    warn: (l) => err(`warning: ${l}`),
  };
}

/** A phase on a terminal: its own bar, begun at the first tick (when the total is known). */
function terminalPhase(label: string): Phase {
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} | {duration}s`, hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    tick: (done, total) => {
      if (!started) bar.start(total, 0);
      started = true;
      bar.update(done);
    },
    end: () => started && bar.stop(),
  };
}

/** A phase in a log (CI, pipes): a line when it begins, and one with its time when it took over a second. */
function logPhase(label: string, err: (line: string) => void): Phase {
  const t0 = performance.now();
  err(`${label} …`);
  return {
    tick() {},
    end: () => {
      const seconds = (performance.now() - t0) / 1000;
      if (seconds >= 1) err(`${label}: done in ${seconds.toFixed(1)} s`);
    },
  };
}
