/**
 * Keeping the recall guarantee as an index changes. The calibration (calibration.ts) was measured
 * on the collection as built; `add`, `delete` and `compact` change it. New segments keep the
 * calibrated share of postings (`keepFraction`), so their pruning scales with them, but the
 * frontier of query-time settings can move: when the live documents drifted by more than
 * `RECALIBRATION_DRIFT` since the last calibration, or a compaction rebuilt the index, the
 * frontier is measured again over every segment on the stored calibration queries and committed.
 */
import { isSpladexError } from '../errors.js';
import type { LoadedSegment } from '../reader/snapshot.js';
import { CALIBRATION_QUERIES_KEY, type Calibration, type CalibratedSetting } from '../store/calibration.js';
import { liveDocuments, type Manifest } from '../store/manifest.js';
import type { DocumentStore } from '../store/store.js';
import { calibrateSegments, EXACT_BELOW_POSTINGS, totalPostings } from './calibration.js';
import type { QuerySample } from './calibration-queries.js';

/** Relative change of the live documents after which `add` and `delete` recalibrate. */
const RECALIBRATION_DRIFT = 0.2;

/** What a write's summary says about recalibration. */
export interface RecalibrationReport {
  /** Why it ran: the documents drifted, or a compaction rebuilt the segments. */
  reason: string;
  /** The new default setting for the index's target. */
  chosen: CalibratedSetting;
  seconds: number;
}

/** Why `manifest` (after a write of `kind`) needs recalibrating, or undefined. */
export function recalibrationReason(manifest: Manifest, kind: 'add' | 'delete' | 'compact'): string | undefined {
  const calibration = manifest.calibration;
  if (calibration === undefined) return undefined;
  if (kind === 'compact') return 'the segments were merged by a compaction';
  const live = liveDocuments(manifest);
  const drift = Math.abs(live - calibration.documents) / Math.max(1, calibration.documents);
  if (drift <= RECALIBRATION_DRIFT) return undefined;
  return `the live documents changed by ${(drift * 100).toFixed(0)}% (${calibration.documents} → ${live}) since the last calibration`;
}

/**
 * True when a small index (searched exactly, no frontier) is still small after the write: its
 * calibration would say "exact search" again, so there is nothing to measure or commit.
 */
export function stillSmall(manifest: Manifest, loaded: readonly LoadedSegment[]): boolean {
  return manifest.calibration?.frontier.length === 0 && totalPostings(loaded) <= EXACT_BELOW_POSTINGS;
}

/** The stored calibration queries, if they are present and match the manifest's checksum. */
function storedSample(store: DocumentStore, calibration: Calibration): QuerySample | undefined {
  try {
    const stored = store.getMetaWithCrc<QuerySample>(CALIBRATION_QUERIES_KEY);
    if (stored === undefined || (calibration.queriesCrc !== undefined && stored.crc !== calibration.queriesCrc)) return undefined;
    const sample = stored.value;
    if (!Array.isArray(sample?.queries) || !Array.isArray(sample.strata)) return undefined;
    return sample;
  } catch (error) {
    // A damaged record costs the recalibration, never the write (verify reports the damage).
    if (isSpladexError(error) && error.code === 'E_CORRUPT') return undefined;
    throw error;
  }
}

/** A new calibration over `loaded` (the committed segments), or undefined when the stored queries are gone. */
export function recalibrate(store: DocumentStore, manifest: Manifest, loaded: readonly LoadedSegment[]): Calibration | undefined {
  const previous = manifest.calibration;
  if (previous === undefined) return undefined;
  const sample = storedSample(store, previous);
  if (sample === undefined) return undefined;
  // Copies: calibration's exact searchers must not stay cached on the reader's segments.
  const segments = loaded.map(({ segment, searcher, excluded }) => ({ segment, searcher, excluded }));
  const calibration = calibrateSegments(segments, sample, previous.targetRecall, previous.pruning);
  if (previous.queriesCrc !== undefined) calibration.queriesCrc = previous.queriesCrc;
  return calibration;
}
