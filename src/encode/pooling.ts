/**
 * SPLADE pooling: model scores → one weight per vocabulary entry → sparse vector.
 *
 * SPLADE's document weight for vocabulary entry v is max over token positions t of f(x[t, v]) with
 * f = log(1 + ReLU(x)) (or log(1 + log(1 + ReLU(x))) for the "log-log" variant). Both f are
 * monotone non-decreasing, so max_t f(x_t) = f(max_t x_t): the hot loop only keeps a running max of
 * the raw logits (one compare per element, no logarithm), and f is applied once per vocabulary entry
 * at the end. Starting the running max at 0 is the ReLU. The same accumulator max-pools across the
 * windows of a long document.
 */

import type { SparseVectorInput } from '../types.js';

/** Activation applied to the max-pooled logits. */
export type PoolingActivation =
  /** log(1 + ReLU(x)): SPLADE v2 / SPLADE++ / SPLADE-v3. */
  | 'log1p-relu'
  /** log(1 + log(1 + ReLU(x))): the double-log saturation of some inference-free doc models. */
  | 'log1p-log1p-relu'
  /** No activation: the graph output is already a weight (a pooled `[batch, vocab]` output). */
  | 'identity';

export const POOLING_ACTIVATIONS: readonly PoolingActivation[] = ['log1p-relu', 'log1p-log1p-relu', 'identity'];

/**
 * Max-pools row `row` of `[batch, seqLength, vocabSize]` logits into `accumulator` (length
 * vocabSize, values ≥ 0): accumulator[v] = max(accumulator[v], x[t, v]) over positions t with
 * include[t] = 1.
 */
export function maxPoolTokenLogits(
  logits: Float32Array,
  row: number,
  seqLength: number,
  vocabSize: number,
  include: Uint8Array,
  includeOffset: number,
  accumulator: Float32Array,
): void {
  for (let t = 0; t < seqLength; t++) {
    if (include[includeOffset + t] === 0) continue;
    const base = (row * seqLength + t) * vocabSize;
    for (let v = 0; v < vocabSize; v++) {
      const x = logits[base + v];
      if (x > accumulator[v]) accumulator[v] = x;
    }
  }
}

/** Max-merges row `row` of an already pooled `[batch, vocabSize]` output into `accumulator`. */
export function maxPoolPooledRow(pooled: Float32Array, row: number, vocabSize: number, accumulator: Float32Array): void {
  const base = row * vocabSize;
  for (let v = 0; v < vocabSize; v++) {
    const x = pooled[base + v];
    if (x > accumulator[v]) accumulator[v] = x;
  }
}

/** f(x) for x ≥ 0 (the ReLU already happened in the accumulator). */
function activate(activation: PoolingActivation, x: number): number {
  switch (activation) {
    case 'log1p-relu':
      return Math.log1p(x);
    case 'log1p-log1p-relu':
      return Math.log1p(Math.log1p(x));
    case 'identity':
      return x;
  }
}

/** A sparse partial result: positive accumulator entries of one sequence (raw, before activation). */
export interface SparseAccumulator {
  ids: Uint32Array;
  values: Float32Array;
}

/** Positive entries of `accumulator[0..length)` (which is left untouched). */
export function extractPositive(accumulator: Float32Array, length: number): SparseAccumulator {
  let count = 0;
  for (let v = 0; v < length; v++) if (accumulator[v] > 0) count++;
  const ids = new Uint32Array(count);
  const values = new Float32Array(count);
  let k = 0;
  for (let v = 0; v < length; v++) {
    const x = accumulator[v];
    if (x > 0) {
      ids[k] = v;
      values[k++] = x;
    }
  }
  return { ids, values };
}

/** Max-merges a sparse partial into a dense accumulator. */
export function mergeSparse(partial: SparseAccumulator, accumulator: Float32Array): void {
  const { ids, values } = partial;
  for (let i = 0; i < ids.length; i++) if (values[i] > accumulator[ids[i]]) accumulator[ids[i]] = values[i];
}

export interface SparsifyOptions {
  activation: PoolingActivation;
  /** Token string of each id; ids past its end or mapping to '' are dropped. */
  vocabulary: readonly string[];
  /** 1 for ids never emitted (special tokens such as [CLS], [SEP], [PAD], [UNK], [MASK]). */
  isSpecial: Uint8Array;
  /** Keep only the `topK` largest weights; 0 keeps all. */
  topK: number;
  /** Drop weights below this; weights ≤ 0 are always dropped. */
  minWeight: number;
}

/**
 * Turns a raw max accumulator into `token → weight`. Ties under top-k keep the lower id, so the
 * output is deterministic.
 */
export function sparsify(accumulator: Float32Array, length: number, options: SparsifyOptions): SparseVectorInput {
  const { activation, vocabulary, isSpecial, topK, minWeight } = options;
  const limit = Math.min(length, vocabulary.length);
  let ids: number[] = [];
  let weights: number[] = [];
  for (let v = 0; v < limit; v++) {
    const x = accumulator[v];
    if (x <= 0 || isSpecial[v] === 1 || vocabulary[v] === '') continue;
    const w = activation === 'identity' ? x : activate(activation, x);
    if (w > 0 && w >= minWeight) {
      ids.push(v);
      weights.push(w);
    }
  }
  if (topK > 0 && ids.length > topK) {
    const order = ids.map((_, i) => i).sort((a, b) => weights[b] - weights[a] || ids[a] - ids[b]).slice(0, topK);
    order.sort((a, b) => ids[a] - ids[b]);
    ids = order.map((i) => ids[i]);
    weights = order.map((i) => weights[i]);
  }
  const vector: SparseVectorInput = {};
  for (let i = 0; i < ids.length; i++) setWeight(vector, vocabulary[ids[i]], weights[i]);
  return vector;
}

/**
 * Sets `vector[token] = weight`, also for the token "__proto__", which plain assignment would
 * treat as the prototype setter. When two ids share a token string (duplicate vocabulary lines) the
 * larger weight wins.
 */
export function setWeight(vector: SparseVectorInput, token: string, weight: number): void {
  const previous = Object.prototype.hasOwnProperty.call(vector, token) ? vector[token] : undefined;
  if (previous !== undefined && previous >= weight) return;
  if (token === '__proto__') Object.defineProperty(vector, token, { value: weight, enumerable: true, writable: true, configurable: true });
  else vector[token] = weight;
}
