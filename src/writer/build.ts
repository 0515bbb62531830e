/**
 * The build pipeline's entry: a fresh index is built in a private temporary directory
 * (ingest → posting pruning → static pruning → blocks → κ-NN → write, `buildSegment`), its store,
 * manifest and commit record written, then published by one rename; an existing index given
 * `overwrite` is replaced through the writer's commit protocol instead, so readers keep working.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isSpladexError, SpladexError } from '../errors.js';
import { buildSegment, type DocumentSource } from '../segment/ingest.js';
import { writeCommitRecord } from '../store/commit-record.js';
import { INDEX_FORMAT_VERSION, segmentDigest, segmentFileName, type Manifest } from '../store/manifest.js';
import { writeSegment } from '../segment/segment.js';
import { DocumentStore, STORE_FILE } from '../store/store.js';
import { publishDirectory, removeStaleSiblings, temporarySibling } from '../store/directory.js';
import { fsyncPath } from '../util/fs.js';
import { ioFailure, isIoFailure } from '../util/io-failure.js';
import { calibrationHook, finishCalibration, partBytes, pickIngest, planBuild, textManifestFields, type BuildExtras, type BuildSummary, type IndexBuildOptions } from './build-plan.js';
import { IndexWriter } from './writer.js';

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
    let writer: IndexWriter | undefined;
    try {
      writer = IndexWriter.open(out, { writerName: 'spladex index --overwrite' });
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
      const result = await buildSegment(documents, plan.build, store, 1, pickIngest(options), { layout: 'blocked', prepare: plan.prepare, ...calibrationHook(plan) });
      const calibration = finishCalibration(plan, result.segment, result.build, store, options.onProgress);
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
        build: result.build,
        ...(calibration === undefined ? {} : { calibration }),
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
        seconds: { ...result.stats.seconds, ...(calibration === undefined ? {} : { calibrate: calibration.seconds }), write: (finished - writeStarted) / 1000, total: (finished - started) / 1000 },
        ...(report === undefined ? {} : { postingPruning: report }),
        ...(calibration === undefined ? {} : { calibration }),
      };
    } finally {
      store.close();
    }
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw isIoFailure(error) ? ioFailure(error, temporary, 'building the index', `nothing was written${existsSync(out) ? ` and ${out} is unchanged` : ''}`) : error;
  }
}
