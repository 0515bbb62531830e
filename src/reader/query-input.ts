/**
 * The shape check of a vector query, shared by the reader's and the search pool's `search` and
 * `searchBatch`. A string or an array has no token → weight entries, so without this check it
 * searched as an empty query and returned no hits: a silently wrong answer for someone who meant
 * free text (`searchText`) or several queries (`searchBatch`).
 */
import { SpladexError } from '../errors.js';
import type { SparseVectorInput } from '../types.js';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Map) return 'a Map';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** `E_INPUT_VECTOR` unless `query` is a plain `{token: weight}` object; `method` and `position` say which call and which query. */
export function checkQueryVector(query: unknown, method: 'search' | 'searchBatch' | 'explain', position?: number): asserts query is SparseVectorInput {
  if (query !== null && typeof query === 'object' && !Array.isArray(query) && !(query instanceof Map)) return;
  const what = position === undefined ? 'the query' : `query ${position}`;
  const hint =
    typeof query === 'string'
      ? `to search free text, call searchText(${position === undefined ? 'text' : 'texts'}) (an index built from text encodes it with its stored encoder)`
      : Array.isArray(query) && position === undefined
        ? 'for several queries call searchBatch([...]); for free text call searchText(text or texts)'
        : 'give an object of token → weight, e.g. { paula: 2.1, brother: 1.4 }; for free text call searchText';
  throw new SpladexError('E_INPUT_VECTOR', `${method}: ${what} is ${describe(query)}, not a sparse vector {token: weight}; ${hint}`);
}

/** Checks every query of a batch (and that the batch is an array). */
export function checkQueryVectors(queries: unknown): asserts queries is readonly SparseVectorInput[] {
  if (!Array.isArray(queries)) throw new SpladexError('E_INPUT_VECTOR', `searchBatch takes an array of sparse vectors {token: weight}, got ${describe(queries)}; for one query call search(vector), for free text searchText(texts)`);
  queries.forEach((query, i) => checkQueryVector(query, 'searchBatch', i));
}
