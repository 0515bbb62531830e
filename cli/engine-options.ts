/**
 * `--engine opensearch` for `search`, `eval` and `bench`: the connection flags (the library's
 * OPENSEARCH_CONNECTION_OPTIONS table) and the three commands' bodies against a cluster, so the
 * commands only branch here. Queries are the same files and inline queries as local search; text
 * is encoded with the local index's stored encoder (`<dir>`), vectors go to the cluster as they are.
 */
import type { Command } from 'commander';
import { SpladexError, SpladexIndex, parseFilterCondition, hitsWithFields, type Filter, type SearchHit, type SparseVectorInput, type FieldPath } from '../src/index.js';
import { OPENSEARCH_CONNECTION_OPTIONS, OpenSearchSearcher, type OpenSearchConnectionOptions } from '../src/opensearch/index.js';
import { loadQueries, readQrels, writeRun, evaluateRun, METRIC_LABELS } from '../src/eval/index.js';
import { textQueryEncoder } from './query-encoder.js';
import { addTableOptions, tableFlagsGiven, tableOptionsFrom } from './table-options.js';
import { choice, writeLine } from './util.js';
import { formatHits, type OutputFormat } from './hit-format.js';
import { forEachQueryBatch, type QueryInput } from './query-input.js';

export type Engine = 'spladex' | 'opensearch';

/** Adds `--engine` and the connection flags (`--url`, `--index`, auth, TLS). */
export function addEngineOptions(command: Command): Command {
  command.option('--engine <engine>', 'where to search: spladex (the local index) or opensearch (a cluster the index was exported to with "spladex export opensearch"; --url, --index)', choice(['spladex', 'opensearch'] as const));
  return addTableOptions(command, OPENSEARCH_CONNECTION_OPTIONS, { prefix: '(--engine opensearch) ' });
}

/** The cluster asked for, or undefined for local search; `E_OPTION` for connection flags without `--engine opensearch`. */
export function engineFrom(command: Command): OpenSearchConnectionOptions | undefined {
  const engine = command.opts().engine as Engine | undefined;
  if (engine !== 'opensearch') {
    const given = tableFlagsGiven(command, OPENSEARCH_CONNECTION_OPTIONS);
    if (given.length > 0) throw new SpladexError('E_OPTION', `${given.join(', ')} ${given.length === 1 ? 'needs' : 'need'} --engine opensearch`);
    return undefined;
  }
  const options = tableOptionsFrom(command, OPENSEARCH_CONNECTION_OPTIONS);
  if (options.index === undefined) throw new SpladexError('E_OPTION', '--engine opensearch needs --index <name>: the OpenSearch index to search');
  return options;
}

/** Query options that mean the same on a cluster; the rest are spladex's own and refused. */
function clusterSearchOptions(options: object): { k?: number; queryCut?: number; heapFactor?: number } {
  const { k, queryCut, heapFactor, ...others } = options as { k?: number; queryCut?: number; heapFactor?: number };
  const unsupported = Object.entries(others)
    .filter(([key, value]) => value !== undefined && !['filter', 'mode', 'filterExactBelow'].includes(key))
    .map(([key]) => key);
  if (unsupported.length > 0) throw new SpladexError('E_OPTION', `${unsupported.join(', ')} ${unsupported.length === 1 ? 'is a spladex search option' : 'are spladex search options'} with no OpenSearch counterpart; leave ${unsupported.length === 1 ? 'it' : 'them'} out with --engine opensearch`);
  return { ...(k !== undefined ? { k } : {}), ...(queryCut !== undefined ? { queryCut } : {}), ...(heapFactor !== undefined ? { heapFactor } : {}) };
}

export interface ClusterSearchInput {
  dir: string;
  inline: SparseVectorInput | string | undefined;
  queries: string | undefined;
  model: string | undefined;
  searchOptions: object;
  filters: Filter[];
  format: OutputFormat;
  tag: string;
  fields: FieldPath[] | undefined;
  /** How the query file is read (`--query-format`, `--vocab`), as for local search. */
  queryInput: QueryInput;
}

/** `spladex search <dir> … --engine opensearch`: the same output as local search. */
export async function searchCluster(connection: OpenSearchConnectionOptions, input: ClusterSearchInput): Promise<void> {
  const options = { ...clusterSearchOptions(input.searchOptions), ...(input.filters.length > 0 ? { filter: input.filters } : {}) };
  const encoder = textQueryEncoder(input.dir, input.model);
  const searcher = await OpenSearchSearcher.open(connection);
  try {
    const print = async (id: string | undefined, hits: SearchHit[]): Promise<void> => {
      const fields = input.fields ?? (input.format === 'table' ? [{ name: 'content', path: ['content'] }] : undefined);
      const printed = fields === undefined ? hits : hitsWithFields(hits, await searcher.getDocuments(hits.map((h) => h.id)), fields);
      writeLine(formatHits(id, printed, input.format, input.tag, input.fields));
    };
    if (input.inline !== undefined) {
      const vector = typeof input.inline === 'string' ? (await (await encoder.open()).encodeQueries([input.inline]))[0] : input.inline;
      await print(undefined, await searcher.search(vector, options));
      return;
    }
    await forEachQueryBatch(input.queries as string, input.queryInput, encoder.open, async (batch, vectors) => {
      for (let i = 0; i < batch.length; i++) await print(batch[i].id, await searcher.search(vectors[i], options));
    });
  } finally {
    await searcher.close();
    await encoder.dispose();
  }
}

/** Filters of `--filter` flags. */
export function filtersOf(values: readonly string[]): Filter[] {
  return values.map(parseFilterCondition);
}

export interface ClusterEvalInput {
  dir: string;
  queries: string;
  qrels: string;
  model: string | undefined;
  searchOptions: object;
  run: string | undefined;
  runTag: string;
  json: boolean;
  /** How the query file is read (`--query-format`, `--vocab`), as for local eval. */
  queryInput: QueryInput;
}

/** `spladex eval <dir> … --engine opensearch`: the cluster's run against the qrels. */
export async function evalCluster(connection: OpenSearchConnectionOptions, input: ClusterEvalInput): Promise<void> {
  const options = clusterSearchOptions(input.searchOptions);
  const k = options.k ?? 1000;
  const encoder = textQueryEncoder(input.dir, input.model);
  const [queries, qrels] = await Promise.all([loadQueries(input.queries, { encoder: encoder.open, ...input.queryInput.readOptions }).finally(encoder.dispose), readQrels(input.qrels)]);
  const searcher = await OpenSearchSearcher.open(connection);
  try {
    const run = new Map<string, SearchHit[]>();
    const started = performance.now();
    for (const q of queries) run.set(q.id, await searcher.search(q.vector, { ...options, k }));
    const seconds = (performance.now() - started) / 1000;
    const result = evaluateRun(new Map([...run].map(([id, hits]) => [id, hits.map((h) => h.id)])), qrels);
    if (input.run !== undefined) await writeRun(input.run, [...run].map(([queryId, hits]) => ({ queryId, hits })), input.runTag);
    const report = {
      engine: 'opensearch',
      index: connection.index,
      method: searcher.method,
      queries: queries.length,
      k,
      evaluated: result.queries,
      missing: result.missing.length,
      ndcg_at_10: result.mean.ndcgAt10,
      mrr_at_10: result.mean.mrrAt10,
      recall_at_100: result.mean.recallAt100,
      recall_at_1000: result.mean.recallAt1000,
      mean_latency_ms: (seconds * 1000) / Math.max(1, queries.length),
      retries: searcher.connection.retried,
    };
    if (input.json) {
      writeLine(JSON.stringify(input.run === undefined ? report : { ...report, run: input.run }));
      return;
    }
    writeLine(`${report.queries} queries searched on OpenSearch index ${report.index} (${report.method}) to depth ${k}, ${report.evaluated} judged queries evaluated`);
    writeLine(`${METRIC_LABELS.ndcgAt10.padEnd(11)} ${report.ndcg_at_10.toFixed(4)}`);
    writeLine(`${METRIC_LABELS.mrrAt10.padEnd(11)} ${report.mrr_at_10.toFixed(4)}`);
    writeLine(`${METRIC_LABELS.recallAt100.padEnd(11)} ${report.recall_at_100.toFixed(4)}`);
    writeLine(`${METRIC_LABELS.recallAt1000.padEnd(11)} ${report.recall_at_1000.toFixed(4)}`);
    writeLine(`${'ms/query'.padEnd(11)} ${report.mean_latency_ms.toFixed(3)} (one client, over HTTP)`);
    if (input.run !== undefined) writeLine(`run written to ${input.run}`);
  } finally {
    await searcher.close();
  }
}

export interface ClusterBenchInput {
  dir: string;
  queries: string;
  model: string | undefined;
  searchOptions: object;
  json: boolean;
  /** How the query file is read (`--query-format`, `--vocab`), as for local bench. */
  queryInput: QueryInput;
}

const percentileOf = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

/**
 * `spladex bench <dir> … --engine opensearch`: the cluster's latency (one client, one query after
 * another, after a warm-up) and its recall@k against the local index's exact search.
 */
export async function benchCluster(connection: OpenSearchConnectionOptions, input: ClusterBenchInput): Promise<void> {
  const options = clusterSearchOptions(input.searchOptions);
  const k = options.k ?? 10;
  const encoder = textQueryEncoder(input.dir, input.model);
  const queries = await loadQueries(input.queries, { encoder: encoder.open, ...input.queryInput.readOptions }).finally(encoder.dispose);
  if (queries.length === 0) throw new SpladexError('E_OPTION', `${input.queries} holds no queries; a benchmark needs at least one`);
  const index = SpladexIndex.open(input.dir, { readonly: true });
  const exact = queries.map((q) => index.search(q.vector, { k, mode: 'maxscore' }));
  index.close();
  const searcher = await OpenSearchSearcher.open(connection);
  try {
    for (const q of queries.slice(0, 10)) await searcher.search(q.vector, { ...options, k });
    const times: number[] = [];
    let recall = 0;
    for (let i = 0; i < queries.length; i++) {
      const started = performance.now();
      const hits = await searcher.search(queries[i].vector, { ...options, k });
      times.push(performance.now() - started);
      const truth = new Set(exact[i].map((h) => h.id));
      recall += truth.size === 0 ? 1 : hits.filter((h) => truth.has(h.id)).length / truth.size;
    }
    const sorted = [...times].sort((a, b) => a - b);
    const total = times.reduce((a, b) => a + b, 0);
    const report = {
      engine: 'opensearch',
      index: connection.index,
      method: searcher.method,
      queries: queries.length,
      k,
      recall_at_k: recall / queries.length,
      latency_ms: { mean: total / times.length, p50: percentileOf(sorted, 0.5), p95: percentileOf(sorted, 0.95), p99: percentileOf(sorted, 0.99) },
      qps: (1000 * times.length) / total,
      retries: searcher.connection.retried,
    };
    if (input.json) {
      writeLine(JSON.stringify(report));
      return;
    }
    writeLine(`index        OpenSearch ${report.index} (${report.method}), local exact answers from ${input.dir}`);
    writeLine(`queries      ${report.queries}, k = ${k}`);
    writeLine(`recall@${k}    ${report.recall_at_k.toFixed(4)} against exact search of the local index`);
    const l = report.latency_ms;
    writeLine(`latency      mean ${l.mean.toFixed(2)} ms, p50 ${l.p50.toFixed(2)}, p95 ${l.p95.toFixed(2)}, p99 ${l.p99.toFixed(2)} (one client over HTTP)`);
    writeLine(`throughput   ${report.qps.toFixed(0)} queries/s (one client); ${report.retries} retries`);
  } finally {
    await searcher.close();
  }
}
