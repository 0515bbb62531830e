/**
 * The long-document lookups (long-docs.ts) and the κ-NN graph build's use of them (knn.ts),
 * checked against straightforward references on seeded random collections with very long
 * documents: the graph must be exactly the one the obvious algorithm builds.
 */
import { describe, expect, it } from 'vitest';
import { randomCollection, type RandomCollection } from '../../test/helpers/random-long.js';
import { buildInvertedPart } from './blocks.js';
import { mergeParts } from './inverted.js';
import { buildKnnPart, documentBlocks, KNN_CANDIDATE_BUDGET, type KnnBuildInput } from './knn.js';
import { LONG_DOCUMENT_TERMS, longDocuments, longPosition, longRank, longValue, type LongDocuments } from './long-docs.js';
import { resolveBuildOptions } from './options.js';
import { buildPrunedLists, topTermsPerDocument } from './pruning.js';

function vectorOf(c: RandomCollection, d: number): Map<number, number> {
  const vector = new Map<number, number>();
  for (let j = c.forward.offsets[d]; j < c.forward.offsets[d + 1]; j++) vector.set(c.forward.terms[j], c.decoded[j]);
  return vector;
}

describe('long-document lookups', () => {
  it('finds every posting of every long document, and nothing else', () => {
    const c = randomCollection(5, 200, 500, 5, 100, 400);
    const long = longDocuments(c.nTerms, c.forward.offsets, c.forward.terms, c.decoded, 100);
    const isLong = (d: number): boolean => c.forward.offsets[d + 1] - c.forward.offsets[d] >= 100;
    expect(Array.from(long.docs)).toEqual(Array.from({ length: c.forward.nDocs }, (_, d) => d).filter(isLong));
    for (let d = 0; d < c.forward.nDocs; d++) {
      expect(longRank(long, d) >= 0).toBe(isLong(d));
      if (!isLong(d) && d % 10 !== 0) continue;
      const vector = vectorOf(c, d);
      for (let u = 0; u < c.nTerms; u++) {
        const position = longPosition(long, d, u);
        if (!isLong(d) || !vector.has(u)) {
          expect(position).toBe(-1);
          expect(longValue(long, d, u)).toBe(0);
        } else {
          expect(c.forward.terms[position]).toBe(u);
          expect(longValue(long, d, u)).toBe(vector.get(u));
        }
      }
    }
    for (let r = 0; r < long.docs.length; r++) {
      const d = long.docs[r];
      // Heaviest first, ties by term id, zero weights left out; the mass sums them in forward order.
      const expected = [...vectorOf(c, d)].filter(([, v]) => v !== 0).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      const order = Array.from(long.order.subarray(long.orderOffsets[r], long.orderOffsets[r + 1]), (j) => [c.forward.terms[j], c.decoded[j]]);
      expect(order).toEqual(expected);
      let mass = 0;
      for (const v of vectorOf(c, d).values()) if (v !== 0) mass += v;
      expect(long.mass[r]).toBe(mass);
    }
  });

  it(`uses ${LONG_DOCUMENT_TERMS} terms as the default threshold, and is empty without long documents`, () => {
    const c = randomCollection(6, 100, 3000, 1, LONG_DOCUMENT_TERMS, LONG_DOCUMENT_TERMS);
    expect(longDocuments(c.nTerms, c.forward.offsets, c.forward.terms, c.decoded).docs.length).toBe(1);
    const none = randomCollection(6, 100, 3000, 1, LONG_DOCUMENT_TERMS - 1, LONG_DOCUMENT_TERMS - 1);
    const empty = longDocuments(none.nTerms, none.forward.offsets, none.forward.terms, none.decoded);
    expect([empty.docs.length, empty.order.length, empty.termDocs.length]).toEqual([0, 0, 0]);
  });
});

/** The graph input of a built collection: blocks by the build itself, memberships inverted. */
function knnInput(c: RandomCollection, seed: number, long: LongDocuments): KnnBuildInput {
  const options = resolveBuildOptions({ seed, threads: 1, pruning: 'none', centroidFraction: 0.15, kmeansDocCut: 6 });
  const lists = buildPrunedLists(c.forward, c.decoded, c.nTerms, options);
  const top = topTermsPerDocument(c.forward, c.decoded, options.kmeansDocCut);
  const part = buildInvertedPart({ nTerms: c.nTerms, forwardOffsets: c.forward.offsets, forwardTerms: c.forward.terms, decoded: c.decoded, lists, top, options, long }, 0, c.nTerms);
  const inverted = mergeParts([part], c.nTerms);
  return {
    nDocs: c.forward.nDocs,
    nTerms: c.nTerms,
    forwardOffsets: c.forward.offsets,
    forwardTerms: c.forward.terms,
    decoded: c.decoded,
    listBlockOffsets: inverted.listBlockOffsets,
    blockPostingOffsets: inverted.blockPostingOffsets,
    postingDocs: inverted.postingDocs,
    ...documentBlocks(c.forward.nDocs, inverted.blockPostingOffsets, inverted.postingDocs),
    neighbors: 6,
    long,
  };
}

/**
 * The obvious graph: d's blocks by d's weight on their term (ties: block order), whole blocks
 * scored until the budget is reached, every candidate read whole, best κ by score then id.
 */
function referenceGraph(c: RandomCollection, input: KnnBuildInput): number[] {
  const { listBlockOffsets, blockPostingOffsets, postingDocs, neighbors } = input;
  const nBlocks = blockPostingOffsets.length - 1;
  const blockTerm: number[] = [];
  for (let t = 0; t < c.nTerms; t++) for (let b = listBlockOffsets[t]; b < listBlockOffsets[t + 1]; b++) blockTerm[b] = t;
  const members = Array.from({ length: nBlocks }, (_, b) => Array.from(postingDocs.subarray(blockPostingOffsets[b], blockPostingOffsets[b + 1])));
  const rows: number[] = [];
  for (let d = 0; d < c.forward.nDocs; d++) {
    const vector = vectorOf(c, d);
    const weight = (b: number): number => vector.get(blockTerm[b]) ?? 0;
    const blocks = members.flatMap((docs, b) => (docs.includes(d) ? [b] : [])).sort((a, b) => weight(b) - weight(a) || a - b);
    const seen = new Set([d]);
    const scored: Array<[number, number]> = [];
    for (let i = 0; i < blocks.length && seen.size - 1 < KNN_CANDIDATE_BUDGET; i++) {
      for (const x of members[blocks[i]]) {
        if (seen.has(x)) continue;
        seen.add(x);
        let score = 0;
        for (const [u, v] of vectorOf(c, x)) score += (vector.get(u) ?? 0) * v;
        if (score > 0) scored.push([score, x]);
      }
    }
    scored.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (let i = 0; i < neighbors; i++) rows.push(i < scored.length ? scored[i][1] : 0xffffffff);
  }
  return rows;
}

describe('κ-NN graph with long documents (differential against a brute-force reference)', () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: the same rows, exactly, whatever the document split`, () => {
      // Long from 120 terms, so that many candidates are scored through lookups and many documents have > 32 blocks.
      const c = randomCollection(seed, 500, 400, 6, 120, 380);
      const long = longDocuments(c.nTerms, c.forward.offsets, c.forward.terms, c.decoded, 120);
      const input = knnInput(c, seed, long);
      const graph = Array.from(buildKnnPart(input, 0, c.forward.nDocs));
      expect(graph).toEqual(referenceGraph(c, input));
      // Workers build consecutive document ranges: the concatenation is the same graph.
      const half = Math.floor(c.forward.nDocs / 2);
      expect([...buildKnnPart(input, 0, half), ...buildKnnPart(input, half, c.forward.nDocs)]).toEqual(graph);
      // And without the lookups (every candidate read whole, every membership insertion-sorted when short).
      const whole = longDocuments(c.nTerms, c.forward.offsets, c.forward.terms, c.decoded, Infinity);
      expect(Array.from(buildKnnPart({ ...input, long: whole }, 0, c.forward.nDocs))).toEqual(graph);
    });
  }
});
