/**
 * The index as the server uses it: a `SearchPool` — the worker pool (`openSearchPool`), whose main
 * thread also answers `info` and stored documents from the one copy of the index its threads
 * search, or, for `threads: 0`, one reader on the calling thread behind the same interface.
 */
import { SpladexError } from '../errors.js';
import { openSearchPool, type SearchPool, type SearchPoolStats } from '../pool/pool.js';
import type { PoolRequestOptions } from '../pool/options.js';
import type { IndexReader } from '../reader/reader.js';
import type { IndexInfo, IndexSearchOptions } from '../reader/types.js';
import { SpladexIndex } from '../spladex-index.js';
import type { StoredDocument } from '../store/store.js';
import type { SearchHit, SparseVectorInput } from '../types.js';

export type RequestSearchOptions = IndexSearchOptions & PoolRequestOptions;

/** What the server needs of an index: the search pool's API. */
export type ServedIndex = SearchPool;

/** Drops the pool's request options, which a synchronous reader has no use for. */
function readerOptions(options: RequestSearchOptions = {}): IndexSearchOptions {
  const { signal: _signal, timeoutMs: _timeout, ...rest } = options;
  return rest;
}

/**
 * A served index over one reader on the calling thread: a search runs to its end before the event
 * loop turns again, so it cannot be timed out or cancelled once started (a request cancelled
 * before is dropped). `refresh` swaps in a reader of the latest commit (`openLatest`, which reuses
 * the loaded segments) and closes the old one once the requests using it are done — a text query
 * waits for its encoder between planning and searching.
 */
class InProcessIndex implements SearchPool {
  readonly threads = 0;
  private inFlight = 0;
  private completed = 0;
  private readonly users = new Map<IndexReader, number>();
  private closed = false;

  constructor(private reader: IndexReader) {}

  private async run<T>(options: RequestSearchOptions | undefined, work: (reader: IndexReader) => T | Promise<T>): Promise<T> {
    if (this.closed) throw new SpladexError('E_CLOSED', 'the index is closed (the server is shutting down)');
    if (options?.signal?.aborted) throw new SpladexError('E_ABORTED', 'the request was cancelled before it was answered');
    const reader = this.reader;
    this.users.set(reader, (this.users.get(reader) ?? 0) + 1);
    this.inFlight++;
    try {
      const result = await work(reader);
      this.completed++;
      return result;
    } finally {
      this.inFlight--;
      this.release(reader);
    }
  }

  private release(reader: IndexReader): void {
    const n = (this.users.get(reader) ?? 1) - 1;
    if (n > 0) this.users.set(reader, n);
    else {
      this.users.delete(reader);
      if (reader !== this.reader || this.closed) reader.close();
    }
  }

  search(query: SparseVectorInput, options?: RequestSearchOptions): Promise<SearchHit[]> {
    return this.run(options, (reader) => reader.search(query, readerOptions(options)));
  }

  searchBatch(queries: readonly SparseVectorInput[], options?: RequestSearchOptions): Promise<SearchHit[][]> {
    return this.run(options, (reader) => reader.searchBatch(queries, readerOptions(options)));
  }

  searchText(text: string, options?: RequestSearchOptions): Promise<SearchHit[]> {
    return this.run(options, (reader) => reader.searchText(text, readerOptions(options)));
  }

  async refresh(): Promise<{ generation: number; changed: boolean }> {
    const old = this.reader;
    const next = old.openLatest();
    if (next === undefined) return { generation: old.manifest.generation, changed: false };
    this.reader = next;
    if (!this.users.has(old)) old.close();
    return { generation: next.manifest.generation, changed: true };
  }

  stats(): SearchPoolStats {
    return { threads: 0, queueDepth: 0, inFlight: this.inFlight, generation: this.reader.manifest.generation, completed: this.completed };
  }

  info(): Promise<IndexInfo> {
    return this.run(undefined, (reader) => reader.info());
  }

  getDocuments(ids: readonly string[]): Promise<Array<StoredDocument | undefined>> {
    return this.run(undefined, (reader) => ids.map((id) => reader.getDocument(id)));
  }

  async close(): Promise<void> {
    this.closed = true;
    // Requests still running close their reader when they finish (release).
    if (!this.users.has(this.reader)) this.reader.close();
  }
}

/** Opens `dir` for serving: on `threads` worker threads sharing one copy of the index, or on the calling thread when `threads` is 0. */
export async function openServedIndex(dir: string, options: { threads: number; queueLimit: number; timeoutMs: number }): Promise<ServedIndex> {
  if (options.threads === 0) return new InProcessIndex(SpladexIndex.open(dir));
  return openSearchPool(dir, options);
}
