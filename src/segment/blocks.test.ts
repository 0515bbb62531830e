/**
 * Differential tests of blocking and block summaries (blocks.ts, summaries.ts) against a
 * straightforward reference on seeded random collections that hold a few very long documents.
 *
 * The optimised build never reads a long document whole in a per-list step (long-docs.ts): a long
 * k-means centroid enters the mini index through lookups, and summaries of blocks holding a long
 * document merge its presorted terms with the ordinary members' union. The reference below does
 * everything the slow, obvious way (full vectors in maps, full sorts), so any change of results
 * shows up as an inequality. Exact equality is required: same blocks, same summaries, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { randomCollection, type RandomCollection } from '../../test/helpers/random-long.js';
import { rngFor } from '../util/rng.js';
import { selectEnergyPrefix, selectTopK } from '../util/select.js';
import { buildInvertedPart, type BlockBuildInput, type InvertedPart } from './blocks.js';
import { LONG_DOCUMENT_TERMS, longDocuments, type LongDocuments } from './long-docs.js';
import { resolveBuildOptions, type BuildOptions, type ResolvedBuildOptions } from './options.js';
import { buildPrunedLists, topTermsPerDocument } from './pruning.js';
import { SCALE_SAFETY } from './summaries.js';

function blockInput(c: RandomCollection, options: ResolvedBuildOptions, long?: LongDocuments): BlockBuildInput {
  const lists = buildPrunedLists(c.forward, c.decoded, c.nTerms, options);
  const top = options.blocking === 'kmeans' ? topTermsPerDocument(c.forward, c.decoded, options.kmeansDocCut) : undefined;
  return { nTerms: c.nTerms, forwardOffsets: c.forward.offsets, forwardTerms: c.forward.terms, decoded: c.decoded, lists, top, options, long };
}

// ---------------------------------------------------------------------------------------------
// The reference.
// ---------------------------------------------------------------------------------------------

interface Reference {
  listBlockCounts: number[];
  blockSizes: number[];
  postingDocs: number[];
  blockScales: number[];
  summarySizes: number[];
  summaryTerms: number[];
  summaryCodes: number[];
}

function vectorOf(c: RandomCollection, d: number): Map<number, number> {
  const vector = new Map<number, number>();
  for (let j = c.forward.offsets[d]; j < c.forward.offsets[d + 1]; j++) vector.set(c.forward.terms[j], c.decoded[j]);
  return vector;
}

/** The list's blocks: k-means by brute-force dot products against every centroid's full vector, or fixed runs. */
function referenceBlocks(c: RandomCollection, input: BlockBuildInput, t: number): number[][] {
  const { options, lists, top } = input;
  const docs = Array.from(lists.docs.subarray(lists.offsets[t], lists.offsets[t + 1]));
  if (docs.length === 0) return [];
  const nCentroids = options.blocking === 'kmeans' ? Math.max(1, Math.floor(options.centroidFraction * docs.length)) : 0;
  if (nCentroids <= 1) {
    const size = options.blocking === 'kmeans' ? docs.length : options.blockSize;
    const blocks: number[][] = [];
    for (let i = 0; i < docs.length; i += size) blocks.push(docs.slice(i, i + size));
    return blocks;
  }
  // Same sampling as the build: a partial Fisher–Yates shuffle seeded by (seed, term).
  const rng = rngFor(options.seed, t);
  const permutation = docs.map((_, i) => i);
  const centroids: Array<Map<number, number>> = [];
  for (let i = 0; i < nCentroids; i++) {
    const j = i + rng.int(docs.length - i);
    [permutation[i], permutation[j]] = [permutation[j], permutation[i]];
    centroids.push(vectorOf(c, docs[permutation[i]]));
  }
  let fallback = 0;
  for (let k = 1; k < nCentroids; k++) if (centroids[k].get(t)! > centroids[fallback].get(t)!) fallback = k;
  const members: number[][] = centroids.map(() => []);
  for (const d of docs) {
    let best = fallback;
    let bestScore = -1;
    for (let k = 0; k < nCentroids; k++) {
      let score = 0;
      let shares = false;
      // Accumulated in the order of d's top terms, as the build does (float sums depend on order).
      for (let j = top!.offsets[d]; j < top!.offsets[d + 1]; j++) {
        const value = centroids[k].get(top!.terms[j]);
        if (value === undefined) continue;
        shares = true;
        score += top!.values[j] * value;
      }
      if (shares && score > bestScore) {
        bestScore = score;
        best = k;
      }
    }
    members[best].push(d);
  }
  return members.filter((block) => block.length > 0);
}

/** One block's summary entries and scale. */
function referenceSummary(c: RandomCollection, block: number[], options: ResolvedBuildOptions, minTerms: number): { terms: number[]; values: number[] } {
  const isLong = (d: number): boolean => c.forward.offsets[d + 1] - c.forward.offsets[d] >= minTerms;
  const lossless = options.summaryEnergy >= 1 && options.maxSummaryTerms === 0;
  // The union of the members (zero weights skipped), in first-touch order.
  const union = (members: number[]): Map<number, number> => {
    const out = new Map<number, number>();
    for (const d of members) for (const [u, v] of vectorOf(c, d)) if (v !== 0 && v > (out.get(u) ?? 0)) out.set(u, v);
    return out;
  };
  if (lossless || !block.some(isLong)) {
    // The ordinary definition: in-place energy selection over the union in first-touch order.
    const all = union(block);
    const keys = Uint32Array.from(all.keys());
    const weights = Float32Array.from(all.values());
    let kept = selectEnergyPrefix(keys, weights, keys.length, options.summaryEnergy);
    if (options.maxSummaryTerms > 0 && kept > options.maxSummaryTerms) kept = selectTopK(keys, weights, kept, options.maxSummaryTerms);
    return { terms: Array.from(keys.subarray(0, kept)), values: Array.from(weights.subarray(0, kept)) };
  }
  // With a long member: heaviest union terms first (ties: lower term id) until the energy target
  // or the cap; the mass is the long members' own masses plus what the others add on top of them.
  const longMembers = block.filter(isLong);
  const ordinary = union(block.filter((d) => !isLong(d)));
  const longVectors = longMembers.map((d) => vectorOf(c, d));
  let total = 0;
  for (const d of longMembers) {
    let mass = 0;
    for (const v of vectorOf(c, d).values()) if (v !== 0) mass += v;
    total += mass;
  }
  for (const [u, o] of ordinary) {
    const m = Math.max(0, ...longVectors.map((vector) => vector.get(u) ?? 0));
    total += Math.max(o, m) - m;
  }
  const entries = [...union(block)].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const need = options.summaryEnergy < 1 ? options.summaryEnergy * total : Infinity;
  const out = { terms: [] as number[], values: [] as number[] };
  let acc = 0;
  for (const [u, v] of entries) {
    if (options.maxSummaryTerms > 0 && out.terms.length === options.maxSummaryTerms) break;
    out.terms.push(u);
    out.values.push(v);
    acc += v;
    if (acc >= need) break;
  }
  return out;
}

function reference(c: RandomCollection, input: BlockBuildInput, minTerms: number): Reference {
  const out: Reference = { listBlockCounts: [], blockSizes: [], postingDocs: [], blockScales: [], summarySizes: [], summaryTerms: [], summaryCodes: [] };
  for (let t = 0; t < c.nTerms; t++) {
    const blocks = referenceBlocks(c, input, t);
    out.listBlockCounts.push(blocks.length);
    for (const block of blocks) {
      out.blockSizes.push(block.length);
      out.postingDocs.push(...block);
      const { terms, values } = referenceSummary(c, block, input.options, minTerms);
      const step = Math.max(0, ...values) / 255;
      let scale = 0;
      for (let i = 0; i < terms.length; i++) {
        const code = Math.min(255, Math.max(1, step > 0 ? Math.ceil(values[i] / step) : 1));
        scale = Math.max(scale, values[i] / code);
        out.summaryTerms.push(terms[i]);
        out.summaryCodes.push(code);
      }
      out.summarySizes.push(terms.length);
      out.blockScales.push(Math.fround(scale * SCALE_SAFETY));
    }
  }
  return out;
}

function plain(part: InvertedPart): Reference {
  return {
    listBlockCounts: Array.from(part.listBlockCounts),
    blockSizes: Array.from(part.blockSizes),
    postingDocs: Array.from(part.postingDocs),
    blockScales: Array.from(part.blockScales),
    summarySizes: Array.from(part.summarySizes),
    summaryTerms: Array.from(part.summaryTerms),
    summaryCodes: Array.from(part.summaryCodes),
  };
}

/** The part built over the whole term range, and the same built in three ranges and concatenated (what workers do). */
function built(input: BlockBuildInput): Reference {
  const whole = plain(buildInvertedPart(input, 0, input.nTerms));
  const cuts = [0, Math.floor(input.nTerms / 3), Math.floor((2 * input.nTerms) / 3), input.nTerms];
  const pieces = cuts.slice(1).map((end, i) => plain(buildInvertedPart(input, cuts[i], end)));
  const joined = Object.fromEntries(Object.keys(whole).map((key) => [key, pieces.flatMap((p) => p[key as keyof Reference])])) as unknown as Reference;
  expect(joined).toEqual(whole);
  return whole;
}

// ---------------------------------------------------------------------------------------------

const SETTINGS: Array<[string, BuildOptions]> = [
  ['default trimming, small cap', { summaryEnergy: 0.4, maxSummaryTerms: 24, centroidFraction: 0.15, pruning: 'none' }],
  ['energy only, no cap', { summaryEnergy: 0.3, maxSummaryTerms: 0, centroidFraction: 0.2, pruning: 'none' }],
  ['cap only', { summaryEnergy: 1, maxSummaryTerms: 16, centroidFraction: 0.1, pruning: 'none' }],
  ['lossless', { summaryEnergy: 1, maxSummaryTerms: 0, centroidFraction: 0.15, pruning: 'none' }],
  ['global-threshold pruning', { nPostings: 12, centroidFraction: 0.2, maxSummaryTerms: 20 }],
  ['fixed-size blocks', { blocking: 'fixed-size', blockSize: 5, summaryEnergy: 0.5, maxSummaryTerms: 12, pruning: 'none' }],
];

describe('blocking and summaries with long documents (differential against a brute-force reference)', () => {
  for (const [name, settings] of SETTINGS) {
    it(`${name}: equals the reference, exactly`, () => {
      for (const seed of [1, 2]) {
        // Long from 120 terms here, so that blocks often hold several long documents.
        const c = randomCollection(seed, 300, 400, 6, 120, 380);
        const options = resolveBuildOptions({ ...settings, seed, kmeansDocCut: 6, threads: 1 });
        const long = longDocuments(c.nTerms, c.forward.offsets, c.forward.terms, c.decoded, 120);
        expect(long.docs.length).toBe(6);
        const input = blockInput(c, options, long);
        // Blocking never depends on the long-document lookups; without long documents (the
        // threshold out of reach) every summary takes the ordinary path, as before this code existed.
        const withoutLong = built({ ...input, long: longDocuments(c.nTerms, c.forward.offsets, c.forward.terms, c.decoded, Infinity) });
        expect(withoutLong).toEqual(reference(c, input, Infinity));
        const result = built(input);
        expect(result).toEqual(reference(c, input, 120));
        expect(result.postingDocs).toEqual(withoutLong.postingDocs);
        expect(result.blockSizes).toEqual(withoutLong.blockSizes);
        if (options.summaryEnergy >= 1 && options.maxSummaryTerms === 0) expect(result).toEqual(withoutLong);
      }
    });
  }

  it(`documents of ${LONG_DOCUMENT_TERMS}+ terms at the default threshold, default options`, () => {
    const c = randomCollection(9, 150, 3000, 2, LONG_DOCUMENT_TERMS, LONG_DOCUMENT_TERMS + 300);
    const options = resolveBuildOptions({ seed: 9, threads: 1, pruning: 'none', centroidFraction: 0.2 });
    // Without an explicit `long`, buildInvertedPart finds the long documents itself at the default threshold.
    const input = blockInput(c, options);
    expect(built(input)).toEqual(reference(c, input, LONG_DOCUMENT_TERMS));
  });

  it('a summary of a block holding a long document never underestimates a member when nothing is trimmed', () => {
    const c = randomCollection(4, 200, 300, 4, 100, 280);
    const options = resolveBuildOptions({ seed: 4, threads: 1, pruning: 'none', summaryEnergy: 1, maxSummaryTerms: 100_000, centroidFraction: 0.15 });
    const long = longDocuments(c.nTerms, c.forward.offsets, c.forward.terms, c.decoded, 100);
    const part = buildInvertedPart(blockInput(c, options, long), 0, c.nTerms);
    let block = 0;
    let at = 0;
    let entry = 0;
    for (let t = 0; t < c.nTerms; t++) {
      for (let b = 0; b < part.listBlockCounts[t]; b++, block++) {
        const bound = new Map<number, number>();
        for (let i = 0; i < part.summarySizes[block]; i++, entry++) bound.set(part.summaryTerms[entry], part.summaryCodes[entry] * part.blockScales[block]);
        for (let p = 0; p < part.blockSizes[block]; p++, at++) {
          for (const [u, v] of vectorOf(c, part.postingDocs[at])) expect(bound.get(u) ?? 0).toBeGreaterThanOrEqual(v);
        }
      }
    }
  });
});
