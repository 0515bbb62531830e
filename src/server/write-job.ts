/**
 * One write of the HTTP API — add vector documents, add text documents, delete ids — run start to
 * end: wait for the index's writer lock (another writer, `spladex add` or `compact`, may hold it
 * for a while), open a writer, commit, close. It runs on the write worker (write-worker.ts), so a
 * long build never stalls the server's event loop, or on the calling thread when no compiled
 * worker exists (TypeScript test runs). Everything crossing the thread boundary is plain data.
 */
import { isSpladexError } from '../errors.js';
import { SpladexIndex } from '../spladex-index.js';
import type { DocumentInput } from '../types.js';
import type { TextDocumentInput } from '../text/text-source.js';

export type WriteJob =
  | { op: 'add'; dir: string; lockWait: number; documents: DocumentInput[] }
  | { op: 'addText'; dir: string; lockWait: number; documents: TextDocumentInput[] }
  | { op: 'delete'; dir: string; lockWait: number; ids: string[] };

export type WriteOutcome =
  | { ok: true; summary: Record<string, unknown>; generation: number }
  | { ok: false; error: { code?: string; message: string; stack?: string } };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `job`; a lock held elsewhere is waited for (polled, backing off to 250 ms) up to
 * `lockWait` ms. Retrying the whole write is safe: a refused or failed write changed nothing.
 */
export async function runWriteJob(job: WriteJob): Promise<WriteOutcome> {
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    try {
      const writer = SpladexIndex.openWriter(job.dir, { writerName: `spladex serve (${job.op === 'delete' ? 'DELETE' : 'POST'} /documents)` });
      try {
        const summary =
          job.op === 'delete'
            ? await writer.delete(job.ids)
            : job.op === 'add'
              ? await writer.add(job.documents, { sourceLabel: 'documents' })
              : await writer.addText(job.documents, { sourceLabel: 'documents' });
        const { path: _path, ...rest } = summary;
        return { ok: true, summary: rest, generation: writer.manifest.generation };
      } finally {
        writer.close();
      }
    } catch (error) {
      if (isSpladexError(error, 'E_LOCKED') && performance.now() - started < job.lockWait) {
        await sleep(Math.min(250, 10 * 2 ** attempt));
        continue;
      }
      const e = error as { code?: unknown; message?: unknown; stack?: unknown };
      return { ok: false, error: { ...(isSpladexError(error) ? { code: error.code } : {}), message: String(e?.message ?? error), ...(typeof e?.stack === 'string' ? { stack: e.stack } : {}) } };
    }
  }
}
