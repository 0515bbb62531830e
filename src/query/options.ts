/**
 * Query-time arguments (Seismic's split: these can change per query, build options cannot).
 */
import { checkRange, SpladexError } from '../errors.js';
import { withDefaults } from '../util/defaults.js';

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
   * score). Default 5 (10 without a κ-NN graph gives about the same recall, slower); range
   * 1 – 100,000; `0` means every term (lossless).
   */
  queryCut?: number;
  /**
   * A block is skipped when its summary bound is below `heapFactor ×` the current k-th best score.
   * Higher skips more (faster, less accurate). Default 0.9 (tuned with the default 96-term
   * summaries: with `queryCut` 5 and the κ-NN graph round it keeps recall@10 ≥ 0.97 on both the
   * synthetic and the real MS MARCO query sets of docs/BENCHMARKS.md, where 1 is ~10% faster but
   * drops to 0.94 on the real queries; Seismic's 0.7 suits its longer summaries); range (0, 1];
   * 1 is lossless when summaries are.
   */
  heapFactor?: number;
  /**
   * After the block search, also score the first `knn` stored nearest neighbours of each result
   * (Seismic's κ-NN graph; only segments built with `knn > 0` have one, and at most the stored κ
   * are used). Default 8 (the default stored κ); range 0 – 64; 0 turns the graph round off.
   */
  knn?: number;
  /** Search algorithm; see `SearchMode`. Default `approximate`. */
  mode?: SearchMode;
}

export type ResolvedSearchOptions = Required<SearchOptions>;

export const SEARCH_DEFAULTS: ResolvedSearchOptions = Object.freeze({
  k: 10,
  queryCut: 5,
  heapFactor: 0.9,
  knn: 8,
  mode: 'approximate',
}) as ResolvedSearchOptions;

/** Query-time settings under which approximate search is exact (with a lossless build). */
export const LOSSLESS_SEARCH: SearchOptions = Object.freeze({ queryCut: 0, heapFactor: 1 });

export function resolveSearchOptions(options: SearchOptions = {}): ResolvedSearchOptions {
  const o: ResolvedSearchOptions = withDefaults(SEARCH_DEFAULTS, options);
  checkRange('k', o.k, 1, 100_000, true);
  checkRange('queryCut', o.queryCut, 0, 100_000, true);
  checkRange('heapFactor', o.heapFactor, Number.MIN_VALUE, 1);
  checkRange('knn', o.knn, 0, 64, true);
  if (!['approximate', 'exhaustive', 'maxscore'].includes(o.mode)) {
    throw new SpladexError('E_OPTION', `option mode must be approximate, exhaustive or maxscore, got ${String(o.mode)}`);
  }
  return o;
}
