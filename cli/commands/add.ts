/**
 * `spladex add <dir> <input.jsonl>`: adds documents to an existing index as one new segment:
 * sparse vectors (default), or with `--input text` a text corpus encoded with the index's stored
 * encoder.
 */
import type { Command } from 'commander';
import { SpladexError, readDocuments, type SkippedLine, SpladexIndex, WRITE_OPTIONS, TERM_SPACE_OPTIONS, type AddSummary, type EncoderOverrides } from '../../src/index.js';
import { readCorpusStream, type CorpusRecord, ENCODER_OPTIONS } from '../../src/encode/index.js';
import { encoderStatsLines } from '../encoder-options.js';
import { addTableOptions, tableFlagsGiven, tableOptionsFrom } from '../table-options.js';
import { recalibrationLine } from '../calibration-lines.js';
import { action, choice, countingStream, formatCount as fmt, formatRate, progressBar, writeLine } from '../util.js';
import { plural } from '../plural.js';

function printAddSummary(summary: AddSummary, skippedLines: SkippedLine[], json: boolean): void {
  if (json) {
    writeLine(JSON.stringify({ ...summary, skippedLines }));
    return;
  }
  for (const s of skippedLines.slice(0, 20)) process.stderr.write(`skipped line ${s.line}: [${s.code}] ${s.message}\n`);
  if (skippedLines.length > 20) process.stderr.write(`… and ${skippedLines.length - 20} more skipped lines\n`);
  if (summary.segment === undefined) {
    writeLine(`added no documents to ${summary.path} (${summary.skipped} skipped); the index is unchanged`);
    return;
  }
  const layout = summary.segment.layout === 'flat' ? 'small, searched exhaustively' : 'Seismic index';
  writeLine(`added ${plural(summary.documents, 'document')} (${summary.replaced} replaced, ${summary.emptyDocuments} empty, ${summary.skipped} skipped) to ${summary.path} as ${summary.segment.file} (${layout})`);
  const e = summary.encoder;
  if (e !== undefined) {
    writeLine(`  encoder    ${e.label}: ${fmt(Math.round(e.stats.documentsPerSecond))} documents/s in the encoder`);
    for (const line of encoderStatsLines(e.stats, { split: '  time split ', model: '  model      ' })) writeLine(line);
  }
  const p = summary.postingPruning;
  if (p !== undefined) writeLine(`  pruning    the index's per-document cuts: postings ${fmt(p.postingsBefore)} → ${fmt(p.postingsAfter)}`);
  if (summary.idfTermsAdded !== undefined) writeLine(`  idf        ${fmt(summary.idfTermsAdded)} new term${summary.idfTermsAdded === 1 ? '' : 's'} added to the corpus IDF table (N and existing IDFs unchanged)`);
  writeLine(`  the index now holds ${plural(summary.liveDocuments, 'live document')}; time ${summary.seconds.total.toFixed(2)} s`);
  const recalibrated = recalibrationLine(summary.recalibrated);
  if (recalibrated !== undefined) writeLine(recalibrated);
}

export function register(program: Command): void {
  const command = program
    .command('add')
    .description(
      'add documents from a JSONL file to an existing index as a new segment; a document whose id is already in the index replaces it ("-" reads stdin). ' +
        "With --input text the corpus is encoded with the index's stored encoder; a lexical (BM25) index keeps its original corpus statistics (N, avgdl, IDF), new terms get an IDF from the original N",
    )
    .argument('<dir>', 'index directory')
    .argument('<input>', 'JSONL file of documents, same format as "spladex index" (vectors, or text with --input text)')
    .option('--input <kind>', "what the input holds: vectors | text (encoded with the index's stored encoder)", choice(['vectors', 'text'] as const), 'vectors');
  addTableOptions(command, ENCODER_OPTIONS, { only: ['model', 'batchSize'], prefix: '(--input text) ', help: { model: "where the index's model directory is now (its checksum must match the build)" } });
  addTableOptions(command, TERM_SPACE_OPTIONS, {
    prefix: '(vectors) ',
    help: { termSpace: "term space of the documents' vectors, e.g. wordpiece:bert-base-uncased; refused when the index's differs (default: judged by content)", allowTermSpaceMismatch: "add vectors of another term space than the index's anyway" },
  });
  addTableOptions(command, WRITE_OPTIONS, { help: { threads: 'build threads (and, with --input text when given, onnxruntime threads)' } })
    .option('--skip-invalid', 'skip invalid lines and report them instead of stopping at the first', false)
    .option('--json', 'print the summary as one JSON object', false)
    .option('--quiet', 'no progress bar', false);
  command.action(
    action(async (dir: string, input: string, opts: Record<string, unknown>) => {
      const text = opts.input === 'text';
      const textOnly = tableFlagsGiven(command, ENCODER_OPTIONS);
      if (!text && textOnly.length > 0) throw new SpladexError('E_OPTION', `${textOnly[0]} applies to --input text (the input here is vectors)`);
      const vectorsOnly = tableFlagsGiven(command, TERM_SPACE_OPTIONS);
      if (text && vectorsOnly.length > 0) throw new SpladexError('E_OPTION', `${vectorsOnly[0]} applies to vectors: text is encoded by the index's own encoder, in its term space`);
      const write = tableOptionsFrom(command, WRITE_OPTIONS);
      const encoder: EncoderOverrides = tableOptionsFrom(command, ENCODER_OPTIONS);
      if (write.threads !== undefined) encoder.threads = write.threads;
      const index = SpladexIndex.openWriter(dir, { writerName: `spladex add ${input}`, encoder });
      const source = countingStream(input);
      const bar = progressBar(Boolean(opts.quiet), '{bar} {percentage}% | {docs} docs | {rate} docs/s | {phase}');
      const started = performance.now();
      let count = 0;
      bar?.start(Math.max(1, source.size), 0, { docs: 0, rate: '0', phase: text ? 'encode + ingest' : 'ingest' });
      const skippedLines: SkippedLine[] = [];
      const onSkip = (s: SkippedLine): void => {
        skippedLines.push(s);
      };
      const tick = (phase: string): void => bar?.update(source.size > 0 ? source.bytesRead() : 0, { docs: fmt(count), rate: formatRate(count, started), phase });
      try {
        const options = {
          ...write,
          ...tableOptionsFrom(command, TERM_SPACE_OPTIONS),
          skipInvalid: Boolean(opts.skipInvalid),
          onSkip,
          sourceLabel: input,
          onProgress: (p: { phase: string; documents: number }) => {
            count = Math.max(count, p.documents);
            tick(p.phase === 'ingest' && text ? 'encode + ingest' : p.phase);
          },
        };
        const records = async function* (): AsyncGenerator<CorpusRecord> {
          for await (const record of readCorpusStream(source.stream as AsyncIterable<Buffer>, input, { skipInvalid: Boolean(opts.skipInvalid), onSkip })) {
            if (++count % 256 === 0) tick('encode + ingest');
            yield record;
          }
        };
        const summary = text
          ? await index.addText(records(), options)
          : await index.add(readDocuments(source.stream, { skipInvalid: Boolean(opts.skipInvalid), onSkip, label: input }), options);
        bar?.stop();
        // Lines rejected while parsing never reach the builder: count every skip here.
        summary.skipped = skippedLines.length;
        printAddSummary(summary, skippedLines, Boolean(opts.json));
      } finally {
        bar?.stop();
        index.close();
      }
    }),
  );
}
