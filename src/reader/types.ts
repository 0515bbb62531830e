/** The reader's public shapes: search options, open options, `info()` and `flops()` reports. */
import type { EncoderSpec } from '../encode/spec.js';
import type { Filter } from '../store/filter.js';
import type { SegmentEntry } from '../store/manifest.js';
import type { Calibration } from '../store/calibration.js';
import type { ResolvedBuildOptions } from '../segment/options.js';
import type { ResolvedPostingPruning } from '../segment/posting-pruning.js';
import type { SegmentLayout } from '../segment/segment.js';
import type { EncoderOverrides } from '../text/encoder-store.js';
import type { ScoringKernel } from '../query/candidate-scorer.js';
import type { SearchOptions } from '../query/options.js';
import { defineOptions } from '../util/options-table.js';
import type { TermSpaceOptions } from '../io/term-space.js';

/**
 * Search options of `SpladexIndex.search`: the query-time arguments plus a metadata filter, and the
 * term space of the query vectors (`termSpace`, `allowTermSpaceMismatch`: src/io/term-space.ts).
 */
export interface IndexSearchOptions extends SearchOptions, TermSpaceOptions {
  /** Only documents whose metadata matches (see `Filter`); an array means all must match. */
  filter?: Filter | readonly Filter[];
  /**
   * Per segment: when at most this many documents pass the filter, they are scored exactly one
   * by one (cheap, and exact whatever the pruning); otherwise the normal search runs with every
   * other document masked out. Default 10,000; range 0 – 2^32.
   */
  filterExactBelow?: number;
  /**
   * Recall@10 the search must deliver, for an index with a recall calibration: the cheapest stored
   * setting meeting it is used (exact search when none does or when exact is as fast). Default:
   * the index's `targetRecall`. Arguments given explicitly (`queryCut`, `heapFactor`, `mode`, …)
   * still override. `E_OPTION` on an index without calibration. Range (0, 1].
   */
  targetRecall?: number;
}

/** FLOPS of an index and its postings per document (`IndexReader.flops`, `spladex info`). */
export interface FlopsReport {
  /** Expected multiply-adds per query of an exact search: `queryFlops` when a query sample was given, else `documentFlops`. */
  flops: number;
  /** Which p_q `flops` used: the query sample's, or the documents' own (p_q = p_d). */
  distribution: 'queries' | 'documents';
  /** `Σ_t df(t)² / N²`: FLOPS with p_q = p_d. */
  documentFlops: number;
  /** `Σ_t df_q(t)·df(t) / (N_q·N)` over the query sample; null without one. */
  queryFlops: number | null;
  /** Queries in the sample (0 without one). */
  queries: number;
  /** Live documents. */
  documents: number;
  /** Forward postings per live document. */
  postingsPerDocument: { mean: number; p50: number; p99: number; max: number };
}

/** The filter settings of a search as an options table (src/util/options-table.ts), like every other group. */
export const FILTER_SEARCH_OPTIONS = defineOptions<Pick<IndexSearchOptions, 'filterExactBelow'>>({
  filterExactBelow: {
    type: 'integer',
    default: 10_000,
    min: 0,
    max: 2 ** 32,
    help: 'per segment, score the filtered documents one by one when at most n pass the filter',
  },
});

/** The recall target of a search on a calibrated index, as an options table (no default: the index's own target). */
export const CALIBRATED_SEARCH_OPTIONS = defineOptions<Pick<IndexSearchOptions, 'targetRecall'>>({
  targetRecall: {
    type: 'number',
    min: 0,
    minOpen: true,
    max: 1,
    placeholder: 'r',
    help: "recall@10 to deliver: the cheapest calibrated setting that meets it, or exact search (default: the index's target; explicit --query-cut, --heap-factor, --exact still win)",
  },
});

export const FILTER_SEARCH_DEFAULTS = FILTER_SEARCH_OPTIONS.defaults as Readonly<Required<Pick<IndexSearchOptions, 'filterExactBelow'>>>;

/** Options of `SpladexIndex.open` (a reader). */
export interface ReaderOptions {
  /**
   * Indexes built from text: run-time settings of the stored encoder (`searchText`, `addText`,
   * `encoder()`): `model` relocates the model directory (its checksum must still match: `E_MODEL`),
   * `threads`, `batchSize`, … Everything that shapes vectors comes from the stored spec.
   */
  encoder?: EncoderOverrides;
}

/** Options of `SpladexIndex.openWriter`. */
export interface WriterOptions extends ReaderOptions {
  /** What to record in the lock file, shown to refused writers. Default "library writer". */
  writerName?: string;
}

export interface IndexInfo {
  path: string;
  formatVersion: number;
  /** Live documents (deleted ones excluded). */
  documents: number;
  /** Deleted documents still stored (until `compact`). */
  deletedDocuments: number;
  generation: number;
  vocabularySize: number;
  postings: number;
  keptPostings: number;
  blocks: number;
  summaryEntries: number;
  /** Bytes on disk per part (segment sections summed over segments, plus the document store). */
  bytes: { total: number; parts: Record<string, number> };
  /** Bytes of the in-memory structures: forward index, inverted index (postings + summaries) and κ-NN graph. */
  memory: { forward: number; inverted: number; graph: number; total: number };
  build: ResolvedBuildOptions;
  /** The encoder of an index built from text (null: built from vectors). */
  encoder: { kind: EncoderSpec['kind']; label: string } | null;
  /** What the index's tokens mean (`wordpiece:bert-base-uncased`, `analyzer:english-porter`, `custom`: src/io/term-space.ts); `custom` for indexes written before it was recorded. */
  termSpace: string;
  /** The stored IDF table (null: none): where it came from and its size. */
  idf: { source: 'file' | 'corpus' | 'table'; terms: number } | null;
  /** Index-time posting pruning the index was built with (null: none). */
  postingPruning: ResolvedPostingPruning | null;
  /** The recall calibration: queries, frontier, the default setting and its estimate (null: none). */
  calibration: Calibration | null;
  segments: Array<SegmentEntry & { layout: SegmentLayout; postings: number; keptPostings: number; blocks: number; scoringKernel: ScoringKernel }>;
  /**
   * Kernels searches score candidates with: `webassembly` (the default where the segment layout
   * allows), `javascript` (u8/f32 forward values, vocabularies over 65,536 terms, segments over
   * 4 GiB, no WebAssembly, or `SPLADEX_WASM=0`), `mixed` when segments differ. Same results.
   */
  scoringKernel: ScoringKernel | 'mixed';
}
