/**
 * Worker thread entry of the throughput measurement (see throughput.ts): opens the index on its
 * own, warms up, reports ready, and on "go" runs its share of the queries `passes` times.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SpladexIndex } from '../spladex-index.js';
import type { ThroughputWorkerInput, ThroughputWorkerMessage } from './throughput.js';

const input = workerData as ThroughputWorkerInput;
const port = parentPort!;
const send = (message: ThroughputWorkerMessage): void => port.postMessage(message);

try {
  const index = SpladexIndex.open(input.dir, { readonly: true });
  const { vectors, options } = input;
  for (let i = 0; i < input.warmup && vectors.length > 0; i++) index.search(vectors[i % vectors.length], options);
  port.once('message', () => {
    const started = performance.now();
    let count = 0;
    for (let pass = 0; pass < input.passes; pass++) {
      for (let i = 0; i < vectors.length; i++) {
        index.search(vectors[i], options);
        count++;
      }
    }
    const ms = performance.now() - started;
    index.close();
    send({ type: 'done', queries: count, ms });
  });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'failed', message: (error as Error)?.message ?? String(error), code: (error as { code?: string })?.code });
}
