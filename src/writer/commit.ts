/**
 * The commit protocol of every write (ARCHITECTURE.md, "Commit point"): inside one SQLite
 * `BEGIN IMMEDIATE` transaction, check that no commit was lost and tidy the directory
 * (commit-record.ts), let the operation build its new segment under a temporary name and its rows,
 * bitmaps and manifest, fsync, COMMIT; then rename the segment into place, drop obsolete files,
 * replace `spladex.commit` and checkpoint. A failure before COMMIT leaves the index unchanged.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { classifyFiles, listIndexDirectory, lostCommitError, readCommitRecord, temporarySegmentName, tidyDirectory, writeCommitRecord } from '../store/commit-record.js';
import { serializeBitmap, type Bitmap } from '../store/deletes.js';
import type { Manifest, SegmentEntry } from '../store/manifest.js';
import type { Segment } from '../segment/segment.js';
import { readCommittedState, type CommittedState } from '../store/state.js';
import type { DocumentStore } from '../store/store.js';
import { removeStaleSiblings } from '../store/directory.js';
import { fsyncPath, tryRemove } from '../util/fs.js';
import { ioFailure, isIoFailure } from '../util/io-failure.js';

export interface WritePlan<T> {
  result: T;
  /** Absent: nothing changed, the transaction is rolled back. */
  manifest?: Manifest;
  deletes?: Map<number, Bitmap>;
  /** Segments built by this write, by number (kept in memory so the writer need not reread them). */
  built?: Map<number, Segment>;
}

export interface WriteContext {
  state: CommittedState;
  /** New segment files of this write, as (temporary path, final path): renamed after COMMIT, removed if it fails. */
  created: Array<{ temporary: string; file: string }>;
}

/** Where a write puts new segment `file` until its commit (see commit-record.ts). */
export function stageSegment(created: WriteContext['created'], dir: string, file: string): string {
  const temporary = join(dir, temporarySegmentName(file));
  created.push({ temporary, file: join(dir, file) });
  return temporary;
}

/**
 * The next manifest: deleted counts from `deletes`, segments without a live document dropped,
 * generation and time advanced.
 */
export function nextManifest(manifest: Manifest, deletes: Map<number, Bitmap>, segments: readonly SegmentEntry[], changes: Partial<Manifest>): Manifest {
  const kept = segments
    .map((entry) => ({ ...entry, deleted: deletes.get(entry.number)?.size ?? 0 }))
    .filter((entry) => entry.documents > entry.deleted);
  return { ...manifest, ...changes, segments: kept, generation: manifest.generation + 1, updatedAt: new Date().toISOString() };
}

/** What a committed write leaves: the new state (undefined: nothing changed) and the plan's result. */
export interface WriteOutcome<T> {
  plan: WritePlan<T>;
  committed?: CommittedState;
}

/** Runs one write of the index at `dir` through `store` under the commit protocol (see the file comment). */
export async function runWrite<T>(dir: string, store: DocumentStore, work: (context: WriteContext) => Promise<WritePlan<T>> | WritePlan<T>, cached: CommittedState): Promise<WriteOutcome<T>> {
  const context: WriteContext = { state: cached, created: [] };
  let plan: WritePlan<T>;
  let manifestCrc = 0;
  try {
    store.beginWrite();
    // The committed state is reread inside the transaction: it is the truth, whatever the writer cached.
    const names = listIndexDirectory(dir);
    const record = readCommitRecord(dir);
    context.state = readCommittedState(store);
    const { manifest } = context.state;
    const files = classifyFiles(names, manifest);
    // A rolled-back database must not be written on: its next commit would bury the lost one.
    const lost = lostCommitError(dir, manifest, context.state.manifestCrc, record, files);
    if (lost !== undefined) throw lost;
    const obsoleteLeft = tidyDirectory(dir, files);
    removeStaleSiblings(dir);
    // Before the first commit whose manifest promises a record (and after a writer that died
    // before updating it), the record catches up with the database.
    if (record === undefined || record.generation < manifest.generation) writeCommitRecord(dir, { generation: manifest.generation, manifestCrc: context.state.manifestCrc });
    plan = await work(context);
    if (plan.manifest !== undefined) {
      const kept = new Set(plan.manifest.segments.map((s) => s.number));
      const removed = manifest.segments.filter((s) => !kept.has(s.number));
      const obsolete = [...new Set([...obsoleteLeft, ...removed.map((s) => s.file)])];
      const { obsolete: _previous, ...rest } = plan.manifest;
      plan.manifest = { ...rest, commitRecord: true, ...(obsolete.length > 0 ? { obsolete } : {}) };
      for (const entry of plan.manifest.segments) {
        const bitmap = plan.deletes?.get(entry.number);
        const previous = manifest.segments.find((s) => s.number === entry.number);
        if (bitmap !== undefined && (previous === undefined || previous.deleted !== bitmap.size) && bitmap.size > 0) store.setDeletes(entry.number, serializeBitmap(bitmap));
      }
      for (const entry of removed) store.removeSegment(entry.number);
      // Rows of segments built by this write but dropped at once (everything in them deleted).
      for (const number of plan.built?.keys() ?? []) if (!kept.has(number)) store.removeSegment(number);
      manifestCrc = store.setMeta('manifest', plan.manifest);
      // New segment files are fsynced by writeContainer; their directory entries must be durable
      // before the commit that names them.
      fsyncPath(dir);
      store.commit();
    } else {
      store.rollback();
    }
  } catch (error) {
    store.rollback();
    for (const { temporary } of context.created) tryRemove(temporary);
    throw isIoFailure(error) ? ioFailure(error, dir, 'writing the index') : error;
  }
  if (plan.manifest === undefined) {
    for (const { temporary } of context.created) tryRemove(temporary);
    return { plan };
  }
  publishCommit(dir, store, plan.manifest, manifestCrc, context.created);
  return { plan, committed: { manifest: plan.manifest, manifestCrc, deletes: plan.deletes ?? context.state.deletes } };
}

/**
 * After COMMIT: new segments move to their final names, files the commit made obsolete go, the
 * commit record is replaced, and the WAL is checkpointed as far as readers allow. Each step is
 * idempotent and a crash between them is repaired by the next writer (commit-record.ts), so a
 * failure here does not undo the commit and is not reported as one.
 */
function publishCommit(dir: string, store: DocumentStore, manifest: Manifest, manifestCrc: number, created: WriteContext['created']): void {
  const named = new Set(manifest.segments.map((s) => join(dir, s.file)));
  try {
    for (const { temporary, file } of created) {
      if (named.has(file)) renameSync(temporary, file);
      else tryRemove(temporary);
    }
    for (const file of manifest.obsolete ?? []) tryRemove(join(dir, file));
    fsyncPath(dir);
    writeCommitRecord(dir, { generation: manifest.generation, manifestCrc });
  } catch {
    // The commit stands: readers load a segment from its temporary name until the next writer
    // renames it, and a record behind the database is brought up to date by that writer.
  }
  store.checkpoint();
}
