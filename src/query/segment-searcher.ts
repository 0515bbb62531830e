/**
 * Query processing over one segment: Seismic's block-pruned search and exhaustive scoring.
 *
 * All per-query state lives in arrays allocated once per searcher and reused: a dense query
 * vector (term id → weight) and a visited bitset (one bit per document, 125 KiB per million
 * documents, so it stays in L2 where a 4-byte stamp per document would not); the words a query
 * touched are remembered and cleared afterwards, so clearing costs what the query visited.
 */
import type { ForwardIndex } from '../index/forward.js';
import { NO_NEIGHBOUR } from '../index/knn.js';
import { segmentNeighbors, type Segment } from '../index/segment.js';
import type { PreparedQuery } from './query-vector.js';
import { kernelFor, type DotKernel } from './dot.js';
import type { TopK } from './topk.js';

export class SegmentSearcher {
  private readonly dense: Float32Array;
  private readonly visited: Int32Array;
  private readonly touchedWords: Int32Array;
  private readonly forward: ForwardIndex;
  private readonly dot: DotKernel;
  /** κ of the segment's graph (0: none). */
  private readonly storedNeighbors: number;
  /** This segment's results after the block search: the seeds of the graph round (grown on demand). */
  private seeds = new Uint32Array(16);

  constructor(readonly segment: Segment) {
    this.forward = segment.forward;
    this.dot = kernelFor(segment.forward);
    this.storedNeighbors = segmentNeighbors(segment);
    this.dense = new Float32Array(segment.meta.nTerms);
    this.visited = new Int32Array((segment.meta.nDocs + 31) >>> 5);
    this.touchedWords = new Int32Array(this.visited.length);
  }

  /** Scores one document against the current dense query. */
  score(doc: number): number {
    const f = this.forward;
    return this.dot(this.dense, f.terms, f.values, f.codebook, f.offsets[doc], f.offsets[doc + 1]);
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
   * `heapFactor ×` the k-th best score, and score the documents of the others exactly. Then, when
   * the segment has a κ-NN graph and `knn > 0`, the first `knn` stored neighbours of each result
   * found here are scored too (documents already scored are skipped through the same bitset).
   * `excluded[d] === 1` hides document d (deletes, filters).
   */
  searchApproximate(query: PreparedQuery, queryCut: number, heapFactor: number, knn: number, heap: TopK, keyBase: number, excluded?: Uint8Array): void {
    const { terms, byWeight } = query;
    if (terms.length === 0) return;
    this.load(query);
    const inv = this.segment.inverted;
    const { listBlockOffsets, blockPostingOffsets, postingDocs, blockScales, summaryOffsets, summaryTerms, summaryCodes } = inv;
    const f = this.forward;
    const { offsets, terms: fTerms, values, codebook } = f;
    const dot = this.dot;
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
          const s = dot(dense, fTerms, values, codebook, offsets[d], offsets[d + 1]);
          if (s > 0) heap.push(s, keyBase + d);
        }
      }
    }

    const kappa = this.storedNeighbors;
    const expand = knn < kappa ? knn : kappa;
    if (expand > 0) {
      // Seeds first: scoring neighbours changes the heap while we walk it.
      const nDocs = this.segment.meta.nDocs;
      if (this.seeds.length < heap.size) this.seeds = new Uint32Array(heap.size);
      const seeds = this.seeds;
      let nSeeds = 0;
      for (let i = 0; i < heap.size; i++) {
        const local = heap.keys[i] - keyBase;
        if (local >= 0 && local < nDocs) seeds[nSeeds++] = local;
      }
      const neighbors = this.segment.neighbors;
      for (let i = 0; i < nSeeds; i++) {
        for (let e = seeds[i] * kappa, end = e + expand; e < end; e++) {
          const d = neighbors[e];
          if (d === NO_NEIGHBOUR) break;
          const word = d >>> 5;
          const bit = 1 << (d & 31);
          const seen = visited[word];
          if ((seen & bit) !== 0) continue;
          if (seen === 0) touchedWords[nTouched++] = word;
          visited[word] = seen | bit;
          if (excluded !== undefined && excluded[d] === 1) continue;
          const s = dot(dense, fTerms, values, codebook, offsets[d], offsets[d + 1]);
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
