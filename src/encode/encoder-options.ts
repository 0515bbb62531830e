/**
 * The shapes shared by the encoder factory (encoder.ts) and the encoder it builds
 * (sparse-encoder.ts): options and their defaults, the `Encoder` interface and its statistics, and
 * the resolved settings and loaded model both sides pass around.
 */
import type { SparseVectorInput } from '../types.js';
import type { IdfTable } from './idf.js';
import type { CorpusStats } from './lexical.js';
import type { ModelSparseEncoder } from './model-encoder.js';
import type { PoolingActivation } from './pooling.js';
import type { EncoderKind, EncoderSpec } from './spec.js';

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
export interface ReopenContext {
  spec: EncoderSpec;
  verifyChecksum: boolean;
}


/** Options with their defaults filled in (model-dependent lengths resolved). */
export type Resolved = Required<Omit<EncoderOptions, 'model' | 'tokenizer' | 'vocab' | 'idf' | 'outputName' | 'lowercase' | 'maxLength'>> & {
  maxLength: number | null;
};

/** An open ONNX model bound to its tokenizer. */
export interface LoadedModel {
  encoder: ModelSparseEncoder;
  dir: string;
  file: string;
  sha256: string;
  outputName: string;
}
