/**
 * The blocked, summarised inverted index of one segment, and its (optionally parallel) build.
 *
 * Layout (all flat typed arrays; `t` = term id, `b` = global block id):
 *   listBlockOffsets[t] .. [t+1]        blocks of list t
 *   blockPostingOffsets[b] .. [b+1]     its documents in postingDocs (ascending ids)
 *   blockScales[b]                       dequantization step of block b's summary codes
 *   summaryOffsets[b] .. [b+1]          block b's summary: summaryTerms (term ids) and summaryCodes
 *                                        (8-bit values; value ≈ code × blockScales[b], rounded up)
 */
import { compiledWorker, runWorker } from '../util/worker.js';
import { buildInvertedPart, type BlockBuildInput, type InvertedPart } from './blocks.js';
import type { TermIdArray } from './forward.js';

export interface InvertedIndex {
  listBlockOffsets: Uint32Array;
  blockPostingOffsets: Uint32Array;
  postingDocs: Uint32Array;
  blockScales: Float32Array;
  summaryOffsets: Uint32Array;
  summaryTerms: TermIdArray;
  summaryCodes: Uint8Array;
}

export function invertedBytes(inverted: InvertedIndex): number {
  let total = 0;
  for (const array of Object.values(inverted) as ArrayBufferView[]) total += array.byteLength;
  return total;
}

function prefixSums(counts: Uint32Array[], total: number): Uint32Array {
  const out = new Uint32Array(total + 1);
  let i = 0;
  for (const part of counts) for (let j = 0; j < part.length; j++, i++) out[i + 1] = out[i] + part[j];
  return out;
}

function concat<T extends Uint32Array | Float32Array | Uint8Array>(arrays: T[], make: (n: number) => T): T {
  let total = 0;
  for (const a of arrays) total += a.length;
  const out = make(total);
  let at = 0;
  for (const a of arrays) {
    out.set(a as never, at);
    at += a.length;
  }
  return out;
}

/** Concatenates parts built on consecutive term ranges into one index, narrowing id arrays. */
export function mergeParts(parts: InvertedPart[], nTerms: number): InvertedIndex {
  parts.sort((a, b) => a.termStart - b.termStart);
  const blockSizes = parts.map((p) => p.blockSizes);
  const nBlocks = blockSizes.reduce((n, a) => n + a.length, 0);
  const summaryTerms = concat(parts.map((p) => p.summaryTerms), (n) => new Uint32Array(n));
  return {
    listBlockOffsets: prefixSums(parts.map((p) => p.listBlockCounts), nTerms),
    blockPostingOffsets: prefixSums(blockSizes, nBlocks),
    postingDocs: concat(parts.map((p) => p.postingDocs), (n) => new Uint32Array(n)),
    blockScales: concat(parts.map((p) => p.blockScales), (n) => new Float32Array(n)),
    summaryOffsets: prefixSums(parts.map((p) => p.summarySizes), nBlocks),
    summaryTerms: nTerms <= 65536 ? Uint16Array.from(summaryTerms) : summaryTerms,
    summaryCodes: concat(parts.map((p) => p.summaryCodes), (n) => new Uint8Array(n)),
  };
}

/** Splits [0, nTerms) into `n` consecutive ranges of roughly equal posting counts. */
function splitTermRanges(listOffsets: Uint32Array, nTerms: number, n: number): Array<[number, number]> {
  const total = listOffsets[nTerms];
  const ranges: Array<[number, number]> = [];
  let start = 0;
  for (let i = 1; i <= n && start < nTerms; i++) {
    const goal = (total * i) / n;
    let end = start;
    while (end < nTerms && (listOffsets[end] < goal || end === start)) end++;
    if (i === n) end = nTerms;
    ranges.push([start, end]);
    start = end;
  }
  if (ranges.length === 0) ranges.push([0, nTerms]);
  return ranges;
}

const workerPath = compiledWorker(import.meta.url, './build-worker.js');

/** Builds all lists, using `threads − 1` worker threads beside the calling thread when possible. */
export async function buildInverted(input: BlockBuildInput, threads: number): Promise<InvertedIndex> {
  const ranges = splitTermRanges(input.lists.offsets, input.nTerms, threads);
  if (ranges.length === 1 || workerPath === undefined) {
    return mergeParts([buildInvertedPart(input, 0, input.nTerms)], input.nTerms);
  }
  const pending = ranges.slice(1).map(([start, end]) => runWorker<InvertedPart>(workerPath, { input, termStart: start, termEnd: end }, 'build worker'));
  const own = buildInvertedPart(input, ranges[0][0], ranges[0][1]);
  const parts = [own, ...(await Promise.all(pending))];
  return mergeParts(parts, input.nTerms);
}
