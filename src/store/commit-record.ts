/**
 * Lost-commit detection and the index directory's files.
 *
 * SQLite (WAL mode) is the commit point, but a commit lives in `spladex.db-wal` until a checkpoint
 * copies it into `spladex.db`, and a checkpoint cannot pass a reader's snapshot. SQLite checksums
 * WAL frames and silently ignores the first bad frame and everything after it, so one flipped byte
 * (or a truncated or deleted `-wal`) opens the index at an *older* commit, with no error. Two
 * mechanisms make that loss visible instead of silent:
 *
 * 1. **The commit record** `spladex.commit`, replaced atomically (temp + fsync + rename) after every
 *    commit and before the write returns: the generation and manifest CRC of the last reported
 *    commit. A database whose manifest is older than the record has lost commits → `E_CORRUPT`.
 *    (A record older than the database is fine: the writer stopped between its commit and the
 *    record, and the next writer brings the record up to date.)
 * 2. **Segment files appear only after their commit.** A writer writes a new segment under a
 *    temporary name (`seg-N.spx.tmp-<pid>-<time>`) and renames it only after COMMIT. So a final
 *    name the manifest does not list, numbered at or above `nextSegment`, can only come from a
 *    commit the database no longer has → `E_CORRUPT` naming the file.
 *
 * Nothing that might hold committed data is removed automatically. The next writer removes only
 * provable debris: temporary files of dead writers that the manifest does not name (their write
 * never committed), and segment files the committed manifest lists as `obsolete` (dropped by that
 * commit). A named segment still under its temporary name (the writer died between COMMIT and the
 * rename) is renamed into place (rolled forward); readers load it from the temporary name
 * meanwhile. Any other unnamed segment file is left in place and `spladex verify` reports it.
 */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { entriesOrNone, fsyncPath, tryRemove } from '../util/fs.js';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SpladexError } from '../errors.js';
import { guardIo } from '../util/io-failure.js';
import { SEGMENT_FILE_PATTERN, type Manifest } from './manifest.js';

export const COMMIT_FILE = 'spladex.commit';
const COMMIT_MAGIC = 'SPLDXCMT';
const COMMIT_VERSION = 1;

/** What `spladex.commit` holds: the last commit a writer reported as done. */
export interface CommitRecord {
  generation: number;
  /** CRC-32 of the stored manifest text of that generation. */
  manifestCrc: number;
}

/** Temporary name of a segment file while its write is not committed. */
export function temporarySegmentName(file: string): string {
  return `${file}.tmp-${process.pid}-${Date.now()}`;
}

const TEMPORARY_SEGMENT = /^(seg-\d{6,9}\.spx)\.tmp-\d+-\d+$/;
const TEMPORARY_RECORD = /^spladex\.commit\.tmp-\d+-\d+$/;

function recordText(record: CommitRecord): string {
  const body = `${COMMIT_MAGIC} ${COMMIT_VERSION} ${record.generation} ${record.manifestCrc}`;
  return `${body} ${crc32(body).toString(16).padStart(8, '0')}\n`;
}

/** The commit record of `dir`, or undefined when there is none (indexes written before it existed). */
export function readCommitRecord(dir: string): CommitRecord | undefined {
  const file = join(dir, COMMIT_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return guardIo(file, 'reading the commit record', () => {
      throw cause;
    });
  }
  const damaged = (what: string): SpladexError =>
    new SpladexError('E_CORRUPT', `the commit record is damaged (${what}); restore the index from a backup, or rebuild it`, { file });
  const match = /^(\S+) (\d+) (\d+) (\d+) ([0-9a-f]{8})\n$/.exec(text);
  if (match === null) throw damaged('not a spladex commit record');
  if (match[1] !== COMMIT_MAGIC) throw damaged('bad magic');
  if (crc32(`${match[1]} ${match[2]} ${match[3]} ${match[4]}`) !== parseInt(match[5], 16)) throw damaged('checksum mismatch');
  if (Number(match[2]) !== COMMIT_VERSION) {
    throw new SpladexError('E_FORMAT_VERSION', `commit record version ${match[2]} is not supported (this spladex reads version ${COMMIT_VERSION}); use a newer spladex`, { file });
  }
  return { generation: Number(match[3]), manifestCrc: Number(match[4]) };
}

/** Replaces the commit record atomically and durably (temp + fsync + rename + directory fsync). */
export function writeCommitRecord(dir: string, record: CommitRecord): void {
  const file = join(dir, COMMIT_FILE);
  const temporary = `${file}.tmp-${process.pid}-${Date.now()}`;
  guardIo(file, 'writing the commit record', () => {
    try {
      const fd = openSync(temporary, 'w');
      try {
        writeSync(fd, recordText(record));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, file);
    } catch (cause) {
      tryRemove(temporary);
      throw cause;
    }
    fsyncPath(dir);
  });
}

/** The index directory's files sorted by what they are to the committed manifest. */
export interface DirectoryFiles {
  /** Named segments whose final name is missing → temporary names that may hold them (rolled forward by writers). */
  pending: Map<string, string[]>;
  /** Temporary files of dead or unfinished writers that the manifest does not name: never committed. */
  debris: string[];
  /** Segment files the manifest lists as obsolete: dropped by a commit, removed by the next writer. */
  obsolete: string[];
  /** Unnamed segment files numbered at or above `nextSegment`: written by a commit the database no longer has. */
  newer: string[];
  /** Other unnamed segment files: not part of the committed index and not provably debris; left in place. */
  unexpected: string[];
}

/** Lists an index directory (readers: before their snapshot, so every file they see is covered by it). */
export function listIndexDirectory(dir: string): string[] {
  return guardIo(dir, 'listing the index directory', () => readdirSync(dir));
}

/** Sorts `names` (a listing of the index directory) against `manifest`. */
export function classifyFiles(names: readonly string[], manifest: Manifest): DirectoryFiles {
  const named = new Set(manifest.segments.map((s) => s.file));
  const obsolete = new Set(manifest.obsolete ?? []);
  const present = new Set(names);
  const out: DirectoryFiles = { pending: new Map(), debris: [], obsolete: [], newer: [], unexpected: [] };
  for (const name of names) {
    const temporary = TEMPORARY_SEGMENT.exec(name);
    if (temporary !== null) {
      const file = temporary[1];
      if (named.has(file) && !present.has(file)) out.pending.set(file, [...(out.pending.get(file) ?? []), name]);
      else out.debris.push(name);
      continue;
    }
    if (TEMPORARY_RECORD.test(name)) {
      out.debris.push(name);
      continue;
    }
    const segment = SEGMENT_FILE_PATTERN.exec(name);
    if (segment === null || named.has(name)) continue;
    if (obsolete.has(name)) out.obsolete.push(name);
    else if (Number(segment[1]) >= manifest.nextSegment) out.newer.push(name);
    else out.unexpected.push(name);
  }
  return out;
}

/**
 * `E_CORRUPT` if commits are missing from the database: the commit record is ahead of the
 * manifest, names another manifest of the same generation, or is missing where the manifest says
 * one is kept, or a segment file exists that only a lost commit can have written. Otherwise
 * undefined. `manifestCrc` is the CRC of the stored manifest text; `record` was read before the
 * caller's snapshot (a reader's) or inside its write transaction (a writer's).
 */
export function lostCommitError(dir: string, manifest: Manifest, manifestCrc: number, record: CommitRecord | undefined, files: DirectoryFiles): SpladexError | undefined {
  const store = join(dir, 'spladex.db');
  const kept = files.newer.length > 0 ? ` The files it wrote are kept: ${files.newer.join(', ')}.` : '';
  const advice = `Nothing was changed or removed. Restore the whole index directory from a backup, or rebuild it; "spladex verify" reports the damage.${kept}`;
  if (record === undefined && manifest.commitRecord === true) {
    return new SpladexError('E_CORRUPT', `${COMMIT_FILE} is missing, so lost commits cannot be ruled out. ${advice}`, { file: join(dir, COMMIT_FILE) });
  }
  if (record !== undefined && record.generation > manifest.generation) {
    const lost = record.generation - manifest.generation;
    return new SpladexError(
      'E_CORRUPT',
      `${lost} committed write${lost === 1 ? ' is' : 's are'} missing: ${COMMIT_FILE} records generation ${record.generation}, but the database opens at generation ${manifest.generation} — its write-ahead log (spladex.db-wal) was damaged, truncated or deleted. ${advice}`,
      { file: store },
    );
  }
  if (record !== undefined && record.generation === manifest.generation && record.manifestCrc !== manifestCrc) {
    return new SpladexError('E_CORRUPT', `the manifest of generation ${manifest.generation} is not the one that was committed (${COMMIT_FILE} names another). ${advice}`, { file: store });
  }
  if (files.newer.length > 0) {
    return new SpladexError(
      'E_CORRUPT',
      `segment file${files.newer.length === 1 ? '' : 's'} ${files.newer.join(', ')} ${files.newer.length === 1 ? 'is' : 'are'} newer than the committed manifest (generation ${manifest.generation}, next segment ${manifest.nextSegment}): a commit is missing from the database (damaged or deleted spladex.db-wal)${manifest.commitRecord === true ? '' : ', or an older spladex was interrupted while writing it (then remove the file)'}. ${advice}`,
      { file: store },
    );
  }
  return undefined;
}

/**
 * Writers, inside their write transaction and after `lostCommitError` found nothing: rolls named
 * segments forward to their final names and removes provable debris and obsolete files. Returns the
 * obsolete files that could not be removed (the next manifest keeps listing them).
 */
export function tidyDirectory(dir: string, files: DirectoryFiles): string[] {
  let changed = false;
  for (const [file, temporaries] of files.pending) {
    // Any of them holds the committed bytes (the digest is checked on load); the rest is debris.
    const [first, ...rest] = temporaries;
    guardIo(join(dir, file), 'renaming a committed segment into place', () => renameSync(join(dir, first), join(dir, file)));
    for (const name of rest) tryRemove(join(dir, name));
    changed = true;
  }
  for (const name of files.debris) tryRemove(join(dir, name));
  const left: string[] = [];
  for (const name of files.obsolete) {
    try {
      unlinkSync(join(dir, name));
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') left.push(name);
    }
  }
  if (changed || files.debris.length > 0 || files.obsolete.length > 0) guardIo(dir, 'syncing the index directory', () => fsyncPath(dir));
  return left;
}

/** Temporary names that may hold named segment `file` (its final name missing), newest first. */
export function pendingSegmentNames(dir: string, file: string): string[] {
  return entriesOrNone(dir).filter((n) => TEMPORARY_SEGMENT.exec(n)?.[1] === file).sort().reverse();
}
