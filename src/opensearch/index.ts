/**
 * `spladex/opensearch` — the bridge to an OpenSearch cluster: export an index (mapping, bulk,
 * resumable), search it with the same result shape as local search, and the options tables the
 * CLI shares. Re-exports only; the OpenSearch client loads on the first connection.
 */
export { OPENSEARCH_CONNECTION_OPTIONS, OPENSEARCH_EXPORT_OPTIONS, type OpenSearchConnectionOptions, type OpenSearchExportOptions, type OpenSearchMethod } from './options.js';
export { OpenSearchConnection } from './connection.js';
export { exportToOpenSearch, writeBulkFile, mappingFileOf, type ExportRecord, type OpenSearchExportProgress, type OpenSearchExportRun, type OpenSearchExportSummary, type BulkFileSummary } from './export.js';
export { OpenSearchSearcher, type OpenSearchSearchOptions } from './searcher.js';
export { featureName, tokenOfFeature } from './features.js';
export { searchBody, translateFilter } from './query.js';
