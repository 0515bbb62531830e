/**
 * The server's writes, one at a time, on a write thread of their own: building a segment,
 * recalibrating or encoding text can take seconds of CPU, which on the main thread would stall
 * every other request. The thread is started on the first write and kept; if it dies, the write
 * it was running fails (500) and the next write starts a new one. Nothing is lost either way: a
 * write commits completely or not at all.
 */
import { Worker } from 'node:worker_threads';
import { SpladexError, type SpladexErrorCode } from '../errors.js';
import { compiledWorker } from '../util/worker.js';
import { ApiError } from './errors.js';
import { runWriteJob, type WriteJob, type WriteOutcome } from './write-job.js';

const WORKER = compiledWorker(import.meta.url, './write-worker.js');

export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private worker: Worker | undefined;
  private pending: { resolve: (outcome: WriteOutcome) => void; reject: (error: Error) => void } | undefined;

  /** Runs `job` after the writes queued before it; resolves with its summary and the generation it committed. */
  run(job: WriteJob): Promise<{ summary: Record<string, unknown>; generation: number }> {
    const result = this.tail.then(() => this.execute(job));
    this.tail = result.catch(() => undefined);
    return result.then((outcome) => {
      if (outcome.ok) return { summary: outcome.summary, generation: outcome.generation };
      const { code, message, stack } = outcome.error;
      if (code !== undefined) throw new SpladexError(code as SpladexErrorCode, message);
      // A bug in the write: keep its stack for the server log.
      throw Object.assign(new Error(message), stack === undefined ? {} : { stack });
    });
  }

  private execute(job: WriteJob): Promise<WriteOutcome> {
    if (WORKER === undefined) return runWriteJob(job);
    const worker = (this.worker ??= this.start(WORKER));
    return new Promise<WriteOutcome>((resolve, reject) => {
      this.pending = { resolve, reject };
      worker.postMessage(job);
    });
  }

  private start(path: string): Worker {
    const worker = new Worker(path);
    const fail = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(error);
    };
    worker.on('message', (outcome: WriteOutcome) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(outcome);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new ApiError(500, 'E_INTERNAL', `the write thread stopped (exit code ${code}) during the write, which committed completely or not at all`)));
    // An idle write thread must not keep the process alive.
    worker.unref();
    return worker;
  }

  /** Waits for the queued writes, then stops the write thread. */
  async close(): Promise<void> {
    await this.tail;
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
