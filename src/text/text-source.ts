/**
 * Text corpora feeding an index: the accepted document shapes, reading them from a file or from
 * the library, the encoder's first pass (corpus statistics) and the stream of encoded documents a
 * segment build consumes. Shared by `buildTextIndex` and `SpladexIndex.addText`.
 *
 * Everything streams: the corpus is read once per pass, encoded in chunks, and each encoded
 * document goes straight into the forward index; no pass holds the corpus in memory.
 */
import { SpladexError } from '../errors.js';
import { collectCorpusStats, encodeCorpus, parseCorpusObject, readCorpusJsonl, type CorpusRecord, type ReadCorpusOptions } from '../encode/corpus.js';
import type { Encoder, EncoderOptions, EncoderStats } from '../encode/encoder.js';
import type { CorpusStats } from '../encode/lexical.js';
import type { EncoderKind } from '../encode/spec.js';
import { validateDocument, type ParsedDocument } from '../io/documents.js';
import type { BuildProgress } from '../segment/ingest.js';
import type { StoredIdf } from './encoder-store.js';

/**
 * One text document: BEIR (`_id`, `title`, `text`), Pyserini (`id`, `contents`) or plain JSONL, with
 * an optional `metadata` object stored with the document. The indexed text — and the stored
 * content — is `title + " " + text`; the title is also stored as metadata `title`.
 */
export interface TextDocumentInput {
  id?: string | number;
  _id?: string | number;
  title?: string | null;
  text?: string;
  contents?: string;
  metadata?: Record<string, unknown> | null;
  /** Line number used in error messages (set by the file reader). Default: the document's position. */
  line?: number;
}

/**
 * A text corpus: a JSONL file path, an array of documents, or a function returning a fresh
 * (async) iterable each time it is called. Encoders that need corpus statistics (lexical, and
 * inference-free without an IDF table) read the corpus twice, so a bare one-shot iterable (a
 * generator, a stream) is accepted only for one-pass encoders.
 */
export type TextCorpusSource =
  | string
  | readonly TextDocumentInput[]
  | Iterable<TextDocumentInput>
  | AsyncIterable<TextDocumentInput>
  | (() => Iterable<TextDocumentInput> | AsyncIterable<TextDocumentInput>);

/** The encoder part of a build or add summary. */
export interface EncoderBuildReport {
  kind: EncoderKind;
  /** e.g. "lexical (BM25), not a learned model". */
  label: string;
  /** The model file and its checksum (null for lexical). */
  model: { dir: string; file: string; sha256: string } | null;
  /** The first pass's statistics (lexical; inference-free without IDF table); null for one-pass encoders. */
  corpusStats: CorpusStats | null;
  /** Throughput (`documentsPerSecond`) and the tokenize / model / pool time split. */
  stats: EncoderStats;
  /** Seconds of the first pass (corpus statistics) and of encoding (inside the ingest time). */
  seconds: { statistics: number; encode: number };
}

/** The kind an encoder option set means: `kind`, else splade with a model and lexical (BM25) without. */
export function defaultEncoderKind(options: EncoderOptions): EncoderKind {
  return options.kind ?? (options.model === undefined ? 'lexical' : 'splade');
}

/** The IDF table of an encoder, as the index stores it (null for splade). */
export function encoderIdf(encoder: Encoder): StoredIdf | undefined {
  const table = encoder.idfTable();
  if (table === null) return undefined;
  const spec = encoder.spec;
  const source = spec.query.idfSource;
  if (source?.type === 'file') return { source: { type: 'file', file: source.file, sha256: source.sha256 }, table };
  if (source?.type === 'table') return { source: { type: 'table' }, table };
  return { source: { type: 'corpus', formula: 'bm25', documents: spec.corpusStats?.documents ?? 0 }, table };
}

function isReiterable(source: TextCorpusSource): boolean {
  return typeof source === 'string' || typeof source === 'function' || Array.isArray(source);
}

/** Validated records of a corpus source, one pass. */
async function* textRecords(source: TextCorpusSource, label: string, read: ReadCorpusOptions = {}): AsyncGenerator<CorpusRecord> {
  if (typeof source === 'string') {
    yield* readCorpusJsonl(source, read);
    return;
  }
  const items = typeof source === 'function' ? source() : source;
  let ordinal = 0;
  for await (const item of items as AsyncIterable<TextDocumentInput>) {
    ordinal++;
    const line = typeof item?.line === 'number' && Number.isInteger(item.line) && item.line > 0 ? item.line : ordinal;
    let record: CorpusRecord;
    try {
      record = parseCorpusObject(item, { file: label, line });
    } catch (error) {
      if (!read.skipInvalid || !(error instanceof SpladexError)) throw error;
      read.onSkip?.({ line, code: error.code, message: error.message });
      continue;
    }
    yield record;
  }
}

export interface TextPassOptions {
  /** Name of the corpus in error messages. */
  label: string;
  /** Documents per encoder call. */
  chunkSize: number;
  skipInvalid?: boolean;
  /** Lines skipped while reading (second pass only: the first pass skips the same lines silently). */
  onSkip?: (skipped: { line: number; code: string; message: string }) => void;
  /**
   * Progress: `statistics` when the first pass starts and every 10,000 of its documents, `ingest`
   * (0 documents) when the encoded stream starts; the build reports the rest.
   */
  onProgress?: (progress: BuildProgress) => void;
}

/**
 * Runs the encoder's first pass when it needs corpus statistics, then returns the stream of encoded
 * documents (validated, with their line numbers) for a segment build, and a report to read when
 * the stream is finished.
 */
async function encodeTextCorpus(encoder: Encoder, corpus: TextCorpusSource, options: TextPassOptions): Promise<{ documents: AsyncGenerator<ParsedDocument>; report: () => EncoderBuildReport }> {
  let statistics = 0;
  let corpusStats: CorpusStats | null = null;
  if (encoder.needsCorpusStats) {
    if (!isReiterable(corpus)) {
      throw new SpladexError(
        'E_OPTION',
        `the ${encoder.kind === 'lexical' ? 'lexical encoder (BM25, not a learned model)' : `${encoder.kind} encoder without an IDF table`} reads the corpus twice (corpus statistics, then vectors); ` +
          'give the corpus as a file path, an array, or a function returning a fresh iterable',
      );
    }
    const started = performance.now();
    options.onProgress?.({ phase: 'statistics', documents: 0, postings: 0 });
    let count = 0;
    const counted = async function* (records: AsyncIterable<CorpusRecord>): AsyncGenerator<CorpusRecord> {
      for await (const record of records) {
        if (++count % 10_000 === 0) options.onProgress?.({ phase: 'statistics', documents: count, postings: 0 });
        yield record;
      }
    };
    corpusStats = await collectCorpusStats(encoder, counted(textRecords(corpus, options.label, { skipInvalid: options.skipInvalid ?? false })), { chunkSize: options.chunkSize });
    statistics = (performance.now() - started) / 1000;
  }
  const read: ReadCorpusOptions = { skipInvalid: options.skipInvalid ?? false };
  if (options.onSkip !== undefined) read.onSkip = options.onSkip;
  const label = options.label;
  const documents = async function* (): AsyncGenerator<ParsedDocument> {
    options.onProgress?.({ phase: 'ingest', documents: 0, postings: 0 });
    let ordinal = 0;
    for await (const doc of encodeCorpus(encoder, textRecords(corpus, label, read), { chunkSize: options.chunkSize })) {
      ordinal++;
      const line = doc.line ?? ordinal;
      const raw: Record<string, unknown> = { id: doc.id, vector: doc.vector, content: doc.content };
      // A BEIR title is part of the indexed content and is also kept on its own, as metadata
      // `title` (unless the line's metadata has one), so `--fields title` shows it.
      const metadata = doc.title === undefined || doc.metadata?.title !== undefined ? doc.metadata : { title: doc.title, ...doc.metadata };
      if (metadata !== undefined) raw.metadata = metadata;
      // Validated like a vector line (id length, weights), and skipped like one.
      let parsed: ParsedDocument;
      try {
        parsed = Object.assign(validateDocument(raw, { file: label, line }), { line });
      } catch (error) {
        if (!read.skipInvalid || !(error instanceof SpladexError)) throw error;
        read.onSkip?.({ line, code: error.code, message: error.message });
        continue;
      }
      yield parsed;
    }
  };
  const report = (): EncoderBuildReport => {
    const spec = encoder.spec;
    const stats = encoder.stats;
    return {
      kind: encoder.kind,
      label: encoder.label,
      model: spec.model === null ? null : { dir: spec.model.dir, file: spec.model.file, sha256: spec.model.sha256 },
      corpusStats,
      stats,
      // totalMs counts encodeDocuments/encodeQueries calls only, not the first pass.
      seconds: { statistics, encode: stats.totalMs / 1000 },
    };
  };
  return { documents: documents(), report };
}

/** What `indexTextCorpus` completes in a build's or an add's summary. */
export interface TextIndexingSummary {
  skipped: number;
  encoder?: EncoderBuildReport;
  seconds: { total: number };
}

/**
 * Encodes a text corpus and hands the encoded documents to `consume` (a build or an add), then
 * completes its summary: lines skipped while reading, the encoder's report and the total time
 * since `started` (encoding included).
 */
export async function indexTextCorpus<S extends TextIndexingSummary>(
  encoder: Encoder,
  corpus: TextCorpusSource,
  pass: TextPassOptions,
  started: number,
  consume: (documents: AsyncGenerator<ParsedDocument>) => Promise<S>,
): Promise<S> {
  let readSkipped = 0;
  const prepared = await encodeTextCorpus(encoder, corpus, {
    ...pass,
    onSkip: (skipped) => {
      readSkipped++;
      pass.onSkip?.(skipped);
    },
  });
  const summary = await consume(prepared.documents);
  summary.skipped += readSkipped;
  summary.encoder = prepared.report();
  summary.seconds.total = (performance.now() - started) / 1000;
  return summary;
}
