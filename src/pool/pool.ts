/**
 * The search pool: the reader's search API as promises, answered by worker threads that share one
 * copy of the loaded index.
 *
 * How the copy is shared: the main thread opens an ordinary `IndexReader` whose segment files are
 * read (and checksummed) once into shared memory — a shared WebAssembly memory with one scratch
 * slot per thread, or a SharedArrayBuffer without WebAssembly (`sharedSegmentAllocator`). Each
 * worker views the same bytes (`viewSegment`: no read, no copy) with searchers of its own. The main
 * thread keeps everything else of the snapshot: SQLite, deletes, filters, the external ids and the
 * stored encoder. A request is planned there (`IndexReader.planSearch`: options, calibrated
 * defaults, filter → plans, reused per state for options without a filter; delete masks and filter
 * masks are copied once into shared memory), its queries are written as tokens and weights into a
 * slot of the thread's shared channel (channel.ts, query-codec.ts), prepared for each segment and
 * searched on the worker as the reader prepares and searches them, and answered as
 * document keys and scores that the main thread turns into hits: results are those of the
 * synchronous reader, bit for bit.
 *
 * States: each committed state the pool serves has an id; a request holds its state until its
 * worker answers, so `refresh()` never changes what a running or queued request sees, and a state
 * is dropped (its reader closed, its segments released by the workers) once no request holds it.
 */
import { SpladexError } from '../errors.js';
import { hitsOf, type RankedKeys, type SegmentPlan } from '../query/fan-out.js';
import { sharedSegmentAllocator, sharedSegmentBytes } from '../query/wasm-kernel.js';
import { IndexReader, type SearchPlan } from '../reader/reader.js';
import { checkQueryVector, checkQueryVectors } from '../reader/query-input.js';
import type { LoadedSegment } from '../reader/snapshot.js';
import type { IndexInfo, IndexSearchOptions } from '../reader/types.js';
import type { Segment } from '../segment/segment.js';
import type { StoredDocument } from '../store/store.js';
import type { SearchHit, SparseVectorInput } from '../types.js';
import { compiledWorker } from '../util/worker.js';
import { POOL_REQUEST_OPTIONS, SEARCH_POOL_OPTIONS, type PoolRequestOptions, type PoolTableOptions, type SearchPoolOptions } from './options.js';
import { allocateSharedLists, type ErrorMessage, type PlanMessage, type SegmentDescriptor, type SharedLists } from './protocol.js';
import { buildTokenTable, type TokenTable } from './query-codec.js';
import { PoolThreads, type PoolThread, type ThreadRequest } from './threads.js';

/** Options of one pooled search: the reader's search options, a signal and a time limit. */
export type PoolSearchOptions = IndexSearchOptions & PoolRequestOptions;

export interface SearchPoolStats {
  threads: number;
  /** Requests waiting for a thread. */
  queueDepth: number;
  /** Requests handed to a thread and not answered yet: running, or next in its other slot (including ones whose caller gave up). */
  inFlight: number;
  /** Generation of the committed state new requests search. */
  generation: number;
  /** Requests answered with results since the pool opened. */
  completed: number;
}

export interface SearchPool {
  readonly threads: number;
  /** Searches one query (token → weight) on a worker thread; the reader's `search`, as a promise. */
  search(query: SparseVectorInput, options?: PoolSearchOptions): Promise<SearchHit[]>;
  /** Searches many queries with the same options as one request (one thread, one queue slot). */
  searchBatch(queries: readonly SparseVectorInput[], options?: PoolSearchOptions): Promise<SearchHit[][]>;
  /** Encodes `text` with the index's stored encoder (on the main thread), then searches it on a worker. */
  searchText(text: string, options?: PoolSearchOptions): Promise<SearchHit[]>;
  /**
   * Moves new requests to the latest committed state (segments already loaded are reused; new
   * ones are read on the calling thread). Requests already queued or running finish on their
   * state. If the new state cannot be loaded, the error is thrown and the pool keeps serving the
   * old one.
   */
  refresh(): Promise<{ generation: number; changed: boolean }>;
  stats(): SearchPoolStats;
  /** The reader's `info()` of the current state (on the calling thread, from the same copy of the index the threads search). */
  info(): Promise<IndexInfo>;
  /** Stored text and metadata of live documents of the current state, in the order asked (undefined: no live document with that id). */
  getDocuments(ids: readonly string[]): Promise<Array<StoredDocument | undefined>>;
  /** Refuses new requests (`E_CLOSED`), answers every accepted one, then stops the threads. */
  close(): Promise<void>;
}

type Phase = 'encoding' | 'queued' | 'running' | 'done';

/** What a request holds from submission until it no longer needs its state. */
interface Request {
  id: number;
  state: PoolState;
  phase: Phase;
  /** Answered (or failed): the caller no longer waits; a running search still ends on its thread. */
  settled: boolean;
  queries: readonly SparseVectorInput[];
  planned: Planned;
  resolve(hits: SearchHit[][]): void;
  reject(error: unknown): void;
  cleanup: Array<() => void>;
}

interface PoolState {
  id: number;
  generation: number;
  reader: IndexReader;
  segments: LoadedSegment[];
  descriptors: SegmentDescriptor[];
  /** Requests holding this state (queued, encoding or running). */
  users: number;
}

/** A search plan and the key of its settings (equal settings: one id on a thread). */
interface Planned extends SearchPlan {
  settingsKey: string;
}

/**
 * The compiled worker script. Next to this module in the package; when this module runs from the
 * TypeScript sources (the repository's tests), the copy `tsc` put in dist/.
 */
function workerScript(): string {
  const path = compiledWorker(import.meta.url, './pool-worker.js') ?? compiledWorker(import.meta.url, '../../dist/src/pool/pool-worker.js');
  if (path === undefined) throw new SpladexError('E_IO', 'the search pool worker script (pool-worker.js) is missing; build spladex with "npm run build" (tsc) first');
  return path;
}

const closedError = (): SpladexError => new SpladexError('E_CLOSED', 'the search pool is closed; open a new one with openSearchPool()');

function abortError(reason: unknown): SpladexError {
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new SpladexError('E_TIMEOUT', "the request's AbortSignal timed out before it was answered; allow more time, add threads or lower the load", { cause: reason });
  }
  return new SpladexError('E_ABORTED', 'the request was cancelled through its AbortSignal before it was answered', { cause: reason });
}

/** A worker's error as the caller sees it: a SpladexError keeps its code and fields. */
function fromWorker(error: ErrorMessage): Error {
  if (error.code === undefined) {
    const plain = new Error(error.message);
    if (error.stack !== undefined) plain.stack = error.stack;
    return plain;
  }
  const typed = new SpladexError(error.code as SpladexError['code'], error.message);
  return Object.assign(typed, error.file === undefined ? {} : { file: error.file }, error.line === undefined ? {} : { line: error.line }, error.offset === undefined ? {} : { offset: error.offset });
}

/** A copy of `array` in shared memory (the same array when it already is), made once per array. */
function sharedCopy<T extends Uint8Array | Uint32Array>(cache: WeakMap<object, T>, array: T | undefined, make: (buffer: SharedArrayBuffer) => T): T | undefined {
  if (array === undefined || array.buffer instanceof SharedArrayBuffer) return array;
  let copy = cache.get(array);
  if (copy === undefined) {
    copy = make(new SharedArrayBuffer(array.byteLength));
    copy.set(array);
    cache.set(array, copy);
  }
  return copy;
}

const first = (hits: SearchHit[][]): SearchHit[] => hits[0];
const all = (hits: SearchHit[][]): SearchHit[][] => hits;

class Pool implements SearchPool {
  readonly threads: number;
  private readonly queueLimit: number;
  private readonly timeoutMs: number;
  private readonly workers: PoolThreads;
  private readonly states = new Map<number, PoolState>();
  private current: PoolState;
  private readonly queue: Request[] = [];
  /** Requests on a thread, by id (a settled one stays until its thread answers). */
  private readonly running = new Map<number, Request>();
  private nextRequest = 0;
  private nextState = 1;
  private completed = 0;
  /** Requests a thread skipped because their caller had given up before they ran. */
  private skipped = 0;
  /** Requests not finished with their state yet; `close()` waits for 0. */
  private outstanding = 0;
  private drainWaiters: Array<() => void> = [];
  private closed = false;
  private closing: Promise<void> | undefined;
  private refreshing: Promise<unknown> = Promise.resolve();
  // Shared copies, made once per segment or plan array (keyed by the reader's objects).
  private readonly segmentKeys = new WeakMap<Segment, number>();
  private nextSegmentKey = 1;
  private readonly sharedLists = new WeakMap<Segment, SharedLists>();
  private readonly tokenTables = new WeakMap<Segment, TokenTable>();
  /** Each reader plan with its settings key, made once per plan object. */
  private readonly plannedOf = new WeakMap<SearchPlan, Planned>();
  private readonly sharedMasks = new WeakMap<object, Uint8Array>();
  private readonly sharedDocs = new WeakMap<object, Uint32Array>();

  constructor(reader: IndexReader, options: PoolTableOptions, script: string) {
    this.threads = options.threads;
    this.queueLimit = options.queueLimit;
    this.timeoutMs = options.timeoutMs;
    this.current = this.addState(reader);
    this.workers = new PoolThreads(script, this.threads, {
      states: () => [...this.states.values()].map((s) => ({ state: s.id, segments: s.descriptors })),
      answered: (thread, id, answer) => this.answered(thread, id, answer),
      died: (thread, ids, error) => this.threadDied(thread, ids, error),
    });
  }

  started(): Promise<void> {
    return this.workers.started();
  }

  search(query: SparseVectorInput, options: PoolSearchOptions = {}): Promise<SearchHit[]> {
    try {
      checkQueryVector(query, 'search');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.submit(options, [query], undefined, first);
  }

  searchBatch(queries: readonly SparseVectorInput[], options: PoolSearchOptions = {}): Promise<SearchHit[][]> {
    try {
      checkQueryVectors(queries);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.submit(options, queries, undefined, all);
  }

  searchText(text: string, options: PoolSearchOptions = {}): Promise<SearchHit[]> {
    if (typeof text !== 'string') return Promise.reject(new SpladexError('E_OPTION', `searchText takes a string, got ${typeof text}`));
    return this.submit(options, undefined, [text], first);
  }

  refresh(): Promise<{ generation: number; changed: boolean }> {
    // One refresh at a time, each reading what was committed before it started.
    const run = this.refreshing.then(() => {
      if (this.closed) throw closedError();
      const old = this.current;
      const next = old.reader.openLatest();
      if (next === undefined) return { generation: old.generation, changed: false };
      this.current = this.addState(next);
      this.workers.broadcast({ type: 'state', state: this.current.id, segments: this.current.descriptors });
      this.release(old);
      return { generation: this.current.generation, changed: true };
    });
    this.refreshing = run.catch(() => undefined);
    return run;
  }

  stats(): SearchPoolStats {
    return { threads: this.threads, queueDepth: this.queue.length, inFlight: this.workers.busy(), generation: this.current.generation, completed: this.completed };
  }

  async info(): Promise<IndexInfo> {
    if (this.closed) throw closedError();
    return this.current.reader.info();
  }

  async getDocuments(ids: readonly string[]): Promise<Array<StoredDocument | undefined>> {
    if (this.closed) throw closedError();
    const reader = this.current.reader;
    return ids.map((id) => reader.getDocument(id));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.refreshing;
      if (this.outstanding > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      await this.workers.terminate();
      for (const state of this.states.values()) state.reader.close();
      this.states.clear();
    })();
    return this.closing;
  }

  // ---- Requests ---------------------------------------------------------------------------------

  /** Plans on the current state, then queues (vectors) or encodes first (texts); answers `pick(hits)`. */
  private submit<T>(options: PoolSearchOptions, queries: readonly SparseVectorInput[] | undefined, texts: string[] | undefined, pick: (hits: SearchHit[][]) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) throw closedError();
      const { signal, timeoutMs: requested, ...search } = options;
      const timeoutMs = requested === undefined ? this.timeoutMs : POOL_REQUEST_OPTIONS.resolve({ timeoutMs: requested }).timeoutMs!;
      if (signal !== undefined && signal.aborted) throw abortError(signal.reason);
      const state = this.current;
      const planned = this.plan(state, search);
      // Text is encoded by the index's own encoder, so only given vectors can be of another term space.
      if (queries !== undefined) state.reader.checkQueryTermSpace(queries, search, planned.segments);
      if (queries !== undefined && queries.length === 0) return resolve(pick([]));
      const request: Request = {
        // Ids stay below 2^31 (the threads' cancellation slots are 32-bit).
        id: (this.nextRequest = (this.nextRequest % 0x7fff_ffff) + 1),
        state,
        phase: texts === undefined ? 'queued' : 'encoding',
        settled: false,
        queries: queries ?? [],
        planned,
        resolve: (hits) => resolve(pick(hits)),
        reject,
        cleanup: [],
      };
      state.users++;
      this.outstanding++;
      if (timeoutMs > 0) {
        const timer = setTimeout(() => this.fail(request, new SpladexError('E_TIMEOUT', `the search took longer than its time limit of ${timeoutMs} ms (queueing included); raise timeoutMs, add threads or lower the load`)), timeoutMs);
        request.cleanup.push(() => clearTimeout(timer));
      }
      if (signal !== undefined) {
        const onAbort = (): void => this.fail(request, abortError(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        request.cleanup.push(() => signal.removeEventListener('abort', onAbort));
      }
      if (texts === undefined) return this.enqueue(request);
      state.reader
        .encoder()
        .then((encoder) => encoder.encodeQueries(texts))
        .then(
          (vectors) => {
            if (request.settled) return this.finish(request);
            request.queries = vectors;
            request.phase = 'queued';
            this.enqueue(request);
          },
          (error: unknown) => {
            this.settle(request, error);
            this.finish(request);
          },
        );
    });
  }

  private enqueue(request: Request): void {
    const idle = this.workers.idle();
    if (idle !== undefined) return this.dispatch(idle, request);
    if (this.queue.length >= this.queueLimit) {
      this.settle(request, new SpladexError('E_BUSY', `the search pool is busy: ${this.queue.length} requests wait for its ${this.threads} threads (queueLimit ${this.queueLimit}); retry later, add threads or raise queueLimit`));
      return this.finish(request);
    }
    this.queue.push(request);
  }

  /** `search` on `state` (the reader reuses a plan per options), with the key of its settings. */
  private plan(state: PoolState, search: IndexSearchOptions): Planned {
    const plan = state.reader.planSearch(search);
    let planned = this.plannedOf.get(plan);
    if (planned === undefined) this.plannedOf.set(plan, (planned = { ...plan, settingsKey: JSON.stringify(plan.settings) }));
    return planned;
  }

  private dispatch(thread: PoolThread, request: Request): void {
    request.phase = 'running';
    const { id, state, queries, planned } = request;
    this.running.set(id, request);
    const refused = this.workers.send(thread, this.threadRequest(id, state, queries, planned));
    if (refused !== undefined) {
      this.running.delete(id);
      this.settle(request, refused);
      this.finish(request);
      this.pump();
    }
  }

  /** What the thread runs. */
  private threadRequest(id: number, state: PoolState, queries: readonly SparseVectorInput[], { segments, plans, settings, settingsKey }: Planned): ThreadRequest {
    return {
      id,
      state: state.id,
      settings,
      settingsKey,
      plans,
      sharedPlans: () => plans.map((plan) => this.sharedPlan(plan)),
      maxScore:
        settings.mode === 'maxscore'
          ? segments.flatMap(({ segment }, i) => (plans[i].skip || plans[i].docs !== undefined ? [] : [{ key: this.segmentKeys.get(segment)!, lists: () => this.listsOf(segment) }]))
          : undefined,
      queries,
    };
  }

  private pump(): void {
    for (let idle = this.workers.idle(); idle !== undefined && this.queue.length > 0; idle = this.workers.idle()) this.dispatch(idle, this.queue.shift()!);
  }

  /** A thread's answer to request `id` (the thread can take another). */
  private answered(_thread: PoolThread, id: number, answer: { ranked: RankedKeys[] } | { error: ErrorMessage }): void {
    const request = this.running.get(id);
    this.running.delete(id);
    if (request !== undefined) {
      if ('ranked' in answer) {
        if (!request.settled) this.completed++;
        this.settle(request, undefined, answer.ranked.map((ranked) => hitsOf(request.state.segments, ranked)));
      } else {
        if (answer.error.name === 'Cancelled') this.skipped++;
        this.settle(request, fromWorker(answer.error));
      }
      this.finish(request);
    }
    this.pump();
  }

  private threadDied(thread: PoolThread, ids: number[], error: Error): void {
    // A MaxScore build the thread left unfinished must not keep other threads waiting.
    for (const state of this.states.values()) for (const s of state.segments) this.workers.abandon(this.sharedLists.get(s.segment), thread);
    for (const id of ids) {
      const request = this.running.get(id);
      if (request === undefined) continue;
      this.running.delete(id);
      this.settle(request, error);
      this.finish(request);
    }
    if (!this.workers.alive()) for (const queued of this.queue.splice(0)) this.failQueued(queued, error);
    this.pump();
  }

  /** Timeout or abort: the caller is answered now; a queued request also leaves the queue. */
  private fail(request: Request, error: SpladexError): void {
    if (request.settled) return;
    this.settle(request, error);
    if (request.phase === 'queued') {
      const at = this.queue.indexOf(request);
      if (at >= 0) this.queue.splice(at, 1);
      this.finish(request);
    } else if (request.phase === 'running') this.workers.cancel(request.id);
  }

  private failQueued(request: Request, error: unknown): void {
    this.settle(request, error);
    this.finish(request);
  }

  private settle(request: Request, error: unknown, hits?: SearchHit[][]): void {
    if (request.settled) return;
    request.settled = true;
    for (const cleanup of request.cleanup) cleanup();
    if (hits !== undefined) request.resolve(hits);
    else request.reject(error);
  }

  /** The request no longer needs its state. */
  private finish(request: Request): void {
    if (request.phase === 'done') return;
    request.phase = 'done';
    request.state.users--;
    this.release(request.state);
    if (--this.outstanding === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  // ---- States and shared arrays ----------------------------------------------------------------

  private addState(reader: IndexReader): PoolState {
    const segments = reader.planSearch().segments;
    const descriptors = segments.map(({ entry, segment }) => {
      const bytes = sharedSegmentBytes(segment.memory);
      if (bytes === undefined) throw new Error(`segment ${entry.file} was not read into shared memory`);
      let key = this.segmentKeys.get(segment);
      if (key === undefined) this.segmentKeys.set(segment, (key = this.nextSegmentKey++));
      let tokens = this.tokenTables.get(segment);
      if (tokens === undefined) this.tokenTables.set(segment, (tokens = buildTokenTable(segment.vocabulary)));
      return { key, path: `${reader.path}/${entry.file}`, bytes, tokens };
    });
    const state: PoolState = { id: this.nextState++, generation: reader.manifest.generation, reader, segments, descriptors, users: 0 };
    this.states.set(state.id, state);
    return state;
  }

  /** Drops a state that is neither current nor held by a request. */
  private release(state: PoolState): void {
    if (state === this.current || state.users > 0 || !this.states.has(state.id)) return;
    this.states.delete(state.id);
    this.workers.broadcast({ type: 'drop', state: state.id });
    state.reader.close();
    // Segments no live state uses any more are freed once every thread lets go of them.
    const live = new Set<Segment>();
    for (const s of this.states.values()) for (const { segment } of s.segments) live.add(segment);
    if (!this.closed && state.segments.some(({ segment }) => !live.has(segment))) this.workers.recycle();
  }

  private sharedPlan(plan: SegmentPlan): PlanMessage {
    return {
      docs: sharedCopy(this.sharedDocs, plan.docs, (b) => new Uint32Array(b)),
      excluded: sharedCopy(this.sharedMasks, plan.excluded, (b) => new Uint8Array(b)),
      skip: plan.skip,
    };
  }

  private listsOf(segment: Segment): SharedLists {
    let lists = this.sharedLists.get(segment);
    if (lists === undefined) this.sharedLists.set(segment, (lists = allocateSharedLists(segment)));
    return lists;
  }
}

/**
 * Opens `dir` for searching on `threads` worker threads that share one copy of its segments.
 * Reads and checks every segment once (on the calling thread), starts the threads and resolves
 * when they are ready. Needs the compiled worker script (dist/).
 */
export async function openSearchPool(dir: string, options: SearchPoolOptions = {}): Promise<SearchPool> {
  const { encoder, ...table } = options;
  const resolved = SEARCH_POOL_OPTIONS.resolve(table);
  const script = workerScript();
  // Slot 0 of each shared kernel memory is this thread's (its reader's searchers are never used to search).
  const reader = IndexReader.open(dir, encoder === undefined ? {} : { encoder }, { allocate: sharedSegmentAllocator(resolved.threads + 1) });
  let pool: Pool;
  try {
    pool = new Pool(reader, resolved, script);
  } catch (error) {
    reader.close();
    throw error;
  }
  try {
    await pool.started();
  } catch (error) {
    await pool.close();
    throw error;
  }
  return pool;
}
