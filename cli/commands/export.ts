/**
 * `spladex export opensearch <dir> --url … --index …`: moves an index to an OpenSearch cluster —
 * the index with a mapping for the vectors (rank_features, or the neural-search plugin's Seismic
 * field), the stored text and typed metadata, then the live documents through the bulk API
 * (batched, retried, resumable, count-checked) — or, with `--out`, writes the mapping and the bulk
 * requests to files instead (docs/OPENSEARCH.md).
 */
import type { Command } from 'commander';
import { exportToOpenSearch, writeBulkFile, OPENSEARCH_CONNECTION_OPTIONS, OPENSEARCH_EXPORT_OPTIONS } from '../../src/opensearch/index.js';
import { SpladexError } from '../../src/index.js';
import { addTableOptions, tableOptionsFrom } from '../table-options.js';
import { action, formatCount as fmt, formatRate, progressBar, writeLine } from '../util.js';

interface ExportCliOptions {
  out?: string;
  json: boolean;
  quiet: boolean;
}

export function register(program: Command): void {
  const group = program.command('export').description('move an index to another engine: "spladex export opensearch <dir> --url … --index …"');
  const command = group
    .command('opensearch')
    .description(
      'export the live documents of an index to an OpenSearch index: a mapping for the vectors (rank_features for exact scoring, or the neural-search plugin\'s Seismic sparse_vector), the stored text and typed metadata, ' +
        'then the documents through the bulk API (batched, retried with back-off on 429/5xx, resumable from the checkpoint in the index\'s _meta, count-checked)',
    )
    .argument('<dir>', 'index directory')
    .option('--out <file.ndjson>', 'write the bulk requests to this file and the create-index body beside it (<file>.mapping.json) instead of sending them')
    .option('--json', 'print the summary as one JSON object', false)
    .option('--quiet', 'no progress bar', false);
  addTableOptions(command, OPENSEARCH_CONNECTION_OPTIONS);
  addTableOptions(command, OPENSEARCH_EXPORT_OPTIONS);
  command
    .addHelpText(
      'after',
      `
Examples:
  spladex export opensearch my-index --url http://127.0.0.1:9200 --index my-index
  spladex export opensearch my-index --url https://a:9200,https://b:9200 --index docs --shards 6 --replicas 1 --username admin --ca ca.pem
  spladex export opensearch my-index --index docs --out docs.ndjson   # then: PUT docs with docs.mapping.json, POST _bulk with docs.ndjson
  spladex search my-index --queries q.jsonl --engine opensearch --url http://127.0.0.1:9200 --index my-index

An interrupted export resumes when run again with the same index and --index; --overwrite starts over.`,
    )
    .action(
      action(async (dir: string, opts: ExportCliOptions) => {
        const connection = tableOptionsFrom(command, OPENSEARCH_CONNECTION_OPTIONS);
        const exportOptions = tableOptionsFrom(command, OPENSEARCH_EXPORT_OPTIONS);
        if (connection.index === undefined) throw new SpladexError('E_OPTION', '--index <name> is required: the OpenSearch index to create or resume');
        if (opts.out !== undefined) {
          const summary = writeBulkFile(dir, opts.out, connection.index, exportOptions);
          if (opts.json) writeLine(JSON.stringify(summary));
          else writeLine(`wrote ${fmt(summary.documents)} documents to ${summary.bulkFile} and the index body to ${summary.mappingFile}`);
          return;
        }
        const bar = progressBar(opts.quiet, '{bar} {percentage}% | {done}/{total} docs | {rate}/s | retries {retries}');
        const started = performance.now();
        let begun = false;
        try {
          const summary = await exportToOpenSearch(dir, connection, {
            ...exportOptions,
            onProgress: (p) => {
              if (!begun) {
                begun = true;
                bar?.start(Math.max(1, p.total), p.done, { done: fmt(p.done), total: fmt(p.total), rate: '0', retries: '0' });
              }
              bar?.update(p.done, { done: fmt(p.done), rate: formatRate(p.done, started), retries: String(p.retries) });
            },
          });
          bar?.stop();
          for (const field of summary.mixedTypeFields) process.stderr.write(`spladex export: warning: metadata field ${field} holds values of several types; it is mapped as keyword, so typed filters on it may differ from local search\n`);
          if (opts.json) {
            writeLine(JSON.stringify(summary));
            return;
          }
          if (summary.alreadyComplete) {
            writeLine(`OpenSearch index ${summary.index} already holds the finished export of this index (${fmt(summary.documents)} documents): nothing sent; --overwrite exports again`);
            return;
          }
          const resumed = summary.resumedFrom > 0 ? ` (resumed at ${fmt(summary.resumedFrom)})` : '';
          writeLine(`exported ${fmt(summary.documents)} documents to OpenSearch index ${summary.index}${resumed}: ${fmt(summary.sent)} sent in ${summary.seconds.toFixed(1)} s (${summary.docsPerSecond.toFixed(0)} docs/s), ${summary.retries} retries; count checked`);
        } finally {
          bar?.stop();
        }
      }),
    );
}
