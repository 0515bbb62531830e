/**
 * What the search pool's main thread and its worker threads say to each other besides requests
 * (channel.ts carries those), and the one piece of state they share besides the segments:
 * MaxScore's unpruned inverted index, built once by whichever worker needs it first.
 *
 * Messages are rare (a new state, a new setting or filter plan, a grown slot) and structured-
 * cloned; segment memory, delete masks, filter plans and MaxScore's lists cross as
 * SharedArrayBuffer-backed views or shared WebAssembly memories, which clone as handles to the
 * same bytes, so nothing large is copied.
 */
import { buildUnprunedInverted, type UnprunedInvertedIndex } from '../query/maxscore.js';
import type { ResolvedSearchOptions } from '../query/options.js';
import type { SharedSegmentBytes } from '../query/wasm-kernel.js';
import type { Segment } from '../segment/segment.js';
import type { ANSWER_SIGNAL, ChannelBuffers } from './channel.js';
import type { TokenTable } from './query-codec.js';

/** What a worker is started with. */
export interface WorkerInput {
  /** Its scratch slot in every shared kernel memory (1..threads; 0 is the main thread's). */
  slot: number;
  /** Requests given up on by their callers (`CANCEL_SLOTS`), shared by every thread. */
  cancelled: Int32Array;
  /** Its request channel (channel.ts). */
  channel: ChannelBuffers;
}

/**
 * Requests whose caller gave up (timeout, abort) after they were handed to a thread: slot
 * `id % CANCEL_SLOTS` holds the id, so a thread skips a request still waiting in its slot instead
 * of running it for nothing. More slots than requests can be handed out at once (64 threads × 2),
 * and the main thread clears a slot when its request is answered, so an id never matches by
 * accident. Request ids stay below 2^31 (they wrap), so they fit the array.
 */
export const CANCEL_SLOTS = 1024;

export function isCancelled(cancelled: Int32Array, id: number): boolean {
  return Atomics.load(cancelled, id % CANCEL_SLOTS) === id;
}

/** One segment of a state: `key` identifies the segment object across states (reused segments keep it). */
export interface SegmentDescriptor {
  key: number;
  /** The file it was read from (for error messages). */
  path: string;
  bytes: SharedSegmentBytes;
  /** Its vocabulary, for the threads to look query tokens up in (query-codec.ts). */
  tokens: TokenTable;
}

/** How one segment takes part in a search (the reader's `SegmentPlan`, arrays shared). */
export interface PlanMessage {
  docs: Uint32Array | undefined;
  excluded: Uint8Array | undefined;
  skip: boolean;
}

export type ToWorker =
  /** A committed state: its segments, in order (ordinals of the document keys). */
  | { type: 'state'; state: number; segments: SegmentDescriptor[] }
  /** A state no request uses any more (its plans go with it). */
  | { type: 'drop'; state: number }
  /** Resolved search settings, known from now on by `id`. */
  | { type: 'settings'; id: number; settings: ResolvedSearchOptions }
  /** The plans of a search on `state` (per segment), known from now on by `id`. */
  | { type: 'plans'; id: number; state: number; plans: PlanMessage[] }
  /** Ids of settings and plans no request will name any more. */
  | { type: 'forget'; settings?: number; plans?: number }
  /** A segment's shared MaxScore lists (sent before the thread's first MaxScore search of it). */
  | { type: 'maxscore'; segment: number; lists: SharedLists }
  /** Request slot `index` moved to `buffer` (grown for a large request, or given back). */
  | { type: 'slot'; index: number; buffer: SharedArrayBuffer };

/**
 * A message and the number of requests the main thread had written before it: the thread applies
 * it once it has answered those (and before the next), so each request sees what it was planned with.
 */
export interface Control {
  after: number;
  message: ToWorker;
}

/** An error as it crosses threads: a SpladexError's code and fields, or a plain error's message. */
export interface ErrorMessage {
  name: string;
  message: string;
  code?: string;
  file?: string;
  line?: number;
  offset?: number;
  stack?: string;
}

/** What a worker posts: that it is ready, and that it answered (`ANSWER_SIGNAL`: the answers are in its channel). */
export type FromWorker = { type: 'ready' } | typeof ANSWER_SIGNAL;

export function errorMessage(error: unknown): ErrorMessage {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, file, line, offset } = error as Error & { code?: unknown; file?: string; line?: number; offset?: number };
  const out: ErrorMessage = { name: error.name, message: error.message };
  if (typeof code === 'string') out.code = code;
  if (file !== undefined) out.file = file;
  if (line !== undefined) out.line = line;
  if (offset !== undefined) out.offset = offset;
  if (error.stack !== undefined) out.stack = error.stack;
  return out;
}

// ---- MaxScore's lists, built once for every thread --------------------------------------------

const EMPTY = 0;
const BUILDING = 1;
const READY = 2;
const FAILED = 3;

/**
 * One segment's unpruned inverted index in shared memory (zero-filled until built) and its build
 * status: `status[0]` EMPTY → BUILDING (by the worker in `status[1]`) → READY or FAILED.
 */
export interface SharedLists {
  status: Int32Array;
  lists: UnprunedInvertedIndex;
}

/**
 * Zero-filled shared arrays for `segment`'s unpruned index (allocated by the main thread on the
 * first MaxScore request; pages are only committed as the builder writes them).
 */
export function allocateSharedLists(segment: Segment): SharedLists {
  const nTerms = segment.meta.nTerms;
  const nnz = segment.forward.terms.length;
  const shared = <T>(Array: new (buffer: SharedArrayBuffer) => T, bytes: number): T => new Array(new SharedArrayBuffer(bytes));
  return {
    status: shared(Int32Array, 8),
    lists: { offsets: shared(Uint32Array, 4 * (nTerms + 1)), docs: shared(Uint32Array, 4 * nnz), values: shared(Float32Array, 4 * nnz), maxValues: shared(Float32Array, 4 * nTerms) },
  };
}

/**
 * The shared lists of `segment`, built here if no thread has started (the others block until it
 * is done: they would otherwise build the same ~8 bytes per posting each). Called on a worker.
 */
export function sharedListsFor(shared: SharedLists, segment: Segment, slot: number): UnprunedInvertedIndex {
  const { status } = shared;
  if (Atomics.compareExchange(status, 0, EMPTY, BUILDING) === EMPTY) {
    Atomics.store(status, 1, slot);
    try {
      buildUnprunedInverted(segment.forward, segment.meta.nTerms, shared.lists);
      Atomics.store(status, 0, READY);
    } catch (error) {
      Atomics.store(status, 0, FAILED);
      throw error;
    } finally {
      Atomics.notify(status, 0);
    }
    return shared.lists;
  }
  while (Atomics.load(status, 0) === BUILDING) Atomics.wait(status, 0, BUILDING);
  // A failed shared build (its arrays are half-written): this thread builds its own.
  return Atomics.load(status, 0) === READY ? shared.lists : buildUnprunedInverted(segment.forward, segment.meta.nTerms);
}

/** After worker `slot` died: a build it left unfinished is marked failed, so no thread waits for it forever. */
export function abandonBuild(shared: SharedLists, slot: number): void {
  if (Atomics.load(shared.status, 0) === BUILDING && Atomics.load(shared.status, 1) === slot && Atomics.compareExchange(shared.status, 0, BUILDING, FAILED) === BUILDING) {
    Atomics.notify(shared.status, 0);
  }
}
