/**
 * Query-time arguments (Seismic's split: these can change per query, build options cannot).
 * Defaults, ranges, flags and help come from one table, `SEARCH_OPTIONS`.
 */
import { defineOptions, type OptionsTable } from '../util/options-table.js';

/**
 * - `approximate` (default): Seismic block-pruned search over the statically pruned index.
 * - `exhaustive`: exact; scores every document through the forward index (ground truth).
 * - `maxscore`: exact; dynamic pruning over the unpruned inverted index (the PISA/Lucene approach).
 */
export type SearchMode = 'approximate' | 'exhaustive' | 'maxscore';

export interface SearchOptions {
  /** Number of results. Default 10; range 1 – 100,000. */
  k?: number;
  /**
   * Only the `queryCut` heaviest query terms have their posting lists traversed (all terms still
   * score). Default: on a calibrated index the stored setting for its recall target
   * (`targetRecall`), else 5 (10 without a κ-NN graph gives about the same recall, slower); range
   * 1 – 100,000; `0` means every term (lossless).
   */
  queryCut?: number;
  /**
   * Adapts the query cut to each query's shape: the heaviest terms are traversed until they hold
   * this share of the query's total weight (and at most `queryCut` of them), so a query whose
   * weight is spread over many terms traverses more lists than a peaked one. A fixed count cannot
   * do both: 5 lists hold half the weight of a typical MS MARCO query but a quarter of a SciFact
   * claim's (docs/BENCHMARKS.md, "Generalisation"). Default: on a calibrated index the stored
   * setting, else 1 (the `queryCut` heaviest terms, Seismic's rule); an explicit `queryCut` without
   * `queryMass` also means 1. Range (0, 1].
   */
  queryMass?: number;
  /**
   * A block is skipped when its summary bound is below `heapFactor ×` the current k-th best score.
   * Higher skips more (faster, less accurate). Default: on a calibrated index the stored setting,
   * else 0.9 (tuned with the default 96-term
   * summaries: with `queryCut` 5 and the κ-NN graph round it keeps recall@10 ≥ 0.97 on both the
   * synthetic and the real MS MARCO query sets of docs/BENCHMARKS.md, where 1 is ~10% faster but
   * drops to 0.94 on the real queries; Seismic's 0.7 suits its longer summaries); range (0, 1];
   * 1 is lossless when summaries are.
   */
  heapFactor?: number;
  /**
   * The graph round: after the block search, also score the first `graphNeighbors` stored
   * nearest neighbours of each result (Seismic's κ-NN graph; only segments built with `knn > 0`
   * have one, and at most the stored κ are used). Default 8 (the default stored κ); range 0 – 64;
   * 0 turns the graph round off.
   */
  graphNeighbors?: number;
  /** @deprecated Renamed `graphNeighbors` (the build option `knn` is κ, the neighbours stored); accepted until the next release. */
  knn?: number;
  /** Search algorithm; see `SearchMode`. Default `approximate`. */
  mode?: SearchMode;
}

export type ResolvedSearchOptions = Required<Omit<SearchOptions, 'knn'>>;

/** The query-time options: default, range, flag and help of each (see src/util/options-table.ts). */
export const SEARCH_OPTIONS: OptionsTable<ResolvedSearchOptions> = defineOptions<ResolvedSearchOptions>(
  {
    k: { type: 'integer', min: 1, max: 100_000, default: 10, help: 'results per query' },
    queryCut: { type: 'integer', min: 0, max: 100_000, default: 5, defaultText: "the index's calibrated setting, else 5", help: 'posting lists traversed: the n heaviest query terms (0 = all)' },
    queryMass: {
      type: 'number',
      min: 0,
      minOpen: true,
      max: 1,
      default: 1,
      defaultText: "the index's calibrated setting, else 1",
      placeholder: 'f',
      help: 'traverse the heaviest query terms until they hold f of the query weight, at most --query-cut of them (1 = exactly --query-cut)',
    },
    heapFactor: { type: 'number', min: 0, minOpen: true, max: 1, default: 0.9, defaultText: "the index's calibrated setting, else 0.9", placeholder: 'f', help: 'skip a block whose summary bound is below f × the k-th best score' },
    graphNeighbors: {
      type: 'integer',
      min: 0,
      max: 64,
      default: 8,
      defaultText: "the index's calibrated setting, else 8",
      flagAliases: ['knn'],
      help: 'graph round: also score the first n stored nearest neighbours of each result (κ-NN graph; 0 = off)',
    },
    // The CLI selects the mode with --exact [method].
    mode: { type: 'enum', values: ['approximate', 'exhaustive', 'maxscore'], default: 'approximate', flag: false, help: 'search algorithm' },
  },
  { renamed: { knn: 'graphNeighbors' } },
);

/** Defaults of `SearchOptions`; `SEARCH_DEFAULTS.knn` (deprecated, not enumerable) equals `graphNeighbors`. */
export const SEARCH_DEFAULTS: ResolvedSearchOptions & { /** @deprecated use `graphNeighbors` */ readonly knn: number } = SEARCH_OPTIONS.defaults as ResolvedSearchOptions & { readonly knn: number };

/** Query-time settings under which approximate search is exact (with a lossless build). */
export const LOSSLESS_SEARCH: SearchOptions = Object.freeze({ queryCut: 0, queryMass: 1, heapFactor: 1 });

export function resolveSearchOptions(options: SearchOptions = {}): ResolvedSearchOptions {
  return SEARCH_OPTIONS.resolve(options);
}
