/**
 * What every search mode scores candidates through, and its batch size: a leaf module, so that
 * the JavaScript kernels (dot.ts) and the WebAssembly backend (wasm-kernel.ts) both implement it
 * without depending on each other; scorers.ts picks one per segment.
 */

/** Candidates (and block bounds) per kernel call: the searcher flushes a full batch and goes on. */
export const CANDIDATE_BATCH = 1024;

/** Which kernels a scorer runs. */
export type ScoringKernel = 'webassembly' | 'javascript';

/**
 * How searchers score documents of one segment. A searcher loads the query (`loadQuery`, and
 * clears it with `clearQuery` before returning), lists documents in `candidates` (at most
 * `CANDIDATE_BATCH` per call) and reads `scores`. Two implementations, bit-identical: the WebAssembly kernel over a segment
 * read into kernel memory (wasm-kernel.ts, the default for f16 forward values), and the JavaScript
 * kernels of this file for everything else.
 */
export interface CandidateScorer {
  readonly kernel: ScoringKernel;
  /** Sets the query's weights (term id → weight, rounded to f32 as every kernel multiplies them); zero elsewhere. */
  loadQuery(terms: ArrayLike<number>, weights: ArrayLike<number>): void;
  /** Zeroes the weights of `terms` again (the scorer's arrays are shared by every search on its thread). */
  clearQuery(terms: ArrayLike<number>): void;
  /** Documents to score, `CANDIDATE_BATCH` slots. */
  readonly candidates: Uint32Array;
  /** Scores of `candidates`, same slots. */
  readonly scores: Float64Array;
  /** Summary bounds of a run of blocks, `CANDIDATE_BATCH` slots. */
  readonly bounds: Float64Array;
  /** Scores `candidates[0..n)` into `scores[0..n)`. */
  scoreCandidates(n: number): void;
  /** Score of one document. */
  scoreDocument(doc: number): number;
  /**
   * Bounds of blocks `[first, first + n)` into `bounds[0..n)`: the f64 sum over each block's
   * summary of the query weight of its term × code, times the block's scale (needs the scorer's inverted index).
   */
  boundBlocks(first: number, n: number): void;
}
