import { describe, expect, it } from 'vitest';
import { isSpladexError } from '../errors.js';
import type { SearchHit } from '../types.js';
import { Rng } from '../util/rng.js';
import { FUSION_OPTIONS, fuseHits, listsAreDisjoint, type FusionMethod } from './fuse.js';

const list = (...entries: Array<[string, number]>): SearchHit[] => entries.map(([id, score]) => ({ id, score }));

// Two lists over a, b, c, d (scores on different scales, as BM25 and SPLADE are).
const A = list(['a', 10], ['b', 6], ['c', 2]);
const B = list(['b', 0.9], ['d', 0.5], ['a', 0.1]);

describe('reciprocal rank fusion', () => {
  it('scores Σ w / (k + rank), by hand with k = 0: b 1/2 + 1, a 1 + 1/3, d 1/2, c 1/3', () => {
    const fused = fuseHits([A, B], { method: 'rrf', rrfK: 0 });
    expect(fused.map((h) => h.id)).toEqual(['b', 'a', 'd', 'c']);
    expect(fused.map((h) => h.score)).toEqual([1.5, 1 + 1 / 3, 0.5, 1 / 3]);
    // Sources: rank and score in each list, null where the list did not return the document.
    expect(fused[0].sources).toEqual([{ rank: 2, score: 6 }, { rank: 1, score: 0.9 }]);
    expect(fused[2].sources).toEqual([null, { rank: 2, score: 0.5 }]);
  });

  it('uses k = 60 by default and the weights per list', () => {
    expect(FUSION_OPTIONS.defaults.rrfK).toBe(60);
    const fused = fuseHits([A, B]);
    expect(fused.map((h) => h.id)).toEqual(['b', 'a', 'd', 'c']);
    expect(fused[0].score).toBeCloseTo(1 / 62 + 1 / 61, 15);
    // Weights 0.1 and 0.9 (k = 1): d (B's second) overtakes a (A's first, B's third).
    const weighted = fuseHits([A, B], { weights: [0.1, 0.9], rrfK: 1 });
    // a: .1/2 + .9/4 = .275, b: .1/3 + .9/2 = .4833, c: .1/4 = .025, d: .9/3 = .3
    expect(weighted.map((h) => h.id)).toEqual(['b', 'd', 'a', 'c']);
    expect(weighted.map((h) => h.score)).toEqual([0.1 / 3 + 0.9 / 2, 0.9 / 3, 0.1 / 2 + 0.9 / 4, 0.1 / 4]);
  });

  it('breaks ties by document id, whatever the list order', () => {
    expect(fuseHits([list(['z', 3]), list(['y', 1])]).map((h) => h.id)).toEqual(['y', 'z']);
    expect(fuseHits([list(['y', 1]), list(['z', 3])]).map((h) => h.id)).toEqual(['y', 'z']);
  });

  it('keeps k hits, and counts a document listed twice once, at its first rank', () => {
    expect(fuseHits([A, B], { k: 2 }).map((h) => h.id)).toEqual(['b', 'a']);
    const twice = fuseHits([list(['a', 3], ['b', 2], ['a', 1])], { rrfK: 0 });
    expect(twice.map((h) => [h.id, h.score])).toEqual([
      ['a', 1],
      ['b', 0.5],
    ]);
  });
});

describe('linear fusion of min–max-normalised scores', () => {
  it('by hand: A normalises to a 1, b .5, c 0; B to b 1, d .5, a 0', () => {
    const equal = fuseHits([A, B], { method: 'linear' });
    expect(equal.map((h) => [h.id, h.score])).toEqual([
      ['b', 1.5],
      ['a', 1],
      ['d', 0.5],
      ['c', 0],
    ]);
    const weighted = fuseHits([A, B], { method: 'linear', weights: [0.3, 0.7] });
    expect(weighted.map((h) => h.id)).toEqual(['b', 'd', 'a', 'c']);
    expect(weighted.map((h) => h.score)).toEqual([0.3 * 0.5 + 0.7, 0.7 * 0.5, 0.3, 0]);
  });

  it('gives 1 to every hit of a list whose scores are all equal, 0 for documents it lacks', () => {
    const fused = fuseHits([list(['a', 4], ['b', 4]), list(['c', 2], ['b', 1])], { method: 'linear' });
    // b: 1 (A) + 0 (B's last), a: 1 + nothing, c: B's first: a three-way tie, in id order.
    expect(fused.map((h) => [h.id, h.score])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ]);
  });
});

describe('options', () => {
  it('refuses a weight count that does not match the lists, negative weights, all-zero weights, a bad method', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (error) {
        return isSpladexError(error) ? `${error.code}: ${error.message}` : String(error);
      }
      return undefined;
    };
    expect(code(() => fuseHits([A, B], { weights: [1] }))).toBe('E_OPTION: weights must have one value per fused index (2), got 1: 1');
    expect(code(() => fuseHits([A, B], { weights: [1, -1] }))).toMatch(/^E_OPTION: weights must be a list; each item must be in \[0, ∞\)/);
    expect(code(() => fuseHits([A, B], { weights: [0, 0] }))).toMatch(/^E_OPTION: weights must have at least one weight above 0/);
    expect(code(() => fuseHits([A, B], { method: 'sum' as FusionMethod }))).toMatch(/^E_OPTION: method must be one of rrf, linear/);
    expect(code(() => fuseHits([A, B], { k: 0 }))).toMatch(/^E_OPTION: k must be an integer in/);
  });

  it('detects lists with no document in common', () => {
    expect(listsAreDisjoint([A, B])).toBe(false);
    expect(listsAreDisjoint([list(['a', 1]), list(['b', 1])])).toBe(true);
    expect(listsAreDisjoint([list(['a', 1]), []])).toBe(false);
  });
});

/** The definition, written as plainly as possible: the reference fuseHits must agree with. */
function naiveFuse(lists: SearchHit[][], method: FusionMethod, weights: number[], rrfK: number): Array<{ id: string; score: number }> {
  const ids = [...new Set(lists.flat().map((h) => h.id))];
  const scored = ids.map((id) => {
    let score = 0;
    lists.forEach((l, i) => {
      const at = l.findIndex((h) => h.id === id);
      if (at < 0) return;
      if (method === 'rrf') score += weights[i] / (rrfK + at + 1);
      else {
        const scores = l.map((h) => h.score);
        const min = Math.min(...scores);
        const max = Math.max(...scores);
        score += weights[i] * (max > min ? (l[at].score - min) / (max - min) : 1);
      }
    });
    return { id, score };
  });
  return scored.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1));
}

describe('property: fuseHits equals the naive definition (seeded)', () => {
  it('on 400 random cases of 1–4 lists, both methods, random weights, k and ties', () => {
    const rng = new Rng(20_260_915);
    let ties = 0;
    for (let c = 0; c < 400; c++) {
      const n = 1 + rng.int(4);
      const pool = 1 + rng.int(30);
      const lists: SearchHit[][] = [];
      for (let i = 0; i < n; i++) {
        const ids = new Set<string>();
        const length = rng.int(pool + 1);
        while (ids.size < length) ids.add(`d${rng.int(pool)}`);
        // Scores from a few levels, so equal scores (and fused ties) are common.
        const scores = [...ids].map(() => rng.int(5) * 1.5).sort((x, y) => y - x);
        lists.push([...ids].map((id, j) => ({ id, score: scores[j] })));
      }
      const method: FusionMethod = rng.int(2) === 0 ? 'rrf' : 'linear';
      const weights = lists.map(() => rng.int(4) / 2);
      weights[rng.int(n)] = 1;
      const rrfK = rng.int(3) === 0 ? 0 : 60;
      const k = 1 + rng.int(pool + 2);
      const actual = fuseHits(lists, { method, weights, rrfK, k });
      const expected = naiveFuse(lists, method, weights, rrfK).slice(0, k);
      expect(actual.map((h) => ({ id: h.id, score: h.score })), `case ${c}`).toEqual(expected);
      for (const hit of actual) {
        hit.sources.forEach((s, i) => {
          const at = lists[i].findIndex((h) => h.id === hit.id);
          expect(s).toEqual(at < 0 ? null : { rank: at + 1, score: lists[i][at].score });
        });
      }
      for (let r = 1; r < expected.length; r++) if (expected[r].score === expected[r - 1].score) ties++;
    }
    // The cases exercised the tie rule.
    expect(ties).toBeGreaterThan(50);
  });
});
