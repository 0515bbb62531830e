/**
 * Translation of a user query (token → weight) into a segment's term ids, once per query and
 * segment. Unknown tokens cannot match anything and are dropped here, outside the hot loops.
 */
import type { SparseVectorInput } from '../types.js';

export interface PreparedQuery {
  /** Term ids, ascending (for merging with sorted summary components). */
  terms: Uint32Array;
  /** Weights aligned with `terms`, rounded to float32 like the dense query array. */
  weights: Float32Array;
  /** Positions in `terms`, heaviest weight first (ties: lower term id), for the query cut. */
  byWeight: Uint32Array;
}

export function prepareQuery(vector: SparseVectorInput, termIds: ReadonlyMap<string, number>): PreparedQuery {
  const pairs: Array<[number, number]> = [];
  for (const token in vector) {
    const weight = vector[token];
    if (!(weight > 0)) continue;
    const id = termIds.get(token);
    if (id !== undefined) pairs.push([id, Math.fround(weight)]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const n = pairs.length;
  const terms = new Uint32Array(n);
  const weights = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    terms[i] = pairs[i][0];
    weights[i] = pairs[i][1];
  }
  const byWeight = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => weights[b] - weights[a] || terms[a] - terms[b]);
  return { terms, weights, byWeight };
}
