/**
 * `spladex bench <dir> --queries <file>`: recall@k against exact search, latency, throughput,
 * memory and index size, with the exact baselines (exhaustive, MaxScore) measured in the same run;
 * `--sweep` adds a queryCut × heapFactor grid, its table and a Pareto plot.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BENCH_OPTIONS, runBench, sweepTableRows, tradeoffPoints, type BenchReport, formatSweepTable, paretoPlotSvg, formatMachine } from '../../src/bench/index.js';
import { CALIBRATED_SEARCH_OPTIONS, SpladexError } from '../../src/index.js';
import { LOAD_QUERIES_OPTIONS, loadQueries } from '../../src/eval/index.js';
import { action, formatBytes, writeLine } from '../util.js';
import { textQueryEncoder } from '../query-encoder.js';
import { addQueryInputOptions, QUERY_FILE_HELP, queryInputFrom } from '../query-input.js';
import { addSearchOptions } from '../search-options.js';
import { addTableOptions, tableOptionsFrom } from '../table-options.js';
import { addEngineOptions, benchCluster, engineFrom } from '../engine-options.js';

/** Default plot file of `--sweep` when `--plot` is not given (in the working directory). */
export const DEFAULT_PLOT_FILE = 'spladex-bench-pareto.svg';

/** The flags `bench` reads itself; the option tables' flags are read with `tableOptionsFrom`. */
interface BenchCliOptions {
  queries: string;
  model?: string;
  plot?: string;
  json: boolean;
  quiet: boolean;
}

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toFixed(3));

/** The measured setting and where it came from. */
function settingText(report: BenchReport): string {
  const s = report.settings;
  const c = report.calibration;
  const from = s.source === 'arguments' ? 'as given' : s.source === 'defaults' ? 'fixed defaults (the index has no calibration)' : `calibrated for recall@10 ${c!.target_recall} (estimated ${c!.estimated_recall?.toFixed(3) ?? '?'}, worst stratum ${c!.estimated_worst_stratum?.toFixed(3) ?? '?'}, on ${c!.queries} ${c!.source === 'given' ? 'logged' : 'pseudo-'}queries)`;
  if (s.mode !== 'approximate') return `exact search (${s.mode}): ${from}; the calibration found exact search as fast as the approximate setting meeting the target, so the index searches exactly`;
  return `queryCut ${s.query_cut}, heapFactor ${s.heap_factor}, graphNeighbors ${s.knn}: ${from}`;
}

/** Human-readable report. */
export function formatBenchReport(report: BenchReport): string {
  const l = report.latency_ms;
  const ex = report.baselines.exhaustive.latency_ms;
  const mx = report.baselines.maxscore;
  const lines = [
    `index        ${report.index} (${report.documents} documents)`,
    `queries      ${report.queries}, k = ${report.k}; ${report.scoring_kernel} scoring kernel`,
    `setting      ${settingText(report)}`,
    `recall@${report.k}    ${report.recall_at_k.toFixed(4)} against exhaustive search (tie-aware ${report.recall_at_k_tie_aware.toFixed(4)})`,
    `latency      mean ${ms(l.mean)} ms, p50 ${ms(l.p50)}, p95 ${ms(l.p95)}, p99 ${ms(l.p99)} (single thread)`,
    `throughput   ${report.qps.toFixed(0)} queries/s on ${report.threads} thread${report.threads === 1 ? '' : 's'}`,
    `exhaustive   mean ${ms(ex.mean)} ms, p50 ${ms(ex.p50)} → approximate is ${report.speedup.exhaustive_p50.toFixed(1)}× faster at p50`,
    `MaxScore     mean ${ms(mx.latency_ms.mean)} ms, p50 ${ms(mx.latency_ms.p50)} → approximate is ${report.speedup.maxscore_p50.toFixed(1)}× faster at p50 (agrees with exhaustive on ${(mx.agreement * 100).toFixed(1)}% of queries)`,
    `memory       peak RSS ${formatBytes(report.peak_rss_bytes)} serving (${formatBytes(report.peak_rss_bytes_end)} at the end); index ${formatBytes(report.index_memory_bytes.total)} in memory (forward ${formatBytes(report.index_memory_bytes.forward)}, inverted ${formatBytes(report.index_memory_bytes.inverted)}, κ-NN graph ${formatBytes(report.index_memory_bytes.graph)})`,
    `disk         ${formatBytes(report.index_bytes.total)}`,
    ...Object.entries(report.index_bytes.parts).map(([part, bytes]) => `  ${part.padEnd(16)} ${formatBytes(bytes)}`),
    `machine      ${formatMachine(report.machine)}`,
  ];
  return lines.join('\n');
}

export function register(program: Command): void {
  const command = addSearchOptions(program.command('bench'), BENCH_OPTIONS, { withExact: false });
  addTableOptions(command, LOAD_QUERIES_OPTIONS);
  addEngineOptions(command);
  addQueryInputOptions(command, { format: false });
  command
    .description('measure recall@k against exact search, latency, throughput, memory and size; exact baselines (exhaustive, MaxScore) in the same run')
    .argument('<dir>', 'index directory')
    .requiredOption('--queries <file>', `${QUERY_FILE_HELP} (text encoded once, before timing)`)
    .option('--model <dir>', "where the index's model directory is now (text queries; its checksum must match the build)")
    .option('--plot <file.svg>', `write the recall-vs-latency plot here (with --sweep, default ./${DEFAULT_PLOT_FILE})`)
    .option('--json', 'print one JSON object', false)
    .option('--quiet', 'no progress messages on stderr', false)
    .action(
      action(async (dir: string, opts: BenchCliOptions) => {
        const input = queryInputFrom(command, dir, opts.model);
        const cluster = engineFrom(command);
        if (cluster !== undefined) return benchCluster(cluster, { dir, queries: opts.queries, model: opts.model, searchOptions: tableOptionsFrom(command, BENCH_OPTIONS), json: opts.json, queryInput: input });
        const encoder = textQueryEncoder(dir, opts.model);
        const queries = await loadQueries(opts.queries, { ...tableOptionsFrom(command, LOAD_QUERIES_OPTIONS), encoder: encoder.open, vocabulary: input.vocabulary }).finally(encoder.dispose);
        if (queries.length === 0) throw new SpladexError('E_OPTION', `${opts.queries} holds no queries; a benchmark needs at least one`);
        const options = { ...tableOptionsFrom(command, BENCH_OPTIONS), ...tableOptionsFrom(command, CALIBRATED_SEARCH_OPTIONS) };
        const report: BenchReport & { plot?: string } = await runBench(dir, queries, {
          ...options,
          ...input.termSpace(),
          onProgress: opts.quiet ? undefined : (message) => process.stderr.write(`bench: ${message}\n`),
        });
        const plotFile = opts.plot ?? (options.sweep === true ? DEFAULT_PLOT_FILE : undefined);
        if (plotFile !== undefined) {
          const svg = await paretoPlotSvg(tradeoffPoints(report), { title: `Recall@${report.k} vs latency (${report.documents} documents, ${report.queries} queries)`, recallLabel: `recall@${report.k}` });
          try {
            writeFileSync(plotFile, svg);
          } catch (cause) {
            throw new SpladexError('E_IO', 'cannot write the plot; check the path', { file: plotFile, cause });
          }
          report.plot = resolve(plotFile);
        }
        if (opts.json) {
          writeLine(JSON.stringify(report));
          return;
        }
        writeLine(formatBenchReport(report));
        if (report.sweep !== undefined) {
          writeLine('');
          writeLine(formatSweepTable(sweepTableRows(report), { k: report.k }).trimEnd());
        }
        if (report.plot !== undefined) writeLine(`\nplot written to ${report.plot}`);
      }),
    );
}
