/**
 * `spladex eval <dir> --queries <file> --qrels <file>`: nDCG@10, MRR@10, Recall@100 and
 * Recall@1000 against TREC qrels, and optionally the TREC run file.
 */
import type { Command } from 'commander';
import { METRIC_LABELS, loadQueries, EVAL_OPTIONS, evaluateIndex, DEFAULT_RUN_TAG, readQrels, writeRun, type EvalReport, type EvalMetrics } from '../../src/eval/index.js';
import { SpladexIndex } from '../../src/index.js';
import { textQueryEncoder } from '../query-encoder.js';
import { action, writeLine } from '../util.js';
import { addSearchOptions, searchOptionsFrom } from '../search-options.js';
import { addQueryInputOptions, QUERY_FILE_HELP, queryInputFrom } from '../query-input.js';
import { addFusionOptions, evalFused, fusionFrom } from '../fusion-options.js';
import { addEngineOptions, engineFrom, evalCluster } from '../engine-options.js';

/** The table output: which mode ran, then each metric of the run and, beside it, of exact search. */
function evalTableLines(report: EvalReport): string[] {
  const s = report.settings;
  const how = report.mode === 'approximate' ? `approximate (queryCut ${s.query_cut}, queryMass ${s.query_mass}, heapFactor ${s.heap_factor}, graphNeighbors ${s.knn})` : `exact (${report.mode})`;
  const lines = [
    `${report.queries} queries searched to depth ${report.k}, ${report.evaluated} judged queries evaluated${report.missing > 0 ? `, ${report.missing} of them missing from the queries (scored 0)` : ''}`,
    `search: ${how}`,
  ];
  const exact = report.exact;
  const columns: Array<{ title: string; m: EvalMetrics }> = report.mode === 'approximate' ? [{ title: 'approximate', m: report }] : [];
  if (exact !== null) columns.push({ title: `exact (${exact.mode})`, m: exact });
  const rows: Array<[string, (m: EvalMetrics) => string]> = [
    [METRIC_LABELS.ndcgAt10, (m) => m.ndcg_at_10.toFixed(4)],
    [METRIC_LABELS.mrrAt10, (m) => m.mrr_at_10.toFixed(4)],
    [METRIC_LABELS.recallAt100, (m) => m.recall_at_100.toFixed(4)],
    [METRIC_LABELS.recallAt1000, (m) => m.recall_at_1000.toFixed(4)],
    ['ms/query', (m) => m.mean_latency_ms.toFixed(3)],
  ];
  lines.push(`${'metric'.padEnd(11)} ${columns.map((c) => c.title.padEnd(17)).join(' ')}`.trimEnd());
  for (const [label, value] of rows) lines.push(`${label.padEnd(11)} ${columns.map((c) => value(c.m).padEnd(17)).join(' ')}`.trimEnd());
  lines.push(exact === null ? 'exact figures not computed (--no-exact-figures); approximate figures differ from what exact engines (Anserini, trec_eval runs) report' : 'exact figures are those of exhaustive scoring, as Anserini and trec_eval runs report them');
  lines.push(`qrels: ${report.qrels.found_in_index} of ${report.qrels.relevant_documents} relevant documents are in the index`);
  return lines;
}

/** The flags `eval` reads itself; the search flags are read with `searchOptionsFrom`. */
interface EvalCliOptions {
  queries: string;
  qrels: string;
  model?: string;
  run?: string;
  runTag: string;
  json: boolean;
}

export function register(program: Command): void {
  const command = addSearchOptions(program.command('eval'), EVAL_OPTIONS);
  addQueryInputOptions(command);
  command
    .description('evaluate retrieval against TREC qrels: nDCG@10, MRR@10, Recall@100, Recall@1000 of the run search would make (its mode is shown) and, when that is approximate, of exact search beside it; warns when the qrels judge documents the index lacks (E_QRELS_MISMATCH when it has none); optionally write the TREC run')
    .argument('<dir>', 'index directory')
    .requiredOption('--queries <file>', QUERY_FILE_HELP)
    .requiredOption('--qrels <file>', 'TREC qrels (qid 0 docid relevance)')
    .option('--model <dir>', "where the index's model directory is now (text queries; its checksum must match the build)")
    .option('--run <out.trec>', 'write the run (qid Q0 docid rank score tag) to this file')
    .option('--run-tag <tag>', 'run tag of the run file', DEFAULT_RUN_TAG)
    .option('--json', 'print one JSON object', false)
    .action(
      action(async (dir: string, opts: EvalCliOptions) => {
        const searchOptions = searchOptionsFrom(command, EVAL_OPTIONS);
        const input = queryInputFrom(command, dir, opts.model);
        const cluster = engineFrom(command);
        if (cluster !== undefined) return evalCluster(cluster, { dir, queries: opts.queries, qrels: opts.qrels, model: opts.model, searchOptions, run: opts.run, runTag: opts.runTag, json: opts.json, queryInput: input });
        const fusion = fusionFrom(command);
        if (fusion !== undefined) return evalFused(fusion, { dir, queries: opts.queries, qrels: opts.qrels, model: opts.model, searchOptions, run: opts.run, runTag: opts.runTag, json: opts.json });
        const encoder = textQueryEncoder(dir, opts.model);
        const [queries, qrels] = await Promise.all([loadQueries(opts.queries, { encoder: encoder.open, ...input.readOptions }).finally(encoder.dispose), readQrels(opts.qrels)]);
        const index = SpladexIndex.open(dir, { readonly: true });
        try {
          const { report, run } = evaluateIndex(index, queries, qrels, { ...searchOptions, ...input.termSpace() });
          for (const warning of report.warnings) process.stderr.write(`spladex eval: warning: ${warning}\n`);
          if (opts.run !== undefined) await writeRun(opts.run, run, opts.runTag);
          if (opts.json) {
            writeLine(JSON.stringify(opts.run === undefined ? report : { ...report, run: opts.run }));
            return;
          }
          for (const line of evalTableLines(report)) writeLine(line);
          if (opts.run !== undefined) writeLine(`run written to ${opts.run}`);
        } finally {
          index.close();
        }
      }),
    );
  addFusionOptions(command);
  addEngineOptions(command);
}
