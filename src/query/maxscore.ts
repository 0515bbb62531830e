/**
 * Exact MaxScore (Turtle & Flood 1995) over the segment's *unpruned* inverted index: the dynamic
 * pruning that PISA and Lucene use for disjunctive top-k queries, here as the exact baseline that
 * Seismic-style approximate search is measured against.
 *
 * The unpruned inverted index is not stored in the segment (the stored one is statically pruned and
 * blocked); it is derived from the forward index by one counting sort on first use.
 *
 * Algorithm (Lucene's `MaxScoreBulkScorer` flavour of MaxScore):
 *  - Query terms are sorted by their maximum contribution `w_t × maxValue_t`, ascending, and
 *    prefix sums of those maxima give `cumulativeBound[i]`: the most terms 0..i can add to a score.
 *  - Terms whose prefix bound is below the current threshold (the heap's k-th score) are
 *    *non-essential*: a document that only they contain cannot enter the top k, so their lists are
 *    never iterated, only probed (galloping search) for documents found elsewhere.
 *  - The *essential* lists are traversed document-at-a-time in windows of doc ids: their
 *    contributions are accumulated into a small dense window buffer (a bitset records which slots
 *    were touched), then each touched document, in id order, is checked against the bound
 *    "partial score + what the non-essential terms could still add" before each probe.
 *  - The partition is refreshed at window boundaries as the threshold rises.
 *
 * Exactness. A candidate that survives every bound is rescored through the forward index, summing
 * in the forward order exactly like `SegmentSearcher.score`, so scores are bit-identical with
 * exhaustive search, and the heap's deterministic tie rule then gives an identical top k. All
 * pruning comparisons allow a relative slack (`BOUND_SLACK`) so that rounding differences between
 * the posting-order sum used for pruning and the forward-order exact sum can never drop a document
 * that exhaustive search would keep.
 */
import { defineOptions, type OptionsTable } from '../util/options-table.js';
import type { ForwardIndex } from '../segment/forward.js';
import type { Segment } from '../segment/segment.js';
import type { PreparedQuery } from './query-vector.js';
import type { CandidateScorer } from './candidate-scorer.js';
import { candidateScorerFor } from './scorers.js';
import type { TopK } from '../util/topk.js';

/**
 * Relative slack of every pruning comparison. Scores are sums of ≤ 10^5 exact float32×float32
 * products in float64; two summation orders differ by far less than 10^-10 relative, so 10^-6
 * can never prune a true top-k document while costing nothing measurable in pruning power.
 */
const BOUND_SLACK = 1e-6;

/** The unpruned inverted index of one segment: every posting of the forward index, by term. */
export interface UnprunedInvertedIndex {
  /** nTerms + 1 offsets into `docs` / `values`. */
  offsets: Uint32Array;
  /** Document ids, ascending within each list. */
  docs: Uint32Array;
  /** Decoded values (what exact scoring multiplies), aligned with `docs`. */
  values: Float32Array;
  /** Largest value of each list (0 for an empty list). */
  maxValues: Float32Array;
}

/**
 * Inverts a forward index by counting sort: one pass counts list lengths, one pass places
 * postings. Documents are visited in id order, so each list comes out sorted by doc id. `into`:
 * zero-filled arrays of the right sizes to build in (the search pool's shared ones), else new.
 */
export function buildUnprunedInverted(forward: ForwardIndex, nTerms: number, into?: UnprunedInvertedIndex): UnprunedInvertedIndex {
  const { offsets: docOffsets, terms, values: stored, codebook } = forward;
  const nnz = terms.length;
  const { offsets, docs, values, maxValues } = into ?? { offsets: new Uint32Array(nTerms + 1), docs: new Uint32Array(nnz), values: new Float32Array(nnz), maxValues: new Float32Array(nTerms) };
  if (offsets.length !== nTerms + 1 || docs.length !== nnz || values.length !== nnz || maxValues.length !== nTerms) throw new Error('buildUnprunedInverted: arrays of the wrong sizes');
  for (let j = 0; j < nnz; j++) offsets[terms[j] + 1]++;
  for (let t = 0; t < nTerms; t++) offsets[t + 1] += offsets[t];
  const fill = offsets.slice(0, nTerms);
  const raw = stored instanceof Float32Array ? stored : undefined;
  const codes = stored instanceof Float32Array ? undefined : stored;
  for (let d = 0; d < forward.nDocs; d++) {
    for (let j = docOffsets[d], end = docOffsets[d + 1]; j < end; j++) {
      const t = terms[j];
      const value = raw !== undefined ? raw[j] : codebook[codes![j]];
      const at = fill[t]++;
      docs[at] = d;
      values[at] = value;
      if (value > maxValues[t]) maxValues[t] = value;
    }
  }
  return { offsets, docs, values, maxValues };
}

export interface MaxScoreOptions {
  /**
   * Documents per accumulation window. Larger windows amortise per-window work over more postings;
   * smaller ones refresh the essential/non-essential partition more often and keep the buffer in a
   * nearer cache. Default 8192: on 1M synthetic documents every size from 2048 to 65536 was within
   * 5% (8192 marginally fastest). Range 32 – 2^20, rounded up to a multiple of 32.
   */
  windowSize?: number;
}

const MAXSCORE_OPTIONS: OptionsTable<Required<MaxScoreOptions>> = defineOptions<Required<MaxScoreOptions>>({
  windowSize: { type: 'integer', min: 32, max: 1 << 20, default: 8192, flag: false, help: 'documents per accumulator window' },
});

export class MaxScoreSearcher {
  private lists: UnprunedInvertedIndex | undefined;
  private readonly windowSize: number;
  /** Exact rescoring (the kernels every mode shares); holds the query while a search runs. */
  private readonly scorer: CandidateScorer;
  /** Dense query (term id → weight) for exact rescoring; zero outside a search. */
  /** Window accumulator and its touched-slot bitset; both all-zero between windows. */
  private readonly accumulator: Float64Array;
  private readonly touched: Uint32Array;
  // Per-query-term scratch, indexed by rank in ascending order of maximum contribution; grown on demand.
  private termWeights = new Float64Array(64);
  private cumulativeBound = new Float64Array(64);
  private cursors = new Uint32Array(64);
  private listEnds = new Uint32Array(64);
  private order = new Uint32Array(64);
  private maxContribution = new Float64Array(64);

  constructor(
    readonly segment: Segment,
    options: MaxScoreOptions = {},
    /** Where the unpruned inverted index comes from, on first use: default, built here (the pool's workers share one). */
    private readonly source: () => UnprunedInvertedIndex = () => buildUnprunedInverted(segment.forward, segment.meta.nTerms),
  ) {
    const { windowSize } = MAXSCORE_OPTIONS.resolve(options);
    this.windowSize = Math.ceil(windowSize / 32) * 32;
    this.scorer = candidateScorerFor(segment);
    this.accumulator = new Float64Array(this.windowSize);
    this.touched = new Uint32Array(this.windowSize / 32);
  }

  /** Builds the unpruned inverted index now rather than on the first search, and returns it. */
  prepare(): UnprunedInvertedIndex {
    return (this.lists ??= this.source());
  }

  /**
   * Adds the exact top k of this segment to `heap` (document keys `keyBase + local id`), skipping
   * documents with `excluded[d] === 1`. The heap may already hold results of other segments; its
   * threshold then prunes from the start.
   */
  search(query: PreparedQuery, heap: TopK, keyBase: number, excluded?: Uint8Array): void {
    const { offsets, docs, values, maxValues } = this.prepare();
    const n = this.loadTerms(query, offsets, maxValues);
    if (n === 0) return;
    const { termWeights, cumulativeBound, cursors, listEnds, accumulator, touched, windowSize } = this;
    const nDocs = this.segment.meta.nDocs;
    this.scorer.loadQuery(query.terms, query.weights);

    // Prune below `bar`: the k-th score lowered by the slack, or −∞ while the heap is not full.
    let bar = heap.size === heap.k ? heap.scores[0] * (1 - BOUND_SLACK) : -Infinity;
    let firstEssential = 0;
    while (firstEssential < n && cumulativeBound[firstEssential] < bar) firstEssential++;

    while (firstEssential < n) {
      // Jump to the first document any essential list still holds: windows never scan empty ranges.
      let windowStart = nDocs;
      for (let i = firstEssential; i < n; i++) {
        if (cursors[i] < listEnds[i] && docs[cursors[i]] < windowStart) windowStart = docs[cursors[i]];
      }
      if (windowStart >= nDocs) break;
      const windowEnd = Math.min(nDocs, windowStart + windowSize);

      // Essential lists: accumulate their contributions for the window.
      for (let i = firstEssential; i < n; i++) {
        const weight = termWeights[i];
        let p = cursors[i];
        for (const end = listEnds[i]; p < end; p++) {
          const d = docs[p];
          if (d >= windowEnd) break;
          const slot = d - windowStart;
          accumulator[slot] += weight * values[p];
          touched[slot >>> 5] |= 1 << (slot & 31);
        }
        cursors[i] = p;
      }

      // Touched documents in id order (non-essential cursors only ever move forward).
      const nonEssentialBound = firstEssential > 0 ? cumulativeBound[firstEssential - 1] : 0;
      for (let word = 0, words = (windowEnd - windowStart + 31) >>> 5; word < words; word++) {
        let bits = touched[word];
        if (bits === 0) continue;
        touched[word] = 0;
        while (bits !== 0) {
          const lowest = bits & -bits;
          bits ^= lowest;
          const slot = (word << 5) | (31 - Math.clz32(lowest));
          let score = accumulator[slot];
          accumulator[slot] = 0;
          const doc = windowStart + slot;
          if (score + nonEssentialBound < bar) continue;
          if (excluded !== undefined && excluded[doc] === 1) continue;
          // Probe non-essential lists, largest bound first, while the document can still qualify.
          let pruned = false;
          for (let i = firstEssential - 1; i >= 0; i--) {
            if (score + cumulativeBound[i] < bar) {
              pruned = true;
              break;
            }
            const p = this.seek(docs, i, doc);
            if (p < listEnds[i] && docs[p] === doc) score += termWeights[i] * values[p];
          }
          if (pruned || score < bar) continue;
          const exact = this.rescore(doc);
          if (exact > 0) {
            heap.push(exact, keyBase + doc);
            if (heap.size === heap.k) bar = heap.scores[0] * (1 - BOUND_SLACK);
          }
        }
      }
      while (firstEssential < n && cumulativeBound[firstEssential] < bar) firstEssential++;
    }
    this.scorer.clearQuery(query.terms);
  }

  /**
   * Fills the per-term scratch for a query: terms with a non-empty list, sorted by maximum
   * contribution ascending (ties: lower term id), cursors at list starts. Returns their number.
   */
  private loadTerms(query: PreparedQuery, offsets: Uint32Array, maxValues: Float32Array): number {
    const { terms, weights } = query;
    if (terms.length > this.order.length) this.grow(terms.length);
    const { order, maxContribution, termWeights, cumulativeBound, cursors, listEnds } = this;
    let n = 0;
    for (let i = 0; i < terms.length; i++) {
      const t = terms[i];
      if (offsets[t + 1] === offsets[t]) continue;
      maxContribution[i] = weights[i] * maxValues[t];
      order[n++] = i;
    }
    const ranked = order.subarray(0, n).sort((a, b) => maxContribution[a] - maxContribution[b] || terms[a] - terms[b]);
    let bound = 0;
    for (let r = 0; r < n; r++) {
      const i = ranked[r];
      const t = terms[i];
      termWeights[r] = weights[i];
      bound += maxContribution[i];
      cumulativeBound[r] = bound;
      cursors[r] = offsets[t];
      listEnds[r] = offsets[t + 1];
    }
    return n;
  }

  private grow(capacity: number): void {
    this.termWeights = new Float64Array(capacity);
    this.cumulativeBound = new Float64Array(capacity);
    this.cursors = new Uint32Array(capacity);
    this.listEnds = new Uint32Array(capacity);
    this.order = new Uint32Array(capacity);
    this.maxContribution = new Float64Array(capacity);
  }

  /** Moves cursor `i` to its first posting with doc ≥ `doc` (galloping, then binary search); returns it. */
  private seek(docs: Uint32Array, i: number, doc: number): number {
    const cursors = this.cursors;
    const end = this.listEnds[i];
    let p = cursors[i];
    if (p >= end || docs[p] >= doc) return p;
    // docs[p] < doc: double the step until a posting ≥ doc (or the end) brackets the target.
    let low = p;
    let step = 1;
    let high = p + 1;
    while (high < end && docs[high] < doc) {
      low = high;
      step <<= 1;
      high = low + step;
    }
    if (high > end) high = end;
    low++;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (docs[mid] < doc) low = mid + 1;
      else high = mid;
    }
    cursors[i] = low;
    return low;
  }

  /**
   * Exact score of `doc`: the forward-index dot product in forward order, the same arithmetic as
   * the other modes, so exact baselines agree bit for bit.
   */
  private rescore(doc: number): number {
    return this.scorer.scoreDocument(doc);
  }
}
