/**
 * Exact MaxScore (Turtle & Flood 1995, as in PISA and Lucene) over the segment's unpruned
 * inverted index. Implementation in progress (issue 4); the interface is fixed here so the
 * index façade can dispatch to it.
 */
import { SpladexError } from '../errors.js';
import type { Segment } from '../index/segment.js';
import type { PreparedQuery } from './query-vector.js';
import type { TopK } from './topk.js';

export class MaxScoreSearcher {
  constructor(readonly segment: Segment) {}

  search(_query: PreparedQuery, _heap: TopK, _keyBase: number, _excluded?: Uint8Array): void {
    throw new SpladexError('E_OPTION', 'maxscore search is not implemented yet');
  }
}
