import { describe, expect, it } from 'vitest';

import {
  dcgAtK,
  evaluateRun,
  exactRecallAtK,
  idealDcgAtK,
  meanExactRecallAtK,
  ndcgAtK,
  recallAtK,
  reciprocalRankAtK,
  tieAwareRecallAtK,
} from './metrics.js';
import { parseQrels, parseRun, rankingFromRun } from './trec.js';

const judged = (o: Record<string, number>): Map<string, number> => new Map(Object.entries(o));

describe('per-query metrics (hand-computed)', () => {
  // Grades: d1 = 3, d2 = 2, d3 = 1, d4 = 0 (judged non-relevant), d5 = -1 (≤ 0: not relevant).
  const j = judged({ d1: 3, d2: 2, d3: 1, d4: 0, d5: -1 });
  // Ranking: rank 1 d4 (gain 0), rank 2 d2 (gain 2), rank 3 d5 (gain 0), rank 4 d1 (gain 3), rank 5 dX (unjudged, 0).
  const ranked = ['d4', 'd2', 'd5', 'd1', 'dX'];

  it('nDCG@10 with graded gains', () => {
    // DCG  = 2/log2(3) + 3/log2(5) = 1.2618595 + 1.2920297 = 2.5538892
    // IDCG = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.2618595 + 0.5 = 4.7618595
    // nDCG = 2.5538892 / 4.7618595 = 0.5363218
    expect(dcgAtK(ranked, j, 10)).toBeCloseTo(2.5538892, 6);
    expect(idealDcgAtK(j, 10)).toBeCloseTo(4.7618595, 6);
    expect(ndcgAtK(ranked, j, 10)).toBeCloseTo(0.5363218, 6);
    // Cut at 2: DCG@2 = 2/log2(3) = 1.2618595; IDCG@2 = 3 + 1.2618595 = 4.2618595 → 0.2960819.
    expect(ndcgAtK(ranked, j, 2)).toBeCloseTo(1.2618595 / 4.2618595, 6);
  });

  it('MRR@10 and recall@k use grade > 0 as relevant', () => {
    // First relevant document (d2) at rank 2 → 1/2. d4 (0) and d5 (-1) do not count.
    expect(reciprocalRankAtK(ranked, j, 10)).toBe(0.5);
    // Relevant: d1, d2, d3; retrieved d2, d1 → 2/3.
    expect(recallAtK(ranked, j, 100)).toBeCloseTo(2 / 3, 12);
    // Top 3 holds only d2 → 1/3.
    expect(recallAtK(ranked, j, 3)).toBeCloseTo(1 / 3, 12);
    expect(reciprocalRankAtK(ranked, j, 1)).toBe(0);
  });

  it('ignores relevant documents beyond the cutoff', () => {
    const deep = [...Array.from({ length: 10 }, (_, i) => `n${i}`), 'd3'];
    // d3 is at rank 11: nothing in the top 10 → nDCG@10 = MRR@10 = 0; recall@100 = 1/3.
    expect(ndcgAtK(deep, j, 10)).toBe(0);
    expect(reciprocalRankAtK(deep, j, 10)).toBe(0);
    expect(recallAtK(deep, j, 100)).toBeCloseTo(1 / 3, 12);
  });

  it('a repeated id gains once', () => {
    // ['d1','d1']: DCG = 3/log2(2) = 3 (the second d1 gains nothing); recall 1/3.
    expect(dcgAtK(['d1', 'd1'], j, 10)).toBe(3);
    expect(recallAtK(['d1', 'd1'], j, 10)).toBeCloseTo(1 / 3, 12);
  });

  it('queries without relevant documents or judgments score 0', () => {
    expect(ndcgAtK(['a'], judged({ a: 0 }), 10)).toBe(0);
    expect(ndcgAtK(['a'], undefined, 10)).toBe(0);
    expect(recallAtK(['a'], undefined, 10)).toBe(0);
    expect(reciprocalRankAtK([], j, 10)).toBe(0);
  });
});

describe('evaluateRun', () => {
  const qrels = parseQrels(
    [
      'q1 0 dA 1',
      'q1 0 dB 0',
      'q2 0 dC 2',
      'q2 0 dD 1',
      'q3 0 dE 0', // q3 has no relevant document: excluded from the mean
    ].join('\n'),
  );

  it('follows trec_eval order: score descending, ties by docid descending', () => {
    // q1: dA and dB tie at 5.0 → trec_eval ranks dB (larger id) first, dA second, ignoring the rank column.
    // q4 is not in the qrels: ignored. q2 is missing from the run: contributes 0.
    const run = parseRun(['q1 Q0 dA 1 5.0 t', 'q1 Q0 dB 2 5.0 t', 'q1 Q0 dZ 3 4.0 t', 'q4 Q0 dA 1 1 t'].join('\n'));
    const r = evaluateRun(rankingFromRun(run), qrels);
    expect(r.queries).toBe(2);
    expect(r.missing).toEqual(['q2']);
    const q1 = r.perQuery.get('q1');
    // q1: dA at rank 2 → MRR 1/2; nDCG@10 = (1/log2(3)) / (1/log2(2)) = 0.6309298; recall 1/1.
    expect(q1?.mrrAt10).toBe(0.5);
    expect(q1?.ndcgAt10).toBeCloseTo(0.6309298, 6);
    expect(q1?.recallAt100).toBe(1);
    // Means over {q1, q2}: MRR (0.5 + 0)/2 = 0.25; nDCG 0.6309298/2 = 0.3154649; R@100 (1 + 0)/2 = 0.5.
    expect(r.mean.mrrAt10).toBe(0.25);
    expect(r.mean.ndcgAt10).toBeCloseTo(0.3154649, 6);
    expect(r.mean.recallAt100).toBe(0.5);
    expect(r.mean.recallAt1000).toBe(0.5);
    expect(r.perQuery.has('q3')).toBe(false);

    // Ordered by the rank column instead, dA is first: MRR 1, nDCG 1.
    const byRank = evaluateRun(rankingFromRun(parseRun(['q1 Q0 dA 1 5.0 t', 'q1 Q0 dB 2 5.0 t'].join('\n'), '<run>', { order: 'rank' })), qrels);
    expect(byRank.perQuery.get('q1')?.mrrAt10).toBe(1);
    expect(byRank.perQuery.get('q1')?.ndcgAt10).toBe(1);
  });

  it('graded nDCG with a partial ideal', () => {
    // q2 ranking [dD, dC]: DCG = 1/log2(2) + 2/log2(3) = 1 + 1.2618595 = 2.2618595;
    // IDCG = 2/log2(2) + 1/log2(3) = 2 + 0.6309298 = 2.6309298 → nDCG 0.8597186.
    const r = evaluateRun(new Map([['q2', ['dD', 'dC']]]), qrels);
    expect(r.perQuery.get('q2')?.ndcgAt10).toBeCloseTo(2.2618595 / 2.6309298, 6);
    // Only dC at rank 1: DCG = 2 → 2 / 2.6309298 = 0.7601875.
    const r2 = evaluateRun(new Map([['q2', ['dC']]]), qrels);
    expect(r2.perQuery.get('q2')?.ndcgAt10).toBeCloseTo(0.7601875, 6);
  });

  it('an empty run scores 0 everywhere; empty qrels evaluate nothing', () => {
    const r = evaluateRun(new Map(), qrels);
    expect(r.queries).toBe(2);
    expect(r.missing).toEqual(['q1', 'q2']);
    expect(r.mean).toEqual({ ndcgAt10: 0, mrrAt10: 0, recallAt100: 0, recallAt1000: 0 });
    // A query present with an empty result list is not "missing" but still scores 0.
    const r2 = evaluateRun(new Map([['q1', []]]), qrels);
    expect(r2.missing).toEqual(['q2']);
    expect(r2.perQuery.get('q1')?.ndcgAt10).toBe(0);
    const none = evaluateRun(new Map([['q1', ['dA']]]), new Map());
    expect(none.queries).toBe(0);
    expect(none.mean.ndcgAt10).toBe(0);
  });
});

describe('recall against an exact run', () => {
  it('counts the overlap of the top k', () => {
    // exact top 3 = {a, c, d}; approx top 3 = {a, b, c} → 2/3.
    expect(exactRecallAtK(['a', 'b', 'c', 'd'], ['a', 'c', 'd', 'e'], 3)).toBeCloseTo(2 / 3, 12);
    // Exact has fewer than k results: denominator min(k, |exact|) = 1.
    expect(exactRecallAtK(['b', 'a'], ['a'], 10)).toBe(1);
    // Nothing to find: vacuously 1. Nothing returned: 0.
    expect(exactRecallAtK([], [], 10)).toBe(1);
    expect(exactRecallAtK([], ['a'], 10)).toBe(0);
    // A repeated id counts once: 1/2.
    expect(exactRecallAtK(['a', 'a'], ['a', 'b'], 2)).toBe(0.5);
  });

  it('tie-aware recall forgives ties at the k-th score', () => {
    const exact = [
      { id: 'a', score: 3 },
      { id: 'b', score: 2 },
      { id: 'c', score: 2 },
    ];
    // k = 2, k-th exact score 2: z (score 2) ties b → 2/2.
    expect(tieAwareRecallAtK([{ id: 'a', score: 3 }, { id: 'z', score: 2 }], exact, 2)).toBe(1);
    // y at 1.5 is a genuine miss → 1/2; the id-only version also says 1/2 for z.
    expect(tieAwareRecallAtK([{ id: 'a', score: 3 }, { id: 'y', score: 1.5 }], exact, 2)).toBe(0.5);
    expect(exactRecallAtK(['a', 'z'], ['a', 'b'], 2)).toBe(0.5);
    expect(tieAwareRecallAtK([], [], 5)).toBe(1);
  });

  it('averages over the exact run’s queries', () => {
    const exact = new Map([
      ['q1', ['a', 'b']],
      ['q2', ['c', 'd']],
    ]);
    // q1: {a} of {a, b} → 1/2; q2 missing → 0; mean 1/4.
    expect(meanExactRecallAtK(new Map([['q1', ['a', 'x']]]), exact, 2)).toBe(0.25);
    expect(meanExactRecallAtK(new Map(), new Map(), 10)).toBe(1);
  });
});
