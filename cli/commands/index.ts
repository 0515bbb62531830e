/**
 * `spladex index <input.jsonl> --out <dir>`: builds an index from sparse-vector JSONL (default), or
 * with `--input text` from a text corpus, encoding while indexing (the encoder is stored with the
 * index, so `spladex search <dir> "free text"` encodes queries the same way). Optional index-time
 * posting pruning: `--flops-budget`, `--max-terms-per-doc`, `--min-weight`.
 */
import type { Command } from 'commander';
import { readCorpusStream, type CorpusRecord, type EncoderKind } from '../../src/encode/index.js';
import { ENCODER_OPTIONS } from '../../src/encode/index.js';
import { SpladexError, BUILD_OPTIONS, POSTING_PRUNING_OPTIONS, TERM_SPACE_OPTIONS, readDocuments, type SkippedLine, buildTextIndex, type TextCorpusSource, buildIndex, type BuildSummary, type IndexBuildOptions } from '../../src/index.js';
import { addEncoderOptions, encoderOptionsFrom, encoderStatsLines, KINDS_HELP, LEXICAL_LABEL } from '../encoder-options.js';
import { addTableOptions, tableFlagsGiven, tableOptionsFrom } from '../table-options.js';
import { calibrationLines } from '../calibration-lines.js';
import { action, choice, countingStream, formatBytes, formatCount as fmt, formatRate, formatSeconds as sec, progressBar, writeLine } from '../util.js';
import { plural } from '../plural.js';

/** `index` has its own --threads (build) and posting pruning flags instead of encode's --top-k / --min-weight. */
const ENCODER_FLAGS = { threads: false, documentPruning: false } as const;

export function printBuildSummary(summary: BuildSummary, skippedLines: SkippedLine[], json: boolean): void {
  if (json) {
    writeLine(JSON.stringify({ ...summary, skippedLines }));
    return;
  }
  for (const s of skippedLines.slice(0, 20)) process.stderr.write(`skipped line ${s.line}: [${s.code}] ${s.message}\n`);
  if (skippedLines.length > 20) process.stderr.write(`… and ${skippedLines.length - 20} more skipped lines\n`);
  writeLine(`indexed ${plural(summary.documents, 'document')} (${summary.emptyDocuments} empty, ${summary.skipped} skipped) into ${summary.path}`);
  const e = summary.encoder;
  if (e !== undefined) {
    writeLine(`  encoder    ${e.label}${e.model === null ? '' : ` (${e.model.dir}/${e.model.file}, sha256 ${e.model.sha256.slice(0, 12)}…)`}`);
    const wall = summary.seconds.ingest > 0 ? summary.documents / summary.seconds.ingest : 0;
    writeLine(`  throughput ${fmt(Math.round(e.stats.documentsPerSecond))} documents/s in the encoder, ${fmt(Math.round(wall))}/s wall (reading and indexing included)`);
    if (e.corpusStats !== null) writeLine(`  corpus     ${fmt(e.corpusStats.documents)} documents, average length ${e.corpusStats.averageLength.toFixed(1)} terms (first pass, ${sec(e.seconds.statistics)})`);
    for (const line of encoderStatsLines(e.stats, { split: '  time split ', model: '  model      ' })) writeLine(line);
  }
  const p = summary.postingPruning;
  if (p !== undefined) {
    const o = p.options;
    const rules = [o.flopsBudget > 0 ? `FLOPS budget ${o.flopsBudget}` : '', o.maxTermsPerDoc > 0 ? `max ${o.maxTermsPerDoc} terms per document` : '', o.minWeight > 0 ? `min weight ${o.minWeight}` : '']
      .filter((r) => r !== '')
      .join(', ');
    writeLine(`  pruning    ${rules}; IDF from ${p.idf === 'corpus' ? 'the corpus (BM25)' : p.idf === 'file' ? 'an idf.json' : 'a table'}`);
    writeLine(`  FLOPS      ${p.flopsBefore.toFixed(3)} → ${p.flopsAfter.toFixed(3)} expected multiply-adds per query (p_q = p_d)`);
    writeLine(`  postings   ${fmt(p.postingsBefore)} → ${fmt(p.postingsAfter)} (${p.postingsPerDocumentBefore.toFixed(1)} → ${p.postingsPerDocumentAfter.toFixed(1)} per document)`);
  }
  writeLine(`  vocabulary ${plural(summary.vocabularySize, 'term')}, ${plural(summary.postings, 'posting')}, ${summary.keptPostings} kept after static pruning, ${plural(summary.blocks, 'block')}`);
  writeLine(`  size ${formatBytes(summary.bytes.total)} on disk`);
  if (summary.calibration !== undefined) for (const line of calibrationLines(summary.calibration)) writeLine(`  ${line}`);
  const s = summary.seconds;
  const statistics = e !== undefined && e.seconds.statistics > 0 ? `statistics ${e.seconds.statistics.toFixed(2)}, ` : '';
  const ingest = e !== undefined ? `ingest ${s.ingest.toFixed(2)} (encode ${e.seconds.encode.toFixed(2)})` : `ingest ${s.ingest.toFixed(2)}`;
  const pruning = p !== undefined ? `, posting pruning ${p.seconds.toFixed(2)}` : '';
  writeLine(`  time ${s.total.toFixed(2)} s (${statistics}${ingest}${pruning}, prune ${s.prune.toFixed(2)}, blocks ${s.blocks.toFixed(2)}, κ-NN graph ${s.knn.toFixed(2)}${s.calibrate === undefined ? '' : `, calibration ${s.calibrate.toFixed(2)}`}, write ${s.write.toFixed(2)})`);
}

/** The flags `index` reads itself; the option tables' flags are read with `tableOptionsFrom`. */
interface IndexCliOptions {
  out: string;
  input: 'vectors' | 'text';
  idf?: string;
  calibrationQueries?: string;
  vocab?: string;
  skipInvalid: boolean;
  overwrite: boolean;
  json: boolean;
  quiet: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('index')
    .description(
      'build an index from a JSONL file of sparse vectors ({"id", "vector": {token: weight}, "content"?, "metadata"?}), ' +
        'or with --input text from a text corpus ({"_id"|"id", "title"?, "text"|"contents", "metadata"?}) encoded while indexing: ' +
        `with --model the kind is splade (or inference-free), without a model it is ${LEXICAL_LABEL}; the encoder is stored with the index. "-" reads stdin`,
    )
    .argument('<input>', 'JSONL file of documents (vectors, or text with --input text)')
    .requiredOption('--out <dir>', 'index directory to create')
    .option('--input <kind>', 'what the input holds: vectors | text (encoded while indexing; see the encoder options)', choice(['vectors', 'text'] as const), 'vectors')
    .option(
      '--calibration-queries <file>',
      'a query log to calibrate the recall target on (JSONL query vectors, {"indices", "values"} lines with their vocabulary given by --vocab; query text with --input text), instead of pseudo-queries drawn from the collection',
    )
    .option('--skip-invalid', 'skip invalid lines and report them instead of stopping at the first', false)
    .option('--overwrite', 'replace an existing index at --out', false)
    .option('--json', 'print the build summary as one JSON object', false)
    .option('--quiet', 'no progress bar', false);
  addTableOptions(command, POSTING_PRUNING_OPTIONS);
  addTableOptions(command, BUILD_OPTIONS);
  addTableOptions(command, TERM_SPACE_OPTIONS, {
    only: ['termSpace'],
    defaultText: { termSpace: 'custom' },
    help: {
      termSpace:
        "(vectors) the vectors' term space, recorded so that queries and added documents of another space are refused, e.g. wordpiece:bert-base-uncased for a BERT-vocabulary SPLADE model (custom: never checked); --input text records its encoder's",
    },
  });
  addEncoderOptions(command, {
    ...ENCODER_FLAGS,
    idf:
      'IDF table (token → idf) of pruning values weight × idf; stored with the index. Vectors and splade: default BM25 IDF of the corpus; ' +
      "inference-free: also the query IDF (default <model>/idf.json); lexical: always the corpus's BM25 IDF",
    prefix: '(--input text) ',
  });
  command
    .addHelpText(
      'after',
      `
--threads is the build's thread count and, with --input text when given, also the model's onnxruntime
thread count (default: one per physical core while encoding).

${KINDS_HELP}

Examples:
  spladex index vectors.jsonl --out my-index
  spladex index corpus.jsonl --out bm25-index --input text
  spladex index corpus.jsonl --out splade-index --input text --model models/splade-v3 --flops-budget 5
  spladex index vectors.jsonl --out my-index --target-recall 0.97 --calibration-queries query-log.jsonl
  spladex search splade-index "what causes sleep loss"`,
    )
    .action(action((input: string, opts: IndexCliOptions) => runIndex(input, opts, command)));
}

async function runIndex(input: string, opts: IndexCliOptions, command: Command): Promise<void> {
  const skippedLines: SkippedLine[] = [];
  const onSkip = (s: SkippedLine): void => {
    skippedLines.push(s);
  };
  const options: IndexBuildOptions = {
    ...tableOptionsFrom(command, BUILD_OPTIONS),
    ...tableOptionsFrom(command, POSTING_PRUNING_OPTIONS),
    ...tableOptionsFrom(command, TERM_SPACE_OPTIONS),
    overwrite: opts.overwrite,
    skipInvalid: opts.skipInvalid,
    ...(opts.calibrationQueries === undefined ? {} : { calibrationQueries: opts.calibrationQueries }),
    ...(opts.vocab === undefined ? {} : { calibrationVocabulary: opts.vocab }),
    onSkip,
    sourceLabel: input,
  };
  let summary: BuildSummary;
  if (opts.input === 'vectors') {
    // --vocab also maps the token ids of a calibration query log's {"indices", "values"} lines.
    const textOnly = tableFlagsGiven(command, ENCODER_OPTIONS).filter((flag) => !(flag === '--vocab' && opts.calibrationQueries !== undefined));
    if (textOnly.length > 0) throw new SpladexError('E_OPTION', `${textOnly[0]} is an encoder option: it applies to --input text (the input here is vectors)`);
    if (opts.idf !== undefined) options.idf = opts.idf;
    const source = countingStream(input);
    const bar = progressBar(opts.quiet, '{bar} {percentage}% | {docs} docs | {rate} docs/s | {phase}');
    const started = performance.now();
    bar?.start(Math.max(1, source.size), 0, { docs: 0, rate: '0', phase: 'ingest' });
    try {
      summary = await buildIndex(readDocuments(source.stream, { skipInvalid: opts.skipInvalid, onSkip, label: input }), opts.out, {
        ...options,
        onProgress: (p) => bar?.update(source.size > 0 ? source.bytesRead() : 0, { docs: fmt(p.documents), rate: formatRate(p.documents, started), phase: p.phase }),
      });
    } finally {
      bar?.stop();
    }
  } else {
    summary = await indexText(input, opts, options, command);
  }
  // Lines rejected while parsing never reach the builder: count every skip here.
  skippedLines.sort((a, b) => a.line - b.line);
  summary.skipped = skippedLines.length;
  printBuildSummary(summary, skippedLines, opts.json);
}

/** `--input text`: the corpus streams through the encoder into the index (twice for two-pass encoders). */
async function indexText(input: string, opts: IndexCliOptions, options: IndexBuildOptions, command: Command): Promise<BuildSummary> {
  const encoder = encoderOptionsFrom(command);
  const kind = encoder.kind as EncoderKind;
  // One --threads: the build's, and the model's when given (else the encoder's own default).
  if (options.threads !== undefined) encoder.threads = options.threads;
  if (opts.idf !== undefined) {
    if (kind === 'lexical') throw new SpladexError('E_OPTION', "--idf does not apply to the lexical kind: its BM25 weights and pruning values use the corpus's IDF");
    if (kind === 'inference-free') encoder.idf = opts.idf;
    else options.idf = opts.idf;
  }
  const bar = progressBar(opts.quiet, '{bar} {percentage}% | {docs} docs | {rate} docs/s | {phase}');
  let bytesRead = (): number => 0;
  let count = 0;
  let passStarted = performance.now();
  let phase = 'encode + ingest';
  let twoPass = false;
  // After ingestion the rate of the encoding pass stays on the bar.
  let finalRate: string | undefined;
  const tick = (): void => bar?.update(bytesRead(), { docs: fmt(count), rate: finalRate ?? formatRate(count, passStarted), phase });
  // Both passes of a two-pass encoder meet the same bad lines: report each once.
  const reported = new Set<number>();
  const read = {
    skipInvalid: opts.skipInvalid,
    onSkip: (s: SkippedLine): void => {
      if (reported.has(s.line)) return;
      reported.add(s.line);
      options.onSkip?.(s);
    },
  };
  // A file is read once per pass, each time through a fresh counting stream (for the progress bar).
  const corpus: TextCorpusSource =
    input === '-'
      ? readCorpusStream(process.stdin, '<stdin>', read)
      : () => {
          const source = countingStream(input);
          bytesRead = source.bytesRead;
          count = 0;
          passStarted = performance.now();
          bar?.stop();
          bar?.start(Math.max(1, source.size), 0, { docs: 0, rate: '0', phase });
          return (async function* (): AsyncGenerator<CorpusRecord> {
            try {
              for await (const record of readCorpusStream(source.stream as AsyncIterable<Buffer>, input, read)) {
                if (++count % 256 === 0) tick();
                yield record;
              }
              tick();
            } finally {
              source.stream.destroy();
            }
          })();
        };
  try {
    return await buildTextIndex(corpus, opts.out, {
      ...options,
      encoder,
      onProgress: (p) => {
        if (p.phase === 'statistics') {
          twoPass = true;
          phase = 'pass 1/2: corpus statistics';
        } else if (p.phase === 'ingest') {
          // The pass's fresh bar starts when the corpus is opened again.
          phase = twoPass ? 'pass 2/2: encode + ingest' : 'encode + ingest';
          return;
        } else {
          finalRate ??= formatRate(count, passStarted);
          phase = p.phase;
        }
        tick();
      },
    });
  } finally {
    bar?.stop();
  }
}

