/**
 * Build-time configuration of a Seismic-style index, with every default in one constant.
 * These values are stored with the index (like Seismic's build configuration), so `spladex info`
 * tells how an index was made and a rebuild with the same options and seed is byte-identical.
 * Query-time arguments live in `src/query/options.ts`. Defaults, ranges, flags and help come from
 * one table, `BUILD_OPTIONS`; the ranges in the comments below repeat it for readers.
 */
import { availableParallelism } from 'node:os';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

export type PruningStrategy = 'global-threshold' | 'fixed-size' | 'none';
export type BlockingStrategy = 'kmeans' | 'fixed-size';
export type ForwardValueType = 'f16' | 'u8' | 'f32';

export interface BuildOptions {
  /**
   * Static pruning of posting lists.
   * - `global-threshold` (default): keep the `nPostings × |V|` largest postings of the whole
   *   collection, and at most `maxFraction × nPostings` in any one list (Seismic's default).
   * - `fixed-size`: keep the `nPostings` largest postings of every list (top-λ).
   * - `none`: keep everything (lossless; use for ground truth experiments).
   */
  pruning?: PruningStrategy;
  /**
   * λ: average (global-threshold) or exact (fixed-size) postings kept per list. Default 400; range
   * 1 – 2^31. With a 30k-term vocabulary, 400 keeps ~12M postings: ~10% of a 1M-document SPLADE
   * collection, which holds recall@10 ≥ 0.95 there while the index stays within 1.5× the forward
   * index (see docs/BENCHMARKS.md). Raise it for larger collections.
   */
  nPostings?: number;
  /** Cap of one list in global-threshold mode, as a multiple of `nPostings`. Default 1.5; range 1 – 1000. */
  maxFraction?: number;
  /**
   * Global-threshold pruning by share instead of count: keep this fraction of all postings (λ
   * becomes `keepFraction × postings / |V|`, the list cap `maxFraction × λ` as before). Default 0:
   * use `nPostings`. Calibration sets it (see `targetRecall`); as a share it keeps meaning the same
   * when `add` and `compact` build segments of other sizes, where a fixed λ × |V| would keep an
   * ever smaller part of a growing collection. Range [0, 1].
   */
  keepFraction?: number;
  /**
   * The recall@10 against exact search that the index is calibrated for (see ARCHITECTURE.md,
   * "Calibration"). The build samples queries from the collection (or takes `calibrationQueries`),
   * computes their exact top 10, chooses the static pruning so the target is reachable with
   * margin, then measures the recall–cost frontier of the query-time arguments; `search` without
   * arguments uses the cheapest setting that meets the target (exact search where that is as
   * fast). Default 0.95; range (0, 1].
   */
  targetRecall?: number;
  /** Calibration queries drawn from the collection (or from a given query log). Default 256; range 0 – 100,000; 0 turns calibration off (fixed defaults). */
  calibrationSample?: number;
  /**
   * How a posting list is split into blocks.
   * - `kmeans` (default): shallow one-pass k-means on the documents of the list (random centroids,
   *   each document joins the centroid with the highest dot product), so blocks are geometrically cohesive.
   * - `fixed-size`: consecutive runs of `blockSize` documents in id order.
   */
  blocking?: BlockingStrategy;
  /** Centroids per list as a fraction of its length (k-means), i.e. ~1/block size. Default 0.07; range (0, 1]. */
  centroidFraction?: number;
  /** Terms of each document used to assign it to a centroid (k-means). Default 15; range 1 – 65535. */
  kmeansDocCut?: number;
  /** Documents per block (fixed-size blocking). Default 32; range 1 – 65535. */
  blockSize?: number;
  /** Fraction of a block summary's L1 mass kept (largest terms first). Default 0.4; range (0, 1]; 1 is lossless. */
  summaryEnergy?: number;
  /**
   * Hard cap on the terms of one summary, applied after `summaryEnergy`; 0 means no cap. Default 96;
   * range 0 – 2^31. Summaries dominate the inverted side's memory (3 bytes a term); 96 keeps a 1M
   * SPLADE-like index at ~1.4× its forward index while making bounds tight enough for
   * `heapFactor` 0.9 (measurements in docs/BENCHMARKS.md).
   */
  maxSummaryTerms?: number;
  /**
   * Storage of forward-index values used for exact scoring of candidates.
   * `f16` (default): half precision, 2 bytes; `u8`: 8-bit codebook (256 levels fitted to the value
   * distribution), 1 byte; `f32`: full precision, 4 bytes.
   */
  forwardValues?: ForwardValueType;
  /**
   * κ: nearest neighbours stored per document (Seismic's κ-NN graph, CIKM 2024; see
   * `src/segment/knn.ts`). Approximate search also scores the stored neighbours of its results,
   * which recovers the recall of a harder block cut. Default: chosen by calibration with the
   * pruning (8, 16 or 32; src/writer/calibration-pruning.ts) when the index gets a frontier, else 8
   * (32 bytes per document);
   * range 0 – 64; 0 builds no graph (saves 4κ bytes per document and ~2 minutes of build per
   * million documents on 2 threads).
   */
  knn?: number;
  /** Seed of every random choice (centroid sampling). Default 42; range 0 – 2^32−1. */
  seed?: number;
  /** Threads used by the build (worker threads for blocking and summaries). Default: min(2, cores); range 1 – 64. */
  threads?: number;
}

export type ResolvedBuildOptions = Required<BuildOptions>;

/** The build options: default, range, flag and help of each (see src/util/options-table.ts). */
export const BUILD_OPTIONS: OptionsTable<ResolvedBuildOptions> = defineOptions<ResolvedBuildOptions>({
  pruning: { type: 'enum', values: ['global-threshold', 'fixed-size', 'none'], default: 'global-threshold', placeholder: 'strategy', help: 'static pruning of posting lists' },
  nPostings: { type: 'integer', min: 1, max: 2 ** 31, default: 400, help: 'λ: average (global-threshold) or exact (fixed-size) postings kept per list' },
  maxFraction: { type: 'number', min: 1, max: 1000, default: 1.5, placeholder: 'f', help: 'global-threshold: cap of one list as a multiple of --n-postings' },
  keepFraction: { type: 'number', min: 0, max: 1, default: 0, placeholder: 'f', help: 'global-threshold: fraction of all postings kept instead of --n-postings per list (0 = use --n-postings; calibration sets it)' },
  targetRecall: { type: 'number', min: 0, minOpen: true, max: 1, default: 0.95, placeholder: 'r', help: 'recall@10 against exact search the build calibrates for (default search meets it)' },
  calibrationSample: { type: 'integer', min: 0, max: 100_000, default: 256, help: 'calibration queries drawn from the collection or the query log (0 = no calibration)' },
  blocking: { type: 'enum', values: ['kmeans', 'fixed-size'], default: 'kmeans', placeholder: 'strategy', help: 'blocking of posting lists' },
  centroidFraction: { type: 'number', min: 0, minOpen: true, max: 1, default: 0.07, placeholder: 'f', help: 'k-means: centroids per list as a fraction of its length' },
  kmeansDocCut: { type: 'integer', min: 1, max: 65535, default: 15, help: 'k-means: terms of each document used to pick its centroid' },
  blockSize: { type: 'integer', min: 1, max: 65535, default: 32, help: 'fixed-size blocking: documents per block' },
  summaryEnergy: { type: 'number', min: 0, minOpen: true, max: 1, default: 0.4, placeholder: 'f', help: "fraction of a block summary's L1 mass kept; 1 is lossless" },
  maxSummaryTerms: { type: 'integer', min: 0, max: 2 ** 31, default: 96, help: 'cap on terms per block summary (0 = no cap)' },
  forwardValues: { type: 'enum', values: ['f16', 'u8', 'f32'], default: 'f16', placeholder: 'type', help: 'forward-index value storage' },
  knn: { type: 'integer', min: 0, max: 64, default: 8, help: 'κ: nearest neighbours stored per document for the κ-NN graph round of search (0 = no graph; calibration chooses 8, 16 or 32 when not given)' },
  seed: { type: 'integer', min: 0, max: 2 ** 32 - 1, default: 42, help: 'seed of every random choice (builds are deterministic per seed)' },
  threads: { type: 'integer', min: 1, max: 64, default: () => Math.max(1, Math.min(2, availableParallelism())), defaultText: 'min(2, cores)', help: 'build threads' },
});

export const BUILD_DEFAULTS: ResolvedBuildOptions = BUILD_OPTIONS.defaults;

/** Options that make the index lossless: search with `LOSSLESS_SEARCH` then equals exact search. */
export const LOSSLESS_BUILD: BuildOptions = Object.freeze({ pruning: 'none', summaryEnergy: 1, maxSummaryTerms: 0 });

/** Fills defaults and checks ranges; throws `E_OPTION` naming the bad option. */
export function resolveBuildOptions(options: BuildOptions = {}): ResolvedBuildOptions {
  return BUILD_OPTIONS.resolve(options);
}
