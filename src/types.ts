/**
 * Public data shapes shared by every module.
 */

/** A sparse vector as users write it: token string → weight (finite, ≥ 0). */
export type SparseVectorInput = Record<string, number>;

/** One document handed to the index builder. */
export interface DocumentInput {
  /** External id (numbers are converted to their decimal string). */
  id: string | number;
  /** Learned sparse representation. May be empty: such a document is stored but never matches. */
  vector: SparseVectorInput;
  /** Optional text, stored with the document (Seismic's `content`, Pyserini's `contents`). */
  content?: string;
  /** Optional metadata object, stored as JSON with the document. */
  metadata?: Record<string, unknown>;
}

/** A query: a sparse vector and an optional id to label its results. */
export interface QueryInput {
  id?: string | number;
  vector: SparseVectorInput;
}

/** One search result. */
export interface SearchHit {
  /** External document id. */
  id: string;
  /** Dot product between query and document vectors (as stored in the forward index). */
  score: number;
}
