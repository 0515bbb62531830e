/**
 * Structural invariants of a loaded segment.
 *
 * Checksums prove a file is what was written, not that what was written is sound: a segment from
 * a buggy writer (or crafted by hand, with matching CRCs) could hold a term id beyond the
 * vocabulary or an offset that runs backwards, and the search loops, which trust their arrays
 * for speed, would then read `undefined` and return garbage silently. So:
 *
 * - `load` level (every open; linear passes over each array, cheaper than the CRC pass): offsets
 *   start at 0 and never decrease, every id is in range, values decode to finite non-negative
 *   weights, scales are finite, the vocabulary has no duplicate token, κ-NN rows name other
 *   documents of the segment, padding only at their end.
 * - `full` level (`spladex verify`): additionally, external ids are unique, every block lists
 *   ascending documents that really contain the block's term, no document appears twice in a
 *   list, every summary entry covers the largest value of its term in the block (code × scale ≥
 *   value), summary terms come from the block's documents, a lossless build summarises every
 *   term, and an unpruned build keeps every posting.
 *
 * The first violation is thrown as `E_CORRUPT` naming the file, the part and the entry.
 */
import { SpladexError } from '../errors.js';
import { NO_NEIGHBOUR } from './knn.js';
import { segmentNeighbors, type Segment } from './segment.js';

export type SegmentCheckLevel = 'load' | 'full';

function fail(file: string, part: string, entry: number, message: string): SpladexError {
  return new SpladexError('E_CORRUPT', `part "${part}" entry ${entry}: ${message}; the segment is inconsistent, rebuild the index`, { file });
}

function checkOffsets(offsets: Uint32Array, file: string, part: string): void {
  if (offsets.length > 0 && offsets[0] !== 0) throw fail(file, part, 0, 'offsets must start at 0');
  for (let i = 1; i < offsets.length; i++) if (offsets[i] < offsets[i - 1]) throw fail(file, part, i, 'offsets decrease');
}

function checkBelow(values: ArrayLike<number>, limit: number, file: string, part: string, what: string): void {
  for (let i = 0; i < values.length; i++) if (values[i] >= limit) throw fail(file, part, i, `${what} ${values[i]} is not below ${limit}`);
}

export function checkSegment(segment: Segment, file: string, level: SegmentCheckLevel = 'load'): void {
  const { meta, forward: f, inverted: inv } = segment;
  const { nDocs, nTerms } = meta;

  // ---- Load level.
  if (segment.termIds.size !== nTerms) {
    const seen = new Set<string>();
    const at = segment.vocabulary.findIndex((token) => seen.size === seen.add(token).size);
    throw fail(file, 'vocab.txt', at, `token ${JSON.stringify(segment.vocabulary[at])} appears twice in the vocabulary`);
  }
  checkOffsets(f.offsets, file, 'fwd.offsets');
  checkBelow(f.terms, nTerms, file, 'fwd.terms', 'term id');
  if (f.valueType === 'f32') {
    const values = f.values as Float32Array;
    for (let i = 0; i < values.length; i++) if (!(values[i] >= 0 && values[i] < Infinity)) throw fail(file, 'fwd.values', i, `weight ${values[i]} is not finite and non-negative`);
  } else if (f.valueType === 'f16') {
    const values = f.values as Uint16Array;
    // Sign bit set (negative) or exponent all ones (infinity, NaN).
    for (let i = 0; i < values.length; i++) if ((values[i] & 0x8000) !== 0 || (values[i] & 0x7c00) === 0x7c00) throw fail(file, 'fwd.values', i, 'half-precision weight is negative or not finite');
  } else {
    for (let i = 0; i < f.codebook.length; i++) if (!(f.codebook[i] >= 0 && f.codebook[i] < Infinity)) throw fail(file, 'fwd.codebook', i, `level ${f.codebook[i]} is not finite and non-negative`);
  }
  checkOffsets(inv.listBlockOffsets, file, 'inv.listBlocks');
  checkOffsets(inv.blockPostingOffsets, file, 'inv.blockPosts');
  checkBelow(inv.postingDocs, nDocs, file, 'inv.docs', 'document id');
  checkOffsets(inv.summaryOffsets, file, 'inv.sumOffsets');
  checkBelow(inv.summaryTerms, nTerms, file, 'inv.sumTerms', 'term id');
  for (let b = 0; b < inv.blockScales.length; b++) {
    const scale = inv.blockScales[b];
    if (!(scale >= 0 && scale < Infinity)) throw fail(file, 'inv.scales', b, `block scale ${scale} is not finite and non-negative`);
  }
  const kappa = segmentNeighbors(segment);
  for (let d = 0; d < (kappa === 0 ? 0 : nDocs); d++) {
    let padded = false;
    for (let e = d * kappa; e < (d + 1) * kappa; e++) {
      const x = segment.neighbors[e];
      if (x === NO_NEIGHBOUR) padded = true;
      else if (padded || x >= nDocs || x === d) throw fail(file, 'knn.neighbors', e, `neighbour ${x} of document ${d} is ${padded ? 'after the padding' : x === d ? 'the document itself' : 'out of range'}`);
    }
  }
  if (level === 'load') return;

  // ---- Full level.
  const ids = new Set<string>();
  segment.docIds.forEach((id, d) => {
    if (ids.size === ids.add(id).size) throw fail(file, 'ids.txt', d, `document id ${JSON.stringify(id)} appears twice`);
  });
  const decode = (j: number): number => (f.valueType === 'f32' ? (f.values as Float32Array)[j] : f.codebook[f.values[j]]);
  const build = meta.build;
  const lossless = build.summaryEnergy === 1 && build.maxSummaryTerms === 0;
  const unpruned = build.pruning === 'none' && (meta.layout ?? 'blocked') === 'blocked';
  const df = new Uint32Array(nTerms);
  for (let j = 0; j < f.terms.length; j++) df[f.terms[j]]++;

  const maxValue = new Float32Array(nTerms);
  const present = new Uint32Array(nTerms); // block id + 1 when the term occurs in the current block
  const touched = new Uint32Array(nTerms);
  const inSummary = new Uint32Array(nTerms); // block id + 1 when the term is in the current block's summary
  const listOfDoc = new Uint32Array(nDocs); // term id + 1 of the last list a document was seen in
  for (let t = 0; t < nTerms; t++) {
    let kept = 0;
    for (let b = inv.listBlockOffsets[t]; b < inv.listBlockOffsets[t + 1]; b++) {
      const start = inv.blockPostingOffsets[b];
      const end = inv.blockPostingOffsets[b + 1];
      if (end === start) throw fail(file, 'inv.blockPosts', b, 'empty block');
      kept += end - start;
      let nUnion = 0;
      for (let p = start; p < end; p++) {
        const d = inv.postingDocs[p];
        if (p > start && d <= inv.postingDocs[p - 1]) throw fail(file, 'inv.docs', p, `documents of block ${b} are not strictly ascending`);
        if (listOfDoc[d] === t + 1) throw fail(file, 'inv.docs', p, `document ${d} appears twice in the list of term ${t}`);
        listOfDoc[d] = t + 1;
        let hasTerm = false;
        for (let j = f.offsets[d]; j < f.offsets[d + 1]; j++) {
          const u = f.terms[j];
          const v = decode(j);
          if (u === t) hasTerm = true;
          if (present[u] !== b + 1) {
            present[u] = b + 1;
            touched[nUnion++] = u;
            maxValue[u] = v;
          } else if (v > maxValue[u]) {
            maxValue[u] = v;
          }
        }
        if (!hasTerm) throw fail(file, 'inv.docs', p, `document ${d} is in the list of term ${t} but does not contain it`);
      }
      const scale = inv.blockScales[b];
      const first = inv.summaryOffsets[b];
      const last = inv.summaryOffsets[b + 1];
      if (last > first && !(scale > 0)) throw fail(file, 'inv.scales', b, 'a block with a summary needs a positive scale');
      for (let e = first; e < last; e++) {
        const u = inv.summaryTerms[e];
        const code = inv.summaryCodes[e];
        if (inSummary[u] === b + 1) throw fail(file, 'inv.sumTerms', e, `term ${u} appears twice in the summary of block ${b}`);
        inSummary[u] = b + 1;
        if (present[u] !== b + 1) throw fail(file, 'inv.sumTerms', e, `summary term ${u} of block ${b} occurs in none of its documents`);
        if (code === 0 || code * scale < maxValue[u]) throw fail(file, 'inv.sumCodes', e, `summary of block ${b} underestimates term ${u} (${code} × ${scale} < ${maxValue[u]})`);
      }
      if (lossless) {
        for (let i = 0; i < nUnion; i++) {
          const u = touched[i];
          if (maxValue[u] > 0 && inSummary[u] !== b + 1) throw fail(file, 'inv.sumOffsets', b, `lossless summary of block ${b} misses term ${u} of its documents`);
        }
      }
    }
    if (unpruned && kept !== df[t]) throw fail(file, 'inv.listBlocks', t, `unpruned list of term ${t} keeps ${kept} of its ${df[t]} postings`);
  }
}
