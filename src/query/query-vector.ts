/**
 * Translation of a user query (token → weight) into a segment's term ids, once per query and
 * segment. Unknown tokens cannot match anything and are dropped here, outside the hot loops.
 */
import type { SparseVectorInput } from '../types.js';
import { GrowableFloat32Array, GrowableUint32Array } from '../util/growable.js';

export interface PreparedQuery {
  /** Term ids, ascending (for merging with sorted summary components). */
  terms: Uint32Array;
  /** Weights aligned with `terms`, rounded to float32 like the dense query array. */
  weights: Float32Array;
  /** Positions in `terms`, heaviest weight first (ties: lower term id), for the query cut. */
  byWeight: Uint32Array;
}

/** Stands for the query of a segment the search skips, which is never read (the reader's and the pool threads'). */
export const SKIPPED_QUERY: PreparedQuery = { terms: new Uint32Array(0), weights: new Float32Array(0), byWeight: new Uint32Array(0) };

/**
 * How many of the heaviest terms approximate search traverses: the fewest holding `queryMass` of
 * the query's total weight, at most `queryCut` (0: no limit). `queryMass` 1 is exactly `queryCut`.
 */
export function traversedTerms(query: PreparedQuery, queryCut: number, queryMass: number): number {
  const n = query.terms.length;
  const cut = queryCut === 0 || queryCut > n ? n : queryCut;
  if (queryMass >= 1) return cut;
  const { weights, byWeight } = query;
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  const goal = queryMass * total;
  let held = 0;
  let c = 0;
  while (c < cut && held < goal) held += weights[byWeight[c++]];
  return Math.max(1, c);
}

/** Positions fit in the low 21 bits of a packed sort key (2^32 × 2^21 = 2^53, exact in a double). */
const POSITION_BITS = 2 ** 21;

/**
 * Up to this many terms, insertion sorts on the output arrays (no keys, no allocation beyond the
 * result): ~40% faster than the packed-key sorts for a typical 40-term SPLADE query.
 */
const INSERTION_SORT_MAX = 64;

/** Ids and weights of the known tokens, collected before sorting; reused across queries. */
const collectedIds = new GrowableUint32Array(256);
const collectedWeights = new GrowableFloat32Array(256);

/**
 * Sorting runs once per query and segment, and at ~40 terms comparator sorts cost as much as a
 * fifth of a whole approximate search; so small queries use insertion sorts and larger ones native
 * sorts of packed float64 keys (no comparator callback).
 */
export function prepareQuery(vector: SparseVectorInput, termIds: ReadonlyMap<string, number>): PreparedQuery {
  collectedIds.clear();
  collectedWeights.clear();
  for (const token in vector) {
    const weight = vector[token];
    if (!(weight > 0)) continue;
    const id = termIds.get(token);
    if (id === undefined) continue;
    collectedIds.push(id);
    collectedWeights.push(weight); // rounded to float32, like the dense query array
  }
  // The backing arrays themselves (their first n entries): a view would cost an allocation per query.
  return prepareCollected(collectedIds.reserve(0), collectedWeights.reserve(0), collectedIds.length);
}

/**
 * The prepared query of the first `n` collected (term id, weight) pairs, term ids distinct and
 * weights already float32: what `prepareQuery` makes of a vector, and the search pool's threads of
 * the tokens they look up themselves (src/pool/query-codec.ts).
 */
export function prepareCollected(ids: Uint32Array, rawWeights: Float32Array, n: number): PreparedQuery {
  if (n >= POSITION_BITS) return prepareLarge(ids.subarray(0, n), rawWeights.subarray(0, n));
  // One backing store for the three arrays: allocating one costs ~1 µs (typed arrays above 64
  // bytes live off the V8 heap), as much as sorting a 40-term query.
  const backing = new ArrayBuffer(12 * n);
  const terms = new Uint32Array(backing, 0, n);
  const weights = new Float32Array(backing, 4 * n, n);
  const byWeight = new Uint32Array(backing, 8 * n, n);
  if (n <= INSERTION_SORT_MAX) {
    // Term ids ascending (ids are distinct: one per token).
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      const weight = rawWeights[i];
      let j = i;
      for (; j > 0 && terms[j - 1] > id; j--) {
        terms[j] = terms[j - 1];
        weights[j] = weights[j - 1];
      }
      terms[j] = id;
      weights[j] = weight;
    }
    // Heaviest first; stable, so ties keep position order (= lower term id first).
    for (let i = 0; i < n; i++) {
      const weight = weights[i];
      let j = i;
      for (; j > 0 && weights[byWeight[j - 1]] < weight; j--) byWeight[j] = byWeight[j - 1];
      byWeight[j] = i;
    }
    return { terms, weights, byWeight };
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = ids[i] * POSITION_BITS + i;
  keys.sort();
  for (let i = 0; i < n; i++) {
    const from = keys[i] % POSITION_BITS;
    terms[i] = ids[from];
    weights[i] = rawWeights[from];
  }
  // Positive float32 bit patterns order like their values, so (2^32 − 1 − bits) ascending is
  // weight descending; ties by position (= lower term id).
  const bits = new Uint32Array(backing, 4 * n, n);
  for (let i = 0; i < n; i++) keys[i] = (0xffffffff - bits[i]) * POSITION_BITS + i;
  keys.sort();
  for (let i = 0; i < n; i++) byWeight[i] = keys[i] % POSITION_BITS;
  return { terms, weights, byWeight };
}

/** The same with comparator sorts, for queries with 2^21 or more terms. */
function prepareLarge(ids: Uint32Array, rawWeights: Float32Array): PreparedQuery {
  const n = ids.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a] - ids[b]);
  const terms = Uint32Array.from(order, (i) => ids[i]);
  const weights = Float32Array.from(order, (i) => rawWeights[i]);
  const byWeight = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => weights[b] - weights[a] || terms[a] - terms[b]);
  return { terms, weights, byWeight };
}
