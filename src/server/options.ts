/**
 * The options of `spladex serve` and `createServer` as two tables (src/util/options-table.ts):
 * how the server runs (`SERVE_OPTIONS`) and what one request may ask (`SERVE_LIMITS`). The CLI's
 * flags, their help and the range checks are derived from them; the request schemas take their
 * bounds from `SERVE_LIMITS` (schemas.ts), so a limit is written once.
 */
import { SEARCH_POOL_OPTIONS } from '../pool/options.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

export interface ServeOptions {
  /** Address to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** TCP port; 0 picks a free one (the address is printed, and returned by `listen`). Default 7700. */
  port?: number;
  /** Search worker threads sharing one copy of the index; 0 searches on the main thread. Default: the available cores (at most 64). */
  threads?: number;
  /** Bearer token required on every route but /health. Default: none (the CLI falls back to $SPLADEX_API_KEY). */
  apiKey?: string;
  /** Refuse the write routes (POST and DELETE /documents) with 403 `E_READ_ONLY`. Default false. */
  readOnly?: boolean;
  /** Every so many milliseconds the server moves to the latest commit (other writers' too); 0: only after its own writes. Default 1000. */
  refreshInterval?: number;
  /** Searches waiting for a search thread, at most; one more is refused with 503 `E_BUSY` (the pool's `queueLimit`). Default 1024. */
  queueLimit?: number;
  /** A search not answered within this many milliseconds (queueing included) fails with 504 `E_TIMEOUT`; 0: no limit. Default 30,000. */
  searchTimeout?: number;
  /** How long a write waits for another writer (spladex add, compact) to release the index before 409 `E_LOCKED`. Default 30,000 ms. */
  lockWait?: number;
  /** On SIGTERM, in-flight requests get this many milliseconds to finish before the process exits anyway. Default 10,000. */
  drainTimeout?: number;
}

export const SERVE_OPTIONS: OptionsTable<Required<ServeOptions>> = defineOptions<Required<ServeOptions>>({
  host: { type: 'string', default: '127.0.0.1', placeholder: 'address', help: 'address to listen on (0.0.0.0 or :: exposes the index to the network: set an API key then)' },
  port: { type: 'integer', min: 0, max: 65_535, default: 7700, help: 'TCP port (0 = a free port, printed at start)' },
  // The pool's default and upper bound; 0 (no pool) is the server's own.
  threads: { ...SEARCH_POOL_OPTIONS.specs.threads, min: 0, help: 'search worker threads sharing one copy of the index (0 = search on the main thread)' },
  apiKey: {
    type: 'string',
    placeholder: 'key',
    defaultText: '$SPLADEX_API_KEY, else none',
    check: (key) => (key.length === 0 || /\s/.test(key) ? 'must be a non-empty string without whitespace' : undefined),
    help: 'require "Authorization: Bearer <key>" on every route but /health',
  },
  readOnly: { type: 'boolean', default: false, help: 'refuse POST and DELETE /documents (403 E_READ_ONLY)' },
  refreshInterval: {
    type: 'integer',
    min: 0,
    max: 2 ** 31 - 1,
    default: 1000,
    placeholder: 'ms',
    help: 'move to the latest commit (other writers\' too: spladex add, compact) every ms milliseconds (0 = only after the server\'s own writes)',
  },
  queueLimit: { ...SEARCH_POOL_OPTIONS.specs.queueLimit, help: 'searches waiting for a search thread, at most; one more is refused (503 E_BUSY; --threads 1 or more)' },
  searchTimeout: {
    ...SEARCH_POOL_OPTIONS.specs.timeoutMs,
    default: 30_000,
    help: 'a search not answered within ms milliseconds, queueing included, fails (504 E_TIMEOUT; 0 = no limit; --threads 1 or more)',
  },
  lockWait: { type: 'integer', min: 0, max: 2 ** 31 - 1, default: 30_000, placeholder: 'ms', help: 'a write waits up to ms milliseconds for another writer to release the index (then 409 E_LOCKED)' },
  drainTimeout: { type: 'integer', min: 0, max: 2 ** 31 - 1, default: 10_000, placeholder: 'ms', help: 'on SIGTERM, in-flight requests get ms milliseconds to finish before the server exits anyway' },
});

export interface ServeLimits {
  /** Largest request body in bytes (413 beyond). Default 16 MiB. */
  bodyLimit?: number;
  /** Largest `k` of a search. Default 1000. */
  maxK?: number;
  /** Most queries in one `POST /search/batch`. Default 256. */
  maxBatch?: number;
  /** Most terms in one query vector. Default 1024. */
  maxQueryTerms?: number;
  /** Longest query text, in characters. Default 10,000. */
  maxQueryText?: number;
  /** Most documents in one `POST /documents`, or ids in one `DELETE /documents`. Default 10,000. */
  maxDocuments?: number;
}

export const SERVE_LIMITS: OptionsTable<Required<ServeLimits>> = defineOptions<Required<ServeLimits>>({
  bodyLimit: { type: 'integer', min: 1024, max: 2 ** 30, default: 16 * 2 ** 20, placeholder: 'bytes', help: 'largest request body (413 E_INPUT_LIMIT beyond)' },
  maxK: { type: 'integer', min: 1, max: 100_000, default: 1000, help: 'largest k of a search' },
  maxBatch: { type: 'integer', min: 1, max: 100_000, default: 256, help: 'most queries in one POST /search/batch' },
  maxQueryTerms: { type: 'integer', min: 1, max: 100_000, default: 1024, help: 'most terms in one query vector' },
  maxQueryText: { type: 'integer', min: 1, max: 2 ** 24, default: 10_000, placeholder: 'chars', help: 'longest query text' },
  maxDocuments: { type: 'integer', min: 1, max: 2 ** 24, default: 10_000, help: 'most documents in one POST /documents, or ids in one DELETE /documents' },
});
