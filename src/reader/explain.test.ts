import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomCorpus } from '../../test/helpers/random-corpus.js';
import type { ForwardValueType } from '../segment/options.js';
import { HALF_TO_FLOAT, toHalfBits } from '../util/f16.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import type { SparseVectorInput } from '../types.js';
import type { IndexReader } from './reader.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-explain-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const { documents, queries } = randomCorpus({ docs: 400, queries: 12, vocabulary: 150, seed: 7 });

/** Every hit's explanation against the hit: same score bit for bit, terms that add up, products as claimed. */
function expectExplained(index: IndexReader, query: SparseVectorInput, mode: 'approximate' | 'exhaustive' | 'maxscore', values: ForwardValueType): number {
  const hits = index.search(query, { k: 15, mode });
  for (const hit of hits) {
    const explanation = index.explain(query, hit.id)!;
    // The score the engine reported, exactly: products added in forward order, as the kernels do.
    expect(explanation.score, `${mode} ${hit.id}`).toBe(hit.score);
    const terms = explanation.terms;
    expect(terms.length).toBeGreaterThan(0);
    const stored = documents.find((d) => d.id === hit.id)!.vector;
    let total = 0;
    terms.forEach((t, i) => {
      expect(t.term in query && t.term in stored, t.term).toBe(true);
      expect(t.queryWeight).toBe(Math.fround(query[t.term]));
      expect(t.product).toBe(t.queryWeight * t.documentWeight);
      // The stored weight is the input weight as the forward index holds it: float32, the nearest half, or one of 256 u8 levels.
      if (values === 'f32') expect(t.documentWeight).toBe(Math.fround(stored[t.term]));
      else if (values === 'f16') expect(t.documentWeight).toBe(HALF_TO_FLOAT[toHalfBits(stored[t.term])]);
      else expect(t.documentWeight).toBeGreaterThan(0);
      if (i > 0) expect(t.product).toBeLessThanOrEqual(terms[i - 1].product);
      total += t.product;
    });
    // Every shared term is listed.
    expect(terms.length).toBe(Object.keys(query).filter((token) => query[token] > 0 && (stored[token] ?? 0) > 0).length);
    // In product order the sum rounds differently: within (n − 1) units of float64 rounding of the total.
    expect(Math.abs(total - hit.score)).toBeLessThanOrEqual(Math.max(1, terms.length - 1) * 2 ** -52 * total);
  }
  return hits.length;
}

describe('explain', () => {
  for (const forwardValues of ['f16', 'u8', 'f32'] as ForwardValueType[]) {
    it(`sums to the reported score exactly in every search mode (${forwardValues} forward values, two segments, deletes)`, async () => {
      const dir = join(scratch, forwardValues);
      await buildIndex(documents.slice(0, 300), dir, { forwardValues, nPostings: 40 });
      const writer = SpladexIndex.openWriter(dir);
      await writer.add(documents.slice(300), { smallSegmentDocs: 200 }); // a flat segment, scored exhaustively
      await writer.delete(['d3', 'd310']);
      writer.close();
      const index = SpladexIndex.open(dir);
      try {
        let explained = 0;
        for (const query of queries) for (const mode of ['approximate', 'exhaustive', 'maxscore'] as const) explained += expectExplained(index, query, mode, forwardValues);
        expect(explained).toBeGreaterThan(100);
        expect(index.explain(queries[0], 'd3')).toBeUndefined();
        expect(index.explain(queries[0], 'no-such-id')).toBeUndefined();
      } finally {
        index.close();
      }
    });
  }

  it('lists nothing for a document sharing no term, and ignores unknown and zero-weight query terms', async () => {
    const index = await SpladexIndex.build([
      { id: 'a', vector: { x: 1, y: 2 } },
      { id: 'b', vector: { z: 3 } },
    ]);
    try {
      expect(index.explain({ x: 2, unknown: 5, y: 0 }, 'a')).toEqual({ score: 2, terms: [{ term: 'x', queryWeight: 2, documentWeight: 1, product: 2 }] });
      expect(index.explain({ x: 2 }, 'b')).toEqual({ score: 0, terms: [] });
      expect(() => index.explain('x' as unknown as SparseVectorInput, 'a')).toThrow(/explain: the query is a string.*searchText/);
    } finally {
      index.close();
    }
  });
});
