import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomCorpus } from '../../test/helpers/random-corpus.js';
import { Rng } from '../util/rng.js';
import type { ForwardValueType } from '../segment/options.js';
import { readSegment, type Segment } from '../segment/segment.js';
import { SpladexIndex } from '../spladex-index.js';
import { buildUnprunedInverted, MaxScoreSearcher } from './maxscore.js';
import { prepareQuery } from './query-vector.js';
import { SegmentSearcher } from './segment-searcher.js';
import { SEGMENT_KEY_STRIDE, TopK } from '../util/topk.js';
import type { DocumentInput, SparseVectorInput } from '../types.js';

const open: SpladexIndex[] = [];
afterAll(() => open.forEach((index) => index.close()));

/** Builds a small index (MaxScore ignores the pruned inverted index, so the cheapest blocking is used) and loads its segment. */
async function indexSegment(documents: DocumentInput[], forwardValues: ForwardValueType, seed: number): Promise<{ segment: Segment; index: SpladexIndex }> {
  const index = await SpladexIndex.build(documents, { forwardValues, blocking: 'fixed-size', nPostings: 50, seed });
  open.push(index);
  return { segment: readSegment(join(index.path, index.manifest.segments[0].file)), index };
}

async function segmentOf(forwardValues: ForwardValueType, seed: number, decimals: number): Promise<{ segment: Segment; queries: SparseVectorInput[]; index: SpladexIndex }> {
  const { documents, queries } = randomCorpus({ docs: 2500, queries: 25, vocabulary: 300, seed, decimals });
  return { ...(await indexSegment(documents, forwardValues, seed)), queries };
}

/**
 * A corpus on which MaxScore's bounds are tight: every posting of term t has the same value, so a
 * document holding all remaining query terms reaches the bound exactly. Random corpora leave
 * bounds so loose that an off-by-a-little pruning rule would rarely change a result; here it does.
 */
function tightBoundCorpus(seed: number): { documents: DocumentInput[]; queries: SparseVectorInput[] } {
  const rng = new Rng(seed);
  const vocabulary = 30;
  const documents: DocumentInput[] = [];
  for (let i = 0; i < 2500; i++) {
    const vector: SparseVectorInput = {};
    for (let t = 0; t < vocabulary; t++) if (rng.next() < 0.6) vector[`t${t}`] = 0.25 * (1 + (t % 4));
    documents.push({ id: `d${i}`, vector });
  }
  const queries: SparseVectorInput[] = [];
  for (let j = 0; j < 60; j++) {
    const vector: SparseVectorInput = {};
    for (let i = 0, n = 2 + rng.int(15); i < n; i++) vector[`t${rng.int(vocabulary)}`] = Number((0.1 + rng.next() * 2).toFixed(1));
    queries.push(vector);
  }
  return { documents, queries };
}

/** Asserts every searcher returns exactly the exhaustive top k, for every k and mask. */
function expectExhaustiveResults(segment: Segment, queries: SparseVectorInput[], searchers: MaxScoreSearcher[], ks: number[], masks: Array<Uint8Array | undefined>): void {
  const exhaustive = new SegmentSearcher(segment);
  for (const vector of queries) {
    const query = prepareQuery(vector, segment.termIds);
    for (const k of ks) {
      for (const excluded of masks) {
        const expected = new TopK(k);
        exhaustive.searchExhaustive(query, expected, 0, excluded);
        for (const searcher of searchers) {
          const actual = new TopK(k);
          searcher.search(query, actual, 0, excluded);
          expect(actual.sorted()).toEqual(expected.sorted());
        }
      }
    }
  }
}

function randomMask(rng: Rng, nDocs: number, fraction: number): Uint8Array {
  const mask = new Uint8Array(nDocs);
  for (let d = 0; d < nDocs; d++) if (rng.next() < fraction) mask[d] = 1;
  return mask;
}

describe('MaxScore equals exhaustive search exactly (differential)', () => {
  const cases: Array<[ForwardValueType, number, number]> = [
    ['f16', 11, 3],
    ['u8', 12, 2],
    ['f32', 13, 1], // one decimal: many exact score ties
  ];
  for (const [valueType, seed, decimals] of cases) {
    it(`${valueType} values, ${decimals} decimal weights, with and without an excluded mask`, async () => {
      const { segment, queries } = await segmentOf(valueType, seed, decimals);
      const rng = new Rng(seed);
      // Small windows exercise window boundaries, the skip-ahead and partition refreshes on a small corpus.
      const searchers = [new MaxScoreSearcher(segment), new MaxScoreSearcher(segment, { windowSize: 64 }), new MaxScoreSearcher(segment, { windowSize: 100 })];
      const masks = [undefined, randomMask(rng, segment.meta.nDocs, 0.3), randomMask(rng, segment.meta.nDocs, 0.95)];
      expectExhaustiveResults(segment, queries, searchers, [1, 3, 10, 57, 3000], masks);
    });
  }

  it('is exact when the bounds are tight (every posting of a term has the same value)', async () => {
    const { documents, queries } = tightBoundCorpus(17);
    const { segment } = await indexSegment(documents, 'f32', 17);
    const searchers = [new MaxScoreSearcher(segment), new MaxScoreSearcher(segment, { windowSize: 64 })];
    expectExhaustiveResults(segment, queries, searchers, [1, 3, 10], [undefined, randomMask(new Rng(17), segment.meta.nDocs, 0.5)]);
  });

  it('starts from the threshold of a heap already holding other segments', async () => {
    const { segment, queries } = await segmentOf('f16', 14, 2);
    const exhaustive = new SegmentSearcher(segment);
    const maxScore = new MaxScoreSearcher(segment, { windowSize: 256 });
    for (const vector of queries) {
      const query = prepareQuery(vector, segment.termIds);
      for (const k of [1, 10]) {
        // The same segment twice stands in for two segments: the second pass prunes with a full heap.
        const expected = new TopK(k);
        exhaustive.searchExhaustive(query, expected, 0);
        exhaustive.searchExhaustive(query, expected, SEGMENT_KEY_STRIDE);
        const actual = new TopK(k);
        maxScore.search(query, actual, 0);
        maxScore.search(query, actual, SEGMENT_KEY_STRIDE);
        expect(actual.sorted()).toEqual(expected.sorted());
      }
    }
  });

  it('handles empty queries, unknown tokens and the public search mode', async () => {
    const { segment, queries, index } = await segmentOf('f16', 15, 3);
    const maxScore = new MaxScoreSearcher(segment);
    const heap = new TopK(5);
    maxScore.search(prepareQuery({}, segment.termIds), heap, 0);
    maxScore.search(prepareQuery({ 'no-such-token': 1 }, segment.termIds), heap, 0);
    expect(heap.size).toBe(0);
    expect(index.searchBatch(queries, { k: 10, mode: 'maxscore' })).toEqual(index.searchBatch(queries, { k: 10, mode: 'exhaustive' }));
  });
});

describe('unpruned inverted index', () => {
  it('holds every forward posting, doc ids ascending per list, with per-list maxima', async () => {
    const { segment } = await segmentOf('u8', 16, 3);
    const f = segment.forward;
    const lists = buildUnprunedInverted(f, segment.meta.nTerms);
    expect(lists.docs.length).toBe(f.terms.length);
    const seen = new Map<string, number>();
    for (let d = 0; d < f.nDocs; d++) for (let j = f.offsets[d]; j < f.offsets[d + 1]; j++) seen.set(`${f.terms[j]}:${d}`, f.codebook[f.values[j]]);
    for (let t = 0; t < segment.meta.nTerms; t++) {
      let max = 0;
      for (let p = lists.offsets[t]; p < lists.offsets[t + 1]; p++) {
        if (p > lists.offsets[t]) expect(lists.docs[p]).toBeGreaterThan(lists.docs[p - 1]);
        expect(lists.values[p]).toBe(seen.get(`${t}:${lists.docs[p]}`));
        max = Math.max(max, lists.values[p]);
      }
      expect(lists.maxValues[t]).toBe(max);
    }
  });
});
