/**
 * The shapes shared by the encoder factory (encoder.ts) and the encoder it builds
 * (sparse-encoder.ts): options and their defaults, the `Encoder` interface and its statistics, and
 * the resolved settings and loaded model both sides pass around.
 */
import type { SparseVectorInput } from '../types.js';
import type { HubOrigin } from './hub/resolve.js';
import type { PullProgress } from './hub/pull.js';
import type { IdfTable } from './idf.js';
import type { CorpusStats } from './lexical.js';
import type { ModelSparseEncoder } from './model-encoder.js';
import type { PoolingActivation } from './pooling.js';
import { ENCODER_KINDS, type EncoderKind, type EncoderSpec } from './spec.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

/** Options of `openEncoder`. Defaults, ranges and flags: ENCODER_OPTIONS (ENCODER_DEFAULTS). */
export interface EncoderOptions {
  /** Encoder kind. Default 'splade'. */
  kind?: EncoderKind;
  /**
   * Model directory (HF export: model.onnx + tokenizer.json/vocab.txt [+ idf.json, config.json, spladex.json]) or an .onnx file in one,
   * or a Hugging Face Hub model `org/name[@revision]` (pulled into the Hub cache on first use; an existing path wins).
   * Required for splade and inference-free; optional for lexical (its tokenizer is used).
   */
  model?: string;
  /** Progress of a Hub download when `model` names a Hub model that is not cached yet. */
  onDownload?: (progress: PullProgress) => void;
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

/** The options the table describes: all but `idf`, which is a path or a table. */
export type EncoderTableOptions = Required<Omit<EncoderOptions, 'idf' | 'model' | 'tokenizer' | 'vocab' | 'outputName' | 'lowercase' | 'onDownload'>> &
  Pick<EncoderOptions, 'model' | 'tokenizer' | 'vocab' | 'outputName' | 'lowercase'>;

/**
 * The encoder options: default, range, flag and help of each (see src/util/options-table.ts).
 * Some defaults depend on the model directory (spladex.json, the model's own length limit); the
 * table holds the fallback, `resolveSettings` in encoder.ts puts the directory's value first.
 */
export const ENCODER_OPTIONS: OptionsTable<EncoderTableOptions> = defineOptions<EncoderTableOptions>({
  model: {
    type: 'string',
    placeholder: 'dir|repo',
    help: 'model directory: model.onnx + tokenizer.json or vocab.txt [+ idf.json, config.json, spladex.json] (or an .onnx file in one), or a Hugging Face Hub model org/name[@revision], pulled into the Hub cache on first use',
  },
  kind: { type: 'enum', values: ENCODER_KINDS, default: 'splade', placeholder: 'kind', help: 'encoder kind' },
  vocab: { type: 'string', placeholder: 'vocab.txt', help: "WordPiece vocab.txt to tokenize with instead of the model's tokenizer (lexical: BM25 over its tokens instead of the English analyzer)" },
  tokenizer: { type: 'string', placeholder: 'tokenizer.json', help: "Hugging Face tokenizer.json to use instead of the model's" },
  batchSize: { type: 'integer', min: 1, max: 4096, default: 32, help: 'model sequences per run' },
  maxBatchTokens: { type: 'integer', min: 1, max: 1 << 20, default: 2048, help: 'cap on padded tokens per model run (logits take tokens × vocab × 4 bytes)' },
  threads: { type: 'integer', min: 0, max: 1024, default: 0, help: 'onnxruntime intra-op threads (0 = one per physical core)' },
  // Checked against the model's limits once it is open (resolveSettings); this is the range without a model.
  maxLength: {
    type: 'integer',
    min: 1,
    max: 1_000_000,
    default: 512,
    defaultText: "spladex.json, else the model's limit capped at 512",
    help: 'max tokens per model sequence incl. [CLS]/[SEP]',
  },
  longDocuments: { type: 'enum', values: ['truncate', 'window'], default: 'truncate', placeholder: 'mode', help: 'documents longer than --max-length are truncated (as SPLADE) or cut into overlapping windows, max-pooled' },
  windowOverlap: { type: 'integer', min: 0, max: 1_000_000, default: 128, help: 'tokens shared by consecutive windows (--long-documents window)' },
  // --special-tokens: the documented flag, kept short.
  specialTokenPositions: {
    type: 'enum',
    values: ['exclude', 'include'],
    default: 'exclude',
    defaultText: 'spladex.json, else exclude',
    flag: 'special-tokens',
    placeholder: 'mode',
    help: "[CLS]/[SEP] positions in max pooling (naver's SPLADE code includes them)",
  },
  activation: { type: 'enum', values: ['log1p-relu', 'log1p-log1p-relu'], default: 'log1p-relu', defaultText: 'spladex.json, else log1p-relu', flag: false, help: 'pooling activation' },
  outputName: { type: 'string', flag: false, help: "graph output to read (default 'logits', else the only output)" },
  topK: { type: 'integer', min: 0, max: 1_000_000, default: 0, help: 'keep at most n terms per document, largest weights (0 = all); queries are never pruned' },
  minWeight: { type: 'number', min: 0, max: 1e9, default: 0, placeholder: 'w', help: 'drop document weights below w (0 = keep every weight > 0)' },
  // --k1 and --b: the names BM25's parameters go by (Anserini, Pyserini).
  bm25K1: { type: 'number', min: 0, max: 100, default: 0.9, flag: 'k1', placeholder: 'k1', help: 'BM25 k1 (lexical)' },
  bm25B: { type: 'number', min: 0, max: 1, default: 0.4, flag: 'b', placeholder: 'b', help: 'BM25 b (lexical)' },
  stemmer: { type: 'enum', values: ['porter', 'none'], default: 'porter', placeholder: 'stemmer', help: 'English analyzer stemmer (lexical without a tokenizer)' },
  stopwords: { type: 'enum', values: ['lucene', 'none'], default: 'lucene', placeholder: 'list', help: 'English analyzer stop words (lexical without a tokenizer)' },
  lowercase: { type: 'boolean', flag: false, help: 'lower-case for a vocab.txt tokenizer' },
  verifyChecksum: { type: 'boolean', default: true, flag: false, help: 'verify model and tokenizer checksums when reopening from a spec' },
});

/** The encoder options that have a default, and their defaults. */
export type EncoderDefaults = Readonly<Omit<EncoderTableOptions, 'model' | 'tokenizer' | 'vocab' | 'outputName' | 'lowercase'>>;

export const ENCODER_DEFAULTS: EncoderDefaults = ENCODER_OPTIONS.defaults;

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
export type Resolved = Required<Omit<EncoderOptions, 'model' | 'tokenizer' | 'vocab' | 'idf' | 'outputName' | 'lowercase' | 'maxLength' | 'onDownload'>> & {
  maxLength: number | null;
};

/** An open ONNX model bound to its tokenizer. */
export interface LoadedModel {
  encoder: ModelSparseEncoder;
  dir: string;
  file: string;
  sha256: string;
  outputName: string;
  /** The Hub snapshot `dir` is, or null. */
  hub: HubOrigin | null;
}
