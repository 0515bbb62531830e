/**
 * `spladex eval`: retrieves every query to depth k (1000 by default, so Recall@1000 is
 * meaningful) and scores the run against TREC qrels with the metrics of metrics.ts.
 *
 * The run is what `search` returns (on a calibrated index possibly approximate), so the report
 * says which mode ran and, by default, adds the figures of exact search (`exact`): those are what
 * Anserini, Pyserini and trec_eval report for the same vectors, so they compare with the field's.
 * Qrels that judge documents the index does not hold (the wrong collection) are reported
 * (`qrels`, `warnings`), and qrels that judge none of its documents are an error.
 */
import { SpladexError } from '../errors.js';
import { SEARCH_OPTIONS, type SearchMode, type SearchOptions } from '../query/options.js';
import type { SpladexIndex } from '../spladex-index.js';
import { evaluateRun, type QueryMetrics } from './metrics.js';
import type { VectorQuery } from '../io/queries.js';
import { CUSTOM_TERM_SPACE, type TermSpaceOptions } from '../io/term-space.js';
import { rankingFromHits, type Qrels, type RunQueryResults } from './trec.js';
import type { SearchHit } from '../types.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

export interface EvalOptions extends TermSpaceOptions {
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
  /** Also evaluate exact search (MaxScore) when the run is approximate: `EvalReport.exact`. Default true. */
  exactFigures?: boolean;
}

type ResolvedEvalOptions = Required<Omit<EvalOptions, 'knn' | 'targetRecall' | keyof TermSpaceOptions>>;

/** The search options of an evaluation (the search table with depth 1000, and exact figures): default, range, flag and help of each. */
export const EVAL_OPTIONS: OptionsTable<ResolvedEvalOptions> = defineOptions<ResolvedEvalOptions>(
  {
    ...SEARCH_OPTIONS.specs,
    k: { ...SEARCH_OPTIONS.specs.k, default: 1000, help: 'retrieval depth per query' },
    exactFigures: { type: 'boolean', default: true, help: 'beside an approximate run, the figures of exact search (MaxScore), which Anserini and trec_eval report; --no-exact-figures skips them' },
  },
  { renamed: SEARCH_OPTIONS.renamed },
);

/** Defaults of `EvalOptions`; `EVAL_DEFAULTS.knn` (deprecated, not enumerable) equals `graphNeighbors`. */
export const EVAL_DEFAULTS: ResolvedEvalOptions & { /** @deprecated use `graphNeighbors` */ readonly knn: number } = EVAL_OPTIONS.defaults as ResolvedEvalOptions & { readonly knn: number };

/**
 * Below this share of the qrels' relevant documents present in the index, eval warns: every absent
 * relevant document caps recall and nDCG, so at 90 % the figures are already visibly biased and no
 * longer compare with a run over the whole collection (a subset index, or the wrong collection
 * whose ids happen to coincide, as numeric ids do).
 */
const QRELS_FOUND_WARNING = 0.9;

/** Metrics of one run. */
export interface EvalMetrics {
  ndcg_at_10: number;
  mrr_at_10: number;
  recall_at_100: number;
  recall_at_1000: number;
  /** Mean search time per query (ms). */
  mean_latency_ms: number;
}

export interface EvalReport extends EvalMetrics {
  index: string;
  /** Queries searched. */
  queries: number;
  /** Qrels queries with at least one relevant document: the denominator of every mean. */
  evaluated: number;
  /** Evaluated queries absent from the query file (they score 0). */
  missing: number;
  k: number;
  /** The mode of the run the top-level metrics are of: `approximate`, or an exact one (`exhaustive`, `maxscore`). */
  mode: SearchMode;
  settings: { query_cut: number; query_mass: number; heap_factor: number; knn: number };
  /** The same queries searched exactly (MaxScore): the figures to compare with Anserini's. Null when not asked for (`exactFigures: false`); the top-level figures when the run already was exact. */
  exact: (EvalMetrics & { mode: SearchMode }) | null;
  /** Relevant documents of the evaluated queries' qrels, and how many of them the index holds. */
  qrels: { relevant_documents: number; found_in_index: number };
  /** What makes the figures doubtful (e.g. qrels judging documents the index does not hold); empty when nothing does. */
  warnings: string[];
}

/** Searches every query and evaluates the run; also returns the run for writing. `E_QRELS_MISMATCH` when the index holds none of the qrels' relevant documents. */
export function evaluateIndex(index: SpladexIndex, queries: readonly VectorQuery[], qrels: Qrels, options: EvalOptions = {}): { report: EvalReport; run: RunQueryResults[] } {
  const o = EVAL_OPTIONS.resolve(options);
  const coverage = qrelsCoverage(index, qrels);
  const warnings: string[] = [];
  if (coverage.relevant > 0 && coverage.found === 0) {
    throw new SpladexError('E_QRELS_MISMATCH', `none of the ${coverage.relevant} relevant documents of the qrels is in the index ${index.path}, so every metric would be 0; check that the qrels and the index are of the same collection (document ids must match)`);
  }
  if (coverage.found < QRELS_FOUND_WARNING * coverage.relevant) {
    warnings.push(`only ${coverage.found} of the ${coverage.relevant} relevant documents of the qrels are in the index (below ${100 * QRELS_FOUND_WARNING}%): the figures are capped by the missing ones; check that the qrels and the index are of the same collection`);
  }
  // The arguments given, then what the index searches with by default (its calibrated setting on a
  // calibrated index), so eval measures what `search` returns.
  const given: Record<string, unknown> = {};
  for (const key of ['queryCut', 'queryMass', 'heapFactor', 'graphNeighbors', 'knn', 'mode', 'targetRecall'] as const) if (options[key] !== undefined) given[key] = options[key];
  const searchOptions = index.searchSettings({ ...given, k: o.k });
  // The term space is checked once for the query set (E_TERM_SPACE); the searches then declare the index's own.
  const vectors = queries.map((q) => q.vector);
  index.searchBatch(vectors, { k: 1, ...(options.termSpace === undefined ? {} : { termSpace: options.termSpace }), ...(options.allowTermSpaceMismatch === undefined ? {} : { allowTermSpaceMismatch: options.allowTermSpaceMismatch }) });
  const inSpace = { termSpace: index.manifest.termSpace ?? CUSTOM_TERM_SPACE };
  const main = runQueries(index, queries, qrels, { ...searchOptions, ...inSpace });
  let exact: EvalReport['exact'] = null;
  if (searchOptions.mode !== 'approximate') exact = { mode: searchOptions.mode, ...main.metrics };
  else if (o.exactFigures) exact = { mode: 'maxscore', ...runQueries(index, queries, qrels, { k: o.k, mode: 'maxscore', ...inSpace }).metrics };
  return {
    report: {
      index: index.path,
      queries: queries.length,
      evaluated: main.evaluated,
      missing: main.missing,
      k: o.k,
      mode: searchOptions.mode,
      // JSON field names are kept: `knn` is the graph round's neighbours per result.
      settings: { query_cut: searchOptions.queryCut, query_mass: searchOptions.queryMass, heap_factor: searchOptions.heapFactor, knn: searchOptions.graphNeighbors },
      ...main.metrics,
      exact,
      qrels: { relevant_documents: coverage.relevant, found_in_index: coverage.found },
      warnings,
    },
    run: main.run,
  };
}

/** One run over the queries with one setting, evaluated. */
function runQueries(index: SpladexIndex, queries: readonly VectorQuery[], qrels: Qrels, searchOptions: SearchOptions & TermSpaceOptions): { metrics: EvalMetrics; run: RunQueryResults[]; evaluated: number; missing: number } {
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
    metrics: { ndcg_at_10: mean.ndcgAt10, mrr_at_10: mean.mrrAt10, recall_at_100: mean.recallAt100, recall_at_1000: mean.recallAt1000, mean_latency_ms: queries.length === 0 ? 0 : elapsed / queries.length },
    run,
    evaluated: evaluation.queries,
    missing: evaluation.missing.length,
  };
}

/** Distinct relevant documents of the qrels and how many of them are live in the index. */
function qrelsCoverage(index: SpladexIndex, qrels: Qrels): { relevant: number; found: number } {
  const relevant = new Set<string>();
  for (const judgments of qrels.values()) for (const [doc, grade] of judgments) if (grade > 0) relevant.add(doc);
  let found = 0;
  if (relevant.size > 0) for (const id of index.ids()) if (relevant.has(id)) found++;
  return { relevant: relevant.size, found };
}
