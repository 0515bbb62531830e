/** The server's write thread: runs the write jobs it is sent (write-job.ts), one at a time, answering each with its outcome. */
import { parentPort } from 'node:worker_threads';
import { runWriteJob, type WriteJob } from './write-job.js';

const port = parentPort!;
port.on('message', (job: WriteJob) => {
  void runWriteJob(job).then((outcome) => port.postMessage(outcome));
});
