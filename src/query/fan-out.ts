/**
 * The segment fan-out: one query against every segment of an index, into one top-k heap keyed by
 * (segment ordinal, local id), so ties break the same way in every mode. What to search in each
 * segment (all of it, a mask, an allow-list scored one by one, or nothing) is decided by the
 * reader, from deletes and filters; this module only runs it.
 */
import { segmentLayout, type Segment } from '../segment/segment.js';
import type { SearchHit, SparseVectorInput } from '../types.js';
import { MaxScoreSearcher } from './maxscore.js';
import type { ResolvedSearchOptions } from './options.js';
import { SKIPPED_QUERY, prepareQuery, traversedTerms, type PreparedQuery } from './query-vector.js';
import type { SegmentSearcher } from './segment-searcher.js';
import { SEGMENT_KEY_STRIDE, TopK } from '../util/topk.js';

/** A loaded segment as the query path needs it; the exact MaxScore searcher is created on first use. */
export interface SearchableSegment {
  segment: Segment;
  searcher: SegmentSearcher;
  maxScore?: MaxScoreSearcher;
}

/** How one segment takes part in a search. */
export interface SegmentPlan {
  /** Score exactly these documents one by one (a small allow-list). */
  docs: Uint32Array | undefined;
  /** `excluded[d] === 1`: never return document d (deleted, or outside a large allow-list). */
  excluded: Uint8Array | undefined;
  /** Nothing in this segment can match. */
  skip: boolean;
}

/**
 * One query, prepared for each segment (`prepared[ordinal]`), over every segment into `heap`
 * (reset first): the one dispatch of a search by plan and mode, shared by the reader and by
 * recall calibration (src/writer/calibration.ts), which reads the heap's keys.
 */
export function searchPreparedInto(segments: readonly SearchableSegment[], plans: readonly SegmentPlan[], prepared: readonly PreparedQuery[], o: ResolvedSearchOptions, heap: TopK): void {
  heap.reset();
  segments.forEach((loaded, ordinal) => {
    const plan = plans[ordinal];
    if (plan.skip) return;
    const { segment, searcher } = loaded;
    const query = prepared[ordinal];
    const base = ordinal * SEGMENT_KEY_STRIDE;
    if (plan.docs !== undefined) searcher.searchDocuments(query, plan.docs, heap, base);
    else if (o.mode === 'maxscore') (loaded.maxScore ??= new MaxScoreSearcher(segment)).search(query, heap, base, plan.excluded);
    else if (o.mode === 'exhaustive' || segmentLayout(segment) === 'flat') searcher.searchExhaustive(query, heap, base, plan.excluded);
    else searcher.searchApproximate(query, traversedTerms(query, o.queryCut, o.queryMass), o.heapFactor, o.graphNeighbors, heap, base, plan.excluded);
  });
}

/**
 * The results of one query before external ids: document keys (segment ordinal × 2^32 + local
 * id) and scores, best first. What the search pool's threads answer: two flat arrays.
 */
export interface RankedKeys {
  keys: Float64Array;
  scores: Float64Array;
}

/** Runs every query over every segment into one reused heap and returns `take(heap)` of each. */
function eachQuery<T>(segments: readonly SearchableSegment[], plans: readonly SegmentPlan[], queries: readonly SparseVectorInput[], o: ResolvedSearchOptions, take: (heap: TopK) => T): T[] {
  const heap = new TopK(o.k);
  return queries.map((query) => {
    searchPreparedInto(
      segments,
      plans,
      segments.map(({ segment }, ordinal) => (plans[ordinal].skip ? SKIPPED_QUERY : prepareQuery(query, segment.termIds))),
      o,
      heap,
    );
    return take(heap);
  });
}

/** The hit of a document key (segment ordinal × 2^32 + local id) over the segments it was searched in. */
function hitOf(segments: readonly SearchableSegment[], key: number, score: number): SearchHit {
  const ordinal = Math.floor(key / SEGMENT_KEY_STRIDE);
  return { id: segments[ordinal].segment.docIds[key - ordinal * SEGMENT_KEY_STRIDE], score };
}

/** Hits (external id, score) of ranked keys over the segments they were searched in. */
export function hitsOf(segments: readonly SearchableSegment[], { keys, scores }: RankedKeys): SearchHit[] {
  const hits = new Array<SearchHit>(keys.length);
  for (let i = 0; i < keys.length; i++) hits[i] = hitOf(segments, keys[i], scores[i]);
  return hits;
}

/**
 * Searches every query over every segment; hits are (external id, score), best first. Straight
 * from the heap: the synchronous reader does not pay for the pool's key arrays (two typed arrays
 * per query, allocated off the V8 heap).
 */
export function searchSegments(segments: readonly SearchableSegment[], plans: readonly SegmentPlan[], queries: readonly SparseVectorInput[], o: ResolvedSearchOptions): SearchHit[][] {
  return eachQuery(segments, plans, queries, o, (heap) => heap.sorted().map(({ key, score }) => hitOf(segments, key, score)));
}
