// Windows and sites of next-token reasoning (METHOD.md §1): the corpus is tokenized into windows of a fixed
// context length; a site is a position t of a window, with context x_<t, target x_t and the ground-truth
// continuation x_≥t kept for the reward.
import { tokenBoundaries, tokensToBytes, type Tokenizer } from '@rmt/tokenizers';

export interface SiteRules {
  /** Positions before this index have too little context and are never sites (ours: 8, METHOD.md §3). */
  skipFirst: number;
  /** Tokens of continuation kept for the reward (a prediction longer than this cannot score). */
  continuationTokens: number;
  /**
   * Which positions may be sites: every position, or only those right after a marker string (e.g. the
   * answer digit after ':' in the synthetic corpus, where operand digits are random and unpredictable).
   */
  eligible: 'all' | { after: string };
}

export interface Site {
  /** Index of the window. */
  window: number;
  /** Index of the target token in the window; the context is window[0, position). */
  position: number;
  target: number;
}

export interface SiteContinuation {
  bytes: Uint8Array;
  boundaries: number[];
}

/** Tokenize documents (each starting with BOS when the tokenizer has one) and cut into windows. */
export function buildWindows(documents: readonly string[], tokenizer: Tokenizer, windowLength: number): number[][] {
  if (!Number.isInteger(windowLength) || windowLength < 2)
    throw new Error(`windowLength must be an integer ≥ 2, got ${windowLength}`);
  const stream: number[] = [];
  for (const doc of documents) stream.push(...tokenizer.encode(doc, { bos: tokenizer.bosId !== undefined }));
  const windows: number[][] = [];
  for (let at = 0; at + windowLength <= stream.length; at += windowLength)
    windows.push(stream.slice(at, at + windowLength));
  return windows;
}

export function findSites(windows: readonly number[][], tokenizer: Tokenizer, rules: SiteRules): Site[] {
  const marker = rules.eligible === 'all' ? undefined : Buffer.from(rules.eligible.after, 'utf8');
  const sites: Site[] = [];
  windows.forEach((ids, w) => {
    // Bytes of the window so far, to test "right after the marker" across token boundaries.
    let tail = Buffer.alloc(0);
    for (let p = 0; p < ids.length; p++) {
      if (
        p >= rules.skipFirst &&
        (!marker || (tail.length >= marker.length && tail.subarray(tail.length - marker.length).equals(marker)))
      ) {
        sites.push({ window: w, position: p, target: ids[p]! });
      }
      if (marker) tail = Buffer.concat([tail, tokenizer.tokenBytes(ids[p]!)]).subarray(-marker.length);
    }
  });
  return sites;
}

/** The ground-truth continuation of a site, as bytes and token boundaries (for prefixMatchReward). */
export function siteContinuation(
  windows: readonly number[][],
  site: Site,
  tokenizer: Tokenizer,
  maxTokens: number,
): SiteContinuation {
  const ids = windows[site.window]!.slice(site.position, site.position + maxTokens);
  return { bytes: tokensToBytes(tokenizer, ids), boundaries: tokenBoundaries(tokenizer, ids) };
}

export function siteContext(windows: readonly number[][], site: Site): number[] {
  return windows[site.window]!.slice(0, site.position);
}
