/**
 * `spladex eval`: retrieves every query to depth k (1000 by default, so Recall@1000 is
 * meaningful) and scores the run against TREC qrels with the metrics of metrics.ts.
 */
import { SEARCH_OPTIONS, type SearchMode } from '../query/options.js';
import type { SpladexIndex } from '../spladex-index.js';
import { evaluateRun, type QueryMetrics } from './metrics.js';
import type { VectorQuery } from '../io/queries.js';
import { rankingFromHits, type Qrels, type RunQueryResults } from './trec.js';
import type { SearchHit } from '../types.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

export interface EvalOptions {
  /** Retrieval depth per query. Default 1000 (the deepest metric is Recall@1000). */
  k?: number;
  /** Approximate-search setting. Default SEARCH_DEFAULTS.queryCut. */
  queryCut?: number;
  /** Approximate-search setting. Default SEARCH_DEFAULTS.queryMass. */
  queryMass?: number;
  /** Approximate-search setting. Default SEARCH_DEFAULTS.heapFactor. */
  heapFactor?: number;
  /** Approximate-search setting. Default SEARCH_DEFAULTS.graphNeighbors. */
  graphNeighbors?: number;
  /** @deprecated Renamed `graphNeighbors`; accepted until the next release. */
  knn?: number;
  /** Search algorithm. Default: the index's calibrated setting (see `targetRecall`), else `approximate`. */
  mode?: SearchMode;
  /** On a calibrated index, the recall@10 target whose stored setting searches (default: the index's own). */
  targetRecall?: number;
}

type ResolvedEvalOptions = Required<Omit<EvalOptions, 'knn' | 'targetRecall'>>;

/** The search options of an evaluation (the search table with depth 1000): default, range, flag and help of each. */
export const EVAL_OPTIONS: OptionsTable<ResolvedEvalOptions> = defineOptions<ResolvedEvalOptions>(
  { ...SEARCH_OPTIONS.specs, k: { ...SEARCH_OPTIONS.specs.k, default: 1000, help: 'retrieval depth per query' } },
  { renamed: SEARCH_OPTIONS.renamed },
);

/** Defaults of `EvalOptions`; `EVAL_DEFAULTS.knn` (deprecated, not enumerable) equals `graphNeighbors`. */
export const EVAL_DEFAULTS: ResolvedEvalOptions & { /** @deprecated use `graphNeighbors` */ readonly knn: number } = EVAL_OPTIONS.defaults as ResolvedEvalOptions & { readonly knn: number };

export interface EvalReport {
  index: string;
  /** Queries searched. */
  queries: number;
  /** Qrels queries with at least one relevant document: the denominator of every mean. */
  evaluated: number;
  /** Evaluated queries absent from the query file (they score 0). */
  missing: number;
  k: number;
  mode: SearchMode;
  settings: { query_cut: number; query_mass: number; heap_factor: number; knn: number };
  ndcg_at_10: number;
  mrr_at_10: number;
  recall_at_100: number;
  recall_at_1000: number;
  /** Mean search time per query (ms). */
  mean_latency_ms: number;
}

/** Searches every query and evaluates the run; also returns the run for writing. */
export function evaluateIndex(index: SpladexIndex, queries: readonly VectorQuery[], qrels: Qrels, options: EvalOptions = {}): { report: EvalReport; run: RunQueryResults[] } {
  const o = EVAL_OPTIONS.resolve(options);
  // The arguments given, then what the index searches with by default (its calibrated setting on a
  // calibrated index), so eval measures what `search` returns.
  const given: Record<string, unknown> = {};
  for (const key of ['queryCut', 'queryMass', 'heapFactor', 'graphNeighbors', 'knn', 'mode', 'targetRecall'] as const) if (options[key] !== undefined) given[key] = options[key];
  const searchOptions = index.searchSettings({ ...given, k: o.k });
  const results = new Map<string, SearchHit[]>();
  const run: RunQueryResults[] = [];
  const started = performance.now();
  for (const query of queries) {
    const hits = index.search(query.vector, searchOptions);
    results.set(query.id, hits);
    run.push({ queryId: query.id, hits });
  }
  const elapsed = performance.now() - started;
  const evaluation = evaluateRun(rankingFromHits(results), qrels);
  const mean: QueryMetrics = evaluation.mean;
  return {
    report: {
      index: index.path,
      queries: queries.length,
      evaluated: evaluation.queries,
      missing: evaluation.missing.length,
      k: o.k,
      mode: searchOptions.mode,
      // JSON field names are kept: `knn` is the graph round's neighbours per result.
      settings: { query_cut: searchOptions.queryCut, query_mass: searchOptions.queryMass, heap_factor: searchOptions.heapFactor, knn: searchOptions.graphNeighbors },
      ndcg_at_10: mean.ndcgAt10,
      mrr_at_10: mean.mrrAt10,
      recall_at_100: mean.recallAt100,
      recall_at_1000: mean.recallAt1000,
      mean_latency_ms: queries.length === 0 ? 0 : elapsed / queries.length,
    },
    run,
  };
}
