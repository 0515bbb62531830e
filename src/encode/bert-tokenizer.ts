/**
 * A fast, exact BERT WordPiece tokenizer (the `BertTokenizerFast` pipeline of Hugging Face
 * `tokenizers`), producing token ids directly into an Int32Array.
 *
 * Why not only `@huggingface/tokenizers`? That library is used for arbitrary `tokenizer.json` files
 * (see hf-tokenizer.ts), but for the common BERT case it builds several arrays and strings per token,
 * which dominates the cost of the lexical and inference-free encoders on large corpora. This module
 * follows the Rust implementation step by step (normalizers/bert.rs, pre_tokenizers/bert.rs,
 * models/wordpiece) so ids are identical:
 *
 *  1. added special tokens written literally in the text (`[MASK]`) are matched first, unnormalised;
 *  2. clean text: drop NUL, U+FFFD and "other" characters (\p{C} except \t \n \r), map whitespace to ' ';
 *  3. put spaces around CJK ideographs;
 *  4. strip accents: NFD then drop non-spacing marks (\p{Mn});
 *  5. lower-case, per character (no final-sigma rule, as in Rust);
 *  6. split on whitespace and isolate each punctuation character (ASCII punctuation or \p{P});
 *  7. greedy longest-match-first WordPiece per word, `##` continuation prefix, words longer than
 *     100 characters or with an unmatched piece become `[UNK]`.
 *
 * Known, deliberate divergences: Rust classifies characters with Unicode 9-era tables, JavaScript
 * with the current Unicode version, so characters assigned after Unicode 9 (recent emoji) are dropped
 * by Rust but become `[UNK]` here.
 */

/** Options of the BERT normaliser and WordPiece model, named as in `tokenizer.json`. */
export interface BertTokenizerOptions {
  /** Tokens in id order: `vocabulary[id]` is the token string (vocab.txt line order). */
  vocabulary: readonly string[];
  /** Lower-case the text. Default true (uncased models). */
  lowercase?: boolean;
  /** Strip accents (NFD + drop \p{Mn}). Default: same as `lowercase`, like Hugging Face. */
  stripAccents?: boolean;
  /** Put spaces around CJK ideographs so each becomes its own word. Default true. */
  handleChineseChars?: boolean;
  /** Drop control characters and normalise whitespace. Default true. */
  cleanText?: boolean;
  /** Token for words that cannot be split into vocabulary pieces. Default `[UNK]`. */
  unkToken?: string;
  /** Prefix marking a piece that continues a word. Default `##`. */
  continuingSubwordPrefix?: string;
  /** Words with more characters than this become `unkToken`. Default 100. */
  maxInputCharsPerWord?: number;
  /** Tokens matched verbatim in raw text before normalisation (HF "added tokens"). Default: none. */
  addedTokens?: readonly string[];
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;
const ASCII_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
// \p{C} = Cc, Cf, Cs, Co, Cn; tab, newline and carriage return are whitespace, not control.
const UNICODE_CONTROL = /[\0\ufffd]|(?![\t\n\r])\p{C}/gu;
const CHINESE_CHAR =
  /[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\u{20000}-\u{2a6df}\u{2a700}-\u{2b73f}\u{2b740}-\u{2b81f}\u{2b920}-\u{2ceaf}\u{2f800}-\u{2fa1f}]/gu;
const NONSPACING_MARK = /\p{Mn}/gu;
const CAPITAL_SIGMA = /\u03a3/g;
const WHITESPACE_CHAR = /^[\t\n\r\p{White_Space}]$/u;
const PUNCTUATION_CHAR = /^[\p{P}!-\/:-@\[-`{-~]$/u;

const WORD = 0;
const SPACE = 1;
const PUNCT = 2;

/** Character class of each ASCII code unit, so the common case needs no regular expression. */
const ASCII_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    table[c] = WHITESPACE_CHAR.test(ch) ? SPACE : PUNCTUATION_CHAR.test(ch) ? PUNCT : WORD;
  }
  return table;
})();

/** Word cache bound: enough for the working vocabulary of a corpus, small enough to stay cheap. */
const WORD_CACHE_LIMIT = 200_000;

export class BertWordPieceTokenizer {
  readonly vocabulary: readonly string[];
  readonly lowercase: boolean;
  readonly stripAccents: boolean;
  readonly handleChineseChars: boolean;
  readonly cleanText: boolean;
  readonly unkId: number;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;

  private readonly ids: Map<string, number>;
  /** Longest vocabulary entry, in UTF-16 units, without the continuation prefix: bounds the greedy search. */
  private readonly longestPiece: number;
  private readonly addedTokens: ReadonlyMap<string, number>;
  private readonly addedTokenPattern: RegExp | null;
  /** First characters of the added tokens: a cheap test that skips the regex scan for most texts. */
  private readonly addedTokenStarts: readonly string[];
  private readonly nonAsciiClass = new Map<number, number>();
  private readonly wordCache = new Map<string, Int32Array>();
  private out: Int32Array = new Int32Array(1024);
  private outLength = 0;
  private pieceScratch: Int32Array = new Int32Array(128);

  constructor(options: BertTokenizerOptions) {
    this.vocabulary = options.vocabulary;
    this.lowercase = options.lowercase ?? true;
    this.stripAccents = options.stripAccents ?? this.lowercase;
    this.handleChineseChars = options.handleChineseChars ?? true;
    this.cleanText = options.cleanText ?? true;
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;

    this.ids = new Map();
    let longest = 1;
    for (let id = 0; id < this.vocabulary.length; id++) {
      const token = this.vocabulary[id];
      // A repeated line maps to its last id, as in Hugging Face's loaders (Python dict / Rust HashMap insert).
      this.ids.set(token, id);
      const pieceLength = token.startsWith(this.continuingSubwordPrefix) ? token.length - this.continuingSubwordPrefix.length : token.length;
      if (pieceLength > longest) longest = pieceLength;
    }
    this.longestPiece = longest;

    const unkToken = options.unkToken ?? '[UNK]';
    const unkId = this.ids.get(unkToken);
    if (unkId === undefined) throw new Error(`the vocabulary has no unknown token ${JSON.stringify(unkToken)}`);
    this.unkId = unkId;

    const added = new Map<string, number>();
    for (const token of options.addedTokens ?? []) {
      const id = this.ids.get(token);
      if (id !== undefined && token.length > 0) added.set(token, id);
    }
    this.addedTokens = added;
    // Longest first so that a token that is a prefix of another never wins the alternation.
    const alternatives = [...added.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.addedTokenPattern = alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'g') : null;
    this.addedTokenStarts = [...new Set([...added.keys()].map((token) => token[0]))];
  }

  /** Token id of `token`, or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Ids of the content tokens of `text`: no [CLS]/[SEP], no truncation. */
  encode(text: string): Int32Array {
    this.outLength = 0;
    const pattern = this.addedTokenPattern;
    if (pattern !== null && this.addedTokenStarts.some((start) => text.includes(start))) {
      let last = 0;
      pattern.lastIndex = 0;
      for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
        if (m.index > last) this.encodeSegment(text.slice(last, m.index));
        this.push(this.addedTokens.get(m[0]) as number);
        last = m.index + m[0].length;
      }
      if (last < text.length) this.encodeSegment(last === 0 ? text : text.slice(last));
    } else {
      this.encodeSegment(text);
    }
    return this.out.slice(0, this.outLength);
  }

  /** Token strings of `text` (for tests and debugging; `encode` is the fast path). */
  tokenize(text: string): string[] {
    return Array.from(this.encode(text), (id) => this.vocabulary[id]);
  }

  /** The normalised text (steps 2–5 of the module comment). */
  normalize(text: string): string {
    if (ASCII_ONLY.test(text)) {
      // ASCII has no accents, no CJK and no final sigma: only control characters and case matter.
      if (this.cleanText) text = text.replace(ASCII_CONTROL, '');
      return this.lowercase ? text.toLowerCase() : text;
    }
    if (this.cleanText) text = text.replace(UNICODE_CONTROL, '');
    if (this.handleChineseChars) text = text.replace(CHINESE_CHAR, ' $& ');
    if (this.stripAccents) text = text.normalize('NFD').replace(NONSPACING_MARK, '');
    if (this.lowercase) text = text.replace(CAPITAL_SIGMA, '\u03c3').toLowerCase();
    return text;
  }

  private encodeSegment(raw: string): void {
    const text = this.normalize(raw);
    const n = text.length;
    let wordStart = -1;
    for (let i = 0; i < n; ) {
      const unit = text.charCodeAt(i);
      let cls: number;
      let width = 1;
      if (unit < 128) {
        cls = ASCII_CLASS[unit];
      } else {
        const cp = text.codePointAt(i) as number;
        if (cp > 0xffff) width = 2;
        cls = this.classifyNonAscii(cp);
      }
      if (cls === WORD) {
        if (wordStart < 0) wordStart = i;
      } else {
        if (wordStart >= 0) {
          this.encodeWord(text.slice(wordStart, i));
          wordStart = -1;
        }
        if (cls === PUNCT) this.encodeWord(text.slice(i, i + width));
      }
      i += width;
    }
    if (wordStart >= 0) this.encodeWord(wordStart === 0 ? text : text.slice(wordStart));
  }

  private classifyNonAscii(cp: number): number {
    let cls = this.nonAsciiClass.get(cp);
    if (cls === undefined) {
      const ch = String.fromCodePoint(cp);
      cls = WHITESPACE_CHAR.test(ch) ? SPACE : PUNCTUATION_CHAR.test(ch) ? PUNCT : WORD;
      this.nonAsciiClass.set(cp, cls);
    }
    return cls;
  }

  private encodeWord(word: string): void {
    const cached = this.wordCache.get(word);
    if (cached !== undefined) {
      for (let i = 0; i < cached.length; i++) this.push(cached[i]);
      return;
    }
    const pieces = this.wordPiece(word);
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, pieces);
    for (let i = 0; i < pieces.length; i++) this.push(pieces[i]);
  }

  /**
   * Greedy longest-match-first split of one word. Works on UTF-16 indices: a candidate ending inside a
   * surrogate pair can never equal a (well-formed) vocabulary entry, so the result is the same as the
   * per-character loop of the Rust implementation.
   */
  private wordPiece(word: string): Int32Array {
    if (word.length > this.maxInputCharsPerWord && countCodePoints(word) > this.maxInputCharsPerWord) {
      return Int32Array.of(this.unkId);
    }
    let count = 0;
    let start = 0;
    const n = word.length;
    while (start < n) {
      let end = Math.min(n, start + this.longestPiece);
      let found = -1;
      while (end > start) {
        const piece = start === 0 ? word.slice(0, end) : this.continuingSubwordPrefix + word.slice(start, end);
        const id = this.ids.get(piece);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
      }
      if (found < 0) return Int32Array.of(this.unkId);
      if (count === this.pieceScratch.length) this.pieceScratch = growInt32(this.pieceScratch, count * 2);
      this.pieceScratch[count++] = found;
      start = end;
    }
    return this.pieceScratch.slice(0, count);
  }

  private push(id: number): void {
    if (this.outLength === this.out.length) this.out = growInt32(this.out, this.out.length * 2);
    this.out[this.outLength++] = id;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function countCodePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdbff) count++;
  }
  return count;
}

function growInt32(array: Int32Array, length: number): Int32Array {
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}

/** Parses a `vocab.txt` file body (one token per line, id = 0-based line index). */
export function parseVocabTxt(body: string): string[] {
  const lines = body.split('\n');
  // A trailing newline yields one empty last element that is not a token.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}
