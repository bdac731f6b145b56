/**
 * @rmt/sampler-failure-replay — an example sampler package for RMT, and the template for writing one.
 *
 * It prefers the key sites the policy currently fails on: every site carries a failure score, an
 * exponential moving average of 1 − (mean reward of its rollouts), starting at `prior` for sites never
 * tried; a draw picks a site with probability ∝ floor + score. Sites the policy has mastered fade, sites
 * it gets wrong come back. Only sites in an entropy tier are candidates (below-threshold sites never get
 * RL, METHOD.md §3).
 *
 * Use it from a run config: `midtrain.curriculum.sampler: "@rmt/sampler-failure-replay"`.
 */
import { z } from 'zod';
import { defineSampler, SAMPLER_SPECIFICATION_VERSION, type Sampler } from '@rmt/curriculum';
import { createRng, type RngState } from '@rmt/core';

export const optionsSchema = z
  .object({
    prior: z.number().min(0).max(1).default(0.5).describe('Failure score of a site never tried.'),
    decay: z.number().min(0).lt(1).default(0.5).describe('Weight of the old score when a site is tried again.'),
    floor: z
      .number()
      .positive()
      .default(0.05)
      .describe('Added to every score, so mastered sites are still drawn now and then.'),
  })
  .strict();

export type FailureReplayOptions = z.output<typeof optionsSchema>;

interface State {
  rng: RngState;
  scores: [number, number][];
}

const sampler = defineSampler<FailureReplayOptions>({
  name: 'failure-replay',
  specificationVersion: SAMPLER_SPECIFICATION_VERSION,
  description: 'Prefers the key sites the policy currently fails on.',
  optionsSchema,
  create(options, context): Sampler {
    const candidates = context.sites.filter((s) => s.tier >= 0).map((s) => s.index);
    if (candidates.length === 0) throw new Error("sampler 'failure-replay': no site is in any tier");
    let rng = createRng(`sampler:failure-replay:${context.seed}`);
    const scores = new Map<number, number>();
    const weight = (site: number) => options.floor + (scores.get(site) ?? options.prior);
    return {
      name: 'failure-replay',
      next(_step, n) {
        // Weighted draws without replacement (n is small next to the candidates: a linear scan is enough).
        const pool = [...candidates];
        const out: number[] = [];
        while (out.length < n && pool.length > 0) {
          const total = pool.reduce((s, site) => s + weight(site), 0);
          let u = rng.next() * total;
          let j = 0;
          while (j < pool.length - 1 && (u -= weight(pool[j]!)) >= 0) j++;
          out.push(pool[j]!);
          pool.splice(j, 1);
        }
        return out;
      },
      observe(_step, outcomes) {
        for (const { index, reward } of outcomes) {
          const failure = 1 - Math.min(1, Math.max(0, reward));
          scores.set(index, options.decay * (scores.get(index) ?? options.prior) + (1 - options.decay) * failure);
        }
      },
      state: (): State => ({ rng: rng.state(), scores: [...scores] }),
      restore(state) {
        const s = state as State;
        if (!s?.rng || !Array.isArray(s.scores)) throw new Error("sampler 'failure-replay': invalid saved state");
        rng = createRng(s.rng);
        scores.clear();
        for (const [k, v] of s.scores) scores.set(k, v);
      },
    };
  },
});

export default sampler;
export { sampler };
