/**
 * The index writer: a reader that also holds the directory's lock and changes the index with
 * `add`, `addText`, `delete` and `compact` — each one commit under the protocol of commit.ts. A
 * writer always sees its own commits; it loads segments only when something needs them.
 */
import { join } from 'node:path';
import { encodeChunkSize } from '../encode/corpus.js';
import { documentFrequencies } from '../encode/flops.js';
import { bm25Idf } from '../encode/idf.js';
import { buildSegment, indexForward, mergeForward, type DocumentSource, type ForwardInput, type IngestOptions, type MergeSource } from '../segment/ingest.js';
import { newBitmap, type Bitmap } from '../store/deletes.js';
import { noEncoderError, openStoredEncoder, readStoredEncoder, readStoredIdf, writeIdfMeta, type EncoderOverrides, type StoredIdf } from '../text/encoder-store.js';
import { liveDocuments, segmentDigest, segmentFileName, type Manifest, type SegmentEntry } from '../store/manifest.js';
import { WriterLock } from '../store/lock.js';
import { forwardMatrix, idfForVocabulary, pruneForwardInput, type PostingPruningReport } from '../segment/posting-pruning.js';
import { segmentLayout, writeSegment, type Segment } from '../segment/segment.js';
import { readCommittedState, type CommittedState } from '../store/state.js';
import { DocumentStore, STORE_FILE } from '../store/store.js';
import { indexTextCorpus, type TextCorpusSource } from '../text/text-source.js';
import { checkStorableString } from '../io/documents.js';
import { checkTermSpace, isDeclaredTermSpace, termSpaceEvidence, type TermSpaceEvidence, type TermSpaceOptions } from '../io/term-space.js';
import { checkIndexDirectory, IndexReader } from '../reader/reader.js';
import { attach, loadSegments } from '../reader/snapshot.js';
import type { WriterOptions } from '../reader/types.js';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { recalibrate, recalibrationReason, stillSmall, type RecalibrationReport } from './recalibrate.js';
import { calibrationHook, finishCalibration, partBytes, textManifestFields, type BuildPlan, type BuildSummary } from './build-plan.js';
import { nextManifest, runWrite, stageSegment, type WriteContext, type WritePlan } from './commit.js';
import { resolveWriteOptions, type AddOptions, type AddSummary, type AddTextOptions, type CompactSummary, type DeleteSummary, type WriteOptions } from './options.js';
import { pickIngest } from './build-plan.js';

export class IndexWriter extends IndexReader {
  private constructor(
    path: string,
    store: DocumentStore,
    state: CommittedState,
    private readonly lock: WriterLock,
    encoderOverrides: EncoderOverrides | undefined,
  ) {
    super(path, store, state, undefined, encoderOverrides);
  }

  /**
   * Opens an index directory for writing: takes its lock (`E_LOCKED` naming the holder if another
   * writer has it). Readers keep working meanwhile and see each commit after `refresh()`.
   */
  static override open(path: string, options: WriterOptions = {}): IndexWriter {
    path = resolve(path);
    const storePath = checkIndexDirectory(path);
    const lock = WriterLock.acquire(path, options.writerName ?? 'library writer');
    let store: DocumentStore | undefined;
    try {
      store = DocumentStore.open(storePath, false);
      store.migrate();
      const state = readCommittedState(store);
      return new IndexWriter(path, store, state, lock, options.encoder);
    } catch (error) {
      store?.close();
      lock.release();
      throw error;
    }
  }

  override get writable(): boolean {
    return true;
  }

  /** A writer always sees its own commits: nothing to move to. */
  override refresh(): boolean {
    this.assertOpen();
    this.assertIdle();
    return false;
  }

  override close(): void {
    if (this.closed) return;
    super.close();
    this.lock.release();
  }

  /**
   * Adds documents as one new segment. A document whose id is already live
   * replaces it: the old version is marked deleted in the same commit. Ids repeated within
   * `documents` are an error (`E_INPUT_DUPLICATE_ID`, or skipped with `skipInvalid`). All or
   * nothing: on any error the index is unchanged.
   */
  async add(documents: DocumentSource, options: AddOptions = {}): Promise<AddSummary> {
    return this.addDocuments(documents, options, false);
  }

  /** `add`; `encoded`: the documents come from the index's own encoder (`addText`), so they are in its term space. */
  private async addDocuments(documents: DocumentSource, options: AddOptions, encoded: boolean): Promise<AddSummary> {
    const started = performance.now();
    const o = resolveWriteOptions(options);
    const summary = await this.write(async ({ state, created }): Promise<WritePlan<AddSummary>> => {
      const { manifest, deletes } = state;
      const plan = this.addPlan(manifest, encoded, options);
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
      const next = nextManifest(manifest, deletes, [...manifest.segments, { file, number, documents: stats.documents, deleted: 0, digest: segmentDigest(infos) }], changes);
      return { result: summary(liveDocuments(next), { file, number, layout: segmentLayout(segment) }), manifest: next, deletes, built: new Map([[number, segment]]) };
    });
    return this.keepCalibrated(summary, 'add');
  }

  /**
   * What `add` does to new documents besides indexing them: the term-space check of vectors
   * (`E_TERM_SPACE` before anything is written), the index's per-document posting cuts
   * (`maxTermsPerDoc`, `minWeight`; a FLOPS budget is a property of a whole collection and is not
   * re-applied — rebuild to re-prune), and, for text encoded by the index's encoder only, new terms
   * entering a corpus IDF table (its query weights need them). Vectors never change the stored IDF
   * table: their new terms get a BM25 IDF for this add's pruning values only.
   */
  private addPlan(manifest: Manifest, encoded: boolean, termSpace: TermSpaceOptions): {
    prepare: ((input: ForwardInput) => ForwardInput) | undefined;
    report: () => PostingPruningReport | undefined;
    updatedIdf: () => StoredIdf | undefined;
    added: () => number;
  } {
    const stored = manifest.postingPruning;
    const cuts = stored !== undefined && (stored.maxTermsPerDoc > 0 || stored.minWeight > 0) ? { ...stored, flopsBudget: 0 } : undefined;
    let idf = readStoredIdf(this.store, manifest);
    const source = idf?.source;
    const corpusIdf = source?.type === 'corpus';
    const extend = encoded && corpusIdf;
    const checkSpace = !encoded && isDeclaredTermSpace(manifest.termSpace) && termSpace.allowTermSpaceMismatch !== true;
    let report: PostingPruningReport | undefined;
    let updated: StoredIdf | undefined;
    let added = 0;
    const prepare =
      cuts === undefined && !extend && !checkSpace
        ? undefined
        : (input: ForwardInput): ForwardInput => {
            if (checkSpace) this.checkDocumentTermSpace(input, manifest, termSpace);
            if (idf !== null && source?.type === 'corpus' && (extend || cuts !== undefined)) {
              const df = documentFrequencies(forwardMatrix(input));
              let table: Map<string, number> | undefined;
              for (let t = 0; t < input.vocabulary.length; t++) {
                const token = input.vocabulary[t];
                if (df[t] === 0 || idf.table.has(token)) continue;
                table ??= new Map(idf.table);
                table.set(token, bm25Idf(source.documents, df[t]));
                added++;
              }
              // Only text of the index's encoder extends the stored table; vectors' new terms serve this add's pruning.
              if (table !== undefined) {
                idf = { source, table };
                if (extend) updated = idf;
                else added = 0;
              }
            }
            if (cuts === undefined) return input;
            const result = pruneForwardInput(input, idfForVocabulary(input, idf?.table ?? null, 0), cuts, idf?.source.type ?? 'corpus');
            report = result.report;
            return result.input;
          };
    return { prepare, report: () => report, updatedIdf: () => updated, added: () => added };
  }

  /** Refuses added vectors of another term space (`E_TERM_SPACE`): declared, or by content (src/io/term-space.ts), weighting each term by its document frequency. */
  private checkDocumentTermSpace(input: ForwardInput, manifest: Manifest, options: TermSpaceOptions): void {
    const evidence = (): TermSpaceEvidence => {
      const df = documentFrequencies(forwardMatrix(input));
      const counts: Record<string, number> = {};
      for (let t = 0; t < input.vocabulary.length; t++) if (df[t] > 0) counts[input.vocabulary[t]] = df[t];
      const segments = this.loadedSegments();
      return termSpaceEvidence([counts], (token) => segments.some((s) => s.segment.termIds.has(token)));
    };
    checkTermSpace(manifest.termSpace, options, evidence, 'documents', this.path);
  }

  /**
   * Adds a text corpus (see `TextCorpusSource`), encoded with the encoder the index
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
    const spec = readStoredEncoder(this.store, this.state.manifest);
    if (spec === null) throw noEncoderError(this.path);
    const encoder = await openStoredEncoder(spec, readStoredIdf(this.store, this.state.manifest), this.encoderOverrides);
    try {
      const label = options.sourceLabel ?? (typeof corpus === 'string' ? corpus : '<documents>');
      const { chunkSize, ...addOptions } = options;
      const pass = {
        label,
        chunkSize: chunkSize ?? encodeChunkSize(this.encoderOverrides.batchSize),
        skipInvalid: options.skipInvalid ?? false,
        ...(options.onSkip === undefined ? {} : { onSkip: options.onSkip }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      };
      return await indexTextCorpus(encoder, corpus, pass, started, (documents) => this.addDocuments(documents, { ...addOptions, sourceLabel: label }, true));
    } finally {
      await encoder.dispose();
    }
  }

  /**
   * Marks the live documents with these external ids deleted. Unknown or already
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
      const next = nextManifest(manifest, deletes, manifest.segments, {});
      return { result: { path: this.path, deleted, notFound, liveDocuments: liveDocuments(next) }, manifest: next, deletes };
    }).then((summary) => (summary.deleted > 0 ? this.keepCalibrated(summary, 'delete') : summary));
  }

  /**
   * Merges all segments into one and drops deleted documents for good. The new
   * segment is built from the stored forward vectors with the index's build options; rows keep
   * their content and checksums. Does nothing when the index is one segment without deletes.
   */
  async compact(options: WriteOptions = {}): Promise<CompactSummary> {
    const started = performance.now();
    const o = resolveWriteOptions(options);
    const summary = await this.write(async ({ state, created }): Promise<WritePlan<CompactSummary>> => {
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
      const next = nextManifest(manifest, remaining, entries, { nextSegment: number + 1 });
      return { result: summary(entries.length, seg), manifest: next, deletes: remaining, ...(built === undefined ? {} : { built }) };
    });
    return summary.segment === undefined ? summary : this.keepCalibrated(summary, 'compact');
  }

  /**
   * After a committed write: when it moved the collection enough (recalibrate.ts), measures the
   * recall calibration again over the committed segments and commits it; the summary says so.
   */
  private async keepCalibrated<T extends { recalibrated?: RecalibrationReport }>(summary: T, kind: 'add' | 'delete' | 'compact'): Promise<T> {
    const reason = recalibrationReason(this.state.manifest, kind);
    if (reason === undefined) return summary;
    const started = performance.now();
    const loaded = this.loadedSegments();
    if (stillSmall(this.state.manifest, loaded)) return summary;
    const calibration = recalibrate(this.store, this.state.manifest, loaded);
    if (calibration === undefined) return summary;
    await this.write(({ state }): WritePlan<undefined> => ({ result: undefined, manifest: nextManifest(state.manifest, state.deletes, state.manifest.segments, { calibration }), deletes: state.deletes }));
    summary.recalibrated = { reason, chosen: calibration.chosen, seconds: (performance.now() - started) / 1000 };
    return summary;
  }

  /** @internal `buildIndex(..., { overwrite })` on an existing index: one commit replaces every segment and row. */
  async replaceAll(documents: DocumentSource, plan: BuildPlan, ingest: IngestOptions, started: number): Promise<BuildSummary> {
    return this.write(async ({ state, created }): Promise<WritePlan<BuildSummary>> => {
      const { manifest } = state;
      const number = manifest.nextSegment;
      const result = await buildSegment(documents, plan.build, this.store, number, ingest, { layout: 'blocked', prepare: plan.prepare, ...calibrationHook(plan) });
      const calibration = finishCalibration(plan, result.segment, result.build, this.store, ingest.onProgress);
      ingest.onProgress?.({ phase: 'write', documents: result.stats.documents, postings: result.stats.postings });
      const writeStarted = performance.now();
      const file = segmentFileName(number);
      const staged = stageSegment(created, this.path, file);
      const infos = writeSegment(staged, result.segment);
      const deletes = new Map([[number, newBitmap()]]);
      const now = new Date().toISOString();
      // Every field of the old index that the new build does not set again goes.
      const { encoder: _e, idf: _i, postingPruning: _p, calibration: _c, ...base } = manifest;
      const next = nextManifest({ ...base, build: result.build, createdAt: now, ...textManifestFields(this.store, plan), ...(calibration === undefined ? {} : { calibration }) }, deletes, [{ file, number, documents: result.stats.documents, deleted: 0, digest: segmentDigest(infos) }], {
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
        seconds: { ...result.stats.seconds, ...(calibration === undefined ? {} : { calibrate: calibration.seconds }), write: (finished - writeStarted) / 1000, total: (finished - started) / 1000 },
        ...(report === undefined ? {} : { postingPruning: report }),
        ...(calibration === undefined ? {} : { calibration }),
      };
      return { result: summary, manifest: next, deletes, built: new Map([[number, result.segment]]) };
    }).then((summary) => {
      summary.bytes.parts[STORE_FILE] = statSync(join(this.path, STORE_FILE)).size;
      summary.bytes.total += summary.bytes.parts[STORE_FILE];
      return summary;
    });
  }

  /** Runs one write under the commit protocol (commit.ts) and moves this writer to its result. */
  private async write<T>(work: (context: WriteContext) => Promise<WritePlan<T>> | WritePlan<T>): Promise<T> {
    this.assertOpen();
    this.assertIdle();
    this.writing = true;
    let outcome;
    try {
      outcome = await runWrite(this.path, this.store, work, this.state);
    } finally {
      this.writing = false;
    }
    const { plan, committed } = outcome;
    if (committed === undefined) return plan.result;
    if (this.segments !== undefined) {
      const reuse = [...this.segments];
      for (const [number, segment] of plan.built ?? []) {
        const entry = committed.manifest.segments.find((s) => s.number === number);
        if (entry !== undefined) reuse.push(attach(entry, segment, newBitmap()));
      }
      this.setState(committed, loadSegments(this.path, committed, reuse));
    } else {
      this.setState(committed, undefined);
    }
    return plan.result;
  }
}
