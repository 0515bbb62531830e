/**
 * Fast path for parsing one document line of sparse-vector JSONL.
 *
 * `JSON.parse` builds an object per vector whose ~120 keys differ from document to document;
 * V8 then walks a new hidden-class transition per key, which made parsing 80% of ingestion time.
 * This scanner reads the `"vector"` object straight into parallel token/weight arrays and hands
 * only the small remainder of the line (id, content, metadata) to `JSON.parse`.
 *
 * It only accepts what it is sure about. Anything unusual — escapes in keys it would have to
 * interpret, a weight that is not a plain positive finite number, a missing vector, malformed
 * syntax, a key whose escapes decode to a lone UTF-16 surrogate — returns `undefined`, and the
 * caller falls back to the exact `JSON.parse` path, which
 * produces the precise error or the exact JSON semantics. Duplicate tokens are reported in the
 * entries in order; as in JSON, the last one wins (the forward builder applies that rule).
 */

export interface SparseEntries {
  tokens: string[];
  weights: number[];
}

export interface FastDocumentLine {
  entries: SparseEntries;
  /** Every other top-level field, parsed by JSON.parse. */
  rest: Record<string, unknown>;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

function skipWhitespace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) i++;
    else return i;
  }
}

/** Index just past the closing quote of the string starting at `i` (which is a quote), or -1. */
function endOfString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
    else if (c < 32) return -1;
  }
  return -1;
}

/** Index just past a JSON value starting at `i`, or -1 (strings and brackets balanced). */
function endOfValue(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return endOfString(text, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i = endOfString(text, i);
        if (i < 0) return -1;
        i--;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--depth === 0) return i + 1;
      }
    }
    return -1;
  }
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === COMMA || c === CLOSE_BRACE || c === 32 || c === 9 || c === 13 || c === 10) return i;
  }
  return i;
}

/** Reads a key string at `i` (a quote); returns [key, next index] or undefined. */
function readKey(text: string, i: number): [string, number] | undefined {
  const end = endOfString(text, i);
  if (end < 0) return undefined;
  const raw = text.slice(i + 1, end - 1);
  // Keys with escapes are decoded by JSON.parse itself, so their meaning is exactly JSON's.
  if (raw.indexOf('\\') >= 0) {
    let key: string;
    try {
      key = JSON.parse(text.slice(i, end)) as string;
    } catch {
      return undefined;
    }
    // An escape can decode to a lone surrogate ("\\ud800"), which UTF-8 cannot store: the exact path
    // reports it (validateVector). A key without escapes is a slice of the line between ASCII quotes,
    // so it is well formed whenever the line is (see parseDocumentLineFast) and needs no check.
    return key.isWellFormed() ? [key, end] : undefined;
  }
  return [raw, end];
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** Index just past a number in strict JSON grammar starting at `i`, or -1. */
function endOfNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === 45) i++;
  const first = text.charCodeAt(i);
  if (first === 48) i++;
  else if (first >= 49 && first <= 57) while (isDigit(text.charCodeAt(i))) i++;
  else return -1;
  if (text.charCodeAt(i) === 46) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 101 || e === 69) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === 43 || sign === 45) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

/**
 * Parses `{"tok": w, ...}` at `i`. Returns the index after the closing brace, or -1 when the
 * fast path must give up (the caller then uses JSON.parse).
 */
/** Input limits the fast path enforces by deferring (the exact path then reports them). */
export interface LineLimits {
  maxTermsPerVector: number;
  maxTokenLength: number;
  maxWeight: number;
}

function readVector(text: string, i: number, out: SparseEntries, limits: LineLimits): number {
  if (text.charCodeAt(i) !== OPEN_BRACE) return -1;
  i = skipWhitespace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return -1;
    const key = readKey(text, i);
    if (key === undefined) return -1;
    const token = key[0];
    if (token.length === 0 || token.length > limits.maxTokenLength) return -1;
    i = skipWhitespace(text, key[1]);
    if (text.charCodeAt(i) !== COLON) return -1;
    i = skipWhitespace(text, i + 1);
    const start = i;
    i = endOfNumber(text, i);
    if (i < 0) return -1;
    const weight = Number(text.slice(start, i));
    // Zero, negative, non-finite or malformed numbers take the exact path (drop or error there).
    if (!(weight > 0) || weight > limits.maxWeight) return -1;
    out.tokens.push(token);
    out.weights.push(weight);
    if (out.tokens.length > limits.maxTermsPerVector) return -1;
    i = skipWhitespace(text, i);
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACE) return i + 1;
    if (c !== COMMA) return -1;
    i = skipWhitespace(text, i + 1);
  }
}

/**
 * Fast parse of a document line, or `undefined` to request the exact `JSON.parse` path. `text` must
 * be well-formed UTF-16, as every line decoded from UTF-8 by `readLines` is: only escapes are
 * checked for lone surrogates here.
 */
export function parseDocumentLineFast(text: string, limits: LineLimits): FastDocumentLine | undefined {
  let i = skipWhitespace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  i = skipWhitespace(text, i + 1);
  const entries: SparseEntries = { tokens: [], weights: [] };
  let sawVector = false;
  const restParts: string[] = [];
  if (text.charCodeAt(i) !== CLOSE_BRACE) {
    for (;;) {
      if (text.charCodeAt(i) !== QUOTE) return undefined;
      const keyStart = i;
      const key = readKey(text, i);
      if (key === undefined) return undefined;
      i = skipWhitespace(text, key[1]);
      if (text.charCodeAt(i) !== COLON) return undefined;
      i = skipWhitespace(text, i + 1);
      if (key[0] === 'vector') {
        // A repeated "vector" key means the last one wins in JSON; leave that to JSON.parse.
        if (sawVector) return undefined;
        sawVector = true;
        i = readVector(text, i, entries, limits);
        if (i < 0) return undefined;
      } else {
        const end = endOfValue(text, i);
        if (end < 0 || end === i) return undefined;
        restParts.push(text.slice(keyStart, end));
        i = end;
      }
      i = skipWhitespace(text, i);
      const c = text.charCodeAt(i);
      if (c === CLOSE_BRACE) break;
      if (c !== COMMA) return undefined;
      i = skipWhitespace(text, i + 1);
    }
  }
  if (!sawVector || skipWhitespace(text, i + 1) !== text.length) return undefined;
  let rest: Record<string, unknown> = {};
  if (restParts.length > 0) {
    try {
      rest = JSON.parse(`{${restParts.join(',')}}`) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  return { entries, rest };
}
