import seedrandom from 'seedrandom';

/** A seeded random source whose state can be saved and restored (exact resume). */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Opaque, JSON-serialisable state. */
  state(): RngState;
}

export type RngState = { readonly i: number; readonly j: number; readonly S: readonly number[] };

/** ARC4-based (seedrandom's default): same sequence on every platform and backend. */
export function createRng(seed: number | string | RngState): Rng {
  const prng =
    typeof seed === 'object'
      ? seedrandom('', { state: { i: seed.i, j: seed.j, S: [...seed.S] } as unknown as boolean })
      : seedrandom(String(seed), { state: true });
  return {
    next: () => prng(),
    state: () => {
      const s = (prng as unknown as { state(): unknown }).state() as { i: number; j: number; S: number[] };
      return { i: s.i, j: s.j, S: [...s.S] };
    },
  };
}
