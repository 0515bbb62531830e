import { describe, expect, it } from 'vitest';
import { BatchPacker, planBatches, planSequences } from './batching.js';
import { extractPositive, maxPoolTokenLogits, mergeSparse, sparsify } from './pooling.js';

describe('planSequences', () => {
  it('truncates or windows with overlap', () => {
    const truncated = planSequences([10, 0, 3], 4, 'truncate', 0);
    expect(Array.from(truncated.end)).toEqual([4, 0, 3]);
    const windows = planSequences([10, 0, 3], 4, 'window', 1);
    // 10 tokens, windows of 4 every 3: [0,4) [3,7) [6,10).
    expect(Array.from(windows.start)).toEqual([0, 3, 6, 0, 0]);
    expect(Array.from(windows.end)).toEqual([4, 7, 10, 0, 3]);
    expect(Array.from(windows.sequencesPerText)).toEqual([3, 1, 1]);
    expect(Array.from(planSequences([11], 4, 'window', 1).end)).toEqual([4, 7, 10, 11]);
  });
});

describe('planBatches', () => {
  it('sorts by length, longest first, and caps sequences and padded tokens per batch', () => {
    const plan = planSequences([5, 1, 9, 3, 7], 100, 'truncate', 0);
    expect(planBatches(plan, 2, 2, 1000).map((b) => Array.from(b))).toEqual([[2, 4], [0, 3], [1]]);
    // 11 tokens per padded row: at most 2 rows under 25 tokens.
    expect(planBatches(plan, 2, 10, 25).map((b) => Array.from(b))).toEqual([[2, 4], [0, 3, 1]]);
    expect(planBatches(plan, 2, 10, 1).every((b) => b.length === 1)).toBe(true);
  });
});

describe('BatchPacker', () => {
  it('packs [CLS] content [SEP] + padding and marks the pooled positions', () => {
    const plan = planSequences([3, 1], 10, 'truncate', 0);
    const packer = new BatchPacker(Int32Array.of(101), Int32Array.of(102), 0, false);
    const batch = packer.pack(Uint32Array.of(0, 1), plan, [Int32Array.of(7, 8, 9), Int32Array.of(5)]);
    expect(batch.seqLength).toBe(5);
    expect(Array.from(batch.inputIds)).toEqual([101, 7, 8, 9, 102, 101, 5, 102, 0, 0]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    expect(Array.from(batch.pooled)).toEqual([0, 1, 1, 1, 0, 0, 1, 0, 0, 0]);
    const withSpecials = new BatchPacker(Int32Array.of(101), Int32Array.of(102), 0, true).pack(Uint32Array.of(1), plan, [Int32Array.of(7, 8, 9), Int32Array.of(5)]);
    expect(Array.from(withSpecials.pooled)).toEqual([1, 1, 1]);
  });
});

describe('pooling', () => {
  it('keeps the running max of raw logits over pooled positions, with ReLU floor', () => {
    // 1 row, 3 positions, vocab 4.
    const logits = Float32Array.of(5, -1, 0.5, -2, 1, 2, -3, -2, 0.25, -1, 0.5, -4);
    const acc = new Float32Array(4);
    // Position 0 ([CLS]) is not pooled, so its 5 does not count.
    maxPoolTokenLogits(logits, 0, 3, 4, Uint8Array.of(0, 1, 1), 0, acc);
    expect(Array.from(acc)).toEqual([1, 2, 0.5, 0]);
  });

  it('sparsifies with log1p, drops specials, applies top-k with deterministic ties', () => {
    const acc = Float32Array.of(3, 1, 1, 0, 2);
    const vocabulary = ['[CLS]', 'a', 'b', 'c', 'd'];
    const isSpecial = Uint8Array.of(1, 0, 0, 0, 0);
    expect(sparsify(acc, 5, { activation: 'log1p-relu', vocabulary, isSpecial, topK: 0, minWeight: 0 })).toEqual({ a: Math.log1p(1), b: Math.log1p(1), d: Math.log1p(2) });
    expect(sparsify(acc, 5, { activation: 'log1p-relu', vocabulary, isSpecial, topK: 2, minWeight: 0 })).toEqual({ a: Math.log1p(1), d: Math.log1p(2) });
    expect(sparsify(acc, 5, { activation: 'identity', vocabulary, isSpecial, topK: 0, minWeight: 1.5 })).toEqual({ d: 2 });
    expect(Object.getOwnPropertyNames(sparsify(Float32Array.of(1), 1, { activation: 'identity', vocabulary: ['__proto__'], isSpecial: new Uint8Array(1), topK: 0, minWeight: 0 }))).toEqual(['__proto__']);
  });

  it('merges window partials by max', () => {
    const merged = new Float32Array(4);
    mergeSparse(extractPositive(Float32Array.of(1, 0, 3, 0), 4), merged);
    mergeSparse(extractPositive(Float32Array.of(2, 0, 1, 4), 4), merged);
    expect(Array.from(merged)).toEqual([2, 0, 3, 4]);
  });
});
