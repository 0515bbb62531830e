import { describe, expect, it } from 'vitest';
import { HALF_TO_FLOAT } from '../util/f16.js';
import { Rng } from '../util/rng.js';
import type { ForwardIndex } from '../segment/forward.js';
import { randomHalfForward as randomForward } from '../../test/helpers/random-forward.js';
import { dotHalf, dotHalf4, JsCandidateScorer, kernelFor, quadKernelFor } from './dot.js';

describe('dot kernels', () => {
  it('the f16 kernel is the exact sum of the decoded halves, in posting order', () => {
    const rng = new Rng(5);
    const f = randomForward(rng, 50, 300);
    const dense = Float32Array.from({ length: 300 }, () => (rng.next() < 0.3 ? rng.next() * 3 : 0));
    for (let d = 0; d < f.nDocs; d++) {
      let expected = 0;
      for (let j = f.offsets[d]; j < f.offsets[d + 1]; j++) expected += dense[f.terms[j]] * HALF_TO_FLOAT[f.values[j]];
      expect(dotHalf(dense, f.terms, f.values as Uint16Array, f.codebook, f.offsets[d], f.offsets[d + 1])).toBe(expected);
    }
  });

  it('the four-document kernels give each document the single kernel\'s score, bit for bit', () => {
    const rng = new Rng(6);
    for (const valueType of ['f16', 'u8', 'f32'] as const) {
      const base = randomForward(rng, 400, 500);
      const f: ForwardIndex =
        valueType === 'f16'
          ? base
          : valueType === 'u8'
            ? { ...base, valueType, values: Uint8Array.from(base.values, (v) => v & 255), codebook: Float32Array.from({ length: 256 }, (_, i) => i / 37) }
            : { ...base, valueType, values: Float32Array.from(base.values, (v) => HALF_TO_FLOAT[v]), codebook: new Float32Array(0) };
      const single = kernelFor(f);
      const quad = quadKernelFor(f);
      if (valueType === 'f16') expect(quad).toBe(dotHalf4);
      const dense = Float32Array.from({ length: 500 }, () => (rng.next() < 0.2 ? rng.next() * 3 : 0));
      const docs = new Uint32Array(9);
      const out = new Float64Array(9);
      for (let trial = 0; trial < 500; trial++) {
        // Repeats included (a document may be listed twice); `at` places the four anywhere.
        for (let i = 0; i < docs.length; i++) docs[i] = rng.next() < 0.2 && i > 0 ? docs[i - 1] : rng.int(f.nDocs);
        const at = rng.int(6);
        out.fill(-1);
        quad(dense, f.terms, f.values, f.codebook, f.offsets, docs, at, out);
        for (let i = 0; i < docs.length; i++) {
          const expected = i >= at && i < at + 4 ? single(dense, f.terms, f.values, f.codebook, f.offsets[docs[i]], f.offsets[docs[i] + 1]) : -1;
          expect(out[i]).toBe(expected);
        }
      }
    }
  });

  it('the JavaScript candidate scorer scores any batch length like the single kernel', () => {
    const rng = new Rng(7);
    const f = randomForward(rng, 300, 400);
    const scorer = new JsCandidateScorer(f, 400);
    const dense = new Float32Array(400);
    for (let t = 0; t < 400; t++) if (rng.next() < 0.2) dense[t] = rng.next() * 3;
    const terms = Array.from(dense.keys()).filter((t) => dense[t] > 0);
    scorer.loadQuery(terms, Array.from(terms, (t) => dense[t]));
    for (let n = 0; n <= 13; n++) {
      for (let i = 0; i < n; i++) scorer.candidates[i] = rng.int(f.nDocs);
      scorer.scoreCandidates(n);
      for (let i = 0; i < n; i++) {
        const d = scorer.candidates[i];
        expect(scorer.scores[i]).toBe(dotHalf(dense, f.terms, f.values as Uint16Array, f.codebook, f.offsets[d], f.offsets[d + 1]));
        expect(scorer.scoreDocument(d)).toBe(scorer.scores[i]);
      }
    }
  });
});
