/**
 * Long documents and the lookups that keep their build cost linear.
 *
 * Why: a document with n terms sits in up to n posting lists, so any per-list step that reads the
 * whole document (its block's summary, its full vector as a k-means centroid, its dot product with
 * a co-member while building the κ-NN graph) costs n² over the build: a 100,000-term document took
 * ~90 s of blocking alone. For documents of at least `LONG_DOCUMENT_TERMS` terms the build instead
 * looks up only the terms it needs — "the value of term u in long document h" — in a small inverted
 * index over the long documents alone, and reads their terms heaviest first from an order sorted
 * once per document. Ordinary documents never touch any of this, so their builds are unchanged.
 *
 * Layout (flat, SharedArrayBuffer-backed so build workers share one copy; built once per segment):
 *   docs[r]                                  the r-th long document (ascending ids)
 *   mass[r]                                  Σ of its non-zero decoded values, in forward order
 *   orderOffsets[r] .. [r+1]                 its forward positions with non-zero values in `order`,
 *                                            by value descending, ties by term id ascending
 *   termOffsets[u] .. [u+1]                  the long documents holding term u (`termDocs`,
 *                                            ascending), the forward position of each posting
 *                                            (`termPositions`) and its decoded value (`termValues`)
 */
import type { TermIdArray } from './forward.js';

/**
 * Documents with at least this many terms are long. Below it, the per-list steps read the whole
 * document as before (at most 2,048 reads per posting, and the output stays what it always was);
 * above it they cost O(1)–O(log) per posting. SPLADE documents have a few hundred terms at most,
 * so only very long texts (lexical encodings of whole documents, books) are affected.
 */
export const LONG_DOCUMENT_TERMS = 2048;

export interface LongDocuments {
  /** Documents with at least this many postings are long (a parameter so tests can exercise tiny ones). */
  minTerms: number;
  docs: Uint32Array;
  mass: Float64Array;
  orderOffsets: Uint32Array;
  order: Uint32Array;
  termOffsets: Uint32Array;
  termDocs: Uint32Array;
  termPositions: Uint32Array;
  termValues: Float32Array;
}

function sharedUint32(n: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(Math.max(1, n) * 4)).subarray(0, n);
}

/**
 * Finds the long documents of a forward index and builds their lookups: O(P log P) for the P
 * postings of long documents (one sort per document), O(nDocs + nTerms) otherwise.
 */
export function longDocuments(nTerms: number, forwardOffsets: Uint32Array, forwardTerms: TermIdArray, decoded: Float32Array, minTerms = LONG_DOCUMENT_TERMS): LongDocuments {
  const nDocs = forwardOffsets.length - 1;
  let count = 0;
  let postings = 0;
  for (let d = 0; d < nDocs; d++) {
    const length = forwardOffsets[d + 1] - forwardOffsets[d];
    if (length >= minTerms) {
      count++;
      postings += length;
    }
  }
  const docs = sharedUint32(count);
  const mass = new Float64Array(new SharedArrayBuffer(Math.max(1, count) * 8)).subarray(0, count);
  const orderOffsets = sharedUint32(count + 1);
  const termOffsets = sharedUint32(nTerms + 1);
  const termDocs = sharedUint32(postings);
  const termPositions = sharedUint32(postings);
  const termValues = new Float32Array(new SharedArrayBuffer(Math.max(1, postings) * 4)).subarray(0, postings);
  let r = 0;
  for (let d = 0; d < nDocs; d++) {
    const start = forwardOffsets[d];
    const end = forwardOffsets[d + 1];
    if (end - start < minTerms) continue;
    docs[r++] = d;
    for (let j = start; j < end; j++) termOffsets[forwardTerms[j] + 1]++;
  }
  for (let u = 0; u < nTerms; u++) termOffsets[u + 1] += termOffsets[u];
  const fill = termOffsets.slice(0, nTerms);
  let nonZero = 0;
  // Scanning the long documents in id order keeps each term's documents ascending (binary search below).
  for (r = 0; r < count; r++) {
    const d = docs[r];
    let sum = 0;
    for (let j = forwardOffsets[d]; j < forwardOffsets[d + 1]; j++) {
      const slot = fill[forwardTerms[j]]++;
      termDocs[slot] = d;
      termPositions[slot] = j;
      termValues[slot] = decoded[j];
      if (decoded[j] !== 0) {
        sum += decoded[j];
        nonZero++;
      }
    }
    mass[r] = sum;
  }
  const order = sharedUint32(nonZero);
  let at = 0;
  for (r = 0; r < count; r++) {
    const d = docs[r];
    const from = at;
    for (let j = forwardOffsets[d]; j < forwardOffsets[d + 1]; j++) if (decoded[j] !== 0) order[at++] = j;
    // Once per long document, so an n log n comparator sort is fine; the order is total (terms are unique in a document).
    order.subarray(from, at).sort((a, b) => decoded[b] - decoded[a] || forwardTerms[a] - forwardTerms[b]);
    orderOffsets[r + 1] = at;
  }
  return { minTerms, docs, mass, orderOffsets, order, termOffsets, termDocs, termPositions, termValues };
}

/** Forward position of term `term` in long document `doc`, or −1 when `doc` does not hold it. */
export function longPosition(long: LongDocuments, doc: number, term: number): number {
  const { termDocs } = long;
  // A term's list holds one entry per long document containing it: short, so a binary search is a few steps.
  let lo = long.termOffsets[term];
  let hi = long.termOffsets[term + 1];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = termDocs[mid];
    if (x === doc) return long.termPositions[mid];
    if (x < doc) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/** Decoded value of term `term` in long document `doc` (0 when `doc` does not hold it). */
export function longValue(long: LongDocuments, doc: number, term: number): number {
  const { termDocs } = long;
  let lo = long.termOffsets[term];
  let hi = long.termOffsets[term + 1];
  // Most terms are in at most one long document: settle that without a search.
  if (hi - lo <= 1) return lo < hi && termDocs[lo] === doc ? long.termValues[lo] : 0;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = termDocs[mid];
    if (x === doc) return long.termValues[mid];
    if (x < doc) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/** Rank of long document `doc` in `long.docs` (−1 when it is not long). */
export function longRank(long: LongDocuments, doc: number): number {
  const { docs } = long;
  let lo = 0;
  let hi = docs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = docs[mid];
    if (x === doc) return mid;
    if (x < doc) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}
