/**
 * Query processing over one segment: Seismic's block-pruned search and exhaustive scoring.
 *
 * All per-query state lives in arrays allocated once and reused: the candidate scorer's (the
 * query's dense weights, candidate list, scores, bounds: see `CandidateScorer` in candidate-scorer.ts) and a visited
 * bitset (one bit per document, 125 KiB per million documents, so it stays in L2 where a 4-byte
 * stamp per document would not); the words a query touched are remembered and cleared
 * afterwards, so clearing costs what the query visited.
 */
import { NO_NEIGHBOUR } from '../segment/knn.js';
import { segmentNeighbors, type Segment } from '../segment/segment.js';
import type { PreparedQuery } from './query-vector.js';
import type { CandidateScorer, ScoringKernel } from './candidate-scorer.js';
import { candidateScorerFor } from './scorers.js';
import type { TopK } from '../util/topk.js';

export class SegmentSearcher {
  /** Scores candidates (WebAssembly or JavaScript kernel); holds the query while a search runs. */
  private readonly scorer: CandidateScorer;
  private readonly visited: Int32Array;
  private readonly touchedWords: Int32Array;
  /** Words of `visited` set by the current query. */
  private nTouched = 0;
  /** κ of the segment's graph (0: none). */
  private readonly storedNeighbors: number;
  /** Neighbours of this segment's results, scored in the graph round (grown on demand). */
  private expansion = new Uint32Array(128);
  /**
   * Work counters since construction: documents scored exactly, and block summaries bounded.
   * Calibration turns them into a deterministic cost per query (src/writer/calibration.ts).
   */
  scoredDocuments = 0;
  boundedBlocks = 0;

  constructor(readonly segment: Segment) {
    this.scorer = candidateScorerFor(segment);
    this.storedNeighbors = segmentNeighbors(segment);
    this.visited = new Int32Array((segment.meta.nDocs + 31) >>> 5);
    this.touchedWords = new Int32Array(this.visited.length);
  }

  /** The kernels this searcher scores with (reported by `info` and `bench`). */
  get kernel(): ScoringKernel {
    return this.scorer.kernel;
  }

  private load(query: PreparedQuery): void {
    this.scorer.loadQuery(query.terms, query.weights);
  }

  private unload(query: PreparedQuery): void {
    this.scorer.clearQuery(query.terms);
  }

  /**
   * Seismic search: for each of the `queryCut` heaviest query terms, bound every block of its list
   * with the summaries (all query terms contribute), skip blocks whose bound is below
   * `heapFactor ×` the k-th best score, and score the documents of the others exactly. Then, when
   * the segment has a κ-NN graph and `graphNeighbors > 0`, the first `graphNeighbors` stored neighbours of each result
   * found here are scored too (documents already scored are skipped through the same bitset).
   * `excluded[d] === 1` hides document d (deletes, filters).
   */
  searchApproximate(query: PreparedQuery, queryCut: number, heapFactor: number, graphNeighbors: number, heap: TopK, keyBase: number, excluded?: Uint8Array): void {
    const { terms, byWeight } = query;
    if (terms.length === 0) return;
    this.load(query);
    const { listBlockOffsets, blockPostingOffsets, postingDocs } = this.segment.inverted;
    const scorer = this.scorer;
    const bounds = scorer.bounds;
    this.nTouched = 0;
    const nq = terms.length;
    const cut = queryCut === 0 || queryCut > nq ? nq : queryCut;

    for (let c = 0; c < cut; c++) {
      const t = terms[byWeight[c]];
      const lastBlock = listBlockOffsets[t + 1];
      // Bounds of a run of the list's blocks in one kernel call (every query term contributes, not
      // only the cut ones), then the blocks in order: a block is skipped when its bound is below
      // heapFactor × the current k-th score, once there is a k-th score to compare with.
      for (let run = listBlockOffsets[t]; run < lastBlock; run += bounds.length) {
        const n = Math.min(bounds.length, lastBlock - run);
        scorer.boundBlocks(run, n);
        this.boundedBlocks += n;
        for (let i = 0; i < n; i++) {
          if (heap.size === heap.k && bounds[i] < heapFactor * heap.scores[0]) continue;
          const block = run + i;
          this.scoreUnseen(postingDocs, blockPostingOffsets[block], blockPostingOffsets[block + 1], heap, keyBase, excluded);
        }
      }
    }

    const kappa = this.storedNeighbors;
    const expand = graphNeighbors < kappa ? graphNeighbors : kappa;
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
   * marking them seen. They are gathered into the scorer's candidate list and scored in bulk (the
   * kernels overlap the cache misses of several documents); a block's documents are all scored
   * before the next bound is checked and pushed in order, so bulk scoring changes no result.
   */
  private scoreUnseen(docs: Uint32Array, from: number, to: number, heap: TopK, keyBase: number, excluded: Uint8Array | undefined): void {
    const visited = this.visited;
    const touchedWords = this.touchedWords;
    const candidates = this.scorer.candidates;
    const capacity = candidates.length;
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
      candidates[n++] = d;
      if (n === capacity) {
        this.scoreCandidates(n, heap, keyBase);
        n = 0;
      }
    }
    if (n > 0) this.scoreCandidates(n, heap, keyBase);
    this.nTouched = nTouched;
  }

  /** Scores the first `n` candidates and offers the positive scores to the heap, in list order. */
  private scoreCandidates(n: number, heap: TopK, keyBase: number): void {
    const { candidates, scores } = this.scorer;
    this.scorer.scoreCandidates(n);
    this.scoredDocuments += n;
    for (let i = 0; i < n; i++) if (scores[i] > 0) heap.push(scores[i], keyBase + candidates[i]);
  }

  /** Exact search: every document is scored through the forward index. */
  searchExhaustive(query: PreparedQuery, heap: TopK, keyBase: number, excluded?: Uint8Array): void {
    if (query.terms.length === 0) return;
    this.load(query);
    const nDocs = this.segment.meta.nDocs;
    const candidates = this.scorer.candidates;
    let n = 0;
    for (let d = 0; d < nDocs; d++) {
      if (excluded !== undefined && excluded[d] === 1) continue;
      candidates[n++] = d;
      if (n === candidates.length) {
        this.scoreCandidates(n, heap, keyBase);
        n = 0;
      }
    }
    if (n > 0) this.scoreCandidates(n, heap, keyBase);
    this.unload(query);
  }

  /** Scores exactly the given documents (small allow-lists). */
  searchDocuments(query: PreparedQuery, docs: Uint32Array, heap: TopK, keyBase: number): void {
    if (query.terms.length === 0) return;
    this.load(query);
    const candidates = this.scorer.candidates;
    for (let from = 0; from < docs.length; from += candidates.length) {
      const n = Math.min(candidates.length, docs.length - from);
      for (let i = 0; i < n; i++) candidates[i] = docs[from + i];
      this.scoreCandidates(n, heap, keyBase);
    }
    this.unload(query);
  }
}
