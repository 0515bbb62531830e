/**
 * The high-level encoder API: `openEncoder(options)` for a new index, `openEncoderFromSpec(spec)` to
 * encode queries exactly like a stored index was built.
 *
 * Three kinds (see EncoderKind):
 *  - splade: documents and queries through the model.
 *  - inference-free: documents through the model; a query is its distinct tokenizer tokens, each
 *    weighted by IDF (binary presence × idf, no repeat counting — as in the OpenSearch model cards;
 *    the dot product then sums doc weight × idf over the query's distinct tokens). IDF comes from the
 *    model's idf.json, else is computed from the corpus (BM25 IDF) in a first pass.
 *  - lexical: no model. Document weight = BM25 tf saturation, query weight = qtf × BM25 IDF, so the
 *    dot product is the BM25 score. Needs a first pass over the corpus for N, df and avgdl.
 *
 * Two-pass use (lexical, or inference-free without idf.json):
 *   const encoder = await openEncoder({ kind: 'lexical' });
 *   for (const chunk of corpus) encoder.addCorpusDocuments(chunk);   // pass 1
 *   encoder.finishCorpusStats();
 *   for (const chunk of corpus) vectors.push(...await encoder.encodeDocuments(chunk));   // pass 2
 *   store(encoder.spec, encoder.idfTable());
 */

import { basename, isAbsolute, relative, resolve } from 'node:path';
import { checkRange, SpladexError } from '../errors.js';
import type { SparseVectorInput } from '../types.js';
import { sha256File } from './checksum.js';
import { EnglishAnalyzer } from './english-analyzer.js';
import { idfTableFromJson, readIdfJson, type IdfTable } from './idf.js';
import {
  analyzerTermCounter,
  bm25DocumentVector,
  CorpusStatsBuilder,
  idfQueryVector,
  tokenizerTermCounter,
  type CorpusStats,
  type TermCounter,
} from './lexical.js';
import { missingModelError, readModelDirectory, type ModelDirectory } from './model-dir.js';
import { ModelSparseEncoder, type StageTimes } from './model-encoder.js';
import { OnnxMaskedLmSession } from './onnx-backend.js';
import { setWeight, type PoolingActivation } from './pooling.js';
import { ENCODER_KINDS, ENCODER_SPEC_FORMAT, ENCODER_SPEC_VERSION, parseEncoderSpec, type EncoderKind, type EncoderSpec } from './spec.js';
import { loadTokenizerJson, loadVocabTxtTokenizer, type TextTokenizer, type TokenizerSpec } from './tokenizer.js';

/** Options of `openEncoder`. Every default lives in ENCODER_DEFAULTS. */
export interface EncoderOptions {
  /** Encoder kind. Default 'splade'. */
  kind?: EncoderKind;
  /** Model directory (HF export: model.onnx + tokenizer.json/vocab.txt [+ idf.json, config.json, spladex.json]) or an .onnx file in one. Required for splade and inference-free; optional for lexical (its tokenizer is used). */
  model?: string;
  /** tokenizer.json to use instead of the model directory's. */
  tokenizer?: string;
  /** WordPiece vocab.txt to use instead of the model directory's tokenizer. */
  vocab?: string;
  /** IDF for inference-free/lexical queries: an idf.json path or a table (e.g. read back from an index). Default: <model>/idf.json when present, else computed from the corpus. */
  idf?: string | IdfTable | Record<string, number>;
  /** Max tokens per model sequence including [CLS]/[SEP]. Default: spladex.json's maxLength, else the model's own limit (tokenizer_config.json, config.json) capped at ENCODER_DEFAULTS.maxLength (512). Range [specials + 1, max_position_embeddings]. */
  maxLength?: number;
  /** What to do with documents longer than maxLength: 'truncate' (as SPLADE does) or 'window' (overlapping windows, max-pooled). Default 'truncate'. Queries are always truncated. */
  longDocuments?: 'truncate' | 'window';
  /** Tokens shared by consecutive windows (Hugging Face's `stride`). Default 128. Range [0, maxLength − specials − 1]. */
  windowOverlap?: number;
  /** Sequences per model run. Default 32. Range [1, 4096]. */
  batchSize?: number;
  /** Cap on padded tokens per model run: the logits of a run take tokens × vocab × 4 bytes (2048 × 30522 × 4 ≈ 250 MB). Default 2048. Range [1, 1 048 576]. */
  maxBatchTokens?: number;
  /** onnxruntime intra-op threads; 0 = one per physical core. Default 0. Range [0, 1024]. */
  threads?: number;
  /** Pooling activation. Default 'log1p-relu' (SPLADE), or the model's spladex.json. */
  activation?: Exclude<PoolingActivation, 'identity'>;
  /** Whether [CLS]/[SEP] positions take part in max pooling. Default 'exclude' (naver's reference code includes them; set 'include' to reproduce its vectors exactly). */
  specialTokenPositions?: 'exclude' | 'include';
  /** Graph output to read. Default 'logits', else the only output. */
  outputName?: string;
  /** Keep at most this many terms per document (largest weights); 0 = all. Queries are never pruned. Default 0. Range [0, 1 000 000]. */
  topK?: number;
  /** Drop document weights below this. Default 0 (keep every weight > 0). Range [0, 1e9]. */
  minWeight?: number;
  /** BM25 k1 (lexical). Default 0.9 (Anserini). Range [0, 100]. */
  bm25K1?: number;
  /** BM25 b (lexical). Default 0.4 (Anserini). Range [0, 1]. */
  bm25B?: number;
  /** Stemmer of the built-in English analyzer (lexical without a tokenizer). Default 'porter'. */
  stemmer?: 'porter' | 'none';
  /** Stop words of the built-in English analyzer. Default 'lucene'. */
  stopwords?: 'lucene' | 'none';
  /** Lower-case for a vocab.txt tokenizer. Default: tokenizer_config.json's do_lower_case, else guessed from the vocabulary. */
  lowercase?: boolean;
  /** Verify model/tokenizer checksums when reopening from a spec. Default true. */
  verifyChecksum?: boolean;
}

export const ENCODER_DEFAULTS = {
  kind: 'splade',
  maxLength: 512,
  longDocuments: 'truncate',
  windowOverlap: 128,
  batchSize: 32,
  maxBatchTokens: 2048,
  threads: 0,
  activation: 'log1p-relu',
  specialTokenPositions: 'exclude',
  topK: 0,
  minWeight: 0,
  bm25K1: 0.9,
  bm25B: 0.4,
  stemmer: 'porter',
  stopwords: 'lucene',
  verifyChecksum: true,
} as const satisfies Partial<EncoderOptions>;

/** Where the time went, accumulated since the encoder was opened. */
export interface EncoderStats {
  documents: number;
  queries: number;
  /** Model sequences run (windows count separately). */
  sequences: number;
  /** Real tokens fed to the model, special tokens included. */
  tokens: number;
  /** Tokens including padding; paddedTokens / tokens − 1 is the padding overhead. */
  paddedTokens: number;
  tokenizeMs: number;
  modelMs: number;
  /** Pooling and sparsification (model kinds) or BM25/IDF weighting (lexical). */
  poolMs: number;
  totalMs: number;
  /** Documents per second over encodeDocuments calls. */
  documentsPerSecond: number;
}

export interface Encoder {
  readonly kind: EncoderKind;
  readonly label: string;
  /** The spec to store with an index (reflects corpus statistics once finished). */
  readonly spec: EncoderSpec;
  /** True while corpus statistics are required but not yet finished (see the two-pass example). */
  readonly needsCorpusStats: boolean;
  /** First pass: feeds documents to the corpus statistics. */
  addCorpusDocuments(texts: readonly string[]): void;
  /** Ends the first pass; returns N, total and average length. */
  finishCorpusStats(): CorpusStats;
  encodeDocuments(texts: readonly string[]): Promise<SparseVectorInput[]>;
  encodeQueries(texts: readonly string[]): Promise<SparseVectorInput[]>;
  /** The IDF table queries use (store it with the index), or null for splade. */
  idfTable(): IdfTable | null;
  readonly stats: EncoderStats;
  dispose(): Promise<void>;
}

/** Checksums and statistics an encoder must match when it is reopened from a spec. */
interface ReopenContext {
  spec: EncoderSpec;
  verifyChecksum: boolean;
}

/** Opens an encoder for building a new index. */
export async function openEncoder(options: EncoderOptions = {}): Promise<Encoder> {
  return createEncoder(options, null);
}

/**
 * Reopens the encoder an index was built with. `overrides` may relocate files (`model`,
 * `tokenizer`, `vocab`), give the stored IDF table (`idf`, required for lexical and for
 * inference-free with a corpus IDF) and set runtime options (threads, batch sizes). Encoding
 * settings come from the spec. E_MODEL when the model or tokenizer changed since the build.
 */
export async function openEncoderFromSpec(stored: unknown, overrides: EncoderOptions = {}): Promise<Encoder> {
  const spec = parseEncoderSpec(stored);
  const relocate = (file: string): string => {
    // Files that lived in the model directory (tokenizer, idf.json) move with it.
    if (spec.model === null || overrides.model === undefined) return file;
    const rel = relative(spec.model.dir, file);
    return rel.startsWith('..') || isAbsolute(rel) ? file : resolve(overrides.model, rel);
  };
  const options: EncoderOptions = {
    kind: spec.kind,
    maxLength: spec.maxLength ?? undefined,
    longDocuments: spec.longDocuments,
    windowOverlap: spec.windowOverlap,
    topK: spec.documentPruning.topK,
    minWeight: spec.documentPruning.minWeight,
    batchSize: overrides.batchSize,
    maxBatchTokens: overrides.maxBatchTokens,
    threads: overrides.threads,
    idf: overrides.idf,
  };
  if (spec.model !== null) {
    // The exact file the index was built with, in its original or relocated directory.
    options.model = resolve(overrides.model ?? spec.model.dir, spec.model.file);
    options.outputName = spec.model.outputName;
  }
  if (spec.pooling !== null) {
    options.specialTokenPositions = spec.pooling.specialTokenPositions;
    if (spec.pooling.activation !== 'identity') options.activation = spec.pooling.activation;
  }
  if (spec.bm25 !== null) {
    options.bm25K1 = spec.bm25.k1;
    options.bm25B = spec.bm25.b;
  }
  const tok = spec.tokenizer;
  if (tok.type === 'english-analyzer') {
    options.stemmer = tok.stemmer;
    options.stopwords = tok.stopwords;
  } else if (tok.type === 'bert-wordpiece' && tok.source === 'vocab.txt') {
    options.vocab = overrides.vocab ?? relocate(tok.file);
    options.lowercase = tok.lowercase;
  } else {
    options.tokenizer = overrides.tokenizer ?? relocate(tok.file);
  }
  if (spec.query.idfSource?.type === 'file' && options.idf === undefined) options.idf = relocate(spec.query.idfSource.file);
  return createEncoder(options, { spec, verifyChecksum: overrides.verifyChecksum ?? ENCODER_DEFAULTS.verifyChecksum });
}

type Resolved = Required<Omit<EncoderOptions, 'model' | 'tokenizer' | 'vocab' | 'idf' | 'outputName' | 'lowercase' | 'maxLength'>> & {
  maxLength: number | null;
};

async function createEncoder(options: EncoderOptions, reopen: ReopenContext | null): Promise<Encoder> {
  const kind = options.kind ?? ENCODER_DEFAULTS.kind;
  if (!ENCODER_KINDS.includes(kind)) throw new SpladexError('E_OPTION', `option kind must be one of ${ENCODER_KINDS.join(', ')}, got ${String(kind)}`);
  // An inference-free encoder with a tokenizer and an IDF table but no model encodes queries only
  // (they never need the model); encodeDocuments then fails with E_OPTION.
  const queryOnly = kind === 'inference-free' && options.model === undefined && (options.tokenizer !== undefined || options.vocab !== undefined) && options.idf !== undefined;
  const usesModel = kind !== 'lexical' && !queryOnly;
  if (kind !== 'lexical' && options.model === undefined && !queryOnly) {
    throw new SpladexError(
      'E_OPTION',
      `the ${kind} encoder needs a model directory (option model / --model <dir> with model.onnx and tokenizer.json or vocab.txt); use --kind lexical for BM25 without a model` +
        (kind === 'inference-free' ? ' (to encode inference-free queries only, give a tokenizer or vocab and an idf table instead)' : ''),
    );
  }
  if (kind === 'splade' && options.idf !== undefined) throw new SpladexError('E_OPTION', 'option idf applies to the inference-free and lexical kinds, not splade');
  // A reopened inference-free encoder serves queries without the model: it is loaded (and its
  // checksum verified) only if documents are encoded, so a search deployment needs no model.onnx.
  const lazyModel = reopen !== null && kind === 'inference-free';
  const dir = options.model === undefined || lazyModel ? null : await readModelDirectory(options.model);
  const tokenizer = await resolveTokenizer(options, dir, kind);
  if (reopen !== null && reopen.verifyChecksum && tokenizer !== null) {
    const expected = reopen.spec.tokenizer;
    if (expected.type !== 'english-analyzer' && expected.sha256 !== tokenizer.spec.sha256) {
      throw new SpladexError('E_MODEL', `the tokenizer file changed since the index was built (sha256 ${expected.sha256.slice(0, 12)}…, now ${tokenizer.spec.sha256.slice(0, 12)}…); restore it or rebuild the index`, {
        file: tokenizer.spec.file,
      });
    }
  }
  const settings = resolveSettings(options, dir, tokenizer, usesModel);

  let model: LoadedModel | null = null;
  let loadModel: (() => Promise<LoadedModel>) | null = null;
  if (queryOnly) {
    loadModel = () =>
      Promise.reject(new SpladexError('E_OPTION', 'this inference-free encoder was opened without a model and encodes queries only; give option model (--model <dir>) to encode documents'));
  } else if (usesModel && lazyModel) {
    loadModel = async () => openModel(await readModelDirectory(options.model as string), options, tokenizer as TextTokenizer, settings, reopen);
  } else if (usesModel) {
    model = await openModel(dir as ModelDirectory, options, tokenizer as TextTokenizer, settings, reopen);
  }

  // Query IDF (inference-free, lexical).
  let idf: IdfTable | null = null;
  let idfSource: EncoderSpec['query']['idfSource'] = null;
  if (kind !== 'splade') {
    if (options.idf instanceof Map) {
      idf = options.idf;
      idfSource = { type: 'table' };
    } else if (options.idf !== undefined && typeof options.idf === 'object') {
      idf = idfTableFromJson(options.idf);
      idfSource = { type: 'table' };
    } else {
      const idfPath = typeof options.idf === 'string' ? resolve(options.idf) : kind === 'inference-free' ? dir?.idfFile ?? null : null;
      if (idfPath !== null) {
        const read = await readIdfJson(idfPath);
        const expected = reopen?.spec.query.idfSource;
        if (reopen !== null && reopen.verifyChecksum && expected?.type === 'file' && expected.sha256 !== read.sha256) {
          throw new SpladexError('E_MODEL', 'idf.json changed since the index was built; restore it, pass the IDF table stored in the index, or rebuild the index', { file: idfPath });
        }
        idf = read.table;
        idfSource = { type: 'file', file: idfPath, sha256: read.sha256 };
      }
    }
    if (reopen !== null) idfSource = reopen.spec.query.idfSource;
    // A fresh lexical encoder always weights queries by its corpus's BM25 IDF (finishCorpusStats).
    else if (idfSource === null || kind === 'lexical') idfSource = { type: 'corpus', formula: 'bm25' };
  }

  const counter: TermCounter | null =
    kind === 'splade' ? null : tokenizer !== null ? tokenizerTermCounter(tokenizer) : analyzerTermCounter(new EnglishAnalyzer({ stemmer: settings.stemmer, stopwords: settings.stopwords }));

  return new SparseEncoder({
    kind,
    settings,
    tokenizerSpec: counter?.spec ?? (tokenizer as TextTokenizer).spec,
    tokenizer,
    counter,
    model,
    loadModel,
    storedModel: reopen?.spec.model ?? null,
    idf,
    idfSource,
    corpusStats: reopen?.spec.corpusStats ?? null,
    reopened: reopen !== null,
  });
}

/** An open ONNX model bound to its tokenizer. */
interface LoadedModel {
  encoder: ModelSparseEncoder;
  dir: string;
  file: string;
  sha256: string;
  outputName: string;
}

async function openModel(dir: ModelDirectory, options: EncoderOptions, tokenizer: TextTokenizer, settings: Resolved, reopen: ReopenContext | null): Promise<LoadedModel> {
  const modelFile = dir.modelFile;
  if (modelFile === null) throw missingModelError(dir.dir);
  const sha256 = await sha256File(modelFile);
  if (reopen !== null && reopen.verifyChecksum && reopen.spec.model !== null && reopen.spec.model.sha256 !== sha256) {
    throw new SpladexError(
      'E_MODEL',
      `the model changed since the index was built (sha256 ${reopen.spec.model.sha256.slice(0, 12)}…, now ${sha256.slice(0, 12)}…); point --model at the original model or rebuild the index`,
      { file: modelFile },
    );
  }
  const session = await OnnxMaskedLmSession.open(modelFile, { threads: settings.threads, outputName: options.outputName ?? dir.settings.outputName });
  try {
    const encoder = await ModelSparseEncoder.create(
      session,
      tokenizer,
      {
        maxLength: settings.maxLength as number,
        batchSize: settings.batchSize,
        maxBatchTokens: settings.maxBatchTokens,
        activation: settings.activation,
        poolSpecialPositions: settings.specialTokenPositions === 'include',
      },
      modelFile,
    );
    return { encoder, dir: dir.dir, file: modelFile, sha256, outputName: session.signature.outputName };
  } catch (error) {
    await session.dispose();
    throw error;
  }
}

async function resolveTokenizer(options: EncoderOptions, dir: ModelDirectory | null, kind: EncoderKind): Promise<TextTokenizer | null> {
  const config = dir?.tokenizerConfig ?? {};
  const lowercase = options.lowercase ?? (typeof config.do_lower_case === 'boolean' ? config.do_lower_case : undefined);
  if (options.tokenizer !== undefined) return loadTokenizerJson(resolve(options.tokenizer), config);
  if (options.vocab !== undefined) return loadVocabTxtTokenizer(resolve(options.vocab), { lowercase });
  if (dir !== null) {
    if (dir.tokenizerFile !== null) return loadTokenizerJson(dir.tokenizerFile, config);
    if (dir.vocabFile !== null) return loadVocabTxtTokenizer(dir.vocabFile, { lowercase });
    throw new SpladexError('E_MODEL', `no tokenizer.json or vocab.txt in ${dir.dir}; copy the model's tokenizer files there or pass --vocab/--tokenizer`, { file: dir.dir });
  }
  if (kind === 'lexical') return null; // built-in English analyzer
  throw new SpladexError('E_OPTION', 'no tokenizer: give a model directory, a tokenizer.json or a vocab.txt');
}

function resolveSettings(options: EncoderOptions, dir: ModelDirectory | null, tokenizer: TextTokenizer | null, usesModel: boolean): Resolved {
  const d = ENCODER_DEFAULTS;
  const pick = <K extends keyof typeof d>(key: K, value: EncoderOptions[K] | undefined): (typeof d)[K] | NonNullable<EncoderOptions[K]> =>
    value === undefined ? d[key] : (value as NonNullable<EncoderOptions[K]>);
  const r = {
    kind: pick('kind', options.kind),
    longDocuments: pick('longDocuments', options.longDocuments),
    windowOverlap: pick('windowOverlap', options.windowOverlap),
    batchSize: pick('batchSize', options.batchSize),
    maxBatchTokens: pick('maxBatchTokens', options.maxBatchTokens),
    threads: pick('threads', options.threads),
    activation: options.activation ?? (dir?.settings.activation as Resolved['activation'] | undefined) ?? d.activation,
    specialTokenPositions: options.specialTokenPositions ?? dir?.settings.specialTokenPositions ?? d.specialTokenPositions,
    topK: pick('topK', options.topK),
    minWeight: pick('minWeight', options.minWeight),
    bm25K1: pick('bm25K1', options.bm25K1),
    bm25B: pick('bm25B', options.bm25B),
    stemmer: pick('stemmer', options.stemmer),
    stopwords: pick('stopwords', options.stopwords),
    verifyChecksum: pick('verifyChecksum', options.verifyChecksum),
    maxLength: null as number | null,
  } satisfies Resolved;
  checkRange('batchSize', r.batchSize, 1, 4096, true);
  checkRange('maxBatchTokens', r.maxBatchTokens, 1, 1 << 20, true);
  checkRange('threads', r.threads, 0, 1024, true);
  checkRange('topK', r.topK, 0, 1_000_000, true);
  checkRange('minWeight', r.minWeight, 0, 1e9);
  checkRange('bm25K1', r.bm25K1, 0, 100);
  checkRange('bm25B', r.bm25B, 0, 1);
  checkRange('windowOverlap', r.windowOverlap, 0, 1_000_000, true);
  checkEnum('longDocuments', r.longDocuments, ['truncate', 'window']);
  checkEnum('activation', r.activation, ['log1p-relu', 'log1p-log1p-relu']);
  checkEnum('specialTokenPositions', r.specialTokenPositions, ['exclude', 'include']);
  checkEnum('stemmer', r.stemmer, ['porter', 'none']);
  checkEnum('stopwords', r.stopwords, ['lucene', 'none']);
  if (usesModel && dir !== null && tokenizer !== null) {
    const specials = tokenizer.prefixIds.length + tokenizer.suffixIds.length;
    // spladex.json may raise the limit (long-context models); otherwise the default caps the model's own limit.
    const maxLength = options.maxLength ?? dir.settings.maxLength ?? Math.min(d.maxLength, dir.modelMaxLength ?? d.maxLength);
    checkRange('maxLength', maxLength, specials + 1, dir.maxPositions ?? 1_000_000, true);
    r.maxLength = maxLength;
    if (r.longDocuments === 'window' && r.windowOverlap >= maxLength - specials) {
      throw new SpladexError('E_OPTION', `option windowOverlap must be smaller than maxLength minus special tokens (${maxLength - specials}), got ${r.windowOverlap}`);
    }
  } else if (options.maxLength !== undefined) {
    checkRange('maxLength', options.maxLength, 1, 1_000_000, true);
    // A lazily loaded model (reopened inference-free encoder) keeps the spec's max length.
    if (usesModel) r.maxLength = options.maxLength;
  }
  return r;
}

function checkEnum(name: string, value: unknown, allowed: readonly string[]): void {
  if (!allowed.includes(value as string)) {
    throw new SpladexError('E_OPTION', `option ${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
}

interface SparseEncoderParts {
  kind: EncoderKind;
  settings: Resolved;
  tokenizerSpec: TokenizerSpec;
  tokenizer: TextTokenizer | null;
  counter: TermCounter | null;
  /** The open model, or null for lexical and for a lazily loaded model not needed yet. */
  model: LoadedModel | null;
  /** Opens the model on first document encoding (reopened inference-free encoders). */
  loadModel: (() => Promise<LoadedModel>) | null;
  /** The model as described by the spec being reopened, used by `spec` until the model is loaded. */
  storedModel: EncoderSpec['model'];
  idf: IdfTable | null;
  idfSource: EncoderSpec['query']['idfSource'];
  corpusStats: CorpusStats | null;
  reopened: boolean;
}

class SparseEncoder implements Encoder {
  readonly kind: EncoderKind;
  readonly label: string;
  private readonly parts: SparseEncoderParts;
  private statsBuilder: CorpusStatsBuilder | null = null;
  private corpusStats: CorpusStats | null;
  private idf: IdfTable | null;
  private closed = false;
  /** Calls run one at a time: they share batch buffers and accumulators. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly times: StageTimes = { tokenizeMs: 0, modelMs: 0, poolMs: 0, sequences: 0, tokens: 0, paddedTokens: 0 };
  private documents = 0;
  private queries = 0;
  private totalMs = 0;
  private documentMs = 0;

  constructor(parts: SparseEncoderParts) {
    this.parts = parts;
    this.kind = parts.kind;
    this.corpusStats = parts.corpusStats;
    this.idf = parts.idf;
    const modelDir = parts.model?.dir ?? parts.storedModel?.dir;
    const modelName = modelDir === undefined ? '' : basename(modelDir);
    this.label =
      parts.kind === 'splade'
        ? `SPLADE learned sparse (model ${modelName})`
        : parts.kind === 'inference-free'
          ? modelDir === undefined
            ? 'inference-free learned sparse (queries only: tokenizer + IDF, no document model)'
            : `inference-free learned sparse (documents by model ${modelName}; queries by tokenizer + IDF)`
          : 'lexical (BM25), not a learned model';
    if (parts.kind === 'lexical' && parts.reopened && this.corpusStats === null) {
      throw new SpladexError('E_CORRUPT', 'the stored lexical encoder spec has no corpus statistics; rebuild the index');
    }
    if (parts.reopened && parts.kind !== 'splade' && this.idf === null) {
      throw new SpladexError('E_OPTION', `reopening a ${parts.kind} encoder needs the IDF table stored with the index (option idf)`);
    }
  }

  get needsCorpusStats(): boolean {
    if (this.kind === 'lexical') return this.corpusStats === null;
    if (this.kind === 'inference-free') return this.idf === null;
    return false;
  }

  get spec(): EncoderSpec {
    const { parts } = this;
    const s = parts.settings;
    const model = parts.model;
    const modelSpec: EncoderSpec['model'] =
      model === null
        ? parts.storedModel
        : {
            dir: model.dir,
            file: relative(model.dir, model.file),
            sha256: model.sha256,
            outputName: model.outputName,
            output: model.encoder.outputKind,
            vocabSize: model.encoder.outputVocabSize,
          };
    return {
      format: ENCODER_SPEC_FORMAT,
      version: ENCODER_SPEC_VERSION,
      kind: this.kind,
      label: this.label,
      model: modelSpec,
      tokenizer: parts.tokenizerSpec,
      maxLength: s.maxLength,
      longDocuments: s.longDocuments,
      windowOverlap: s.windowOverlap,
      pooling: modelSpec === null ? null : { activation: modelSpec.output === 'pooled' ? 'identity' : s.activation, specialTokenPositions: s.specialTokenPositions },
      documentPruning: { topK: s.topK, minWeight: s.minWeight },
      query: {
        weighting: this.kind === 'splade' ? 'model' : this.kind === 'inference-free' ? 'idf' : 'bm25-idf',
        countRepeats: this.kind === 'lexical',
        idfSource: parts.idfSource,
      },
      bm25: this.kind === 'lexical' ? { k1: s.bm25K1, b: s.bm25B } : null,
      corpusStats: this.corpusStats,
    };
  }

  get stats(): EncoderStats {
    return {
      documents: this.documents,
      queries: this.queries,
      ...this.times,
      totalMs: this.totalMs,
      documentsPerSecond: this.documentMs > 0 ? (this.documents * 1000) / this.documentMs : 0,
    };
  }

  addCorpusDocuments(texts: readonly string[]): void {
    this.assertOpen();
    if (!this.needsCorpusStats) {
      throw new SpladexError('E_OPTION', `the ${this.kind} encoder does not need corpus statistics${this.kind === 'splade' ? '' : ' (they are already set)'}; encode directly`);
    }
    const counter = this.parts.counter as TermCounter;
    this.statsBuilder ??= new CorpusStatsBuilder();
    const t = performance.now();
    for (const text of texts) this.statsBuilder.add(counter.count(text));
    this.times.tokenizeMs += performance.now() - t;
  }

  finishCorpusStats(): CorpusStats {
    this.assertOpen();
    if (this.statsBuilder === null) {
      if (this.corpusStats !== null) return this.corpusStats;
      throw new SpladexError('E_OPTION', 'no corpus documents were added: call addCorpusDocuments() over the whole corpus first');
    }
    const stats = this.statsBuilder.stats();
    if (this.kind === 'lexical') this.corpusStats = stats;
    if (this.idf === null || this.kind === 'lexical') this.idf = this.statsBuilder.idfTable();
    if (this.kind === 'inference-free') this.corpusStats = stats;
    this.statsBuilder = null;
    return stats;
  }

  encodeDocuments(texts: readonly string[]): Promise<SparseVectorInput[]> {
    return this.serialize(async () => {
      const t = performance.now();
      let vectors: SparseVectorInput[];
      if (this.kind === 'lexical') {
        const stats = this.requireCorpusStats();
        const { settings, counter } = this.parts;
        const t0 = performance.now();
        const counted = texts.map((text) => (counter as TermCounter).count(text));
        const t1 = performance.now();
        vectors = counted.map((c) => prune(bm25DocumentVector(c, { k1: settings.bm25K1, b: settings.bm25B }, stats.averageLength), settings.topK, settings.minWeight));
        this.times.tokenizeMs += t1 - t0;
        this.times.poolMs += performance.now() - t1;
      } else {
        const s = this.parts.settings;
        vectors = await (await this.modelEncoder()).encode(
          texts,
          { longDocuments: s.longDocuments, windowOverlap: s.windowOverlap, topK: s.topK, minWeight: s.minWeight },
          this.times,
        );
      }
      const elapsed = performance.now() - t;
      this.documents += texts.length;
      this.documentMs += elapsed;
      this.totalMs += elapsed;
      return vectors;
    });
  }

  encodeQueries(texts: readonly string[]): Promise<SparseVectorInput[]> {
    return this.serialize(async () => {
      const t = performance.now();
      let vectors: SparseVectorInput[];
      if (this.kind === 'splade') {
        vectors = await (await this.modelEncoder()).encode(
          texts,
          { longDocuments: 'truncate', windowOverlap: 0, topK: 0, minWeight: 0 },
          this.times,
        );
      } else {
        if (this.kind === 'lexical') this.requireCorpusStats();
        const idf = this.idf;
        if (idf === null) {
          throw new SpladexError('E_OPTION', 'inference-free queries need IDF weights: the model has no idf.json, so pass idf or make a first pass with addCorpusDocuments()/finishCorpusStats()');
        }
        const counter = this.parts.counter as TermCounter;
        const t0 = performance.now();
        const counted = texts.map((text) => counter.count(text));
        const t1 = performance.now();
        vectors = counted.map((c) => idfQueryVector(c, idf, this.kind === 'lexical'));
        this.times.tokenizeMs += t1 - t0;
        this.times.poolMs += performance.now() - t1;
      }
      this.queries += texts.length;
      this.totalMs += performance.now() - t;
      return vectors;
    });
  }

  idfTable(): IdfTable | null {
    return this.idf;
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.parts.model?.encoder.dispose();
  }

  private async modelEncoder(): Promise<ModelSparseEncoder> {
    const parts = this.parts;
    if (parts.model === null) {
      if (parts.loadModel === null) throw new Error('this encoder kind has no model');
      parts.model = await parts.loadModel();
    }
    return parts.model.encoder;
  }

  private requireCorpusStats(): CorpusStats {
    if (this.corpusStats === null) {
      throw new SpladexError('E_OPTION', 'the lexical encoder needs corpus statistics first: call addCorpusDocuments() over the whole corpus, then finishCorpusStats()');
    }
    return this.corpusStats;
  }

  private assertOpen(): void {
    if (this.closed) throw new SpladexError('E_CLOSED', 'the encoder was disposed; open a new one');
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    // Errors, including "closed", always arrive as rejections, never as synchronous throws.
    if (this.closed) return Promise.reject(new SpladexError('E_CLOSED', 'the encoder was disposed; open a new one'));
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Applies top-k / min-weight pruning to a finished vector (lexical documents). */
function prune(vector: SparseVectorInput, topK: number, minWeight: number): SparseVectorInput {
  let entries = Object.entries(vector);
  const before = entries.length;
  if (minWeight > 0) entries = entries.filter(([, w]) => w >= minWeight);
  if (topK > 0 && entries.length > topK) entries = entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, topK);
  if (entries.length === before) return vector;
  const out: SparseVectorInput = {};
  for (const [term, weight] of entries) setWeight(out, term, weight);
  return out;
}
