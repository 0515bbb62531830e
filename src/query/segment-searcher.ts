/**
 * Query processing over one segment: Seismic's block-pruned search and exhaustive scoring.
 *
 * All per-query state lives in arrays allocated once per searcher and reused: a dense query
 * vector (term id → weight) and a visited bitset (one bit per document, 125 KiB per million
 * documents, so it stays in L2 where a 4-byte stamp per document would not); the words a query
 * touched are remembered and cleared afterwards, so clearing costs what the query visited.
 */
import type { ForwardIndex } from '../index/forward.js';
import type { Segment } from '../index/segment.js';
import type { PreparedQuery } from './query-vector.js';
import { dotCodebook, dotFloat, dotHalf, forwardDot } from './dot.js';
import type { TopK } from './topk.js';

export class SegmentSearcher {
  private readonly dense: Float32Array;
  private readonly visited: Int32Array;
  private readonly touchedWords: Int32Array;
  private readonly forward: ForwardIndex;

  constructor(readonly segment: Segment) {
    this.forward = segment.forward;
    this.dense = new Float32Array(segment.meta.nTerms);
    this.visited = new Int32Array((segment.meta.nDocs + 31) >>> 5);
    this.touchedWords = new Int32Array(this.visited.length);
  }

  /** Scores one document against the current dense query. */
  score(doc: number): number {
    return forwardDot(this.forward, this.dense, doc);
  }

  private load(query: PreparedQuery): void {
    const { terms, weights } = query;
    for (let i = 0; i < terms.length; i++) this.dense[terms[i]] = weights[i];
  }

  private unload(query: PreparedQuery): void {
    const terms = query.terms;
    for (let i = 0; i < terms.length; i++) this.dense[terms[i]] = 0;
  }

  /**
   * Seismic search: for each of the `queryCut` heaviest query terms, bound every block of its list
   * with the summaries (all query terms contribute), skip blocks whose bound is below
   * `heapFactor ×` the k-th best score, and score the documents of the others exactly.
   * `excluded[d] === 1` hides document d (deletes, filters).
   */
  searchApproximate(query: PreparedQuery, queryCut: number, heapFactor: number, heap: TopK, keyBase: number, excluded?: Uint8Array): void {
    const { terms, byWeight } = query;
    if (terms.length === 0) return;
    this.load(query);
    const inv = this.segment.inverted;
    const { listBlockOffsets, blockPostingOffsets, postingDocs, blockScales, summaryOffsets, summaryTerms, summaryCodes } = inv;
    const f = this.forward;
    const { offsets, terms: fTerms, values, codebook } = f;
    // One kernel per value type, chosen once per query: 0 = f16, 1 = u8 codebook, 2 = f32.
    const kernel = f.valueType === 'f16' ? 0 : f.valueType === 'u8' ? 1 : 2;
    const dense = this.dense;
    const visited = this.visited;
    const touchedWords = this.touchedWords;
    let nTouched = 0;
    const nq = terms.length;
    const cut = queryCut === 0 || queryCut > nq ? nq : queryCut;

    for (let c = 0; c < cut; c++) {
      const t = terms[byWeight[c]];
      const firstBlock = listBlockOffsets[t];
      const lastBlock = listBlockOffsets[t + 1];
      for (let block = firstBlock; block < lastBlock; block++) {
        if (heap.size === heap.k) {
          // Summary bound (every query term contributes, not only the cut ones); only worth
          // computing once there is a k-th score to compare with.
          let bound = 0;
          for (let e = summaryOffsets[block], end = summaryOffsets[block + 1]; e < end; e++) bound += dense[summaryTerms[e]] * summaryCodes[e];
          if (bound * blockScales[block] < heapFactor * heap.scores[0]) continue;
        }
        for (let p = blockPostingOffsets[block], end = blockPostingOffsets[block + 1]; p < end; p++) {
          const d = postingDocs[p];
          const word = d >>> 5;
          const bit = 1 << (d & 31);
          const seen = visited[word];
          if ((seen & bit) !== 0) continue;
          if (seen === 0) touchedWords[nTouched++] = word;
          visited[word] = seen | bit;
          if (excluded !== undefined && excluded[d] === 1) continue;
          const s =
            kernel === 0
              ? dotHalf(dense, fTerms, values as Uint16Array, offsets[d], offsets[d + 1])
              : kernel === 1
                ? dotCodebook(dense, fTerms, values as Uint8Array, codebook, offsets[d], offsets[d + 1])
                : dotFloat(dense, fTerms, values as Float32Array, offsets[d], offsets[d + 1]);
          if (s > 0) heap.push(s, keyBase + d);
        }
      }
    }
    for (let i = 0; i < nTouched; i++) visited[touchedWords[i]] = 0;
    this.unload(query);
  }

  /** Exact search: every document is scored through the forward index. */
  searchExhaustive(query: PreparedQuery, heap: TopK, keyBase: number, excluded?: Uint8Array): void {
    if (query.terms.length === 0) return;
    this.load(query);
    const nDocs = this.segment.meta.nDocs;
    for (let d = 0; d < nDocs; d++) {
      if (excluded !== undefined && excluded[d] === 1) continue;
      const s = this.score(d);
      if (s > 0) heap.push(s, keyBase + d);
    }
    this.unload(query);
  }

  /** Scores exactly the given documents (small allow-lists). */
  searchDocuments(query: PreparedQuery, docs: Uint32Array, heap: TopK, keyBase: number): void {
    if (query.terms.length === 0) return;
    this.load(query);
    for (let i = 0; i < docs.length; i++) {
      const s = this.score(docs[i]);
      if (s > 0) heap.push(s, keyBase + docs[i]);
    }
    this.unload(query);
  }
}
