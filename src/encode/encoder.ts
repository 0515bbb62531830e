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

import { isAbsolute, relative, resolve } from 'node:path';
import { SpladexError } from '../errors.js';
import { pathExists } from '../util/fs.js';
import { sha256File } from './checksum.js';
import { resolveModelReference, type HubOrigin, type ModelLocation } from './hub/resolve.js';
import { EnglishAnalyzer } from './english-analyzer.js';
import { idfTableFromJson, readIdfJson, type IdfTable } from './idf.js';
import { analyzerTermCounter, tokenizerTermCounter, type TermCounter } from './lexical.js';
import { missingModelError, readModelDirectory, type ModelDirectory } from './model-dir.js';
import { ModelSparseEncoder } from './model-encoder.js';
import { OnnxMaskedLmSession } from './onnx-backend.js';
import { parseEncoderSpec, type EncoderKind, type EncoderSpec } from './spec.js';
import { loadTokenizerJson, loadVocabTxtTokenizer, type TextTokenizer } from './tokenizer.js';
import { ENCODER_DEFAULTS, ENCODER_OPTIONS, type Encoder, type EncoderOptions, type LoadedModel, type ReopenContext, type Resolved } from './encoder-options.js';
import { SparseEncoder } from './sparse-encoder.js';

export { ENCODER_DEFAULTS, ENCODER_OPTIONS, type Encoder, type EncoderOptions, type EncoderStats } from './encoder-options.js';

/** Opens an encoder for building a new index. `options.model` may name a Hub model (`org/name[@revision]`). */
export async function openEncoder(options: EncoderOptions = {}): Promise<Encoder> {
  if (options.model === undefined) return createEncoder(options, null, null);
  const location = await resolveModelReference(options.model, { onProgress: options.onDownload });
  return createEncoder({ ...options, model: location.path }, null, location.hub);
}

/**
 * Reopens the encoder an index was built with. `overrides` may relocate files (`model`,
 * `tokenizer`, `vocab`), give the stored IDF table (`idf`, required for lexical and for
 * inference-free with a corpus IDF) and set runtime options (threads, batch sizes). Encoding
 * settings come from the spec. E_MODEL when the model or tokenizer changed since the build.
 */
export async function openEncoderFromSpec(stored: unknown, overrides: EncoderOptions = {}): Promise<Encoder> {
  const spec = parseEncoderSpec(stored);
  const location = spec.model === null ? null : await storedModelLocation(spec.model, overrides);
  const relocate = (file: string): string => {
    // Files that lived in the model directory (tokenizer, idf.json) move with it.
    if (spec.model === null || location === null || location.path === spec.model.dir) return file;
    const rel = relative(spec.model.dir, file);
    return rel.startsWith('..') || isAbsolute(rel) ? file : resolve(location.path, rel);
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
    options.model = resolve(location?.path ?? spec.model.dir, spec.model.file);
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
  return createEncoder(options, { spec, verifyChecksum: ENCODER_OPTIONS.resolve({ verifyChecksum: overrides.verifyChecksum }).verifyChecksum }, location?.hub ?? null);
}

/**
 * Where the model of a stored spec is now: `overrides.model` (a directory or a Hub model), else the
 * directory of the build — or, for a Hub model whose snapshot is not there (another machine, another
 * HF_HUB_CACHE), the same commit from this cache, pulled if need be.
 */
async function storedModelLocation(model: NonNullable<EncoderSpec['model']>, overrides: EncoderOptions): Promise<ModelLocation> {
  if (overrides.model !== undefined) return resolveModelReference(overrides.model, { onProgress: overrides.onDownload });
  if (model.hub === undefined || (await pathExists(resolve(model.dir, model.file)))) return { path: model.dir, hub: model.hub ?? null };
  const pulled = await resolveModelReference(`${model.hub.repo}@${model.hub.commit}`, { onProgress: overrides.onDownload });
  return { path: pulled.path, hub: model.hub };
}


/** `hub`: the Hub snapshot `options.model` (already resolved to a path) is, or null. */
async function createEncoder(options: EncoderOptions, reopen: ReopenContext | null, hub: HubOrigin | null): Promise<Encoder> {
  const kind = ENCODER_OPTIONS.resolve({ kind: options.kind }).kind;
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
    loadModel = async () => openModel(await readModelDirectory(options.model as string), options, tokenizer as TextTokenizer, settings, reopen, hub);
  } else if (usesModel) {
    model = await openModel(dir as ModelDirectory, options, tokenizer as TextTokenizer, settings, reopen, hub);
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

async function openModel(dir: ModelDirectory, options: EncoderOptions, tokenizer: TextTokenizer, settings: Resolved, reopen: ReopenContext | null, hub: HubOrigin | null): Promise<LoadedModel> {
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
    return { encoder, dir: dir.dir, file: modelFile, sha256, outputName: session.signature.outputName, hub };
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
  const settings = ENCODER_OPTIONS.resolve({
    ...options,
    // The model directory's spladex.json comes between the caller's options and the table's defaults.
    activation: options.activation ?? (dir?.settings.activation as Resolved['activation'] | undefined),
    specialTokenPositions: options.specialTokenPositions ?? dir?.settings.specialTokenPositions,
    // Depends on the model: checked below.
    maxLength: undefined,
  });
  // Files and names say what to open, they are not settings; maxLength is set below.
  const { model: _model, tokenizer: _tokenizer, vocab: _vocab, outputName: _outputName, lowercase: _lowercase, maxLength: _maxLength, ...rest } = settings;
  const r: Resolved = { ...rest, maxLength: null };
  if (usesModel && dir !== null && tokenizer !== null) {
    const d = ENCODER_DEFAULTS;
    const specials = tokenizer.prefixIds.length + tokenizer.suffixIds.length;
    // spladex.json may raise the limit (long-context models); otherwise the default caps the model's own limit.
    const maxLength = options.maxLength ?? dir.settings.maxLength ?? Math.min(d.maxLength, dir.modelMaxLength ?? d.maxLength);
    ENCODER_OPTIONS.check('maxLength', maxLength, { bounds: { min: specials + 1, max: dir.maxPositions ?? 1_000_000 } });
    r.maxLength = maxLength;
    if (r.longDocuments === 'window' && r.windowOverlap >= maxLength - specials) {
      throw new SpladexError('E_OPTION', `windowOverlap must be smaller than maxLength minus special tokens (${maxLength - specials}), got ${r.windowOverlap}`);
    }
  } else if (options.maxLength !== undefined) {
    ENCODER_OPTIONS.check('maxLength', options.maxLength);
    // A lazily loaded model (reopened inference-free encoder) keeps the spec's max length.
    if (usesModel) r.maxLength = options.maxLength;
  }
  return r;
}
