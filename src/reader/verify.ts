/**
 * `spladex verify`: checks every stored part of an index and reports the first problem with the
 * file and the location in it.
 *
 * Order: the SQLite file (`PRAGMA integrity_check`), the manifest (checksum, shape, version), the
 * stored encoder spec and IDF table (checksums, bound to the manifest), the delete bitmaps (checksum, counts, ranges), every segment file (container checksums, shape,
 * document count and digest against the manifest, full structural invariants — see
 * segment-check.ts), every document row (checksum, valid metadata JSON, one row per document of
 * each segment with the same id as the segment's id list) and finally uniqueness of live ids.
 *
 * Verification only reads, inside one SQLite snapshot, so it can run beside readers and a writer.
 * If a writer's compaction removes a segment file while it is being checked, verification starts
 * again on the newer state. A lost commit (commit-record.ts: the database behind spladex.commit, a
 * segment file newer than the manifest) and any segment file that is not part of the committed
 * index and not provable debris are damage. Provable leftovers of interrupted writers (their
 * temporary files, obsolete segments, a stale lock, temporary directories) are notes: the next
 * writer removes them. An I/O failure (full disk, permissions) is not a finding: it is thrown as
 * `E_IO`, since it says nothing about the index.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SpladexError, type SpladexErrorCode } from '../errors.js';
import { ENCODER_META_KEY, IDF_META_KEY, readStoredEncoder, readStoredIdf } from '../text/encoder-store.js';
import { classifyFiles, listIndexDirectory, lostCommitError, readCommitRecord, COMMIT_FILE } from '../store/commit-record.js';
import { LOCK_FILE } from '../store/lock.js';
import { processAlive } from '../util/fs.js';
import { parseManifest } from '../store/manifest.js';
import type { Segment } from '../segment/segment.js';
import type { SegmentCheckLevel } from '../segment/segment-check.js';
import { loadSegmentFile, readCommittedState, segmentSource } from '../store/state.js';
import { checkIndexDirectory } from './reader.js';
import { DocumentStore, STORE_FILE } from '../store/store.js';

export interface VerifyProblem {
  code: SpladexErrorCode;
  /** The damaged file. */
  file: string;
  /** Where in it: a byte offset, a container part and entry, a table row, … */
  location: string;
  message: string;
}

export interface VerifyReport {
  path: string;
  ok: boolean;
  /** The first problem found; verification stops there. */
  problem?: VerifyProblem;
  checked: { segments: number; documents: number; deletedDocuments: number; rows: number; bytes: number };
  /** Leftovers of interrupted writers and other remarks that are not damage. */
  notes: string[];
  seconds: number;
}

class Located extends Error {
  constructor(
    readonly error: SpladexError,
    readonly location: string,
  ) {
    super(error.message);
  }
}

/** Runs `fn`; a typed error becomes a located problem. */
function at<T>(location: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SpladexError) throw new Located(error, location);
    throw error;
  }
}

function locationOf(error: SpladexError, fallback: string): string {
  const part = /^(?:.*?: )?part "([^"]+)" entry (\d+)/.exec(error.message);
  if (part !== null) return `part "${part[1]}", entry ${part[2]}`;
  const section = /in part "([^"]+)"/.exec(error.message);
  if (section !== null && error.offset !== undefined) return `part "${section[1]}" at byte ${error.offset}`;
  if (error.offset !== undefined) return `byte ${error.offset}`;
  return fallback;
}

export interface VerifyOptions {
  /**
   * `full` (default): every invariant, including each block summary against its documents —
   * about as much work as building the blocks again. `quick`: everything else (checksums, SQLite
   * integrity, ranges and offsets, manifest, bitmaps, document rows), in about the time of an open.
   */
  level?: 'full' | 'quick';
}

export const VERIFY_DEFAULTS: Readonly<Required<VerifyOptions>> = Object.freeze({ level: 'full' });

/**
 * Verifies the index at `dir`. Throws only when `dir` is not an index at all (`E_NOT_AN_INDEX`), an
 * option is invalid, or the index cannot be read (`E_IO`: the check did not happen).
 */
export function verifyIndex(dir: string, options: VerifyOptions = {}): VerifyReport {
  const level = options.level ?? VERIFY_DEFAULTS.level;
  if (level !== 'full' && level !== 'quick') throw new SpladexError('E_OPTION', `option level must be full or quick, got ${String(level)}`);
  const started = performance.now();
  const path = resolve(dir);
  const storePath = checkIndexDirectory(path);
  const report: VerifyReport = { path, ok: true, checked: { segments: 0, documents: 0, deletedDocuments: 0, rows: 0, bytes: 0 }, notes: [], seconds: 0 };
  let store: DocumentStore | undefined;
  try {
    store = at('file header', () => DocumentStore.open(storePath, true));
    for (let attempt = 0; ; attempt++) {
      const seen = { generation: 0 };
      try {
        checkOnce(path, store, report, seen, level === 'full' ? 'full' : 'load');
        break;
      } catch (error) {
        // A segment file removed by a writer that committed meanwhile: start again on the new state.
        if (!(error instanceof Located) || attempt >= 5 || !/missing index file/.test(error.message)) throw error;
        store.endSnapshot();
        const latest = parseManifest(store.getMeta<unknown>('manifest'), store.path);
        if (latest.generation === seen.generation) throw error;
        report.checked = { segments: 0, documents: 0, deletedDocuments: 0, rows: 0, bytes: 0 };
      }
    }
  } catch (caught) {
    // Any typed error is a finding; one raised outside a located step is placed in the database.
    if (!(caught instanceof Located) && !(caught instanceof SpladexError)) throw caught;
    const error = caught instanceof Located ? caught : new Located(caught as SpladexError, 'database');
    const e = error.error;
    if (e.code === 'E_IO') throw e;
    report.ok = false;
    // The message without the "file: " prefix SpladexError adds: the file has its own field.
    const message = e.message.replace(/^.*?(?: @\d+)?: /, (prefix) => (e.file !== undefined && prefix.startsWith(e.file) ? '' : prefix));
    report.problem = { code: e.code, file: e.file ?? storePath, location: locationOf(e, error.location), message };
  } finally {
    store?.close();
  }
  notes(path, report);
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

function checkOnce(path: string, store: DocumentStore, report: VerifyReport, seen: { generation: number }, structure: SegmentCheckLevel): void {
  // Read before the snapshot, as readers do (see loadSnapshot): everything they show is covered by it.
  const names = listIndexDirectory(path);
  const record = at('file', () => readCommitRecord(path));
  store.beginSnapshot();
  const storePath = store.path;
  report.checked.bytes = statSync(storePath).size;
  const integrity = at('database pages', () => store.integrityCheck());
  if (integrity.length > 0) {
    throw new Located(new SpladexError('E_CORRUPT', `SQLite integrity check: ${integrity[0]}${integrity.length > 1 ? ` (and ${integrity.length - 1} more)` : ''}; restore the index from a backup or rebuild it`, { file: storePath }), 'database pages');
  }
  const state = at('table meta, key "manifest"', () => {
    // The manifest alone first, so a manifest problem is not reported as a delete-bitmap one.
    parseManifest(store.getMeta<unknown>('manifest') ?? { format: undefined }, storePath);
    return at('table deletes', () => readCommittedState(store));
  });
  const { manifest, deletes } = state;
  seen.generation = manifest.generation;
  const files = classifyFiles(names, manifest);
  const lost = lostCommitError(path, manifest, state.manifestCrc, record, files);
  if (lost !== undefined) throw new Located(lost, record !== undefined && record.generation > manifest.generation ? `commit generation ${manifest.generation} of ${record.generation} (${COMMIT_FILE})` : 'directory');
  if (files.unexpected.length > 0) {
    const list = files.unexpected.join(', ');
    throw new Located(
      new SpladexError(
        'E_CORRUPT',
        `segment file${files.unexpected.length === 1 ? '' : 's'} ${list} ${files.unexpected.length === 1 ? 'is' : 'are'} not part of the committed index (generation ${manifest.generation}) and not the leftover of an uncommitted write; nothing was removed. If the index's documents are all there (e.g. an older spladex was interrupted after a compaction), remove ${files.unexpected.length === 1 ? 'it' : 'them'}; otherwise restore the index from a backup`,
        { file: join(path, files.unexpected[0]) },
      ),
      'directory',
    );
  }
  // The encoder spec and IDF table of an index built from text: checksums, binding to the manifest, shape.
  at(`table meta, key "${ENCODER_META_KEY}"`, () => readStoredEncoder(store, manifest));
  at(`table meta, key "${IDF_META_KEY}"`, () => readStoredIdf(store, manifest));
  const blobs = at('table deletes', () => store.getDeleteBlobs());
  for (const number of blobs.keys()) {
    if (!deletes.has(number)) throw new Located(store.corrupt(`a delete bitmap exists for segment ${number}, which the manifest does not list`), `table deletes, segment ${number}`);
  }

  const segments = new Map<number, Segment>();
  for (const entry of manifest.segments) {
    const file = join(path, entry.file);
    const segment = at('file', () => loadSegmentFile(path, entry, structure));
    if (segment.meta.valueType !== manifest.build.forwardValues) {
      throw new Located(new SpladexError('E_CORRUPT', `segment stores ${segment.meta.valueType} values, the index is built with ${manifest.build.forwardValues}; rebuild the index`, { file }), 'part "meta"');
    }
    segments.set(entry.number, segment);
    report.checked.segments++;
    report.checked.bytes += statSync(segmentSource(path, entry.file)).size;
  }

  const counts = new Map<number, number>();
  const liveIds = new Map<string, number>();
  for (const row of store.allRows()) {
    const location = `table documents, row (segment ${String(row.segment)}, local ${String(row.local)})`;
    at(location, () => store.checkRow(row));
    const segment = segments.get(row.segment);
    if (segment === undefined) throw new Located(store.corrupt(`document ${JSON.stringify(row.id)} belongs to segment ${row.segment}, which the manifest does not list`), location);
    if (row.local >= segment.meta.nDocs || segment.docIds[row.local] !== row.id) {
      throw new Located(store.corrupt(`document row ${JSON.stringify(row.id)} does not match entry ${row.local} of segment ${row.segment}`), location);
    }
    if (row.metadata !== null) {
      let metadata: unknown;
      try {
        metadata = JSON.parse(row.metadata);
      } catch {
        throw new Located(store.corrupt(`metadata of document ${JSON.stringify(row.id)} is not valid JSON`), location);
      }
      if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new Located(store.corrupt(`metadata of document ${JSON.stringify(row.id)} is not a JSON object`), location);
    }
    counts.set(row.segment, (counts.get(row.segment) ?? 0) + 1);
    report.checked.rows++;
    if (!deletes.get(row.segment)!.has(row.local)) {
      const other = liveIds.get(row.id);
      if (other !== undefined) throw new Located(store.corrupt(`id ${JSON.stringify(row.id)} is live in segments ${other} and ${row.segment}`), location);
      liveIds.set(row.id, row.segment);
    }
  }
  for (const entry of manifest.segments) {
    const n = counts.get(entry.number) ?? 0;
    if (n !== entry.documents) throw new Located(store.corrupt(`segment ${entry.number} has ${n} document rows, the manifest says ${entry.documents}`), `table documents, segment ${entry.number}`);
  }
  report.checked.documents = liveIds.size;
  report.checked.deletedDocuments = manifest.segments.reduce((n, s) => n + s.deleted, 0);
  store.endSnapshot();
}

/** Remarks about provable leftovers; they never make verification fail. */
function notes(path: string, report: VerifyReport): void {
  let names: string[] = [];
  try {
    names = readdirSync(path);
  } catch {
    return;
  }
  try {
    const store = DocumentStore.open(join(path, STORE_FILE), true);
    try {
      const files = classifyFiles(names, parseManifest(store.getMeta<unknown>('manifest'), store.path));
      for (const [file, temporaries] of files.pending) report.notes.push(`committed segment ${file} is still under its temporary name ${temporaries[0]} (a writer stopped after its commit); the next writer renames it`);
      if (files.debris.length > 0) report.notes.push(`temporary files of interrupted writes that never committed (the next writer removes them): ${files.debris.join(', ')}`);
      if (files.obsolete.length > 0) report.notes.push(`segment files dropped by the last commit (the next writer removes them): ${files.obsolete.join(', ')}`);
    } finally {
      store.close();
    }
  } catch {
    // The problem, if any, is reported already.
  }
  if (names.includes(LOCK_FILE)) {
    try {
      const owner = JSON.parse(readFileSync(join(path, LOCK_FILE), 'utf8')) as { pid: number; command: string };
      report.notes.push(processAlive(owner.pid) ? `a writer is active: process ${owner.pid} (${owner.command})` : `stale lock of process ${owner.pid} (the next writer removes it)`);
    } catch {
      report.notes.push(`unreadable lock file ${LOCK_FILE}`);
    }
  }
  try {
    const prefix = basename(path);
    const leftovers = readdirSync(dirname(path)).filter((n) => n.startsWith(`${prefix}.tmp-`) || n.startsWith(`${prefix}.old-`));
    if (leftovers.length > 0) report.notes.push(`temporary directories of interrupted builds: ${leftovers.join(', ')}`);
  } catch {
    // Parent not listable: nothing to say.
  }
}
