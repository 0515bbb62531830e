/**
 * The public index: a directory holding a document store (`spladex.db`, which also records the
 * manifest) and one container file per segment. Opening loads every segment into typed arrays;
 * searching fans out over segments into one top-k heap.
 *
 * Directory writes are atomic: a build happens in `<dir>.tmp-<pid>-<time>` and is renamed into
 * place only when complete and flushed, so an interrupted build never leaves a valid-looking index.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, fsyncSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SpladexError } from './errors.js';
import type { SkippedLine } from './io/documents.js';
import { buildSegment, type BuildProgress, type DocumentSource, type IngestOptions, type SegmentBuildStats } from './index/build.js';
import { forwardBytes } from './index/forward.js';
import { invertedBytes } from './index/inverted.js';
import { resolveBuildOptions, type BuildOptions, type ResolvedBuildOptions } from './index/options.js';
import { readSegment, writeSegment, type Segment } from './index/segment.js';
import { DocumentStore, STORE_FILE, type StoredDocument } from './index/store.js';
import { prepareQuery } from './query/query-vector.js';
import { resolveSearchOptions, type SearchOptions } from './query/options.js';
import { MaxScoreSearcher } from './query/maxscore.js';
import { SegmentSearcher } from './query/segment-searcher.js';
import { SEGMENT_KEY_STRIDE, TopK } from './query/topk.js';
import type { DocumentInput, SearchHit, SparseVectorInput } from './types.js';

/** Version of the index directory layout and manifest. Bumped on any incompatible change. */
export const INDEX_FORMAT_VERSION = 1;

export interface SegmentEntry {
  /** File name of the segment container inside the index directory. */
  file: string;
  /** Segment number, also the `segment` column of the document store. */
  number: number;
  documents: number;
}

export interface Manifest {
  format: 'spladex';
  formatVersion: number;
  createdAt: string;
  build: ResolvedBuildOptions;
  segments: SegmentEntry[];
}

export interface IndexBuildOptions extends BuildOptions, IngestOptions {
  /** Replace an existing index at the target directory. Default false (refuse with E_INDEX_EXISTS). */
  overwrite?: boolean;
}

export interface BuildSummary extends SegmentBuildStats {
  path: string;
  vocabularySize: number;
  bytes: { total: number; parts: Record<string, number> };
  seconds: SegmentBuildStats['seconds'] & { write: number; total: number };
}

export type { BuildProgress, DocumentSource, SkippedLine };

const segmentFileName = (n: number): string => `seg-${String(n).padStart(6, '0')}.spx`;

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Moves a finished temporary directory to `out`, replacing an old index only if asked to. */
function publishDirectory(temporary: string, out: string, overwrite: boolean): void {
  if (existsSync(out)) {
    const entries = statSync(out).isDirectory() ? readdirSync(out) : ['(file)'];
    if (entries.length > 0) {
      if (!overwrite) throw new SpladexError('E_INDEX_EXISTS', `${out} already exists; choose another --out or pass --overwrite`, { file: out });
      if (!existsSync(join(out, STORE_FILE))) {
        throw new SpladexError('E_INDEX_EXISTS', `${out} exists and is not a spladex index; refusing to overwrite it`, { file: out });
      }
      const old = `${out}.old-${process.pid}-${Date.now()}`;
      renameSync(out, old);
      renameSync(temporary, out);
      rmSync(old, { recursive: true, force: true });
      fsyncPath(dirname(out));
      return;
    }
    rmSync(out, { recursive: true, force: true });
  }
  renameSync(temporary, out);
  fsyncPath(dirname(out));
}

function temporarySibling(out: string): string {
  const path = `${out}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(path, { recursive: true });
  return path;
}

/**
 * Builds an index from a stream of documents into directory `out` (atomically) and returns a
 * summary. Documents may be an async iterable (e.g. a file stream) of any length.
 */
export async function buildIndex(documents: DocumentSource, out: string, options: IndexBuildOptions = {}): Promise<BuildSummary> {
  const started = performance.now();
  const resolved = resolveBuildOptions(pickBuildOptions(options));
  out = resolve(out);
  if (existsSync(out) && !options.overwrite && readdirSync(out).length > 0) {
    throw new SpladexError('E_INDEX_EXISTS', `${out} already exists; choose another --out or pass --overwrite`, { file: out });
  }
  mkdirSync(dirname(out), { recursive: true });
  const temporary = temporarySibling(out);
  try {
    const store = DocumentStore.create(join(temporary, STORE_FILE));
    let result: Awaited<ReturnType<typeof buildSegment>>;
    try {
      result = await buildSegment(documents, resolved, store, 1, options);
      options.onProgress?.({ phase: 'write', documents: result.stats.documents, postings: result.stats.postings });
      const writeStarted = performance.now();
      const file = segmentFileName(1);
      const infos = writeSegment(join(temporary, file), result.segment);
      const manifest: Manifest = {
        format: 'spladex',
        formatVersion: INDEX_FORMAT_VERSION,
        createdAt: new Date().toISOString(),
        build: resolved,
        segments: [{ file, number: 1, documents: result.stats.documents }],
      };
      store.setMeta('manifest', manifest);
      store.finishBuild();
      store.close();
      fsyncPath(temporary);
      publishDirectory(temporary, out, options.overwrite ?? false);
      const parts: Record<string, number> = {};
      for (const info of infos) parts[info.name] = info.bytes;
      parts[STORE_FILE] = statSync(join(out, STORE_FILE)).size;
      const total = statSync(join(out, file)).size + parts[STORE_FILE];
      const finished = performance.now();
      return {
        path: out,
        ...result.stats,
        vocabularySize: result.segment.meta.nTerms,
        bytes: { total, parts },
        seconds: { ...result.stats.seconds, write: (finished - writeStarted) / 1000, total: (finished - started) / 1000 },
      };
    } finally {
      store.close();
    }
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}

function pickBuildOptions(options: IndexBuildOptions): BuildOptions {
  const { overwrite: _o, skipInvalid: _s, onSkip: _k, onProgress: _p, sourceLabel: _l, ...build } = options;
  return build;
}

export interface OpenOptions {
  /** Reserved for future read-only vs writer modes; opening is always read-only today. */
  readonly?: boolean;
}

export interface IndexInfo {
  path: string;
  formatVersion: number;
  documents: number;
  vocabularySize: number;
  postings: number;
  keptPostings: number;
  blocks: number;
  summaryEntries: number;
  /** Bytes on disk per part (segment sections summed over segments, plus the document store). */
  bytes: { total: number; parts: Record<string, number> };
  /** Bytes of the in-memory structures: forward index and inverted index (postings + summaries). */
  memory: { forward: number; inverted: number; total: number };
  build: ResolvedBuildOptions;
  segments: Array<SegmentEntry & { postings: number; keptPostings: number; blocks: number }>;
}

interface LoadedSegment {
  entry: SegmentEntry;
  segment: Segment;
  searcher: SegmentSearcher;
  /** Exact MaxScore searcher, created on first use (it builds an unpruned inverted index). */
  maxScore?: MaxScoreSearcher;
}

export class SpladexIndex {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly store: DocumentStore,
    readonly manifest: Manifest,
    private readonly segments: LoadedSegment[],
    private readonly removeOnClose: string | undefined,
  ) {}

  /** Opens an index directory, verifying every checksum. */
  static open(path: string, _options: OpenOptions = {}): SpladexIndex {
    path = resolve(path);
    const storePath = join(path, STORE_FILE);
    if (!existsSync(storePath)) {
      throw new SpladexError('E_NOT_AN_INDEX', `${path} is not a spladex index (no ${STORE_FILE}); build one with "spladex index"`, { file: path });
    }
    const store = DocumentStore.open(storePath, true);
    try {
      const manifest = store.getMeta<Manifest>('manifest');
      if (manifest === undefined || manifest.format !== 'spladex') {
        throw new SpladexError('E_NOT_AN_INDEX', `${path} has no spladex manifest; rebuild the index`, { file: storePath });
      }
      if (manifest.formatVersion !== INDEX_FORMAT_VERSION) {
        throw new SpladexError(
          'E_FORMAT_VERSION',
          `index format version ${manifest.formatVersion} is not supported (this spladex reads version ${INDEX_FORMAT_VERSION}); rebuild the index with this version`,
          { file: storePath },
        );
      }
      const segments = manifest.segments.map((entry) => {
        const segment = readSegment(join(path, entry.file));
        if (segment.meta.nDocs !== entry.documents) {
          throw new SpladexError('E_CORRUPT', `segment holds ${segment.meta.nDocs} documents, the manifest says ${entry.documents}; restore or rebuild the index`, { file: join(path, entry.file) });
        }
        return { entry, segment, searcher: new SegmentSearcher(segment) };
      });
      return new SpladexIndex(path, store, manifest, segments, undefined);
    } catch (error) {
      store.close();
      throw error;
    }
  }

  /** Builds an index in a private temporary directory; `save()` it to keep it. Removed on `close()`. */
  static async build(documents: DocumentSource, options: Omit<IndexBuildOptions, 'overwrite'> = {}): Promise<SpladexIndex> {
    const root = mkdtempSync(join(tmpdir(), 'spladex-'));
    try {
      await buildIndex(documents, join(root, 'index'), options);
      const index = SpladexIndex.open(join(root, 'index'));
      (index as unknown as { removeOnClose: string }).removeOnClose = root;
      return index;
    } catch (error) {
      rmSync(root, { recursive: true, force: true });
      throw error;
    }
  }

  /** Copies the index to directory `out` atomically. */
  save(out: string, options: { overwrite?: boolean } = {}): void {
    this.assertOpen();
    out = resolve(out);
    if (existsSync(out) && !options.overwrite && readdirSync(out).length > 0) {
      throw new SpladexError('E_INDEX_EXISTS', `${out} already exists; choose another path or pass overwrite`, { file: out });
    }
    mkdirSync(dirname(out), { recursive: true });
    const temporary = temporarySibling(out);
    try {
      for (const { entry } of this.segments) cpSync(join(this.path, entry.file), join(temporary, entry.file));
      this.store.db.exec(`VACUUM INTO '${join(temporary, STORE_FILE).replaceAll("'", "''")}'`);
      for (const name of readdirSync(temporary)) fsyncPath(join(temporary, name));
      fsyncPath(temporary);
      publishDirectory(temporary, out, options.overwrite ?? false);
    } catch (error) {
      rmSync(temporary, { recursive: true, force: true });
      throw error;
    }
  }

  /** Searches one query (token → weight). */
  search(query: SparseVectorInput, options: SearchOptions = {}): SearchHit[] {
    return this.searchBatch([query], options)[0];
  }

  /** Searches many queries with the same options; scratch memory is shared across them. */
  searchBatch(queries: readonly SparseVectorInput[], options: SearchOptions = {}): SearchHit[][] {
    this.assertOpen();
    const o = resolveSearchOptions(options);
    const heap = new TopK(o.k);
    return queries.map((query) => {
      heap.reset();
      this.segments.forEach((loaded, ordinal) => {
        const { segment, searcher } = loaded;
        const prepared = prepareQuery(query, segment.termIds);
        const base = ordinal * SEGMENT_KEY_STRIDE;
        if (o.mode === 'exhaustive') searcher.searchExhaustive(prepared, heap, base);
        else if (o.mode === 'maxscore') (loaded.maxScore ??= new MaxScoreSearcher(segment)).search(prepared, heap, base);
        else searcher.searchApproximate(prepared, o.queryCut, o.heapFactor, heap, base);
      });
      return heap.sorted().map(({ score, key }) => {
        const ordinal = Math.floor(key / SEGMENT_KEY_STRIDE);
        return { id: this.segments[ordinal].segment.docIds[key - ordinal * SEGMENT_KEY_STRIDE], score };
      });
    });
  }

  /** Stored text and metadata of a document, by external id. */
  getDocument(id: string): StoredDocument | undefined {
    this.assertOpen();
    for (const { entry, segment } of this.segments) {
      const local = segment.docIds.indexOf(id);
      if (local >= 0) return this.store.getDocument(entry.number, local);
    }
    return undefined;
  }

  info(): IndexInfo {
    this.assertOpen();
    const parts: Record<string, number> = {};
    let total = 0;
    let forward = 0;
    let inverted = 0;
    const segments: IndexInfo['segments'] = [];
    for (const { entry, segment } of this.segments) {
      for (const part of segment.parts ?? []) parts[part.name] = (parts[part.name] ?? 0) + part.bytes;
      total += statSync(join(this.path, entry.file)).size;
      forward += forwardBytes(segment.forward);
      inverted += invertedBytes(segment.inverted);
      segments.push({ ...entry, postings: segment.meta.nPostings, keptPostings: segment.inverted.postingDocs.length, blocks: segment.inverted.blockScales.length });
    }
    parts[STORE_FILE] = statSync(join(this.path, STORE_FILE)).size;
    total += parts[STORE_FILE];
    const sum = (f: (s: Segment) => number): number => this.segments.reduce((n, { segment }) => n + f(segment), 0);
    return {
      path: this.path,
      formatVersion: this.manifest.formatVersion,
      documents: sum((s) => s.meta.nDocs),
      vocabularySize: new Set(this.segments.flatMap(({ segment }) => segment.vocabulary)).size,
      postings: sum((s) => s.meta.nPostings),
      keptPostings: sum((s) => s.inverted.postingDocs.length),
      blocks: sum((s) => s.inverted.blockScales.length),
      summaryEntries: sum((s) => s.inverted.summaryCodes.length),
      bytes: { total, parts },
      memory: { forward, inverted, total: forward + inverted },
      build: this.manifest.build,
      segments,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.close();
    if (this.removeOnClose !== undefined) rmSync(this.removeOnClose, { recursive: true, force: true });
  }

  private assertOpen(): void {
    if (this.closed) throw new SpladexError('E_CLOSED', 'the index is closed; open it again with SpladexIndex.open()');
  }
}

