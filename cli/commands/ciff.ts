/**
 * `spladex export-ciff <dir> --out <file.ciff>` and `spladex import-ciff <file.ciff> <dir>`: the
 * Common Index File Format (PISA, Anserini/Lucene, Terrier), streamed both ways. Learned weights
 * travel as integer impacts, tf = round(weight × scale), with the scale in the header's
 * description so an import undoes it (docs/CIFF.md).
 */
import type { Command } from 'commander';
import { BUILD_OPTIONS, CIFF_EXPORT_OPTIONS, CIFF_IMPORT_OPTIONS, exportCiff, importCiff, POSTING_PRUNING_OPTIONS, type CiffImportSummary } from '../../src/index.js';
import { addTableOptions, tableOptionsFrom } from '../table-options.js';
import { action, formatBytes, formatCount as fmt, formatRate, progressBar, writeLine } from '../util.js';
import { printBuildSummary } from './index.js';

interface ExportCliOptions {
  out: string;
  json: boolean;
  quiet: boolean;
}

interface ImportCliOptions {
  overwrite: boolean;
  json: boolean;
  quiet: boolean;
}

export function register(program: Command): void {
  registerExport(program);
  registerImport(program);
}

function registerExport(program: Command): void {
  const command = program
    .command('export-ciff')
    .description(
      "write an index's live documents as a CIFF file (Common Index File Format v1: PISA, Anserini, Terrier), from the full stored vectors; " +
        'weights become integer impacts tf = round(weight × scale), the scale recorded in the header. Streams: memory does not grow with the collection',
    )
    .argument('<dir>', 'index directory')
    .requiredOption('--out <file>', 'CIFF file to write (atomically: a temporary file beside it, then a rename)')
    .option('--json', 'print the summary as one JSON object', false)
    .option('--quiet', 'no progress bar', false);
  addTableOptions(command, CIFF_EXPORT_OPTIONS);
  command
    .addHelpText(
      'after',
      `
Stored text and metadata are not part of CIFF and are not exported; deleted documents are skipped
and the live ones numbered 0 … n−1 in index order, their ids in the document records.

Examples:
  spladex export-ciff my-index --out my-index.ciff
  spladex export-ciff my-index --out my-index.ciff --quantize-bits 8
  ciff2pisa --ciff-file my-index.ciff --output pisa/my-index      # PISA's converter reads it`,
    )
    .action(
      action(async (dir: string, opts: ExportCliOptions) => {
        const bar = progressBar(opts.quiet, '{bar} {percentage}% | {done}/{total} {unit} | {rate}/s | {phase}');
        const started = performance.now();
        let phase = '';
        try {
          const summary = await exportCiff(dir, opts.out, {
            ...tableOptionsFrom(command, CIFF_EXPORT_OPTIONS),
            onProgress: (p) => {
              if (p.phase !== phase) {
                phase = p.phase;
                bar?.stop();
                bar?.start(Math.max(1, p.total), 0, { done: '0', total: fmt(p.total), unit: p.phase === 'write' ? 'lists' : 'docs', rate: '0', phase });
              }
              bar?.update(p.done, { done: fmt(p.done), rate: formatRate(p.done, started), phase });
            },
          });
          bar?.stop();
          if (opts.json) {
            writeLine(JSON.stringify(summary));
            return;
          }
          writeLine(`exported ${fmt(summary.documents)} documents to ${summary.path} (${formatBytes(summary.bytes)})`);
          writeLine(`  postings   ${fmt(summary.postings)} in ${fmt(summary.postingsLists)} lists; ${fmt(summary.droppedPostings)} weights below 0.5 / scale dropped`);
          writeLine(`  impacts    tf = round(weight × ${summary.scale}), each weight within ${summary.maxWeightError.toPrecision(3)} (impact-scale in the header)`);
          writeLine(`  time       ${summary.seconds.toFixed(2)} s`);
        } finally {
          bar?.stop();
        }
      }),
    );
}

function registerImport(program: Command): void {
  const command = program
    .command('import-ciff')
    .description(
      'build an index from a CIFF file (Common Index File Format v1: PISA, Anserini, Terrier): weights = tf / scale, the scale from the header of a spladex export (impact-scale=…) unless --scale is given; ' +
        "each document's id is its DocRecord's collection_docid. Streams: postings are inverted through sorted runs on disk",
    )
    .argument('<file>', 'CIFF file')
    .argument('<dir>', 'index directory to create')
    .option('--overwrite', 'replace an existing index at <dir>', false)
    .option('--json', 'print the build summary as one JSON object', false)
    .option('--quiet', 'no progress bar', false);
  addTableOptions(command, CIFF_IMPORT_OPTIONS);
  addTableOptions(command, POSTING_PRUNING_OPTIONS);
  addTableOptions(command, BUILD_OPTIONS);
  command
    .addHelpText(
      'after',
      `
A CIFF file of a term-frequency index (Anserini's BM25 exports) imports its raw tf as the weights;
Pyserini's SPLADE impact indexes use --scale 100. Document lengths are not kept.

Examples:
  spladex import-ciff my-index.ciff my-index-again
  spladex import-ciff anserini-splade.ciff splade-index --scale 100
  pisa2ciff -c pisa/coll -t pisa/coll.terms -d pisa/coll.documents -o coll.ciff && spladex import-ciff coll.ciff coll-index`,
    )
    .action(
      action(async (file: string, dir: string, opts: ImportCliOptions) => {
        const bar = progressBar(opts.quiet, '{bar} {percentage}% | {docs} docs | {rate} docs/s | {phase}');
        const started = performance.now();
        let building = false;
        bar?.start(1000, 0, { docs: 0, rate: '0', phase: 'invert postings' });
        let summary: CiffImportSummary;
        try {
          summary = await importCiff(file, dir, {
            ...tableOptionsFrom(command, CIFF_IMPORT_OPTIONS),
            ...tableOptionsFrom(command, POSTING_PRUNING_OPTIONS),
            ...tableOptionsFrom(command, BUILD_OPTIONS),
            overwrite: opts.overwrite,
            onProgress: (p) => {
              if (p.phase === 'read') bar?.update(Math.round((1000 * p.bytes) / Math.max(1, p.totalBytes)), { docs: '0', rate: '0', phase: 'invert postings' });
              else {
                if (!building) {
                  building = true;
                  bar?.update(1000);
                }
                bar?.update(1000, { docs: fmt(p.documents), rate: formatRate(p.documents, started), phase: p.phase });
              }
            },
          });
        } finally {
          bar?.stop();
        }
        const { ciff, ...build } = summary;
        if (opts.json) {
          writeLine(JSON.stringify(summary));
          return;
        }
        const from = ciff.scaleSource === 'header' ? "the header's impact-scale" : ciff.scaleSource === 'option' ? '--scale' : 'no scale recorded: raw tf';
        writeLine(`read ${fmt(ciff.postings)} postings in ${fmt(ciff.postingsLists)} lists from ${ciff.file}; weights = tf / ${ciff.scale} (${from})`);
        printBuildSummary(build, [], false);
      }),
    );
}
