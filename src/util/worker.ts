/** One-shot worker threads for parallel builds: start, take the single result message, stop. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Path of the compiled worker script `name` next to the module at `moduleUrl`, or undefined when
 * it does not exist (under a TypeScript test runner only the sources are there, and builds then
 * run on the calling thread).
 */
export function compiledWorker(moduleUrl: string, name: string): string | undefined {
  const path = fileURLToPath(new URL(name, moduleUrl));
  return existsSync(path) ? path : undefined;
}

/** Runs `path` with `workerData` and resolves with the first message it posts; `what` names it in errors. */
export function runWorker<T>(path: string, workerData: unknown, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(path, { workerData });
    worker.once('message', (result: T) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${what} exited with code ${code}`));
    });
  });
}
