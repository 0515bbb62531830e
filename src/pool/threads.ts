/**
 * The search pool's worker threads: starting them, handing them requests, restarting one that
 * died, stopping them. Knows nothing of requests beyond their ids (pool.ts owns those).
 *
 * Each thread is given up to `PIPELINE` requests: it runs one while the next waits in its port.
 * With one at a time, a thread idles for every round trip (its answer reaches the main thread, the
 * caller's next request is planned and posted), longest when the main thread waits for a core:
 * +4 % QPS with 2 threads on a busy 2-core machine (1M index, docs/SERVING.md).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { abandonBuild, CANCEL_SLOTS, unpackRanked, type ErrorMessage, type FromWorker, type SharedLists, type ToWorker, type WorkerInput } from './protocol.js';
import type { RankedKeys } from '../query/fan-out.js';

export interface PoolThread {
  /** Scratch slot in the shared kernel memories (1..threads). */
  readonly slot: number;
  worker: Worker;
  /** Ids of the requests it was given, in order: the first runs, the others wait in its port. */
  requests: number[];
  ready: boolean;
  /** Failed before it was ready: not restarted (it would fail again). */
  failed: boolean;
  /** To be replaced by a fresh thread when idle (see `recycle`). */
  stale: boolean;
}

export interface ThreadHooks {
  /** The state messages a new thread needs (every live state). */
  states(): Array<{ state: number; segments: Extract<ToWorker, { type: 'state' }>['segments'] }>;
  /** The thread answered request `id` (its oldest); it can take another. */
  answered(thread: PoolThread, id: number, answer: { ranked: RankedKeys[] } | { error: ErrorMessage }): void;
  /** The thread died with requests `ids` unanswered; it was restarted unless it never started. */
  died(thread: PoolThread, ids: number[], error: Error): void;
}

/** Requests a thread holds at most (one running, the next waiting in its port). */
const PIPELINE = 2;

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
      const thread: PoolThread = { slot, worker: undefined as unknown as Worker, requests: [], ready: false, failed: false, stale: false };
      this.threads.push(thread);
      this.start(thread);
    }
  }

  /** Resolves when every thread is ready; rejects with the first start-up failure. */
  started(): Promise<void> {
    return this.ready;
  }

  private start(thread: PoolThread): void {
    const worker = startWorker(this.script, { workerData: { slot: thread.slot, cancelled: this.cancelled } satisfies WorkerInput, resourceLimits: WORKER_LIMITS });
    thread.worker = worker;
    thread.ready = false;
    for (const { state, segments } of this.hooks.states()) worker.postMessage({ type: 'state', state, segments } satisfies ToWorker);
    let lastError: Error | undefined;
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') {
        thread.ready = true;
        if (this.threads.every((t) => t.ready || t.failed)) this.markReady();
        return;
      }
      if (thread.requests[0] !== message.id) return; // cannot happen: answers come in order
      thread.requests.shift();
      Atomics.compareExchange(this.cancelled, message.id % CANCEL_SLOTS, message.id, 0);
      if (thread.stale && thread.requests.length === 0) this.restart(thread);
      this.hooks.answered(thread, message.id, message.type === 'result' ? { ranked: unpackRanked(message.ranked) } : { error: message.error });
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
   * A thread that can take a request now: an idle one first, else one with room in its pipeline;
   * undefined when none. A stale thread gets nothing more, so that it empties and is replaced.
   */
  idle(): PoolThread | undefined {
    let best: PoolThread | undefined;
    for (const t of this.threads) {
      if (t.failed || (t.stale && t.requests.length > 0) || t.requests.length >= PIPELINE) continue;
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

  /** Posts request `id` to a thread `idle()` returned; returns the error when the message cannot be cloned (nothing was sent). */
  send(thread: PoolThread, id: number, message: ToWorker): unknown {
    try {
      thread.worker.postMessage(message);
    } catch (error) {
      return error;
    }
    thread.requests.push(id);
    return undefined;
  }

  broadcast(message: ToWorker): void {
    for (const thread of this.threads) if (!thread.failed) thread.worker.postMessage(message);
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
