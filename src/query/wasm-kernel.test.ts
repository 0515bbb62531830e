import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileKernel, generatedModule, KERNEL_GENERATED_PATH, KERNEL_WAT_PATH } from '../../scripts/build-wasm.js';
import { randomCorpus } from '../../test/helpers/random-corpus.js';
import { randomHalfForward } from '../../test/helpers/random-forward.js';
import { readSegment, type Segment } from '../segment/segment.js';
import { SpladexIndex } from '../spladex-index.js';
import { MaxScoreSearcher } from './maxscore.js';
import { prepareQuery } from './query-vector.js';
import { SegmentSearcher } from './segment-searcher.js';
import { TopK } from '../util/topk.js';
import type { ForwardIndex } from '../segment/forward.js';
import { HALF_TO_FLOAT } from '../util/f16.js';
import { Rng } from '../util/rng.js';
import type { CandidateScorer } from './candidate-scorer.js';
import { dotHalf, JsCandidateScorer } from './dot.js';
import { candidateScorerFor } from './scorers.js';
import { CANDIDATE_BATCH } from './candidate-scorer.js';
import { KernelMemory } from './wasm-kernel.js';

/** Copies a forward index into a fresh kernel memory, as a segment file read there would be. */
function inKernelMemory(f: ForwardIndex, nTerms: number): { forward: ForwardIndex; memory: KernelMemory } {
  const at = (bytes: number): number => Math.ceil(bytes / 8) * 8;
  const offsetsAt = 64;
  const termsAt = at(offsetsAt + f.offsets.byteLength);
  const valuesAt = at(termsAt + f.terms.byteLength);
  const memory = KernelMemory.allocate(at(valuesAt + f.values.byteLength), nTerms);
  if (memory === undefined) throw new Error('WebAssembly is unavailable');
  const buffer = memory.file.buffer;
  const offsets = new Uint32Array(buffer, offsetsAt, f.offsets.length);
  const terms = new Uint16Array(buffer, termsAt, f.terms.length);
  const values = new Uint16Array(buffer, valuesAt, f.values.length);
  offsets.set(f.offsets);
  terms.set(f.terms);
  values.set(f.values as Uint16Array);
  return { forward: { ...f, offsets, terms, values }, memory };
}

/** A random query over a quarter of the terms, loaded into every scorer given. */
function loadRandomQuery(rng: Rng, nTerms: number, ...scorers: CandidateScorer[]): { terms: number[] } {
  const terms: number[] = [];
  const weights: number[] = [];
  for (let t = 0; t < nTerms; t++) {
    if (rng.next() < 0.25) {
      terms.push(t);
      weights.push(rng.next() * 4);
    }
  }
  for (const scorer of scorers) scorer.loadQuery(terms, weights);
  return { terms };
}

describe('WebAssembly scoring kernel', () => {
  it('the shipped module is the compilation of kernel.wat (run `npm run build:wasm` after editing it)', async () => {
    const compiled = await compileKernel(readFileSync(KERNEL_WAT_PATH, 'utf8'));
    expect(readFileSync(KERNEL_GENERATED_PATH, 'utf8')).toBe(generatedModule(compiled));
  });

  it('decodes every non-negative half exactly like the JavaScript kernel', () => {
    // One document per bit pattern 0x0000–0x7fff (subnormals, normals, exponent 31), term 0.
    const n = 0x8000;
    const f: ForwardIndex = {
      nDocs: n,
      offsets: Uint32Array.from({ length: n + 1 }, (_, i) => i),
      terms: new Uint16Array(n),
      valueType: 'f16',
      values: Uint16Array.from({ length: n }, (_, i) => i),
      codebook: HALF_TO_FLOAT,
    };
    const { forward, memory } = inKernelMemory(f, 1);
    const scorer = memory.scorerFor(forward, 1)!;
    // Extreme f32 weights too: the kernel's 2^112 scaling of the query must neither overflow nor underflow.
    for (const weight of [1, 0.3, 7.25, 1e-40, 1.5e-45, 3e38]) {
      scorer.loadQuery([0], [weight]);
      const js = new Float32Array([weight]);
      for (let from = 0; from < n; from += CANDIDATE_BATCH) {
        for (let i = 0; i < CANDIDATE_BATCH; i++) scorer.candidates[i] = from + i;
        scorer.scoreCandidates(CANDIDATE_BATCH);
        for (let i = 0; i < CANDIDATE_BATCH; i++) {
          const expected = dotHalf(js, f.terms, f.values as Uint16Array, f.codebook, from + i, from + i + 1);
          if (scorer.scores[i] !== expected) expect({ bits: from + i, score: scorer.scores[i] }).toEqual({ bits: from + i, score: expected });
        }
      }
    }
  });

  it('scores batches of every length bit-identically to the JavaScript scorer', () => {
    const rng = new Rng(11);
    const nTerms = 700;
    const f = randomHalfForward(rng, 900, nTerms);
    const { forward, memory } = inKernelMemory(f, nTerms);
    const wasm = memory.scorerFor(forward, nTerms)!;
    const js = new JsCandidateScorer(f, nTerms);
    expect(wasm).toBeDefined();
    for (let trial = 0; trial < 60; trial++) {
      const query = loadRandomQuery(rng, nTerms, wasm, js);
      // Lengths around the lockstep width and the full batch; repeats and empty documents included.
      const n = trial < 20 ? trial : trial < 40 ? rng.int(200) : CANDIDATE_BATCH - rng.int(3);
      for (let i = 0; i < n; i++) {
        const d = i > 0 && rng.next() < 0.1 ? wasm.candidates[i - 1] : rng.int(f.nDocs);
        wasm.candidates[i] = d;
        js.candidates[i] = d;
      }
      wasm.scoreCandidates(n);
      js.scoreCandidates(n);
      expect(Array.from(wasm.scores.subarray(0, n))).toEqual(Array.from(js.scores.subarray(0, n)));
      for (let i = 0; i < Math.min(n, 20); i++) expect(wasm.scoreDocument(wasm.candidates[i])).toBe(js.scores[i]);
      for (const scorer of [wasm, js]) scorer.clearQuery(query.terms);
    }
  });

  it('serves only the layout it implements', () => {
    const rng = new Rng(12);
    const f = randomHalfForward(rng, 20, 50);
    const { forward, memory } = inKernelMemory(f, 50);
    // Arrays outside its memory, other value types, or a query array too small: JavaScript kernels.
    expect(memory.scorerFor(f, 50)).toBeUndefined();
    expect(memory.scorerFor({ ...forward, valueType: 'u8' }, 50)).toBeUndefined();
    expect(memory.scorerFor(forward, 51)).toBeUndefined();
    expect(memory.scorerFor(forward, 50)).toBeDefined();
  });

  describe('a segment read into kernel memory', () => {
    const open: SpladexIndex[] = [];
    afterAll(() => open.forEach((index) => index.close()));

    it('is searched with the kernel and gives the JavaScript results in every mode', async () => {
      const { documents, queries } = randomCorpus({ docs: 1500, queries: 40, vocabulary: 300, seed: 31, decimals: 3 });
      const index = await SpladexIndex.build(documents, { nPostings: 60, knn: 4, seed: 31 });
      open.push(index);
      const file = join(index.path, index.manifest.segments[0].file);
      const plain = readSegment(file);
      const inKernel = readSegment(file, { memory: KernelMemory.allocate });
      expect(plain.memory).toBeUndefined();
      expect(inKernel.memory).toBeDefined();
      expect(inKernel.forward.terms.buffer).toBe((inKernel.memory as KernelMemory).file.buffer);
      const excluded = Uint8Array.from({ length: plain.meta.nDocs }, (_, d) => (d % 7 === 0 ? 1 : 0));
      const allowList = Uint32Array.from({ length: 300 }, (_, i) => (i * 5) % plain.meta.nDocs);
      const results = (segment: Segment): string[] => {
        const searcher = new SegmentSearcher(segment);
        const maxScore = new MaxScoreSearcher(segment);
        const out: string[] = [];
        for (const query of queries) {
          const prepared = prepareQuery(query, segment.termIds);
          const runs: Array<(heap: TopK) => void> = [
            (heap) => searcher.searchApproximate(prepared, 3, 0.8, 4, heap, 0),
            (heap) => searcher.searchApproximate(prepared, 0, 1, 0, heap, 0, excluded),
            (heap) => searcher.searchExhaustive(prepared, heap, 0, excluded),
            (heap) => searcher.searchDocuments(prepared, allowList, heap, 0),
            (heap) => maxScore.search(prepared, heap, 0),
          ];
          for (const run of runs) {
            const heap = new TopK(10);
            run(heap);
            out.push(JSON.stringify(heap.sorted()));
          }
        }
        return out;
      };
      expect(results(inKernel)).toEqual(results(plain));
      // Block bounds, all blocks, bit for bit.
      const wasm = candidateScorerFor(inKernel);
      const js = new JsCandidateScorer(plain.forward, plain.meta.nTerms, plain.inverted);
      expect(wasm).not.toBeInstanceOf(JsCandidateScorer);
      const nBlocks = plain.inverted.blockScales.length;
      for (const query of queries.slice(0, 10)) {
        const prepared = prepareQuery(query, plain.termIds);
        for (const scorer of [wasm, js]) scorer.loadQuery(prepared.terms, prepared.weights);
        for (let first = 0; first < nBlocks; first += CANDIDATE_BATCH) {
          const n = Math.min(CANDIDATE_BATCH, nBlocks - first);
          wasm.boundBlocks(first, n);
          js.boundBlocks(first, n);
          expect(Array.from(wasm.bounds.subarray(0, n))).toEqual(Array.from(js.bounds.subarray(0, n)));
        }
        for (const scorer of [wasm, js]) scorer.clearQuery(prepared.terms);
      }
    });

    it('bounds lists of more blocks than one kernel call takes, in runs', async () => {
      // One document per block and a popular term: lists of several thousand blocks.
      const { documents, queries } = randomCorpus({ docs: 3000, queries: 15, vocabulary: 40, seed: 32, decimals: 2 });
      const index = await SpladexIndex.build(documents, { pruning: 'none', blocking: 'fixed-size', blockSize: 1, summaryEnergy: 1, maxSummaryTerms: 0, knn: 0, seed: 32 });
      open.push(index);
      const segment = readSegment(join(index.path, index.manifest.segments[0].file), { memory: KernelMemory.allocate });
      const { listBlockOffsets } = segment.inverted;
      const longest = Math.max(...Array.from({ length: segment.meta.nTerms }, (_, t) => listBlockOffsets[t + 1] - listBlockOffsets[t]));
      expect(longest).toBeGreaterThan(CANDIDATE_BATCH);
      const searcher = new SegmentSearcher(segment);
      for (const query of queries) {
        const prepared = prepareQuery(query, segment.termIds);
        const [lossless, exact] = [new TopK(10), new TopK(10)];
        searcher.searchApproximate(prepared, 0, 1, 0, lossless, 0);
        searcher.searchExhaustive(prepared, exact, 0);
        expect(lossless.sorted()).toEqual(exact.sorted());
      }
    });
  });
});
