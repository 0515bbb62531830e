/**
 * Everything a build decides before it reads the first document: the resolved build options, the
 * index-time posting pruning and the IDF it prunes with, and what to store besides segments (the
 * encoder and IDF records of an index built from text). Shared by a fresh build and by rebuilding
 * an existing index through the writer (`--overwrite`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { idfTableFromJson, readIdfJson, type IdfTable } from '../encode/idf.js';
import type { EncoderSpec } from '../encode/spec.js';
import { SpladexError } from '../errors.js';
import type { ForwardInput, IngestOptions, SegmentBuildStats } from '../segment/ingest.js';
import { writeTextMeta, type StoredIdf, type TextMeta } from '../text/encoder-store.js';
import type { Manifest } from '../store/manifest.js';
import { CALIBRATION_QUERIES_KEY, type Calibration } from '../store/calibration.js';
import type { BuildProgress, SegmentHooks } from '../segment/ingest.js';
import type { Segment } from '../segment/segment.js';
import { BUILD_DEFAULTS, resolveBuildOptions, type BuildOptions, type ResolvedBuildOptions } from '../segment/options.js';
import {
  corpusIdfTable,
  idfForVocabulary,
  POSTING_PRUNING_KEYS,
  postingPruningActive,
  pruneForwardInput,
  resolvePostingPruning,
  type PostingPruningOptions,
  type PostingPruningReport,
  type ResolvedPostingPruning,
} from '../segment/posting-pruning.js';
import { STORE_FILE, type DocumentStore } from '../store/store.js';
import type { EncoderBuildReport } from '../text/text-source.js';
import { loadQueries, type QueryTextEncoder } from '../io/queries.js';
import { readVocabulary } from '../io/vocabulary.js';
import { CUSTOM_TERM_SPACE, termSpaceNameProblem } from '../io/term-space.js';
import type { SparseVectorInput } from '../types.js';
import { BuildCalibrator } from './calibration.js';
import type { QueryTermWeight } from './calibration-queries.js';

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
  /**
   * The query log to calibrate on (see `targetRecall`): a JSONL query file (`{"id", "vector"}`
   * lines; `{"id", "text"}` lines for an index built from text, encoded with its encoder) or query
   * vectors. At most `calibrationSample` of them are drawn (seeded). Default: pseudo-queries drawn
   * from the collection.
   */
  calibrationQueries?: string | readonly SparseVectorInput[];
  /**
   * The vocabulary (vocab.txt or tokenizer.json) that maps the token ids of `{"indices", "values"}`
   * lines of a `calibrationQueries` file to tokens (fastembed, Qdrant, Milvus vectors).
   */
  calibrationVocabulary?: string;
  /**
   * The term space of the documents' vectors (src/io/term-space.ts), recorded with the index so
   * that queries and added documents of another space are refused: e.g. `wordpiece:bert-base-uncased`
   * for vectors of a BERT-vocabulary SPLADE model. Default `custom` (never checked). An index built
   * from text records its encoder's space instead.
   */
  termSpace?: string;
}

export interface BuildSummary extends SegmentBuildStats {
  path: string;
  vocabularySize: number;
  bytes: { total: number; parts: Record<string, number> };
  /** Time per phase; `calibrate` (with calibration) is the part of the total spent calibrating. */
  seconds: SegmentBuildStats['seconds'] & { calibrate?: number; write: number; total: number };
  /** FLOPS and postings before and after index-time posting pruning, when it was asked for. */
  postingPruning?: PostingPruningReport;
  /** Indexes built from text: the encoder, its throughput and where its time went. */
  encoder?: EncoderBuildReport;
  /** The recall calibration (absent with `calibrationSample` 0): what `spladex info` shows. */
  calibration?: Calibration;
}

export function pickIngest(options: IngestOptions): IngestOptions {
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
  /** Encodes text calibration queries with the index's encoder (an index built from text). */
  encodeQueries?: (texts: readonly string[]) => Promise<SparseVectorInput[]>;
  /** The encoder's term space (an index built from text). */
  termSpace?: string;
}

/** Everything a build decides before reading the first document. */
export interface BuildPlan {
  build: ResolvedBuildOptions;
  pruning: ResolvedPostingPruning;
  /** Posting pruning over the finished forward index, when asked for. */
  prepare: ((input: ForwardInput) => ForwardInput) | undefined;
  report: () => PostingPruningReport | undefined;
  /** The encoder and IDF records to store (the IDF may be computed by `prepare`). */
  text: () => TextMeta;
  /** The recall calibration of this build (undefined: `calibrationSample` 0). */
  calibrator: BuildCalibrator | undefined;
  /** The term space recorded in the manifest. */
  termSpace: string;
}

/** Build options that fix static pruning: given any of them, calibration leaves pruning alone. */
const PRUNING_KEYS = ['pruning', 'nPostings', 'maxFraction', 'keepFraction'] as const;

/** A query log given as `calibrationQueries`, as vectors (text lines encoded with the index's encoder). */
async function loadCalibrationQueries(given: NonNullable<IndexBuildOptions['calibrationQueries']>, extras: BuildExtras, vocabularyFile: string | undefined): Promise<readonly SparseVectorInput[]> {
  if (typeof given !== 'string') return given;
  const encodeQueries = extras.encodeQueries;
  const encoder = async (): Promise<QueryTextEncoder> => {
    if (encodeQueries === undefined) throw new SpladexError('E_OPTION', 'text calibration queries need an index built from text; give query vectors');
    return { encodeQueries };
  };
  const vocabulary = vocabularyFile === undefined ? {} : { vocabulary: () => readVocabulary(resolve(vocabularyFile)) };
  return (await loadQueries(resolve(given), { encoder, ...vocabulary })).map((query) => query.vector);
}

/** Query weights of pseudo-queries: lexical and inference-free query encoders weight a token by its IDF. */
function pseudoQueryWeight(extras: BuildExtras): QueryTermWeight | undefined {
  const table = extras.idf?.table;
  if (table === undefined || (extras.encoder?.kind !== 'lexical' && extras.encoder?.kind !== 'inference-free')) return undefined;
  return (token) => table.get(token);
}

export async function planBuild(options: IndexBuildOptions, extras: BuildExtras): Promise<BuildPlan> {
  const explicit = pickBuildOptions(options);
  const build = resolveBuildOptions(explicit);
  const pruning = resolvePostingPruning(pickPostingPruning(options));
  if (options.idf !== undefined && extras.idf !== undefined) {
    throw new SpladexError('E_OPTION', "option idf conflicts with the encoder's IDF table; give the IDF to the encoder (inference-free) or leave it out (lexical uses its corpus IDF)");
  }
  const termSpace = buildTermSpace(options, extras);
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
  let calibrator: BuildCalibrator | undefined;
  if (build.calibrationSample > 0) {
    const given = options.calibrationQueries === undefined ? undefined : await loadCalibrationQueries(options.calibrationQueries, extras, options.calibrationVocabulary);
    const queryWeight = pseudoQueryWeight(extras);
    calibrator = new BuildCalibrator({
      choosePruning: PRUNING_KEYS.every((key) => explicit[key] === undefined),
      chooseGraph: explicit.knn === undefined,
      ...(given === undefined ? {} : { given }),
      ...(queryWeight === undefined ? {} : { queryWeight }),
    });
  }
  return {
    build,
    pruning,
    prepare,
    calibrator,
    termSpace,
    report: () => report,
    text: () => ({ ...(extras.encoder === undefined ? {} : { encoder: extras.encoder }), ...(idf === undefined ? {} : { idf }) }),
  };
}

/** The term space a build records: the encoder's (text), else the option's, else `custom`. */
function buildTermSpace(options: IndexBuildOptions, extras: BuildExtras): string {
  const given = options.termSpace;
  if (given !== undefined) {
    const problem = typeof given === 'string' ? termSpaceNameProblem(given) : 'must be a string';
    if (problem !== undefined) throw new SpladexError('E_OPTION', `termSpace (--term-space) ${problem}, got ${JSON.stringify(given)}`);
    if (extras.termSpace !== undefined && given !== extras.termSpace) {
      throw new SpladexError('E_OPTION', `termSpace (--term-space) is for indexes built from vectors; an index built from text records its encoder's space (${extras.termSpace})`);
    }
  }
  return extras.termSpace ?? given ?? CUSTOM_TERM_SPACE;
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
export function textManifestFields(store: DocumentStore, plan: BuildPlan): Pick<Manifest, 'encoder' | 'idf' | 'postingPruning' | 'termSpace'> {
  const fields: Pick<Manifest, 'encoder' | 'idf' | 'postingPruning' | 'termSpace'> = { ...writeTextMeta(store, plan.text()), termSpace: plan.termSpace };
  if (postingPruningActive(plan.pruning)) fields.postingPruning = plan.pruning;
  return fields;
}

export function partBytes(infos: ReadonlyArray<{ name: string; bytes: number }>): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const info of infos) parts[info.name] = info.bytes;
  return parts;
}

/**
 * Measures the frontier of a freshly built segment (`build`: the options it was built with) and
 * stores the calibration queries with the index; undefined without calibration.
 */
export function finishCalibration(plan: BuildPlan, segment: Segment, build: ResolvedBuildOptions, store: DocumentStore, onProgress?: (progress: BuildProgress) => void): Calibration | undefined {
  const sample = plan.calibrator?.sample;
  if (plan.calibrator === undefined || sample === undefined || sample.queries.length === 0) {
    store.deleteMeta(CALIBRATION_QUERIES_KEY);
    return undefined;
  }
  onProgress?.({ phase: 'calibrate', documents: segment.meta.nDocs, postings: segment.meta.nPostings });
  const calibration = plan.calibrator.finish(segment, build.targetRecall);
  calibration.queriesCrc = store.setMeta(CALIBRATION_QUERIES_KEY, sample);
  return calibration;
}

/** The build hook of a plan's calibration (none without calibration). */
export function calibrationHook(plan: BuildPlan): Pick<SegmentHooks, 'choose' | 'refine'> {
  const calibrator = plan.calibrator;
  return calibrator === undefined ? {} : { choose: (input, options) => calibrator.choose(input, options), refine: (segment, options) => calibrator.refine(segment, options) };
}
