/**
 * Options of the search pool (`openSearchPool`) and of one pooled request, as options tables
 * (src/util/options-table.ts): defaults, ranges and help written once.
 */
import { availableParallelism } from 'node:os';
import type { ReaderOptions } from '../reader/types.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

/** Options of `openSearchPool`; `encoder` (run-time settings of the stored encoder) as for a reader. */
export interface SearchPoolOptions extends ReaderOptions {
  /** Worker threads searching the one shared copy of the index. Default: the available cores; range 1 – 64. */
  threads?: number;
  /**
   * Requests waiting for a free thread, at most; one more is refused with `E_BUSY` at once (a
   * server answers 503 instead of letting latency grow without bound). Default 1024; range
   * 0 – 1,000,000 (0: refuse whenever every thread is busy).
   */
  queueLimit?: number;
  /**
   * Time limit of each request in milliseconds, queueing included: past it the request fails with
   * `E_TIMEOUT` (a search already running finishes on its thread, its result is discarded).
   * Default 0: none; range 0 – 2,147,483,647. A request's own `timeoutMs` wins.
   */
  timeoutMs?: number;
}

/** Per-request options of `SearchPool.search`, `searchBatch` and `searchText`, next to the search options. */
export interface PoolRequestOptions {
  /**
   * Cancels the request: still queued, it is dropped; already running, it is answered with the
   * error at once and its result discarded. Fails with `E_ABORTED` (`E_TIMEOUT` for
   * `AbortSignal.timeout`), the signal's reason as `cause`.
   */
  signal?: AbortSignal;
  /** This request's time limit in milliseconds (0: none); default: the pool's `timeoutMs`. */
  timeoutMs?: number;
}

/** Longest delay `setTimeout` takes (2^31 − 1 ms, about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The pool's own options (the table's part of `SearchPoolOptions`). */
export type PoolTableOptions = Required<Omit<SearchPoolOptions, keyof ReaderOptions>>;

export const SEARCH_POOL_OPTIONS: OptionsTable<PoolTableOptions> = defineOptions<PoolTableOptions>({
  threads: { type: 'integer', min: 1, max: 64, default: () => Math.max(1, Math.min(64, availableParallelism())), defaultText: 'the available cores', help: 'search threads sharing one copy of the index' },
  queueLimit: { type: 'integer', min: 0, max: 1_000_000, default: 1024, help: 'requests waiting for a thread, at most (one more is refused with E_BUSY)' },
  timeoutMs: { type: 'integer', min: 0, max: MAX_TIMEOUT_MS, default: 0, placeholder: 'ms', help: 'time limit of each search request, queueing included (0 = none)' },
});

export const SEARCH_POOL_DEFAULTS = SEARCH_POOL_OPTIONS.defaults;

/** The request's own time limit (no default: the pool's applies). */
export const POOL_REQUEST_OPTIONS = defineOptions<Pick<PoolRequestOptions, 'timeoutMs'>>({
  timeoutMs: { type: 'integer', min: 0, max: MAX_TIMEOUT_MS, placeholder: 'ms', help: "time limit of this request (0 = none; default: the pool's)" },
});
