/**
 * Query processing over one segment: Seismic's block-pruned search and exhaustive scoring.
 *
 * All per-query state lives in arrays allocated once per searcher and reused: a dense query
 * vector (term id → weight) and a visit stamp per document (so each document is scored at most
 * once per query without clearing anything).
 */
import type { ForwardIndex } from '../index/forward.js';
import type { Segment } from '../index/segment.js';
import type { PreparedQuery } from './query-vector.js';
import type { TopK } from './topk.js';

/** Dot product of document `doc` with the dense query, for coded (f16/u8) values. */
function dotCoded(dense: Float32Array, terms: Uint16Array | Uint32Array, values: Uint16Array | Uint8Array, codebook: Float32Array, start: number, end: number): number {
  let score = 0;
  for (let j = start; j < end; j++) score += dense[terms[j]] * codebook[values[j]];
  return score;
}

/** Dot product for raw float32 values. */
function dotFloat(dense: Float32Array, terms: Uint16Array | Uint32Array, values: Float32Array, start: number, end: number): number {
  let score = 0;
  for (let j = start; j < end; j++) score += dense[terms[j]] * values[j];
  return score;
}

export class SegmentSearcher {
  private readonly dense: Float32Array;
  private readonly stamps: Uint32Array;
  private stamp = 0;
  private readonly forward: ForwardIndex;
  private readonly coded: boolean;

  constructor(readonly segment: Segment) {
    this.forward = segment.forward;
    this.dense = new Float32Array(segment.meta.nTerms);
    this.stamps = new Uint32Array(segment.meta.nDocs);
    this.coded = this.forward.valueType !== 'f32';
  }

  /** Scores one document against the current dense query. */
  score(doc: number): number {
    const f = this.forward;
    const start = f.offsets[doc];
    const end = f.offsets[doc + 1];
    return this.coded
      ? dotCoded(this.dense, f.terms, f.values as Uint16Array | Uint8Array, f.codebook, start, end)
      : dotFloat(this.dense, f.terms, f.values as Float32Array, start, end);
  }

  private load(query: PreparedQuery): void {
    const { terms, weights } = query;
    for (let i = 0; i < terms.length; i++) this.dense[terms[i]] = weights[i];
    if (++this.stamp === 0xffffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
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
    const { terms, weights, byWeight } = query;
    if (terms.length === 0) return;
    this.load(query);
    const inv = this.segment.inverted;
    const { listBlockOffsets, blockPostingOffsets, postingDocs, blockScales, summaryOffsets, summaryTerms, summaryCodes } = inv;
    const f = this.forward;
    const { offsets, terms: fTerms, values, codebook } = f;
    const dense = this.dense;
    const coded = this.coded;
    const stamps = this.stamps;
    const stamp = this.stamp;
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
          if (stamps[d] === stamp) continue;
          stamps[d] = stamp;
          if (excluded !== undefined && excluded[d] === 1) continue;
          const s = coded
            ? dotCoded(dense, fTerms, values as Uint16Array | Uint8Array, codebook, offsets[d], offsets[d + 1])
            : dotFloat(dense, fTerms, values as Float32Array, offsets[d], offsets[d + 1]);
          if (s > 0) heap.push(s, keyBase + d);
        }
      }
    }
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
