/** Random forward indexes for kernel tests. */
import type { ForwardIndex } from '../../src/segment/forward.js';
import { HALF_TO_FLOAT } from '../../src/util/f16.js';
import type { Rng } from '../../src/util/rng.js';

/** A random f16 forward index: documents of 0–200 postings (some empty), every exponent including subnormals. */
export function randomHalfForward(rng: Rng, nDocs: number, nTerms: number): ForwardIndex {
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
