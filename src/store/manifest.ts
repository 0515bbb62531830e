/**
 * The manifest: the one record that says which segment files make up the index.
 *
 * It lives in the `meta` table of `spladex.db` (with a CRC), so replacing it is part of the same
 * SQLite transaction that adds document rows and delete bitmaps — that transaction is the commit
 * point of every write (see ARCHITECTURE.md, "Commit protocol"). Segment numbers only grow
 * (`nextSegment`), so a file name never refers to two different segments over the life of an
 * index, and `generation` grows with every commit, so a reader can tell that the index moved on.
 *
 * A stored manifest is untrusted input: `parseManifest` checks every field it relies on, so a
 * damaged or foreign manifest fails with a typed error instead of a TypeError or a path outside
 * the index directory.
 */
import { crc32 } from 'node:zlib';
import { SpladexError, isSpladexError } from '../errors.js';
import type { SectionInfo } from '../segment/container.js';
import { ENCODER_KINDS, type EncoderKind } from '../encode/spec.js';
import { BUILD_DEFAULTS, resolveBuildOptions, type ResolvedBuildOptions } from '../segment/options.js';
import { POSTING_PRUNING_KEYS, resolvePostingPruning, type ResolvedPostingPruning } from '../segment/posting-pruning.js';
import { parseCalibration, type Calibration } from './calibration.js';
import { termSpaceNameProblem } from '../io/term-space.js';

/** Version of the index directory layout and manifest. Bumped on any incompatible change. */
export const INDEX_FORMAT_VERSION = 1;

export interface SegmentEntry {
  /** File name of the segment container inside the index directory (`seg-NNNNNN.spx`). */
  file: string;
  /** Segment number, also the `segment` column of the document store. */
  number: number;
  /** Documents stored in the segment, deleted ones included. */
  documents: number;
  /** Documents of the segment marked deleted (cardinality of its delete bitmap). */
  deleted: number;
  /**
   * CRC-32 of the container's section table (names, offsets, lengths, payload CRCs). Binds the
   * manifest to one exact file, so a stale or swapped segment file is caught on open.
   * Absent in indexes written before it existed.
   */
  digest?: number;
}

export interface Manifest {
  format: 'spladex';
  formatVersion: number;
  createdAt: string;
  /** Time of the last commit. */
  updatedAt: string;
  /** Incremented by every commit. */
  generation: number;
  /** Number the next new segment gets; numbers are never reused. */
  nextSegment: number;
  /** Build options of the index; `add` and `compact` build new segments with them. */
  build: ResolvedBuildOptions;
  segments: SegmentEntry[];
  /**
   * The encoder an index built from text was built with; its spec is stored under meta key
   * `encoder` (see encoder-store.ts), bound to this manifest by the CRC-32 of its stored text.
   * Absent for indexes built from vectors.
   */
  encoder?: ManifestEncoderRef;
  /** The IDF table stored under meta key `idf` (query weights, pruning values); absent when none is stored. */
  idf?: ManifestIdfRef;
  /** Index-time posting pruning the index was built with (absent: none). `add` applies its per-document cuts. */
  postingPruning?: ResolvedPostingPruning;
  /**
   * True when the index keeps `spladex.commit` (commit-record.ts), so a missing record is damage.
   * Absent in indexes written before it existed; their first write adds it.
   */
  commitRecord?: boolean;
  /**
   * Segment files this commit dropped (compaction, a replaced index): provably unneeded, removed
   * after the commit and, if that was interrupted, by the next writer.
   */
  obsolete?: string[];
  /**
   * The recall calibration (calibration.ts): the frontier of query-time settings measured on the
   * collection and the default setting for its target. Absent: built without calibration (or
   * before it existed); search then uses the fixed defaults.
   */
  calibration?: Calibration;
  /**
   * What the index's token strings mean (src/io/term-space.ts): `wordpiece:bert-base-uncased`,
   * `analyzer:english-porter`, `custom`, … Queries and added documents of another space are
   * refused. Absent in indexes written before it existed: they behave as `custom` (never checked).
   */
  termSpace?: string;
}

export interface ManifestEncoderRef {
  kind: EncoderKind;
  /** e.g. "lexical (BM25), not a learned model". */
  label: string;
  /** CRC-32 of the stored encoder record's JSON text. */
  crc: number;
}

export interface ManifestIdfRef {
  /** `file`: an idf.json (the model's or given); `corpus`: BM25 IDF of the indexed corpus; `table`: a table given through the library. */
  source: 'file' | 'corpus' | 'table';
  /** Terms in the table. */
  terms: number;
  /** CRC-32 of the stored IDF record's JSON text. */
  crc: number;
}

export const SEGMENT_FILE_PATTERN = /^seg-(\d{6,9})\.spx$/;

export function segmentFileName(number: number): string {
  return `seg-${String(number).padStart(6, '0')}.spx`;
}

/** Digest of a container's section table (see `SegmentEntry.digest`). */
export function segmentDigest(parts: readonly SectionInfo[]): number {
  return crc32(parts.map((p) => `${p.name}:${p.offset}:${p.bytes}:${p.crc}`).join(';'));
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2 ** 32;

/**
 * Validates a stored manifest. Unknown format → `E_NOT_AN_INDEX`, other versions →
 * `E_FORMAT_VERSION`, anything malformed → `E_CORRUPT`. Fields added after version 1 was first
 * written (generation, nextSegment, deleted, digest, updatedAt) get their implied defaults.
 */
export function parseManifest(value: unknown, file: string): Manifest {
  const bad = (what: string): SpladexError => new SpladexError('E_CORRUPT', `the manifest is damaged (${what}); restore the index from a backup or rebuild it`, { file });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('not an object');
  const raw = value as Record<string, unknown>;
  if (raw.format !== 'spladex') throw new SpladexError('E_NOT_AN_INDEX', 'no spladex manifest in this store; rebuild the index', { file });
  if (raw.formatVersion !== INDEX_FORMAT_VERSION) {
    throw new SpladexError(
      'E_FORMAT_VERSION',
      `index format version ${String(raw.formatVersion)} is not supported (this spladex reads version ${INDEX_FORMAT_VERSION}); rebuild the index with this version`,
      { file },
    );
  }
  if (!Array.isArray(raw.segments)) throw bad('"segments" is not a list');
  const seenFiles = new Set<string>();
  let maxNumber = 0;
  const segments: SegmentEntry[] = raw.segments.map((item: unknown, i: number) => {
    if (item === null || typeof item !== 'object') throw bad(`segment ${i} is not an object`);
    const e = item as Record<string, unknown>;
    const match = typeof e.file === 'string' ? SEGMENT_FILE_PATTERN.exec(e.file) : null;
    // The name is checked against the pattern, so a manifest can never point outside the index directory.
    if (match === null) throw bad(`segment ${i} has an invalid file name`);
    if (!isCount(e.number) || e.number < 1 || Number(match[1]) !== e.number) throw bad(`segment ${i} has a number that does not match its file`);
    if (seenFiles.has(e.file as string)) throw bad(`segment file ${String(e.file)} is listed twice`);
    seenFiles.add(e.file as string);
    if (!isCount(e.documents)) throw bad(`segment ${i} has an invalid document count`);
    const deleted = e.deleted ?? 0;
    if (!isCount(deleted) || deleted > e.documents) throw bad(`segment ${i} has an invalid deleted count`);
    if (e.digest !== undefined && !(isCount(e.digest) && e.digest < 2 ** 32)) throw bad(`segment ${i} has an invalid digest`);
    if (i > 0 && e.number <= (raw.segments as Array<{ number: number }>)[i - 1].number) throw bad('segments are not in ascending order');
    maxNumber = Math.max(maxNumber, e.number);
    const entry: SegmentEntry = { file: e.file as string, number: e.number, documents: e.documents, deleted };
    if (e.digest !== undefined) entry.digest = e.digest as number;
    return entry;
  });
  const generation = raw.generation ?? 1;
  if (!isCount(generation) || generation < 1) throw bad('invalid generation');
  const nextSegment = raw.nextSegment ?? maxNumber + 1;
  if (!isCount(nextSegment) || nextSegment <= maxNumber || nextSegment > 999_999_999) throw bad('invalid next segment number');
  if (typeof raw.createdAt !== 'string') throw bad('invalid creation time');
  const updatedAt = raw.updatedAt ?? raw.createdAt;
  if (typeof updatedAt !== 'string') throw bad('invalid update time');
  if (raw.build === null || typeof raw.build !== 'object' || Array.isArray(raw.build)) throw bad('missing build options');
  // Only known options are taken; options added after the index was built get their defaults.
  const stored = raw.build as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(BUILD_DEFAULTS)) if (stored[key] !== undefined) picked[key] = stored[key];
  let build: ResolvedBuildOptions;
  try {
    build = resolveBuildOptions(picked);
  } catch (error) {
    if (isSpladexError(error)) throw bad(`invalid build options: ${error.message}`);
    throw error;
  }
  const manifest: Manifest = { format: 'spladex', formatVersion: INDEX_FORMAT_VERSION, createdAt: raw.createdAt, updatedAt, generation, nextSegment, build, segments };
  if (raw.encoder !== undefined) {
    const e = raw.encoder as Record<string, unknown> | null;
    if (e === null || typeof e !== 'object' || !ENCODER_KINDS.includes(e.kind as EncoderKind) || typeof e.label !== 'string' || !isCount(e.crc)) throw bad('invalid encoder reference');
    manifest.encoder = { kind: e.kind as EncoderKind, label: e.label, crc: e.crc as number };
  }
  if (raw.idf !== undefined) {
    const i = raw.idf as Record<string, unknown> | null;
    if (i === null || typeof i !== 'object' || !['file', 'corpus', 'table'].includes(i.source as string) || !isCount(i.terms) || !isCount(i.crc)) throw bad('invalid IDF reference');
    manifest.idf = { source: i.source as ManifestIdfRef['source'], terms: i.terms as number, crc: i.crc as number };
  }
  if (raw.postingPruning !== undefined) {
    const p = raw.postingPruning as Record<string, unknown> | null;
    if (p === null || typeof p !== 'object') throw bad('invalid posting pruning options');
    const picked: Record<string, unknown> = {};
    for (const key of POSTING_PRUNING_KEYS) if (p[key] !== undefined) picked[key] = p[key];
    try {
      manifest.postingPruning = resolvePostingPruning(picked);
    } catch (error) {
      if (isSpladexError(error)) throw bad(`invalid posting pruning options: ${error.message}`);
      throw error;
    }
  }
  if (raw.commitRecord !== undefined) {
    if (typeof raw.commitRecord !== 'boolean') throw bad('invalid commit record flag');
    manifest.commitRecord = raw.commitRecord;
  }
  if (raw.obsolete !== undefined) {
    if (!Array.isArray(raw.obsolete)) throw bad('"obsolete" is not a list');
    for (const name of raw.obsolete as unknown[]) {
      // Checked like segment names: a manifest can never make a writer remove anything else.
      if (typeof name !== 'string' || !SEGMENT_FILE_PATTERN.test(name) || seenFiles.has(name)) throw bad(`invalid obsolete segment file ${JSON.stringify(name)}`);
    }
    manifest.obsolete = raw.obsolete as string[];
  }
  if (raw.termSpace !== undefined) {
    if (typeof raw.termSpace !== 'string' || termSpaceNameProblem(raw.termSpace) !== undefined) throw bad('invalid term space');
    manifest.termSpace = raw.termSpace;
  }
  if (raw.calibration !== undefined) {
    const parsed = parseCalibration(raw.calibration);
    if (typeof parsed === 'string') throw bad(`invalid calibration (${parsed})`);
    manifest.calibration = parsed;
  }
  return manifest;
}

/** Live (not deleted) documents of a manifest. */
export function liveDocuments(manifest: Manifest): number {
  return manifest.segments.reduce((n, s) => n + s.documents - s.deleted, 0);
}
