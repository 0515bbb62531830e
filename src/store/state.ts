/**
 * Reading the committed state of an index: the manifest with its delete bitmaps, and segment
 * files checked against the manifest entries that name them. Shared by readers, writers and
 * `verify`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pendingSegmentNames } from './commit-record.js';
import { SpladexError } from '../errors.js';
import { deserializeBitmap, newBitmap, type Bitmap } from './deletes.js';
import { parseManifest, segmentDigest, type Manifest, type SegmentEntry } from './manifest.js';
import { checkSegment, type SegmentCheckLevel } from '../segment/segment-check.js';
import { readSegment, type ReadSegmentOptions, type Segment } from '../segment/segment.js';
import type { DocumentStore } from './store.js';

export interface CommittedState {
  manifest: Manifest;
  /** CRC-32 of the stored manifest text (what the commit record names). */
  manifestCrc: number;
  /** Delete bitmap of every segment of the manifest (empty when nothing is deleted). */
  deletes: Map<number, Bitmap>;
}

/** Reads and validates the manifest and the delete bitmaps (in the caller's snapshot or transaction). */
export function readCommittedState(store: DocumentStore): CommittedState {
  const stored = store.getMetaWithCrc<unknown>('manifest');
  if (stored === undefined) throw new SpladexError('E_NOT_AN_INDEX', 'no spladex manifest in this store; rebuild the index', { file: store.path });
  const manifest = parseManifest(stored.value, store.path);
  const blobs = store.getDeleteBlobs();
  const deletes = new Map<number, Bitmap>();
  for (const entry of manifest.segments) {
    const blob = blobs.get(entry.number);
    if (blob === undefined) {
      if (entry.deleted > 0) throw store.corrupt(`the delete bitmap of segment ${entry.number} is missing`);
      deletes.set(entry.number, newBitmap());
    } else {
      deletes.set(entry.number, deserializeBitmap(blob, entry.deleted, entry.documents, store.path, entry.number));
    }
  }
  return { manifest, manifestCrc: stored.crc, deletes };
}

/**
 * Where a named segment's bytes are: its file, or — when a writer died between its commit and the
 * rename (see commit-record.ts) — the temporary file that holds it. The digest check on load
 * rejects a temporary file that is not the committed one.
 */
export function segmentSource(dir: string, file: string): string {
  const path = join(dir, file);
  if (existsSync(path)) return path;
  const pending = pendingSegmentNames(dir, file);
  // The writer may rename it between the two looks: then the final name is there.
  return pending.length > 0 && existsSync(join(dir, pending[0])) ? join(dir, pending[0]) : path;
}

/**
 * Reads one segment file and checks it against its manifest entry. `memory`: where to read it
 * (the query layer passes its WebAssembly kernel memory; see `ReadSegmentOptions.memory`).
 */
export function loadSegmentFile(dir: string, entry: SegmentEntry, level: SegmentCheckLevel = 'load', memory?: ReadSegmentOptions['memory']): Segment {
  const file = join(dir, entry.file);
  const segment = readSegment(segmentSource(dir, entry.file), memory === undefined ? {} : { memory });
  if (segment.meta.nDocs !== entry.documents) {
    throw new SpladexError('E_CORRUPT', `segment holds ${segment.meta.nDocs} documents, the manifest says ${entry.documents}; restore or rebuild the index`, { file });
  }
  if (entry.digest !== undefined && segmentDigest(segment.parts ?? []) !== entry.digest) {
    throw new SpladexError('E_CORRUPT', 'segment file is not the one the manifest names (digest mismatch); restore or rebuild the index', { file });
  }
  checkSegment(segment, file, level);
  return segment;
}

