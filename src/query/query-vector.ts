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

/** Positions fit in the low 21 bits of a packed sort key (2^32 × 2^21 = 2^53, exact in a double). */
const POSITION_BITS = 2 ** 21;

/**
 * Sorting is done on packed float64 keys with the native numeric sort (no comparator callback):
 * this runs once per query and segment, and at ~40 terms the comparator sorts cost as much as a
 * fifth of a whole approximate search.
 */
export function prepareQuery(vector: SparseVectorInput, termIds: ReadonlyMap<string, number>): PreparedQuery {
  const ids: number[] = [];
  const rawWeights: number[] = [];
  for (const token in vector) {
    const weight = vector[token];
    if (!(weight > 0)) continue;
    const id = termIds.get(token);
    if (id !== undefined) {
      ids.push(id);
      rawWeights.push(weight);
    }
  }
  const n = ids.length;
  const terms = new Uint32Array(n);
  const weights = new Float32Array(n);
  const byWeight = new Uint32Array(n);
  if (n >= POSITION_BITS) return prepareLarge(ids, rawWeights);
  // Term ids ascending (ids are distinct: one per token).
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = ids[i] * POSITION_BITS + i;
  keys.sort();
  for (let i = 0; i < n; i++) {
    const from = keys[i] % POSITION_BITS;
    terms[i] = ids[from];
    weights[i] = rawWeights[from];
  }
  // Heaviest first, ties by position (= lower term id): positive float32 bit patterns order like
  // their values, so (2^32 − 1 − bits) ascending is weight descending.
  const bits = new Uint32Array(weights.buffer);
  for (let i = 0; i < n; i++) keys[i] = (0xffffffff - bits[i]) * POSITION_BITS + i;
  keys.sort();
  for (let i = 0; i < n; i++) byWeight[i] = keys[i] % POSITION_BITS;
  return { terms, weights, byWeight };
}

/** The same with comparator sorts, for queries with 2^21 or more terms. */
function prepareLarge(ids: number[], rawWeights: number[]): PreparedQuery {
  const n = ids.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a] - ids[b]);
  const terms = Uint32Array.from(order, (i) => ids[i]);
  const weights = Float32Array.from(order, (i) => rawWeights[i]);
  const byWeight = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => weights[b] - weights[a] || terms[a] - terms[b]);
  return { terms, weights, byWeight };
}
