/** Options and summaries of the writer's operations (`add`, `addText`, `delete`, `compact`). */
import type { TermSpaceOptions } from '../io/term-space.js';
import type { RecalibrationReport } from './recalibrate.js';
import type { IngestOptions } from '../segment/ingest.js';
import { BUILD_OPTIONS } from '../segment/options.js';
import type { PostingPruningReport } from '../segment/posting-pruning.js';
import type { SegmentLayout } from '../segment/segment.js';
import type { EncoderBuildReport } from '../text/text-source.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

/** Options of `add` and `compact`. Defaults in `WRITE_DEFAULTS`. */
export interface WriteOptions {
  /**
   * A new segment with fewer documents than this is stored flat (forward index only) and searched
   * exhaustively: for a few thousand documents that is as fast as a pruned search, exact, and
   * skips the blocking work. Larger segments get the Seismic structure with the index's build
   * options. Default 5,000; range 0 – 2^31 (0: always Seismic).
   */
  smallSegmentDocs?: number;
  /** Build threads. Default: `BUILD_DEFAULTS.threads`; range 1 – 64. Never changes what is built. */
  threads?: number;
}

/** The options of `add` and `compact`: default, range, flag and help of each (see src/util/options-table.ts). */
export const WRITE_OPTIONS: OptionsTable<Required<WriteOptions>> = defineOptions<Required<WriteOptions>>({
  smallSegmentDocs: {
    type: 'integer',
    min: 0,
    max: 2 ** 31,
    default: 5000,
    // --small-segment was the flag before flags were derived from option names.
    flagAliases: ['small-segment'],
    help: 'a new segment with fewer documents is stored without an inverted index and searched exhaustively (0 = always indexed)',
  },
  // The build's entry: same default (the build's), range and meaning.
  threads: BUILD_OPTIONS.specs.threads,
});

export const WRITE_DEFAULTS: Readonly<Required<WriteOptions>> = WRITE_OPTIONS.defaults;

/**
 * Options of `add`: write and ingest options, and the term space of the added vectors (`termSpace`,
 * `allowTermSpaceMismatch`; src/io/term-space.ts): vectors of another space than the index's are refused.
 */
export interface AddOptions extends WriteOptions, IngestOptions, TermSpaceOptions {}

/** Options of `addText`: those of `add`, plus the encoder chunk size. Encoder run-time settings come from `OpenOptions.encoder`. */
export interface AddTextOptions extends AddOptions {
  /** Documents per encoder call. Default max(256, 4 × batchSize); range 1 – 1,000,000. */
  chunkSize?: number;
}

export interface AddSummary {
  path: string;
  /** Per-document posting cuts of the index applied to the new documents (see `Manifest.postingPruning`). */
  postingPruning?: PostingPruningReport;
  /**
   * `addText` only (vectors never change the stored IDF table). Terms added to a corpus IDF table (lexical indexes, and indexes pruned with corpus IDF): the
   * original N and every existing IDF are kept; a term the index never saw gets
   * `ln(1 + (N − df + 0.5)/(df + 0.5))` with its df in the added documents.
   */
  idfTermsAdded?: number;
  /** `addText`: the encoder, its throughput and where its time went. */
  encoder?: EncoderBuildReport;
  /** Documents added (new ids and replacements). */
  documents: number;
  /** Of those, documents whose id was already live: the old version is now deleted. */
  replaced: number;
  emptyDocuments: number;
  skipped: number;
  postings: number;
  /** The new segment, unless nothing was added. */
  segment?: { file: string; number: number; layout: SegmentLayout };
  /** Live documents in the index after the add. */
  liveDocuments: number;
  /** Set when the add moved the collection enough that the recall calibration was measured again (recalibrate.ts). */
  recalibrated?: RecalibrationReport;
  seconds: { total: number };
}

export interface DeleteSummary {
  path: string;
  /** Live documents that are now deleted. */
  deleted: number;
  /** Requested ids with no live document (unknown or already deleted). */
  notFound: string[];
  liveDocuments: number;
  /** Set when the deletes moved the collection enough that the recall calibration was measured again. */
  recalibrated?: RecalibrationReport;
}

export interface CompactSummary {
  path: string;
  segmentsBefore: number;
  segmentsAfter: number;
  /** Live documents, all now in one segment. */
  documents: number;
  /** Deleted documents dropped for good. */
  dropped: number;
  segment?: { file: string; number: number; layout: SegmentLayout };
  /** Set on a calibrated index: the compaction rebuilt the segments, so the calibration was measured again. */
  recalibrated?: RecalibrationReport;
  seconds: { total: number };
}

/** Fills defaults and checks ranges (`E_OPTION` naming the option); other keys (ingest options) are ignored. */
export function resolveWriteOptions(options: WriteOptions): Required<WriteOptions> {
  return WRITE_OPTIONS.resolve(options);
}
