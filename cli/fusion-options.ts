/**
 * Hybrid retrieval flags of `search` and `eval`: `--fuse <dir>` (repeatable) adds indexes whose
 * hits are fused with those of `<dir>`, `--fuse-queries <file>` gives such an index its own query
 * file (vectors of its term space), and the fusion table (`--fusion rrf|linear`, `--weights`,
 * `--rrf-k`, `--fusion-depth`) says how. Also the two fused commands' bodies, so the commands
 * only branch to them.
 */
import type { Command } from 'commander';
import {
  FUSION_OPTIONS,
  HybridSearcher,
  SpladexError,
  SpladexIndex,
  evaluateHybrid,
  loadQueries,
  type FusedHit,
  type FusionOptions,
  type HybridEvalReport,
  type IndexSearchOptions,
  type SparseVectorInput,
  type VectorQuery,
} from '../src/index.js';
import { METRIC_LABELS, readQrels, writeRun } from '../src/eval/index.js';
import { addTableOptions, tableFlagsGiven, tableOptionsFrom } from './table-options.js';
import { writeLine } from './util.js';

/** What the fusion flags asked for. */
export interface FusionRequest {
  /** The indexes fused with `<dir>`, in order. */
  dirs: string[];
  /** `--fuse-queries`, by position (missing: `--queries`). */
  queryFiles: string[];
  options: FusionOptions;
}

// No commander default: help would print "(default: [])".
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Adds `--fuse`, `--fuse-queries` and the fusion table's flags. */
export function addFusionOptions(command: Command): Command {
  command
    .option('--fuse <dir>', 'hybrid search: another index to search and fuse with <dir>, e.g. BM25 and SPLADE over the same ids (repeat for more)', collect)
    .option(
      '--fuse-queries <file>',
      'query file of the --fuse index at the same position (repeat in --fuse order), e.g. vectors in its term space, matched by query id (default: --queries, whose text lines each index encodes with its own encoder)',
      collect,
    );
  return addTableOptions(command, FUSION_OPTIONS);
}

/** The fusion asked for, or undefined without `--fuse`; `E_OPTION` for fusion flags without it. */
export function fusionFrom(command: Command): FusionRequest | undefined {
  const opts = command.opts();
  const dirs = (opts.fuse as string[] | undefined) ?? [];
  const queryFiles = (opts.fuseQueries as string[] | undefined) ?? [];
  if (dirs.length === 0) {
    const given = [...tableFlagsGiven(command, FUSION_OPTIONS), ...(queryFiles.length > 0 ? ['--fuse-queries'] : [])];
    if (given.length > 0) throw new SpladexError('E_OPTION', `${given.join(', ')} ${given.length === 1 ? 'needs' : 'need'} --fuse <dir>: the index(es) to fuse with`);
    return undefined;
  }
  if (queryFiles.length > dirs.length) throw new SpladexError('E_OPTION', `--fuse-queries is given ${queryFiles.length} times for ${dirs.length} --fuse index(es): give at most one per --fuse, in the same order`);
  const options = tableOptionsFrom(command, FUSION_OPTIONS);
  if (options.weights !== undefined && options.weights.length !== dirs.length + 1) {
    throw new SpladexError('E_OPTION', `--weights needs ${dirs.length + 1} weights (<dir>, then each --fuse), got ${options.weights.length}: ${options.weights.join(',')}`);
  }
  return { dirs, queryFiles, options };
}

/** Opens every index (`<dir>` with `model`), closing those opened if one fails. */
function openAll(dirs: readonly string[], model: string | undefined, readonly: boolean): SpladexIndex[] {
  const indexes: SpladexIndex[] = [];
  try {
    dirs.forEach((dir, i) => indexes.push(SpladexIndex.open(dir, { ...(readonly ? { readonly } : {}), ...(i === 0 && model !== undefined ? { encoder: { model } } : {}) })));
  } catch (error) {
    for (const index of indexes) index.close();
    throw error;
  }
  return indexes;
}

/** Each index's query file: `--queries` for `<dir>`, its `--fuse-queries` (else `--queries`) for a fused one. */
function queryFilesOf(request: FusionRequest, queries: string): string[] {
  const files = [queries, ...request.dirs.map((_, i) => request.queryFiles[i] ?? queries)];
  // Each index reads (and encodes) its file itself; stdin can be read once.
  if (files.filter((f) => f === '-').length > 1) throw new SpladexError('E_OPTION', 'standard input ("-") can be the query file of one fused index only: write the queries to a file, or give the others --fuse-queries');
  return files;
}

/** Loads each index's queries, text lines encoded with that index's encoder. */
function loadEach(indexes: readonly SpladexIndex[], files: readonly string[]): Promise<VectorQuery[][]> {
  // One after another: each may open a model.
  return indexes.reduce<Promise<VectorQuery[][]>>(async (done, index, i) => [...(await done), await loadQueries(files[i], { encoder: () => index.encoder() })], Promise.resolve([]));
}

function warnIfDisjoint(queries: number, disjoint: number): void {
  if (queries > 0 && disjoint === queries) {
    process.stderr.write(`spladex: warning: the fused indexes returned no document in common for any of the ${queries} ${queries === 1 ? 'query' : 'queries'}; fusion assumes they index the same document ids\n`);
  }
}

export type FusedOutputFormat = 'json' | 'trec' | 'table';

/** Like search's output, plus per hit the rank and score it had in each index (`sources`, json; rank columns, table). */
function formatFused(queryId: string | undefined, hits: readonly FusedHit[], sources: number, format: FusedOutputFormat, tag: string): string {
  const id = queryId ?? 'query';
  if (format === 'json') return JSON.stringify({ id, hits });
  if (format === 'trec') return hits.map((h, i) => `${id} Q0 ${h.id} ${i + 1} ${h.score.toFixed(6)} ${tag}`).join('\n');
  const header = `rank       score  ${Array.from({ length: sources }, (_, i) => `#${i + 1}`.padStart(5)).join(' ')}  id`;
  const rows = hits.map((h, i) => `${String(i + 1).padStart(4)}  ${h.score.toFixed(4).padStart(10)}  ${h.sources.map((s) => (s === null ? '-' : String(s.rank)).padStart(5)).join(' ')}  ${h.id}`);
  return [...(queryId === undefined ? [] : [`query ${queryId}`]), header, ...rows].join('\n');
}

export interface FusedSearchInput {
  dir: string;
  /** The inline query (parsed: a vector, or text), or undefined with `queries`. */
  inline: SparseVectorInput | string | undefined;
  queries: string | undefined;
  model: string | undefined;
  searchOptions: IndexSearchOptions;
  format: FusedOutputFormat;
  tag: string;
}

/** `spladex search <dir> … --fuse <dir2>`: every index answers, the lists are fused to --k. */
export async function searchFused(request: FusionRequest, input: FusedSearchInput): Promise<void> {
  if (input.inline !== undefined && request.queryFiles.length > 0) throw new SpladexError('E_OPTION', '--fuse-queries needs --queries <file> (an inline query is given to every index)');
  const dirs = [input.dir, ...request.dirs];
  const indexes = openAll(dirs, input.model, false);
  try {
    const searcher = new HybridSearcher(indexes);
    const options = { ...input.searchOptions, ...request.options };
    if (input.format === 'table') writeLine(`fused by ${request.options.method ?? FUSION_OPTIONS.defaults.method}: ${dirs.map((d, i) => `#${i + 1} = ${d}`).join(', ')}`);
    if (input.inline !== undefined) {
      const hits = typeof input.inline === 'string' ? await searcher.searchText(input.inline, options) : searcher.search(indexes.map(() => input.inline as SparseVectorInput), options);
      writeLine(formatFused(input.format === 'table' ? undefined : 'query', hits, dirs.length, input.format, input.tag));
    } else {
      const files = queryFilesOf(request, input.queries as string);
      // Checks the options before reading (and encoding) any query.
      searcher.searchBatch(indexes.map(() => []), options);
      const results = searcher.searchQueries(await loadEach(indexes, files), options, files);
      for (const result of results) writeLine(formatFused(result.id, result.hits, dirs.length, input.format, input.tag));
    }
    const { queries, disjoint } = searcher.overlap();
    warnIfDisjoint(queries, disjoint);
  } finally {
    for (const index of indexes) index.close();
  }
}

export interface FusedEvalInput {
  dir: string;
  queries: string;
  qrels: string;
  model: string | undefined;
  searchOptions: IndexSearchOptions;
  run: string | undefined;
  runTag: string;
  json: boolean;
}

function printFusedReport(report: HybridEvalReport): void {
  const f = report.fusion;
  const how = f.method === 'rrf' ? `rrf, k ${f.rrf_k}` : 'linear, min–max normalised';
  writeLine(`${report.queries} queries: ${report.indexes.length} indexes searched to depth ${f.depth} each, fused (${how}, weights ${f.weights.join(',')}) to depth ${report.k}; ${report.evaluated} judged queries evaluated${report.missing > 0 ? `, ${report.missing} of them missing from the queries (scored 0)` : ''}`);
  writeLine(`${'metric'.padEnd(8)} ${'fused'.padStart(7)} ${report.sources.map((_, i) => `#${i + 1}`.padStart(7)).join(' ')}`);
  for (const [key, field] of [['ndcgAt10', 'ndcg_at_10'], ['mrrAt10', 'mrr_at_10'], ['recallAt100', 'recall_at_100'], ['recallAt1000', 'recall_at_1000']] as const) {
    writeLine(`${METRIC_LABELS[key].padEnd(8)} ${report[field].toFixed(4).padStart(7)} ${report.sources.map((s) => s[field].toFixed(4).padStart(7)).join(' ')}`);
  }
  report.sources.forEach((s, i) => writeLine(`#${i + 1} ${s.index} (${s.mode === 'approximate' ? 'approximate' : `exact, ${s.mode}`}; alone: its top ${f.depth})`));
  writeLine(`mean search time ${report.mean_latency_ms.toFixed(3)} ms per query (every index and the fusion)`);
}

/** `spladex eval <dir> … --fuse <dir2>`: the fused run's metrics next to each index's alone. */
export async function evalFused(request: FusionRequest, input: FusedEvalInput): Promise<void> {
  const dirs = [input.dir, ...request.dirs];
  const indexes = openAll(dirs, input.model, true);
  try {
    const options = { ...input.searchOptions, ...request.options };
    const files = queryFilesOf(request, input.queries);
    const [queries, qrels] = await Promise.all([loadEach(indexes, files), readQrels(input.qrels)]);
    const { report, run } = evaluateHybrid(indexes, queries, qrels, options, files);
    if (input.run !== undefined) await writeRun(input.run, run, input.runTag);
    warnIfDisjoint(report.queries, report.disjoint_queries);
    if (input.json) {
      writeLine(JSON.stringify(input.run === undefined ? report : { ...report, run: input.run }));
      return;
    }
    printFusedReport(report);
    if (input.run !== undefined) writeLine(`run written to ${input.run}`);
  } finally {
    for (const index of indexes) index.close();
  }
}
