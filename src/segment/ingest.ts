/**
 * Segment build pipeline: ingest → static pruning → blocking & summaries → segment.
 * Documents stream through once; only flat arrays survive ingestion.
 *
 * Two entry points share the indexing half of the pipeline (`indexForward`):
 * - `buildSegment` ingests a document stream (index, add) and stores each accepted document's
 *   row in the document store;
 * - `mergeForward` concatenates the live documents of existing segments (compaction), decoding
 *   their stored values exactly and remapping each segment's own vocabulary.
 *
 * A segment is either `blocked` (Seismic: pruned, blocked, summarised inverted index) or `flat`
 * (forward index only, searched exhaustively): small segments from incremental adds are flat,
 * because scoring a few thousand documents exactly is as fast as a pruned search and exact.
 */
import { SpladexError } from '../errors.js';
import { checkStorableString, validateDocumentInput, type ParsedDocument, type SkippedLine, type ValidDocument } from '../io/documents.js';
import type { DocumentInput } from '../types.js';
import { decodeValuesInto, encodeValues, ForwardBuilder, termIdArray, type ForwardIndex } from './forward.js';
import { buildInverted, type InvertedIndex } from './inverted.js';
import { buildKnnGraph, documentBlocks, truncateNeighbors, type KnnBuildInput } from './knn.js';
import { longDocuments, type LongDocuments } from './long-docs.js';
import type { ResolvedBuildOptions } from './options.js';
import { buildPrunedLists, topTermsPerDocument } from './pruning.js';
import type { Segment, SegmentLayout } from './segment.js';
import { makeTermIndex } from './segment.js';

/**
 * Phases of a build, in order: `statistics` (first pass over a text corpus, for encoders that need
 * corpus statistics), `ingest` (documents read — and encoded, for text — into the forward index),
 * `posting-pruning` (FLOPS budget and per-document cuts, when asked for), `calibrate` (recall
 * calibration: exact results of the calibration queries, the choice of pruning; and again after
 * the graph, the frontier of query-time settings), `prune` (static pruning of posting lists),
 * `blocks` (blocking and summaries), `knn`, `write`.
 */
export type BuildPhase = 'statistics' | 'ingest' | 'posting-pruning' | 'calibrate' | 'prune' | 'blocks' | 'knn' | 'write';

export interface BuildProgress {
  phase: BuildPhase;
  /** Documents ingested so far. */
  documents: number;
  /** Postings ingested so far. */
  postings: number;
}

export interface IngestOptions {
  /** Skip invalid documents (duplicate ids, bad vectors) instead of failing. Default false. */
  skipInvalid?: boolean;
  /** Receives every skipped document when `skipInvalid` is set. */
  onSkip?: (skipped: SkippedLine) => void;
  /** Called every 10,000 documents and at each phase change. */
  onProgress?: (progress: BuildProgress) => void;
  /** Name of the input in error messages (a file path). Default `<documents>`. */
  sourceLabel?: string;
}

export interface SegmentBuildStats {
  documents: number;
  emptyDocuments: number;
  skipped: number;
  postings: number;
  keptPostings: number;
  blocks: number;
  summaryEntries: number;
  seconds: { ingest: number; prune: number; blocks: number; knn: number };
}

/** What a build consumes: documents from the library API, or lines already validated by `readDocuments`. */
export type DocumentSource = AsyncIterable<DocumentInput | ParsedDocument> | Iterable<DocumentInput | ParsedDocument>;
type Incoming = DocumentInput | ParsedDocument;

export interface SegmentHooks {
  /**
   * `blocked` (default) or `flat` (no inverted index; searched exhaustively), or a function of the
   * number of documents ingested, which is only known at the end of the stream.
   */
  layout?: SegmentLayout | ((documents: number) => SegmentLayout);
  /**
   * Called for every accepted document before its row is stored (add uses it to mark earlier
   * versions of the id deleted). May throw a `SpladexError` to reject the document.
   */
  onAccept?: (doc: ValidDocument, local: number) => void;
  /**
   * Transforms the finished forward index before the inverted index is built (index-time posting
   * pruning, see posting-pruning.ts). Called once, after ingestion.
   */
  prepare?: (input: ForwardInput) => ForwardInput;
  /**
   * Chooses the build options of this segment from its finished forward index (recall
   * calibration, src/writer/calibration.ts), after `prepare`. Default: the options given.
   */
  choose?: (input: ForwardInput, options: ResolvedBuildOptions) => Promise<ResolvedBuildOptions>;
  /**
   * Reconsiders the options once the segment built with `choose`'s exists (its κ-NN graph is what
   * calibration needs): other options rebuild the lists and blocks, keeping the graph's rows cut to
   * the new `knn` (which may not exceed the built one); undefined keeps the segment.
   */
  refine?: (segment: Segment, options: ResolvedBuildOptions) => ResolvedBuildOptions | undefined;
}

/** Deepest metadata nesting accepted; SQLite's JSON functions stop at 1,000 levels, and filters must never hit that. */
const MAX_METADATA_DEPTH = 64;

/**
 * The JSON text a document's metadata is stored as. Library callers can pass anything, so cycles,
 * BigInts, absurd nesting and strings UTF-8 cannot store (lone surrogates, in keys or values at any
 * depth) become typed errors here instead of crashes, filters that fail later, or rows whose
 * checksum no longer matches. This is the one walk over every document's metadata, whatever its source.
 */
function metadataText(doc: ValidDocument, where: { file: string; line: number }): string | null {
  if (doc.metadata === undefined) return null;
  // Iterative walk: recursion is what overflows on hostile input.
  const stack: Array<[object, number, string]> = [[doc.metadata, 1, 'metadata']];
  while (stack.length > 0) {
    const [value, depth, path] = stack.pop()!;
    if (depth > MAX_METADATA_DEPTH) throw new SpladexError('E_INPUT_LIMIT', `metadata is nested deeper than ${MAX_METADATA_DEPTH} levels`, where);
    const keys = Array.isArray(value) ? null : Object.keys(value);
    const n = keys === null ? (value as unknown[]).length : keys.length;
    for (let i = 0; i < n; i++) {
      const key = keys === null ? i : keys[i];
      // The helper only formats the message: the path is built for a string that fails, not per value.
      if (keys !== null && !keys[i].isWellFormed()) checkStorableString(keys[i], `key in ${path}`, where);
      const child = (value as Record<string | number, unknown>)[key];
      if (typeof child === 'string') {
        if (!child.isWellFormed()) checkStorableString(child, `value of ${memberPath(path, key)}`, where);
      } else if (child !== null && typeof child === 'object') stack.push([child, depth + 1, memberPath(path, key)]);
    }
    if (stack.length > 1_000_000) throw new SpladexError('E_INPUT_LIMIT', 'metadata has too many nested values', where);
  }
  try {
    return JSON.stringify(doc.metadata);
  } catch (cause) {
    throw new SpladexError('E_INPUT_JSON', `metadata cannot be stored as JSON (${(cause as Error).message})`, { ...where, cause });
  }
}

/** `metadata.a[2]` style path of a member, for messages. */
const memberPath = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : `${path}.${key}`);

/**
 * Where ingestion puts each accepted document's row (id, content, metadata JSON): the document
 * store (src/store/store.ts) in practice. An interface here, so the segment layer does not depend
 * on the storage layer above it.
 */
export interface DocumentRowSink {
  /** Runs `fn` in one transaction (rows go in batches). */
  transaction<T>(fn: () => T): T;
  insert(segment: number, local: number, id: string, content: string | null, metadata: string | null): void;
}

/** Builds one segment from a document stream, storing texts and metadata in `store`. */
export async function buildSegment(
  documents: DocumentSource,
  options: ResolvedBuildOptions,
  store: DocumentRowSink,
  segmentNumber: number,
  ingest: IngestOptions = {},
  hooks: SegmentHooks = {},
): Promise<{ segment: Segment; stats: SegmentBuildStats; build: ResolvedBuildOptions }> {
  const started = performance.now();
  const forward = new ForwardBuilder(options.forwardValues);
  const docIds: string[] = [];
  // Duplicates within this stream; ids already in the index are the caller's business (onAccept).
  const seen = new Set<string>();
  let emptyDocuments = 0;
  let skipped = 0;
  let ordinal = 0;
  const BATCH = 5000;
  let batch: Array<{ local: number; id: string; content: string | null; metadata: string | null }> = [];
  const flush = (): void => {
    if (batch.length === 0) return;
    const rows = batch;
    store.transaction(() => {
      for (const row of rows) store.insert(segmentNumber, row.local, row.id, row.content, row.metadata);
    });
    batch = [];
  };

  for await (const incoming of documents as AsyncIterable<Incoming>) {
    ordinal++;
    const parsed = incoming !== null && typeof incoming === 'object' && 'entries' in incoming ? (incoming as ParsedDocument) : undefined;
    const where = { file: ingest.sourceLabel ?? '<documents>', line: parsed?.line ?? ordinal };
    try {
      const doc = parsed ?? validateDocumentInput(incoming as DocumentInput, where);
      if (seen.has(doc.id)) {
        throw new SpladexError('E_INPUT_DUPLICATE_ID', `duplicate document id ${JSON.stringify(doc.id)}`, where);
      }
      const local = docIds.length;
      const metadata = metadataText(doc, where);
      forward.add(doc.entries, where);
      // After `add` nothing may reject the document any more: onAccept only fails fatally.
      hooks.onAccept?.(doc, local);
      seen.add(doc.id);
      if (doc.entries.tokens.length === 0) emptyDocuments++;
      docIds.push(doc.id);
      batch.push({ local, id: doc.id, content: doc.content ?? null, metadata });
      if (batch.length >= BATCH) flush();
      if (docIds.length % 10_000 === 0) ingest.onProgress?.({ phase: 'ingest', documents: docIds.length, postings: forward.nPostings });
    } catch (error) {
      if (!ingest.skipInvalid || !(error instanceof SpladexError) || error.code === 'E_IO' || error.code === 'E_CORRUPT' || error.code === 'E_LOCKED') throw error;
      skipped++;
      ingest.onSkip?.({ line: where.line, code: error.code, message: error.message });
    }
  }
  flush();
  const ingested = performance.now();

  const { forward: forwardIndex, decoded } = forward.finish();
  const layout = typeof hooks.layout === 'function' ? hooks.layout(docIds.length) : (hooks.layout ?? 'blocked');
  let input: ForwardInput = { forward: forwardIndex, decoded, vocabulary: forward.vocabulary, docIds };
  if (hooks.prepare !== undefined) {
    ingest.onProgress?.({ phase: 'posting-pruning', documents: docIds.length, postings: forwardIndex.terms.length });
    input = hooks.prepare(input);
  }
  let build = options;
  if (hooks.choose !== undefined && layout === 'blocked') {
    ingest.onProgress?.({ phase: 'calibrate', documents: docIds.length, postings: input.forward.terms.length });
    build = await hooks.choose(input, options);
  }
  let { segment, stats } = await indexForward(input, build, layout, ingest.onProgress);
  const refined = layout === 'blocked' ? hooks.refine?.(segment, build) : undefined;
  if (refined !== undefined) {
    const graph = truncateNeighbors(segment.neighbors, build.knn, refined.knn);
    const sameLists = (Object.keys(refined) as Array<keyof ResolvedBuildOptions>).every((key) => key === 'knn' || refined[key] === build[key]);
    if (sameLists) {
      segment.neighbors = graph;
      segment.meta.build.knn = refined.knn;
    } else {
      const first = stats.seconds;
      ({ segment, stats } = await indexForward(input, refined, layout, ingest.onProgress, graph));
      stats.seconds = { ingest: 0, prune: first.prune + stats.seconds.prune, blocks: first.blocks + stats.seconds.blocks, knn: first.knn + stats.seconds.knn };
    }
    build = refined;
  }
  return {
    segment,
    build,
    // Posting pruning can empty a document: count empty ones after it.
    stats: { ...stats, emptyDocuments: hooks.prepare === undefined ? emptyDocuments : stats.emptyDocuments, skipped, seconds: { ...stats.seconds, ingest: (ingested - started) / 1000 } },
  };
}

/** A finished forward index with everything a segment needs besides its inverted index. */
export interface ForwardInput {
  forward: ForwardIndex;
  /** Decoded values (what scoring sees), SharedArrayBuffer-backed for build workers. */
  decoded: Float32Array;
  vocabulary: string[];
  docIds: string[];
}

function emptyInverted(nTerms: number): InvertedIndex {
  return {
    listBlockOffsets: new Uint32Array(nTerms + 1),
    blockPostingOffsets: new Uint32Array(1),
    postingDocs: new Uint32Array(0),
    blockScales: new Float32Array(0),
    summaryOffsets: new Uint32Array(1),
    summaryTerms: nTerms <= 65536 ? new Uint16Array(0) : new Uint32Array(0),
    summaryCodes: new Uint8Array(0),
  };
}

/**
 * Pruning, blocking and summaries (blocked layout) over a finished forward index; `graph`: κ-NN
 * rows (`options.knn` per document) to keep instead of building them.
 */
export async function indexForward(
  input: ForwardInput,
  options: ResolvedBuildOptions,
  layout: SegmentLayout,
  onProgress?: (progress: BuildProgress) => void,
  graph?: Uint32Array,
): Promise<{ segment: Segment; stats: SegmentBuildStats }> {
  const { forward, decoded, vocabulary, docIds } = input;
  const nTerms = vocabulary.length;
  const started = performance.now();
  onProgress?.({ phase: 'prune', documents: docIds.length, postings: forward.terms.length });
  let inverted: InvertedIndex;
  let long: LongDocuments | undefined;
  let pruned = started;
  if (layout === 'flat') {
    inverted = emptyInverted(nTerms);
  } else {
    const lists = buildPrunedLists(forward, decoded, nTerms, options);
    const top = options.blocking === 'kmeans' ? topTermsPerDocument(forward, decoded, options.kmeansDocCut) : undefined;
    // Shared by the blocking workers and the graph build, so that no per-list step reads a long document whole.
    long = longDocuments(nTerms, forward.offsets, forward.terms, decoded);
    pruned = performance.now();
    onProgress?.({ phase: 'blocks', documents: docIds.length, postings: forward.terms.length });
    inverted = await buildInverted({ nTerms, forwardOffsets: forward.offsets, forwardTerms: forward.terms, decoded, lists, top, options, long }, options.threads);
  }
  const blocked = performance.now();
  let neighbors: Uint32Array = graph ?? new Uint32Array(0);
  if (graph === undefined && layout === 'blocked' && options.knn > 0 && docIds.length > 1) {
    onProgress?.({ phase: 'knn', documents: docIds.length, postings: forward.terms.length });
    neighbors = await buildKnnGraph(knnInput(forward, decoded, nTerms, inverted, options.knn, long!), options.threads);
  }
  const linked = performance.now();

  const { threads: _threads, ...buildIdentity } = options;
  const segment: Segment = {
    meta: { nDocs: docIds.length, nTerms, nPostings: forward.terms.length, valueType: options.forwardValues, build: buildIdentity, layout },
    vocabulary,
    termIds: makeTermIndex(vocabulary),
    docIds,
    forward,
    inverted,
    neighbors,
  };
  let emptyDocuments = 0;
  for (let d = 0; d < forward.nDocs; d++) if (forward.offsets[d + 1] === forward.offsets[d]) emptyDocuments++;
  return {
    segment,
    stats: {
      documents: docIds.length,
      emptyDocuments,
      skipped: 0,
      postings: forward.terms.length,
      keptPostings: inverted.postingDocs.length,
      blocks: inverted.blockScales.length,
      summaryEntries: inverted.summaryCodes.length,
      seconds: { ingest: 0, prune: (pruned - started) / 1000, blocks: (blocked - pruned) / 1000, knn: (linked - blocked) / 1000 },
    },
  };
}

/** Graph-build input; the inverted arrays are copied into shared memory so workers do not clone them. */
function knnInput(forward: ForwardIndex, decoded: Float32Array, nTerms: number, inverted: InvertedIndex, neighbors: number, long: LongDocuments): KnnBuildInput {
  const shared = (a: Uint32Array): Uint32Array => {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    const copy = new Uint32Array(new SharedArrayBuffer(a.byteLength));
    copy.set(a);
    return copy;
  };
  const blockPostingOffsets = shared(inverted.blockPostingOffsets);
  const postingDocs = shared(inverted.postingDocs);
  return {
    nDocs: forward.nDocs,
    nTerms,
    forwardOffsets: forward.offsets,
    forwardTerms: forward.terms,
    decoded,
    listBlockOffsets: inverted.listBlockOffsets,
    blockPostingOffsets,
    postingDocs,
    ...documentBlocks(forward.nDocs, blockPostingOffsets, postingDocs, true),
    neighbors,
    long,
  };
}

/** The u8 codebook all sources share, if they do. */
function sharedCodebook(sources: readonly MergeSource[], valueType: ResolvedBuildOptions['forwardValues']): Float32Array | undefined {
  if (valueType !== 'u8' || sources.length === 0) return undefined;
  const first = sources[0].segment.forward;
  for (const { segment } of sources) {
    const f = segment.forward;
    if (f.valueType !== 'u8' || f.codebook.length !== first.codebook.length || f.codebook.some((level, i) => level !== first.codebook[i])) return undefined;
  }
  return Float32Array.from(first.codebook);
}

/** Live documents of one segment for a merge: local ids, ascending. */
export interface MergeSource {
  segment: Segment;
  live: Uint32Array;
}

/**
 * Concatenates the live documents of `sources`, in order, into one forward index.
 *
 * Values are decoded exactly as scoring sees them and re-encoded as `valueType`: f32 and f16
 * round-trip bit for bit (every half value is a float32, and converts back to the same half), so
 * scores after a merge are identical; u8 keeps its codes when all sources share one codebook
 * (compacting a single segment), and otherwise refits 256 levels to the merged values, which can
 * move scores by a quantization step. Each segment has its own vocabulary, so term ids
 * are remapped through one table per segment (no per-posting map lookups); only terms used by a
 * live document enter the merged vocabulary.
 */
export function mergeForward(sources: readonly MergeSource[], valueType: ResolvedBuildOptions['forwardValues']): ForwardInput {
  const vocabulary: string[] = [];
  const termIndex = new Map<string, number>();
  let nDocs = 0;
  let nnz = 0;
  const remaps = sources.map(({ segment, live }) => {
    const { offsets, terms } = segment.forward;
    const used = new Uint8Array(segment.meta.nTerms);
    for (let i = 0; i < live.length; i++) {
      const d = live[i];
      for (let j = offsets[d]; j < offsets[d + 1]; j++) used[terms[j]] = 1;
      nnz += offsets[d + 1] - offsets[d];
    }
    nDocs += live.length;
    const remap = new Uint32Array(segment.meta.nTerms);
    for (let t = 0; t < used.length; t++) {
      if (used[t] === 0) continue;
      const token = segment.vocabulary[t];
      let id = termIndex.get(token);
      if (id === undefined) {
        id = vocabulary.length;
        termIndex.set(token, id);
        vocabulary.push(token);
      }
      remap[t] = id;
    }
    return remap;
  });
  if (nnz > 0xffffffff) throw new SpladexError('E_INPUT_LIMIT', 'more than 2^32 postings in one merged segment; compaction cannot merge this index into one segment');

  const offsets = new Uint32Array(new SharedArrayBuffer((nDocs + 1) * 4));
  const terms = termIdArray(nnz, vocabulary.length, true);
  const raw = new Float32Array(nnz);
  const docIds: string[] = [];
  let doc = 0;
  let at = 0;
  sources.forEach(({ segment, live }, s) => {
    const remap = remaps[s];
    const f = segment.forward;
    const coded = f.valueType !== 'f32';
    for (let i = 0; i < live.length; i++) {
      const d = live[i];
      for (let j = f.offsets[d]; j < f.offsets[d + 1]; j++) {
        terms[at] = remap[f.terms[j]];
        raw[at] = coded ? f.codebook[f.values[j]] : f.values[j];
        at++;
      }
      offsets[++doc] = at;
      docIds.push(segment.docIds[d]);
    }
  });
  const shared = sharedCodebook(sources, valueType);
  let values: ForwardIndex['values'];
  let codebook: Float32Array;
  if (shared !== undefined) {
    // Every source uses the same 8-bit levels (always so when one segment is compacted): keep the codes, exactly.
    codebook = shared;
    values = new Uint8Array(nnz);
    let k = 0;
    for (const { segment, live } of sources) {
      const f = segment.forward;
      for (let i = 0; i < live.length; i++) {
        const d = live[i];
        values.set((f.values as Uint8Array).subarray(f.offsets[d], f.offsets[d + 1]), k);
        k += f.offsets[d + 1] - f.offsets[d];
      }
    }
  } else {
    ({ values, codebook } = encodeValues(raw, valueType));
  }
  const decoded = new Float32Array(new SharedArrayBuffer(nnz * 4));
  decodeValuesInto(values, codebook, decoded);
  return { forward: { nDocs, offsets, terms, valueType, values, codebook }, decoded, vocabulary, docIds };
}
