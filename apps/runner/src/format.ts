/** An accuracy as a percentage with one decimal (`95.3%`); a missing or non-finite value as `–`. */
export const pct = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`;
