/**
 * Queries as the search pool's channel carries them: tokens as UTF-16 code units and weights as
 * float32, written by the main thread without any lookup, and turned into each segment's prepared
 * query (`PreparedQuery`, the reader's `prepareQuery` output, equal element for element) on the
 * search thread, through a flat token table per segment in shared memory.
 *
 * Why not prepare on the main thread: the token → term id lookups are most of the cost of
 * preparing a query (a `Map` of the whole vocabulary, missing the cache on every token: ~40 % of
 * the main thread's time on the 1M index), and the main thread is the one part of the pool every
 * request goes through — work done there is work the threads cannot share. Why not send the query
 * object: its structured clone cost both threads more than this encoding and the table lookups.
 */
import { SKIPPED_QUERY, prepareCollected, type PreparedQuery } from '../query/query-vector.js';
import type { SparseVectorInput } from '../types.js';

/**
 * A segment's vocabulary as an open-addressing hash table (linear probing) over flat arrays in
 * shared memory: built once per segment on the main thread, read by every search thread.
 *
 * Each bucket is a 32-byte record holding the term id, the token's length, its hash and its first
 * `INLINE_UNITS` code units, so looking a token up reads one record — one cache line — instead of
 * an index, an offset and the characters elsewhere. That matters because every lookup misses the
 * cache: the search itself streams through hundreds of megabytes between two queries (measured
 * on the 1M index: the lookups took 6 % of a search thread's time with the characters apart).
 */
export interface TokenTable {
  /** Per bucket `RECORD_WORDS` words: term id + 1 (0: empty), length, hash, then code units (`units` views them). */
  records: Int32Array;
  units: Uint16Array;
  /** Token `id` is `chars[offsets[id] .. offsets[id + 1])`: for the code units beyond the record's. */
  offsets: Uint32Array;
  chars: Uint16Array;
}

const RECORD_WORDS = 8;
/** Code units held in a record: words 3–7. */
const INLINE_UNITS = 10;

function shared<T>(Array: new (buffer: SharedArrayBuffer) => T, bytes: number): T {
  return new Array(new SharedArrayBuffer(Math.max(4, bytes)));
}

/** FNV-1a over UTF-16 code units, as a signed 32-bit integer (what an Int32Array holds). */
function hashOf(chars: Uint16Array, from: number, length: number): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < from + length; i++) hash = Math.imul(hash ^ chars[i], 0x01000193);
  return hash | 0;
}

/** Whether the record at word `base` holds the token `codes[from .. from + length)` with hash `hash`. */
function holds(table: TokenTable, base: number, codes: Uint16Array, from: number, length: number, hash: number): boolean {
  const { records, units } = table;
  if (records[base + 1] !== length || records[base + 2] !== hash) return false;
  const inline = 2 * (base + 3);
  for (let i = 0; i < length && i < INLINE_UNITS; i++) if (units[inline + i] !== codes[from + i]) return false;
  if (length > INLINE_UNITS) {
    const start = table.offsets[records[base] - 1];
    for (let i = INLINE_UNITS; i < length; i++) if (table.chars[start + i] !== codes[from + i]) return false;
  }
  return true;
}

/** The term id of the token `codes[from .. from + length)`, or -1 when the segment does not have it. */
export function lookupToken(table: TokenTable, codes: Uint16Array, from: number, length: number): number {
  const { records } = table;
  const mask = records.length / RECORD_WORDS - 1;
  const hash = hashOf(codes, from, length);
  for (let b = hash & mask; ; b = (b + 1) & mask) {
    const base = b * RECORD_WORDS;
    const entry = records[base];
    if (entry === 0) return -1;
    if (holds(table, base, codes, from, length, hash)) return entry - 1;
  }
}

/** The table of `vocabulary`; a token listed twice maps to its last id, as the segment's `termIds` map does. */
export function buildTokenTable(vocabulary: readonly string[]): TokenTable {
  let total = 0;
  for (const token of vocabulary) total += token.length;
  const offsets = shared(Uint32Array, 4 * (vocabulary.length + 1));
  const chars = shared(Uint16Array, 2 * total);
  let at = 0;
  vocabulary.forEach((token, id) => {
    offsets[id] = at;
    for (let i = 0; i < token.length; i++) chars[at++] = token.charCodeAt(i);
  });
  offsets[vocabulary.length] = at;
  let size = 2;
  while (size < 2 * vocabulary.length) size *= 2;
  const records = shared(Int32Array, 4 * RECORD_WORDS * size);
  const table: TokenTable = { records, units: new Uint16Array(records.buffer), offsets, chars };
  const mask = size - 1;
  for (let id = 0; id < vocabulary.length; id++) {
    const from = offsets[id];
    const length = offsets[id + 1] - from;
    const hash = hashOf(chars, from, length);
    for (let b = hash & mask; ; b = (b + 1) & mask) {
      const base = b * RECORD_WORDS;
      if (records[base] === 0 || holds(table, base, chars, from, length, hash)) {
        records[base] = id + 1;
        records[base + 1] = length;
        records[base + 2] = hash;
        for (let i = 0; i < length && i < INLINE_UNITS; i++) table.units[2 * (base + 3) + i] = chars[from + i];
        break;
      }
    }
  }
  return table;
}

// ---- Encoding (main thread) ----------------------------------------------------------------------

/**
 * Queries in 32-bit words: per query its token count n, then per token its length, its weight
 * (float32 bits) and its code units, two per word. Only tokens `prepareQuery` keeps a weight of
 * (`weight > 0`) are written, in the order it reads them (`for … in`).
 */
export class QueryEncoder {
  private buffer = new ArrayBuffer(1 << 16);
  words = new Uint32Array(this.buffer);
  private floats = new Float32Array(this.buffer);
  private halves = new Uint16Array(this.buffer);

  private reserve(words: number): void {
    if (words <= this.words.length) return;
    let size = this.buffer.byteLength;
    while (size < 4 * words) size *= 2;
    const old = this.words;
    this.buffer = new ArrayBuffer(size);
    this.words = new Uint32Array(this.buffer);
    this.floats = new Float32Array(this.buffer);
    this.halves = new Uint16Array(this.buffer);
    this.words.set(old);
  }

  /** Encodes `queries` into `words` (reused: valid until the next call); returns the number of words. */
  encode(queries: readonly SparseVectorInput[]): number {
    let at = 0;
    for (const vector of queries) {
      const countAt = at++;
      let n = 0;
      for (const token in vector) {
        const weight = vector[token];
        if (!(weight > 0)) continue;
        const length = token.length;
        this.reserve(at + 2 + (length >> 1) + 2);
        this.words[at] = length;
        this.floats[at + 1] = weight;
        const halves = this.halves;
        let c = 2 * (at + 2);
        for (let i = 0; i < length; i++) halves[c++] = token.charCodeAt(i);
        at += 2 + ((length + 1) >> 1);
        n++;
      }
      this.reserve(at + 1);
      this.words[countAt] = n;
    }
    return at;
  }
}

// ---- Decoding (search thread) --------------------------------------------------------------------

/** Collected ids and weights of one query in one segment (reused). */
let ids = new Uint32Array(256);
let rawWeights = new Float32Array(256);

/** Views of the words queries were written to (a request slot). */
export interface EncodedViews {
  unsigned: Uint32Array;
  floats: Float32Array;
  halves: Uint16Array;
}

/**
 * The `count` queries encoded at word `at` of `views`, prepared for each segment (`tables[s]`
 * undefined for a segment the search skips): the arrays `prepareQuery` makes from the vector and
 * the segment's `termIds`.
 */
export function decodeQueries({ unsigned: words, floats, halves }: EncodedViews, at: number, count: number, tables: ReadonlyArray<TokenTable | undefined>): PreparedQuery[][] {
  const queries: PreparedQuery[][] = [];
  for (let q = 0; q < count; q++) {
    const n = words[at];
    const first = at + 1;
    if (ids.length < n) {
      ids = new Uint32Array(2 * n);
      rawWeights = new Float32Array(2 * n);
    }
    const perSegment: PreparedQuery[] = [];
    for (const table of tables) {
      if (table === undefined) {
        perSegment.push(SKIPPED_QUERY);
        continue;
      }
      let kept = 0;
      for (let t = 0, w = first; t < n; t++) {
        const length = words[w];
        const id = lookupToken(table, halves, 2 * (w + 2), length);
        if (id >= 0) {
          ids[kept] = id;
          rawWeights[kept++] = floats[w + 1];
        }
        w += 2 + ((length + 1) >> 1);
      }
      perSegment.push(prepareCollected(ids, rawWeights, kept));
    }
    queries.push(perSegment);
    at = first;
    for (let t = 0; t < n; t++) at += 2 + ((words[at] + 1) >> 1);
  }
  return queries;
}

