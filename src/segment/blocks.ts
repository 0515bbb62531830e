/**
 * Blocking and block summaries for a range of posting lists (Seismic, SIGIR 2024, §4.2–4.3).
 *
 * Each pruned list is split into geometrically cohesive blocks by a shallow one-pass k-means
 * (random centroids drawn from the list, each document joins the centroid with the highest dot
 * product computed on the document's top terms), and every block gets a summary: the per-term
 * maximum over its documents, trimmed to `summaryEnergy` of its L1 mass and quantized to 8 bits.
 *
 * Summaries are stored forward (per block: term ids and 8-bit codes, 3 bytes an entry with a
 * BERT vocabulary). The reference implementation stores them inverted per list, which pays off
 * for long summaries but costs an offset per (list, term) pair; with the short summaries that
 * keep the index within 1.5× the forward index, the forward layout is several times smaller and
 * bounding a list's blocks costs only a few thousand dense-array lookups.
 *
 * A document is in every list of its terms, so no per-list step may read a whole long document
 * (long-docs.ts): a long centroid enters the mini index through lookups of the terms the list's
 * documents query, and block summaries read long members heaviest term first (summaries.ts).
 * Each document then costs the build time linear in its length.
 *
 * The function works on a contiguous range of terms and only reads shared inputs, so build
 * workers can run it on disjoint ranges in parallel; outputs are concatenated in term order.
 */
import { GrowableFloat32Array, GrowableUint32Array, GrowableUint8Array } from '../util/growable.js';
import { rngFor } from '../util/rng.js';
import type { TermIdArray } from './forward.js';
import { longDocuments, longPosition, type LongDocuments } from './long-docs.js';
import type { ResolvedBuildOptions } from './options.js';
import type { PostingLists, TopTerms } from './pruning.js';
import { SummaryBuilder } from './summaries.js';

export interface BlockBuildInput {
  nTerms: number;
  forwardOffsets: Uint32Array;
  forwardTerms: TermIdArray;
  /** Decoded forward values (what scoring sees), so summaries bound real scores. */
  decoded: Float32Array;
  lists: PostingLists;
  /** Required for k-means blocking. */
  top?: TopTerms;
  options: ResolvedBuildOptions;
  /** Lookups of the long documents (long-docs.ts); built here when absent. Built once per segment by `indexForward`. */
  long?: LongDocuments;
}

/** Blocks and summaries of the lists [termStart, termEnd), with counts instead of offsets. */
export interface InvertedPart {
  termStart: number;
  termEnd: number;
  listBlockCounts: Uint32Array;
  blockSizes: Uint32Array;
  postingDocs: Uint32Array;
  blockScales: Float32Array;
  /** Summary entries per block. */
  summarySizes: Uint32Array;
  summaryTerms: Uint32Array;
  summaryCodes: Uint8Array;
}

export function buildInvertedPart(input: BlockBuildInput, termStart: number, termEnd: number): InvertedPart {
  const { nTerms, forwardOffsets, forwardTerms, decoded, lists, top, options } = input;
  const kmeans = options.blocking === 'kmeans';
  const long = input.long ?? longDocuments(nTerms, forwardOffsets, forwardTerms, decoded);

  let maxList = 0;
  for (let t = termStart; t < termEnd; t++) maxList = Math.max(maxList, lists.offsets[t + 1] - lists.offsets[t]);
  const maxCentroids = Math.max(1, Math.floor(options.centroidFraction * maxList));

  // Scratch, allocated once for the whole range.
  const ordered = new Uint32Array(maxList);
  const assignment = new Uint32Array(maxList);
  const permutation = new Uint32Array(maxList);
  const centroidDocs = new Uint32Array(maxCentroids);
  const centroidScores = new Float64Array(maxCentroids);
  // A centroid whose products so far are all zero (zero-valued postings) is pushed again by its next
  // term, so a document can push up to one entry per (top term, centroid): sized for that, since a
  // typed array silently drops writes past its end (the duplicates themselves are harmless).
  const touchedCentroids = new Uint32Array(maxCentroids * options.kmeansDocCut);
  const clusterCounts = new Uint32Array(maxCentroids + 1);
  const blockBounds = new GrowableUint32Array();
  const miniStart = new Uint32Array(nTerms);
  const miniEnd = new Uint32Array(nTerms);
  const miniTouched = new GrowableUint32Array();
  const miniCentroid = new GrowableUint32Array();
  const miniValue = new GrowableFloat32Array();
  // Terms the current list's documents look up (their top terms and the list's own term), for long centroids.
  const queryMark = new Uint8Array(long.docs.length > 0 ? nTerms : 0);
  const queryTerms = new GrowableUint32Array();
  const summaries = new SummaryBuilder({ nTerms, forwardOffsets, forwardTerms, decoded, long, summaryEnergy: options.summaryEnergy, maxSummaryTerms: options.maxSummaryTerms });

  // Outputs.
  const listBlockCounts = new Uint32Array(termEnd - termStart);
  const blockSizes = new GrowableUint32Array();
  const postingDocs = new GrowableUint32Array(lists.offsets[termEnd] - lists.offsets[termStart] + 16);
  const blockScales = new GrowableFloat32Array();
  const summarySizes = new GrowableUint32Array();
  const summaryTerms = new GrowableUint32Array();
  const summaryCodes = new GrowableUint8Array();
  const summaryOutput = { blockScales, summarySizes, summaryTerms, summaryCodes };

  for (let t = termStart; t < termEnd; t++) {
    const listStart = lists.offsets[t];
    const length = lists.offsets[t + 1] - listStart;
    if (length === 0) continue;
    const docs = lists.docs.subarray(listStart, listStart + length);

    // ---- Blocking: fill `ordered` with the list's documents grouped by block, `blockBounds` with boundaries.
    blockBounds.length = 0;
    blockBounds.push(0);
    const nCentroids = kmeans ? Math.max(1, Math.floor(options.centroidFraction * length)) : 0;
    if (!kmeans || nCentroids === 1) {
      ordered.set(docs);
      const size = kmeans ? length : options.blockSize;
      for (let end = size; end < length; end += size) blockBounds.push(end);
      blockBounds.push(length);
    } else {
      const rng = rngFor(options.seed, t);
      for (let i = 0; i < length; i++) permutation[i] = i;
      for (let i = 0; i < nCentroids; i++) {
        const j = i + rng.int(length - i);
        const swap = permutation[i];
        permutation[i] = permutation[j];
        permutation[j] = swap;
        centroidDocs[i] = docs[permutation[i]];
      }
      const topOffsets = top!.offsets;
      const topTerms = top!.terms;
      const topValues = top!.values;
      // Mini inverted index over the centroids' full vectors. Only the terms the list's documents
      // look up are ever read (their top terms, and this list's term for the fallback), so a long
      // centroid contributes just those, found through the long-document lookups: reading its
      // whole vector in each list where it is drawn would cost n² over the build. Every term's
      // entries still come in centroid order, so the index reads exactly as if built in full.
      let longCentroids = false;
      for (let c = 0; c < nCentroids && !longCentroids; c++) longCentroids = forwardOffsets[centroidDocs[c] + 1] - forwardOffsets[centroidDocs[c]] >= long.minTerms;
      queryTerms.length = 0;
      if (longCentroids) {
        queryMark[t] = 1;
        queryTerms.push(t);
        for (let p = 0; p < length; p++) {
          const d = docs[p];
          for (let j = topOffsets[d]; j < topOffsets[d + 1]; j++) {
            const u = topTerms[j];
            if (queryMark[u] === 0) {
              queryMark[u] = 1;
              queryTerms.push(u);
            }
          }
        }
      }
      const queryView = queryTerms.view();
      miniTouched.length = 0;
      miniCentroid.length = 0;
      miniValue.length = 0;
      for (let c = 0; c < nCentroids; c++) {
        const d = centroidDocs[c];
        if (forwardOffsets[d + 1] - forwardOffsets[d] >= long.minTerms) {
          for (let i = 0; i < queryView.length; i++) {
            const u = queryView[i];
            if (longPosition(long, d, u) >= 0 && miniEnd[u]++ === 0) miniTouched.push(u);
          }
          continue;
        }
        for (let j = forwardOffsets[d]; j < forwardOffsets[d + 1]; j++) {
          const u = forwardTerms[j];
          if (miniEnd[u]++ === 0) miniTouched.push(u);
        }
      }
      const touchedView = miniTouched.view();
      let position = 0;
      for (let i = 0; i < touchedView.length; i++) {
        const u = touchedView[i];
        const count = miniEnd[u];
        miniStart[u] = position;
        miniEnd[u] = position;
        position += count;
      }
      const centroidOf = miniCentroid.reserve(position);
      const valueOf = miniValue.reserve(position);
      miniCentroid.length = position;
      miniValue.length = position;
      for (let c = 0; c < nCentroids; c++) {
        const d = centroidDocs[c];
        if (forwardOffsets[d + 1] - forwardOffsets[d] >= long.minTerms) {
          for (let i = 0; i < queryView.length; i++) {
            const u = queryView[i];
            const j = longPosition(long, d, u);
            if (j < 0) continue;
            const slot = miniEnd[u]++;
            centroidOf[slot] = c;
            valueOf[slot] = decoded[j];
          }
          continue;
        }
        for (let j = forwardOffsets[d]; j < forwardOffsets[d + 1]; j++) {
          const slot = miniEnd[forwardTerms[j]]++;
          centroidOf[slot] = c;
          valueOf[slot] = decoded[j];
        }
      }
      for (let i = 0; i < queryView.length; i++) queryMark[queryView[i]] = 0;
      // A document whose top terms meet no centroid joins the centroid heaviest on this list's term.
      let fallback = 0;
      let fallbackValue = -1;
      for (let e = miniStart[t]; e < miniEnd[t]; e++) {
        if (valueOf[e] > fallbackValue) {
          fallbackValue = valueOf[e];
          fallback = centroidOf[e];
        }
      }
      clusterCounts.fill(0, 0, nCentroids + 1);
      for (let p = 0; p < length; p++) {
        const d = docs[p];
        let nTouched = 0;
        for (let j = topOffsets[d]; j < topOffsets[d + 1]; j++) {
          const u = topTerms[j];
          const w = topValues[j];
          for (let e = miniStart[u]; e < miniEnd[u]; e++) {
            const c = centroidOf[e];
            if (centroidScores[c] === 0) touchedCentroids[nTouched++] = c;
            centroidScores[c] += w * valueOf[e];
          }
        }
        let best = fallback;
        let bestScore = -1;
        for (let i = 0; i < nTouched; i++) {
          const c = touchedCentroids[i];
          const s = centroidScores[c];
          if (s > bestScore || (s === bestScore && c < best)) {
            bestScore = s;
            best = c;
          }
          centroidScores[c] = 0;
        }
        assignment[p] = best;
        clusterCounts[best + 1]++;
      }
      for (let i = 0; i < touchedView.length; i++) {
        const u = touchedView[i];
        miniStart[u] = 0;
        miniEnd[u] = 0;
      }
      // Counting sort by centroid keeps documents ascending inside each block.
      for (let c = 0; c < nCentroids; c++) {
        clusterCounts[c + 1] += clusterCounts[c];
        if (clusterCounts[c + 1] > clusterCounts[c]) blockBounds.push(clusterCounts[c + 1]);
      }
      for (let p = 0; p < length; p++) ordered[clusterCounts[assignment[p]]++] = docs[p];
    }

    // ---- Summaries (summaries.ts): per block, per-term max, energy trim, 8-bit quantization.
    const bounds = blockBounds.view();
    const nBlocks = bounds.length - 1;
    for (let b = 0; b < nBlocks; b++) {
      for (let p = bounds[b]; p < bounds[b + 1]; p++) postingDocs.push(ordered[p]);
      summaries.add(ordered, bounds[b], bounds[b + 1], summaryOutput);
      blockSizes.push(bounds[b + 1] - bounds[b]);
    }
    listBlockCounts[t - termStart] = nBlocks;

  }

  return {
    termStart,
    termEnd,
    listBlockCounts,
    blockSizes: blockSizes.toTrimmed(),
    postingDocs: postingDocs.toTrimmed(),
    blockScales: blockScales.toTrimmed(),
    summarySizes: summarySizes.toTrimmed(),
    summaryTerms: summaryTerms.toTrimmed(),
    summaryCodes: summaryCodes.toTrimmed(),
  };
}
