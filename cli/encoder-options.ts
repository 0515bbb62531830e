/**
 * Encoder flags shared by `spladex encode` and `spladex index --input text` (one definition of each
 * flag, its help text and its default from `ENCODER_DEFAULTS`), and the encoder report lines both
 * print.
 */
import type { Command } from 'commander';
import { ENCODER_DEFAULTS, type EncoderOptions, type EncoderStats, ENCODER_KINDS, type EncoderKind } from '../src/encode/index.js';
import { defaultEncoderKind } from '../src/index.js';
import { choice, formatSeconds, parseInteger, parseNumber } from './util.js';

export const LEXICAL_LABEL = 'lexical (BM25), not a learned model';

/** The "Kinds:" block of --help. */
export const KINDS_HELP = `Kinds:
  splade          documents and queries through the model (--model)
  inference-free  documents through the model; queries = tokenizer tokens × IDF (no model at query time)
  lexical         ${LEXICAL_LABEL}: BM25 tf weights for documents, qtf × BM25 IDF for queries;
                  two passes over the corpus (statistics, then vectors)`;

/** Parsed values of the shared encoder flags. */
export interface EncoderCliOptions {
  model?: string;
  kind?: EncoderKind;
  vocab?: string;
  tokenizer?: string;
  idf?: string;
  batchSize: number;
  maxBatchTokens: number;
  threads?: number;
  maxLength?: number;
  longDocuments: 'truncate' | 'window';
  windowOverlap: number;
  specialTokens?: 'exclude' | 'include';
  topK?: number;
  minWeight?: number;
  k1: number;
  b: number;
  stemmer: 'porter' | 'none';
  stopwords: 'lucene' | 'none';
}

export interface EncoderFlagChoices {
  /** Help text of --idf (it means different things to encode and index); omitted: no --idf flag. */
  idf?: string;
  /** Add --threads (onnxruntime threads). `index` has its own --threads. Default true. */
  threads?: boolean;
  /** Add --top-k and --min-weight (encoder-side document pruning). `index` prunes postings itself. Default true. */
  documentPruning?: boolean;
  /** Prefix of every description, e.g. "(--input text) ". Default none. */
  prefix?: string;
}

/** Long names of the flags `addEncoderOptions` defines with these choices (for "only with --input text" checks). */
export function encoderFlagNames(choices: EncoderFlagChoices = {}): string[] {
  const names = ['model', 'kind', 'vocab', 'tokenizer', 'batchSize', 'maxBatchTokens', 'maxLength', 'longDocuments', 'windowOverlap', 'specialTokens', 'k1', 'b', 'stemmer', 'stopwords'];
  if (choices.idf !== undefined) names.push('idf');
  if (choices.threads ?? true) names.push('threads');
  if (choices.documentPruning ?? true) names.push('topK', 'minWeight');
  return names;
}

export function addEncoderOptions(command: Command, choices: EncoderFlagChoices = {}): Command {
  const d = ENCODER_DEFAULTS;
  const p = choices.prefix ?? '';
  command
    .option('--model <dir>', `${p}model directory: model.onnx + tokenizer.json or vocab.txt [+ idf.json, config.json, spladex.json] (or an .onnx file in one)`)
    .option('--kind <kind>', `${p}encoder kind: splade | inference-free | lexical (default: splade with --model, else lexical = ${LEXICAL_LABEL})`, choice(ENCODER_KINDS))
    .option('--vocab <vocab.txt>', `${p}WordPiece vocab.txt to tokenize with instead of the model's tokenizer (lexical: BM25 over its tokens instead of the English analyzer)`)
    .option('--tokenizer <tokenizer.json>', `${p}Hugging Face tokenizer.json to use instead of the model's`);
  if (choices.idf !== undefined) command.option('--idf <idf.json>', choices.idf);
  command
    .option('--batch-size <n>', `${p}model sequences per run, 1..4096`, parseInteger, d.batchSize)
    .option('--max-batch-tokens <n>', `${p}cap on padded tokens per model run (logits take tokens × vocab × 4 bytes), 1..1048576`, parseInteger, d.maxBatchTokens);
  if (choices.threads ?? true) command.option('--threads <n>', `${p}onnxruntime intra-op threads (0 = one per physical core)`, parseInteger, d.threads);
  command
    .option('--max-length <n>', `${p}max tokens per model sequence incl. [CLS]/[SEP] (default: spladex.json, else the model's limit capped at ${d.maxLength})`, parseInteger)
    .option('--long-documents <mode>', `${p}documents longer than --max-length: truncate (as SPLADE) | window (overlapping windows, max-pooled)`, choice(['truncate', 'window'] as const), d.longDocuments)
    .option('--window-overlap <n>', `${p}tokens shared by consecutive windows (--long-documents window)`, parseInteger, d.windowOverlap)
    .option('--special-tokens <mode>', `${p}[CLS]/[SEP] positions in max pooling: exclude | include (naver's SPLADE code) (default: spladex.json, else ${d.specialTokenPositions})`, choice(['exclude', 'include'] as const));
  if (choices.documentPruning ?? true) {
    command
      .option('--top-k <n>', 'keep at most n terms per document, largest weights (0 = all); queries are never pruned', parseInteger, d.topK)
      .option('--min-weight <w>', 'drop document weights below w (0 = keep every weight > 0)', parseNumber, d.minWeight);
  }
  return command
    .option('--k1 <k1>', `${p}BM25 k1 (lexical)`, parseNumber, d.bm25K1)
    .option('--b <b>', `${p}BM25 b (lexical)`, parseNumber, d.bm25B)
    .option('--stemmer <stemmer>', `${p}English analyzer stemmer (lexical without a tokenizer): porter | none`, choice(['porter', 'none'] as const), d.stemmer)
    .option('--stopwords <list>', `${p}English analyzer stop words (lexical without a tokenizer): lucene | none`, choice(['lucene', 'none'] as const), d.stopwords);
}

/** `openEncoder` options from the parsed flags (`idf` is routed by the caller). */
export function encoderOptionsFrom(opts: EncoderCliOptions): EncoderOptions {
  const options: EncoderOptions = {
    kind: defaultEncoderKind({ kind: opts.kind, model: opts.model }),
    model: opts.model,
    vocab: opts.vocab,
    tokenizer: opts.tokenizer,
    batchSize: opts.batchSize,
    maxBatchTokens: opts.maxBatchTokens,
    threads: opts.threads,
    maxLength: opts.maxLength,
    longDocuments: opts.longDocuments,
    windowOverlap: opts.windowOverlap,
    specialTokenPositions: opts.specialTokens,
    topK: opts.topK,
    minWeight: opts.minWeight,
    bm25K1: opts.k1,
    bm25B: opts.b,
    stemmer: opts.stemmer,
    stopwords: opts.stopwords,
  };
  return options;
}

/**
 * Where the encoder's time went, as summary lines: `<label>tokenize …, model …, pool …` and, when a
 * model ran, `<modelLabel>N sequences, T tokens (+p% padding)`.
 */
export function encoderStatsLines(e: EncoderStats, labels: { split: string; model: string }): string[] {
  const split = e.tokenizeMs + e.modelMs + e.poolMs;
  const part = (ms: number): string => `${formatSeconds(ms / 1000)} (${split > 0 ? Math.round((100 * ms) / split) : 0}%)`;
  const lines = [`${labels.split}tokenize ${part(e.tokenizeMs)}, model ${part(e.modelMs)}, pool ${part(e.poolMs)}`];
  if (e.sequences > 0) {
    const padding = e.tokens > 0 ? (100 * (e.paddedTokens - e.tokens)) / e.tokens : 0;
    lines.push(`${labels.model}${e.sequences.toLocaleString('en-US')} sequences, ${e.tokens.toLocaleString('en-US')} tokens (+${padding.toFixed(1)}% padding)`);
  }
  return lines;
}
