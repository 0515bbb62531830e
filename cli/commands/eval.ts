/**
 * `spladex eval <dir> --queries <file> --qrels <file>`: nDCG@10, MRR@10, Recall@100 and
 * Recall@1000 against TREC qrels, and optionally the TREC run file.
 */
import type { Command } from 'commander';
import { METRIC_LABELS, loadQueries, EVAL_OPTIONS, evaluateIndex, DEFAULT_RUN_TAG, readQrels, writeRun } from '../../src/eval/index.js';
import { SpladexIndex } from '../../src/index.js';
import { textQueryEncoder } from '../query-encoder.js';
import { action, writeLine } from '../util.js';
import { addSearchOptions, searchOptionsFrom } from '../search-options.js';

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
  command
    .description('evaluate retrieval against TREC qrels: nDCG@10, MRR@10, Recall@100, Recall@1000; optionally write the TREC run')
    .argument('<dir>', 'index directory')
    .requiredOption('--queries <file>', 'JSONL file of queries: {"id", "vector": {token: weight}} lines, or {"_id"|"id", "text"} lines on an index built from text')
    .requiredOption('--qrels <file>', 'TREC qrels (qid 0 docid relevance)')
    .option('--model <dir>', "where the index's model directory is now (text queries; its checksum must match the build)")
    .option('--run <out.trec>', 'write the run (qid Q0 docid rank score tag) to this file')
    .option('--run-tag <tag>', 'run tag of the run file', DEFAULT_RUN_TAG)
    .option('--json', 'print one JSON object', false)
    .action(
      action(async (dir: string, opts: EvalCliOptions) => {
        const searchOptions = searchOptionsFrom(command, EVAL_OPTIONS);
        const encoder = textQueryEncoder(dir, opts.model);
        const [queries, qrels] = await Promise.all([loadQueries(opts.queries, { encoder: encoder.open }).finally(encoder.dispose), readQrels(opts.qrels)]);
        const index = SpladexIndex.open(dir, { readonly: true });
        try {
          const { report, run } = evaluateIndex(index, queries, qrels, searchOptions);
          if (opts.run !== undefined) await writeRun(opts.run, run, opts.runTag);
          if (opts.json) {
            writeLine(JSON.stringify(opts.run === undefined ? report : { ...report, run: opts.run }));
            return;
          }
          const how =
            report.mode === 'approximate'
              ? `approximate, queryCut ${report.settings.query_cut}, heapFactor ${report.settings.heap_factor}, graphNeighbors ${report.settings.knn}`
              : `exact (${report.mode})`;
          writeLine(`${report.queries} queries searched to depth ${report.k} (${how}), ${report.evaluated} judged queries evaluated${report.missing > 0 ? `, ${report.missing} of them missing from the queries (scored 0)` : ''}`);
          writeLine(`${METRIC_LABELS.ndcgAt10.padEnd(8)} ${report.ndcg_at_10.toFixed(4)}`);
          writeLine(`${METRIC_LABELS.mrrAt10.padEnd(8)} ${report.mrr_at_10.toFixed(4)}`);
          writeLine(`${METRIC_LABELS.recallAt100.padEnd(8)} ${report.recall_at_100.toFixed(4)}`);
          writeLine(`${METRIC_LABELS.recallAt1000.padEnd(8)} ${report.recall_at_1000.toFixed(4)}`);
          writeLine(`mean search time ${report.mean_latency_ms.toFixed(3)} ms per query`);
          if (opts.run !== undefined) writeLine(`run written to ${opts.run}`);
        } finally {
          index.close();
        }
      }),
    );
}
