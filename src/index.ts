/**
 * spladex public API. This file only re-exports; everything not listed here is internal.
 */
export { SpladexError, isSpladexError, type SpladexErrorCode } from './errors.js';
export { ioFailure, isIoFailure } from './util/io-failure.js';
export type { DocumentInput, QueryInput, SearchHit, SparseVectorInput } from './types.js';
export type { OptionsTable, OptionSpec, OptionSpecs, OptionBounds, OptionType, FlagDescription } from './util/options-table.js';
export { BUILD_OPTIONS, BUILD_DEFAULTS, LOSSLESS_BUILD, type BuildOptions, type BlockingStrategy, type ForwardValueType, type PruningStrategy } from './segment/options.js';
export { SEARCH_OPTIONS, SEARCH_DEFAULTS, LOSSLESS_SEARCH, type SearchOptions, type SearchMode } from './query/options.js';
export { SpladexIndex, IndexReader, IndexWriter, buildIndex, type OpenOptions } from './spladex-index.js';
export { openSearchPool, type SearchPool, type SearchPoolStats, type PoolSearchOptions } from './pool/pool.js';
export { SEARCH_POOL_OPTIONS, SEARCH_POOL_DEFAULTS, type SearchPoolOptions, type PoolRequestOptions } from './pool/options.js';
export { INDEX_FORMAT_VERSION, type Manifest, type SegmentEntry } from './store/manifest.js';
export type { BuildProgress } from './segment/ingest.js';
export type { SkippedLine } from './io/documents.js';
export type { StoredDocument } from './store/store.js';
export type { EncoderOverrides, StoredIdf } from './text/encoder-store.js';
export type { BuildSummary, IndexBuildOptions } from './writer/build-plan.js';
export { WRITE_OPTIONS, WRITE_DEFAULTS, type WriteOptions, type AddOptions, type AddSummary, type AddTextOptions, type DeleteSummary, type CompactSummary } from './writer/options.js';
export type { RecalibrationReport } from './writer/recalibrate.js';
export type { Calibration, CalibratedSetting, FrontierPoint } from './store/calibration.js';
export { meetsTarget } from './store/calibration.js';
export { CALIBRATED_SEARCH_OPTIONS, FILTER_SEARCH_DEFAULTS, FILTER_SEARCH_OPTIONS, type IndexSearchOptions, type FlopsReport, type IndexInfo, type ReaderOptions, type WriterOptions } from './reader/types.js';
export { openIndexEncoder } from './reader/index-encoder.js';
export { buildTextIndex, defaultEncoderKind, type TextIndexBuildOptions, type TextCorpusSource, type TextDocumentInput, type EncoderBuildReport } from './writer/text-index.js';
export { POSTING_PRUNING_OPTIONS, POSTING_PRUNING_DEFAULTS, type PostingPruningOptions, type PostingPruningReport, type ResolvedPostingPruning } from './segment/posting-pruning.js';
export { loadQueries, LOAD_QUERIES_OPTIONS, LOAD_QUERIES_DEFAULTS, type LoadQueriesOptions, type QueryTextEncoder, type VectorQuery } from './io/queries.js';
export { parseFilterCondition, FILTER_LIMITS, type Filter, type FieldCondition, type FilterScalar } from './store/filter.js';
export { verifyIndex, VERIFY_DEFAULTS, type VerifyOptions, type VerifyReport, type VerifyProblem } from './reader/verify.js';
export type { SegmentLayout } from './segment/segment.js';
export { readDocuments, readQueries, validateVector, INPUT_LIMITS, type QueryRecord, type ReadDocumentsOptions } from './io/documents.js';
export { readLines, READ_LINES_DEFAULTS } from './io/jsonl.js';
