// The verifiable reward of next-token reasoning (METHOD.md §1, RPT's prefix match).

/**
 * r = 1 iff the prediction's bytes are a prefix of the ground-truth continuation's bytes AND the
 * prediction ends exactly on a token boundary of the continuation; else 0. `boundaries` are the
 * cumulative byte lengths after each continuation token (tokenBoundaries). No answer (null) and an
 * empty answer get 0: an empty string is a prefix of everything but predicts nothing.
 */
export function prefixMatchReward(
  prediction: Uint8Array | null,
  continuation: Uint8Array,
  boundaries: readonly number[],
): 0 | 1 {
  if (prediction === null || prediction.length === 0 || prediction.length > continuation.length) return 0;
  for (let i = 0; i < prediction.length; i++) if (prediction[i] !== continuation[i]) return 0;
  return boundaries.includes(prediction.length) ? 1 : 0;
}
