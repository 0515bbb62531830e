/**
 * The pool's query encoding against the reader's `prepareQuery`: a query written by the main
 * thread and prepared on a search thread through the token table gives the same arrays, element
 * for element, for every segment — small and large queries (both sorts), unknown tokens, weights
 * the reader drops, non-ASCII and empty tokens, ties in weight.
 */
import { describe, expect, it } from 'vitest';
import { prepareQuery } from '../query/query-vector.js';
import { makeTermIndex } from '../segment/segment.js';
import type { SparseVectorInput } from '../types.js';
import { Rng } from '../util/rng.js';
import { buildTokenTable, decodeQueries, lookupToken, QueryEncoder } from './query-codec.js';

const TOKENS = ['', 'a', 'ü', '日本', '##ing', 'x'.repeat(40), 'abcdefghij', 'abcdefghijk-longer-than-a-record', '\ud83d\ude00', '\ud800', 'tést'];

function vocabularyOf(rng: Rng, size: number): string[] {
  const vocabulary = new Set(TOKENS);
  while (vocabulary.size < size) vocabulary.add(`t${rng.int(10 * size)}${rng.int(3) === 0 ? 'é' : ''}`);
  return [...vocabulary].sort(() => rng.next() - 0.5);
}

function queryOf(rng: Rng, vocabulary: readonly string[], terms: number): SparseVectorInput {
  const query: SparseVectorInput = {};
  for (let i = 0; i < terms; i++) {
    const token = rng.int(5) === 0 ? `unknown${rng.int(1000)}` : vocabulary[rng.int(vocabulary.length)];
    // Ties (a few distinct weights), and weights the reader drops (zero, negative, NaN).
    const pick = rng.int(12);
    query[token] = pick === 0 ? 0 : pick === 1 ? -1 : pick === 2 ? Number.NaN : pick < 6 ? 0.5 : Math.round(rng.next() * 1000) / 100;
  }
  return query;
}

function viewsOf(words: Uint32Array): { unsigned: Uint32Array; floats: Float32Array; halves: Uint16Array } {
  const copy = new Uint32Array(new SharedArrayBuffer(4 * Math.max(1, words.length)));
  copy.set(words);
  return { unsigned: copy, floats: new Float32Array(copy.buffer), halves: new Uint16Array(copy.buffer) };
}

describe('pool query encoding', () => {
  it('gives prepareQuery\'s prepared query for every segment (skipped ones excepted)', () => {
    const rng = new Rng(91);
    const segments = [vocabularyOf(rng, 300), vocabularyOf(rng, 50), vocabularyOf(rng, 2000)];
    const tables = segments.map(buildTokenTable);
    const termIds = segments.map(makeTermIndex);
    const encoder = new QueryEncoder();
    for (const terms of [0, 1, 5, 40, 64, 65, 200, 3000]) {
      const queries = Array.from({ length: 4 }, () => queryOf(rng, segments[2], terms));
      const words = encoder.encode(queries);
      const decoded = decodeQueries(viewsOf(encoder.words.subarray(0, words)), 0, queries.length, [tables[0], undefined, tables[1], tables[2]]);
      queries.forEach((query, q) => {
        const expected = [prepareQuery(query, termIds[0]), undefined, prepareQuery(query, termIds[1]), prepareQuery(query, termIds[2])];
        expected.forEach((prepared, s) => {
          const got = decoded[q][s];
          if (prepared === undefined) return expect(got.terms.length).toBe(0);
          expect(Array.from(got.terms), `${terms} terms, segment ${s}`).toEqual(Array.from(prepared.terms));
          expect(Array.from(got.weights)).toEqual(Array.from(prepared.weights));
          expect(Array.from(got.byWeight)).toEqual(Array.from(prepared.byWeight));
        });
      });
      if (terms === 3000) expect(decoded[0][3].terms.length).toBeGreaterThan(64);
    }
  });

  it('looks every token of a vocabulary up, and misses the others', () => {
    const vocabulary = vocabularyOf(new Rng(92), 5000);
    const table = buildTokenTable(vocabulary);
    const lookup = (token: string): number => {
      const units = new Uint16Array(token.length);
      for (let i = 0; i < token.length; i++) units[i] = token.charCodeAt(i);
      return lookupToken(table, units, 0, token.length);
    };
    vocabulary.forEach((token, id) => expect(lookup(token)).toBe(id));
    for (const missing of ['nope', 'aa', 'x'.repeat(39), 'x'.repeat(41), '日', 'tést ', 'abcdefghi', 'abcdefghijk', 'abcdefghijk-longer-than-a-recorD']) expect(lookup(missing)).toBe(-1);
    // A token listed twice maps to its last id, as the segment's termIds map does.
    expect(lookupToken(buildTokenTable(['a', 'b', 'a']), Uint16Array.of(97), 0, 1)).toBe(makeTermIndex(['a', 'b', 'a']).get('a'));
  });
});
