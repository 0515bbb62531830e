/**
 * Why a document scored what it did: the per-term contributions of one query to one stored
 * document. Learned sparse scores are dot products, so the explanation is exact by construction:
 * each product is what the kernels multiply (the query weight rounded to float32, as in the dense
 * query array, times the stored forward-index value: a half float, a u8 codebook level or a
 * float32), and `score` adds them in forward-index order in one float64 accumulator — the kernels'
 * order and arithmetic — so it equals the score every search mode reports, bit for bit.
 */
import type { Segment } from '../segment/segment.js';
import type { SparseVectorInput } from '../types.js';

/** One matching term of an explanation. */
export interface TermContribution {
  term: string;
  /** The query's weight as scored: rounded to float32. */
  queryWeight: number;
  /** The document's weight as stored in the forward index (half float, u8 level or float32), not the weight it was given. */
  documentWeight: number;
  /** `queryWeight × documentWeight`, exact (both are floats whose product fits a double). */
  product: number;
}

export interface Explanation {
  /** The document's score for the query: the products added in forward-index order, exactly as search scores it. */
  score: number;
  /** The terms query and document share, largest product first (ties: term order). */
  terms: TermContribution[];
}

/** The contributions of `query` to document `local` of `segment`. */
export function explainDocument(segment: Segment, local: number, query: SparseVectorInput): Explanation {
  const { offsets, terms, values, codebook } = segment.forward;
  const direct = values instanceof Float32Array;
  const contributions: TermContribution[] = [];
  let score = 0;
  for (let j = offsets[local]; j < offsets[local + 1]; j++) {
    const term = segment.vocabulary[terms[j]];
    const weight = Object.hasOwn(query, term) ? query[term] : 0;
    // The search path drops terms whose weight is not positive (prepareQuery).
    if (!(weight > 0)) continue;
    const queryWeight = Math.fround(weight);
    const documentWeight = direct ? values[j] : codebook[values[j]];
    const product = queryWeight * documentWeight;
    score += product;
    if (product > 0) contributions.push({ term, queryWeight, documentWeight, product });
  }
  contributions.sort((a, b) => b.product - a.product || (a.term < b.term ? -1 : a.term > b.term ? 1 : 0));
  return { score, terms: contributions };
}
