/**
 * Validation of sparse-vector documents and queries as the field writes them:
 * Seismic/Pyserini JSONL `{"id", "vector": {token: weight}}`, with optional `content`/`contents`
 * text and a `metadata` object. Every rejection names the file and line.
 */
import type { Readable } from 'node:stream';
import { SpladexError } from '../errors.js';
import type { DocumentInput, SparseVectorInput } from '../types.js';
import { parseJsonObject, readLines, sourceName, type ReadLinesOptions } from './jsonl.js';
import { parseDocumentLineFast, type SparseEntries } from './sparse-line.js';

export type { SparseEntries };

/** Hard limits on input, chosen far above real SPLADE output and far below what breaks the engine. */
export const INPUT_LIMITS = {
  /** Non-zero terms in one vector (SPLADE documents have ~100–300). */
  maxTermsPerVector: 100_000,
  /** Characters in one token string. */
  maxTokenLength: 1_000,
  /** Characters in one id. */
  maxIdLength: 1_000,
  /** Largest weight; larger values are almost certainly a unit error and would overflow scores. */
  maxWeight: 1e6,
} as const;

export interface Where {
  file: string;
  line?: number;
}

/** A validated document: id normalised to a string, vector checked and flattened to entries. */
export interface ValidDocument {
  id: string;
  entries: SparseEntries;
  content?: string;
  metadata?: Record<string, unknown>;
}

export function normaliseId(value: unknown, where: Where): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.length > 0) {
    if (value.length > INPUT_LIMITS.maxIdLength) {
      throw new SpladexError('E_INPUT_LIMIT', `id is longer than ${INPUT_LIMITS.maxIdLength} characters`, where);
    }
    return value;
  }
  throw new SpladexError('E_INPUT_ID', 'missing or invalid "id" (a non-empty string or a number is required)', where);
}

/** Checks a token → weight object; zero weights are dropped, anything else non-finite or negative is an error. */
export function validateVector(value: unknown, where: Where, field = 'vector'): SparseVectorInput {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SpladexError('E_INPUT_VECTOR', `"${field}" must be an object mapping tokens to weights`, where);
  }
  const input = value as Record<string, unknown>;
  let count = 0;
  let hasZero = false;
  for (const token in input) {
    const weight = input[token];
    if (typeof weight !== 'number') {
      throw new SpladexError('E_INPUT_VECTOR', `weight of token ${JSON.stringify(token)} is not a number`, where);
    }
    if (!Number.isFinite(weight) || weight < 0) {
      throw new SpladexError('E_INPUT_VECTOR', `weight of token ${JSON.stringify(token)} must be finite and >= 0, got ${weight}`, where);
    }
    if (weight > INPUT_LIMITS.maxWeight) {
      throw new SpladexError('E_INPUT_LIMIT', `weight of token ${JSON.stringify(token)} is ${weight}, above the limit ${INPUT_LIMITS.maxWeight}`, where);
    }
    if (token.length === 0 || token.length > INPUT_LIMITS.maxTokenLength) {
      throw new SpladexError('E_INPUT_LIMIT', `token length must be 1..${INPUT_LIMITS.maxTokenLength} characters`, where);
    }
    if (weight === 0) hasZero = true;
    if (++count > INPUT_LIMITS.maxTermsPerVector) {
      throw new SpladexError('E_INPUT_LIMIT', `vector has more than ${INPUT_LIMITS.maxTermsPerVector} terms`, where);
    }
  }
  if (!hasZero) return input as SparseVectorInput;
  const kept: SparseVectorInput = {};
  for (const token in input) if ((input[token] as number) > 0) kept[token] = input[token] as number;
  return kept;
}

/** A checked vector object as parallel token/weight arrays. */
export function entriesOf(vector: SparseVectorInput): SparseEntries {
  const tokens: string[] = [];
  const weights: number[] = [];
  for (const token in vector) {
    tokens.push(token);
    weights.push(vector[token]);
  }
  return { tokens, weights };
}

/** Validates one parsed JSON object as a document. */
export function validateDocument(raw: Record<string, unknown>, where: Where): ValidDocument {
  if (raw.vector === undefined) throw new SpladexError('E_INPUT_VECTOR', 'missing "vector" object', where);
  return validateDocumentFields(raw, entriesOf(validateVector(raw.vector, where)), where);
}

/** Checks the fields other than the vector (id, content, metadata). */
function validateDocumentFields(raw: Record<string, unknown>, entries: SparseEntries, where: Where): ValidDocument {
  const id = normaliseId(raw.id ?? raw._id ?? raw.docid, where);
  const doc: ValidDocument = { id, entries };
  const content = raw.content ?? raw.contents;
  if (content !== undefined && content !== null) {
    if (typeof content !== 'string') throw new SpladexError('E_INPUT_JSON', '"content"/"contents" must be a string', where);
    doc.content = content;
  }
  if (raw.metadata !== undefined && raw.metadata !== null) {
    if (typeof raw.metadata !== 'object' || Array.isArray(raw.metadata)) {
      throw new SpladexError('E_INPUT_JSON', '"metadata" must be a JSON object', where);
    }
    doc.metadata = raw.metadata as Record<string, unknown>;
  }
  return doc;
}

/** Converts a user-supplied `DocumentInput` (library API) into a validated document. */
export function validateDocumentInput(input: DocumentInput, where: Where): ValidDocument {
  if (input === null || typeof input !== 'object') throw new SpladexError('E_INPUT_JSON', 'document must be an object', where);
  return validateDocument(input as unknown as Record<string, unknown>, where);
}

export interface SkippedLine {
  line: number;
  code: string;
  message: string;
}

export interface ReadDocumentsOptions extends ReadLinesOptions {
  /** Skip invalid lines (reporting them through `onSkip`) instead of stopping at the first. Default false. */
  skipInvalid?: boolean;
  /** Called for each skipped line when `skipInvalid` is set. */
  onSkip?: (skipped: SkippedLine) => void;
}

/** Streams validated documents from a JSONL file (or `'-'` for stdin). */
/** A document line validated by `readDocuments`, with its line number. */
export type ParsedDocument = ValidDocument & { line: number };

export async function* readDocuments(source: string | Readable, options: ReadDocumentsOptions = {}): AsyncGenerator<ParsedDocument> {
  const file = sourceName(source, options.label);
  for await (const line of readLines(source, options)) {
    try {
      const where = { file, line: line.line };
      const fast = parseDocumentLineFast(line.text, INPUT_LIMITS);
      const doc = fast !== undefined ? validateDocumentFields(fast.rest, fast.entries, where) : validateDocument(parseJsonObject(line, file), where);
      yield Object.assign(doc, { line: line.line });
    } catch (error) {
      if (!options.skipInvalid || !(error instanceof SpladexError) || error.code === 'E_IO') throw error;
      options.onSkip?.({ line: line.line, code: error.code, message: error.message });
    }
  }
}

/** A query read from a file: a vector, or text that an encoder will turn into one. */
export interface QueryRecord {
  id: string;
  vector?: SparseVectorInput;
  text?: string;
  line: number;
}

/** Streams queries: `{"id"|"_id", "vector": {...}}` or `{"id"|"_id", "text"|"query"|"contents": "..."}`. */
export async function* readQueries(source: string | Readable, options: ReadLinesOptions = {}): AsyncGenerator<QueryRecord> {
  const file = sourceName(source, options.label);
  for await (const line of readLines(source, options)) {
    const where = { file, line: line.line };
    const raw = parseJsonObject(line, file);
    const id = normaliseId(raw.id ?? raw._id ?? raw.qid ?? raw.query_id, where);
    if (raw.vector !== undefined) {
      yield { id, vector: validateVector(raw.vector, where), line: line.line };
      continue;
    }
    const text = raw.text ?? raw.query ?? raw.contents ?? raw.content;
    if (typeof text !== 'string') {
      throw new SpladexError('E_INPUT_VECTOR', 'a query line needs a "vector" object or a "text" string', where);
    }
    yield { id, text, line: line.line };
  }
}
