/**
 * What a reader holds: the committed state of one snapshot and its segments loaded into memory
 * (into WebAssembly kernel memory where the layout allows), each with its searchers and delete
 * mask. Loading checks for lost commits first (commit-record.ts) and reuses segments already in
 * memory: segment files never change once written.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bitmapMask, type Bitmap } from '../store/deletes.js';
import { classifyFiles, listIndexDirectory, lostCommitError, readCommitRecord } from '../store/commit-record.js';
import type { IdLookup } from './id-lookup.js';
import { parseManifest, type SegmentEntry } from '../store/manifest.js';
import type { ReadSegmentOptions, Segment } from '../segment/segment.js';
import { loadSegmentFile, readCommittedState, type CommittedState } from '../store/state.js';
import type { DocumentStore } from '../store/store.js';
import { MaxScoreSearcher } from '../query/maxscore.js';
import { SegmentSearcher } from '../query/segment-searcher.js';
import { KernelMemory } from '../query/wasm-kernel.js';

export interface LoadedSegment {
  entry: SegmentEntry;
  segment: Segment;
  searcher: SegmentSearcher;
  /** Exact MaxScore searcher, created on first use (it builds an unpruned inverted index). */
  maxScore?: MaxScoreSearcher;
  deleted: Bitmap;
  /** `excluded[d] === 1` for deleted documents; absent when none is deleted. */
  excluded?: Uint8Array;
  /** External id → local id, built on first `getDocument`. */
  ids?: IdLookup;
}

export function attach(entry: SegmentEntry, segment: Segment, deleted: Bitmap, reuse?: LoadedSegment): LoadedSegment {
  const loaded: LoadedSegment = { entry, segment, searcher: reuse?.searcher ?? new SegmentSearcher(segment), deleted };
  if (reuse?.maxScore !== undefined) loaded.maxScore = reuse.maxScore;
  if (reuse?.ids !== undefined) loaded.ids = reuse.ids;
  if (deleted.size > 0) loaded.excluded = bitmapMask(deleted, segment.meta.nDocs);
  return loaded;
}

/**
 * Where segment files are read to: the reader's default is private WebAssembly kernel memory; the
 * search pool passes shared memory (`sharedSegmentAllocator`), so its worker threads search the
 * same bytes.
 */
export type SegmentAllocator = NonNullable<ReadSegmentOptions['memory']>;

export function loadSegments(dir: string, state: CommittedState, reuse: readonly LoadedSegment[] = [], allocate: SegmentAllocator = KernelMemory.allocate): LoadedSegment[] {
  return state.manifest.segments.map((entry) => {
    const deleted = state.deletes.get(entry.number)!;
    // Segment files never change once written, so a segment already in memory is reused as is.
    const previous = reuse.find((s) => s.entry.file === entry.file && s.entry.documents === entry.documents && s.entry.digest === entry.digest);
    return attach(entry, previous?.segment ?? loadSegmentFile(dir, entry, 'load', allocate), deleted, previous);
  });
}

/**
 * Opens a snapshot and loads it. A file can vanish between reading the manifest and loading it
 * only if a writer committed a newer state meanwhile and removed files the new state no longer
 * needs; then the load is simply retried on the newer state.
 */
export function loadSnapshot(dir: string, store: DocumentStore, reuse: readonly LoadedSegment[] = [], allocate?: SegmentAllocator): { state: CommittedState; segments: LoadedSegment[] } {
  for (let attempt = 0; ; attempt++) {
    // The directory and the commit record are read before the snapshot starts, so every file and
    // commit they show is one the snapshot already sees (files appear only after their commit).
    const names = listIndexDirectory(dir);
    const record = readCommitRecord(dir);
    store.beginSnapshot();
    let state: CommittedState | undefined;
    try {
      state = readCommittedState(store);
      const lost = lostCommitError(dir, state.manifest, state.manifestCrc, record, classifyFiles(names, state.manifest));
      if (lost !== undefined) throw lost;
      return { state, segments: loadSegments(dir, state, reuse, allocate) };
    } catch (error) {
      store.endSnapshot();
      const vanished = state !== undefined && state.manifest.segments.some((e) => !existsSync(join(dir, e.file)));
      if (!vanished || attempt >= 20) throw error;
      const latest = parseManifest(store.getMeta<unknown>('manifest'), store.path);
      if (latest.generation === state!.manifest.generation) throw error;
    }
  }
}
