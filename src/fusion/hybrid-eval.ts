/**
 * Evaluating hybrid search: every index searches its queries to the fusion depth (with what
 * `spladex eval` would search it with: the given arguments, else its calibrated setting), the
 * lists are fused to depth k (1000 by default, like `eval`), and the fused run is scored against
 * TREC qrels — next to each index alone, scored on its own list, so a report says what fusion
 * gained over each of its inputs.
 */
import { EVAL_OPTIONS, type EvalOptions } from '../eval/run-eval.js';
import { evaluateRun, type QueryMetrics } from '../eval/metrics.js';
import { rankingFromHits, type Qrels, type RunQueryResults } from '../eval/trec.js';
import type { VectorQuery } from '../io/queries.js';
import type { SearchMode } from '../query/options.js';
import type { SpladexIndex } from '../spladex-index.js';
import type { SearchHit } from '../types.js';
import { fuseHits, listsAreDisjoint, type FusionMethod, type FusionOptions } from './fuse.js';
import { alignQueries, splitHybridOptions } from './hybrid.js';

export interface HybridEvalOptions extends EvalOptions, FusionOptions {}

/** Metrics with the field names of `spladex eval --json`. */
export interface EvalMetrics {
  ndcg_at_10: number;
  mrr_at_10: number;
  recall_at_100: number;
  recall_at_1000: number;
}

export interface HybridEvalReport extends EvalMetrics {
  /** The fused indexes, in fusion order. */
  indexes: string[];
  fusion: { method: FusionMethod; weights: number[]; rrf_k: number; depth: number };
  /** Queries searched (those of the first query set). */
  queries: number;
  /** Qrels queries with at least one relevant document: the denominator of every mean. */
  evaluated: number;
  /** Evaluated queries absent from the queries (they score 0). */
  missing: number;
  /** Fused hits kept per query. */
  k: number;
  /** Each index alone, on the list it contributed (its top-`depth`), in fusion order. */
  sources: Array<EvalMetrics & { index: string; mode: SearchMode }>;
  /** Queries whose lists had no document in common (all of them: the indexes may not share ids). */
  disjoint_queries: number;
  /** Mean time per query (ms): every index's search and the fusion. */
  mean_latency_ms: number;
}

function metricsOf(results: ReadonlyMap<string, readonly SearchHit[]>, qrels: Qrels): { metrics: EvalMetrics; evaluated: number; missing: number } {
  const evaluation = evaluateRun(rankingFromHits(results), qrels);
  const m: QueryMetrics = evaluation.mean;
  return { metrics: { ndcg_at_10: m.ndcgAt10, mrr_at_10: m.mrrAt10, recall_at_100: m.recallAt100, recall_at_1000: m.recallAt1000 }, evaluated: evaluation.queries, missing: evaluation.missing.length };
}

/**
 * Searches `queries[i]` on `indexes[i]` (matched by query id, see `alignQueries`; `labels` name
 * the sets in errors), fuses, and evaluates; also returns the fused run for writing.
 */
export function evaluateHybrid(
  indexes: readonly SpladexIndex[],
  queries: readonly (readonly VectorQuery[])[],
  qrels: Qrels,
  options: HybridEvalOptions = {},
  labels?: readonly string[],
): { report: HybridEvalReport; run: RunQueryResults[] } {
  const { method, weights, rrfK, depth: givenDepth, targetRecall, ...rest } = options;
  const k = EVAL_OPTIONS.resolve({ k: rest.k }).k;
  const { fusion, depth } = splitHybridOptions(indexes.length, { method, weights, rrfK, depth: givenDepth, k }, k);
  // The arguments given, then each index's own default setting (its calibration), as evaluateIndex does.
  const given: Record<string, unknown> = {};
  for (const key of ['queryCut', 'queryMass', 'heapFactor', 'graphNeighbors', 'knn', 'mode'] as const) if (rest[key] !== undefined) given[key] = rest[key];
  if (targetRecall !== undefined) given.targetRecall = targetRecall;
  const settings = indexes.map((index) => index.searchSettings({ ...given, k: depth }));
  const { ids, vectors } = alignQueries(queries, labels);
  const started = performance.now();
  const lists = indexes.map((index, i) => index.searchBatch(vectors[i], settings[i]));
  const fused = new Map<string, SearchHit[]>();
  const run: RunQueryResults[] = [];
  let disjoint = 0;
  ids.forEach((id, q) => {
    const perIndex = lists.map((l) => l[q]);
    if (listsAreDisjoint(perIndex)) disjoint++;
    // The run keeps id and score only: sources are for reading, not for trec files.
    const hits = fuseHits(perIndex, fusion).map(({ id: doc, score }) => ({ id: doc, score }));
    fused.set(id, hits);
    run.push({ queryId: id, hits });
  });
  const elapsed = performance.now() - started;
  const overall = metricsOf(fused, qrels);
  const sources = indexes.map((index, i) => ({ index: index.path, mode: settings[i].mode, ...metricsOf(new Map(ids.map((id, q) => [id, lists[i][q]] as const)), qrels).metrics }));
  return {
    report: {
      indexes: indexes.map((index) => index.path),
      fusion: { method: fusion.method!, weights: [...fusion.weights!], rrf_k: fusion.rrfK!, depth },
      queries: ids.length,
      evaluated: overall.evaluated,
      missing: overall.missing,
      k,
      ...overall.metrics,
      sources,
      disjoint_queries: disjoint,
      mean_latency_ms: ids.length === 0 ? 0 : elapsed / ids.length,
    },
    run,
  };
}
