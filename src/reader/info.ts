/**
 * What `spladex info` shows of a loaded index: sizes on disk and in memory, counts, build options,
 * encoder and scoring kernels (`indexInfo`), and its FLOPS over the live documents (`indexFlops`,
 * with the formulas of encode/flops.ts).
 */
import { CUSTOM_TERM_SPACE } from '../io/term-space.js';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { flopsOfFrequencies, lengthDistribution } from '../encode/flops.js';
import { forwardBytes } from '../segment/forward.js';
import { invertedBytes } from '../segment/inverted.js';
import { liveDocuments, type Manifest } from '../store/manifest.js';
import { segmentLayout, type Segment } from '../segment/segment.js';
import { STORE_FILE } from '../store/store.js';
import type { SparseVectorInput } from '../types.js';
import { GrowableUint32Array } from '../util/growable.js';
import type { LoadedSegment } from './snapshot.js';
import type { FlopsReport, IndexInfo } from './types.js';

/** The `info()` report of an index at `path` with these segments loaded. */
export function indexInfo(path: string, manifest: Manifest, loaded: readonly LoadedSegment[]): IndexInfo {
  const parts: Record<string, number> = {};
  let total = 0;
  let forward = 0;
  let inverted = 0;
  let graph = 0;
  const segments: IndexInfo['segments'] = [];
  for (const { entry, segment, searcher } of loaded) {
    for (const part of segment.parts ?? []) parts[part.name] = (parts[part.name] ?? 0) + part.bytes;
    const file = join(path, entry.file);
    total += existsSync(file) ? statSync(file).size : (segment.parts ?? []).reduce((n, p) => n + p.bytes, 0);
    forward += forwardBytes(segment.forward);
    inverted += invertedBytes(segment.inverted);
    graph += segment.neighbors.byteLength;
    segments.push({ ...entry, layout: segmentLayout(segment), postings: segment.meta.nPostings, keptPostings: segment.inverted.postingDocs.length, blocks: segment.inverted.blockScales.length, scoringKernel: searcher.kernel });
  }
  const kernels = new Set(segments.map((s) => s.scoringKernel));
  parts[STORE_FILE] = statSync(join(path, STORE_FILE)).size;
  total += parts[STORE_FILE];
  const sum = (f: (s: Segment) => number): number => loaded.reduce((n, { segment }) => n + f(segment), 0);
  return {
    path,
    formatVersion: manifest.formatVersion,
    documents: liveDocuments(manifest),
    deletedDocuments: manifest.segments.reduce((n, s) => n + s.deleted, 0),
    generation: manifest.generation,
    vocabularySize: new Set(loaded.flatMap(({ segment }) => segment.vocabulary)).size,
    postings: sum((s) => s.meta.nPostings),
    keptPostings: sum((s) => s.inverted.postingDocs.length),
    blocks: sum((s) => s.inverted.blockScales.length),
    summaryEntries: sum((s) => s.inverted.summaryCodes.length),
    bytes: { total, parts },
    memory: { forward, inverted, graph, total: forward + inverted + graph },
    build: manifest.build,
    encoder: manifest.encoder === undefined ? null : { kind: manifest.encoder.kind, label: manifest.encoder.label },
    termSpace: manifest.termSpace ?? CUSTOM_TERM_SPACE,
    idf: manifest.idf === undefined ? null : { source: manifest.idf.source, terms: manifest.idf.terms },
    postingPruning: manifest.postingPruning ?? null,
    calibration: manifest.calibration ?? null,
    segments,
    scoringKernel: kernels.size > 1 ? 'mixed' : ([...kernels][0] ?? 'javascript'),
  };
}

/**
 * FLOPS over the live documents' forward vectors (p_d from their document frequencies; p_q from
 * `queries` when given, else p_q = p_d) and the distribution of their postings. Tokens are matched
 * across segments by string: each segment has its own term ids.
 */
export function indexFlops(segments: readonly LoadedSegment[], queries?: readonly SparseVectorInput[]): FlopsReport {
  const globalIds = new Map<string, number>();
  let df = new Float64Array(1024);
  const lengths = new GrowableUint32Array();
  let n = 0;
  for (const { segment, excluded } of segments) {
    const { offsets, terms } = segment.forward;
    const local = new Uint32Array(segment.meta.nTerms);
    for (let d = 0; d < segment.meta.nDocs; d++) {
      if (excluded !== undefined && excluded[d] === 1) continue;
      n++;
      lengths.push(offsets[d + 1] - offsets[d]);
      for (let j = offsets[d]; j < offsets[d + 1]; j++) local[terms[j]]++;
    }
    for (let t = 0; t < local.length; t++) {
      if (local[t] === 0) continue;
      const token = segment.vocabulary[t];
      let id = globalIds.get(token);
      if (id === undefined) {
        id = globalIds.size;
        globalIds.set(token, id);
        if (id >= df.length) {
          const grown = new Float64Array(df.length * 2);
          grown.set(df);
          df = grown;
        }
      }
      df[id] += local[t];
    }
  }
  const documentFlops = flopsOfFrequencies(df.subarray(0, globalIds.size), n);
  let queryFlops: number | null = null;
  if (queries !== undefined) {
    // Query-side document frequencies over the same ids; terms no document has cannot match.
    const dfQ = new Float64Array(globalIds.size);
    for (const query of queries) {
      for (const token in query) {
        if (!(query[token] > 0)) continue;
        const id = globalIds.get(token);
        if (id !== undefined) dfQ[id]++;
      }
    }
    queryFlops = flopsOfFrequencies(df.subarray(0, globalIds.size), n, { df: dfQ, n: queries.length });
  }
  const postings = lengthDistribution(lengths.view().slice());
  return {
    flops: queryFlops ?? documentFlops,
    distribution: queryFlops === null ? 'documents' : 'queries',
    documentFlops,
    queryFlops,
    queries: queries?.length ?? 0,
    documents: n,
    postingsPerDocument: { mean: postings.mean, p50: postings.median, p99: postings.p99, max: postings.max },
  };
}
