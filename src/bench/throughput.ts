/**
 * Multi-threaded throughput: N worker threads each open the index read-only (as N serving
 * processes would) and run an interleaved share of the queries. Every worker opens and warms up
 * first; the clock starts when all are ready, so qps measures searching only.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SpladexError } from '../errors.js';
import type { SearchOptions } from '../query/options.js';
import type { SparseVectorInput } from '../types.js';

export interface ThroughputWorkerInput {
  dir: string;
  vectors: SparseVectorInput[];
  options: SearchOptions;
  warmup: number;
  passes: number;
}

export type ThroughputWorkerMessage =
  | { type: 'ready' }
  | { type: 'done'; queries: number; ms: number }
  | { type: 'failed'; message: string; code?: string };

export interface ThroughputResult {
  /** Queries per second over all threads (wall clock from the common start to the last finish). */
  qps: number;
  threads: number;
  /** Queries run in the timed phase (each thread's share × passes). */
  queries: number;
  seconds: number;
}

/** The compiled worker sits next to this module; under a TypeScript test runner it does not exist. */
const workerPath = fileURLToPath(new URL('./throughput-worker.js', import.meta.url));

/** Whether worker threads can be used (false when running from TypeScript sources). */
export function throughputWorkersAvailable(): boolean {
  return existsSync(workerPath);
}

/**
 * Runs `vectors` on `threads` worker threads, each opening `dir`. Query i goes to thread
 * i mod threads; each thread repeats its share `passes` times.
 */
export async function measureThroughput(dir: string, vectors: readonly SparseVectorInput[], options: SearchOptions, threads: number, warmup: number, passes: number): Promise<ThroughputResult> {
  if (!throughputWorkersAvailable()) throw new Error(`throughput worker ${workerPath} is missing; build with tsc first`);
  const shares = Array.from({ length: threads }, (_, t) => vectors.filter((_, i) => i % threads === t));
  const workers: Worker[] = [];
  try {
    const ready: Array<Promise<void>> = [];
    const done: Array<Promise<{ queries: number; finished: number }>> = [];
    for (const share of shares) {
      const worker = new Worker(workerPath, { workerData: { dir, vectors: share, options, warmup, passes } satisfies ThroughputWorkerInput });
      workers.push(worker);
      let markReady!: () => void;
      let markDone!: (value: { queries: number; finished: number }) => void;
      let fail!: (error: Error) => void;
      ready.push(new Promise<void>((resolve) => (markReady = resolve)));
      done.push(
        new Promise((resolve, reject) => {
          markDone = resolve;
          fail = reject;
        }),
      );
      worker.on('message', (message: ThroughputWorkerMessage) => {
        if (message.type === 'ready') markReady();
        else if (message.type === 'done') markDone({ queries: message.queries, finished: performance.now() });
        else fail(message.code !== undefined ? new SpladexError(message.code as never, message.message) : new Error(message.message));
      });
      worker.on('error', (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))));
      worker.on('exit', (code) => fail(new Error(`throughput worker exited with code ${code} before finishing`)));
      // A failure before "ready" must not leave the ready barrier waiting forever.
      void done[done.length - 1].catch(() => markReady());
    }
    await Promise.all(ready);
    const started = performance.now();
    for (const worker of workers) worker.postMessage('go');
    const results = await Promise.all(done);
    const finished = Math.max(...results.map((r) => r.finished));
    const queries = results.reduce((n, r) => n + r.queries, 0);
    const seconds = (finished - started) / 1000;
    return { qps: queries / seconds, threads, queries, seconds };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
