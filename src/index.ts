/**
 * spladex public API. This file only re-exports; everything not listed here is internal.
 */
export { SpladexError, isSpladexError, type SpladexErrorCode } from './errors.js';
export type { DocumentInput, QueryInput, SearchHit, SparseVectorInput } from './types.js';
export { BUILD_DEFAULTS, LOSSLESS_BUILD, type BuildOptions, type BlockingStrategy, type ForwardValueType, type PruningStrategy } from './index/options.js';
export { SEARCH_DEFAULTS, LOSSLESS_SEARCH, type SearchOptions, type SearchMode } from './query/options.js';
export {
  SpladexIndex,
  buildIndex,
  INDEX_FORMAT_VERSION,
  type BuildSummary,
  type BuildProgress,
  type IndexBuildOptions,
  type IndexInfo,
  type Manifest,
  type OpenOptions,
  type SkippedLine,
  WRITE_DEFAULTS,
  FILTER_SEARCH_DEFAULTS,
  type WriteOptions,
  type AddOptions,
  type AddSummary,
  type DeleteSummary,
  type CompactSummary,
  type IndexSearchOptions,
  type SegmentEntry,
  type StoredDocument,
  type AddTextOptions,
  type FlopsReport,
  type EncoderOverrides,
  type StoredIdf,
} from './spladex-index.js';
export { buildTextIndex, openIndexEncoder, defaultEncoderKind, type TextIndexBuildOptions, type TextCorpusSource, type TextDocumentInput, type EncoderBuildReport } from './text-index.js';
export { POSTING_PRUNING_DEFAULTS, type PostingPruningOptions, type PostingPruningReport, type ResolvedPostingPruning } from './index/posting-pruning.js';
export { loadQueries, LOAD_QUERIES_DEFAULTS, type LoadQueriesOptions, type QueryTextEncoder, type VectorQuery } from './eval/queries.js';
// The encoder API (text → sparse vectors): openEncoder, readCorpusJsonl, encodeCorpus, computeFlops, pruneToFlopsBudget, …
export * from './encode/index.js';
export { parseFilterCondition, FILTER_LIMITS, type Filter, type FieldCondition, type FilterScalar } from './index/filter.js';
export { verifyIndex, VERIFY_DEFAULTS, type VerifyOptions, type VerifyReport, type VerifyProblem } from './index/verify.js';
export type { SegmentLayout } from './index/segment.js';
export { readDocuments, readQueries, INPUT_LIMITS, type QueryRecord, type ReadDocumentsOptions } from './io/documents.js';
