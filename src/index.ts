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
} from './spladex-index.js';
export { readDocuments, readQueries, INPUT_LIMITS, type QueryRecord, type ReadDocumentsOptions } from './io/documents.js';
