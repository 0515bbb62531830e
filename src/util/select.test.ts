import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';
import { selectEnergyPrefix, selectTopK } from './select.js';

function randomArrays(rng: Rng, n: number): { keys: Uint32Array; weights: Float32Array } {
  const keys = Uint32Array.from({ length: n }, (_, i) => i);
  // Few distinct values → many ties, the hard case for partitioning.
  const weights = Float32Array.from({ length: n }, () => Math.round(rng.next() * 20) / 4);
  return { keys, weights };
}

describe('selectTopK', () => {
  it('puts the k largest weights first, for random sizes and ties', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 300; trial++) {
      const n = rng.int(200);
      const k = rng.int(n + 2);
      const { keys, weights } = randomArrays(rng, n);
      const expected = Array.from(weights).sort((a, b) => b - a).slice(0, k);
      const original = new Map(Array.from(keys, (key, i) => [key, weights[i]]));
      const kept = selectTopK(keys, weights, n, k);
      expect(kept).toBe(Math.min(k, n));
      expect(Array.from(weights.subarray(0, kept)).sort((a, b) => b - a)).toEqual(expected);
      // Keys travel with their weights.
      for (let i = 0; i < n; i++) expect(original.get(keys[i])).toBe(weights[i]);
    }
  });
});

describe('selectEnergyPrefix', () => {
  it('returns the shortest heaviest prefix whose mass reaches the fraction', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + rng.int(200);
      const fraction = rng.next();
      const { keys, weights } = randomArrays(rng, n);
      for (let i = 0; i < n; i++) weights[i] += 0.25; // strictly positive
      const sorted = Array.from(weights).sort((a, b) => b - a);
      const total = sorted.reduce((a, b) => a + b, 0);
      let expected = 0;
      let acc = 0;
      while (expected < n && acc < total * fraction) acc += sorted[expected++];
      const kept = selectEnergyPrefix(keys, weights, n, fraction);
      expect(kept).toBe(Math.max(expected, 1));
      expect(Array.from(weights.subarray(0, kept)).sort((a, b) => b - a)).toEqual(sorted.slice(0, kept));
    }
  });

  it('keeps everything at fraction 1', () => {
    const { keys, weights } = randomArrays(new Rng(1), 50);
    expect(selectEnergyPrefix(keys, weights, 50, 1)).toBe(50);
  });
});
