/**
 * `spladex/eval` — IR evaluation: TREC qrels and runs, nDCG/MRR/recall, and evaluating an index on
 * a query set (vector or text queries). Re-exports only.
 */
export { METRIC_LABELS, evaluateRun } from './metrics.js';
export { DEFAULT_RUN_TAG, readQrels, writeRun, type Qrels } from './trec.js';
export { loadQueries, LOAD_QUERIES_OPTIONS, LOAD_QUERIES_DEFAULTS, type LoadQueriesOptions, type QueryTextEncoder, type VectorQuery } from '../io/queries.js';
export { EVAL_OPTIONS, EVAL_DEFAULTS, evaluateIndex, type EvalReport, type EvalMetrics } from './run-eval.js';
