/**
 * κ-NN graph over the documents of a segment (Seismic, CIKM 2024: "Pairing Clustered Inverted
 * Indexes with κ-NN Graphs for Fast Approximate Retrieval over Learned Sparse Representations").
 *
 * Why: the block-pruned search spends most of its time scoring candidates, and most of its recall
 * loss is a true neighbour sitting in a block that was skipped. Each good result's own nearest
 * neighbours are very likely results too, so after the block search the searcher also scores the
 * stored neighbours of its top k (see `SegmentSearcher.searchApproximate`). That second round costs at
 * most k × κ candidates and buys back the recall of a harder cut (smaller `queryCut`, higher
 * `heapFactor`), which removes far more candidates than it adds.
 *
 * How it is built: an exact κ-NN graph needs a full search per document. Like the reference, we
 * use the index itself, but more cheaply: a document's candidate neighbours are the members of the
 * blocks it belongs to (blocks are geometrically cohesive clusters of the posting lists), taken
 * from the blocks of its heaviest terms first until `KNN_CANDIDATE_BUDGET` documents have been
 * scored exactly (inner product on the decoded forward values, what search sees). Every document is
 * computed independently, so workers split the documents and the result does not depend on the
 * thread count.
 *
 * Long documents (long-docs.ts) would cost the build their length squared twice: a document with n
 * terms is in up to n blocks (ordering them by insertion is n²), and it is a candidate of the
 * co-members of all those blocks (reading it whole for each is n × co-members). So memberships
 * beyond a few dozen are ordered by a comparison sort, and a candidate much longer than the
 * scoring document is scored through lookups of the document's terms. Both give exactly the
 * result of the plain loops (same order, same float sums).
 *
 * Layout (one `Uint32Array`, part `knn.neighbors` of the segment file): row d holds d's κ
 * neighbours, best first (ties: lower id), padded with `NO_NEIGHBOUR` when d has fewer candidates.
 */
import { TopK } from '../util/topk.js';
import { compiledWorker, runWorker } from '../util/worker.js';
import type { TermIdArray } from './forward.js';
import { longDocuments, longPosition, type LongDocuments } from './long-docs.js';

/** Padding of a neighbour row. */
export const NO_NEIGHBOUR = 0xffffffff;

/**
 * Candidates scored per document while building the graph. 200 keeps the build at ~1.5 minutes per
 * million documents on 2 threads; scoring every co-member (~550 per document at the default
 * pruning) took 2.3× longer for recall within 0.005 of it (docs/PERFORMANCE.md).
 */
export const KNN_CANDIDATE_BUDGET = 200;

export interface KnnBuildInput {
  nDocs: number;
  nTerms: number;
  forwardOffsets: Uint32Array;
  forwardTerms: TermIdArray;
  /** Decoded forward values (what scoring sees). */
  decoded: Float32Array;
  listBlockOffsets: Uint32Array;
  blockPostingOffsets: Uint32Array;
  postingDocs: Uint32Array;
  /** Document → blocks containing it (CSR over `memberBlocks`), see `documentBlocks`. */
  memberOffsets: Uint32Array;
  memberBlocks: Uint32Array;
  /** κ: neighbours kept per document. */
  neighbors: number;
  /** Lookups of the long documents (long-docs.ts); built here when absent. */
  long?: LongDocuments;
}

/**
 * A long candidate is scored through the lookups of the scoring document's terms when it is at
 * least this many times longer than that document; otherwise by reading it whole.
 */
const LOOKUP_RATIO = 8;

/**
 * Above this many memberships a document's blocks are ordered by a comparison sort instead of
 * insertion (n²/4 moves, but no call per comparison: faster for the few dozen blocks of an ordinary document).
 */
const INSERTION_SORT_MAX = 256;

/** The first `to` of each row of `from` neighbours (rows are best first, so this is the κ = `to` graph). */
export function truncateNeighbors(rows: Uint32Array, from: number, to: number): Uint32Array {
  if (to > from) throw new RangeError(`cannot widen a κ-NN graph from ${from} to ${to}`);
  if (to === from || rows.length === 0) return rows;
  const nDocs = rows.length / from;
  const out = new Uint32Array(nDocs * to);
  for (let d = 0; d < nDocs; d++) out.set(rows.subarray(d * from, d * from + to), d * to);
  return out;
}

/** Inverts block membership: for each document, the blocks whose postings include it. */
export function documentBlocks(nDocs: number, blockPostingOffsets: Uint32Array, postingDocs: Uint32Array, shared = false): { memberOffsets: Uint32Array; memberBlocks: Uint32Array } {
  const alloc = (n: number): Uint32Array => (shared ? new Uint32Array(new SharedArrayBuffer(n * 4)) : new Uint32Array(n));
  const memberOffsets = alloc(nDocs + 1);
  for (let p = 0; p < postingDocs.length; p++) memberOffsets[postingDocs[p] + 1]++;
  for (let d = 0; d < nDocs; d++) memberOffsets[d + 1] += memberOffsets[d];
  const memberBlocks = alloc(postingDocs.length);
  const fill = memberOffsets.slice(0, nDocs);
  const nBlocks = blockPostingOffsets.length - 1;
  for (let b = 0; b < nBlocks; b++) {
    for (let p = blockPostingOffsets[b], end = blockPostingOffsets[b + 1]; p < end; p++) memberBlocks[fill[postingDocs[p]]++] = b;
  }
  return { memberOffsets, memberBlocks };
}

/** Neighbour rows of documents [docStart, docEnd). */
export function buildKnnPart(input: KnnBuildInput, docStart: number, docEnd: number): Uint32Array {
  const { nTerms, forwardOffsets, forwardTerms, decoded, listBlockOffsets, blockPostingOffsets, postingDocs, memberOffsets, memberBlocks, neighbors } = input;
  const long = input.long ?? longDocuments(nTerms, forwardOffsets, forwardTerms, decoded);
  const out = new Uint32Array((docEnd - docStart) * neighbors).fill(NO_NEIGHBOUR);
  const nBlocks = blockPostingOffsets.length - 1;
  // Block → the term whose list it belongs to.
  const blockTerm = new Uint32Array(nBlocks);
  for (let t = 0; t < nTerms; t++) for (let b = listBlockOffsets[t]; b < listBlockOffsets[t + 1]; b++) blockTerm[b] = t;
  let maxMemberships = 0;
  let maxLength = 0;
  for (let d = docStart; d < docEnd; d++) {
    maxMemberships = Math.max(maxMemberships, memberOffsets[d + 1] - memberOffsets[d]);
    maxLength = Math.max(maxLength, forwardOffsets[d + 1] - forwardOffsets[d]);
  }
  const blocks = new Uint32Array(maxMemberships);
  // Forward positions of a long candidate's terms that the scoring document shares (lookup scoring).
  const shared = new Uint32Array(long.docs.length > 0 ? maxLength : 0);
  const longFrom = long.docs.length > 0 ? long.minTerms : Infinity;
  const dense = new Float32Array(nTerms);
  // Heaviest term of the document first; ties keep block order (what the insertion sort does).
  const heavierFirst = (a: number, b: number): number => dense[blockTerm[b]] - dense[blockTerm[a]] || a - b;
  // Stamp of the last document that scored each candidate (−1: none), so no reset per document.
  const stamp = new Int32Array(input.nDocs).fill(-1);
  const heap = new TopK(neighbors);

  for (let d = docStart; d < docEnd; d++) {
    const start = forwardOffsets[d];
    const end = forwardOffsets[d + 1];
    for (let j = start; j < end; j++) dense[forwardTerms[j]] = decoded[j];
    // d's blocks, heaviest term of d first (insertion sort: a document is in ~10–50 blocks; a long
    // document is in up to one block per term, where insertion would cost n²). memberBlocks lists
    // them in ascending block order, so both sorts give the same order.
    const nMember = memberOffsets[d + 1] - memberOffsets[d];
    if (nMember > INSERTION_SORT_MAX) {
      blocks.set(memberBlocks.subarray(memberOffsets[d], memberOffsets[d + 1]));
      blocks.subarray(0, nMember).sort(heavierFirst);
    } else {
      for (let i = 0; i < nMember; i++) {
        const block = memberBlocks[memberOffsets[d] + i];
        const weight = dense[blockTerm[block]];
        let at = i;
        while (at > 0 && dense[blockTerm[blocks[at - 1]]] < weight) {
          blocks[at] = blocks[at - 1];
          at--;
        }
        blocks[at] = block;
      }
    }
    heap.reset();
    stamp[d] = d;
    let scored = 0;
    for (let i = 0; i < nMember && scored < KNN_CANDIDATE_BUDGET; i++) {
      const block = blocks[i];
      for (let p = blockPostingOffsets[block], pEnd = blockPostingOffsets[block + 1]; p < pEnd; p++) {
        const x = postingDocs[p];
        if (stamp[x] === d) continue;
        stamp[x] = d;
        scored++;
        let score = 0;
        const xStart = forwardOffsets[x];
        const xEnd = forwardOffsets[x + 1];
        if (xEnd - xStart >= longFrom && (end - start) * LOOKUP_RATIO < xEnd - xStart) {
          // A long candidate is in the blocks of many documents: reading it whole for each would cost
          // its length squared. Only the terms it shares with d add to the sum (the others add +0),
          // so look d's terms up and add the products in x's forward order: the same float sum.
          let nShared = 0;
          for (let j = start; j < end; j++) {
            const position = longPosition(long, x, forwardTerms[j]);
            if (position >= 0) shared[nShared++] = position;
          }
          const positions = shared.subarray(0, nShared).sort();
          for (let k = 0; k < nShared; k++) score += dense[forwardTerms[positions[k]]] * decoded[positions[k]];
        } else {
          for (let j = xStart; j < xEnd; j++) score += dense[forwardTerms[j]] * decoded[j];
        }
        if (score > 0) heap.push(score, x);
      }
    }
    for (let j = start; j < end; j++) dense[forwardTerms[j]] = 0;
    // Best first; TopK's order is total (score, then lower id), so rows are deterministic.
    const row = (d - docStart) * neighbors;
    const sorted = heap.sorted();
    for (let i = 0; i < sorted.length; i++) out[row + i] = sorted[i].key;
  }
  return out;
}

const workerPath = compiledWorker(import.meta.url, './knn-worker.js');

/**
 * Builds the whole graph, splitting the documents over `threads` (the calling thread plus
 * `threads − 1` workers). `input`'s arrays should be SharedArrayBuffer-backed so workers share
 * them instead of copying.
 */
export async function buildKnnGraph(input: KnnBuildInput, threads: number): Promise<Uint32Array> {
  const n = input.nDocs;
  // Below ~5,000 documents per thread a worker costs more to start than it saves.
  const parts = Math.max(1, Math.min(threads, Math.floor(n / 5_000)));
  if (parts === 1 || workerPath === undefined) return buildKnnPart(input, 0, n);
  const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * n) / parts));
  const pending = bounds.slice(1, -1).map((docStart, i) => runWorker<Uint32Array>(workerPath, { input, docStart, docEnd: bounds[i + 2] }, 'knn build worker'));
  const own = buildKnnPart(input, 0, bounds[1]);
  const rows = [own, ...(await Promise.all(pending))];
  const graph = new Uint32Array(n * input.neighbors);
  let at = 0;
  for (const part of rows) {
    graph.set(part, at);
    at += part.length;
  }
  return graph;
}
