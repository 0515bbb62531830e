import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { entriesOf, INPUT_LIMITS, validateVector } from './documents.js';

const LIMITS = INPUT_LIMITS;
import { parseDocumentLineFast } from './sparse-line.js';

const TOKENS = ['the', '##ing', 'café', 'a"b', 'back\\slash', 'tab\there', '日本', 'emoji😀', 'vector', 'id', '1', '0'];

function randomLine(rng: Rng): string {
  const vector: Record<string, number> = {};
  const n = rng.int(12);
  for (let i = 0; i < n; i++) {
    const token = TOKENS[rng.int(TOKENS.length)] + (rng.next() < 0.5 ? String(rng.int(50)) : '');
    const r = rng.next();
    vector[token] = r < 0.1 ? 1e-7 * (1 + rng.int(9)) : r < 0.2 ? rng.int(300) + 1 : Number((rng.next() * 3 + 0.01).toFixed(2 + rng.int(7)));
  }
  const doc: Record<string, unknown> = { id: rng.next() < 0.5 ? rng.int(1e6) : `doc-${rng.int(100)}`, vector };
  if (rng.next() < 0.5) doc.content = 'some "quoted" text, with {braces} and [brackets] \\ ok';
  if (rng.next() < 0.3) doc.metadata = { year: 2000 + rng.int(20), tags: ['x', { y: [1, 2] }], nested: { vector: { fake: 1 } } };
  const keys = Object.keys(doc).sort(() => rng.next() - 0.5);
  const ordered: Record<string, unknown> = {};
  for (const key of keys) ordered[key] = doc[key];
  const text = JSON.stringify(ordered, null, rng.next() < 0.2 ? 1 : undefined).replace(/\n/g, ' ');
  return text;
}

function slowParse(text: string): { entries: ReturnType<typeof entriesOf>; rest: Record<string, unknown> } {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const entries = entriesOf(validateVector(raw.vector, { file: 'x' }));
  const rest = { ...raw };
  delete rest.vector;
  return { entries, rest };
}

describe('parseDocumentLineFast', () => {
  it('agrees with JSON.parse on random valid lines', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 2000; trial++) {
      const line = randomLine(rng);
      const fast = parseDocumentLineFast(line, LIMITS);
      expect(fast, line).toBeDefined();
      expect(fast).toEqual(slowParse(line));
    }
  });

  it('either agrees with JSON.parse or defers to it on mutated lines', () => {
    const rng = new Rng(6);
    const alphabet = '{}[]":,\\ -+.eE0123456789abc';
    for (let trial = 0; trial < 5000; trial++) {
      const base = randomLine(rng);
      const position = rng.int(base.length);
      const cut = rng.next() < 0.5 ? base.slice(0, position) + alphabet[rng.int(alphabet.length)] + base.slice(position + 1) : base.slice(0, position) + base.slice(position + 1);
      // Lines reach the fast path decoded from UTF-8 (readLines), so never holding a raw lone
      // surrogate (a cut emoji here): round-trip through UTF-8 as a file would.
      const mutated = Buffer.from(cut, 'utf8').toString('utf8');
      const fast = parseDocumentLineFast(mutated, LIMITS);
      if (fast === undefined) continue;
      let slow: ReturnType<typeof slowParse> | undefined;
      try {
        slow = slowParse(mutated);
      } catch {
        slow = undefined;
      }
      expect(slow, `fast path accepted what JSON.parse rejects: ${mutated}`).toBeDefined();
      // Duplicate tokens are kept in order by the fast path (last wins later); compare the last value.
      const lastWins = (e: { tokens: string[]; weights: number[] }): Record<string, number> => Object.fromEntries(e.tokens.map((t, i) => [t, e.weights[i]]));
      expect(lastWins(fast.entries)).toEqual(lastWins(slow!.entries));
      expect(fast.rest).toEqual(slow!.rest);
    }
  });

  it('defers zero, negative, non-numeric and overflowing weights to the exact path', () => {
    for (const weight of ['0', '-1', '"1"', 'null', 'true', '1e400', '[1]']) {
      expect(parseDocumentLineFast(`{"id": 1, "vector": {"a": ${weight}}}`, LIMITS)).toBeUndefined();
    }
    expect(parseDocumentLineFast('{"id": 1}', LIMITS)).toBeUndefined();
    expect(parseDocumentLineFast('{"id": 1, "vector": {"a": 1}} trailing', LIMITS)).toBeUndefined();
  });
});

describe('parseDocumentLineFast and lone surrogates', () => {
  it('defers a key whose escapes decode to a lone surrogate to the exact path (which reports it)', () => {
    for (const key of ['\\ud800', 'a\\udc00', '\\ud83d\\ud83d', '\\ude00\\ud83d']) {
      expect(parseDocumentLineFast(`{"id": 1, "vector": {"ok": 1, "${key}": 2}}`, LIMITS), key).toBeUndefined();
    }
  });

  it('reads escaped and raw surrogate pairs exactly', () => {
    const fast = parseDocumentLineFast('{"id": "e", "vector": {"\\ud83d\\ude00": 1, "raw\ud83d\ude00": 2, "\\u00e9": 3}}', LIMITS);
    expect(fast?.entries).toEqual({ tokens: ['\ud83d\ude00', 'raw\ud83d\ude00', '\u00e9'], weights: [1, 2, 3] });
  });
});
