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
import { vectorFromIndices, type Vocabulary } from './vocabulary.js';


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

/**
 * Throws unless `value` can be stored exactly, and returns it.
 *
 * A JS string is UTF-16 and may hold a lone surrogate (`\ud800`–`\udfff` without its pair): a JSON
 * escape such as `"\ud800"` decodes to one even in a file of valid UTF-8, and library callers can
 * pass one directly. SQLite and the segment files store UTF-8, which cannot represent it, so the
 * stored text would silently become U+FFFD, no longer match the checksum computed on the JS string,
 * and the index would call itself damaged. Every string that is stored or compared with stored text
 * (ids, tokens, content, metadata keys and values, filter fields and values) passes here once, at
 * the input layer.
 *
 * One rule, whatever the field (an id too): such a string is `E_INPUT_ENCODING`, the code of input
 * that is not valid UTF-8, because the problem is the text's encoding, not the field's shape.
 * `what` names the field in the message ("id", "metadata key", ...).
 */
export function checkStorableString(value: string, what: string, where?: Where): string {
  // A native scan, immediate for one-byte strings: cheap enough to run on every input string.
  if (value.isWellFormed()) return value;
  // The first lone surrogate (one exists: the string is not well formed).
  let at = 0;
  for (;;) {
    const unit = value.charCodeAt(at);
    if (isHigh(unit)) {
      if (!isLow(value.charCodeAt(at + 1))) break;
      at += 2;
    } else if (isLow(unit)) break;
    else at++;
  }
  // An excerpt around the culprit (texts can be long), widened so it never cuts a valid pair;
  // JSON.stringify escapes the lone surrogate, so the message shows it as it would be written in JSON.
  let from = Math.max(0, at - 20);
  if (isLow(value.charCodeAt(from)) && isHigh(value.charCodeAt(from - 1))) from--;
  let to = Math.min(value.length, at + 21);
  if (isLow(value.charCodeAt(to)) && isHigh(value.charCodeAt(to - 1))) to++;
  const excerpt = `${from > 0 ? '…' : ''}${JSON.stringify(value.slice(from, to))}${to < value.length ? '…' : ''}`;
  throw new SpladexError(
    'E_INPUT_ENCODING',
    `${what} ${excerpt} contains a lone UTF-16 surrogate (\\u${value.charCodeAt(at).toString(16)} at index ${at}) that UTF-8 cannot store; ` +
      'remove it or restore its pair (it usually comes from text cut inside an emoji or another character beyond U+FFFF)',
    where,
  );
}

const isHigh = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLow = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

function normaliseId(value: unknown, where: Where): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.length > 0) {
    if (value.length > INPUT_LIMITS.maxIdLength) {
      throw new SpladexError('E_INPUT_LIMIT', `id is longer than ${INPUT_LIMITS.maxIdLength} characters`, where);
    }
    return checkStorableString(value, 'id', where);
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
    // Keys of one object are distinct, so each token of a vector is checked once.
    checkStorableString(token, 'token', where);
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
    doc.content = checkStorableString(content, 'content', where);
  }
  if (raw.metadata !== undefined && raw.metadata !== null) {
    if (typeof raw.metadata !== 'object' || Array.isArray(raw.metadata)) {
      throw new SpladexError('E_INPUT_JSON', '"metadata" must be a JSON object', where);
    }
    // Its keys and strings are checked (checkStorableString) in the one walk build.ts makes over it anyway.
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
  /** The term space of a vector mapped from token ids through a vocabulary (`indices`/`values` lines). */
  termSpace?: string;
}

/**
 * Query file formats: `jsonl` (one JSON object a line), `tsv` (TREC/Anserini topics, `qid<TAB>text`),
 * `pretokenized` (Anserini/Pyserini impact topics, `qid<TAB>tok tok tok`: each occurrence of a token
 * adds 1 to its weight, so integer impacts are written as repeats), or `auto`: `tsv` for a file
 * named `*.tsv`, else per line — a line starting with "{" is JSON, one with a tab is TSV.
 */
export type QueryFileFormat = 'auto' | 'jsonl' | 'tsv' | 'pretokenized';
export const QUERY_FILE_FORMATS: readonly QueryFileFormat[] = ['auto', 'jsonl', 'tsv', 'pretokenized'];

export interface ReadQueriesOptions extends ReadLinesOptions {
  /** Default `auto`. */
  format?: QueryFileFormat;
  /**
   * The vocabulary of `{"indices", "values"}` lines (token id → token), loaded at the first such
   * line. Without it such a line is an `E_INPUT_VECTOR` error asking for one (`--vocab`).
   */
  vocabulary?: () => Promise<Vocabulary>;
}

/**
 * Streams queries, each checked and named by file and line:
 *  - JSON `{"id"|"_id"|"qid"|"query_id", "vector": {token: weight}}` (Seismic, Pyserini; integer
 *    impacts are weights too), `{"id"?, "indices": [...], "values": [...]}` (fastembed, Qdrant,
 *    Milvus; also as the value of "vector"; without an id the line number is the id), or
 *    `{"id", "text"|"query"|"contents"}` (BEIR);
 *  - TSV `qid<TAB>text` (TREC/Anserini topics) and pretokenized impact topics (see `QueryFileFormat`).
 */
export async function* readQueries(source: string | Readable, options: ReadQueriesOptions = {}): AsyncGenerator<QueryRecord> {
  const file = sourceName(source, options.label);
  const format = options.format ?? 'auto';
  if (!QUERY_FILE_FORMATS.includes(format)) throw new SpladexError('E_OPTION', `query format must be one of ${QUERY_FILE_FORMATS.join(', ')}, got ${String(format)}`);
  const tsvByName = format === 'auto' && typeof source === 'string' && /\.tsv$/i.test(source);
  let vocabulary: Vocabulary | undefined;
  for await (const line of readLines(source, options)) {
    const where = { file, line: line.line };
    const json = format === 'jsonl' || (format === 'auto' && !tsvByName && line.text.trimStart().startsWith('{'));
    if (!json) {
      if (format === 'auto' && !tsvByName && !line.text.includes('\t')) {
        throw new SpladexError('E_INPUT_JSON', 'a query line must be a JSON object or a TSV line "qid<TAB>text"', where);
      }
      yield tsvQuery(line.text, format === 'pretokenized', where);
      continue;
    }
    const raw = parseJsonObject(line, file);
    const pair = indicesPair(raw);
    if (pair !== undefined) {
      if (options.vocabulary === undefined) {
        throw new SpladexError('E_INPUT_VECTOR', 'this query is token ids ({"indices", "values"}) and no vocabulary maps them to tokens; give the model\'s vocab.txt or tokenizer.json with --vocab', where);
      }
      vocabulary ??= await options.vocabulary();
      const id = raw.id ?? raw._id ?? raw.qid ?? raw.query_id ?? line.line;
      const vector = validateVector(vectorFromIndices(pair.indices, pair.values, vocabulary, where), where);
      yield { id: normaliseId(id, where), vector, line: line.line, termSpace: vocabulary.termSpace };
      continue;
    }
    const id = normaliseId(raw.id ?? raw._id ?? raw.qid ?? raw.query_id, where);
    if (raw.vector !== undefined) {
      yield { id, vector: validateVector(raw.vector, where), line: line.line };
      continue;
    }
    const text = raw.text ?? raw.query ?? raw.contents ?? raw.content;
    if (typeof text !== 'string') {
      throw new SpladexError('E_INPUT_VECTOR', 'a query line needs a "vector" object, "indices" and "values" arrays, or a "text" string', where);
    }
    yield { id, text: checkStorableString(text, 'query text', where), line: line.line };
  }
}

/** The `indices`/`values` arrays of a line, top level or as the value of "vector"; undefined otherwise. */
function indicesPair(raw: Record<string, unknown>): { indices: unknown; values: unknown } | undefined {
  if (Array.isArray(raw.indices) || Array.isArray(raw.values)) return { indices: raw.indices, values: raw.values };
  const v = raw.vector as Record<string, unknown> | undefined;
  if (v !== null && typeof v === 'object' && (Array.isArray(v.indices) || Array.isArray(v.values))) return { indices: v.indices, values: v.values };
  return undefined;
}

function tsvQuery(text: string, pretokenized: boolean, where: Where & { line: number }): QueryRecord {
  const tab = text.indexOf('\t');
  if (tab < 0) throw new SpladexError('E_INPUT_JSON', 'a TSV query line must be "qid<TAB>text"', where);
  const id = normaliseId(text.slice(0, tab).trim(), where);
  const body = text.slice(tab + 1).trim();
  if (!pretokenized) {
    if (body.length === 0) throw new SpladexError('E_INPUT_VECTOR', `query ${JSON.stringify(id)} has no text after the tab`, where);
    return { id, text: checkStorableString(body, 'query text', where), line: where.line };
  }
  const vector: Record<string, number> = {};
  for (const token of body.split(/\s+/)) if (token.length > 0) vector[token] = (vector[token] ?? 0) + 1;
  return { id, vector: validateVector(vector, where), line: where.line };
}
