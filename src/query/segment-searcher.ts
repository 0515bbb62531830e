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
import { kernelFor, quadKernelFor, type DotKernel, type QuadKernel } from './dot.js';
import type { TopK } from './topk.js';

export class SegmentSearcher {
  private readonly dense: Float32Array;
  private readonly visited: Int32Array;
  private readonly touchedWords: Int32Array;
  private readonly forward: ForwardIndex;
  private readonly dot: DotKernel;
  private readonly dot4: QuadKernel;
  /** Candidates waiting to be scored four at a time, and their scores. */
  private readonly batch = new Uint32Array(4);
  private readonly batchScores = new Float64Array(4);
  /** Words of `visited` set by the current query. */
  private nTouched = 0;
  /** κ of the segment's graph (0: none). */
  private readonly storedNeighbors: number;
  /** Neighbours of this segment's results, scored in the graph round (grown on demand). */
  private expansion = new Uint32Array(128);

  constructor(readonly segment: Segment) {
    this.forward = segment.forward;
    this.dot = kernelFor(segment.forward);
    this.dot4 = quadKernelFor(segment.forward);
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
    const dense = this.dense;
    this.nTouched = 0;
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
        this.scoreUnseen(postingDocs, blockPostingOffsets[block], blockPostingOffsets[block + 1], heap, keyBase, excluded);
      }
    }

    const kappa = this.storedNeighbors;
    const expand = knn < kappa ? knn : kappa;
    if (expand > 0) {
      // Gather first: scoring neighbours changes the heap the seeds are read from.
      const nDocs = this.segment.meta.nDocs;
      if (this.expansion.length < heap.size * expand) this.expansion = new Uint32Array(heap.size * expand);
      const expansion = this.expansion;
      const neighbors = this.segment.neighbors;
      let n = 0;
      for (let i = 0; i < heap.size; i++) {
        const seed = heap.keys[i] - keyBase;
        if (seed < 0 || seed >= nDocs) continue; // a result of another segment
        for (let e = seed * kappa, end = e + expand; e < end && neighbors[e] !== NO_NEIGHBOUR; e++) expansion[n++] = neighbors[e];
      }
      this.scoreUnseen(expansion, 0, n, heap, keyBase, excluded);
    }
    const visited = this.visited;
    const touchedWords = this.touchedWords;
    for (let i = 0, nTouched = this.nTouched; i < nTouched; i++) visited[touchedWords[i]] = 0;
    this.unload(query);
  }

  /**
   * Scores exactly the documents of `docs[from, to)` not seen yet in this query and not excluded,
   * marking them seen. Candidates are scored four at a time (`QuadKernel`: overlapping the cache
   * misses of four documents); a remainder of two or three is padded with its last document, a
   * single one is scored alone. Each score is the single kernel's, bit for bit, and a block's
   * documents are all scored before the next bound is checked, so batching changes no result.
   */
  private scoreUnseen(docs: Uint32Array, from: number, to: number, heap: TopK, keyBase: number, excluded: Uint8Array | undefined): void {
    const visited = this.visited;
    const touchedWords = this.touchedWords;
    const batch = this.batch;
    const batchScores = this.batchScores;
    const dense = this.dense;
    const { offsets, terms, values, codebook } = this.forward;
    let nTouched = this.nTouched;
    let n = 0;
    for (let p = from; p < to; p++) {
      const d = docs[p];
      const word = d >>> 5;
      const bit = 1 << (d & 31);
      const seen = visited[word];
      if ((seen & bit) !== 0) continue;
      if (seen === 0) touchedWords[nTouched++] = word;
      visited[word] = seen | bit;
      if (excluded !== undefined && excluded[d] === 1) continue;
      batch[n++] = d;
      if (n === 4) {
        this.dot4(dense, terms, values, codebook, offsets, batch, batchScores);
        for (let i = 0; i < 4; i++) if (batchScores[i] > 0) heap.push(batchScores[i], keyBase + batch[i]);
        n = 0;
      }
    }
    if (n >= 2) {
      // Two or three left: pad with the last one (scored again from cache) to keep the lockstep.
      for (let i = n; i < 4; i++) batch[i] = batch[n - 1];
      this.dot4(dense, terms, values, codebook, offsets, batch, batchScores);
      for (let i = 0; i < n; i++) if (batchScores[i] > 0) heap.push(batchScores[i], keyBase + batch[i]);
    } else if (n === 1) {
      const d = batch[0];
      const s = this.dot(dense, terms, values, codebook, offsets[d], offsets[d + 1]);
      if (s > 0) heap.push(s, keyBase + d);
    }
    this.nTouched = nTouched;
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
