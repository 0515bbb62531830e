/**
 * Query loading for `bench` and `eval`: one function, so that text queries can be encoded here
 * once an index knows its encoder, without touching either command.
 */
import { checkRange, SpladexError } from '../errors.js';
import { readQueries } from '../io/documents.js';
import type { SparseVectorInput } from '../types.js';

/** A query ready to search: its id and sparse vector. */
export interface VectorQuery {
  id: string;
  vector: SparseVectorInput;
}

export interface LoadQueriesOptions {
  /** Read at most this many queries (file order); 0 means all. Default 0. */
  limit?: number;
  /**
   * Multiplies every query weight. Scaling a query never changes its ranking; it only puts scores on
   * another scale (some published query files store weights ×10 or ×100). Default 1; range (0, 1e6].
   */
  weightScale?: number;
}

export const LOAD_QUERIES_DEFAULTS: Required<LoadQueriesOptions> = Object.freeze({ limit: 0, weightScale: 1 });

/**
 * Reads `{"id", "vector"}` JSONL queries. Text queries (`{"id", "text"}`) are refused for now:
 * encoding them needs the encoder the index was built with, which is where it will plug in.
 */
export async function loadQueries(file: string, options: LoadQueriesOptions = {}): Promise<VectorQuery[]> {
  const limit = options.limit ?? LOAD_QUERIES_DEFAULTS.limit;
  const weightScale = options.weightScale ?? LOAD_QUERIES_DEFAULTS.weightScale;
  checkRange('limit', limit, 0, Number.MAX_SAFE_INTEGER, true);
  checkRange('weightScale', weightScale, Number.MIN_VALUE, 1e6);
  const queries: VectorQuery[] = [];
  for await (const record of readQueries(file)) {
    if (record.vector === undefined) {
      throw new SpladexError('E_INPUT_VECTOR', 'text queries need an index built from text with an encoder; this line has no "vector"', { file, line: record.line });
    }
    queries.push({ id: record.id, vector: weightScale === 1 ? record.vector : scaleVector(record.vector, weightScale) });
    if (queries.length === limit) break;
  }
  return queries;
}

function scaleVector(vector: SparseVectorInput, factor: number): SparseVectorInput {
  const scaled: SparseVectorInput = {};
  for (const token in vector) scaled[token] = vector[token] * factor;
  return scaled;
}
