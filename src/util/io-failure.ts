/**
 * I/O failures as typed errors.
 *
 * A full disk, a read-only mount or a missing permission says nothing about the data: the index is
 * as sound as it was. Reporting one as `E_CORRUPT` ("restore or rebuild") would lead an operator to
 * throw a good index away, and an untyped `ENOSPC` stack trace tells them nothing. So every failure
 * of the operating system or of SQLite's I/O layer becomes an `E_IO` error that names the file, the
 * cause and what to do, and states that the index is unchanged. Only checksum and structure
 * failures are `E_CORRUPT` (see container.ts, store.ts).
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { SpladexError } from '../errors.js';

/** What an errno (or the SQLite result code mapped to one) means for the user, and what to do. */
const ADVICE: Record<string, string> = {
  ENOSPC: 'the file system is full: free space on it and try again',
  EDQUOT: 'the disk quota is exhausted: free space or raise the quota and try again',
  EROFS: 'the file system is mounted read-only: remount it read-write or use a copy of the index on a writable disk',
  EACCES: 'permission denied: check the permissions of the file and of its directory',
  EPERM: 'operation not permitted: check the permissions of the file and of its directory',
  EIO: 'the device reported an I/O error: check the disk (e.g. dmesg) and try again',
  EMFILE: 'too many open files: raise the limit (ulimit -n) and try again',
  ENFILE: 'the system has too many open files: try again later',
  ENOMEM: 'out of memory: free memory and try again',
  ENOENT: 'the file or its directory does not exist: check the path',
  ENOTDIR: 'a part of the path is not a directory: check the path',
};

/** SQLite result codes (primary or extended) that are I/O conditions, as the errno they stand for. */
function sqliteErrno(code: string): string | undefined {
  if (code === 'SQLITE_FULL') return 'ENOSPC';
  if (code.startsWith('SQLITE_READONLY')) return 'EROFS';
  if (code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') return 'EACCES';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'ENOENT';
  if (code === 'SQLITE_NOMEM' || code === 'SQLITE_IOERR_NOMEM') return 'ENOMEM';
  if (code.startsWith('SQLITE_IOERR')) return 'EIO';
  return undefined;
}

/** Bytes free to an unprivileged user on the file system holding `path` (or its directory), if known. */
function freeBytes(path: string): number | undefined {
  for (const candidate of [path, dirname(path)]) {
    try {
      const s = statfsSync(candidate);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      // Not there (yet): try its directory.
    }
  }
  return undefined;
}

/** The errno-style code of a Node or SQLite failure, or undefined when it is not an I/O failure. */
function ioCode(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('SQLITE_')) return sqliteErrno(code);
  return /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * Whether `cause` is an operating-system or SQLite I/O failure (ENOSPC, EIO, SQLITE_FULL, …) rather
 * than a bug or a data problem.
 */
export function isIoFailure(cause: unknown): boolean {
  return !(cause instanceof SpladexError) && ioCode(cause) !== undefined;
}

/**
 * An `E_IO` error for a failed file operation: `action` is what was being done ("writing the
 * segment file"), `outcome` what it means for the index (default: that it is unchanged). A device
 * error while the file system is full is reported as a full disk: SQLite says "disk I/O error"
 * when it cannot grow its shared-memory file on a full disk.
 */
export function ioFailure(cause: unknown, file: string, action: string, outcome = 'the index is unchanged'): SpladexError {
  if (cause instanceof SpladexError) return cause;
  let code = ioCode(cause) ?? 'EIO';
  const free = freeBytes(file);
  if ((code === 'EIO' || code === 'ENOSPC') && free !== undefined && free < 1 << 20) code = 'ENOSPC';
  const message = (cause as Error | null)?.message ?? String(cause);
  const raw = (cause as { code?: unknown } | null)?.code;
  // SQLite's own words ("disk I/O error") say little; its extended code says which operation failed.
  const detail = typeof raw === 'string' && raw.startsWith('SQLITE_') ? `${raw}: ${message}` : message;
  const room = code === 'ENOSPC' && free !== undefined ? ` (${free.toLocaleString('en-US')} bytes free on the file system of ${dirname(file)})` : '';
  const advice = ADVICE[code] ?? 'check the disk and the permissions, then try again';
  return new SpladexError('E_IO', `${action} failed: ${code}: ${detail}${room}; ${advice}; ${outcome}`, { file, cause });
}

/** Runs `fn`, turning an I/O failure into `ioFailure(…)`; anything else is rethrown as it is. */
export function guardIo<T>(file: string, action: string, fn: () => T, outcome?: string): T {
  try {
    return fn();
  } catch (cause) {
    if (isIoFailure(cause)) throw ioFailure(cause, file, action, outcome);
    throw cause;
  }
}
