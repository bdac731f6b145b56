// Progress: a bar on a terminal (steps, reward, length, budget, s/step, ETA); a log line every N steps
// otherwise (CI, pipes); nothing with --quiet or --json.
import cliProgress from 'cli-progress';

export interface Reporter {
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
  if (silent) return { start() {}, step() {}, stop() {}, log() {}, warn: (l) => err(`warning: ${l}`) };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${mode.label} [{bar}] {value}/{total} | reward {reward} | len {len} | budget {budget} | {sps}s/step | ETA {eta_formatted}`, hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (total, from) => bar.start(total, from, { reward: '–', len: '–', budget: '–', sps: '–' }),
      step: (m) => bar.update(m.step! + 1, { reward: fmt(m.reward), len: fmt(m['completions/mean_length'], 1), budget: m.budget ?? '–', sps: fmt(m['timing/step'], 1) }),
      stop: () => bar.stop(),
      log: (l) => err(l),
      warn: (l) => err(`warning: ${l}`),
    };
  }
  let total = 0;
  let every = 1;
  return {
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
