/**
 * One file from the Hub into the cache's blobs: streamed into `blobs/<etag>.incomplete`, resumed
 * with `Range: bytes=n-` from whatever that file already holds (an interrupted attempt of this
 * process, retried here, or of an earlier one), checked, and only then renamed to `blobs/<etag>`.
 *
 * The check reads the finished file back from disk rather than hashing the stream: a resumed file's
 * first part was written by another attempt, perhaps another process, and what is on disk is what
 * will be used. An LFS file must have the SHA-256 the Hub announced (its ETag), every file the size;
 * a mismatch discards the partial file, so nothing unverified ever becomes a blob.
 */
import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SpladexError, isSpladexError } from '../../errors.js';
import { ioFailure, isIoFailure } from '../../util/io-failure.js';
import { sha256File } from '../checksum.js';
import { guardCache, type RepoCache } from './cache.js';
import type { FileMetadata, HubClient } from './http.js';

/** Attempts per file before an interrupted download is given up (a new pull resumes it). */
const MAX_ATTEMPTS = 5;

interface BlobDownload {
  repo: string;
  file: string;
  metadata: FileMetadata;
  /** Bytes of this file on disk so far (an absolute position: a restart from 0 moves it back). */
  onPosition: (bytes: number) => void;
}

/** Raised inside an attempt when the transfer broke off, so that the next attempt resumes it. */
class TransferInterrupted extends Error {}

/** Downloads, resumes and checks one blob; E_CHECKSUM, E_HUB_OFFLINE (interrupted too often), E_IO. */
export async function downloadBlob(client: HubClient, cache: RepoCache, job: BlobDownload): Promise<void> {
  const { etag, size } = job.metadata;
  const partial = cache.incompletePath(etag);
  await guardCache(partial, `creating the cache directory for ${job.repo}`, () => mkdir(dirname(partial), { recursive: true }));
  let lastReason = '';
  for (let attempt = 1; ; attempt++) {
    let start = await fileSize(partial);
    if (start > size) start = await restart(partial);
    job.onPosition(start);
    if (start === size) break;
    try {
      await transfer(client, partial, start, job);
    } catch (error) {
      if (!(error instanceof TransferInterrupted)) throw error;
      lastReason = error.message;
      if (attempt >= MAX_ATTEMPTS) {
        throw new SpladexError(
          'E_HUB_OFFLINE',
          `the download of ${job.file} of ${job.repo} broke off ${MAX_ATTEMPTS} times (${lastReason}); ${await fileSize(partial)} of ${size} bytes are kept: run the same command again to resume`,
        );
      }
      await new Promise((done) => setTimeout(done, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
  await verify(partial, job);
  await guardCache(partial, `storing ${job.file} in the cache`, () => rename(partial, cache.blobPath(etag)), 'the partial download is kept and resumes on the next pull');
}

/** One GET from `start`, appended to the partial file; TransferInterrupted when it breaks off. */
async function transfer(client: HubClient, partial: string, start: number, job: BlobDownload): Promise<void> {
  const { size, location } = job.metadata;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // A stalled connection is an interruption too: abort when no byte came for the download time-out.
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), client.settings.downloadTimeoutMs);
  };
  arm();
  let response: Response;
  try {
    response = await client.download(location, start, controller.signal);
  } catch (error) {
    clearTimeout(timer);
    if (isSpladexError(error, 'E_HUB_OFFLINE')) throw new TransferInterrupted(error.message);
    throw error;
  }
  try {
    let position = start;
    if (response.status === 416 || (response.status === 200 && start > 0)) {
      // The server cannot or will not resume: start over (a 416 for a partial file it does not know).
      position = await restart(partial);
      if (response.status === 416) throw new TransferInterrupted('the server refused to resume; restarting from byte 0');
    } else if (response.status === 206) {
      const range = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
      if (range === null || Number(range[1]) !== start) {
        await restart(partial);
        throw new TransferInterrupted(`the server resumed at the wrong place (${response.headers.get('content-range')})`);
      }
    } else if (response.status >= 500 || response.status === 429) {
      throw new TransferInterrupted(`HTTP ${response.status}`);
    } else if (!response.ok) {
      throw await client.httpError(response, location, { repo: job.repo, revision: job.metadata.commit ?? '?', file: job.file });
    }
    if (response.body === null) throw new TransferInterrupted('an empty answer');
    const handle = await guardCache(partial, `writing ${job.file}`, () => open(partial, position > 0 ? 'r+' : 'w'), 'nothing was added to the cache');
    try {
      const body = response.body[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await body.next();
        } catch (cause) {
          throw new TransferInterrupted(controller.signal.aborted ? 'no data in time' : ((cause as Error).message ?? String(cause)));
        }
        if (next.done === true) break;
        arm();
        const chunk = next.value;
        if (position + chunk.length > size) throw await discard(partial, checksumError(job, `is longer than the ${size} bytes the Hub announced`));
        try {
          await handle.write(chunk, 0, chunk.length, position);
        } catch (cause) {
          if (isIoFailure(cause)) throw ioFailure(cause, partial, `writing ${job.file} of ${job.repo}`, 'the partial download is kept and resumes on the next pull');
          throw cause;
        }
        position += chunk.length;
        job.onPosition(position);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (position < size) throw new TransferInterrupted(`the answer ended at byte ${position} of ${size}`);
  } finally {
    clearTimeout(timer);
    // Frees the connection of an answer left unread (an error above); a no-op once it was read.
    controller.abort();
  }
}

async function verify(partial: string, job: BlobDownload): Promise<void> {
  const { size, sha256 } = job.metadata;
  const actualSize = await fileSize(partial);
  if (actualSize !== size) throw await discard(partial, checksumError(job, `has ${actualSize} bytes, but the Hub announced ${size}`));
  if (sha256 === null) return;
  const actual = await sha256File(partial);
  if (actual !== sha256) throw await discard(partial, checksumError(job, `has SHA-256 ${actual.slice(0, 16)}…, but the Hub announced ${sha256.slice(0, 16)}…`));
}

function checksumError(job: BlobDownload, what: string): SpladexError {
  const host = new URL(job.metadata.location).host;
  return new SpladexError(
    'E_CHECKSUM',
    `${job.file} of ${job.repo} downloaded from ${host} ${what}; the download was discarded and nothing was added to the cache: try again (if it happens again, a proxy or mirror is serving damaged data)`,
  );
}

async function discard(partial: string, error: SpladexError): Promise<SpladexError> {
  await rm(partial, { force: true });
  return error;
}

async function restart(partial: string): Promise<number> {
  await guardCache(partial, 'restarting a download', () => truncate(partial, 0));
  return 0;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
