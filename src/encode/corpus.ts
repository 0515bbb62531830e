/**
 * Streaming corpus encoding: JSONL corpus lines → records → `{ id, vector, content }`, in chunks,
 * so a corpus of any size is encoded with bounded memory.
 *
 * Accepted line shapes (BEIR, Pyserini and plain): `{"_id"|"id": ..., "title"?: ..., "text"|"contents": ..., "metadata"?: {...}}`.
 * The encoded text is `title + " " + text` when a title is present (the BEIR convention) and is also
 * returned as `content`; a `metadata` object is carried through unchanged (the index stores it).
 */

import { createReadStream } from 'node:fs';
import { checkRange, SpladexError } from '../errors.js';
import { checkStorableString } from '../io/documents.js';
import type { SparseVectorInput } from '../types.js';
import type { Encoder } from './encoder.js';
import { ENCODER_OPTIONS } from './encoder-options.js';
import type { CorpusStats } from './lexical.js';

export interface CorpusRecord {
  id: string;
  title?: string;
  text: string;
  /** The line's `metadata` object, when it has one. */
  metadata?: Record<string, unknown>;
  /** 1-based line number in the source file, when read from one. */
  line?: number;
}

export interface EncodedDocument {
  id: string;
  vector: SparseVectorInput;
  /** The text that was encoded (title and text). */
  content: string;
  /** The record's title, when it has one (also part of `content`). */
  title?: string;
  /** The record's metadata, when it has one. */
  metadata?: Record<string, unknown>;
  /** The record's line number, when it came from a file. */
  line?: number;
}

/** Options of `readCorpusJsonl` / `readCorpusStream`. */
export interface ReadCorpusOptions {
  /** Skip invalid lines (JSON, id, field types, encoding) instead of stopping at the first. Default false. */
  skipInvalid?: boolean;
  /** Receives every skipped line when `skipInvalid` is set. */
  onSkip?: (skipped: { line: number; code: string; message: string }) => void;
}

/**
 * Documents per `encodeDocuments` call for a model batch size (undefined: the encoder's default,
 * checked like the option itself): enough to sort by length and fill batches.
 */
export function encodeChunkSize(batchSize?: number): number {
  return Math.max(256, ENCODER_OPTIONS.resolve({ batchSize }).batchSize! * 4);
}

/** The text a record is encoded from. */
export function recordText(record: { title?: string; text: string }): string {
  return record.title ? `${record.title} ${record.text}` : record.text;
}

/** Parses one corpus line; null for a blank line. Errors carry the file and line number. */
export function parseCorpusLine(line: string, lineNumber: number, file?: string): CorpusRecord | null {
  if (line.trim() === '') return null;
  const where = { file: file ?? '<corpus>', line: lineNumber };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new SpladexError('E_INPUT_JSON', `not valid JSON (${(cause as Error).message})`, { ...where, cause });
  }
  return parseCorpusObject(value, where);
}

/**
 * Validates one corpus document given as an object (a parsed line, or a library caller's
 * `{ id|_id, title?, text|contents, metadata? }`). `where.line` becomes the record's line.
 */
export function parseCorpusObject(value: unknown, where: { file: string; line: number }): CorpusRecord {
  const lineNumber = where.line;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SpladexError('E_INPUT_JSON', 'a corpus line must be a JSON object', where);
  const obj = value as Record<string, unknown>;
  const rawId = obj._id ?? obj.id;
  if ((typeof rawId !== 'string' && typeof rawId !== 'number') || rawId === '' || (typeof rawId === 'number' && !Number.isFinite(rawId))) {
    throw new SpladexError('E_INPUT_ID', 'the document has no "_id" or "id" (a non-empty string or a number)', where);
  }
  const text = obj.text ?? obj.contents;
  if (text !== undefined && typeof text !== 'string') throw new SpladexError('E_INPUT_JSON', '"text"/"contents" must be a string', where);
  const title = obj.title;
  if (title !== undefined && title !== null && typeof title !== 'string') throw new SpladexError('E_INPUT_JSON', '"title" must be a string', where);
  if (text === undefined && (title === undefined || title === null)) {
    throw new SpladexError('E_INPUT_JSON', 'the document has no "text" or "contents" (nor "title")', where);
  }
  const metadata = obj.metadata;
  if (metadata !== undefined && metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) {
    throw new SpladexError('E_INPUT_JSON', '"metadata" must be a JSON object', where);
  }
  // Checked here, before either pass, so the statistics pass and the indexing pass skip the same
  // lines. (Metadata strings are checked in the segment build's walk over the metadata.)
  const record: CorpusRecord = { id: checkStorableString(String(rawId), 'id', where), text: checkStorableString(text ?? '', 'text', where), line: lineNumber };
  if (typeof title === 'string' && title !== '') record.title = checkStorableString(title, 'title', where);
  if (metadata !== undefined && metadata !== null) record.metadata = metadata as Record<string, unknown>;
  return record;
}

/**
 * Reads a JSONL corpus file, validating UTF-8 and JSON line by line. Lines are cut on the 0x0A byte
 * before decoding (it never occurs inside a UTF-8 multi-byte sequence), so an encoding error is
 * reported on its own line.
 */
export async function* readCorpusJsonl(path: string, options: ReadCorpusOptions = {}): AsyncGenerator<CorpusRecord> {
  const stream = createReadStream(path);
  try {
    yield* readCorpusStream(stream as AsyncIterable<Buffer>, path, options);
  } finally {
    stream.destroy();
  }
}

/**
 * Reads a JSONL corpus from any byte stream (a file stream, process.stdin), like readCorpusJsonl;
 * `label` names the source in errors (`<label>:<line>`). The caller owns (and closes) the stream.
 */
export async function* readCorpusStream(source: AsyncIterable<Buffer | Uint8Array | string>, label: string, options: ReadCorpusOptions = {}): AsyncGenerator<CorpusRecord> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const parse = (bytes: Uint8Array, lineNumber: number): CorpusRecord | null => {
    try {
      let text: string;
      try {
        text = stripCr(decoder.decode(bytes));
      } catch (cause) {
        throw new SpladexError('E_INPUT_ENCODING', 'the line is not valid UTF-8; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)', { file: label, line: lineNumber, cause });
      }
      return parseCorpusLine(text, lineNumber, label);
    } catch (error) {
      if (!options.skipInvalid || !(error instanceof SpladexError)) throw error;
      options.onSkip?.({ line: lineNumber, code: error.code, message: error.message });
      return null;
    }
  };
  // Bytes of an unfinished line, kept as parts so a very long line is concatenated once, not per chunk.
  let pending: Buffer[] = [];
  let lineNumber = 0;
  try {
    for await (const raw of source) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      if (chunk.indexOf(0x0a) < 0) {
        pending.push(chunk);
        continue;
      }
      const data = pending.length > 0 ? Buffer.concat([...pending, chunk]) : chunk;
      let from = 0;
      for (let newline = data.indexOf(0x0a); newline >= 0; newline = data.indexOf(0x0a, from)) {
        lineNumber++;
        const record = parse(data.subarray(from, newline), lineNumber);
        from = newline + 1;
        if (record !== null) yield record;
      }
      pending = from < data.length ? [data.subarray(from)] : [];
    }
  } catch (error) {
    if (error instanceof SpladexError) throw error;
    throw new SpladexError('E_IO', `cannot read the corpus: ${(error as Error).message}`, { file: label, cause: error });
  }
  if (pending.length > 0) {
    lineNumber++;
    const record = parse(Buffer.concat(pending), lineNumber);
    if (record !== null) yield record;
  }
}

export interface CorpusEncodeOptions {
  /** Documents per encodeDocuments call; larger chunks sort better by length. Default 256. Range [1, 1e6]. */
  chunkSize?: number;
}

/**
 * Encodes records as they stream in, `chunkSize` at a time, yielding results in input order. For
 * encoders that need corpus statistics, run `collectCorpusStats` over the same records first.
 */
export async function* encodeCorpus(
  encoder: Encoder,
  records: AsyncIterable<EncodableRecord> | Iterable<EncodableRecord>,
  options: CorpusEncodeOptions = {},
): AsyncGenerator<EncodedDocument> {
  const chunkSize = options.chunkSize ?? 256;
  checkRange('chunkSize', chunkSize, 1, 1_000_000, true);
  let chunk: EncodableRecord[] = [];
  let texts: string[] = [];
  const flush = async function* (): AsyncGenerator<EncodedDocument> {
    const vectors = await encoder.encodeDocuments(texts);
    for (let i = 0; i < texts.length; i++) {
      const record = chunk[i];
      const doc: EncodedDocument = { id: String(record.id), vector: vectors[i], content: texts[i] };
      if (record.title !== undefined) doc.title = record.title;
      if (record.metadata !== undefined) doc.metadata = record.metadata;
      if (record.line !== undefined) doc.line = record.line;
      yield doc;
    }
    chunk = [];
    texts = [];
  };
  for await (const record of records) {
    chunk.push(record);
    texts.push(recordText(record));
    if (texts.length >= chunkSize) yield* flush();
  }
  if (texts.length > 0) yield* flush();
}

/** What `encodeCorpus` reads: a corpus record, or any object with an id and a text. */
export interface EncodableRecord {
  id: string | number;
  title?: string;
  text: string;
  metadata?: Record<string, unknown>;
  line?: number;
}

/** First pass for lexical / corpus-IDF encoders: feeds every record, then finishes the statistics. */
export async function collectCorpusStats(
  encoder: Encoder,
  records: AsyncIterable<{ title?: string; text: string }> | Iterable<{ title?: string; text: string }>,
  options: CorpusEncodeOptions = {},
): Promise<CorpusStats> {
  const chunkSize = options.chunkSize ?? 256;
  checkRange('chunkSize', chunkSize, 1, 1_000_000, true);
  let texts: string[] = [];
  for await (const record of records) {
    texts.push(recordText(record));
    if (texts.length >= chunkSize) {
      encoder.addCorpusDocuments(texts);
      texts = [];
    }
  }
  if (texts.length > 0) encoder.addCorpusDocuments(texts);
  return encoder.finishCorpusStats();
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
