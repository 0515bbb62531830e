/**
 * The request channel between the pool's main thread and one search thread: requests and answers
 * in shared memory instead of a structured-cloned message each way; at most a one-number message
 * per answer, as the main thread's wake-up.
 *
 * Why: a message costs both threads far more than its bytes — the structured clone of a 40-term
 * query object and of its settings and plans one way, of the answer the other, and a wake-up of
 * the receiving event loop each time (docs/PERFORMANCE.md, "The search pool's request channel").
 * Here a request is written into a slot of shared memory as flat arrays (its queries' tokens and
 * weights, query-codec.ts; ids of the settings and plans the thread holds), the thread blocks in
 * `Atomics.wait` while it has nothing to do (a futex: no event loop), writes document keys and
 * scores back into the same slot, and tells the main thread with a one-number message — only when
 * the main thread has taken the previous one, which then collects every answer written meanwhile.
 * Not `Atomics.waitAsync`: V8 resolves it under its one global futex mutex, which the notifying
 * thread still holds while it wakes the main thread's event loop, so the main thread blocked on
 * that mutex once per answer (measured: about 0.021 against 0.026 ms of main-thread CPU per
 * request with 2 threads, docs/PERFORMANCE.md).
 *
 * Everything rare — states, settings, plans, MaxScore lists — still goes as messages, which the
 * thread reads with `receiveMessageOnPort` (it never returns to its event loop). Each carries the
 * number of requests written before it, and the thread applies it only once it has answered those:
 * an id the main thread reuses never changes what an earlier request sees.
 */
import type { RankedKeys } from '../query/fan-out.js';
import type { TopK } from '../util/topk.js';
import type { EncodedViews } from './query-codec.js';

/** Requests a thread holds at most: one running, the next waiting in its other slot. */
export const SLOTS = 2;

// Words of the header (an Int32Array over its own small SharedArrayBuffer).
/** Bumped by the main thread after each request or message: the word the thread waits on. */
const WAKE = 0;
/** Requests written so far (main thread). */
const WRITTEN = 1;
/** Messages posted so far (main thread): the thread reads its port only when this moved. */
const POSTED = 2;
/** Requests answered so far (search thread); on its own cache line, as only the other side writes it. */
const ANSWERED = 16;
/** 1 while an answer signal is on its way to the main thread and not taken yet. */
const SIGNALLED = 24;
const HEADER_BYTES = 4 * 32;

// Words of a request slot (Int32Array over the slot's SharedArrayBuffer).
const ID = 0;
const STATE = 1;
const SETTINGS = 2;
const PLANS = 3;
const QUERIES = 4;
/** Where the answer starts, in float64 elements. */
const RESULT = 6;
/** How it ended (`Status`), and the length of an error's JSON. */
const STATUS = 7;
const ERROR_BYTES = 8;
/** Then the encoded queries (query-codec.ts). */
const FIRST_QUERY_WORD = 10;

export const enum Status {
  Answered = 1,
  Failed = 2,
  /** Its caller had given up before the thread reached it (`isCancelled`). */
  Skipped = 3,
}

/** What a thread posts to tell the main thread that it answered (see `WorkerChannel.finish`). */
export const ANSWER_SIGNAL = 0;

/** Room kept for an error's JSON after the answer (longer ones lose their stack, then their end). */
const ERROR_ROOM = 4096;
/** A new slot's size; a larger request gets a larger slot, given back after a request that fits this again. */
export const SLOT_BYTES = 64 * 1024;

/** What a thread is started with to read its channel. */
export interface ChannelBuffers {
  header: SharedArrayBuffer;
  slots: SharedArrayBuffer[];
}

/** Typed views of one slot's bytes. */
class Slot {
  readonly words: Int32Array;
  readonly unsigned: Uint32Array;
  readonly floats: Float32Array;
  readonly doubles: Float64Array;
  readonly halves: Uint16Array;
  readonly bytes: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    this.unsigned = new Uint32Array(buffer);
    this.floats = new Float32Array(buffer);
    this.doubles = new Float64Array(buffer);
    this.halves = new Uint16Array(buffer);
    this.bytes = new Uint8Array(buffer);
  }
}

/** The fields of a request besides its queries. */
export interface RequestHeader {
  id: number;
  state: number;
  /** Ids the thread knows the settings and the plans by (see the messages in protocol.ts). */
  settings: number;
  plans: number;
  /** Results per query, at most (sizes the answer). */
  k: number;
}

/** Bytes a request needs in its slot: `queryWords` of encoded queries, then the answer of `count` queries or an error. */
export function requestBytes(queryWords: number, count: number, k: number): number {
  return 8 * Math.ceil((FIRST_QUERY_WORD + queryWords) / 2) + 8 * count * (1 + 2 * k) + ERROR_ROOM;
}

/** The main thread's side of one channel. */
export class MainChannel {
  readonly header = new Int32Array(new SharedArrayBuffer(HEADER_BYTES));
  readonly slots: Slot[] = Array.from({ length: SLOTS }, () => new Slot(new SharedArrayBuffer(SLOT_BYTES)));
  /** Requests written, and answers the main thread has read (both count from 0). */
  written = 0;
  read = 0;

  buffers(): ChannelBuffers {
    return { header: this.header.buffer as SharedArrayBuffer, slots: this.slots.map((s) => s.buffer) };
  }

  /**
   * The slot the next request goes to, with room for `bytes`. With a `replacement` when the slot
   * must be replaced first (too small, or a large one to give back): the caller tells the thread,
   * then calls `replaceSlot`.
   */
  slotFor(bytes: number): { index: number; replacement?: SharedArrayBuffer } {
    const index = this.written % SLOTS;
    const capacity = this.slots[index].buffer.byteLength;
    if (bytes <= capacity && (capacity === SLOT_BYTES || bytes > SLOT_BYTES)) return { index };
    return { index, replacement: new SharedArrayBuffer(bytes <= SLOT_BYTES ? SLOT_BYTES : 8 * Math.ceil(bytes / 8)) };
  }

  /** Slot `index` now lives in `buffer` (once the thread was told). */
  replaceSlot(index: number, buffer: SharedArrayBuffer): void {
    this.slots[index] = new Slot(buffer);
  }

  /** Writes request `header` with `count` encoded queries (`queryWords` words of `encoded`) into slot `index` (from `slotFor`) and wakes the thread. */
  write(index: number, header: RequestHeader, count: number, encoded: Uint32Array, queryWords: number): void {
    const { words, unsigned } = this.slots[index];
    words[ID] = header.id;
    words[STATE] = header.state;
    words[SETTINGS] = header.settings;
    words[PLANS] = header.plans;
    words[QUERIES] = count;
    words[STATUS] = 0;
    unsigned.set(encoded.subarray(0, queryWords), FIRST_QUERY_WORD);
    words[RESULT] = Math.ceil((FIRST_QUERY_WORD + queryWords) / 2);
    this.written++;
    Atomics.store(this.header, WRITTEN, this.written);
    this.wake();
  }

  /** Counts a message just posted to the thread, and wakes it to read it. */
  posted(): void {
    Atomics.add(this.header, POSTED, 1);
    this.wake();
  }

  private wake(): void {
    Atomics.add(this.header, WAKE, 1);
    Atomics.notify(this.header, WAKE, 1);
  }

  /** Takes the thread's answer signal: the next answer written after this is signalled again. Then read every answer. */
  takeSignal(): void {
    Atomics.store(this.header, SIGNALLED, 0);
  }

  /** Whether the thread answered more requests than were read. */
  hasAnswer(): boolean {
    return Atomics.load(this.header, ANSWERED) > this.read;
  }

  /** The oldest unread answer: its request id and how it ended (`read` counts it read). */
  answer(): { id: number; status: Status } {
    const { words } = this.slots[this.read % SLOTS];
    return { id: words[ID], status: words[STATUS] as Status };
  }

  /**
   * The oldest unread answer's results: per query, document keys and scores, best first. Views of
   * the slot: valid until the next request is written into it.
   */
  answerRanked(): RankedKeys[] {
    const { words, doubles } = this.slots[this.read % SLOTS];
    const ranked: RankedKeys[] = [];
    let at = words[RESULT];
    for (let q = 0; q < words[QUERIES]; q++) {
      const n = doubles[at++];
      ranked.push({ keys: doubles.subarray(at, at + n), scores: doubles.subarray(at + n, at + 2 * n) });
      at += 2 * n;
    }
    return ranked;
  }

  /** The oldest unread answer's error (`Status.Failed`), decoded from a private copy (a decoder may refuse shared bytes). */
  answerError(): unknown {
    const { words, bytes } = this.slots[this.read % SLOTS];
    const from = 8 * words[RESULT];
    return JSON.parse(new TextDecoder().decode(bytes.slice(from, from + words[ERROR_BYTES])));
  }
}

// ---- The search thread's side --------------------------------------------------------------------

/** A request as the thread reads it: `count` queries encoded at word `at` of `slot` (valid until it answers). */
export interface IncomingRequest extends Omit<RequestHeader, 'k'> {
  count: number;
  slot: EncodedViews;
  at: number;
}

export class WorkerChannel {
  private readonly header: Int32Array;
  private readonly slots: Slot[];
  /** Requests this thread answered. */
  answered = 0;
  private postedSeen = 0;
  /** Where the current request's next query result goes (float64 elements). */
  private resultAt = 0;

  constructor(buffers: ChannelBuffers) {
    this.header = new Int32Array(buffers.header);
    this.slots = buffers.slots.map((b) => new Slot(b));
  }

  /** Slot `index` now lives in `buffer` (the main thread grew or shrank it). */
  replaceSlot(index: number, buffer: SharedArrayBuffer): void {
    this.slots[index] = new Slot(buffer);
  }

  /** Whether messages were posted since the last call (the caller then drains its port). */
  hasMessages(): boolean {
    const posted = Atomics.load(this.header, POSTED);
    if (posted === this.postedSeen) return false;
    this.postedSeen = posted;
    return true;
  }

  /** Whether a request is waiting; else blocks until the main thread writes or posts something (then returns false). */
  waitForWork(): boolean {
    const wake = Atomics.load(this.header, WAKE);
    const written = Atomics.load(this.header, WRITTEN);
    // Read after WRITTEN: a message posted before that request is seen here, and applied first.
    if (Atomics.load(this.header, POSTED) !== this.postedSeen) return false;
    if (written > this.answered) return true;
    Atomics.wait(this.header, WAKE, wake);
    return false;
  }

  /** The next request (call after `waitForWork` returned true). */
  request(): IncomingRequest {
    const slot = this.slots[this.answered % SLOTS];
    const { words } = slot;
    this.resultAt = words[RESULT];
    return { id: words[ID], state: words[STATE], settings: words[SETTINGS], plans: words[PLANS], count: words[QUERIES], slot, at: FIRST_QUERY_WORD };
  }

  /** The next query's results from `heap` into the current request's answer: its count, its keys, its scores. */
  writeResult(heap: TopK): void {
    const { doubles } = this.slots[this.answered % SLOTS];
    const at = this.resultAt;
    const sorted = heap.sorted();
    const n = sorted.length;
    doubles[at] = n;
    for (let i = 0; i < n; i++) {
      doubles[at + 1 + i] = sorted[i].key;
      doubles[at + 1 + n + i] = sorted[i].score;
    }
    this.resultAt = at + 1 + 2 * n;
  }

  /**
   * Ends the current request with `status` (an error's JSON for `Failed`), and calls `signal` (which
   * posts `ANSWER_SIGNAL`) unless a signal is still on its way: the main thread, taking it, reads
   * every answer written until then (its store of SIGNALLED comes before its read of ANSWERED, this
   * store of ANSWERED before the exchange, so no answer goes unsignalled).
   */
  finish(status: Status, signal: () => void, error?: object): void {
    const slot = this.slots[this.answered % SLOTS];
    if (error !== undefined) writeError(slot, error);
    slot.words[STATUS] = status;
    this.answered++;
    Atomics.store(this.header, ANSWERED, this.answered);
    if (Atomics.exchange(this.header, SIGNALLED, 1) === 0) signal();
  }
}

function writeError(slot: Slot, error: object): void {
  const from = 8 * slot.words[RESULT];
  const room = slot.bytes.length - from;
  const encoder = new TextEncoder();
  let bytes = encoder.encode(JSON.stringify(error));
  if (bytes.length > room) bytes = encoder.encode(JSON.stringify({ ...error, stack: undefined }));
  if (bytes.length > room) {
    const { message } = error as { message?: string };
    bytes = encoder.encode(JSON.stringify({ ...error, stack: undefined, message: String(message).slice(0, room / 8) }));
  }
  slot.bytes.set(bytes.subarray(0, room), from);
  slot.words[ERROR_BYTES] = Math.min(bytes.length, room);
}
