/**
 * The writer lock: `spladex.lock` in the index directory, holding the writer's pid, host,
 * command and start time, so a refused writer can say who holds the index.
 *
 * The file is created atomically with its full content (written to `spladex.lock.<pid>`, then
 * hard-linked to `spladex.lock`, which fails if it exists), so a writer killed at any moment
 * never leaves a lock without an owner. A lock whose owner runs on this host and is no longer
 * alive is stale and is broken by the next writer. Breaking a stale lock can race with another
 * process breaking it at the same moment; that is harmless because the lock is only the polite
 * first line: every write also runs inside a SQLite `BEGIN IMMEDIATE` transaction, which admits
 * one writer at a time and is released by the OS when a process dies.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SpladexError } from '../errors.js';
import { deadProcessEntries, processAlive, tryRemove } from '../util/fs.js';
import { ioFailure } from '../util/io-failure.js';

export const LOCK_FILE = 'spladex.lock';

export interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    return typeof value.pid === 'number' && typeof value.host === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Unlinks `path` if it exists; any other failure is thrown (a lock that cannot be removed must not look released). */
function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Lock files held by writers of this process (a pid alone cannot tell: pids get reused). */
const heldHere = new Set<string>();

/**
 * Stale when the owner is provably gone: same host and a dead pid, or our own pid while this
 * process holds no such lock (a previous process that had our pid). An unreadable lock is never
 * one we wrote, so it counts as held.
 */
function isStale(owner: LockOwner | undefined, path: string): boolean {
  if (owner === undefined || owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return !heldHere.has(path);
  return !processAlive(owner.pid);
}

export class WriterLock {
  private released = false;
  private readonly onExit = (): void => this.release();

  private constructor(
    readonly path: string,
    readonly owner: LockOwner,
  ) {
    // A library user who forgets close() still frees the index when the process exits normally.
    process.once('exit', this.onExit);
    heldHere.add(path);
  }

  /** Takes the lock of index directory `dir` or throws `E_LOCKED` naming the holder. */
  static acquire(dir: string, command: string): WriterLock {
    const path = join(dir, LOCK_FILE);
    const owner: LockOwner = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
    const staging = `${path}.${process.pid}`;
    removeStaleStagingFiles(dir);
    try {
      const fd = openSync(staging, 'w');
      try {
        writeSync(fd, JSON.stringify(owner));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (cause) {
      // A half-written staging file (full disk) would otherwise stay behind for good: our pid is alive.
      tryRemove(staging);
      throw ioFailure(cause, path, 'creating the lock file', 'the index is unchanged (writing an index needs a little free space and write access to its directory)');
    }
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          linkSync(staging, path);
          return new WriterLock(path, owner);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
            throw ioFailure(error, path, 'creating the lock file');
          }
        }
        const holder = readOwner(path);
        if (attempt < 3 && isStale(holder, path)) {
          unlinkIfPresent(path);
          continue;
        }
        if (heldHere.has(path)) {
          throw new SpladexError('E_LOCKED', `this process already has the index open for writing (${holder?.command ?? 'unknown command'}); close that writer first`, { file: path });
        }
        const who = holder === undefined ? 'another writer' : `process ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.since})`;
        throw new SpladexError(
          'E_LOCKED',
          `the index is locked by ${who}; wait for it to finish. If no such process is running, delete ${path}`,
          { file: path },
        );
      }
    } finally {
      unlinkIfPresent(staging);
    }
  }

  /** Removes the lock if it is still ours. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener('exit', this.onExit);
    heldHere.delete(this.path);
    const holder = readOwner(this.path);
    if (holder !== undefined && holder.pid === this.owner.pid && holder.since === this.owner.since) unlinkIfPresent(this.path);
  }
}

/** Staging files (`spladex.lock.<pid>`) left by writers that died between writing and linking. */
function removeStaleStagingFiles(dir: string): void {
  for (const path of deadProcessEntries(dir, /^spladex\.lock\.(\d+)$/)) unlinkIfPresent(path);
}
