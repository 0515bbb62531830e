/**
 * Query loading for `bench`, `eval` and the build's calibration query log: the one place query
 * files are read, vector or text lines.
 * Text lines (`{"id"|"_id", "text"|"query"}`) are encoded with the encoder the index was built with
 * (`LoadQueriesOptions.encoder`, opened only when the file holds a text line), in order, in batches.
 */
import { SpladexError } from '../errors.js';
import { QUERY_FILE_FORMATS, readQueries, type QueryFileFormat, type QueryRecord } from './documents.js';
import type { Vocabulary } from './vocabulary.js';
import type { SparseVectorInput } from '../types.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

/** A query ready to search: its id and sparse vector. */
export interface VectorQuery {
  id: string;
  vector: SparseVectorInput;
  /** The term space of a vector mapped from token ids through a vocabulary; undefined otherwise. */
  termSpace?: string;
}

/** What text queries are encoded with: an `Encoder` (e.g. `openIndexEncoder(dir)`), or anything with `encodeQueries`. */
export interface QueryTextEncoder {
  encodeQueries(texts: readonly string[]): Promise<SparseVectorInput[]>;
}

export interface LoadQueriesOptions {
  /** Read at most this many queries (file order); 0 means all. Default 0. */
  limit?: number;
  /**
   * Multiplies every query weight. Scaling a query never changes its ranking; it only puts scores on
   * another scale (some published query files store weights ×10 or ×100). Default 1; range (0, 1e6].
   */
  weightScale?: number;
  /**
   * Opens the encoder for text lines, called at most once, at the first text line. Without it a
   * text line is an `E_INPUT_VECTOR` error. The caller disposes what it opened.
   */
  encoder?: () => Promise<QueryTextEncoder>;
  /** Texts per `encodeQueries` call. Default 256; range 1 – 1,000,000. */
  batchSize?: number;
  /** The file's format (see `QueryFileFormat`). Default `auto`: TSV for `*.tsv`, else JSONL or TSV by each line's content. */
  format?: QueryFileFormat;
  /** The vocabulary of `{"indices", "values"}` lines (e.g. `readVocabulary(file)`), loaded at the first such line. */
  vocabulary?: () => Promise<Vocabulary>;
}

type TabledLoadOptions = Required<Omit<LoadQueriesOptions, 'encoder' | 'vocabulary'>>;

/** The options of `loadQueries` but the encoder: default, range, flag and help of each (see src/util/options-table.ts). */
export const LOAD_QUERIES_OPTIONS: OptionsTable<TabledLoadOptions> = defineOptions<TabledLoadOptions>({
  limit: { type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, help: 'use only the first n queries (0 = all)' },
  weightScale: { type: 'number', min: 0, minOpen: true, max: 1e6, default: 1, flag: false, help: 'multiplies every query weight' },
  batchSize: { type: 'integer', min: 1, max: 1_000_000, default: 256, flag: false, help: 'texts per encodeQueries call' },
  format: {
    type: 'enum',
    values: QUERY_FILE_FORMATS,
    default: 'auto',
    flag: 'query-format',
    placeholder: 'format',
    help: 'query file format: jsonl, tsv (TREC/Anserini topics qid<TAB>text), pretokenized (Anserini impact topics qid<TAB>tok tok …, a repeat adds 1), auto (tsv for *.tsv, else by line)',
  },
});

export const LOAD_QUERIES_DEFAULTS: TabledLoadOptions = LOAD_QUERIES_OPTIONS.defaults;

/** Reads `{"id", "vector"}` and (with an encoder) `{"id", "text"}` JSONL queries, in file order. */
export async function loadQueries(file: string, options: LoadQueriesOptions = {}): Promise<VectorQuery[]> {
  const { vocabulary, encoder: _encoder, ...tabled } = options;
  const { limit, weightScale, batchSize, format } = LOAD_QUERIES_OPTIONS.resolve(tabled);
  const queries: VectorQuery[] = [];
  let encoder: QueryTextEncoder | undefined;
  // Text queries waiting for their batch: their slots in `queries` are filled when it is encoded.
  let pending: Array<{ slot: number; text: string }> = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const vectors = await encoder!.encodeQueries(batch.map((p) => p.text));
    batch.forEach(({ slot }, i) => {
      queries[slot].vector = weightScale === 1 ? vectors[i] : scaleVector(vectors[i], weightScale);
    });
  };
  for await (const record of readQueries(file, { format, ...(vocabulary === undefined ? {} : { vocabulary }) })) {
    if (record.vector !== undefined) {
      const query: VectorQuery = { id: record.id, vector: weightScale === 1 ? record.vector : scaleVector(record.vector, weightScale) };
      if (record.termSpace !== undefined) query.termSpace = record.termSpace;
      queries.push(query);
    } else {
      if (options.encoder === undefined) throw textQueryError(file, record);
      try {
        encoder ??= await options.encoder();
      } catch (error) {
        // Name the line that needed the encoder (e.g. a text query on an index built from vectors).
        if (error instanceof SpladexError && error.file === undefined) throw new SpladexError(error.code, error.message, { file, line: record.line, cause: error });
        throw error;
      }
      pending.push({ slot: queries.length, text: record.text as string });
      queries.push({ id: record.id, vector: {} });
      if (pending.length >= batchSize) await flush();
    }
    if (queries.length === limit) break;
  }
  await flush();
  return queries;
}

function textQueryError(file: string, record: QueryRecord): SpladexError {
  return new SpladexError('E_INPUT_VECTOR', 'this line is a text query, and no encoder was given to encode it; use an index built from text, or give query vectors ({"id", "vector"})', {
    file,
    line: record.line,
  });
}

function scaleVector(vector: SparseVectorInput, factor: number): SparseVectorInput {
  const scaled: SparseVectorInput = {};
  for (const token in vector) scaled[token] = vector[token] * factor;
  return scaled;
}
