/** Writing a synthetic collection to JSONL files (documents, queries), streamed in batches. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SpladexError } from '../errors.js';
import { pathExists } from '../util/fs.js';
import { SyntheticCollection } from './synth.js';
import type { SynthOptions } from './synth-model.js';

/** Options of {@link writeSynthetic}: the collection options plus where and how to write. */
export interface WriteSyntheticOptions extends Partial<SynthOptions> {
  /** Output directory (created if missing). Required. */
  outDir: string;
  /** Also write `qrels.txt` (`qid 0 docid 1`, the source document of each query). Default true. */
  qrels?: boolean;
  /** Overwrite existing output files. Default false (an existing file is an `E_IO` error). */
  overwrite?: boolean;
  /**
   * Called after every batch with the number of vectors written so far (documents then queries)
   * and the total. Default: none.
   */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link writeSynthetic} wrote. */
export interface WriteSyntheticResult {
  documentsPath: string;
  queriesPath: string;
  /** Absent when `qrels` was false. */
  qrelsPath?: string;
  docs: number;
  queries: number;
  /** Bytes written to documents.jsonl and queries.jsonl. */
  bytes: number;
  /** Wall-clock milliseconds. */
  elapsedMs: number;
}

/** Lines are gathered into ~1 MB strings before a write: fewer syscalls, bounded memory. */
const WRITE_BATCH_CHARS = 1 << 20;

/**
 * Writes `documents.jsonl`, `queries.jsonl` and (by default) `qrels.txt` into `outDir`, streaming
 * with backpressure: memory stays flat however many documents are asked for.
 */
export async function writeSynthetic(options: WriteSyntheticOptions): Promise<WriteSyntheticResult> {
  const { outDir, qrels = true, overwrite = false, onProgress, ...synth } = options;
  if (typeof outDir !== 'string' || outDir === '') throw new SpladexError('E_OPTION', 'option outDir must be a directory path');
  const collection = new SyntheticCollection(synth);
  const o = collection.options;
  const started = performance.now();
  const documentsPath = join(outDir, 'documents.jsonl');
  const queriesPath = join(outDir, 'queries.jsonl');
  const qrelsPath = qrels ? join(outDir, 'qrels.txt') : undefined;
  try {
    await mkdir(outDir, { recursive: true });
  } catch (cause) {
    throw new SpladexError('E_IO', 'cannot create the output directory; check the path and permissions', { file: outDir, cause });
  }
  if (!overwrite) {
    for (const p of [documentsPath, queriesPath, qrelsPath]) {
      if (p !== undefined && (await pathExists(p))) throw new SpladexError('E_IO', 'output file already exists; choose another directory or pass overwrite (--overwrite) to replace it', { file: p });
    }
  }
  const total = o.docs + o.queries;
  let bytes = 0;
  bytes += await writeLines(documentsPath, o.docs, (i) => collection.documentLine(i), (done) => onProgress?.(done, total));
  bytes += await writeLines(queriesPath, o.queries, (j) => collection.queryLine(j), (done) => onProgress?.(o.docs + done, total));
  if (qrelsPath !== undefined) {
    await writeLines(qrelsPath, o.queries, (j) => `${collection.queryId(j)} 0 ${collection.documentId(collection.querySource(j))} 1`, () => {});
  }
  const result: WriteSyntheticResult = { documentsPath, queriesPath, docs: o.docs, queries: o.queries, bytes, elapsedMs: performance.now() - started };
  if (qrelsPath !== undefined) result.qrelsPath = qrelsPath;
  return result;
}


/** Writes `count` lines produced by `line(i)`, honouring the stream's backpressure. Returns bytes written. */
async function writeLines(path: string, count: number, line: (i: number) => string, progress: (done: number) => void): Promise<number> {
  const out = createWriteStream(path, { encoding: 'utf8' });
  let failure: unknown;
  out.on('error', (e) => {
    failure = e;
  });
  let bytes = 0;
  try {
    let batch = '';
    for (let i = 0; i < count; i++) {
      batch += line(i) + '\n';
      if (batch.length >= WRITE_BATCH_CHARS || i === count - 1) {
        bytes += Buffer.byteLength(batch);
        await writeChunk(out, batch, () => failure);
        batch = '';
        progress(i + 1);
      }
    }
    await new Promise<void>((resolve, reject) => {
      out.end((e?: Error | null) => (e ? reject(e) : resolve()));
    });
  } catch (cause) {
    out.destroy();
    throw new SpladexError('E_IO', 'cannot write the output file; check free disk space and permissions', { file: path, cause });
  }
  if (failure !== undefined) throw new SpladexError('E_IO', 'cannot write the output file; check free disk space and permissions', { file: path, cause: failure });
  return bytes;
}

function writeChunk(out: WriteStream, chunk: string, failed: () => unknown): Promise<void> {
  const f = failed();
  if (f !== undefined) return Promise.reject(f);
  if (out.write(chunk)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      out.off('error', onError);
      resolve();
    };
    const onError = (e: Error): void => {
      out.off('drain', onDrain);
      reject(e);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}
