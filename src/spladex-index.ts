/**
 * The public index: a directory holding a document store (`spladex.db`: manifest, document rows,
 * delete bitmaps) and one immutable container file per segment (`seg-NNNNNN.spx`). Searching fans
 * out over segments into one top-k heap.
 *
 * Readers (`SpladexIndex.open(dir)`) load every segment into typed arrays and hold a SQLite read
 * snapshot, so what they see never changes under them — not when a writer adds documents, not when
 * compaction deletes the files they were loaded from — until they call `refresh()`.
 *
 * Writers (`SpladexIndex.open(dir, { readonly: false })`) hold the directory's lock and change the
 * index with `add`, `delete` and `compact`. Commit protocol (every write): inside one SQLite
 * `BEGIN IMMEDIATE` transaction, check that no commit was lost and tidy the directory
 * (commit-record.ts), write and fsync any new segment file under a temporary name, fsync the
 * directory, then update document rows, delete bitmaps and the manifest, and COMMIT — that commit
 * is the single point at which the new state exists. Then rename the new segment into place,
 * remove the files the commit made obsolete, and replace `spladex.commit` before returning. A
 * crash before COMMIT leaves the old state plus a temporary file (debris the next writer removes);
 * after it, the new one (a temporary segment the next writer renames, obsolete files it removes).
 *
 * A fresh `buildIndex` works in `<dir>.tmp-<pid>-<time>` and renames the finished directory into
 * place; rebuilding an existing index (`overwrite`) goes through the writer protocol instead, so
 * it is atomic too and readers keep working.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { checkRange, isSpladexError, SpladexError } from './errors.js';
import { checkStorableString, type SkippedLine } from './io/documents.js';
import { buildSegment, indexForward, mergeForward, type BuildProgress, type DocumentSource, type ForwardInput, type IngestOptions, type MergeSource, type SegmentBuildStats } from './index/build.js';
import { bitmapMask, newBitmap, serializeBitmap, type Bitmap } from './index/deletes.js';
import { loadSegmentFile, readCommittedState, type CommittedState } from './index/state.js';
import { compileFilter, normaliseFilter, type Filter } from './index/filter.js';
import { forwardBytes } from './index/forward.js';
import { IdLookup } from './index/id-lookup.js';
import { invertedBytes } from './index/inverted.js';
import { processAlive, WriterLock } from './index/lock.js';
import { INDEX_FORMAT_VERSION, liveDocuments, parseManifest, segmentDigest, segmentFileName, type Manifest, type SegmentEntry } from './index/manifest.js';
import { classifyFiles, listIndexDirectory, lostCommitError, readCommitRecord, temporarySegmentName, tidyDirectory, writeCommitRecord } from './index/commit-record.js';
import { fsyncPath, tryRemove } from './util/fs.js';
import { ioFailure, isIoFailure } from './util/io-failure.js';
import { BUILD_DEFAULTS, resolveBuildOptions, type BuildOptions, type ResolvedBuildOptions } from './index/options.js';
import { segmentLayout, writeSegment, type Segment, type SegmentLayout } from './index/segment.js';
import { DocumentStore, STORE_FILE, type StoredDocument } from './index/store.js';
import { GrowableUint32Array } from './util/growable.js';
import { MaxScoreSearcher } from './query/maxscore.js';
import { resolveSearchOptions, type SearchOptions } from './query/options.js';
import { prepareQuery } from './query/query-vector.js';
import { SegmentSearcher } from './query/segment-searcher.js';
import type { ScoringKernel } from './query/dot.js';
import { SEGMENT_KEY_STRIDE, TopK } from './query/topk.js';
import type { SearchHit, SparseVectorInput } from './types.js';
import type { Encoder } from './encode/encoder.js';
import { documentFrequencies } from './encode/flops.js';
import { bm25Idf, idfTableFromJson, readIdfJson, type IdfTable } from './encode/idf.js';
import type { EncoderSpec } from './encode/spec.js';
import {
  copyTextMeta,
  noEncoderError,
  openStoredEncoder,
  readStoredEncoder,
  readStoredIdf,
  writeIdfMeta,
  writeTextMeta,
  type EncoderOverrides,
  type StoredIdf,
  type TextMeta,
} from './index/encoder-store.js';
import {
  corpusIdfTable,
  forwardMatrix,
  idfForVocabulary,
  POSTING_PRUNING_KEYS,
  postingPruningActive,
  pruneForwardInput,
  resolvePostingPruning,
  type PostingPruningOptions,
  type PostingPruningReport,
  type ResolvedPostingPruning,
} from './index/posting-pruning.js';
import { indexTextCorpus, type EncoderBuildReport, type TextCorpusSource } from './index/text-source.js';
import { encodeChunkSize } from './encode/corpus.js';
import { ENCODER_DEFAULTS } from './encode/encoder.js';

export { INDEX_FORMAT_VERSION };
export type { Manifest, SegmentEntry, BuildProgress, DocumentSource, SkippedLine, StoredDocument, Filter, EncoderOverrides, StoredIdf };

export interface IndexBuildOptions extends BuildOptions, IngestOptions, PostingPruningOptions {
  /** Replace an existing index at the target directory. Default false (refuse with E_INDEX_EXISTS). */
  overwrite?: boolean;
  /**
   * IDF per term, the `idf` of posting pruning's value = weight × idf (`flopsBudget`,
   * `maxTermsPerDoc`): an idf.json path, a Map or a `{ token: idf }` object. Stored with the index.
   * Terms missing from the table count as idf 0 (a query never weights them), so they go first.
   * Default: the encoder's table for an index built from text (lexical, inference-free), else BM25
   * IDF of the corpus document frequencies (stored when posting pruning is on).
   */
  idf?: string | IdfTable | Record<string, number>;
}

export interface BuildSummary extends SegmentBuildStats {
  path: string;
  vocabularySize: number;
  bytes: { total: number; parts: Record<string, number> };
  seconds: SegmentBuildStats['seconds'] & { write: number; total: number };
  /** FLOPS and postings before and after index-time posting pruning, when it was asked for. */
  postingPruning?: PostingPruningReport;
  /** Indexes built from text: the encoder, its throughput and where its time went. */
  encoder?: EncoderBuildReport;
}

/** Options of `add` and `compact`. Defaults in `WRITE_DEFAULTS`. */
export interface WriteOptions {
  /**
   * A new segment with fewer documents than this is stored flat (forward index only) and searched
   * exhaustively: for a few thousand documents that is as fast as a pruned search, exact, and
   * skips the blocking work. Larger segments get the Seismic structure with the index's build
   * options. Default 5,000; range 0 – 2^31 (0: always Seismic).
   */
  smallSegmentDocs?: number;
  /** Build threads. Default: `BUILD_DEFAULTS.threads`; range 1 – 64. Never changes what is built. */
  threads?: number;
}

export const WRITE_DEFAULTS: Readonly<Required<WriteOptions>> = Object.freeze({
  smallSegmentDocs: 5000,
  threads: BUILD_DEFAULTS.threads,
});

export interface AddOptions extends WriteOptions, IngestOptions {}

/** Options of `addText`: those of `add`, plus the encoder chunk size. Encoder run-time settings come from `OpenOptions.encoder`. */
export interface AddTextOptions extends AddOptions {
  /** Documents per encoder call. Default max(256, 4 × batchSize); range 1 – 1,000,000. */
  chunkSize?: number;
}

export interface AddSummary {
  path: string;
  /** Per-document posting cuts of the index applied to the new documents (see `Manifest.postingPruning`). */
  postingPruning?: PostingPruningReport;
  /**
   * Terms added to a corpus IDF table (lexical indexes, and indexes pruned with corpus IDF): the
   * original N and every existing IDF are kept; a term the index never saw gets
   * `ln(1 + (N − df + 0.5)/(df + 0.5))` with its df in the added documents.
   */
  idfTermsAdded?: number;
  /** `addText`: the encoder, its throughput and where its time went. */
  encoder?: EncoderBuildReport;
  /** Documents added (new ids and replacements). */
  documents: number;
  /** Of those, documents whose id was already live: the old version is now deleted. */
  replaced: number;
  emptyDocuments: number;
  skipped: number;
  postings: number;
  /** The new segment, unless nothing was added. */
  segment?: { file: string; number: number; layout: SegmentLayout };
  /** Live documents in the index after the add. */
  liveDocuments: number;
  seconds: { total: number };
}

export interface DeleteSummary {
  path: string;
  /** Live documents that are now deleted. */
  deleted: number;
  /** Requested ids with no live document (unknown or already deleted). */
  notFound: string[];
  liveDocuments: number;
}

export interface CompactSummary {
  path: string;
  segmentsBefore: number;
  segmentsAfter: number;
  /** Live documents, all now in one segment. */
  documents: number;
  /** Deleted documents dropped for good. */
  dropped: number;
  segment?: { file: string; number: number; layout: SegmentLayout };
  seconds: { total: number };
}

/** Search options of `SpladexIndex.search`: the query-time arguments plus a metadata filter. */
export interface IndexSearchOptions extends SearchOptions {
  /** Only documents whose metadata matches (see `Filter`); an array means all must match. */
  filter?: Filter | readonly Filter[];
  /**
   * Per segment: when at most this many documents pass the filter, they are scored exactly one
   * by one (cheap, and exact whatever the pruning); otherwise the normal search runs with every
   * other document masked out. Default 10,000; range 0 – 2^32.
   */
  filterExactBelow?: number;
}

/** FLOPS of an index and its postings per document (`SpladexIndex.flops`, `spladex info`). */
export interface FlopsReport {
  /** Expected multiply-adds per query of an exact search: `queryFlops` when a query sample was given, else `documentFlops`. */
  flops: number;
  /** Which p_q `flops` used: the query sample's, or the documents' own (p_q = p_d). */
  distribution: 'queries' | 'documents';
  /** `Σ_t df(t)² / N²`: FLOPS with p_q = p_d. */
  documentFlops: number;
  /** `Σ_t df_q(t)·df(t) / (N_q·N)` over the query sample; null without one. */
  queryFlops: number | null;
  /** Queries in the sample (0 without one). */
  queries: number;
  /** Live documents. */
  documents: number;
  /** Forward postings per live document. */
  postingsPerDocument: { mean: number; p50: number; p99: number; max: number };
}

export const FILTER_SEARCH_DEFAULTS: Readonly<Required<Pick<IndexSearchOptions, 'filterExactBelow'>>> = Object.freeze({ filterExactBelow: 10_000 });

export interface OpenOptions {
  /**
   * Indexes built from text: run-time settings of the stored encoder (`searchText`, `addText`,
   * `encoder()`): `model` relocates the model directory (its checksum must still match: `E_MODEL`),
   * `threads`, `batchSize`, … Everything that shapes vectors comes from the stored spec.
   */
  encoder?: EncoderOverrides;
  /**
   * `true` (default): a reader — loads every segment and holds a consistent snapshot until
   * `refresh()` or `close()`; never blocks writers. `false`: a writer — takes the index lock
   * (`E_LOCKED` if another writer holds it) and allows `add`, `delete`, `compact`.
   */
  readonly?: boolean;
  /** Writers: what to record in the lock file, shown to refused writers. Default "library writer". */
  writerName?: string;
}

export interface IndexInfo {
  path: string;
  formatVersion: number;
  /** Live documents (deleted ones excluded). */
  documents: number;
  /** Deleted documents still stored (until `compact`). */
  deletedDocuments: number;
  generation: number;
  vocabularySize: number;
  postings: number;
  keptPostings: number;
  blocks: number;
  summaryEntries: number;
  /** Bytes on disk per part (segment sections summed over segments, plus the document store). */
  bytes: { total: number; parts: Record<string, number> };
  /** Bytes of the in-memory structures: forward index, inverted index (postings + summaries) and κ-NN graph. */
  memory: { forward: number; inverted: number; graph: number; total: number };
  build: ResolvedBuildOptions;
  /** The encoder of an index built from text (null: built from vectors). */
  encoder: { kind: EncoderSpec['kind']; label: string } | null;
  /** The stored IDF table (null: none): where it came from and its size. */
  idf: { source: 'file' | 'corpus' | 'table'; terms: number } | null;
  /** Index-time posting pruning the index was built with (null: none). */
  postingPruning: ResolvedPostingPruning | null;
  segments: Array<SegmentEntry & { layout: SegmentLayout; postings: number; keptPostings: number; blocks: number; scoringKernel: ScoringKernel }>;
  /**
   * Kernels searches score candidates with: `webassembly` (the default where the segment layout
   * allows), `javascript` (u8/f32 forward values, vocabularies over 65,536 terms, segments over
   * 4 GiB, no WebAssembly, or `SPLADEX_WASM=0`), `mixed` when segments differ. Same results.
   */
  scoringKernel: ScoringKernel | 'mixed';
}

// ---- Files --------------------------------------------------------------------------------------

/** Moves a finished temporary directory to `out`, replacing an old directory only if asked to. */
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
  try {
    renameSync(temporary, out);
  } catch (error) {
    // Another process published the same directory first.
    if (['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) {
      throw new SpladexError('E_INDEX_EXISTS', `${out} was created by another process meanwhile; choose another --out or pass --overwrite`, { file: out });
    }
    throw error;
  }
  fsyncPath(dirname(out));
}

function temporarySibling(out: string): string {
  const path = `${out}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(path, { recursive: true });
  return path;
}

/** Removes `<dir>.tmp-<pid>-<t>` and `<dir>.old-<pid>-<t>` left by builds whose process died. */
function removeStaleSiblings(dir: string): void {
  const parent = dirname(dir);
  const prefix = basename(dir);
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^\.(tmp|old)-(\d+)-\d+$/.exec(name.slice(prefix.length));
    if (match !== null && !processAlive(Number(match[2]))) rmSync(join(parent, name), { recursive: true, force: true });
  }
}

// ---- Loaded state -------------------------------------------------------------------------------

interface LoadedSegment {
  entry: SegmentEntry;
  segment: Segment;
  searcher: SegmentSearcher;
  /** Exact MaxScore searcher, created on first use (it builds an unpruned inverted index). */
  maxScore?: MaxScoreSearcher;
  deleted: Bitmap;
  /** `excluded[d] === 1` for deleted documents; absent when none is deleted. */
  excluded?: Uint8Array;
  /** External id → local id, built on first `getDocument`. */
  ids?: IdLookup;
}

function attach(entry: SegmentEntry, segment: Segment, deleted: Bitmap, reuse?: LoadedSegment): LoadedSegment {
  const loaded: LoadedSegment = { entry, segment, searcher: reuse?.searcher ?? new SegmentSearcher(segment), deleted };
  if (reuse?.maxScore !== undefined) loaded.maxScore = reuse.maxScore;
  if (reuse?.ids !== undefined) loaded.ids = reuse.ids;
  if (deleted.size > 0) loaded.excluded = bitmapMask(deleted, segment.meta.nDocs);
  return loaded;
}

function loadSegments(dir: string, state: CommittedState, reuse: readonly LoadedSegment[] = []): LoadedSegment[] {
  return state.manifest.segments.map((entry) => {
    const deleted = state.deletes.get(entry.number)!;
    // Segment files never change once written, so a segment already in memory is reused as is.
    const previous = reuse.find((s) => s.entry.file === entry.file && s.entry.documents === entry.documents && s.entry.digest === entry.digest);
    return attach(entry, previous?.segment ?? loadSegmentFile(dir, entry), deleted, previous);
  });
}

/**
 * Opens a snapshot and loads it. A file can vanish between reading the manifest and loading it
 * only if a writer committed a newer state meanwhile and removed files the new state no longer
 * needs; then the load is simply retried on the newer state.
 */
function loadSnapshot(dir: string, store: DocumentStore, reuse: readonly LoadedSegment[] = []): { state: CommittedState; segments: LoadedSegment[] } {
  for (let attempt = 0; ; attempt++) {
    // The directory and the commit record are read before the snapshot starts, so every file and
    // commit they show is one the snapshot already sees (files appear only after their commit).
    const names = listIndexDirectory(dir);
    const record = readCommitRecord(dir);
    store.beginSnapshot();
    let state: CommittedState | undefined;
    try {
      state = readCommittedState(store);
      const lost = lostCommitError(dir, state.manifest, state.manifestCrc, record, classifyFiles(names, state.manifest));
      if (lost !== undefined) throw lost;
      return { state, segments: loadSegments(dir, state, reuse) };
    } catch (error) {
      store.endSnapshot();
      const vanished = state !== undefined && state.manifest.segments.some((e) => !existsSync(join(dir, e.file)));
      if (!vanished || attempt >= 20) throw error;
      const latest = parseManifest(store.getMeta<unknown>('manifest'), store.path);
      if (latest.generation === state!.manifest.generation) throw error;
    }
  }
}

interface WritePlan<T> {
  result: T;
  /** Absent: nothing changed, the transaction is rolled back. */
  manifest?: Manifest;
  deletes?: Map<number, Bitmap>;
  /** Segments built by this write, by number (kept in memory so the writer need not reread them). */
  built?: Map<number, Segment>;
}

interface WriteContext {
  state: CommittedState;
  /** New segment files of this write, as (temporary path, final path): renamed after COMMIT, removed if it fails. */
  created: Array<{ temporary: string; file: string }>;
}

/** Where a write puts new segment `file` until its commit (see commit-record.ts). */
function stageSegment(created: WriteContext['created'], dir: string, file: string): string {
  const temporary = join(dir, temporarySegmentName(file));
  created.push({ temporary, file: join(dir, file) });
  return temporary;
}

function resolveWriteOptions(options: WriteOptions): Required<WriteOptions> {
  const o = { ...WRITE_DEFAULTS };
  if (options.smallSegmentDocs !== undefined) o.smallSegmentDocs = options.smallSegmentDocs;
  if (options.threads !== undefined) o.threads = options.threads;
  checkRange('smallSegmentDocs', o.smallSegmentDocs, 0, 2 ** 31, true);
  checkRange('threads', o.threads, 1, 64, true);
  return o;
}

function pickIngest(options: IngestOptions): IngestOptions {
  const out: IngestOptions = {};
  if (options.skipInvalid !== undefined) out.skipInvalid = options.skipInvalid;
  if (options.onSkip !== undefined) out.onSkip = options.onSkip;
  if (options.onProgress !== undefined) out.onProgress = options.onProgress;
  if (options.sourceLabel !== undefined) out.sourceLabel = options.sourceLabel;
  return out;
}

function pickBuildOptions(options: IndexBuildOptions): BuildOptions {
  const build: Record<string, unknown> = {};
  for (const key of Object.keys(BUILD_DEFAULTS)) if ((options as Record<string, unknown>)[key] !== undefined) build[key] = (options as Record<string, unknown>)[key];
  return build as BuildOptions;
}

function pickPostingPruning(options: IndexBuildOptions): PostingPruningOptions {
  const picked: PostingPruningOptions = {};
  for (const key of POSTING_PRUNING_KEYS) if (options[key] !== undefined) picked[key] = options[key];
  return picked;
}

/** An `idf` option as a stored table. */
async function loadIdfOption(idf: NonNullable<IndexBuildOptions['idf']>): Promise<StoredIdf> {
  if (typeof idf === 'string') {
    const file = resolve(idf);
    const { table, sha256 } = await readIdfJson(file);
    return { source: { type: 'file', file, sha256 }, table };
  }
  if (idf instanceof Map) return { source: { type: 'table' }, table: idfTableFromJson(Object.fromEntries(idf)) };
  return { source: { type: 'table' }, table: idfTableFromJson(idf) };
}

/** @internal What a build stores besides its segments (set by `buildTextIndex`). */
export interface BuildExtras {
  encoder?: EncoderSpec;
  idf?: StoredIdf;
}

/** Everything a build decides before reading the first document. */
interface BuildPlan {
  build: ResolvedBuildOptions;
  pruning: ResolvedPostingPruning;
  /** Posting pruning over the finished forward index, when asked for. */
  prepare: ((input: ForwardInput) => ForwardInput) | undefined;
  report: () => PostingPruningReport | undefined;
  /** The encoder and IDF records to store (the IDF may be computed by `prepare`). */
  text: () => TextMeta;
}

async function planBuild(options: IndexBuildOptions, extras: BuildExtras): Promise<BuildPlan> {
  const build = resolveBuildOptions(pickBuildOptions(options));
  const pruning = resolvePostingPruning(pickPostingPruning(options));
  if (options.idf !== undefined && extras.idf !== undefined) {
    throw new SpladexError('E_OPTION', "option idf conflicts with the encoder's IDF table; give the IDF to the encoder (inference-free) or leave it out (lexical uses its corpus IDF)");
  }
  let idf = extras.idf ?? (options.idf === undefined ? undefined : await loadIdfOption(options.idf));
  let report: PostingPruningReport | undefined;
  const prepare = !postingPruningActive(pruning)
    ? undefined
    : (input: ForwardInput): ForwardInput => {
        // No table: BM25 IDF of the corpus document frequencies, stored so that add prunes with the same values.
        idf ??= { source: { type: 'corpus', formula: 'bm25', documents: input.forward.nDocs }, table: corpusIdfTable(input) };
        const result = pruneForwardInput(input, idfForVocabulary(input, idf.table, 0), pruning, idf.source.type);
        report = result.report;
        return result.input;
      };
  return {
    build,
    pruning,
    prepare,
    report: () => report,
    text: () => ({ ...(extras.encoder === undefined ? {} : { encoder: extras.encoder }), ...(idf === undefined ? {} : { idf }) }),
  };
}

/**
 * @internal Refuses bad build options and an existing target now, before a caller spends time on
 * its documents (`buildTextIndex` encodes a corpus first). `buildIndex` checks again.
 */
export function precheckBuild(out: string, options: IndexBuildOptions): void {
  resolveBuildOptions(pickBuildOptions(options));
  resolvePostingPruning(pickPostingPruning(options));
  out = resolve(out);
  if (!existsSync(out) || (statSync(out).isDirectory() && readdirSync(out).length === 0)) return;
  if (!options.overwrite) throw new SpladexError('E_INDEX_EXISTS', `${out} already exists; choose another --out or pass --overwrite`, { file: out });
  if (!existsSync(join(out, STORE_FILE))) throw new SpladexError('E_INDEX_EXISTS', `${out} exists and is not a spladex index; refusing to overwrite it`, { file: out });
}

/** Manifest fields of a finished build besides segments: encoder and IDF references, posting pruning. */
function textManifestFields(store: DocumentStore, plan: BuildPlan): Pick<Manifest, 'encoder' | 'idf' | 'postingPruning'> {
  const fields: Pick<Manifest, 'encoder' | 'idf' | 'postingPruning'> = writeTextMeta(store, plan.text());
  if (postingPruningActive(plan.pruning)) fields.postingPruning = plan.pruning;
  return fields;
}

function partBytes(infos: ReadonlyArray<{ name: string; bytes: number }>): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const info of infos) parts[info.name] = info.bytes;
  return parts;
}

// ---- Build --------------------------------------------------------------------------------------

/**
 * Builds an index from a stream of documents into directory `out` (atomically) and returns a
 * summary. Documents may be an async iterable (e.g. a file stream) of any length. With
 * `overwrite`, an existing index is replaced through the writer protocol (locked, atomic).
 */
export async function buildIndex(documents: DocumentSource, out: string, options: IndexBuildOptions = {}): Promise<BuildSummary> {
  return buildIndexWith(documents, out, options, {});
}

/** @internal `buildIndex` that also stores an encoder spec and IDF table (`buildTextIndex`). */
export async function buildIndexWith(documents: DocumentSource, out: string, options: IndexBuildOptions, extras: BuildExtras): Promise<BuildSummary> {
  const started = performance.now();
  const plan = await planBuild(options, extras);
  out = resolve(out);
  removeStaleSiblings(out);
  if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) {
    if (!options.overwrite) throw new SpladexError('E_INDEX_EXISTS', `${out} already exists; choose another --out or pass --overwrite`, { file: out });
    if (!existsSync(join(out, STORE_FILE))) throw new SpladexError('E_INDEX_EXISTS', `${out} exists and is not a spladex index; refusing to overwrite it`, { file: out });
    let writer: SpladexIndex | undefined;
    try {
      writer = SpladexIndex.open(out, { readonly: false, writerName: 'spladex index --overwrite' });
    } catch (error) {
      // An index too damaged to open is replaced wholesale (below); a locked one is not touched.
      if (!isSpladexError(error) || !['E_CORRUPT', 'E_NOT_AN_INDEX', 'E_FORMAT_VERSION'].includes(error.code)) throw error;
    }
    if (writer !== undefined) {
      try {
        return await writer.replaceAll(documents, plan, pickIngest(options), started);
      } finally {
        writer.close();
      }
    }
  }
  mkdirSync(dirname(out), { recursive: true });
  const temporary = temporarySibling(out);
  try {
    const store = DocumentStore.create(join(temporary, STORE_FILE));
    try {
      const result = await buildSegment(documents, plan.build, store, 1, pickIngest(options), { layout: 'blocked', prepare: plan.prepare });
      options.onProgress?.({ phase: 'write', documents: result.stats.documents, postings: result.stats.postings });
      const writeStarted = performance.now();
      const file = segmentFileName(1);
      const infos = writeSegment(join(temporary, file), result.segment);
      const now = new Date().toISOString();
      const manifest: Manifest = {
        format: 'spladex',
        formatVersion: INDEX_FORMAT_VERSION,
        createdAt: now,
        updatedAt: now,
        generation: 1,
        nextSegment: 2,
        build: plan.build,
        segments: [{ file, number: 1, documents: result.stats.documents, deleted: 0, digest: segmentDigest(infos) }],
        ...textManifestFields(store, plan),
        commitRecord: true,
      };
      const manifestCrc = store.setMeta('manifest', manifest);
      store.finishBuild();
      store.close();
      writeCommitRecord(temporary, { generation: 1, manifestCrc });
      // The store was written with synchronous = OFF: flush it before the rename makes it visible.
      fsyncPath(join(temporary, STORE_FILE));
      fsyncPath(temporary);
      publishDirectory(temporary, out, options.overwrite ?? false);
      const parts = partBytes(infos);
      parts[STORE_FILE] = statSync(join(out, STORE_FILE)).size;
      const total = statSync(join(out, file)).size + parts[STORE_FILE];
      const finished = performance.now();
      const report = plan.report();
      return {
        path: out,
        ...result.stats,
        vocabularySize: result.segment.meta.nTerms,
        bytes: { total, parts },
        seconds: { ...result.stats.seconds, write: (finished - writeStarted) / 1000, total: (finished - started) / 1000 },
        ...(report === undefined ? {} : { postingPruning: report }),
      };
    } finally {
      store.close();
    }
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw isIoFailure(error) ? ioFailure(error, temporary, 'building the index', `nothing was written${existsSync(out) ? ` and ${out} is unchanged` : ''}`) : error;
  }
}

// ---- The index ----------------------------------------------------------------------------------

const FILTER_CACHE_SIZE = 16;

export class SpladexIndex {
  private closed = false;
  private writing = false;
  /** Whether every document row was checked against its checksum and its segment (once per state, before the first filter). */
  private rowsVerified = false;
  private readonly filterCache = new Map<string, Bitmap[]>();
  private readonly removeOnClose: string | undefined = undefined;
  /** The stored encoder, opened on first use; keyed by the manifest's encoder and IDF checksums. */
  private openedEncoder: { key: string; encoder: Promise<Encoder> } | undefined;

  private constructor(
    readonly path: string,
    private readonly store: DocumentStore,
    private state: CommittedState,
    /** Loaded segments; undefined for a writer until something needs them. */
    private segments: LoadedSegment[] | undefined,
    private readonly lock: WriterLock | undefined,
    private readonly encoderOverrides: EncoderOverrides = {},
  ) {}

  /** The committed manifest this object sees. */
  get manifest(): Manifest {
    return this.state.manifest;
  }

  /** Whether this object may write (`open(dir, { readonly: false })`). */
  get writable(): boolean {
    return this.lock !== undefined;
  }

  /** Opens an index directory as a reader (default) or a writer, verifying every checksum it loads. */
  static open(path: string, options: OpenOptions = {}): SpladexIndex {
    path = resolve(path);
    const storePath = join(path, STORE_FILE);
    if (!existsSync(storePath)) {
      throw new SpladexError('E_NOT_AN_INDEX', `${path} is not a spladex index (no ${STORE_FILE}); build one with "spladex index"`, { file: path });
    }
    if (options.readonly === false) return SpladexIndex.openWriter(path, options.writerName ?? 'library writer', options.encoder);
    const store = DocumentStore.open(storePath, true);
    try {
      const { state, segments } = loadSnapshot(path, store);
      return new SpladexIndex(path, store, state, segments, undefined, options.encoder);
    } catch (error) {
      store.close();
      throw error;
    }
  }

  private static openWriter(path: string, writerName: string, encoderOverrides: EncoderOverrides | undefined): SpladexIndex {
    const lock = WriterLock.acquire(path, writerName);
    let store: DocumentStore | undefined;
    try {
      store = DocumentStore.open(join(path, STORE_FILE), false);
      store.migrate();
      const state = readCommittedState(store);
      return new SpladexIndex(path, store, state, undefined, lock, encoderOverrides);
    } catch (error) {
      store?.close();
      lock.release();
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

  /**
   * Readers: moves to the latest committed state (segments already loaded are reused). Returns
   * whether anything changed. If the new state cannot be loaded, the index is closed and the
   * error thrown. Writers always see their own commits; for them this is a no-op.
   */
  refresh(): boolean {
    this.assertOpen();
    this.assertIdle();
    if (this.writable) return false;
    const before = this.state.manifest.generation;
    this.store.endSnapshot();
    try {
      const { state, segments } = loadSnapshot(this.path, this.store, this.segments);
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

  /** Searches one query (token → weight). */
  search(query: SparseVectorInput, options: IndexSearchOptions = {}): SearchHit[] {
    return this.searchBatch([query], options)[0];
  }

  /** Searches many queries with the same options; scratch memory and the filter are shared across them. */
  searchBatch(queries: readonly SparseVectorInput[], options: IndexSearchOptions = {}): SearchHit[][] {
    this.assertOpen();
    const { filter, filterExactBelow, ...searchOptions } = options;
    const o = resolveSearchOptions(searchOptions);
    const exactBelow = filterExactBelow ?? FILTER_SEARCH_DEFAULTS.filterExactBelow;
    checkRange('filterExactBelow', exactBelow, 0, 2 ** 32, true);
    const segments = this.loadedSegments();
    const allowed = filter === undefined ? undefined : this.allowLists(filter);
    // Per segment: the documents to score one by one (small allow-lists), or the mask to search with.
    const plans = segments.map((s, i) => {
      const allow = allowed?.[i];
      if (allow === undefined) return { docs: undefined, excluded: s.excluded, skip: false };
      if (allow.size === 0) return { docs: undefined, excluded: undefined, skip: true };
      const docs = allow.toUint32Array();
      if (allow.size <= exactBelow) return { docs, excluded: undefined, skip: false };
      const mask = new Uint8Array(s.segment.meta.nDocs).fill(1);
      for (let j = 0; j < docs.length; j++) mask[docs[j]] = 0;
      return { docs: undefined, excluded: mask, skip: false };
    });
    const heap = new TopK(o.k);
    return queries.map((query) => {
      heap.reset();
      segments.forEach((loaded, ordinal) => {
        const plan = plans[ordinal];
        if (plan.skip) return;
        const { segment, searcher } = loaded;
        const prepared = prepareQuery(query, segment.termIds);
        const base = ordinal * SEGMENT_KEY_STRIDE;
        if (plan.docs !== undefined) searcher.searchDocuments(prepared, plan.docs, heap, base);
        else if (o.mode === 'maxscore') (loaded.maxScore ??= new MaxScoreSearcher(segment)).search(prepared, heap, base, plan.excluded);
        else if (o.mode === 'exhaustive' || segmentLayout(segment) === 'flat') searcher.searchExhaustive(prepared, heap, base, plan.excluded);
        else searcher.searchApproximate(prepared, o.queryCut, o.heapFactor, o.knn, heap, base, plan.excluded);
      });
      return heap.sorted().map(({ score, key }) => {
        const ordinal = Math.floor(key / SEGMENT_KEY_STRIDE);
        return { id: segments[ordinal].segment.docIds[key - ordinal * SEGMENT_KEY_STRIDE], score };
      });
    });
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
    const key = `${manifest.encoder?.crc ?? 'none'}:${manifest.idf?.crc ?? 'none'}`;
    if (this.openedEncoder?.key !== key) {
      this.disposeEncoder();
      const spec = readStoredEncoder(this.store, manifest);
      if (spec === null) return Promise.reject(noEncoderError(this.path));
      const encoder = openStoredEncoder(spec, readStoredIdf(this.store, manifest), this.encoderOverrides);
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
    const segments = this.loadedSegments();
    // Document frequencies over live documents, per token (one segment: its own term ids).
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
    let self = 0;
    for (let t = 0; t < globalIds.size; t++) self += df[t] * df[t];
    const documentFlops = n > 0 ? self / (n * n) : 0;
    let queryFlops: number | null = null;
    const queries = options.queries;
    if (queries !== undefined) {
      let sum = 0;
      for (const query of queries) {
        for (const token in query) {
          if (!(query[token] > 0)) continue;
          const id = globalIds.get(token);
          if (id !== undefined) sum += df[id];
        }
      }
      queryFlops = queries.length > 0 && n > 0 ? sum / (queries.length * n) : 0;
    }
    const sorted = lengths.view().slice().sort();
    const at = (q: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
    const total = sorted.reduce((a, b) => a + b, 0);
    return {
      flops: queryFlops ?? documentFlops,
      distribution: queryFlops === null ? 'documents' : 'queries',
      documentFlops,
      queryFlops,
      queries: queries?.length ?? 0,
      documents: n,
      postingsPerDocument: { mean: n > 0 ? total / n : 0, p50: at(0.5), p99: at(0.99), max: sorted.length === 0 ? 0 : sorted[sorted.length - 1] },
    };
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
    for (const s of this.loadedSegments()) {
      const locals = (s.ids ??= IdLookup.build(s.segment.docIds)).find(String(id));
      for (const local of locals) {
        if (s.deleted.has(local)) continue;
        const doc = this.store.getDocument(s.entry.number, local);
        if (doc === undefined || doc.id !== String(id)) throw this.store.corrupt(`the stored row of document ${JSON.stringify(id)} is missing or does not match segment ${s.entry.number}`);
        return doc;
      }
    }
    return undefined;
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
    const parts: Record<string, number> = {};
    let total = 0;
    let forward = 0;
    let inverted = 0;
    let graph = 0;
    const segments: IndexInfo['segments'] = [];
    const loaded = this.loadedSegments();
    for (const { entry, segment, searcher } of loaded) {
      for (const part of segment.parts ?? []) parts[part.name] = (parts[part.name] ?? 0) + part.bytes;
      const file = join(this.path, entry.file);
      total += existsSync(file) ? statSync(file).size : (segment.parts ?? []).reduce((n, p) => n + p.bytes, 0);
      forward += forwardBytes(segment.forward);
      inverted += invertedBytes(segment.inverted);
      graph += segment.neighbors.byteLength;
      segments.push({ ...entry, layout: segmentLayout(segment), postings: segment.meta.nPostings, keptPostings: segment.inverted.postingDocs.length, blocks: segment.inverted.blockScales.length, scoringKernel: searcher.kernel });
    }
    const kernels = new Set(segments.map((s) => s.scoringKernel));
    parts[STORE_FILE] = statSync(join(this.path, STORE_FILE)).size;
    total += parts[STORE_FILE];
    const sum = (f: (s: Segment) => number): number => loaded.reduce((n, { segment }) => n + f(segment), 0);
    const manifest = this.state.manifest;
    return {
      path: this.path,
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
      idf: manifest.idf === undefined ? null : { source: manifest.idf.source, terms: manifest.idf.terms },
      postingPruning: manifest.postingPruning ?? null,
      segments,
      scoringKernel: kernels.size > 1 ? 'mixed' : ([...kernels][0] ?? 'javascript'),
    };
  }

  // ---- Writes -----------------------------------------------------------------------------------

  /**
   * Adds documents as one new segment (writers only). A document whose id is already live
   * replaces it: the old version is marked deleted in the same commit. Ids repeated within
   * `documents` are an error (`E_INPUT_DUPLICATE_ID`, or skipped with `skipInvalid`). All or
   * nothing: on any error the index is unchanged.
   */
  async add(documents: DocumentSource, options: AddOptions = {}): Promise<AddSummary> {
    const started = performance.now();
    const o = resolveWriteOptions(options);
    const summary = await this.write(async ({ state, created }): Promise<WritePlan<AddSummary>> => {
      const { manifest, deletes } = state;
      const plan = this.addPlan(manifest);
      const number = manifest.nextSegment;
      const inManifest = new Set(manifest.segments.map((s) => s.number));
      const changed = new Set<number>();
      let replaced = 0;
      const onAccept = (doc: { id: string }): void => {
        for (const { segment, local } of this.store.findById(doc.id)) {
          if (segment === number || !inManifest.has(segment)) continue;
          const bitmap = deletes.get(segment)!;
          if (bitmap.has(local)) continue;
          bitmap.add(local);
          changed.add(segment);
          replaced++;
        }
      };
      // The layout depends on the document count, known only at the end of the stream.
      const { segment, stats } = await buildSegment(documents, { ...manifest.build, threads: o.threads }, this.store, number, pickIngest(options), {
        onAccept,
        layout: (n: number) => (n < o.smallSegmentDocs ? 'flat' : 'blocked'),
        prepare: plan.prepare,
      });
      const report = plan.report();
      const summary = (live: number, seg?: AddSummary['segment']): AddSummary => ({
        path: this.path,
        ...(report === undefined ? {} : { postingPruning: report }),
        ...(plan.added() > 0 && seg !== undefined ? { idfTermsAdded: plan.added() } : {}),
        documents: stats.documents,
        replaced,
        emptyDocuments: stats.emptyDocuments,
        skipped: stats.skipped,
        postings: stats.postings,
        ...(seg === undefined ? {} : { segment: seg }),
        liveDocuments: live,
        seconds: { total: (performance.now() - started) / 1000 },
      });
      if (stats.documents === 0) return { result: summary(liveDocuments(manifest)) };
      const file = segmentFileName(number);
      const infos = writeSegment(stageSegment(created, this.path, file), segment);
      deletes.set(number, newBitmap());
      const idf = plan.updatedIdf();
      const changes: Partial<Manifest> = { nextSegment: number + 1 };
      if (idf !== undefined) changes.idf = writeIdfMeta(this.store, idf);
      const next = this.nextManifest(manifest, deletes, [...manifest.segments, { file, number, documents: stats.documents, deleted: 0, digest: segmentDigest(infos) }], changes);
      return { result: summary(liveDocuments(next), { file, number, layout: segmentLayout(segment) }), manifest: next, deletes, built: new Map([[number, segment]]) };
    });
    return summary;
  }

  /**
   * What `add` does to new documents besides indexing them: the index's per-document posting cuts
   * (`maxTermsPerDoc`, `minWeight`; a FLOPS budget is a property of a whole collection and is not
   * re-applied — rebuild to re-prune), and new terms entering a corpus IDF table.
   */
  private addPlan(manifest: Manifest): {
    prepare: ((input: ForwardInput) => ForwardInput) | undefined;
    report: () => PostingPruningReport | undefined;
    updatedIdf: () => StoredIdf | undefined;
    added: () => number;
  } {
    const stored = manifest.postingPruning;
    const cuts = stored !== undefined && (stored.maxTermsPerDoc > 0 || stored.minWeight > 0) ? { ...stored, flopsBudget: 0 } : undefined;
    let idf = readStoredIdf(this.store, manifest);
    const source = idf?.source;
    const extend = source?.type === 'corpus';
    let report: PostingPruningReport | undefined;
    let updated: StoredIdf | undefined;
    let added = 0;
    const prepare =
      cuts === undefined && !extend
        ? undefined
        : (input: ForwardInput): ForwardInput => {
            if (idf !== null && source?.type === 'corpus') {
              const df = documentFrequencies(forwardMatrix(input));
              let table: Map<string, number> | undefined;
              for (let t = 0; t < input.vocabulary.length; t++) {
                const token = input.vocabulary[t];
                if (df[t] === 0 || idf.table.has(token)) continue;
                table ??= new Map(idf.table);
                table.set(token, bm25Idf(source.documents, df[t]));
                added++;
              }
              if (table !== undefined) idf = updated = { source, table };
            }
            if (cuts === undefined) return input;
            const result = pruneForwardInput(input, idfForVocabulary(input, idf?.table ?? null, 0), cuts, idf?.source.type ?? 'corpus');
            report = result.report;
            return result.input;
          };
    return { prepare, report: () => report, updatedIdf: () => updated, added: () => added };
  }

  /**
   * Adds a text corpus (writers only; see `TextCorpusSource`), encoded with the encoder the index
   * was built with — its stored spec and IDF table, one pass — as one new segment, like `add`.
   * Lexical indexes keep their original corpus statistics: N, avgdl and every IDF stay as built
   * (scores of existing documents do not move, and BM25 stays comparable across segments); a term
   * the index never saw gets an IDF from the original N and its df in the added documents
   * (`idfTermsAdded`). Rebuild to recompute the statistics over everything.
   * `E_INPUT_VECTOR` for an index built from vectors.
   */
  async addText(corpus: TextCorpusSource, options: AddTextOptions = {}): Promise<AddSummary> {
    const started = performance.now();
    this.assertOpen();
    if (!this.writable) throw new SpladexError('E_OPTION', 'this index was opened read-only; open it with { readonly: false } to add, delete or compact');
    const spec = readStoredEncoder(this.store, this.state.manifest);
    if (spec === null) throw noEncoderError(this.path);
    const encoder = await openStoredEncoder(spec, readStoredIdf(this.store, this.state.manifest), this.encoderOverrides);
    try {
      const label = options.sourceLabel ?? (typeof corpus === 'string' ? corpus : '<documents>');
      const { chunkSize, ...addOptions } = options;
      const pass = {
        label,
        chunkSize: chunkSize ?? encodeChunkSize(this.encoderOverrides.batchSize ?? ENCODER_DEFAULTS.batchSize),
        skipInvalid: options.skipInvalid ?? false,
        ...(options.onSkip === undefined ? {} : { onSkip: options.onSkip }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      };
      return await indexTextCorpus(encoder, corpus, pass, started, (documents) => this.add(documents, { ...addOptions, sourceLabel: label }));
    } finally {
      await encoder.dispose();
    }
  }

  /**
   * Marks the live documents with these external ids deleted (writers only). Unknown or already
   * deleted ids are reported in `notFound`, not an error.
   */
  async delete(ids: Iterable<string | number>): Promise<DeleteSummary> {
    // Before the write lock: an id UTF-8 cannot store names no stored document (SQLite would look up its U+FFFD form).
    const wanted = Array.from(ids, (x) => checkStorableString(String(x), 'id'));
    return this.write(({ state }): WritePlan<DeleteSummary> => {
      const { manifest, deletes } = state;
      const notFound: string[] = [];
      let deleted = 0;
      for (const id of new Set(wanted)) {
        let hit = false;
        for (const { segment, local } of this.store.findById(id)) {
          const bitmap = deletes.get(segment);
          if (bitmap === undefined || bitmap.has(local)) continue;
          bitmap.add(local);
          hit = true;
          deleted++;
        }
        if (!hit) notFound.push(id);
      }
      if (deleted === 0) return { result: { path: this.path, deleted, notFound, liveDocuments: liveDocuments(manifest) } };
      const next = this.nextManifest(manifest, deletes, manifest.segments, {});
      return { result: { path: this.path, deleted, notFound, liveDocuments: liveDocuments(next) }, manifest: next, deletes };
    });
  }

  /**
   * Merges all segments into one and drops deleted documents for good (writers only). The new
   * segment is built from the stored forward vectors with the index's build options; rows keep
   * their content and checksums. Does nothing when the index is one segment without deletes.
   */
  async compact(options: WriteOptions = {}): Promise<CompactSummary> {
    const started = performance.now();
    const o = resolveWriteOptions(options);
    return this.write(async ({ state, created }): Promise<WritePlan<CompactSummary>> => {
      const { manifest } = state;
      const dropped = manifest.segments.reduce((n, s) => n + s.deleted, 0);
      const summary = (after: number, seg?: CompactSummary['segment']): CompactSummary => ({
        path: this.path,
        segmentsBefore: manifest.segments.length,
        segmentsAfter: after,
        documents: liveDocuments(manifest),
        dropped,
        ...(seg === undefined ? {} : { segment: seg }),
        seconds: { total: (performance.now() - started) / 1000 },
      });
      if (manifest.segments.length <= 1 && dropped === 0) return { result: summary(manifest.segments.length) };
      const loaded = loadSegments(this.path, state, this.segments ?? []);
      const sources: MergeSource[] = loaded.map(({ segment, deleted }) => {
        const live = new Uint32Array(segment.meta.nDocs - deleted.size);
        for (let d = 0, i = 0; d < segment.meta.nDocs; d++) if (!deleted.has(d)) live[i++] = d;
        return { segment, live };
      });
      const nLive = sources.reduce((n, s) => n + s.live.length, 0);
      const number = manifest.nextSegment;
      const remaining = new Map<number, Bitmap>();
      let entries: SegmentEntry[] = [];
      let built: Map<number, Segment> | undefined;
      let seg: CompactSummary['segment'];
      if (nLive > 0) {
        const input = mergeForward(sources, manifest.build.forwardValues);
        const { segment } = await indexForward(input, { ...manifest.build, threads: o.threads }, nLive < o.smallSegmentDocs ? 'flat' : 'blocked');
        // Rows follow their documents; order is kept, so ties still break the same way.
        let next = 0;
        sources.forEach(({ live }, i) => {
          const from = loaded[i].entry.number;
          for (let j = 0; j < live.length; j++) this.store.moveDocument(from, live[j], number, next++);
        });
        const file = segmentFileName(number);
        const infos = writeSegment(stageSegment(created, this.path, file), segment);
        entries = [{ file, number, documents: nLive, deleted: 0, digest: segmentDigest(infos) }];
        remaining.set(number, newBitmap());
        built = new Map([[number, segment]]);
        seg = { file, number, layout: segmentLayout(segment) };
      }
      const next = this.nextManifest(manifest, remaining, entries, { nextSegment: number + 1 });
      return { result: summary(entries.length, seg), manifest: next, deletes: remaining, ...(built === undefined ? {} : { built }) };
    });
  }

  /** @internal `buildIndex(..., { overwrite })` on an existing index: one commit replaces every segment and row. */
  async replaceAll(documents: DocumentSource, plan: BuildPlan, ingest: IngestOptions, started: number): Promise<BuildSummary> {
    return this.write(async ({ state, created }): Promise<WritePlan<BuildSummary>> => {
      const { manifest } = state;
      const number = manifest.nextSegment;
      const result = await buildSegment(documents, plan.build, this.store, number, ingest, { layout: 'blocked', prepare: plan.prepare });
      ingest.onProgress?.({ phase: 'write', documents: result.stats.documents, postings: result.stats.postings });
      const writeStarted = performance.now();
      const file = segmentFileName(number);
      const staged = stageSegment(created, this.path, file);
      const infos = writeSegment(staged, result.segment);
      const deletes = new Map([[number, newBitmap()]]);
      const now = new Date().toISOString();
      // Every field of the old index that the new build does not set again goes.
      const { encoder: _e, idf: _i, postingPruning: _p, ...base } = manifest;
      const next = this.nextManifest({ ...base, build: plan.build, createdAt: now, ...textManifestFields(this.store, plan) }, deletes, [{ file, number, documents: result.stats.documents, deleted: 0, digest: segmentDigest(infos) }], {
        nextSegment: number + 1,
      });
      const parts = partBytes(infos);
      const finished = performance.now();
      const report = plan.report();
      const summary: BuildSummary = {
        path: this.path,
        ...result.stats,
        vocabularySize: result.segment.meta.nTerms,
        bytes: { total: statSync(staged).size, parts },
        seconds: { ...result.stats.seconds, write: (finished - writeStarted) / 1000, total: (finished - started) / 1000 },
        ...(report === undefined ? {} : { postingPruning: report }),
      };
      return { result: summary, manifest: next, deletes, built: new Map([[number, result.segment]]) };
    }).then((summary) => {
      summary.bytes.parts[STORE_FILE] = statSync(join(this.path, STORE_FILE)).size;
      summary.bytes.total += summary.bytes.parts[STORE_FILE];
      return summary;
    });
  }

  /**
   * The next manifest: deleted counts from `deletes`, segments without a live document dropped,
   * generation and time advanced.
   */
  private nextManifest(manifest: Manifest, deletes: Map<number, Bitmap>, segments: readonly SegmentEntry[], changes: Partial<Manifest>): Manifest {
    const kept = segments
      .map((entry) => ({ ...entry, deleted: deletes.get(entry.number)?.size ?? 0 }))
      .filter((entry) => entry.documents > entry.deleted);
    return { ...manifest, ...changes, segments: kept, generation: manifest.generation + 1, updatedAt: new Date().toISOString() };
  }

  /** Runs one write under the commit protocol (see the file comment and commit-record.ts). */
  private async write<T>(work: (context: WriteContext) => Promise<WritePlan<T>> | WritePlan<T>): Promise<T> {
    this.assertOpen();
    if (!this.writable) throw new SpladexError('E_OPTION', 'this index was opened read-only; open it with { readonly: false } to add, delete or compact');
    this.assertIdle();
    this.writing = true;
    const store = this.store;
    const context: WriteContext = { state: this.state, created: [] };
    let plan: WritePlan<T>;
    let manifestCrc = 0;
    let removed: SegmentEntry[] = [];
    try {
      store.beginWrite();
      // The committed state is reread inside the transaction: it is the truth, whatever this object cached.
      const names = listIndexDirectory(this.path);
      const record = readCommitRecord(this.path);
      context.state = readCommittedState(store);
      const { manifest } = context.state;
      const files = classifyFiles(names, manifest);
      // A rolled-back database must not be written on: its next commit would bury the lost one.
      const lost = lostCommitError(this.path, manifest, context.state.manifestCrc, record, files);
      if (lost !== undefined) throw lost;
      const obsoleteLeft = tidyDirectory(this.path, files);
      removeStaleSiblings(this.path);
      // Before the first commit whose manifest promises a record (and after a writer that died
      // before updating it), the record catches up with the database.
      if (record === undefined || record.generation < manifest.generation) writeCommitRecord(this.path, { generation: manifest.generation, manifestCrc: context.state.manifestCrc });
      plan = await work(context);
      if (plan.manifest !== undefined) {
        const before = manifest;
        const kept = new Set(plan.manifest.segments.map((s) => s.number));
        removed = before.segments.filter((s) => !kept.has(s.number));
        const obsolete = [...new Set([...obsoleteLeft, ...removed.map((s) => s.file)])];
        const { obsolete: _previous, ...rest } = plan.manifest;
        plan.manifest = { ...rest, commitRecord: true, ...(obsolete.length > 0 ? { obsolete } : {}) };
        for (const entry of plan.manifest.segments) {
          const bitmap = plan.deletes?.get(entry.number);
          const previous = before.segments.find((s) => s.number === entry.number);
          if (bitmap !== undefined && (previous === undefined || previous.deleted !== bitmap.size) && bitmap.size > 0) store.setDeletes(entry.number, serializeBitmap(bitmap));
        }
        for (const entry of removed) store.removeSegment(entry.number);
        // Rows of segments built by this write but dropped at once (everything in them deleted).
        for (const number of plan.built?.keys() ?? []) if (!kept.has(number)) store.removeSegment(number);
        manifestCrc = store.setMeta('manifest', plan.manifest);
        // New segment files are fsynced by writeContainer; their directory entries must be durable
        // before the commit record that names them.
        fsyncPath(this.path);
        store.commit();
      } else {
        store.rollback();
      }
    } catch (error) {
      store.rollback();
      for (const { temporary } of context.created) tryRemove(temporary);
      this.writing = false;
      throw isIoFailure(error) ? ioFailure(error, this.path, 'writing the index') : error;
    }
    this.writing = false;
    for (const { temporary } of plan.manifest === undefined ? context.created : []) tryRemove(temporary);
    if (plan.manifest === undefined) return plan.result;
    this.publishCommit(plan.manifest, manifestCrc, context.created);
    const state: CommittedState = { manifest: plan.manifest, manifestCrc, deletes: plan.deletes ?? context.state.deletes };
    if (this.segments !== undefined) {
      const reuse = [...this.segments];
      for (const [number, segment] of plan.built ?? []) {
        const entry = plan.manifest.segments.find((s) => s.number === number);
        if (entry !== undefined) reuse.push(attach(entry, segment, newBitmap()));
      }
      this.setState(state, loadSegments(this.path, state, reuse));
    } else {
      this.setState(state, undefined);
    }
    return plan.result;
  }

  /**
   * After COMMIT: new segments move to their final names, files the commit made obsolete go, the
   * commit record is replaced, and the WAL is checkpointed as far as readers allow. Each step is
   * idempotent and a crash between them is repaired by the next writer (commit-record.ts), so a
   * failure here does not undo the commit and is not reported as one.
   */
  private publishCommit(manifest: Manifest, manifestCrc: number, created: WriteContext['created']): void {
    const named = new Set(manifest.segments.map((s) => join(this.path, s.file)));
    try {
      for (const { temporary, file } of created) {
        if (named.has(file)) renameSync(temporary, file);
        else tryRemove(temporary);
      }
      for (const file of manifest.obsolete ?? []) tryRemove(join(this.path, file));
      fsyncPath(this.path);
      writeCommitRecord(this.path, { generation: manifest.generation, manifestCrc });
    } catch {
      // The commit stands: readers load a segment from its temporary name until the next writer
      // renames it, and a record behind the database is brought up to date by that writer.
    }
    this.store.checkpoint();
  }

  private setState(state: CommittedState, segments: LoadedSegment[] | undefined): void {
    this.state = state;
    this.segments = segments;
    this.filterCache.clear();
    this.rowsVerified = false;
  }

  /** Loaded segments, loading them now for a writer that has not needed them yet. */
  private loadedSegments(): LoadedSegment[] {
    if (this.segments === undefined) this.segments = loadSegments(this.path, this.state);
    return this.segments;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.disposeEncoder();
    this.store.close();
    this.lock?.release();
    if (this.removeOnClose !== undefined) rmSync(this.removeOnClose, { recursive: true, force: true });
  }

  private assertOpen(): void {
    if (this.closed) throw new SpladexError('E_CLOSED', 'the index is closed; open it again with SpladexIndex.open()');
  }

  /** Reads of document rows during a write would see its uncommitted rows. */
  private assertIdle(): void {
    if (this.writing) throw new SpladexError('E_LOCKED', 'a write (add, delete or compact) is in progress on this index; await it first');
  }
}

