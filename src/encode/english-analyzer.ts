/**
 * A built-in English analyzer for the lexical (BM25) encoder when no vocabulary is given, modelled on
 * Lucene's `EnglishAnalyzer` as used by Anserini/Pyserini BM25 baselines:
 *
 *   StandardTokenizer (Unicode word boundaries, UAX #29) → possessive 's removal → lower-case →
 *   Lucene English stop words → Porter stemmer.
 *
 * The tokenizer is a compact approximation of UAX #29, good enough to reproduce Lucene's terms on
 * ordinary English text: runs of letters/digits (and `_`), kept together across `.` `'` `’` between
 * letters or digits ("U.S.A", "don't", "3.5"), `:` between letters and `,` `;` between digits
 * ("1,000"), letters and digits glued together ("covid19", "5mg"); each Han ideograph or Hiragana
 * character is its own token, as in Lucene.
 */

import { porterStem } from './porter-stemmer.js';

/** Lucene's `EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`. */
export const LUCENE_ENGLISH_STOP_WORDS: readonly string[] = [
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not', 'of', 'on', 'or',
  'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with',
];

export interface EnglishAnalyzerOptions {
  /** Stemmer applied to each term. Default 'porter' (Lucene EnglishAnalyzer). */
  stemmer?: 'porter' | 'none';
  /** Stop-word list removed before stemming. Default 'lucene' (33 words). */
  stopwords?: 'lucene' | 'none';
}

/** Longest token Lucene's StandardTokenizer emits by default; longer runs are split. */
const MAX_TOKEN_LENGTH = 255;

const LETTER = 1;
const DIGIT = 2;
const JOIN_LETTERS = 3; // MidLetter: ':' '·' — joins letter·letter
const JOIN_BOTH = 4; // MidNumLet: '.' "'" '’' — joins letter·letter and digit·digit
const JOIN_DIGITS = 5; // MidNum: ',' ';' — joins digit·digit
const IDEOGRAPH = 6; // Han / Hiragana: one token per character
const OTHER = 0;

const LETTER_RE = /^[\p{L}\p{M}\p{Nl}\p{Pc}]$/u;
const DIGIT_RE = /^\p{Nd}$/u;
const IDEOGRAPH_RE = /^[\p{Script=Han}\p{Script=Hiragana}]$/u;

const ASCII_TYPE: Uint8Array = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = classify(String.fromCharCode(c));
  return table;
})();

function classify(ch: string): number {
  if (ch === '.' || ch === "'" || ch === '\u2019' || ch === '\u2018' || ch === '\u2024' || ch === '\ufe52' || ch === '\uff07' || ch === '\uff0e') return JOIN_BOTH;
  if (ch === ':' || ch === '\u00b7' || ch === '\u0387' || ch === '\u05f4' || ch === '\u2027' || ch === '\ufe13' || ch === '\ufe55' || ch === '\uff1a') return JOIN_LETTERS;
  if (ch === ',' || ch === ';' || ch === '\u037e' || ch === '\u0589' || ch === '\u060c' || ch === '\u066c' || ch === '\ufe50' || ch === '\ufe54' || ch === '\uff0c' || ch === '\uff1b') return JOIN_DIGITS;
  if (IDEOGRAPH_RE.test(ch)) return IDEOGRAPH;
  if (DIGIT_RE.test(ch)) return DIGIT;
  if (LETTER_RE.test(ch)) return LETTER;
  return OTHER;
}

const POSSESSIVE = /['\u2019\uff07][sS]$/;

export class EnglishAnalyzer {
  readonly stemmer: 'porter' | 'none';
  readonly stopwords: 'lucene' | 'none';
  private readonly stopSet: ReadonlySet<string>;
  private readonly nonAsciiType = new Map<number, number>();
  private readonly stemCache = new Map<string, string>();

  constructor(options: EnglishAnalyzerOptions = {}) {
    this.stemmer = options.stemmer ?? 'porter';
    this.stopwords = options.stopwords ?? 'lucene';
    this.stopSet = new Set(this.stopwords === 'lucene' ? LUCENE_ENGLISH_STOP_WORDS : []);
  }

  /** Index terms of `text`, in order, with repetitions. */
  terms(text: string): string[] {
    const out: string[] = [];
    for (const token of this.tokens(text)) {
      const lower = token.replace(POSSESSIVE, '').toLowerCase();
      if (lower.length === 0 || this.stopSet.has(lower)) continue;
      out.push(this.stem(lower));
    }
    return out;
  }

  /** StandardTokenizer-like tokens (original case). */
  tokens(text: string): string[] {
    const out: string[] = [];
    const n = text.length;
    let start = -1; // start of the current token
    let lastType = OTHER; // LETTER or DIGIT: type of the last word character of the current token
    for (let i = 0; i < n; ) {
      const cp = text.codePointAt(i) as number;
      const width = cp > 0xffff ? 2 : 1;
      const type = this.typeOf(cp);
      if (type === LETTER || type === DIGIT) {
        if (start < 0) start = i;
        lastType = type;
        i += width;
        continue;
      }
      if (start >= 0 && (type === JOIN_BOTH || type === JOIN_LETTERS || type === JOIN_DIGITS) && i + width < n) {
        // A joiner stays inside the token only between two characters of the kind it joins.
        const next = text.codePointAt(i + width) as number;
        const nextType = this.typeOf(next);
        const joinsLetters = (type === JOIN_BOTH || type === JOIN_LETTERS) && lastType === LETTER && nextType === LETTER;
        const joinsDigits = (type === JOIN_BOTH || type === JOIN_DIGITS) && lastType === DIGIT && nextType === DIGIT;
        if (joinsLetters || joinsDigits) {
          i += width;
          continue;
        }
      }
      if (start >= 0) {
        pushToken(out, text.slice(start, i));
        start = -1;
      }
      if (type === IDEOGRAPH) out.push(text.slice(i, i + width));
      i += width;
    }
    if (start >= 0) pushToken(out, text.slice(start));
    return out;
  }

  private typeOf(cp: number): number {
    if (cp < 128) return ASCII_TYPE[cp];
    let type = this.nonAsciiType.get(cp);
    if (type === undefined) {
      type = classify(String.fromCodePoint(cp));
      this.nonAsciiType.set(cp, type);
    }
    return type;
  }

  private stem(term: string): string {
    if (this.stemmer === 'none') return term;
    let stemmed = this.stemCache.get(term);
    if (stemmed === undefined) {
      stemmed = porterStem(term);
      if (this.stemCache.size >= 500_000) this.stemCache.clear();
      this.stemCache.set(term, stemmed);
    }
    return stemmed;
  }
}

function pushToken(out: string[], token: string): void {
  for (let i = 0; i < token.length; i += MAX_TOKEN_LENGTH) out.push(token.slice(i, i + MAX_TOKEN_LENGTH));
}
