/**
 * Static pruning: inverts the forward index and keeps, per term, the postings that matter most
 * (Seismic, SIGIR 2024, §4.1). Kept lists hold document ids only — values are read from the
 * forward index at query time — in ascending id order, ready for blocking.
 */
import { selectTopK } from '../util/select.js';
import type { ForwardIndex } from './forward.js';
import type { ResolvedBuildOptions } from './options.js';

export interface PostingLists {
  /** nTerms + 1 offsets into `docs`. */
  offsets: Uint32Array;
  /** Document ids, ascending within each list. SharedArrayBuffer-backed for build workers. */
  docs: Uint32Array;
}

/** Per-term document frequency. */
function documentFrequencies(forward: ForwardIndex, nTerms: number): Uint32Array {
  const df = new Uint32Array(nTerms);
  const terms = forward.terms;
  for (let i = 0; i < terms.length; i++) df[terms[i]]++;
  return df;
}

/**
 * The value of the `rank`-th largest entry (1-based) of a non-negative float array, found with two
 * radix passes over the float bits (positive IEEE floats order like their bit patterns), so a
 * 100M-entry array is handled without a copy or a sort.
 */
export function kthLargestValue(values: Float32Array, rank: number): number {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const high = new Float64Array(65536);
  for (let i = 0; i < bits.length; i++) high[bits[i] >>> 16]++;
  let remaining = rank;
  let bucket = 65535;
  for (; bucket > 0; bucket--) {
    if (high[bucket] >= remaining) break;
    remaining -= high[bucket];
  }
  const low = new Float64Array(65536);
  for (let i = 0; i < bits.length; i++) if (bits[i] >>> 16 === bucket) low[bits[i] & 0xffff]++;
  let lowBits = 65535;
  for (; lowBits > 0; lowBits--) {
    if (low[lowBits] >= remaining) break;
    remaining -= low[lowBits];
  }
  const out = new Float32Array(new Uint32Array([((bucket << 16) | lowBits) >>> 0]).buffer);
  return out[0];
}

/**
 * Global-threshold pruning's budget: postings kept overall (`nPostings × |V|`, or `keepFraction` of
 * all of them) and the cap of one list (`maxFraction × λ`, λ the average kept per list).
 */
export function globalThresholdBudget(nnz: number, nTerms: number, options: Pick<ResolvedBuildOptions, 'nPostings' | 'maxFraction' | 'keepFraction'>): { kept: number; cap: number } {
  const terms = Math.max(1, nTerms);
  const kept = Math.min(nnz, options.keepFraction > 0 ? Math.ceil(options.keepFraction * nnz) : options.nPostings * terms);
  const perList = options.keepFraction > 0 ? kept / terms : options.nPostings;
  return { kept, cap: Math.max(1, Math.floor(options.maxFraction * perList)) };
}

/** Builds the statically pruned posting lists for `options.pruning`. */
export function buildPrunedLists(forward: ForwardIndex, decoded: Float32Array, nTerms: number, options: ResolvedBuildOptions): PostingLists {
  const df = documentFrequencies(forward, nTerms);
  const nnz = decoded.length;

  // Full inversion by counting sort; scanning documents in id order keeps each list ascending.
  const starts = new Uint32Array(nTerms + 1);
  for (let t = 0; t < nTerms; t++) starts[t + 1] = starts[t] + df[t];
  const cursor = starts.slice(0, nTerms);
  const invDocs = new Uint32Array(nnz);
  const invValues = new Float32Array(nnz);
  const { offsets, terms } = forward;
  for (let d = 0; d < forward.nDocs; d++) {
    for (let j = offsets[d]; j < offsets[d + 1]; j++) {
      const slot = cursor[terms[j]]++;
      invDocs[slot] = d;
      invValues[slot] = decoded[j];
    }
  }

  let threshold = 0;
  let cap = Infinity;
  if (options.pruning === 'global-threshold') {
    const { kept: target, cap: listCap } = globalThresholdBudget(nnz, nTerms, options);
    threshold = target < nnz ? kthLargestValue(decoded, target) : 0;
    cap = listCap;
  } else if (options.pruning === 'fixed-size') {
    cap = options.nPostings;
  }

  // Upper bound of the output size, so the result lives in one shared allocation.
  let keptTotal = 0;
  for (let t = 0; t < nTerms; t++) {
    let count = 0;
    for (let i = starts[t]; i < starts[t + 1]; i++) if (invValues[i] >= threshold) count++;
    keptTotal += Math.min(count, cap);
  }
  const outOffsets = new Uint32Array(new SharedArrayBuffer((nTerms + 1) * 4));
  const outDocs = new Uint32Array(new SharedArrayBuffer(Math.max(1, keptTotal) * 4));
  let maxList = 0;
  for (let t = 0; t < nTerms; t++) maxList = Math.max(maxList, df[t]);
  const scratchDocs = new Uint32Array(maxList);
  const scratchValues = new Float32Array(maxList);

  let out = 0;
  for (let t = 0; t < nTerms; t++) {
    let n = 0;
    for (let i = starts[t]; i < starts[t + 1]; i++) {
      if (invValues[i] >= threshold) {
        scratchDocs[n] = invDocs[i];
        scratchValues[n] = invValues[i];
        n++;
      }
    }
    const kept = n > cap ? selectTopK(scratchDocs, scratchValues, n, cap) : n;
    const list = outDocs.subarray(out, out + kept);
    list.set(scratchDocs.subarray(0, kept));
    if (kept < n) list.sort();
    out += kept;
    outOffsets[t + 1] = out;
  }
  return { offsets: outOffsets, docs: outDocs.subarray(0, out) };
}

export interface TopTerms {
  /** nDocs + 1 offsets. */
  offsets: Uint32Array;
  terms: Uint32Array;
  values: Float32Array;
}

/** The `cut` largest terms of every document (used to assign documents to k-means centroids). */
export function topTermsPerDocument(forward: ForwardIndex, decoded: Float32Array, cut: number): TopTerms {
  const { offsets, terms, nDocs } = forward;
  const outOffsets = new Uint32Array(new SharedArrayBuffer((nDocs + 1) * 4));
  let total = 0;
  let maxLength = 0;
  for (let d = 0; d < nDocs; d++) {
    const length = offsets[d + 1] - offsets[d];
    total += Math.min(cut, length);
    maxLength = Math.max(maxLength, length);
    outOffsets[d + 1] = total;
  }
  const outTerms = new Uint32Array(new SharedArrayBuffer(Math.max(1, total) * 4));
  const outValues = new Float32Array(new SharedArrayBuffer(Math.max(1, total) * 4));
  const scratchTerms = new Uint32Array(maxLength);
  const scratchValues = new Float32Array(maxLength);
  for (let d = 0; d < nDocs; d++) {
    const start = offsets[d];
    const length = offsets[d + 1] - start;
    for (let j = 0; j < length; j++) {
      scratchTerms[j] = terms[start + j];
      scratchValues[j] = decoded[start + j];
    }
    const kept = selectTopK(scratchTerms, scratchValues, length, cut);
    outTerms.set(scratchTerms.subarray(0, kept), outOffsets[d]);
    outValues.set(scratchValues.subarray(0, kept), outOffsets[d]);
  }
  return { offsets: outOffsets, terms: outTerms, values: outValues };
}
