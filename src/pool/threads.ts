/**
 * The search pool's worker threads: starting them, handing them requests through their channels
 * (channel.ts), restarting one that died, stopping them. Knows nothing of requests beyond their
 * ids and what a thread must be told before it can run one (pool.ts owns the requests).
 *
 * Each thread is given up to `SLOTS` requests: it runs one while the next waits in its other slot.
 * With one at a time, a thread idles for every round trip (its answer reaches the main thread, the
 * caller's next request is planned and written), longest when the main thread waits for a core:
 * +4 % QPS with 2 threads on a busy 2-core machine (1M index, docs/SERVING.md).
 *
 * What a thread was told is mirrored here: settings and plans by id (a few dozen each, least
 * recently used forgotten), the segments whose MaxScore lists it holds. A request names them by id.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { RankedKeys, SegmentPlan } from '../query/fan-out.js';
import type { ResolvedSearchOptions } from '../query/options.js';
import type { SparseVectorInput } from '../types.js';
import { ANSWER_SIGNAL, MainChannel, requestBytes, SLOTS, Status } from './channel.js';
import { QueryEncoder } from './query-codec.js';
import { abandonBuild, CANCEL_SLOTS, type ErrorMessage, type FromWorker, type PlanMessage, type SharedLists, type ToWorker, type WorkerInput } from './protocol.js';

/** What a thread was told, as ids the requests name. */
interface Told {
  settings: Map<string, number>;
  /** By the reader's plans array (stable per state and options: the pool and the reader cache them). */
  plans: Map<readonly SegmentPlan[], number>;
  /** The state of each plans id (its plans are forgotten with it). */
  planStates: Map<number, number>;
  /** Keys of the segments whose MaxScore lists it holds. */
  maxScore: Set<number>;
  nextId: number;
}

/** Settings and plans a thread keeps at most (each plan holds shared masks of a state). */
const TOLD_LIMIT = 64;

export interface PoolThread {
  /** Scratch slot in the shared kernel memories (1..threads). */
  readonly slot: number;
  worker: Worker;
  channel: MainChannel;
  told: Told;
  /** Ids of the requests it was given, in order: the first runs, the other waits in its slot. */
  requests: number[];
  ready: boolean;
  /** Failed before it was ready: not restarted (it would fail again). */
  failed: boolean;
  /** To be replaced by a fresh thread when idle (see `recycle`). */
  stale: boolean;
}

/** A search as a thread runs it (pool.ts builds it). */
export interface ThreadRequest {
  id: number;
  state: number;
  settings: ResolvedSearchOptions;
  /** Names equal settings (their JSON). */
  settingsKey: string;
  /** The reader's plans: the array's identity names them. */
  plans: readonly SegmentPlan[];
  /** The plans with their arrays in shared memory (asked for when the thread does not hold them yet). */
  sharedPlans(): PlanMessage[];
  /** Mode `maxscore`: the segments (keys) whose shared MaxScore lists the thread needs. */
  maxScore: Array<{ key: number; lists(): SharedLists }> | undefined;
  queries: readonly SparseVectorInput[];
}

export interface ThreadHooks {
  /** The state messages a new thread needs (every live state). */
  states(): Array<{ state: number; segments: Extract<ToWorker, { type: 'state' }>['segments'] }>;
  /**
   * The thread answered request `id` (its oldest); it can take another. `ranked` views the
   * thread's slot: read it before sending the thread anything.
   */
  answered(thread: PoolThread, id: number, answer: { ranked: RankedKeys[] } | { error: ErrorMessage }): void;
  /** The thread died with requests `ids` unanswered; it was restarted unless it never started. */
  died(thread: PoolThread, ids: number[], error: Error): void;
}

/**
 * A small young generation: a search thread's garbage (prepared queries, heaps, messages) dies
 * young, and V8 otherwise grows each thread's nursery towards 32 MB under load. Measured on the 1M
 * index, 2 threads, a quiet machine: resident memory 1,133–1,170 MB → 1,055 MB, CPU per query
 * 0.31 → 0.28 ms (the nursery stays in cache).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4 };

/**
 * Starts a worker with the process's Node options, as Node does by default — except when they hold
 * `--input-type`, which a worker started from a file refuses (a pool opened from
 * `node --input-type=module -e …` failed to start). Only then are options passed explicitly, and
 * Node refuses V8 options given that way (`--expose-gc`, `--max-old-space-size`): if it does, the
 * worker starts without the inherited options.
 */
function startWorker(script: string, options: WorkerOptions): Worker {
  const inherited = process.execArgv;
  const isInputType = (arg: string): boolean => arg === '--input-type' || arg.startsWith('--input-type=');
  if (!inherited.some(isInputType)) return new Worker(script, options);
  const execArgv: string[] = [];
  for (let i = 0; i < inherited.length; i++) {
    if (inherited[i] === '--input-type') i++;
    else if (!isInputType(inherited[i])) execArgv.push(inherited[i]);
  }
  try {
    return new Worker(script, { ...options, execArgv });
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    return new Worker(script, { ...options, execArgv: [] });
  }
}

export class PoolThreads {
  private readonly threads: PoolThread[] = [];
  /** Encodes each request's queries before they are copied into a slot (reused). */
  private readonly encoder = new QueryEncoder();
  private terminating = false;
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private failStart!: (error: Error) => void;

  constructor(
    private readonly script: string,
    count: number,
    private readonly hooks: ThreadHooks,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.failStart = reject;
    });
    this.ready.catch(() => undefined);
    for (let slot = 1; slot <= count; slot++) {
      const thread = { slot, requests: [], ready: false, failed: false, stale: false } as unknown as PoolThread;
      this.threads.push(thread);
      this.start(thread);
    }
  }

  /** Resolves when every thread is ready; rejects with the first start-up failure. */
  started(): Promise<void> {
    return this.ready;
  }

  private start(thread: PoolThread): void {
    const channel = new MainChannel();
    const worker = startWorker(this.script, { workerData: { slot: thread.slot, cancelled: this.cancelled, channel: channel.buffers() } satisfies WorkerInput, resourceLimits: WORKER_LIMITS });
    thread.worker = worker;
    thread.channel = channel;
    thread.told = { settings: new Map(), plans: new Map(), planStates: new Map(), maxScore: new Set(), nextId: 1 };
    thread.ready = false;
    for (const { state, segments } of this.hooks.states()) this.post(thread, { type: 'state', state, segments });
    let lastError: Error | undefined;
    worker.on('message', (message: FromWorker) => {
      if (message === ANSWER_SIGNAL) return this.collect(thread, channel);
      if (message.type !== 'ready') return;
      thread.ready = true;
      if (this.threads.every((t) => t.ready || t.failed)) this.markReady();
    });
    worker.on('error', (error: Error) => (lastError = error));
    worker.on('exit', (code) => {
      if (this.terminating || thread.worker !== worker) return;
      const error = new Error(`a search thread of the pool stopped (exit code ${code}${lastError === undefined ? '' : `: ${lastError.message}`}); it ${thread.ready ? 'was restarted' : 'could not start'}`, lastError === undefined ? undefined : { cause: lastError });
      const ids = thread.requests;
      thread.requests = [];
      for (const id of ids) Atomics.compareExchange(this.cancelled, id % CANCEL_SLOTS, id, 0);
      if (thread.ready) this.start(thread);
      else {
        thread.failed = true;
        this.failStart(error);
      }
      this.hooks.died(thread, ids, error);
    });
  }

  /** Hands out every answer `channel` holds (the thread signalled one). */
  private collect(thread: PoolThread, channel: MainChannel): void {
    if (thread.channel !== channel) return;
    channel.takeSignal();
    while (thread.channel === channel && channel.hasAnswer()) {
      const { id, status } = channel.answer();
      if (thread.requests[0] !== id) throw new Error(`search pool: thread ${thread.slot} answered request ${id}, expected ${thread.requests[0]}`);
      thread.requests.shift();
      Atomics.compareExchange(this.cancelled, id % CANCEL_SLOTS, id, 0);
      if (thread.stale && thread.requests.length === 0) this.restart(thread);
      const answer =
        status === Status.Answered ? { ranked: channel.answerRanked() } : status === Status.Skipped ? { error: { name: 'Cancelled', message: 'cancelled before it ran' } } : { error: channel.answerError() as ErrorMessage };
      // Counted read before the hook, which may hand the thread its next request: the pool makes
      // its hits from the views first, and only then is this slot written again.
      channel.read++;
      this.hooks.answered(thread, id, answer);
    }
  }

  /** Posts a message the thread applies before the next request written after it. */
  private post(thread: PoolThread, message: ToWorker): void {
    thread.worker.postMessage({ after: thread.channel.written, message });
    thread.channel.posted();
  }

  /** The id `thread` knows `key` by in `known`, telling it first (and forgetting the least recently used) when it does not. */
  private idOf<K>(thread: PoolThread, known: Map<K, number>, key: K, tell: (id: number) => ToWorker, forget: (id: number) => ToWorker): number {
    const id = known.get(key);
    if (id !== undefined) {
      known.delete(key);
      known.set(key, id);
      return id;
    }
    if (known.size >= TOLD_LIMIT) {
      const [oldKey, oldId] = known.entries().next().value as [K, number];
      known.delete(oldKey);
      this.post(thread, forget(oldId));
    }
    const fresh = thread.told.nextId++;
    this.post(thread, tell(fresh));
    known.set(key, fresh);
    return fresh;
  }

  /** Requests whose callers gave up, shared with the threads (see `CANCEL_SLOTS`). */
  private readonly cancelled = new Int32Array(new SharedArrayBuffer(4 * CANCEL_SLOTS));

  /** Tells the threads that request `id`, already handed to one, need not run. */
  cancel(id: number): void {
    Atomics.store(this.cancelled, id % CANCEL_SLOTS, id);
  }

  /** Threads replaced by `recycle` so far. */
  restarts = 0;

  /**
   * Replaces every thread by a fresh one, each as soon as it is idle. Why: a worker that dropped
   * the segments of an old state still holds them until its next full garbage collection, which a
   * search thread (little long-lived allocation) may not run for a long time — measured: a dropped
   * 500 MB shared memory stayed resident in an otherwise busy worker. A thread that ends frees its
   * references at once; starting one costs tens of milliseconds.
   */
  recycle(): void {
    for (const thread of this.threads) {
      if (thread.failed) continue;
      thread.stale = true;
      if (thread.requests.length === 0) this.restart(thread);
    }
  }

  private restart(thread: PoolThread): void {
    const old = thread.worker;
    thread.stale = false;
    this.restarts++;
    this.start(thread);
    void old.terminate();
  }

  /**
   * A thread that can take a request now: an idle one first, else one with a free slot;
   * undefined when none. A stale thread gets nothing more, so that it empties and is replaced.
   */
  idle(): PoolThread | undefined {
    let best: PoolThread | undefined;
    for (const t of this.threads) {
      if (t.failed || (t.stale && t.requests.length > 0) || t.requests.length >= SLOTS) continue;
      if (best === undefined || t.requests.length < best.requests.length) best = t;
    }
    return best;
  }

  /** Requests handed to threads and not answered yet. */
  busy(): number {
    return this.threads.reduce((n, t) => n + t.requests.length, 0);
  }

  /** Whether any thread can still take requests. */
  alive(): boolean {
    return this.threads.some((t) => !t.failed);
  }

  /**
   * Writes `request` into a slot of a thread `idle()` returned, after telling the thread what it
   * names that the thread does not know yet; returns the error when that failed (nothing was
   * handed over: e.g. no memory for a large request's slot).
   */
  send(thread: PoolThread, request: ThreadRequest): unknown {
    const { channel, told } = thread;
    try {
      const settings = this.idOf(thread, told.settings, request.settingsKey, (id) => ({ type: 'settings', id, settings: request.settings }), (id) => ({ type: 'forget', settings: id }));
      const plans = this.idOf(thread, told.plans, request.plans, (id) => (told.planStates.set(id, request.state), { type: 'plans', id, state: request.state, plans: request.sharedPlans() }), (id) => (told.planStates.delete(id), { type: 'forget', plans: id }));
      for (const { key, lists } of request.maxScore ?? []) {
        if (told.maxScore.has(key)) continue;
        this.post(thread, { type: 'maxscore', segment: key, lists: lists() });
        told.maxScore.add(key);
      }
      const words = this.encoder.encode(request.queries);
      const { index, replacement } = channel.slotFor(requestBytes(words, request.queries.length, request.settings.k));
      if (replacement !== undefined) {
        this.post(thread, { type: 'slot', index, buffer: replacement });
        channel.replaceSlot(index, replacement);
      }
      channel.write(index, { id: request.id, state: request.state, settings, plans, k: request.settings.k }, request.queries.length, this.encoder.words, words);
    } catch (error) {
      return error;
    }
    thread.requests.push(request.id);
    return undefined;
  }

  /** Posts `message` to every thread; a dropped state also leaves what they were told of its plans. */
  broadcast(message: ToWorker): void {
    for (const thread of this.threads) {
      if (thread.failed) continue;
      this.post(thread, message);
      if (message.type !== 'drop') continue;
      const { plans, planStates } = thread.told;
      for (const [key, id] of plans) {
        if (planStates.get(id) !== message.state) continue;
        plans.delete(key);
        planStates.delete(id);
      }
    }
  }

  /** Marks a MaxScore build left unfinished by `thread` as failed (see `abandonBuild`). */
  abandon(lists: SharedLists | undefined, thread: PoolThread): void {
    if (lists !== undefined) abandonBuild(lists, thread.slot);
  }

  async terminate(): Promise<void> {
    this.terminating = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
