import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import type { SparseVectorInput } from '../types.js';
import { prepareQuery, traversedTerms } from './query-vector.js';

/** Reference: comparator sorts over (id, weight) pairs. */
function reference(vector: SparseVectorInput, termIds: ReadonlyMap<string, number>): { terms: number[]; weights: number[]; byWeight: number[] } {
  const pairs: Array<[number, number]> = [];
  for (const [token, weight] of Object.entries(vector)) {
    const id = termIds.get(token);
    if (weight > 0 && id !== undefined) pairs.push([id, Math.fround(weight)]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const terms = pairs.map((p) => p[0]);
  const weights = pairs.map((p) => p[1]);
  const byWeight = terms.map((_, i) => i).sort((a, b) => weights[b] - weights[a] || terms[a] - terms[b]);
  return { terms, weights, byWeight };
}

describe('prepareQuery', () => {
  it('sorts terms ascending (small and large queries) and positions heaviest first (ties: lower term id), dropping unknown tokens and non-positive weights', () => {
    const rng = new Rng(8);
    const termIds = new Map<string, number>();
    for (let i = 0; i < 3000; i++) termIds.set(`t${i}`, (i * 7919) % 3000);
    for (let trial = 0; trial < 3000; trial++) {
      const vector: SparseVectorInput = {};
      for (let i = 0, n = rng.int(trial % 4 === 0 ? 300 : 90); i < n; i++) {
        const roll = rng.next();
        // Rounded weights make ties; zeros and unknown tokens must disappear.
        vector[`t${rng.int(3500)}`] = roll < 0.3 ? Number((rng.next() * 3).toFixed(1)) : roll < 0.35 ? 0 : rng.next() * 3;
      }
      const prepared = prepareQuery(vector, termIds);
      const expected = reference(vector, termIds);
      expect(Array.from(prepared.terms)).toEqual(expected.terms);
      expect(Array.from(prepared.weights)).toEqual(expected.weights);
      expect(Array.from(prepared.byWeight)).toEqual(expected.byWeight);
    }
  });
});

describe('traversedTerms', () => {
  const termIds = new Map(['a', 'b', 'c', 'd', 'e'].map((t, i) => [t, i]));
  // Total weight 10: the heaviest terms hold 4, 7, 9, 9.5 and 10 of it.
  const query = prepareQuery({ a: 0.5, b: 4, c: 3, d: 2, e: 0.5 }, termIds);

  it('is the query cut at mass 1 (0: every term), and the fewest heaviest terms holding the mass below it, within the cut', () => {
    expect(traversedTerms(query, 3, 1)).toBe(3);
    expect(traversedTerms(query, 0, 1)).toBe(5);
    expect(traversedTerms(query, 99, 1)).toBe(5);
    expect(traversedTerms(query, 0, 0.4)).toBe(1);
    expect(traversedTerms(query, 0, 0.41)).toBe(2);
    expect(traversedTerms(query, 0, 0.7)).toBe(2);
    expect(traversedTerms(query, 0, 0.9)).toBe(3);
    expect(traversedTerms(query, 0, 0.99)).toBe(5);
    expect(traversedTerms(query, 2, 0.9)).toBe(2);
    // At least one list, however small the mass.
    expect(traversedTerms(query, 0, 1e-9)).toBe(1);
  });

  it('adapts to the shape: a flat query traverses more terms than a peaked one of the same length', () => {
    const ids = new Map(Array.from({ length: 40 }, (_, i) => [`t${i}`, i]));
    const flat: SparseVectorInput = {};
    const peaked: SparseVectorInput = {};
    for (let i = 0; i < 40; i++) {
      flat[`t${i}`] = 1;
      peaked[`t${i}`] = 2 ** -i;
    }
    expect(traversedTerms(prepareQuery(flat, ids), 0, 0.5)).toBe(20);
    expect(traversedTerms(prepareQuery(peaked, ids), 0, 0.5)).toBe(1);
  });
});
