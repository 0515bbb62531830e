/**
 * From tokenized texts to padded model batches.
 *
 *  1. Each text becomes one sequence (truncated to the model's budget) or, in window mode, several
 *     overlapping windows that are max-pooled back together later.
 *  2. Sequences are sorted by length (longest first, so the largest batch — the one most likely to
 *     run out of memory — comes first) and cut into batches of at most `batchSize` sequences and
 *     `maxBatchTokens` padded tokens. Similar lengths in one batch keep padding small; the token cap
 *     bounds the `[batch, seq, vocab]` float output (tokens × vocab × 4 bytes).
 *  3. A batch is packed into reusable typed arrays: ids, attention mask, and the positions pooled.
 */

import type { TokenBatch } from './onnx-backend.js';

/** Sequences as parallel typed arrays (one entry per sequence; no per-sequence objects). */
export interface SequencePlan {
  count: number;
  /** Index of the text each sequence belongs to. */
  text: Uint32Array;
  /** Content token range [start, end) within that text's ids. */
  start: Uint32Array;
  end: Uint32Array;
  /** Number of sequences of each text (≥ 1, also for an empty text). */
  sequencesPerText: Uint32Array;
}

/**
 * Plans the sequences of texts with `contentLengths` content tokens each. `contentBudget` is the
 * model's max length minus its special tokens. In 'window' mode, windows of `contentBudget` tokens
 * start every `contentBudget - overlap` tokens; the last one ends at the end of the text.
 */
export function planSequences(contentLengths: ArrayLike<number>, contentBudget: number, mode: 'truncate' | 'window', overlap: number): SequencePlan {
  if (contentBudget < 1) throw new Error('contentBudget must be at least 1');
  if (mode === 'window' && (overlap < 0 || overlap >= contentBudget)) throw new Error('window overlap must be in [0, contentBudget)');
  const texts = contentLengths.length;
  const sequencesPerText = new Uint32Array(texts);
  const step = contentBudget - overlap;
  let count = 0;
  for (let i = 0; i < texts; i++) {
    const length = contentLengths[i];
    const windows = mode === 'window' && length > contentBudget ? Math.ceil((length - contentBudget) / step) + 1 : 1;
    sequencesPerText[i] = windows;
    count += windows;
  }
  const text = new Uint32Array(count);
  const start = new Uint32Array(count);
  const end = new Uint32Array(count);
  let k = 0;
  for (let i = 0; i < texts; i++) {
    const length = contentLengths[i];
    for (let w = 0; w < sequencesPerText[i]; w++) {
      const s = w * step;
      text[k] = i;
      start[k] = s;
      end[k] = Math.min(length, s + contentBudget);
      k++;
    }
  }
  return { count, text, start, end, sequencesPerText };
}

/**
 * Groups sequence indices into batches, longest first. `specialCount` tokens are added to every
 * sequence (e.g. [CLS] and [SEP]).
 */
export function planBatches(plan: SequencePlan, specialCount: number, batchSize: number, maxBatchTokens: number): Uint32Array[] {
  const order = new Uint32Array(plan.count);
  for (let i = 0; i < plan.count; i++) order[i] = i;
  const lengthOf = (i: number): number => plan.end[i] - plan.start[i] + specialCount;
  // Ties by index keep the plan deterministic whatever the sort implementation.
  order.sort((a, b) => lengthOf(b) - lengthOf(a) || a - b);
  const batches: Uint32Array[] = [];
  let first = 0;
  while (first < order.length) {
    // Sorted longest first, so the first sequence of a batch fixes its padded length.
    const padded = lengthOf(order[first]);
    const byTokens = Math.max(1, Math.floor(maxBatchTokens / padded));
    const size = Math.min(batchSize, byTokens, order.length - first);
    batches.push(order.slice(first, first + size));
    first += size;
  }
  return batches;
}

/** A packed batch plus the positions whose logits are pooled. */
export interface PackedBatch extends TokenBatch {
  /** 1 at positions that take part in pooling; row-major like `inputIds`. */
  pooled: Uint8Array;
}

/** Packs batches into typed arrays that are reused (grown when needed) from batch to batch. */
export class BatchPacker {
  private ids: Int32Array = new Int32Array(0);
  private mask: Uint8Array = new Uint8Array(0);
  private pooled: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly prefixIds: Int32Array,
    private readonly suffixIds: Int32Array,
    private readonly padId: number,
    /** Pool the special-token positions too (the original SPLADE code does; default is not to). */
    private readonly poolSpecialPositions: boolean,
  ) {}

  pack(batch: Uint32Array, plan: SequencePlan, contents: readonly Int32Array[]): PackedBatch {
    const specials = this.prefixIds.length + this.suffixIds.length;
    let seqLength = 0;
    for (const s of batch) seqLength = Math.max(seqLength, plan.end[s] - plan.start[s] + specials);
    const n = batch.length * seqLength;
    if (this.ids.length < n) {
      this.ids = new Int32Array(n);
      this.mask = new Uint8Array(n);
      this.pooled = new Uint8Array(n);
    }
    const ids = this.ids.subarray(0, n);
    const mask = this.mask.subarray(0, n);
    const pooled = this.pooled.subarray(0, n);
    ids.fill(this.padId);
    mask.fill(0);
    pooled.fill(0);
    const specialFlag = this.poolSpecialPositions ? 1 : 0;
    for (let row = 0; row < batch.length; row++) {
      const s = batch[row];
      const content = contents[plan.text[s]].subarray(plan.start[s], plan.end[s]);
      let p = row * seqLength;
      for (let i = 0; i < this.prefixIds.length; i++, p++) {
        ids[p] = this.prefixIds[i];
        mask[p] = 1;
        pooled[p] = specialFlag;
      }
      ids.set(content, p);
      mask.fill(1, p, p + content.length);
      pooled.fill(1, p, p + content.length);
      p += content.length;
      for (let i = 0; i < this.suffixIds.length; i++, p++) {
        ids[p] = this.suffixIds[i];
        mask[p] = 1;
        pooled[p] = specialFlag;
      }
    }
    return { batchSize: batch.length, seqLength, inputIds: ids, attentionMask: mask, pooled };
  }
}
