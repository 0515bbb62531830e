/**
 * The index reader: a directory opened for searching. It loads every segment into memory (into
 * WebAssembly kernel memory where the layout allows) and holds one SQLite read snapshot, so what
 * it sees never changes under it — not when a writer adds documents, not when compaction deletes
 * the files it was loaded from — until `refresh()`. `IndexWriter` (src/writer/) extends it with
 * `add`, `delete` and `compact`.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Encoder } from '../encode/encoder.js';
import type { EncoderSpec } from '../encode/spec.js';
import { SpladexError } from '../errors.js';
import { newBitmap, serializeBitmap, type Bitmap } from '../store/deletes.js';
import { copyTextMeta, noEncoderError, openStoredEncoder, readStoredEncoder, readStoredIdf, type EncoderOverrides, type StoredIdf } from '../text/encoder-store.js';
import { compileFilter, normaliseFilter, type Filter } from '../store/filter.js';
import { IdLookup } from './id-lookup.js';
import { writeCommitRecord } from '../store/commit-record.js';
import type { Manifest } from '../store/manifest.js';
import { writeSegment } from '../segment/segment.js';
import type { CommittedState } from '../store/state.js';
import { DocumentStore, STORE_FILE, type StoredDocument } from '../store/store.js';
import { searchSegments, type SegmentPlan } from '../query/fan-out.js';
import { resolveSearchOptions, type ResolvedSearchOptions } from '../query/options.js';
import { publishDirectory, temporarySibling } from '../store/directory.js';
import type { SearchHit, SparseVectorInput } from '../types.js';
import { fsyncPath } from '../util/fs.js';
import { GrowableUint32Array } from '../util/growable.js';
import { ioFailure, isIoFailure } from '../util/io-failure.js';
import { indexFlops, indexInfo } from './info.js';
import { loadSegments, loadSnapshot, type LoadedSegment, type SegmentAllocator } from './snapshot.js';
import { withCalibratedDefaults } from './search-defaults.js';
import { CALIBRATION_QUERIES_KEY } from '../store/calibration.js';
import { checkVectorsTermSpace } from '../io/term-space.js';
import { checkQueryVector, checkQueryVectors } from './query-input.js';
import { explainDocument, type Explanation } from '../query/explain.js';
import { FILTER_SEARCH_OPTIONS, type FlopsReport, type IndexInfo, type IndexSearchOptions, type ReaderOptions } from './types.js';

/** Files an index directory holds besides its store: the commit record, the lock, segments (also under temporary names), SQLite's WAL. */
const INDEX_FILE = /^(spladex\.(db(-wal|-shm|-journal)?|commit|lock)|seg-\d+\.spx(\.tmp-.*)?)$/;

/**
 * The store of the index directory `path`; `E_NOT_AN_INDEX` when there is none. A file of an
 * index (`…/spladex.db`, `…/seg-000001.spx`) is the most common slip: the error names the
 * directory to give instead.
 */
export function checkIndexDirectory(path: string): string {
  const storePath = join(path, STORE_FILE);
  if (existsSync(storePath)) return storePath;
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    // Missing or unreadable: reported as not an index below.
  }
  if (isFile && INDEX_FILE.test(basename(path)) && existsSync(join(dirname(path), STORE_FILE))) {
    throw new SpladexError('E_NOT_AN_INDEX', `this is a file of the index, not the index: an index is its directory; give ${dirname(path)} instead`, { file: path });
  }
  const what = isFile ? 'a file, not an index directory' : existsSync(path) ? `not a spladex index (no ${STORE_FILE} in it)` : 'no such directory';
  throw new SpladexError('E_NOT_AN_INDEX', `${what}; give the directory an index was built into ("spladex index … --out <dir>")`, { file: path });
}

const FILTER_CACHE_SIZE = 16;
/** Plans of filterless options a state keeps at most (each is a few small objects); past it they are planned again. */
const PLAIN_PLAN_CACHE_SIZE = 256;

/**
 * Names search options whose plan a reader can reuse: only when every value is a primitive (a
 * filter is planned again each time, from the cache of filter plans).
 */
function plainOptionsKey(options: IndexSearchOptions): string | undefined {
  let key = '';
  for (const name of Object.keys(options)) {
    const value: unknown = options[name as keyof IndexSearchOptions];
    if (value === undefined) continue;
    if ((typeof value === 'object' && value !== null) || typeof value === 'function') return undefined;
    key += `${name}=${typeof value}:${String(value)};`;
  }
  return key;
}

/** Identifies the stored encoder of a state: its spec and its IDF table. */
const encoderKey = (manifest: Manifest): string => `${manifest.encoder?.crc ?? 'none'}:${manifest.idf?.crc ?? 'none'}`;

/** What a search runs (`IndexReader.planSearch`). */
export interface SearchPlan {
  segments: LoadedSegment[];
  plans: SegmentPlan[];
  settings: ResolvedSearchOptions;
}

export class IndexReader {
  protected closed = false;
  /** Set by the writer while a write runs: reads of document rows then would see its uncommitted rows. */
  protected writing = false;
  /** Whether every document row was checked against its checksum and its segment (once per state, before the first filter). */
  private rowsVerified = false;
  private readonly filterCache = new Map<string, Bitmap[]>();
  /** The stored encoder, opened on first use; keyed by the manifest's encoder and IDF checksums. */
  private openedEncoder: { key: string; encoder: Promise<Encoder> } | undefined;
  /** Per filter (and `filterExactBelow`), the plan of each segment; cleared with the filter cache. */
  private readonly planCache = new Map<string, SegmentPlan[]>();
  /** Whole plans of options without a filter, by `plainOptionsKey`: a search then skips resolving its settings; cleared with the state. */
  private readonly plainPlans = new Map<string, SearchPlan>();
  /** Where segments are read to (undefined: private kernel memory); the search pool's readers share them. */
  private allocate: SegmentAllocator | undefined;

  protected constructor(
    readonly path: string,
    protected readonly store: DocumentStore,
    protected state: CommittedState,
    /** Loaded segments; undefined for a writer until something needs them. */
    protected segments: LoadedSegment[] | undefined,
    protected readonly encoderOverrides: EncoderOverrides = {},
    /** A private directory (`SpladexIndex.build`) removed on `close()`. */
    private readonly removeOnClose?: string,
  ) {}

  /** The committed manifest this object sees. */
  get manifest(): Manifest {
    return this.state.manifest;
  }

  /** Whether this object may write: false for a reader, true for an `IndexWriter`. */
  get writable(): boolean {
    return false;
  }

  /**
   * Opens an index directory as a reader, verifying every checksum it loads: every segment in
   * memory and one consistent snapshot until `refresh()` or `close()`; never blocks writers.
   * Internal: `removeOnClose`, a private directory to delete on `close()`; `allocate`, where
   * segments are read to (the search pool's shared memory).
   */
  static open(path: string, options: ReaderOptions = {}, internal: { removeOnClose?: string; allocate?: SegmentAllocator } = {}): IndexReader {
    path = resolve(path);
    const store = DocumentStore.open(checkIndexDirectory(path), true);
    try {
      const { state, segments } = loadSnapshot(path, store, [], internal.allocate);
      const reader = new IndexReader(path, store, state, segments, options.encoder, internal.removeOnClose);
      reader.allocate = internal.allocate;
      return reader;
    } catch (error) {
      store.close();
      throw error;
    }
  }

  /**
   * The latest committed state as a new reader that reuses this one's segments (and its stored
   * encoder while unchanged), leaving this reader open on its own snapshot: so a state that fails
   * to load leaves this one serving, and queries planned on this one finish on it (the search
   * pool's `refresh`). Undefined when nothing was committed since this reader's snapshot.
   * `refresh()` is the in-place form.
   */
  openLatest(): IndexReader | undefined {
    this.assertOpen();
    this.assertIdle();
    const store = DocumentStore.open(checkIndexDirectory(this.path), true);
    let next: IndexReader;
    try {
      const { state, segments } = loadSnapshot(this.path, store, this.loadedSegments(), this.allocate);
      if (state.manifest.generation === this.state.manifest.generation) {
        store.close();
        return undefined;
      }
      next = new IndexReader(this.path, store, state, segments, this.encoderOverrides);
    } catch (error) {
      store.close();
      throw error;
    }
    next.allocate = this.allocate;
    // The encoder moves to the new reader when the stored encoder did not change (reopening a model costs seconds).
    if (this.openedEncoder !== undefined && this.openedEncoder.key === encoderKey(next.state.manifest)) {
      next.openedEncoder = this.openedEncoder;
      this.openedEncoder = undefined;
    }
    return next;
  }

  /**
   * Moves to the latest committed state (segments already loaded are reused). Returns whether
   * anything changed. If the new state cannot be loaded, the index is closed and the error thrown.
   * Writers always see their own commits; for them this is a no-op.
   */
  refresh(): boolean {
    this.assertOpen();
    this.assertIdle();
    const before = this.state.manifest.generation;
    this.store.endSnapshot();
    try {
      const { state, segments } = loadSnapshot(this.path, this.store, this.segments, this.allocate);
      this.setState(state, segments);
    } catch (error) {
      this.close();
      throw error;
    }
    return this.state.manifest.generation !== before;
  }

  /** Copies the index as this object sees it to directory `out` atomically. */
  save(out: string, options: { overwrite?: boolean } = {}): void {
    this.assertOpen();
    this.assertIdle();
    out = resolve(out);
    if (existsSync(out) && !options.overwrite && readdirSync(out).length > 0) {
      throw new SpladexError('E_INDEX_EXISTS', `${out} already exists; choose another path or pass overwrite`, { file: out });
    }
    const segments = this.loadedSegments();
    mkdirSync(dirname(out), { recursive: true });
    const temporary = temporarySibling(out);
    try {
      // Segments are written from memory: the files this reader loaded may be gone since.
      for (const { entry, segment } of segments) writeSegment(join(temporary, entry.file), segment);
      const copy = DocumentStore.create(join(temporary, STORE_FILE));
      try {
        copy.transaction(() => {
          for (const { entry, deleted } of segments) {
            for (const row of this.store.segmentRows(entry.number)) copy.insertRow(row);
            if (deleted.size > 0) copy.setDeletes(entry.number, serializeBitmap(deleted.clone()));
          }
          copyTextMeta(this.store, copy, this.state.manifest);
          // The calibration queries, so the copy recalibrates after its own adds and compactions.
          const queries = this.store.getMetaWithCrc<unknown>(CALIBRATION_QUERIES_KEY);
          if (queries !== undefined && this.state.manifest.calibration !== undefined) copy.setMeta(CALIBRATION_QUERIES_KEY, queries.value);
        });
        const { obsolete: _obsolete, ...manifest } = this.state.manifest;
        const manifestCrc = copy.setMeta('manifest', { ...manifest, commitRecord: true });
        copy.finishBuild();
        copy.close();
        writeCommitRecord(temporary, { generation: manifest.generation, manifestCrc });
      } finally {
        copy.close();
      }
      for (const name of readdirSync(temporary)) fsyncPath(join(temporary, name));
      fsyncPath(temporary);
      publishDirectory(temporary, out, options.overwrite ?? false);
    } catch (error) {
      rmSync(temporary, { recursive: true, force: true });
      throw isIoFailure(error) ? ioFailure(error, temporary, 'saving the index', 'nothing was written') : error;
    }
  }

  // ---- Search -----------------------------------------------------------------------------------

  /**
   * The setting a search with `options` runs: the caller's arguments, then (on a calibrated
   * index) the stored setting for the recall target, then the fixed defaults.
   */
  searchSettings(options: IndexSearchOptions = {}): ResolvedSearchOptions {
    const { filter: _filter, filterExactBelow: _exactBelow, targetRecall, ...search } = options;
    return resolveSearchOptions(withCalibratedDefaults(search, this.state.manifest.calibration, targetRecall));
  }

  /** Searches one query (token → weight). `E_INPUT_VECTOR` for a string or an array (free text is `searchText`). */
  search(query: SparseVectorInput, options: IndexSearchOptions = {}): SearchHit[] {
    checkQueryVector(query, 'search');
    return this.searchBatch([query], options)[0];
  }

  /** Searches many queries with the same options; scratch memory and the filter are shared across them. */
  searchBatch(queries: readonly SparseVectorInput[], options: IndexSearchOptions = {}): SearchHit[][] {
    checkQueryVectors(queries);
    const { segments, plans, settings } = this.planSearch(options);
    this.checkQueryTermSpace(queries, options, segments);
    return searchSegments(segments, plans, queries, settings);
  }

  /**
   * Refuses query vectors of another term space than the index's (`E_TERM_SPACE`;
   * src/io/term-space.ts); `segments` are those of `planSearch` (the search pool checks here too).
   */
  checkQueryTermSpace(queries: readonly SparseVectorInput[], options: IndexSearchOptions, segments: readonly LoadedSegment[]): void {
    const has = (token: string): boolean => segments.some((s) => s.segment.termIds.has(token));
    checkVectorsTermSpace(this.state.manifest.termSpace, queries, options, has, 'query', this.path);
  }

  /**
   * What a search with `options` runs, checked (`E_OPTION`, filter errors) before any query:
   * the loaded segments, per segment a plan (deletes, filter) and the resolved setting. Plans of a
   * filter are cached per state, and so are whole plans of options without one (by their values).
   * The search pool plans on this reader and searches on its workers.
   */
  planSearch(options: IndexSearchOptions = {}): SearchPlan {
    this.assertOpen();
    const { filter, filterExactBelow } = options;
    const plainKey = filter === undefined ? plainOptionsKey(options) : undefined;
    const reused = plainKey === undefined ? undefined : this.plainPlans.get(plainKey);
    if (reused !== undefined) return reused;
    const settings = this.searchSettings(options);
    const exactBelow = FILTER_SEARCH_OPTIONS.resolve({ filterExactBelow }).filterExactBelow!;
    const segments = this.loadedSegments();
    if (filter === undefined) {
      const plan = { segments, plans: segments.map((s) => ({ docs: undefined, excluded: s.excluded, skip: false })), settings };
      if (plainKey !== undefined) {
        if (this.plainPlans.size >= PLAIN_PLAN_CACHE_SIZE) this.plainPlans.clear();
        this.plainPlans.set(plainKey, plan);
      }
      return plan;
    }
    const allowed = this.allowLists(filter);
    const key = `${compileFilter(normaliseFilter(filter)).key}\0${exactBelow}`;
    let plans = this.planCache.get(key);
    if (plans === undefined) {
      // Per segment: the documents to score one by one (small allow-lists), or the mask to search with.
      plans = segments.map((s, i) => {
        const allow = allowed[i];
        if (allow.size === 0) return { docs: undefined, excluded: undefined, skip: true };
        const docs = allow.toUint32Array();
        if (allow.size <= exactBelow) return { docs, excluded: undefined, skip: false };
        const mask = new Uint8Array(s.segment.meta.nDocs).fill(1);
        for (let j = 0; j < docs.length; j++) mask[docs[j]] = 0;
        return { docs: undefined, excluded: mask, skip: false };
      });
      if (this.planCache.size >= FILTER_CACHE_SIZE) this.planCache.delete(this.planCache.keys().next().value as string);
      this.planCache.set(key, plans);
    }
    return { segments, plans, settings };
  }

  /**
   * Searches free text (one string, or many): the queries are encoded with the encoder the index
   * was built with (its stored spec and IDF table, see `encoder()`), then searched like vectors.
   * `E_INPUT_VECTOR` for an index built from vectors (it has no encoder); `E_MODEL` when the model
   * or tokenizer files changed since the build.
   */
  async searchText(text: string, options?: IndexSearchOptions): Promise<SearchHit[]>;
  async searchText(texts: readonly string[], options?: IndexSearchOptions): Promise<SearchHit[][]>;
  async searchText(input: string | readonly string[], options: IndexSearchOptions = {}): Promise<SearchHit[] | SearchHit[][]> {
    this.assertOpen();
    const texts = typeof input === 'string' ? [input] : [...input];
    for (const text of texts) if (typeof text !== 'string') throw new SpladexError('E_OPTION', `searchText takes a string or an array of strings, got ${typeof text}`);
    // Checks the options (and the filter) before any encoding work.
    this.searchBatch([], options);
    const vectors = await (await this.encoder()).encodeQueries(texts);
    const hits = this.searchBatch(vectors, options);
    return typeof input === 'string' ? hits[0] : hits;
  }

  /** The spec of the encoder the index was built with (null: built from vectors). */
  encoderSpec(): EncoderSpec | null {
    this.assertOpen();
    return readStoredEncoder(this.store, this.state.manifest);
  }

  /** The IDF table stored with the index — query weights of lexical / inference-free encoders, pruning values — or null. */
  storedIdf(): StoredIdf | null {
    this.assertOpen();
    return readStoredIdf(this.store, this.state.manifest);
  }

  /**
   * The encoder the index was built with, reopened from its stored spec and IDF table with the
   * `OpenOptions.encoder` overrides, on first use; `close()` disposes it. Use it to encode queries
   * yourself (`encodeQueries`). `E_INPUT_VECTOR` for an index built from vectors.
   */
  encoder(): Promise<Encoder> {
    this.assertOpen();
    const { manifest } = this.state;
    const key = encoderKey(manifest);
    if (this.openedEncoder?.key !== key) {
      this.disposeEncoder();
      const spec = readStoredEncoder(this.store, manifest);
      if (spec === null) return Promise.reject(noEncoderError(this.path));
      const encoder = openStoredEncoder(spec, readStoredIdf(this.store, manifest), this.encoderOverrides, manifest.termSpace);
      // A failed open is not cached: the next call tries again (e.g. after the model was restored).
      encoder.catch(() => {
        if (this.openedEncoder?.encoder === encoder) this.openedEncoder = undefined;
      });
      this.openedEncoder = { key, encoder };
    }
    return this.openedEncoder!.encoder;
  }

  private disposeEncoder(): void {
    const opened = this.openedEncoder;
    this.openedEncoder = undefined;
    opened?.encoder.then((e) => e.dispose(), () => undefined).catch(() => undefined);
  }

  /**
   * FLOPS of the index — the expected number of multiply-adds of an exact search per query, SPLADE's
   * `Σ_t p_q(t)·p_d(t)` with `p_d(t) = df(t)/N` over the live documents' forward vectors — and the
   * distribution of postings per document. `p_q` comes from `options.queries` when given (a query
   * sample), else `p_q = p_d` (the documents' own distribution, SPLADE's training regulariser).
   * Reads every forward posting once.
   */
  flops(options: { queries?: readonly SparseVectorInput[] } = {}): FlopsReport {
    this.assertOpen();
    return indexFlops(this.loadedSegments(), options.queries);
  }

  /** Per loaded segment, the live documents passing `filter` (cached per state). */
  private allowLists(filter: Filter | readonly Filter[]): Bitmap[] {
    const compiled = compileFilter(normaliseFilter(filter));
    const cached = this.filterCache.get(compiled.key);
    if (cached !== undefined) return cached;
    this.assertIdle();
    const segments = this.loadedSegments();
    this.verifyRowsOnce(segments);
    const byNumber = new Map<number, GrowableUint32Array>();
    for (const { segment, local } of this.store.matching(compiled.where, compiled.params)) {
      let list = byNumber.get(segment);
      if (list === undefined) byNumber.set(segment, (list = new GrowableUint32Array()));
      list.push(local);
    }
    const lists = segments.map(({ entry, deleted }) => {
      const bitmap = newBitmap(byNumber.get(entry.number)?.view() ?? new Uint32Array(0));
      bitmap.andNotInPlace(deleted);
      return bitmap;
    });
    if (this.filterCache.size >= FILTER_CACHE_SIZE) this.filterCache.delete(this.filterCache.keys().next().value as string);
    this.filterCache.set(compiled.key, lists);
    return lists;
  }

  /**
   * Filters read metadata straight from SQLite, where a damaged page could silently drop or alter
   * rows. Before the first filter, every row is checked once: checksum, id equal to its segment's
   * id list, and exactly one row per document of every segment.
   */
  private verifyRowsOnce(segments: readonly LoadedSegment[]): void {
    if (this.rowsVerified) return;
    const byNumber = new Map(segments.map((s) => [s.entry.number, s]));
    const counts = new Map<number, number>();
    for (const row of this.store.allRows()) {
      this.store.checkRow(row);
      const s = byNumber.get(row.segment);
      if (s === undefined) throw this.store.corrupt(`document ${JSON.stringify(row.id)} belongs to segment ${row.segment}, which the manifest does not list`);
      if (row.local >= s.segment.meta.nDocs || s.segment.docIds[row.local] !== row.id) {
        throw this.store.corrupt(`document row ${JSON.stringify(row.id)} does not match entry ${row.local} of segment ${row.segment}`);
      }
      counts.set(row.segment, (counts.get(row.segment) ?? 0) + 1);
    }
    for (const s of segments) {
      const n = counts.get(s.entry.number) ?? 0;
      if (n !== s.segment.meta.nDocs) throw this.store.corrupt(`segment ${s.entry.number} has ${n} document rows, expected ${s.segment.meta.nDocs}`);
    }
    this.rowsVerified = true;
  }

  // ---- Documents --------------------------------------------------------------------------------

  /** Stored text and metadata of a live document, by external id. */
  getDocument(id: string): StoredDocument | undefined {
    this.assertOpen();
    this.assertIdle();
    const found = this.liveDocument(id);
    if (found === undefined) return undefined;
    const doc = this.store.getDocument(found.segment.entry.number, found.local);
    if (doc === undefined || doc.id !== String(id)) throw this.store.corrupt(`the stored row of document ${JSON.stringify(id)} is missing or does not match segment ${found.segment.entry.number}`);
    return doc;
  }

  /** The segment and local id of the live document `id`. */
  private liveDocument(id: string): { segment: LoadedSegment; local: number } | undefined {
    for (const s of this.loadedSegments()) {
      const locals = (s.ids ??= IdLookup.build(s.segment.docIds)).find(String(id));
      for (const local of locals) if (!s.deleted.has(local)) return { segment: s, local };
    }
    return undefined;
  }

  /**
   * Why the live document `id` scores what it does for `query` (a vector; encode text first with
   * `encoder()`): the terms they share with query weight, stored document weight and product,
   * largest product first, and the score — the products added in forward-index order, which is the
   * score every search mode reports for the document, bit for bit. Undefined when no live document
   * has the id.
   */
  explain(query: SparseVectorInput, id: string): Explanation | undefined {
    this.assertOpen();
    checkQueryVector(query, 'explain');
    const found = this.liveDocument(id);
    return found === undefined ? undefined : explainDocument(found.segment.segment, found.local, query);
  }

  /** Stored text and metadata of every live document, in store order (checksums verified). */
  *documents(): Generator<StoredDocument> {
    this.assertOpen();
    this.assertIdle();
    const byNumber = new Map(this.loadedSegments().map((s) => [s.entry.number, s]));
    for (const row of this.store.allRows()) {
      const s = byNumber.get(row.segment);
      if (s === undefined || s.deleted.has(row.local)) continue;
      yield this.store.decodeRow(row);
    }
  }

  /** External ids of all live documents, in index order (the order ties are broken in). */
  *ids(): Generator<string> {
    this.assertOpen();
    for (const { segment, excluded } of this.loadedSegments()) {
      for (let d = 0; d < segment.docIds.length; d++) if (excluded === undefined || excluded[d] === 0) yield segment.docIds[d];
    }
  }

  info(): IndexInfo {
    this.assertOpen();
    return indexInfo(this.path, this.state.manifest, this.loadedSegments());
  }

  protected setState(state: CommittedState, segments: LoadedSegment[] | undefined): void {
    this.state = state;
    this.segments = segments;
    this.filterCache.clear();
    this.planCache.clear();
    this.plainPlans.clear();
    this.rowsVerified = false;
  }

  /** Loaded segments, loading them now for a writer that has not needed them yet. */
  protected loadedSegments(): LoadedSegment[] {
    if (this.segments === undefined) this.segments = loadSegments(this.path, this.state, [], this.allocate);
    return this.segments;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.disposeEncoder();
    this.store.close();
    if (this.removeOnClose !== undefined) rmSync(this.removeOnClose, { recursive: true, force: true });
  }

  protected assertOpen(): void {
    if (this.closed) throw new SpladexError('E_CLOSED', 'the index is closed; open it again with SpladexIndex.open()');
  }

  /** Reads of document rows during a write would see its uncommitted rows. */
  protected assertIdle(): void {
    if (this.writing) throw new SpladexError('E_LOCKED', 'a write (add, delete or compact) is in progress on this index; await it first');
  }}
