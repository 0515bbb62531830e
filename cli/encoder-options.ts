/**
 * Encoder flags shared by `spladex encode` and `spladex index --input text` (every flag, its help
 * text and its default from `ENCODER_OPTIONS`), and the encoder report lines both print.
 */
import type { Command } from 'commander';
import { ENCODER_OPTIONS, type ENCODER_DEFAULTS, type EncoderOptions, type EncoderStats } from '../src/encode/index.js';
import { defaultEncoderKind } from '../src/index.js';
import { downloadProgress } from './download-progress.js';
import { addTableOptions, tableOptionsFrom } from './table-options.js';
import { formatSeconds } from './util.js';

export const LEXICAL_LABEL = 'lexical (BM25), not a learned model';

/** The "Kinds:" block of --help. */
export const KINDS_HELP = `Kinds:
  splade          documents and queries through the model (--model)
  inference-free  documents through the model; queries = tokenizer tokens × IDF (no model at query time)
  lexical         ${LEXICAL_LABEL}: BM25 tf weights for documents, qtf × BM25 IDF for queries;
                  two passes over the corpus (statistics, then vectors)`;

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

/** Adds the encoder flags of `ENCODER_OPTIONS` (and `--idf` when `choices.idf` is given). */
export function addEncoderOptions(command: Command, choices: EncoderFlagChoices = {}): Command {
  const omit: Array<keyof typeof ENCODER_DEFAULTS> = [];
  if (!(choices.threads ?? true)) omit.push('threads');
  if (!(choices.documentPruning ?? true)) omit.push('topK', 'minWeight');
  addTableOptions(command, ENCODER_OPTIONS, {
    omit,
    prefix: choices.prefix,
    // The library's default kind is splade; the CLI picks lexical when no model is given.
    defaultText: { kind: `splade with --model, else lexical = ${LEXICAL_LABEL}` },
  });
  if (choices.idf !== undefined) command.option('--idf <idf.json>', choices.idf);
  return command;
}

/**
 * `openEncoder` options from the parsed flags (`idf` is routed by the caller); a `--model org/name`
 * not cached yet is downloaded with a progress bar (silenced by the command's `--quiet`).
 */
export function encoderOptionsFrom(command: Command): EncoderOptions {
  const options: EncoderOptions = tableOptionsFrom(command, ENCODER_OPTIONS);
  const quiet = (command.opts() as { quiet?: boolean }).quiet === true;
  return { ...options, kind: defaultEncoderKind({ kind: options.kind, model: options.model }), onDownload: downloadProgress(quiet) };
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
