import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';
import { TopK } from './topk.js';

describe('TopK', () => {
  it('keeps the k best with ties broken by lower key, like a full sort', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 200; trial++) {
      const k = 1 + rng.int(20);
      const n = rng.int(100);
      const heap = new TopK(k);
      const all: Array<{ score: number; key: number }> = [];
      const keys = Array.from({ length: n }, (_, i) => i).sort(() => rng.next() - 0.5);
      for (const key of keys) {
        const score = rng.int(10);
        all.push({ score, key });
        heap.push(score, key);
      }
      all.sort((a, b) => b.score - a.score || a.key - b.key);
      expect(heap.sorted()).toEqual(all.slice(0, k));
    }
  });
});
