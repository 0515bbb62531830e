import { describe, expect, it } from 'vitest';
import { HALF_TO_FLOAT } from '../util/f16.js';
import { Rng } from '../util/rng.js';
import type { ForwardIndex } from '../index/forward.js';
import { dotHalf, dotHalf4, kernelFor, quadKernelFor } from './dot.js';

/** A random f16 forward index: documents of 0–200 postings, every exponent including subnormals. */
function randomForward(rng: Rng, nDocs: number, nTerms: number): ForwardIndex {
  const offsets = new Uint32Array(nDocs + 1);
  for (let d = 0; d < nDocs; d++) offsets[d + 1] = offsets[d] + (d % 17 === 3 ? 0 : rng.int(201));
  const n = offsets[nDocs];
  const terms = new Uint16Array(n);
  const values = new Uint16Array(n);
  for (let j = 0; j < n; j++) {
    terms[j] = rng.int(nTerms);
    values[j] = rng.int(0x7c00); // non-negative and finite: what a stored forward index holds
  }
  return { nDocs, offsets, terms, valueType: 'f16', values, codebook: HALF_TO_FLOAT };
}

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
      const docs = new Uint32Array(4);
      const out = new Float64Array(4);
      for (let trial = 0; trial < 500; trial++) {
        // Repeats included: the searcher pads a short batch with its last document.
        for (let i = 0; i < 4; i++) docs[i] = rng.next() < 0.2 && i > 0 ? docs[i - 1] : rng.int(f.nDocs);
        quad(dense, f.terms, f.values, f.codebook, f.offsets, docs, out);
        for (let i = 0; i < 4; i++) expect(out[i]).toBe(single(dense, f.terms, f.values, f.codebook, f.offsets[docs[i]], f.offsets[docs[i] + 1]));
      }
    }
  });
});
