import { expect } from 'vitest';

interface Hit {
  id: string;
  score: number;
}

/**
 * Asserts two rankings agree up to floating-point noise: scores match within `tolerance`
 * (relative), and ids match except inside groups of near-equal scores, where order is noise.
 */
export function expectSameRanking(actual: Hit[], expected: Hit[], tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(1e-12, ...expected.map((h) => Math.abs(h.score)));
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i].score - expected[i].score)).toBeLessThanOrEqual(tolerance * scale);
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= tolerance * scale;
  const lastScore = expected.length > 0 ? expected[expected.length - 1].score : 0;
  // Ids whose score is clearly above the cut-off must be the same set, and in the same order when
  // their neighbours are clearly different.
  const clear = (hits: Hit[]): string[] => hits.filter((h) => !near(h.score, lastScore)).map((h) => h.id);
  expect(new Set(clear(actual))).toEqual(new Set(clear(expected)));
  for (let i = 0; i < expected.length; i++) {
    const isolated = (i === 0 || !near(expected[i - 1].score, expected[i].score)) && (i === expected.length - 1 || !near(expected[i + 1].score, expected[i].score));
    if (isolated && !near(expected[i].score, lastScore)) expect(actual[i].id).toBe(expected[i].id);
  }
}
