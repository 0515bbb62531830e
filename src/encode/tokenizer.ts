/**
 * Tokenizers as the encoders see them: text → content token ids, plus the special tokens a model
 * sequence is wrapped in. Two sources are supported:
 *
 *  - `vocab.txt` (BERT WordPiece, one token per line): the fast tokenizer of bert-tokenizer.ts;
 *  - `tokenizer.json` (any Hugging Face fast tokenizer): BERT-style files (WordPiece model,
 *    BertNormalizer, BertPreTokenizer) also use the fast tokenizer, configured from the file; all
 *    others go through `@huggingface/tokenizers` (hf-tokenizer.ts).
 */

import { readFile } from 'node:fs/promises';
import { SpladexError } from '../errors.js';
import { BertWordPieceTokenizer, parseVocabTxt } from './bert-tokenizer.js';
import { sha256Bytes } from './checksum.js';
import { createHfTokenizer, type HfTokenizerJson } from './hf-tokenizer.js';

/** How an index's terms were produced; stored in the encoder spec and compared when reopening. */
export type TokenizerSpec =
  | {
      type: 'bert-wordpiece';
      /** File the vocabulary came from (absolute path when written by openEncoder). */
      file: string;
      source: 'vocab.txt' | 'tokenizer.json';
      sha256: string;
      vocabSize: number;
      lowercase: boolean;
      stripAccents: boolean;
      handleChineseChars: boolean;
    }
  | { type: 'hf-tokenizer-json'; file: string; sha256: string; vocabSize: number }
  | { type: 'english-analyzer'; version: 1; stemmer: 'porter' | 'none'; stopwords: 'lucene' | 'none' };

/** A tokenizer with a fixed vocabulary (everything except the built-in English analyzer). */
export interface TextTokenizer {
  readonly spec: Extract<TokenizerSpec, { type: 'bert-wordpiece' | 'hf-tokenizer-json' }>;
  /** `vocabulary[id]` is the token string; '' for ids with no token. */
  readonly vocabulary: readonly string[];
  readonly vocabSize: number;
  /** Ids put before the content of every model sequence (e.g. [CLS]). */
  readonly prefixIds: Int32Array;
  /** Ids put after the content (e.g. [SEP]). */
  readonly suffixIds: Int32Array;
  /** Id used to pad sequences of a batch to the same length. */
  readonly padId: number;
  /** `isSpecial[id] === 1` for special tokens ([CLS], [SEP], [PAD], [UNK], [MASK], ...). */
  readonly isSpecial: Uint8Array;
  /** Content token ids of `text`: no special prefix/suffix, no truncation. */
  encode(text: string): Int32Array;
  tokenToId(token: string): number | undefined;
}

export interface VocabTokenizerOptions {
  /** Lower-case input. Default: `do_lower_case` from a sibling tokenizer_config.json, else guessed from the vocabulary. */
  lowercase?: boolean;
  /** Strip accents. Default: same as `lowercase`. */
  stripAccents?: boolean;
  /** Split CJK ideographs into single tokens. Default true. */
  handleChineseChars?: boolean;
}

const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Loads a BERT WordPiece tokenizer from a `vocab.txt` file. */
export async function loadVocabTxtTokenizer(path: string, options: VocabTokenizerOptions = {}): Promise<TextTokenizer> {
  const body = await readTextFile(path, 'vocabulary');
  const vocabulary = parseVocabTxt(body);
  if (vocabulary.length === 0) throw new SpladexError('E_MODEL', 'the vocabulary file is empty; expected one WordPiece token per line', { file: path });
  const lowercase = options.lowercase ?? guessLowercase(vocabulary);
  const stripAccents = options.stripAccents ?? lowercase;
  const handleChineseChars = options.handleChineseChars ?? true;
  const ids = new Map<string, number>();
  vocabulary.forEach((token, id) => ids.set(token, id));
  for (const required of ['[UNK]', '[CLS]', '[SEP]']) {
    if (!ids.has(required)) {
      throw new SpladexError('E_MODEL', `the vocabulary has no ${required} token; a BERT WordPiece vocab.txt is expected (or give a tokenizer.json)`, { file: path });
    }
  }
  const specials = BERT_SPECIAL_TOKENS.filter((t) => ids.has(t));
  const tokenizer = new BertWordPieceTokenizer({ vocabulary, lowercase, stripAccents, handleChineseChars, addedTokens: specials });
  const isSpecial = new Uint8Array(vocabulary.length);
  for (const token of specials) isSpecial[ids.get(token) as number] = 1;
  return {
    spec: { type: 'bert-wordpiece', file: path, source: 'vocab.txt', sha256: sha256Bytes(body), vocabSize: vocabulary.length, lowercase, stripAccents, handleChineseChars },
    vocabulary,
    vocabSize: vocabulary.length,
    prefixIds: Int32Array.of(ids.get('[CLS]') as number),
    suffixIds: Int32Array.of(ids.get('[SEP]') as number),
    padId: ids.get('[PAD]') ?? 0,
    isSpecial,
    encode: (text) => tokenizer.encode(text),
    tokenToId: (token) => tokenizer.tokenToId(token),
  };
}

/**
 * An uncased vocabulary has no upper-case letters outside special tokens; bert-base-cased has
 * thousands. Used only when no tokenizer_config.json says `do_lower_case`.
 */
function guessLowercase(vocabulary: readonly string[]): boolean {
  let upper = 0;
  for (const token of vocabulary) {
    if (token.startsWith('[') && token.endsWith(']')) continue;
    if (/[A-Z]/.test(token) && ++upper > 10) return false;
  }
  return true;
}

/** Loads a Hugging Face `tokenizer.json` (with an optional parsed tokenizer_config.json). */
export async function loadTokenizerJson(path: string, tokenizerConfig: Record<string, unknown> = {}): Promise<TextTokenizer> {
  const body = await readTextFile(path, 'tokenizer');
  let json: HfTokenizerJson;
  try {
    json = JSON.parse(body) as HfTokenizerJson;
  } catch (cause) {
    throw new SpladexError('E_MODEL', `tokenizer.json is not valid JSON (${(cause as Error).message}); re-export the tokenizer with save_pretrained()`, { file: path, cause });
  }
  if (json === null || typeof json !== 'object' || typeof json.model !== 'object' || json.model === null) {
    throw new SpladexError('E_MODEL', 'tokenizer.json has no "model" section; is this a Hugging Face tokenizer file?', { file: path });
  }
  const sha256 = sha256Bytes(body);
  const vocabulary = vocabularyOf(json);
  const isSpecial = new Uint8Array(vocabulary.length);
  const addedSpecial: string[] = [];
  for (const added of json.added_tokens ?? []) {
    if (added.special && added.id < vocabulary.length) {
      isSpecial[added.id] = 1;
      addedSpecial.push(added.content);
    }
  }
  const { prefix, suffix } = sequenceTemplate(json, path);
  const padId = padIdOf(json, tokenizerConfig, vocabulary);
  const common = { vocabulary, vocabSize: vocabulary.length, prefixIds: Int32Array.from(prefix), suffixIds: Int32Array.from(suffix), padId, isSpecial };

  const bert = bertOptionsOf(json);
  if (bert !== null) {
    const tokenizer = new BertWordPieceTokenizer({ ...bert, vocabulary, addedTokens: (json.added_tokens ?? []).map((t) => t.content) });
    return {
      ...common,
      spec: {
        type: 'bert-wordpiece',
        file: path,
        source: 'tokenizer.json',
        sha256,
        vocabSize: vocabulary.length,
        lowercase: tokenizer.lowercase,
        stripAccents: tokenizer.stripAccents,
        handleChineseChars: tokenizer.handleChineseChars,
      },
      encode: (text) => tokenizer.encode(text),
      tokenToId: (token) => tokenizer.tokenToId(token),
    };
  }
  const hf = createHfTokenizer(json, tokenizerConfig, path);
  return {
    ...common,
    spec: { type: 'hf-tokenizer-json', file: path, sha256, vocabSize: vocabulary.length },
    encode: (text) => hf.encode(text),
    tokenToId: (token) => hf.tokenToId(token),
  };
}

/** Settings for the fast path when the file describes a plain BERT WordPiece tokenizer, else null. */
function bertOptionsOf(json: HfTokenizerJson): {
  lowercase: boolean;
  stripAccents: boolean;
  handleChineseChars: boolean;
  cleanText: boolean;
  unkToken: string;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
} | null {
  const model = json.model as Record<string, unknown>;
  const normalizer = json.normalizer as Record<string, unknown> | null | undefined;
  const preTokenizer = json.pre_tokenizer as Record<string, unknown> | null | undefined;
  const isWordPiece = model.type === 'WordPiece' || (model.type === undefined && 'continuing_subword_prefix' in model && !('merges' in model));
  if (!isWordPiece || normalizer?.type !== 'BertNormalizer' || preTokenizer?.type !== 'BertPreTokenizer') return null;
  const lowercase = normalizer.lowercase !== false;
  return {
    lowercase,
    stripAccents: typeof normalizer.strip_accents === 'boolean' ? normalizer.strip_accents : lowercase,
    handleChineseChars: normalizer.handle_chinese_chars !== false,
    cleanText: normalizer.clean_text !== false,
    unkToken: typeof model.unk_token === 'string' ? model.unk_token : '[UNK]',
    continuingSubwordPrefix: typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##',
    maxInputCharsPerWord: typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100,
  };
}

/** id → token over the model vocabulary and the added tokens. */
function vocabularyOf(json: HfTokenizerJson): string[] {
  const vocabulary: string[] = [];
  const vocab = (json.model as { vocab?: unknown }).vocab;
  if (Array.isArray(vocab)) {
    // Unigram models: [[piece, score], ...] in id order.
    vocab.forEach((entry, id) => (vocabulary[id] = Array.isArray(entry) ? String(entry[0]) : String(entry)));
  } else if (vocab !== null && typeof vocab === 'object') {
    for (const [token, id] of Object.entries(vocab as Record<string, number>)) vocabulary[id] = token;
  }
  for (const added of json.added_tokens ?? []) vocabulary[added.id] = added.content;
  for (let id = 0; id < vocabulary.length; id++) if (vocabulary[id] === undefined) vocabulary[id] = '';
  return vocabulary;
}

/** Special ids around a single sequence, read from the post-processor (what `encode(text)` adds). */
function sequenceTemplate(json: HfTokenizerJson, path: string): { prefix: number[]; suffix: number[] } {
  const processors: Array<Record<string, unknown>> = [];
  const collect = (p: unknown): void => {
    if (p === null || typeof p !== 'object') return;
    const processor = p as Record<string, unknown>;
    if (processor.type === 'Sequence' && Array.isArray(processor.processors)) processor.processors.forEach(collect);
    else processors.push(processor);
  };
  collect(json.post_processor);
  for (const processor of processors) {
    if (processor.type === 'BertProcessing' || processor.type === 'RobertaProcessing') {
      const cls = processor.cls as [string, number];
      const sep = processor.sep as [string, number];
      return { prefix: [cls[1]], suffix: [sep[1]] };
    }
    if (processor.type === 'TemplateProcessing') {
      const single = processor.single as Array<Record<string, { id: string }>>;
      const specials = (processor.special_tokens ?? {}) as Record<string, { ids: number[] }>;
      const prefix: number[] = [];
      const suffix: number[] = [];
      let seenSequence = false;
      for (const item of single) {
        if ('Sequence' in item) {
          seenSequence = true;
          continue;
        }
        const name = item.SpecialToken?.id;
        const ids = name === undefined ? undefined : specials[name]?.ids;
        if (ids === undefined) throw new SpladexError('E_MODEL', `tokenizer.json post_processor refers to an undefined special token ${JSON.stringify(name)}`, { file: path });
        (seenSequence ? suffix : prefix).push(...ids);
      }
      return { prefix, suffix };
    }
  }
  return { prefix: [], suffix: [] };
}

function padIdOf(json: HfTokenizerJson, config: Record<string, unknown>, vocabulary: readonly string[]): number {
  const padding = json.padding as { pad_id?: number } | null | undefined;
  if (padding && typeof padding.pad_id === 'number') return padding.pad_id;
  const candidates = [typeof config.pad_token === 'string' ? config.pad_token : undefined, '[PAD]', '<pad>'];
  for (const token of candidates) {
    if (token === undefined) continue;
    const id = vocabulary.indexOf(token);
    if (id >= 0) return id;
  }
  return 0;
}

async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? 'the file does not exist' : (cause as Error).message;
    throw new SpladexError(code === 'ENOENT' ? 'E_MODEL' : 'E_IO', `cannot read the ${what} file: ${hint}`, { file: path, cause });
  }
}
