/**
 * Hybrid search: several opened indexes answer the same query — each in its own term space (a
 * lexical BM25 index and a SPLADE index over the same document ids, say) — to a depth of their
 * own, and their hit lists are fused (fuse.ts) into the top k.
 *
 * Queries: text is encoded by each index with its own stored encoder (`searchText`); vectors come
 * one per index (`search`, `searchBatch`), or as per-index query sets matched by query id
 * (`searchQueries`), since a BM25 query vector means nothing to a SPLADE index.
 *
 * Fusion assumes the indexes share document ids. That is not checked up front (it would read
 * every id); instead the searcher counts the queries whose lists have no document in common
 * (`overlap()`), and callers warn when that is every query.
 */
import { SpladexError } from '../errors.js';
import type { VectorQuery } from '../io/queries.js';
import type { IndexSearchOptions } from '../reader/types.js';
import type { SpladexIndex } from '../spladex-index.js';
import type { SparseVectorInput } from '../types.js';
import { FUSION_OPTIONS, fuseHits, fusionWeights, listsAreDisjoint, type FusedHit, type FusionOptions } from './fuse.js';

/** Search options of every index (`k`: the fused hits kept) and the fusion's. */
export interface HybridSearchOptions extends IndexSearchOptions, FusionOptions {}

/** Per query: its id and fused hits. */
export interface FusedQueryResult {
  id: string;
  hits: FusedHit[];
}

/** How often the indexes' lists shared no document (see `listsAreDisjoint`). */
export interface FusionOverlap {
  /** Queries fused so far. */
  queries: number;
  /** Of them, those whose lists (at least two non-empty) had no document in common. */
  disjoint: number;
}

/** The hits each index retrieves for fused top-k: `depth`, else max(k, 100) (see `FusionOptions.depth`). */
function fusionDepth(k: number, depth: number | undefined): number {
  return depth ?? Math.max(k, 100);
}

/** Splits hybrid options into the fusion's (resolved, weights checked against `indexes`) and each index's search options. */
export function splitHybridOptions(indexes: number, options: HybridSearchOptions, defaultK: number): { fusion: FusionOptions & { k: number }; depth: number; search: IndexSearchOptions } {
  const { method, weights, rrfK, depth, k, ...search } = options;
  const resolved = FUSION_OPTIONS.resolve({ method, weights: weights as number[] | undefined, rrfK, depth });
  const fusedK = k ?? defaultK;
  return { fusion: { method: resolved.method, rrfK: resolved.rrfK, weights: fusionWeights(indexes, resolved.weights), k: fusedK }, depth: fusionDepth(fusedK, resolved.depth), search };
}

/**
 * Aligns per-index query sets by id: for each query of the first set (in its order), the vector
 * with the same id in every set. `E_INPUT_ID` when a set lacks one; queries only in later sets
 * are ignored. `labels` name the sets in errors (e.g. their files).
 */
export function alignQueries(sets: readonly (readonly VectorQuery[])[], labels: readonly string[] = []): { ids: string[]; vectors: SparseVectorInput[][] } {
  if (sets.length === 0) throw new SpladexError('E_OPTION', 'hybrid search needs at least one index');
  const ids = sets[0].map((q) => q.id);
  const vectors = sets.map((set, i) => {
    if (i === 0) return set.map((q) => q.vector);
    const byId = new Map(set.map((q) => [q.id, q.vector] as const));
    return ids.map((id) => {
      const vector = byId.get(id);
      if (vector === undefined) {
        throw new SpladexError('E_INPUT_ID', `query ${JSON.stringify(id)} of ${labels[0] ?? 'the first query set'} has no query with the same id in ${labels[i] ?? `query set ${i + 1}`}: each fused index needs every query`);
      }
      return vector;
    });
  });
  return { ids, vectors };
}

export class HybridSearcher {
  private queries = 0;
  private disjoint = 0;

  /** The indexes stay the caller's: closing the searcher is not needed, close them. */
  constructor(readonly indexes: readonly SpladexIndex[]) {
    if (indexes.length === 0) throw new SpladexError('E_OPTION', 'hybrid search needs at least one index');
  }

  /** One query: `queryPerIndex[i]` is the vector index i searches. */
  search(queryPerIndex: readonly SparseVectorInput[], options: HybridSearchOptions = {}): FusedHit[] {
    return this.searchBatch(
      queryPerIndex.map((q) => [q]),
      options,
    )[0];
  }

  /** Many queries: `queries[i][q]` is query q's vector for index i; every index gets as many. */
  searchBatch(queries: readonly (readonly SparseVectorInput[])[], options: HybridSearchOptions = {}): FusedHit[][] {
    if (queries.length !== this.indexes.length) throw new SpladexError('E_OPTION', `hybrid search over ${this.indexes.length} indexes needs one query set per index, got ${queries.length}`);
    const count = queries[0].length;
    if (queries.some((set) => set.length !== count)) throw new SpladexError('E_OPTION', `every index needs the same number of queries, got ${queries.map((s) => s.length).join(', ')}`);
    const { fusion, depth, search } = splitHybridOptions(this.indexes.length, options, 10);
    const lists = this.indexes.map((index, i) => index.searchBatch(queries[i], { ...search, k: depth }));
    const out: FusedHit[][] = new Array(count);
    for (let q = 0; q < count; q++) {
      const perIndex = lists.map((l) => l[q]);
      this.queries++;
      if (listsAreDisjoint(perIndex)) this.disjoint++;
      out[q] = fuseHits(perIndex, fusion);
    }
    return out;
  }

  /** Free text: each index encodes it with its own stored encoder (`E_INPUT_VECTOR` for an index built from vectors). */
  async searchText(text: string, options?: HybridSearchOptions): Promise<FusedHit[]>;
  async searchText(texts: readonly string[], options?: HybridSearchOptions): Promise<FusedHit[][]>;
  async searchText(input: string | readonly string[], options: HybridSearchOptions = {}): Promise<FusedHit[] | FusedHit[][]> {
    const texts = typeof input === 'string' ? [input] : [...input];
    for (const text of texts) if (typeof text !== 'string') throw new SpladexError('E_OPTION', `searchText takes a string or an array of strings, got ${typeof text}`);
    // Checks the options before any encoding work.
    this.searchBatch(
      this.indexes.map(() => []),
      options,
    );
    const vectors = await Promise.all(this.indexes.map(async (index) => (await index.encoder()).encodeQueries(texts)));
    const hits = this.searchBatch(vectors, options);
    return typeof input === 'string' ? hits[0] : hits;
  }

  /** Per-index query sets matched by id (see `alignQueries`); results in the first set's order. */
  searchQueries(sets: readonly (readonly VectorQuery[])[], options: HybridSearchOptions = {}, labels?: readonly string[]): FusedQueryResult[] {
    const { ids, vectors } = alignQueries(sets, labels);
    const hits = this.searchBatch(vectors, options);
    return ids.map((id, q) => ({ id, hits: hits[q] }));
  }

  /** Queries fused so far, and how many of them had lists with no document in common. */
  overlap(): FusionOverlap {
    return { queries: this.queries, disjoint: this.disjoint };
  }
}
