/**
 * `spladex encode <corpus.jsonl> --out <vectors.jsonl>`: text corpus → the sparse-vector JSONL that
 * `spladex index` takes, one `{"id", "vector": {token: weight}, "content"}` line per document.
 *
 * Kinds: splade (model for documents and queries), inference-free (model for documents, tokenizer +
 * IDF for queries) and lexical (BM25 over the built-in English analyzer or a tokenizer: lexical
 * (BM25), not a learned model). Lexical — and inference-free without an idf.json — read the corpus
 * twice (corpus statistics, then vectors), so they need a file, not stdin. Everything streams: the
 * corpus is never held in memory. Outputs are written to a temporary file and renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, unlinkSync } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { collectCorpusStats, encodeChunkSize, encodeCorpus, readCorpusStream, type CorpusRecord, openEncoder, type Encoder, type EncoderStats, type CorpusStats, type EncoderKind } from '../../src/encode/index.js';
import { SpladexError, readQueries, type SparseVectorInput } from '../../src/index.js';
import { addEncoderOptions, encoderOptionsFrom, encoderStatsLines, KINDS_HELP, LEXICAL_LABEL } from '../encoder-options.js';
import { action, choice, countingStream, formatCount as fmt, formatRate as rate, formatSeconds as sec, progressBar, writeLine } from '../util.js';

/** The flags `encode` reads itself; the encoder flags are read with `encoderOptionsFrom`. */
interface EncodeCliOptions {
  idf?: string;
  out: string;
  as: 'documents' | 'queries';
  queries?: string;
  queriesOut?: string;
  content: boolean;
  overwrite: boolean;
  quiet: boolean;
  json: boolean;
}

/** What `encode` reports at the end (the `--json` object). */
export interface EncodeSummary {
  kind: EncoderKind;
  label: string;
  input: string;
  /** What the input was encoded as. */
  as: 'documents' | 'queries';
  out: string;
  /** Lines written to `out`. */
  vectors: number;
  /** Vectors without any term (e.g. a text of stop words only). */
  emptyVectors: number;
  postings: number;
  postingsPerVector: number;
  maxTermsPerVector: number;
  /** The extra query file (`--queries`), when given. */
  queries: { input: string; out: string; vectors: number; emptyVectors: number; postings: number; postingsPerVector: number } | null;
  /** The first pass (lexical, or inference-free without idf.json); null for one-pass kinds. */
  corpusStats: CorpusStats | null;
  seconds: { total: number; corpusStats: number; encode: number; queries: number };
  /** Documents (or queries) per second of wall time in the encoding pass, reading and writing included. */
  wallPerSecond: number;
  /** The encoder's own counters: throughput (documentsPerSecond) and the tokenize / model / pool time split. */
  encoder: EncoderStats;
}

export function register(program: Command): void {
  const command = program
    .command('encode')
    .description(
      'encode a text corpus (JSONL: "_id"|"id", "title"?, "text"|"contents") into the sparse-vector JSONL that `spladex index` takes: ' +
        'one {"id", "vector": {token: weight}, "content"} line per document. With --model the kind is splade (or inference-free); ' +
        `without a model it is ${LEXICAL_LABEL}. "-" reads stdin (one-pass kinds only)`,
    )
    .argument('<corpus>', 'JSONL corpus file, or "-" for stdin')
    .requiredOption('--out <file>', 'output JSONL file (written to a temporary file, then renamed)');
  addEncoderOptions(command, {
    idf: "inference-free query IDF (token → idf); default <model>/idf.json, else BM25 IDF from the corpus (lexical always uses the corpus's BM25 IDF)",
  })
    .option('--as <what>', 'encode the input as documents or as queries (queries: no pruning, always truncated; splade, or inference-free with idf)', choice(['documents', 'queries'] as const), 'documents')
    .option('--queries <file>', 'also encode this query JSONL ({"_id"|"id", "text"|"query"}) with the same encoder (after the corpus, so lexical IDF is the corpus\'s)')
    .option('--queries-out <file>', 'where the --queries vectors go ({"id", "vector"} per line)')
    .option('--no-content', 'do not copy the text into the output lines')
    .option('--overwrite', 'replace existing output files', false)
    .option('--quiet', 'no progress bar', false)
    .option('--json', 'print the final statistics as one JSON object', false)
    .addHelpText(
      'after',
      `
${KINDS_HELP}

Examples:
  spladex encode corpus.jsonl --out vectors.jsonl --model models/splade-v3
  spladex encode corpus.jsonl --out bm25.jsonl --queries queries.jsonl --queries-out bm25.queries.jsonl
  spladex encode queries.jsonl --as queries --out q.jsonl --model models/splade-v3`,
    )
    .action(action((corpus: string, opts: EncodeCliOptions) => runEncode(corpus, opts, command)));
}

async function runEncode(input: string, opts: EncodeCliOptions, command: Command): Promise<void> {
  if ((opts.queries === undefined) !== (opts.queriesOut === undefined)) throw new SpladexError('E_OPTION', 'give --queries and --queries-out together');
  if (opts.as === 'queries' && opts.queries !== undefined) throw new SpladexError('E_OPTION', '--queries adds a query file to a corpus; with --as queries the input already is the query file');
  if (input === '-' && opts.queries === '-') throw new SpladexError('E_OPTION', 'only one of the corpus and --queries can be read from stdin');
  const outputs = [opts.out, ...(opts.queriesOut === undefined ? [] : [opts.queriesOut])].map((p) => resolve(p));
  const inputs = [input, ...(opts.queries === undefined ? [] : [opts.queries])].filter((p) => p !== '-').map((p) => resolve(p));
  if (outputs.length === 2 && outputs[0] === outputs[1]) throw new SpladexError('E_OPTION', '--out and --queries-out name the same file');
  for (const output of outputs) {
    if (inputs.includes(output)) throw new SpladexError('E_OPTION', 'an output file is also an input; choose another --out', { file: output });
    if (!opts.overwrite && existsSync(output)) throw new SpladexError('E_IO', 'output file already exists; choose another path or pass --overwrite to replace it', { file: output });
  }

  const options = encoderOptionsFrom(command);
  const kind = options.kind as EncoderKind;
  if (kind !== 'inference-free' && opts.idf !== undefined) {
    throw new SpladexError('E_OPTION', `--idf sets inference-free query weights; ${kind === 'lexical' ? 'lexical queries are weighted by the BM25 IDF of the corpus' : 'splade queries go through the model'}`);
  }
  options.idf = opts.idf;
  const started = performance.now();
  const encoder = await openEncoder(options);
  const writers: AtomicLineWriter[] = [];
  const bar = progressBar(opts.quiet, `{bar} {percentage}% | {docs} {what} | {rate} {what}/s | {phase}`);
  try {
    const twoPass = encoder.needsCorpusStats;
    if (opts.as === 'queries' && twoPass) {
      throw new SpladexError(
        'E_OPTION',
        `${kind} query vectors need the corpus's IDF: encode the corpus and its queries together (spladex encode corpus.jsonl --out … --queries ${input} --queries-out …)` +
          (kind === 'inference-free' ? ' or give --idf <idf.json>' : ''),
      );
    }
    if (twoPass && input === '-') {
      throw new SpladexError(
        'E_OPTION',
        `the ${kind === 'lexical' ? 'lexical encoder (BM25, not a learned model)' : `${kind} encoder without an idf.json`} reads the corpus twice (corpus statistics, then vectors) and cannot read stdin; give the corpus as a file` +
          (kind === 'inference-free' ? ' or pass --idf <idf.json>' : ''),
      );
    }
    const what = opts.as === 'queries' ? 'queries' : 'docs';
    const chunkSize = encodeChunkSize(options.batchSize);

    // Pass 1: corpus statistics.
    let corpusStats: CorpusStats | null = null;
    let statsSeconds = 0;
    if (twoPass) {
      const t = performance.now();
      const source = countingStream(input);
      let count = 0;
      bar?.start(Math.max(1, source.size), 0, { docs: 0, rate: '0', what, phase: 'pass 1/2: corpus statistics' });
      const counted = async function* (records: AsyncIterable<CorpusRecord>): AsyncGenerator<CorpusRecord> {
        for await (const record of records) {
          if (++count % 1024 === 0) bar?.update(source.bytesRead(), { docs: fmt(count), rate: rate(count, t) });
          yield record;
        }
      };
      try {
        corpusStats = await collectCorpusStats(encoder, counted(readCorpusStream(source.stream as AsyncIterable<Buffer>, input)), { chunkSize });
      } finally {
        source.stream.destroy();
      }
      statsSeconds = (performance.now() - t) / 1000;
      bar?.stop();
    }

    // Pass 2 (or the only pass): vectors.
    const t = performance.now();
    const out = await AtomicLineWriter.create(opts.out);
    writers.push(out);
    const main = new VectorCounter();
    const source = countingStream(input);
    const phase = twoPass ? 'pass 2/2: encode' : 'encode';
    bar?.start(Math.max(1, source.size), 0, { docs: 0, rate: '0', what, phase });
    const tick = (): void => bar?.update(source.bytesRead(), { docs: fmt(main.vectors), rate: rate(main.vectors, t) });
    try {
      if (opts.as === 'queries') {
        await encodeQueryFile(encoder, source.stream, input === '-' ? '<stdin>' : input, out, main, chunkSize, tick);
      } else {
        const label = input === '-' ? '<stdin>' : input;
        for await (const doc of encodeCorpus(encoder, readCorpusStream(source.stream as AsyncIterable<Buffer>, label), { chunkSize })) {
          main.add(doc.vector);
          await out.write(vectorLine(doc.id, doc.vector, opts.content ? doc.content : undefined));
          if (main.vectors % chunkSize === 0) tick();
        }
      }
    } finally {
      if (input !== '-') source.stream.destroy();
    }
    tick();
    const encodeSeconds = (performance.now() - t) / 1000;

    // Extra query file.
    let queries: EncodeSummary['queries'] = null;
    let querySeconds = 0;
    if (opts.queries !== undefined && opts.queriesOut !== undefined) {
      const tq = performance.now();
      const qout = await AtomicLineWriter.create(opts.queriesOut);
      writers.push(qout);
      const counter = new VectorCounter();
      const qsource = countingStream(opts.queries);
      bar?.stop();
      bar?.start(Math.max(1, qsource.size), 0, { docs: 0, rate: '0', what: 'queries', phase: 'queries' });
      try {
        await encodeQueryFile(encoder, qsource.stream, opts.queries === '-' ? '<stdin>' : opts.queries, qout, counter, chunkSize, () =>
          bar?.update(qsource.bytesRead(), { docs: fmt(counter.vectors), rate: rate(counter.vectors, tq) }),
        );
      } finally {
        if (opts.queries !== '-') qsource.stream.destroy();
      }
      querySeconds = (performance.now() - tq) / 1000;
      queries = { input: opts.queries, out: opts.queriesOut, ...counter.summary() };
    }
    bar?.stop();

    // Everything succeeded: move the outputs into place.
    for (const writer of writers) await writer.commit();
    const s = main.summary();
    const summary: EncodeSummary = {
      kind,
      label: encoder.label,
      input,
      as: opts.as,
      out: opts.out,
      vectors: s.vectors,
      emptyVectors: s.emptyVectors,
      postings: s.postings,
      postingsPerVector: s.postingsPerVector,
      maxTermsPerVector: main.maxTerms,
      queries,
      corpusStats,
      seconds: { total: (performance.now() - started) / 1000, corpusStats: statsSeconds, encode: encodeSeconds, queries: querySeconds },
      wallPerSecond: encodeSeconds > 0 ? s.vectors / encodeSeconds : 0,
      encoder: encoder.stats,
    };
    printSummary(summary, opts.json);
  } finally {
    bar?.stop();
    for (const writer of writers) await writer.abort();
    await encoder.dispose();
  }
}

/** Streams a query JSONL ({"id", "text"}) through encodeQueries, writing {"id", "vector"} lines. */
async function encodeQueryFile(
  encoder: Encoder,
  stream: Readable,
  label: string,
  out: AtomicLineWriter,
  counter: VectorCounter,
  chunkSize: number,
  tick: () => void,
): Promise<void> {
  let ids: string[] = [];
  let texts: string[] = [];
  const flush = async (): Promise<void> => {
    const vectors = await encoder.encodeQueries(texts);
    for (let i = 0; i < vectors.length; i++) {
      counter.add(vectors[i]);
      await out.write(vectorLine(ids[i], vectors[i], undefined));
    }
    ids = [];
    texts = [];
    tick();
  };
  for await (const query of readQueries(stream, { label })) {
    if (query.text === undefined) {
      throw new SpladexError('E_INPUT_JSON', 'this query line already has a "vector"; encode takes text queries ({"id", "text"})', { file: label, line: query.line });
    }
    ids.push(query.id);
    texts.push(query.text);
    if (texts.length >= chunkSize) await flush();
  }
  if (texts.length > 0) await flush();
}

class VectorCounter {
  vectors = 0;
  emptyVectors = 0;
  postings = 0;
  maxTerms = 0;

  add(vector: SparseVectorInput): void {
    let n = 0;
    for (const token in vector) if (Object.prototype.hasOwnProperty.call(vector, token)) n++;
    this.vectors++;
    this.postings += n;
    if (n === 0) this.emptyVectors++;
    if (n > this.maxTerms) this.maxTerms = n;
  }

  summary(): { vectors: number; emptyVectors: number; postings: number; postingsPerVector: number } {
    return { vectors: this.vectors, emptyVectors: this.emptyVectors, postings: this.postings, postingsPerVector: this.vectors > 0 ? this.postings / this.vectors : 0 };
  }
}

/**
 * One output line. Weights are written with float32 precision: the shortest decimal that reads back
 * to the same float32 (model outputs are float32, the index stores f16/u8/f32), so files stay small
 * and reading them back loses nothing the index keeps.
 */
export function vectorLine(id: string, vector: SparseVectorInput, content: string | undefined): string {
  let body = '';
  for (const token of Object.keys(vector)) {
    const weight = compactWeight(vector[token]);
    if (weight === '') continue;
    body += `${body === '' ? '' : ','}${JSON.stringify(token)}:${weight}`;
  }
  return `{"id":${JSON.stringify(id)},"vector":{${body}}${content === undefined ? '' : `,"content":${JSON.stringify(content)}`}}\n`;
}

/** Shortest decimal of `weight` as a float32, or '' when it is not a positive float32. */
export function compactWeight(weight: number): string {
  const f = Math.fround(weight);
  if (!(f > 0) || !Number.isFinite(f)) return '';
  // Most float32 values need 8 significant digits, a few 9, some fewer: try 8 first, then walk the
  // other way. (If d digits read back exactly, so do d + 1.) Number() drops trailing zeros.
  const eight = f.toPrecision(8);
  if (Math.fround(Number(eight)) !== f) return String(Number(f.toPrecision(9)));
  let shortest = eight;
  for (let digits = 7; digits >= 1; digits--) {
    const candidate = f.toPrecision(digits);
    if (Math.fround(Number(candidate)) !== f) break;
    shortest = candidate;
  }
  return String(Number(shortest));
}

/** Temporary files not yet committed or removed: deleted if the process is interrupted. */
const pendingTemps = new Set<string>();
let signalHandlersInstalled = false;

function removeTempsOnSignal(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      for (const temp of pendingTemps) {
        try {
          unlinkSync(temp);
        } catch {
          // already gone
        }
      }
      process.exit(code);
    });
  }
}

/** Buffered line writer to `.<file>.<pid>.<random>.tmp`, renamed onto `file` by commit(), removed by abort() or on SIGINT/SIGTERM. */
class AtomicLineWriter {
  private chunks: string[] = [];
  private buffered = 0;
  private done = false;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly temp: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(file: string): Promise<AtomicLineWriter> {
    const target = resolve(file);
    const temp = `${dirname(target)}/.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(target), { recursive: true });
      removeTempsOnSignal();
      const handle = await open(temp, 'wx');
      pendingTemps.add(temp);
      return new AtomicLineWriter(target, temp, handle);
    } catch (cause) {
      throw new SpladexError('E_IO', `cannot create the output file: ${(cause as Error).message}`, { file: target, cause });
    }
  }

  async write(line: string): Promise<void> {
    this.chunks.push(line);
    this.buffered += line.length;
    if (this.buffered >= 1 << 20) await this.flush();
  }

  async commit(): Promise<void> {
    try {
      await this.flush();
      await this.handle.sync();
      await this.handle.close();
      this.closed = true;
      await rename(this.temp, this.file);
      this.done = true;
      pendingTemps.delete(this.temp);
    } catch (cause) {
      if (cause instanceof SpladexError) throw cause;
      throw new SpladexError('E_IO', `cannot write the output file: ${(cause as Error).message}`, { file: this.file, cause });
    }
  }

  /** Removes the temporary file unless commit() succeeded. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (!this.closed) await this.handle.close().catch(() => undefined);
    await unlink(this.temp).catch(() => undefined);
    pendingTemps.delete(this.temp);
  }

  private async flush(): Promise<void> {
    if (this.chunks.length === 0) return;
    const data = Buffer.from(this.chunks.join(''), 'utf8');
    this.chunks = [];
    this.buffered = 0;
    try {
      // A write may be partial: loop until every byte is out.
      for (let offset = 0; offset < data.length; ) offset += (await this.handle.write(data, offset, data.length - offset)).bytesWritten;
    } catch (cause) {
      throw new SpladexError('E_IO', `cannot write the output file: ${(cause as Error).message}`, { file: this.file, cause });
    }
  }
}

function printSummary(s: EncodeSummary, json: boolean): void {
  if (json) {
    writeLine(JSON.stringify(s));
    return;
  }
  const e = s.encoder;
  const noun = s.as === 'queries' ? 'queries' : 'documents';
  const perSecond = s.as === 'queries' ? (e.totalMs > 0 ? (e.queries * 1000) / e.totalMs : 0) : e.documentsPerSecond;
  writeLine(`encoded ${fmt(s.vectors)} ${noun} into ${s.out} with ${s.label}`);
  writeLine(`  vectors     ${fmt(s.postings)} postings, ${s.postingsPerVector.toFixed(1)} per vector (max ${fmt(s.maxTermsPerVector)}), ${fmt(s.emptyVectors)} empty`);
  if (s.queries !== null) {
    const q = s.queries;
    writeLine(`  queries     ${fmt(q.vectors)} into ${q.out}, ${q.postingsPerVector.toFixed(1)} terms per query, ${fmt(q.emptyVectors)} empty`);
  }
  if (s.corpusStats !== null) writeLine(`  corpus      ${fmt(s.corpusStats.documents)} documents, average length ${s.corpusStats.averageLength.toFixed(1)} terms (first pass)`);
  writeLine(`  throughput  ${fmt(Math.round(perSecond))} ${noun}/s in the encoder, ${fmt(Math.round(s.wallPerSecond))}/s wall (reading and writing included)`);
  const passes = [s.seconds.corpusStats > 0 ? `corpus statistics ${sec(s.seconds.corpusStats)}` : '', `encode ${sec(s.seconds.encode)}`, s.queries !== null ? `queries ${sec(s.seconds.queries)}` : '']
    .filter((p) => p !== '')
    .join(', ');
  writeLine(`  time        ${sec(s.seconds.total)} total: ${passes}`);
  for (const line of encoderStatsLines(e, { split: '  encoder     ', model: '  model       ' })) writeLine(line);
}

