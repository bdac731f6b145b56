// Batches of variable-length token sequences with little padding: draw a pool, sort it by length, cut it
// into batches, shuffle the batches. (Measured: with unsorted batches, padding was most of the compute.)
import type { Rng } from '@rmt/core';

export interface TokenBatch {
  inputs: number[][]; // [B, T] int32, right-padded
  targets: number[][]; // [B, T] int32
  mask: number[][]; // [B, T] 1 = a real next-token target
  tokens: number;
}

export function padBatch(sequences: readonly (readonly number[])[], padId: number): TokenBatch {
  const width = Math.max(...sequences.map((s) => s.length)) - 1;
  const inputs: number[][] = [];
  const targets: number[][] = [];
  const mask: number[][] = [];
  let tokens = 0;
  for (const s of sequences) {
    const n = s.length - 1;
    tokens += n;
    inputs.push([...s.slice(0, n), ...new Array<number>(width - n).fill(padId)]);
    targets.push([...s.slice(1), ...new Array<number>(width - n).fill(padId)]);
    mask.push([...new Array<number>(n).fill(1), ...new Array<number>(width - n).fill(0)]);
  }
  return { inputs, targets, mask, tokens };
}

/** An endless stream of length-bucketed batches over `sequences`, reproducible from the RNG. */
export class BucketedBatches {
  private queue: number[][] = [];
  constructor(
    private readonly sequences: readonly (readonly number[])[],
    private readonly batchSize: number,
    private readonly rng: Rng,
    private readonly poolBatches = 16,
  ) {
    if (sequences.length < 1) throw new Error('no training sequences');
  }

  next(): number[] {
    if (this.queue.length === 0) {
      const pool = Array.from({ length: this.batchSize * this.poolBatches }, () =>
        Math.floor(this.rng.next() * this.sequences.length),
      );
      pool.sort((a, b) => this.sequences[a]!.length - this.sequences[b]!.length);
      const batches: number[][] = [];
      for (let i = 0; i < pool.length; i += this.batchSize) batches.push(pool.slice(i, i + this.batchSize));
      for (let i = batches.length - 1; i > 0; i--) {
        const j = Math.floor(this.rng.next() * (i + 1));
        [batches[i], batches[j]] = [batches[j]!, batches[i]!];
      }
      this.queue = batches;
    }
    return this.queue.shift()!;
  }

  batch(padId: number): TokenBatch {
    return padBatch(
      this.next().map((i) => this.sequences[i]!),
      padId,
    );
  }
}
