/** Random collections holding a few very long documents, for the differential tests of the build's long-document paths. */
import type { ForwardIndex } from '../../src/segment/forward.js';
import { HALF_TO_FLOAT, toHalfBits } from '../../src/util/f16.js';
import { Rng } from '../../src/util/rng.js';

export interface RandomCollection {
  forward: ForwardIndex;
  decoded: Float32Array;
  nTerms: number;
}

/**
 * `nDocs` ordinary documents of 0–60 terms (skewed term popularity) and `nLong` documents of
 * `longMin`–`longMax` terms, at random positions; f16 values with many exact ties and a few weights
 * that round to zero.
 */
export function randomCollection(seed: number, nDocs: number, nTerms: number, nLong: number, longMin: number, longMax: number): RandomCollection {
  const rng = new Rng(seed, 77);
  const longAt = new Set<number>();
  while (longAt.size < nLong) longAt.add(rng.int(nDocs + nLong));
  const offsets = new Uint32Array(nDocs + nLong + 1);
  const terms: number[] = [];
  const values: number[] = [];
  const seen = new Int32Array(nTerms).fill(-1);
  for (let d = 0; d < nDocs + nLong; d++) {
    const length = longAt.has(d) ? longMin + rng.int(longMax - longMin + 1) : d % 41 === 7 ? 0 : 1 + rng.int(60);
    let added = 0;
    while (added < length) {
      const u = longAt.has(d) ? rng.int(nTerms) : Math.floor(rng.next() ** 2 * nTerms);
      if (seen[u] === d) continue;
      seen[u] = d;
      terms.push(u);
      // Two decimals: exact ties; 1e-9 rounds to a zero half float.
      const weight = rng.int(50) === 0 ? 1e-9 : Math.round((0.01 + -Math.log(1 - rng.next()) * 0.8) * 100) / 100;
      values.push(toHalfBits(weight));
      added++;
    }
    offsets[d + 1] = terms.length;
  }
  const forward: ForwardIndex = { nDocs: nDocs + nLong, offsets, terms: Uint16Array.from(terms), valueType: 'f16', values: Uint16Array.from(values), codebook: HALF_TO_FLOAT };
  const decoded = Float32Array.from(values, (bits) => HALF_TO_FLOAT[bits]);
  return { forward, decoded, nTerms };
}
