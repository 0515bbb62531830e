/**
 * A segment: an immutable, self-contained slice of the collection — vocabulary, external ids,
 * forward index and blocked inverted index — stored as one container file (see container.ts).
 * Local document ids are 0..nDocs−1 in insertion order.
 */
import { HALF_TO_FLOAT } from '../util/f16.js';
import { SpladexError } from '../errors.js';
import { decodeJson, decodeStrings, encodeJson, encodeStrings, parseContainer, readContainer, writeContainer, type Container, type SectionArray, type SectionInfo } from './container.js';
import type { ForwardIndex, TermIdArray } from './forward.js';
import type { InvertedIndex } from './inverted.js';
import type { ForwardValueType, ResolvedBuildOptions } from './options.js';

/**
 * `blocked`: Seismic inverted index (pruned, blocked, summarised lists). `flat`: forward index
 * only, searched exhaustively (small segments from incremental adds). Absent means `blocked`.
 */
export type SegmentLayout = 'blocked' | 'flat';

export interface SegmentMeta {
  nDocs: number;
  nTerms: number;
  nPostings: number;
  valueType: ForwardValueType;
  /** Build options, without `threads`: the thread count never changes what is built. */
  build: Omit<ResolvedBuildOptions, 'threads'>;
  layout?: SegmentLayout;
}

export function segmentLayout(segment: Segment): SegmentLayout {
  return segment.meta.layout ?? 'blocked';
}

export interface Segment {
  meta: SegmentMeta;
  vocabulary: string[];
  /** Token → term id, built on load (used only to translate queries, never in scoring loops). */
  termIds: Map<string, number>;
  docIds: string[];
  forward: ForwardIndex;
  inverted: InvertedIndex;
  /**
   * κ-NN graph: `nDocs × segmentNeighbors(segment)` document ids, best first, padded with
   * `NO_NEIGHBOUR` (see knn.ts). Empty when the segment has no graph.
   */
  neighbors: Uint32Array;
  /** Bytes of each stored part (filled when loaded from or written to disk). */
  parts?: SectionInfo[];
  /**
   * The memory the segment file was read into (its sections are views of it), when the reader
   * passed an allocator (`ReadSegmentOptions.memory`) and it could take the file: the query layer's
   * WebAssembly memory, whose searchers then score through the WebAssembly kernel
   * (src/query/wasm-kernel.ts). Opaque to the storage layer.
   */
  memory?: SegmentMemory;
}

/** Memory a segment file is read into: `file` receives its bytes (8-byte aligned, exactly its size). */
export interface SegmentMemory {
  readonly file: Uint8Array;
}

/** κ of the segment's graph (0: none; segments built before the graph existed have none). */
export function segmentNeighbors(segment: Segment): number {
  return segment.neighbors.length === 0 ? 0 : segment.meta.build.knn;
}

export function makeTermIndex(vocabulary: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  vocabulary.forEach((token, id) => map.set(token, id));
  return map;
}

function sectionsOf(segment: Segment): Record<string, SectionArray> {
  const vocab = encodeStrings(segment.vocabulary);
  const ids = encodeStrings(segment.docIds);
  const { forward: f, inverted: inv } = segment;
  const sections: Record<string, SectionArray> = {
    meta: encodeJson(segment.meta),
    'vocab.off': vocab.offsets,
    'vocab.txt': vocab.text,
    'ids.off': ids.offsets,
    'ids.txt': ids.text,
    'fwd.offsets': f.offsets,
    'fwd.terms': f.terms,
    'fwd.values': f.values,
    'inv.listBlocks': inv.listBlockOffsets,
    'inv.blockPosts': inv.blockPostingOffsets,
    'inv.docs': inv.postingDocs,
    'inv.scales': inv.blockScales,
    'inv.sumOffsets': inv.summaryOffsets,
    'inv.sumTerms': inv.summaryTerms,
    'inv.sumCodes': inv.summaryCodes,
  };
  if (f.valueType === 'u8') sections['fwd.codebook'] = f.codebook;
  if (segment.neighbors.length > 0) sections['knn.neighbors'] = segment.neighbors;
  return sections;
}

export function writeSegment(path: string, segment: Segment): SectionInfo[] {
  const infos = writeContainer(path, sectionsOf(segment));
  segment.parts = infos;
  return infos;
}

export interface ReadSegmentOptions {
  /**
   * Allocates the memory the file is read into, from its size and its vocabulary size; undefined
   * (or an allocator returning undefined): a fresh ArrayBuffer. The query path passes
   * `KernelMemory.allocate` so that searches score in WebAssembly without a second copy; the
   * storage layer only calls it, so it never depends on the query layer.
   */
  memory?: (fileBytes: number, nTerms: number) => SegmentMemory | undefined;
}

export function readSegment(path: string, options: ReadSegmentOptions = {}): Segment {
  let memory: SegmentMemory | undefined;
  const allocate = options.memory;
  const container = readContainer(
    path,
    allocate === undefined
      ? undefined
      : (size, table) => {
          // The query array of the kernel is sized by the vocabulary (vocab.off holds nTerms + 1 offsets).
          const vocabOffsets = table.find((entry) => entry.name === 'vocab.off');
          memory = allocate(size, vocabOffsets === undefined ? 0 : Math.max(0, Math.floor(vocabOffsets.bytes / 4) - 1));
          return memory?.file;
        },
  );
  return segmentOf(container, memory, false);
}

/**
 * A segment over memory that already holds a segment file checked by `readSegment` — a worker
 * thread's view of a segment the search pool read once into shared memory: no file read, no
 * checksums again, no copy. Its external ids are decoded on first use only (the pool's workers
 * return local ids, which the thread that read the segment turns into external ids).
 */
export function viewSegment(memory: SegmentMemory, path: string): Segment {
  return segmentOf(parseContainer(memory.file, path, false), memory, true);
}

function segmentOf({ path, sections, infos }: Container, memory: SegmentMemory | undefined, lazyIds: boolean): Segment {
  const bad = (message: string): SpladexError => new SpladexError('E_CORRUPT', `${message}; rebuild the index`, { file: path });
  const get = <T extends SectionArray>(name: string, ...types: Array<new (...args: never[]) => T>): T => {
    const section = sections.get(name);
    if (section === undefined) throw bad(`missing part "${name}"`);
    if (!types.some((ctor) => section instanceof ctor)) throw bad(`part "${name}" has the wrong element type`);
    return section as T;
  };
  const meta = decodeJson<SegmentMeta>(get('meta', Uint8Array), path);
  // The meta part is checksummed, but it is still input: check what the code below relies on.
  const isCount = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  if (meta === null || typeof meta !== 'object' || !isCount(meta.nDocs) || !isCount(meta.nTerms) || !isCount(meta.nPostings)) throw bad('invalid segment metadata');
  if (!['f16', 'u8', 'f32'].includes(meta.valueType)) throw bad(`unknown value type ${JSON.stringify(meta.valueType)}`);
  if (meta.layout !== undefined && meta.layout !== 'blocked' && meta.layout !== 'flat') throw bad(`unknown segment layout ${JSON.stringify(meta.layout)}`);
  const vocabulary = decodeStrings(get('vocab.off', Uint32Array), get('vocab.txt', Uint8Array), path);
  const idOffsets = get('ids.off', Uint32Array);
  const idText = get('ids.txt', Uint8Array);
  const docIds = lazyIds ? undefined : decodeStrings(idOffsets, idText, path);
  const valueType = meta.valueType;
  const values = get<ForwardIndex['values']>('fwd.values', valueType === 'f32' ? Float32Array : valueType === 'f16' ? Uint16Array : Uint8Array);
  const forward: ForwardIndex = {
    nDocs: meta.nDocs,
    offsets: get('fwd.offsets', Uint32Array),
    terms: get<TermIdArray>('fwd.terms', Uint16Array, Uint32Array),
    valueType,
    values,
    codebook: valueType === 'u8' ? get('fwd.codebook', Float32Array) : valueType === 'f16' ? HALF_TO_FLOAT : new Float32Array(0),
  };
  const inverted: InvertedIndex = {
    listBlockOffsets: get('inv.listBlocks', Uint32Array),
    blockPostingOffsets: get('inv.blockPosts', Uint32Array),
    postingDocs: get('inv.docs', Uint32Array),
    blockScales: get('inv.scales', Float32Array),
    summaryOffsets: get('inv.sumOffsets', Uint32Array),
    summaryTerms: get<TermIdArray>('inv.sumTerms', Uint16Array, Uint32Array),
    summaryCodes: get('inv.sumCodes', Uint8Array),
  };
  // Optional: absent when built with knn 0, as a flat segment, or before the graph existed.
  const neighbors = sections.has('knn.neighbors') ? get('knn.neighbors', Uint32Array) : new Uint32Array(0);
  const knn = meta.build?.knn;
  // Cheap shape checks: lengths that every reader relies on. Full invariants: `verifySegment`.
  const nTerms = meta.nTerms;
  const ok =
    vocabulary.length === nTerms &&
    idOffsets.length === meta.nDocs + 1 &&
    (docIds === undefined || docIds.length === meta.nDocs) &&
    forward.offsets.length === meta.nDocs + 1 &&
    forward.offsets[meta.nDocs] === forward.terms.length &&
    forward.values.length === forward.terms.length &&
    inverted.listBlockOffsets.length === nTerms + 1 &&
    inverted.blockPostingOffsets.length === inverted.listBlockOffsets[nTerms] + 1 &&
    inverted.blockScales.length === inverted.listBlockOffsets[nTerms] &&
    inverted.blockPostingOffsets[inverted.blockScales.length] === inverted.postingDocs.length &&
    inverted.summaryOffsets.length === inverted.blockScales.length + 1 &&
    inverted.summaryOffsets[inverted.blockScales.length] === inverted.summaryTerms.length &&
    inverted.summaryCodes.length === inverted.summaryTerms.length &&
    forward.terms.length === meta.nPostings &&
    (meta.layout !== 'flat' || inverted.blockScales.length === 0) &&
    (valueType !== 'u8' || forward.codebook.length === 256) &&
    (neighbors.length === 0 || (Number.isInteger(knn) && knn > 0 && neighbors.length === meta.nDocs * knn));
  if (!ok) throw bad('parts have inconsistent sizes');
  const segment = { meta, vocabulary, termIds: makeTermIndex(vocabulary), forward, inverted, neighbors, parts: infos } as Segment;
  if (docIds !== undefined) segment.docIds = docIds;
  else {
    let decoded: string[] | undefined;
    Object.defineProperty(segment, 'docIds', { enumerable: true, get: () => (decoded ??= decodeStrings(idOffsets, idText, path)) });
  }
  if (memory !== undefined) segment.memory = memory;
  return segment;
}
