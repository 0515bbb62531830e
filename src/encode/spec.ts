/**
 * The encoder spec: everything needed to encode queries exactly like an index was built, in a
 * JSON-serialisable object the index stores (together with the IDF table, see idf.ts).
 *
 * Example (SPLADE):
 * {
 *   "format": "spladex-encoder", "version": 1, "kind": "splade",
 *   "label": "SPLADE learned sparse (model splade-v3)",
 *   "model": { "dir": "/models/splade-v3", "file": "model.onnx", "sha256": "…", "outputName": "logits", "output": "token-logits", "vocabSize": 30522 },
 *   "tokenizer": { "type": "bert-wordpiece", "file": "/models/splade-v3/tokenizer.json", "source": "tokenizer.json", "sha256": "…", "vocabSize": 30522, "lowercase": true, "stripAccents": true, "handleChineseChars": true },
 *   "maxLength": 512, "longDocuments": "truncate", "windowOverlap": 128,
 *   "pooling": { "activation": "log1p-relu", "specialTokenPositions": "exclude" },
 *   "documentPruning": { "topK": 0, "minWeight": 0 },
 *   "query": { "weighting": "model", "countRepeats": false, "idfSource": null },
 *   "bm25": null, "corpusStats": null
 * }
 *
 * A model pulled from the Hugging Face Hub adds `model.hub`: `{ "repo": "naver/splade-v3",
 * "revision": "main", "commit": "<40 hex>" }`, so the index's queries are encoded by exactly that
 * snapshot even after the branch moves, and a machine whose cache lacks it pulls that commit.
 * Indexes written before have no `hub` and open as before (the field is optional, the version
 * unchanged).
 */

import { SpladexError } from '../errors.js';
import type { CorpusStats } from './lexical.js';
import type { HubOrigin } from './hub/resolve.js';
import type { ModelOutputKind } from './onnx-backend.js';
import { POOLING_ACTIVATIONS, type PoolingActivation } from './pooling.js';
import type { TokenizerSpec } from './tokenizer.js';

export type EncoderKind =
  /** Documents and queries through the SPLADE model. */
  | 'splade'
  /** Documents through the model; queries = tokenizer + IDF, no model at query time. */
  | 'inference-free'
  /** BM25 over tokenizer or analyzer terms: lexical (BM25), not a learned model. */
  | 'lexical';

export const ENCODER_KINDS: readonly EncoderKind[] = ['splade', 'inference-free', 'lexical'];

export const ENCODER_SPEC_FORMAT = 'spladex-encoder';
export const ENCODER_SPEC_VERSION = 1;

export interface EncoderSpec {
  format: typeof ENCODER_SPEC_FORMAT;
  version: typeof ENCODER_SPEC_VERSION;
  kind: EncoderKind;
  /** Human-readable description, e.g. "lexical (BM25), not a learned model". */
  label: string;
  /** The ONNX model (null for lexical). */
  model: {
    /** Absolute model directory at build time. */
    dir: string;
    /** Model file path relative to `dir`. */
    file: string;
    sha256: string;
    outputName: string;
    output: ModelOutputKind;
    /** Scores per sequence/document the model outputs. */
    vocabSize: number;
    /** The Hub snapshot `dir` is, when the model came from the Hugging Face Hub. */
    hub?: HubOrigin;
  } | null;
  tokenizer: TokenizerSpec;
  /** Max tokens per model sequence, special tokens included (null when no model runs). */
  maxLength: number | null;
  longDocuments: 'truncate' | 'window';
  windowOverlap: number;
  pooling: { activation: PoolingActivation; specialTokenPositions: 'exclude' | 'include' } | null;
  documentPruning: { topK: number; minWeight: number };
  query: {
    /** model: SPLADE query encoder; idf: binary presence × IDF (inference-free); bm25-idf: qtf × BM25 IDF (lexical). */
    weighting: 'model' | 'idf' | 'bm25-idf';
    /** Whether a term repeated in the query counts once per occurrence. */
    countRepeats: boolean;
    /** Where the IDF table came from (null for splade). */
    idfSource: { type: 'file'; file: string; sha256: string } | { type: 'corpus'; formula: 'bm25' } | { type: 'table' } | null;
  };
  bm25: { k1: number; b: number } | null;
  /** Set once a first pass over the corpus has been made (lexical; inference-free without idf.json). */
  corpusStats: CorpusStats | null;
}

/**
 * Checks a spec read back from an index. E_FORMAT_VERSION for a newer spec version, E_CORRUPT for
 * anything structurally wrong.
 */
export function parseEncoderSpec(value: unknown, file?: string): EncoderSpec {
  const where = file === undefined ? {} : { file };
  const fail = (what: string): never => {
    throw new SpladexError('E_CORRUPT', `the stored encoder spec is invalid: ${what}`, where);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail('not an object');
  const spec = value as Record<string, unknown>;
  if (spec.format !== ENCODER_SPEC_FORMAT) fail(`format is ${JSON.stringify(spec.format)}, expected "${ENCODER_SPEC_FORMAT}"`);
  if (typeof spec.version !== 'number') fail('no version');
  if (spec.version !== ENCODER_SPEC_VERSION) {
    throw new SpladexError('E_FORMAT_VERSION', `the encoder spec has version ${String(spec.version)}; this build reads version ${ENCODER_SPEC_VERSION}. Upgrade spladex or rebuild the index`, where);
  }
  if (!ENCODER_KINDS.includes(spec.kind as EncoderKind)) fail(`unknown kind ${JSON.stringify(spec.kind)}`);
  if (typeof spec.label !== 'string') fail('label must be a string');
  const tokenizer = spec.tokenizer as Record<string, unknown> | undefined;
  if (tokenizer === null || typeof tokenizer !== 'object') return fail('no tokenizer');
  if (tokenizer.type === 'english-analyzer') {
    if (tokenizer.stemmer !== 'porter' && tokenizer.stemmer !== 'none') fail('analyzer stemmer must be porter or none');
    if (tokenizer.stopwords !== 'lucene' && tokenizer.stopwords !== 'none') fail('analyzer stopwords must be lucene or none');
  } else if (tokenizer.type === 'bert-wordpiece' || tokenizer.type === 'hf-tokenizer-json') {
    if (typeof tokenizer.file !== 'string' || typeof tokenizer.sha256 !== 'string') fail('tokenizer file and sha256 are required');
  } else fail(`unknown tokenizer type ${JSON.stringify(tokenizer.type)}`);

  const model = spec.model as Record<string, unknown> | null;
  if (spec.kind === 'lexical') {
    if (model !== null) fail('a lexical spec has no model');
  } else {
    if (model === null || typeof model !== 'object') return fail(`a ${String(spec.kind)} spec needs a model`);
    for (const key of ['dir', 'file', 'sha256', 'outputName'] as const) if (typeof model[key] !== 'string') fail(`model.${key} must be a string`);
    if (model.output !== 'token-logits' && model.output !== 'pooled') fail('model.output must be token-logits or pooled');
    if (!isPositiveInt(model.vocabSize)) fail('model.vocabSize must be a positive integer');
    const hub = model.hub as Record<string, unknown> | undefined;
    if (hub !== undefined && (hub === null || typeof hub !== 'object' || typeof hub.repo !== 'string' || typeof hub.revision !== 'string' || typeof hub.commit !== 'string' || !/^[0-9a-f]{40}$/.test(hub.commit))) {
      fail('model.hub must be { repo, revision, commit }');
    }
    if (!isPositiveInt(spec.maxLength)) fail('maxLength must be a positive integer');
    const pooling = spec.pooling as Record<string, unknown> | null;
    if (pooling === null || typeof pooling !== 'object') return fail('pooling is required with a model');
    if (!POOLING_ACTIVATIONS.includes(pooling.activation as PoolingActivation)) fail('unknown pooling activation');
    if (pooling.specialTokenPositions !== 'exclude' && pooling.specialTokenPositions !== 'include') fail('pooling.specialTokenPositions must be exclude or include');
  }
  if (spec.longDocuments !== 'truncate' && spec.longDocuments !== 'window') fail('longDocuments must be truncate or window');
  if (!isNonNegativeInt(spec.windowOverlap)) fail('windowOverlap must be an integer ≥ 0');
  const pruning = spec.documentPruning as Record<string, unknown> | undefined;
  if (pruning === null || typeof pruning !== 'object' || !isNonNegativeInt(pruning.topK) || !isNonNegativeNumber(pruning.minWeight)) fail('documentPruning is invalid');
  const query = spec.query as Record<string, unknown> | undefined;
  if (query === null || typeof query !== 'object') return fail('query is required');
  if (!['model', 'idf', 'bm25-idf'].includes(query.weighting as string)) fail('query.weighting is invalid');
  if (typeof query.countRepeats !== 'boolean') fail('query.countRepeats must be a boolean');
  if (spec.kind === 'lexical') {
    const bm25 = spec.bm25 as Record<string, unknown> | null;
    if (bm25 === null || typeof bm25 !== 'object' || !isNonNegativeNumber(bm25.k1) || !isNonNegativeNumber(bm25.b)) fail('bm25 parameters are required for lexical');
  }
  const stats = spec.corpusStats as Record<string, unknown> | null;
  if (stats !== null && (typeof stats !== 'object' || !isNonNegativeInt(stats.documents) || !isNonNegativeNumber(stats.totalLength) || !isNonNegativeNumber(stats.averageLength))) {
    fail('corpusStats is invalid');
  }
  return value as EncoderSpec;
}

function isPositiveInt(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function isNonNegativeInt(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function isNonNegativeNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
