/**
 * Retrieval effectiveness metrics, trec_eval-compatible.
 *
 * Definitions (for one query; `ranked` is the system's ranking, best first; a document is relevant
 * when its qrels grade is > 0; unjudged documents have grade 0):
 * - nDCG@k (trec_eval `ndcg_cut.k`): DCG@k / IDCG@k with DCG@k = Σ_{i=1..k} gain_i / log2(i + 1),
 *   gain = grade for grade > 0, else 0; IDCG@k is the DCG of the qrels' grades sorted descending.
 * - MRR@k (MS MARCO's MRR@10): 1 / rank of the first relevant document within the top k, else 0.
 * - Recall@k (trec_eval `recall.k`): relevant documents in the top k / all relevant documents.
 *
 * Averaging convention: the mean is taken over the queries of the qrels that have at least one
 * relevant document; such a query that is missing from the run (or has no results) contributes 0.
 * Queries of the run absent from the qrels are ignored. This is `trec_eval -c` (for the usual qrels
 * in which every query has a relevant document); plain `trec_eval` instead averages over the
 * queries in both run and qrels, which overstates systems that return nothing for hard queries.
 *
 * Document ids in one ranking are expected to be unique; a repeated id occupies its rank but gains
 * nothing (parseRun refuses such files).
 */

import type { SearchHit } from '../types.js';
import type { Qrels, Ranking } from './trec.js';

/** Grades of one query: document id → grade. */
export type Judgments = ReadonlyMap<string, number>;

/** DCG@k of a ranking (gain = grade for grade > 0, discount log2(rank + 1)). */
export function dcgAtK(ranked: readonly string[], judgments: Judgments | undefined, k: number): number {
  if (judgments === undefined) return 0;
  const n = Math.min(k, ranked.length);
  let dcg = 0;
  let seen: Set<string> | undefined;
  for (let i = 0; i < n; i++) {
    const g = judgments.get(ranked[i]);
    if (g === undefined || g <= 0) continue;
    // Only relevant ids need the duplicate check, so the set stays tiny.
    seen ??= new Set();
    if (seen.has(ranked[i])) continue;
    seen.add(ranked[i]);
    dcg += g / Math.log2(i + 2);
  }
  return dcg;
}

/** Ideal DCG@k: the grades > 0 of the judgments sorted descending. */
export function idealDcgAtK(judgments: Judgments | undefined, k: number): number {
  if (judgments === undefined) return 0;
  const grades: number[] = [];
  for (const g of judgments.values()) if (g > 0) grades.push(g);
  grades.sort((a, b) => b - a);
  let dcg = 0;
  for (let i = 0; i < Math.min(k, grades.length); i++) dcg += grades[i] / Math.log2(i + 2);
  return dcg;
}

/** nDCG@k; 0 when the query has no relevant document. */
export function ndcgAtK(ranked: readonly string[], judgments: Judgments | undefined, k: number): number {
  const ideal = idealDcgAtK(judgments, k);
  return ideal > 0 ? dcgAtK(ranked, judgments, k) / ideal : 0;
}

/** Reciprocal rank of the first relevant document within the top k; 0 if none. */
export function reciprocalRankAtK(ranked: readonly string[], judgments: Judgments | undefined, k: number): number {
  if (judgments === undefined) return 0;
  const n = Math.min(k, ranked.length);
  for (let i = 0; i < n; i++) {
    const g = judgments.get(ranked[i]);
    if (g !== undefined && g > 0) return 1 / (i + 1);
  }
  return 0;
}

/** Number of documents with grade > 0. */
export function relevantCount(judgments: Judgments | undefined): number {
  if (judgments === undefined) return 0;
  let n = 0;
  for (const g of judgments.values()) if (g > 0) n++;
  return n;
}

/** Recall@k: relevant documents in the top k / relevant documents; 0 when there are none. */
export function recallAtK(ranked: readonly string[], judgments: Judgments | undefined, k: number): number {
  const total = relevantCount(judgments);
  if (total === 0 || judgments === undefined) return 0;
  const n = Math.min(k, ranked.length);
  const found = new Set<string>();
  for (let i = 0; i < n; i++) {
    const g = judgments.get(ranked[i]);
    if (g !== undefined && g > 0) found.add(ranked[i]);
  }
  return found.size / total;
}

/** The metrics reported per query and on average. */
export interface QueryMetrics {
  /** nDCG@10. */
  ndcgAt10: number;
  /** MRR@10. */
  mrrAt10: number;
  /** Recall@100. */
  recallAt100: number;
  /** Recall@1000. */
  recallAt1000: number;
}

/** Metric names in report order, with their display labels. */
export const METRIC_LABELS: Readonly<Record<keyof QueryMetrics, string>> = Object.freeze({
  ndcgAt10: 'nDCG@10',
  mrrAt10: 'MRR@10',
  recallAt100: 'R@100',
  recallAt1000: 'R@1000',
});

/** Result of {@link evaluateRun}. */
export interface EvalResult {
  /** Metrics of every evaluated query (qrels queries with ≥ 1 relevant document). */
  perQuery: Map<string, QueryMetrics>;
  /** Mean over the evaluated queries (all zeros when there are none). */
  mean: QueryMetrics;
  /** Number of evaluated queries (the denominator of `mean`). */
  queries: number;
  /** Evaluated queries absent from the run (they scored 0). */
  missing: string[];
}

/** All four metrics of one query. */
export function queryMetrics(ranked: readonly string[], judgments: Judgments | undefined): QueryMetrics {
  return {
    ndcgAt10: ndcgAtK(ranked, judgments, 10),
    mrrAt10: reciprocalRankAtK(ranked, judgments, 10),
    recallAt100: recallAtK(ranked, judgments, 100),
    recallAt1000: recallAtK(ranked, judgments, 1000),
  };
}

/**
 * Evaluates a ranking against qrels with the averaging convention in the module comment. Queries
 * are visited in qrels order, so `perQuery` iterates deterministically.
 */
export function evaluateRun(ranking: Ranking, qrels: Qrels): EvalResult {
  const perQuery = new Map<string, QueryMetrics>();
  const missing: string[] = [];
  const sum: QueryMetrics = { ndcgAt10: 0, mrrAt10: 0, recallAt100: 0, recallAt1000: 0 };
  for (const [qid, judgments] of qrels) {
    if (relevantCount(judgments) === 0) continue;
    const ranked = ranking.get(qid);
    if (ranked === undefined) missing.push(qid);
    const m = queryMetrics(ranked ?? [], judgments);
    perQuery.set(qid, m);
    sum.ndcgAt10 += m.ndcgAt10;
    sum.mrrAt10 += m.mrrAt10;
    sum.recallAt100 += m.recallAt100;
    sum.recallAt1000 += m.recallAt1000;
  }
  const n = perQuery.size;
  const mean: QueryMetrics = n === 0 ? sum : { ndcgAt10: sum.ndcgAt10 / n, mrrAt10: sum.mrrAt10 / n, recallAt100: sum.recallAt100 / n, recallAt1000: sum.recallAt1000 / n };
  return { perQuery, mean, queries: n, missing };
}

// ---------------------------------------------------------------------------------------------
// Recall against an exact run (approximate-search quality, as in the Seismic paper).
// ---------------------------------------------------------------------------------------------

/**
 * Fraction of the exact top-k ids that the approximate top-k contains:
 * |top_k(approx) ∩ top_k(exact)| / min(k, |exact|). When the exact run has no results the query is
 * vacuously perfect (1). Ties at the k-th exact score are not forgiven — see {@link tieAwareRecallAtK}.
 */
export function exactRecallAtK(approx: readonly string[], exact: readonly string[], k: number): number {
  const m = Math.min(k, exact.length);
  if (m === 0) return 1;
  const want = new Set<string>();
  for (let i = 0; i < m; i++) want.add(exact[i]);
  let hit = 0;
  const n = Math.min(k, approx.length);
  for (let i = 0; i < n; i++) {
    if (want.delete(approx[i])) hit++; // delete: a repeated id counts once
  }
  return hit / m;
}

/**
 * Like {@link exactRecallAtK} but an approximate hit also counts when its score ties the exact k-th
 * score (≥ kth · (1 − relTolerance)): with equal scores, which of the tied documents make the
 * cut is arbitrary, and counting that as a miss would understate recall. Needs true scores on both
 * sides (spladex rescores candidates exactly from the forward index, so it has them). The count is
 * capped at min(k, |exact|).
 */
export function tieAwareRecallAtK(approx: readonly SearchHit[], exact: readonly SearchHit[], k: number, relTolerance = 1e-6): number {
  const m = Math.min(k, exact.length);
  if (m === 0) return 1;
  const want = new Set<string>();
  for (let i = 0; i < m; i++) want.add(exact[i].id);
  const kth = exact[m - 1].score;
  const threshold = kth - Math.abs(kth) * relTolerance;
  let hit = 0;
  const counted = new Set<string>();
  const n = Math.min(k, approx.length);
  for (let i = 0; i < n; i++) {
    const h = approx[i];
    if (counted.has(h.id)) continue;
    if (want.has(h.id) || h.score >= threshold) {
      counted.add(h.id);
      hit++;
    }
  }
  return Math.min(hit, m) / m;
}

/**
 * Mean of {@link exactRecallAtK} over the queries of the exact ranking; a query missing from the
 * approximate ranking scores 0 (or 1 if its exact list is empty). 1 when there are no queries.
 */
export function meanExactRecallAtK(approx: Ranking, exact: Ranking, k: number): number {
  let sum = 0;
  let n = 0;
  for (const [qid, ids] of exact) {
    sum += exactRecallAtK(approx.get(qid) ?? [], ids, k);
    n++;
  }
  return n === 0 ? 1 : sum / n;
}
