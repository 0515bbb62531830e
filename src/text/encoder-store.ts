/**
 * The encoder and IDF table stored with an index built from text (or with an IDF table), so that
 * queries are encoded exactly the way the documents were:
 *
 *   meta "encoder"  { spec: EncoderSpec }                         (src/encode/spec.ts)
 *   meta "idf"      { source, terms: string[], idf: number[] }    term → IDF, parallel arrays
 *
 * Both live in the `meta` table of spladex.db with a CRC-32 of their text like every meta value,
 * and the manifest names the CRC of each (`Manifest.encoder.crc`, `Manifest.idf.crc`): they change
 * only in the same transaction as the manifest, and a value that does not belong to the committed
 * manifest is `E_CORRUPT`. They are read lazily — a reader that never encodes text never parses them.
 */
import { SpladexError } from '../errors.js';
import { openEncoderFromSpec, type Encoder, type EncoderOptions } from '../encode/encoder.js';
import type { IdfTable } from '../encode/idf.js';
import { parseEncoderSpec, type EncoderSpec } from '../encode/spec.js';
import type { Manifest, ManifestEncoderRef, ManifestIdfRef } from '../store/manifest.js';
import type { DocumentStore } from '../store/store.js';
import { analyzerTermSpace, tagEncodedVectors } from '../io/term-space.js';
import { readVocabulary, type Vocabulary } from '../io/vocabulary.js';
import { isAbsolute, join, relative } from 'node:path';

export const ENCODER_META_KEY = 'encoder';
export const IDF_META_KEY = 'idf';

/** Where a stored IDF table came from. */
export type StoredIdfSource =
  /** An idf.json file (the model's, or given with `--idf`), with its SHA-256. */
  | { type: 'file'; file: string; sha256: string }
  /** BM25 IDF of the indexed corpus, `ln(1 + (N − df + 0.5)/(df + 0.5))` over `documents` = N. */
  | { type: 'corpus'; formula: 'bm25'; documents: number }
  /** A table given through the library. */
  | { type: 'table' };

export interface StoredIdf {
  source: StoredIdfSource;
  table: IdfTable;
}

/** What an index stores besides its vectors to encode text: both optional. */
export interface TextMeta {
  encoder?: EncoderSpec;
  idf?: StoredIdf;
}

interface IdfRecord {
  source: StoredIdfSource;
  terms: string[];
  idf: number[];
}

/**
 * Writes (or removes) the encoder and IDF records inside the caller's transaction and returns the
 * manifest references that bind them.
 */
export function writeTextMeta(store: DocumentStore, meta: TextMeta): Pick<Manifest, 'encoder' | 'idf'> {
  const refs: Pick<Manifest, 'encoder' | 'idf'> = {};
  const encoder = writeEncoderMeta(store, meta.encoder);
  const idf = writeIdfMeta(store, meta.idf);
  if (encoder !== undefined) refs.encoder = encoder;
  if (idf !== undefined) refs.idf = idf;
  return refs;
}

/** Writes (or, for undefined, removes) the encoder record; returns its manifest reference. */
function writeEncoderMeta(store: DocumentStore, spec: EncoderSpec | undefined): ManifestEncoderRef | undefined {
  if (spec === undefined) {
    store.deleteMeta(ENCODER_META_KEY);
    return undefined;
  }
  const crc = store.setMeta(ENCODER_META_KEY, { spec });
  return { kind: spec.kind, label: spec.label, crc };
}

/** Writes (or, for undefined, removes) the IDF record; returns its manifest reference. */
export function writeIdfMeta(store: DocumentStore, idf: StoredIdf | undefined): ManifestIdfRef | undefined {
  if (idf === undefined) {
    store.deleteMeta(IDF_META_KEY);
    return undefined;
  }
  const terms: string[] = [];
  const values: number[] = [];
  for (const [term, value] of idf.table) {
    terms.push(term);
    values.push(value);
  }
  const record: IdfRecord = { source: idf.source, terms, idf: values };
  const crc = store.setMeta(IDF_META_KEY, record);
  return { source: idf.source.type, terms: terms.length, crc };
}

/** Copies the records a manifest names from one store to another (save). */
export function copyTextMeta(from: DocumentStore, to: DocumentStore, manifest: Manifest): void {
  for (const [key, ref] of [
    [ENCODER_META_KEY, manifest.encoder],
    [IDF_META_KEY, manifest.idf],
  ] as const) {
    if (ref === undefined) continue;
    const value = readBound(from, key, ref);
    to.setMeta(key, value);
  }
}

function readBound(store: DocumentStore, key: string, ref: ManifestEncoderRef | ManifestIdfRef): unknown {
  const stored = store.getMetaWithCrc<unknown>(key);
  if (stored === undefined) throw store.corrupt(`the manifest names a stored "${key}" record, but it is missing`);
  if (stored.crc !== ref.crc) throw store.corrupt(`the stored "${key}" record does not belong to the committed manifest (checksum ${stored.crc}, manifest ${ref.crc})`);
  return stored.value;
}

/** The stored encoder spec, or null for an index built from vectors. */
export function readStoredEncoder(store: DocumentStore, manifest: Manifest): EncoderSpec | null {
  if (manifest.encoder === undefined) return null;
  const value = readBound(store, ENCODER_META_KEY, manifest.encoder) as { spec?: unknown } | null;
  if (value === null || typeof value !== 'object') throw store.corrupt('the stored encoder record is not an object');
  // A damaged spec is E_CORRUPT, a newer spec version E_FORMAT_VERSION (both name the store).
  return parseEncoderSpec(value.spec, store.path);
}

/** The stored IDF table, or null when the index has none. */
export function readStoredIdf(store: DocumentStore, manifest: Manifest): StoredIdf | null {
  if (manifest.idf === undefined) return null;
  const value = readBound(store, IDF_META_KEY, manifest.idf) as Partial<IdfRecord> | null;
  const bad = (what: string): SpladexError => store.corrupt(`the stored IDF table is invalid (${what})`);
  if (value === null || typeof value !== 'object' || !Array.isArray(value.terms) || !Array.isArray(value.idf)) throw bad('not a table');
  if (value.terms.length !== value.idf.length || value.terms.length !== manifest.idf.terms) throw bad('lengths differ');
  const source = value.source as StoredIdfSource | undefined;
  if (source === undefined || source === null || typeof source !== 'object' || !['file', 'corpus', 'table'].includes(source.type)) throw bad('unknown source');
  const table = new Map<string, number>();
  for (let i = 0; i < value.terms.length; i++) {
    const term = value.terms[i];
    const idf = value.idf[i];
    if (typeof term !== 'string' || typeof idf !== 'number' || !Number.isFinite(idf) || idf < 0) throw bad(`entry ${i}`);
    table.set(term, idf);
  }
  return { source, table };
}

/** Run-time settings a stored encoder may be reopened with; everything else comes from its spec. */
export type EncoderOverrides = Pick<EncoderOptions, 'model' | 'tokenizer' | 'vocab' | 'threads' | 'batchSize' | 'maxBatchTokens' | 'verifyChecksum' | 'onDownload'>;

/**
 * Reopens the encoder an index was built with, with the IDF table stored in the index (so no
 * idf.json is needed at query time); `termSpace`, the index's, tags its query vectors (term-space.ts). `overrides.model` relocates the model directory; the model and
 * tokenizer must still have the checksums of the build (`E_MODEL` otherwise).
 */
export async function openStoredEncoder(spec: EncoderSpec, idf: StoredIdf | null, overrides: EncoderOverrides = {}, termSpace?: string): Promise<Encoder> {
  const options: EncoderOptions = { ...overrides };
  if (spec.kind !== 'splade' && idf !== null) options.idf = idf.table;
  const encoder = await openEncoderFromSpec(spec, options);
  if (termSpace === undefined) return encoder;
  // Its query vectors are in the index's term space by construction: tagged so no search judges them by content.
  const encodeQueries = encoder.encodeQueries.bind(encoder);
  return Object.assign(encoder, { encodeQueries: async (texts: readonly string[]) => tagEncodedVectors(await encodeQueries(texts), termSpace) });
}

/**
 * The term space of an encoder's terms (src/io/term-space.ts): the English analyzer's, or the
 * tokenizer's vocabulary (read from its file, so a vocab.txt and a tokenizer.json holding the same
 * tokens name the same space).
 */
export async function encoderTermSpace(spec: EncoderSpec): Promise<string> {
  const tokenizer = spec.tokenizer;
  if (tokenizer.type === 'english-analyzer') return analyzerTermSpace(tokenizer.stemmer);
  return (await readVocabulary(tokenizer.file)).termSpace;
}

/**
 * The vocabulary of an encoder's tokenizer (token id → token), for `{"indices", "values"}` query
 * vectors; `modelDir` relocates a tokenizer that lived in the model directory. `E_OPTION` for the
 * English analyzer, which has no ids.
 */
export async function encoderVocabulary(spec: EncoderSpec, modelDir?: string): Promise<Vocabulary> {
  const tokenizer = spec.tokenizer;
  if (tokenizer.type === 'english-analyzer') {
    throw new SpladexError('E_OPTION', 'this index is lexical over the English analyzer, whose terms have no token ids; give the vocabulary of the ids with --vocab');
  }
  let file = tokenizer.file;
  if (modelDir !== undefined && spec.model !== null) {
    const rel = relative(spec.model.dir, file);
    if (!rel.startsWith('..') && !isAbsolute(rel)) file = join(modelDir, rel);
  }
  return readVocabulary(file);
}

/** The error for text given to an index that stores no encoder. */
export function noEncoderError(path: string, where: { file?: string; line?: number } = {}): SpladexError {
  return new SpladexError(
    'E_INPUT_VECTOR',
    `the index ${path} was built from sparse vectors and stores no encoder, so it cannot encode text queries; ` +
      'search it with query vectors ({"id", "vector": {token: weight}}, e.g. from "spladex encode --as queries" with the documents\' model), ' +
      'or rebuild it from text with "spladex index <corpus.jsonl> --out <dir> --input text [--model <dir>]"',
    where,
  );
}
