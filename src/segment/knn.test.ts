import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomCorpus } from '../../test/helpers/random-corpus.js';
import { LOSSLESS_SEARCH } from '../query/options.js';
import { SpladexIndex } from '../spladex-index.js';
import { LOSSLESS_BUILD } from './options.js';
import { decodeForwardValues } from './forward.js';
import { KNN_CANDIDATE_BUDGET, NO_NEIGHBOUR } from './knn.js';
import { readSegment, segmentNeighbors, type Segment } from './segment.js';
import { checkSegment } from './segment-check.js';

const open: SpladexIndex[] = [];
afterAll(() => open.forEach((index) => index.close()));

async function built(knn: number, seed: number, docs = 700): Promise<{ index: SpladexIndex; segment: Segment }> {
  const { documents } = randomCorpus({ docs, queries: 0, vocabulary: 250, seed, decimals: 2 });
  const index = await SpladexIndex.build(documents, { knn, nPostings: 40, seed });
  open.push(index);
  return { index, segment: readSegment(join(index.path, index.manifest.segments[0].file)) };
}

/** Independent reference: the κ best co-members (documents sharing a block) by exact inner product. */
function referenceRow(segment: Segment, d: number, kappa: number): number[] {
  const { forward: f, inverted: inv } = segment;
  const values = decodeForwardValues(f);
  const vector = new Map<number, number>();
  for (let j = f.offsets[d]; j < f.offsets[d + 1]; j++) vector.set(f.terms[j], values[j]);
  const candidates = new Set<number>();
  for (let b = 0; b + 1 < inv.blockPostingOffsets.length; b++) {
    const members = Array.from(inv.postingDocs.subarray(inv.blockPostingOffsets[b], inv.blockPostingOffsets[b + 1]));
    if (members.includes(d)) members.forEach((x) => candidates.add(x));
  }
  candidates.delete(d);
  const scored: Array<[number, number]> = [];
  for (const x of candidates) {
    let score = 0;
    for (let j = f.offsets[x]; j < f.offsets[x + 1]; j++) score += (vector.get(f.terms[j]) ?? 0) * values[j];
    if (score > 0) scored.push([x, score]);
  }
  scored.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return scored.slice(0, kappa).map(([x]) => x);
}

describe('κ-NN graph', () => {
  it('stores, for every document, its best co-members best first (small collections: every co-member is a candidate)', async () => {
    const { segment } = await built(6, 11);
    const kappa = segmentNeighbors(segment);
    expect(kappa).toBe(6);
    expect(segment.neighbors.length).toBe(segment.meta.nDocs * kappa);
    let compared = 0;
    for (let d = 0; d < segment.meta.nDocs; d++) {
      // The reference scores every co-member; the build stops at the candidate budget.
      const { inverted: inv } = segment;
      let coMembers = 0;
      for (let b = 0; b + 1 < inv.blockPostingOffsets.length; b++) {
        const members = inv.postingDocs.subarray(inv.blockPostingOffsets[b], inv.blockPostingOffsets[b + 1]);
        if (members.includes(d)) coMembers += members.length;
      }
      if (coMembers > KNN_CANDIDATE_BUDGET) continue;
      const row = Array.from(segment.neighbors.subarray(d * kappa, (d + 1) * kappa)).filter((x) => x !== NO_NEIGHBOUR);
      const expected = referenceRow(segment, d, kappa);
      // Scores are summed in a different order here; compare as sets where float noise could reorder.
      expect(new Set(row)).toEqual(new Set(expected));
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
    expect(() => checkSegment(segment, 'x', 'full')).not.toThrow();
  });

  it('is deterministic and absent with knn 0', async () => {
    const a = await built(5, 12);
    const b = await built(5, 12);
    expect(Buffer.from(a.segment.neighbors.buffer)).toEqual(Buffer.from(b.segment.neighbors.buffer));
    const none = await built(0, 12);
    expect(none.segment.neighbors.length).toBe(0);
    expect(segmentNeighbors(none.segment)).toBe(0);
    expect(none.index.info().memory.graph).toBe(0);
    expect(a.index.info().memory.graph).toBe(a.segment.neighbors.byteLength);
  });

  it('a corrupted row is refused on load', async () => {
    const { segment } = await built(4, 13, 300);
    const row = segment.neighbors.indexOf(NO_NEIGHBOUR);
    const damaged = { ...segment, neighbors: Uint32Array.from(segment.neighbors) };
    damaged.neighbors[0] = segment.meta.nDocs + 5;
    expect(() => checkSegment(damaged, 'seg.spx')).toThrow(/knn\.neighbors.*out of range/);
    damaged.neighbors[0] = 0;
    expect(() => checkSegment(damaged, 'seg.spx')).toThrow(/itself/);
    if (row >= 0 && row % 4 !== 3) {
      const padded = { ...segment, neighbors: Uint32Array.from(segment.neighbors) };
      padded.neighbors[row + 1] = 1;
      expect(() => checkSegment(padded, 'seg.spx')).toThrow(/after the padding/);
    }
  });
});

describe('search with the κ-NN graph round', () => {
  it("only adds exactly scored candidates, so each rank's score can only improve", async () => {
    const { documents, queries } = randomCorpus({ docs: 1500, queries: 40, vocabulary: 300, seed: 21, decimals: 2 });
    const index = await SpladexIndex.build(documents, { nPostings: 30, knn: 8, seed: 21 });
    open.push(index);
    let withGraph = 0;
    let without = 0;
    for (const query of queries) {
      const exact = index.search(query, { k: 10, mode: 'exhaustive' });
      const truth = new Map(exact.map((h) => [h.id, h.score]));
      const full = new Map(index.search(query, { k: 1500, mode: 'exhaustive' }).map((h) => [h.id, h.score]));
      const a = index.search(query, { k: 10, queryCut: 2, heapFactor: 1, knn: 8 });
      const b = index.search(query, { k: 10, queryCut: 2, heapFactor: 1, knn: 0 });
      for (const hit of a) expect(full.get(hit.id)).toBe(hit.score);
      // The graph round scores a superset of candidates, so each rank's score can only improve.
      for (let i = 0; i < b.length; i++) expect(a[i].score).toBeGreaterThanOrEqual(b[i].score);
      withGraph += a.filter((h) => truth.has(h.id)).length;
      without += b.filter((h) => truth.has(h.id)).length;
    }
    expect(withGraph).toBeGreaterThan(without);
  });

  it('keeps lossless settings exact (the graph only adds exactly scored candidates)', async () => {
    const { documents, queries } = randomCorpus({ docs: 600, queries: 25, vocabulary: 200, seed: 23, decimals: 2 });
    const index = await SpladexIndex.build(documents, { ...LOSSLESS_BUILD, knn: 8, seed: 23 });
    open.push(index);
    for (const query of queries) expect(index.search(query, { k: 10, ...LOSSLESS_SEARCH, knn: 8 })).toEqual(index.search(query, { k: 10, mode: 'exhaustive' }));
  });

  it('never returns deleted documents found through the graph', async () => {
    const { documents, queries } = randomCorpus({ docs: 800, queries: 20, vocabulary: 200, seed: 22, decimals: 2 });
    const index = await SpladexIndex.build(documents, { nPostings: 20, knn: 8, seed: 22 });
    open.push(index);
    const writer = SpladexIndex.open(index.path, { readonly: false });
    const victims = documents.filter((_, i) => i % 3 === 0).map((d) => d.id);
    try {
      await writer.delete(victims);
    } finally {
      writer.close();
    }
    const reader = SpladexIndex.open(index.path);
    open.push(reader);
    const gone = new Set(victims);
    for (const query of queries) for (const hit of reader.search(query, { k: 20, queryCut: 1, knn: 8 })) expect(gone.has(hit.id)).toBe(false);
  });

  it('rejects a knn option out of range', async () => {
    const { index } = await built(2, 14, 100);
    expect(() => index.search({ tok1: 1 }, { knn: 65 })).toThrow(/knn/);
    await expect(SpladexIndex.build([{ id: 'a', vector: { x: 1 } }], { knn: -1 })).rejects.toThrow(/knn/);
  });
});
