/**
 * Strings UTF-8 cannot store (lone UTF-16 surrogates, which JSON escapes like "\ud800" decode to)
 * are refused at input with E_INPUT_ENCODING and their line, in document lines (fast and exact
 * parse paths), library document objects and query lines; valid surrogate pairs pass unchanged.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isSpladexError, SpladexError } from '../errors.js';
import { checkStorableString, readDocuments, readQueries, validateDocumentInput, type ParsedDocument, type QueryRecord, type SkippedLine } from './documents.js';

/** A lone high and a lone low surrogate, as a JSON escape (what files hold) and as the JS string it decodes to. */
const LONE = [
  { name: 'lone high surrogate', escape: '\\ud800', unit: '\ud800' },
  { name: 'lone low surrogate', escape: '\\udc00', unit: '\udc00' },
];
const GOOD = '{"id": "ok", "vector": {"x": 1}}';

const source = (lines: string[]): Readable => Readable.from([Buffer.from(lines.join('\n') + '\n', 'utf8')]);

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function failure(iterable: AsyncIterable<unknown>): Promise<SpladexError> {
  try {
    await collect(iterable);
  } catch (error) {
    if (isSpladexError(error)) return error;
    throw error;
  }
  throw new Error('expected a SpladexError, nothing was thrown');
}

describe('checkStorableString', () => {
  it('returns well-formed strings, surrogate pairs included', () => {
    for (const value of ['', 'plain', 'café', '日本', '\ud83d\ude00', 'a\ud83d\ude00b\ud83c\udf89']) expect(checkStorableString(value, 'id')).toBe(value);
  });

  it('throws E_INPUT_ENCODING naming the field, the place and the culprit, escaped', () => {
    const cases: Array<[string, string, number]> = [
      ['a\ud800', 'd800', 1],
      ['\udc00b', 'dc00', 0],
      ['\ud83d\ude00x\ud83d', 'd83d', 3],
      // A pair in the wrong order is two lone surrogates.
      ['\ude00\ud83d', 'de00', 0],
    ];
    for (const [value, unit, at] of cases) {
      let error: unknown;
      try {
        checkStorableString(value, 'id', { file: 'docs.jsonl', line: 7 });
      } catch (e) {
        error = e;
      }
      expect(isSpladexError(error, 'E_INPUT_ENCODING'), String(error)).toBe(true);
      const e = error as SpladexError;
      expect(e.file).toBe('docs.jsonl');
      expect(e.line).toBe(7);
      expect(e.message).toMatch(/^docs\.jsonl:7: id "/);
      expect(e.message).toContain(`\\u${unit} at index ${at}`);
      // The message itself is storable text: the culprit appears as its JSON escape.
      expect(e.message.isWellFormed()).toBe(true);
    }
  });

  it('shows an excerpt around the culprit of a long text, without cutting a pair', () => {
    const value = '\ud83d\ude00'.repeat(30) + '\udc00' + 'z'.repeat(100);
    const message = (() => {
      try {
        checkStorableString(value, 'content');
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(message.startsWith('content …"')).toBe(true);
    expect(message).toContain('\\udc00zz');
    expect(message).not.toContain('\\ud83d');
    expect(message).not.toContain('\\ude00');
    expect(message).toContain('at index 60');
  });
});

describe('readDocuments refuses strings UTF-8 cannot store', () => {
  const fields = (escape: string): Array<[string, string]> => [
    ['id', `{"id": "a${escape}", "vector": {"x": 1}}`],
    // An escaped key: the fast path defers it to the exact path, which reports it.
    ['token (fast path)', `{"id": "a", "vector": {"t${escape}": 1}}`],
    // A zero weight sends the whole line down the exact JSON.parse path.
    ['token (exact path)', `{"id": "a", "vector": {"zero": 0, "t${escape}": 1}}`],
    ['content', `{"id": "a", "vector": {"x": 1}, "content": "text ${escape} here"}`],
    ['contents', `{"id": "a", "contents": "${escape}", "vector": {"x": 1}}`],
  ];
  for (const { name, escape } of LONE) {
    for (const [field, line] of fields(escape)) {
      it(`${field} with a ${name}: E_INPUT_ENCODING naming line 3`, async () => {
        const error = await failure(readDocuments(source([GOOD, '', line, GOOD]), { label: 'docs.jsonl' }));
        expect(error.code).toBe('E_INPUT_ENCODING');
        expect(error.line).toBe(3);
        expect(error.message).toContain('docs.jsonl:3:');
        expect(error.message).toContain(escape);
      });
    }
  }

  it('skipInvalid skips such lines and reports them like other bad lines', async () => {
    const skipped: SkippedLine[] = [];
    const lines = [GOOD, '{"id": "a\\ud800", "vector": {"x": 1}}', '{"id": "b", "vector": {"\\udc00": 1}}', '{"id": "c", "vector": {"y": 2}}'];
    const docs = await collect(readDocuments(source(lines), { skipInvalid: true, onSkip: (s) => skipped.push(s) }));
    expect(docs.map((d) => d.id)).toEqual(['ok', 'c']);
    expect(skipped.map((s) => [s.line, s.code])).toEqual([
      [2, 'E_INPUT_ENCODING'],
      [3, 'E_INPUT_ENCODING'],
    ]);
  });

  it('accepts surrogate pairs, escaped or not, and reads them back exactly', async () => {
    const emoji = '\ud83d\ude00';
    const lines = [
      '{"id": "e\\ud83d\\ude00", "vector": {"t\\ud83d\\ude00": 1, "x": 2}, "content": "smile \\ud83d\\ude00"}',
      `{"id": "raw${emoji}", "vector": {"zero": 0, "t${emoji}": 1}, "content": "${emoji}"}`,
    ];
    const docs = await collect(readDocuments(source(lines)));
    expect(docs.map((d: ParsedDocument) => [d.id, d.entries.tokens, d.content])).toEqual([
      [`e${emoji}`, [`t${emoji}`, 'x'], `smile ${emoji}`],
      [`raw${emoji}`, [`t${emoji}`], emoji],
    ]);
  });
});

describe('library document objects', () => {
  for (const { name, unit } of LONE) {
    it(`refuses a ${name} in the id, a token or the content`, () => {
      for (const input of [
        { id: `a${unit}`, vector: { x: 1 } },
        { id: 'a', vector: { [`t${unit}`]: 1 } },
        { id: 'a', vector: { x: 1 }, content: `${unit}` },
      ]) {
        expect(() => validateDocumentInput(input, { file: '<documents>', line: 4 })).toThrow(expect.objectContaining({ code: 'E_INPUT_ENCODING', line: 4 }));
      }
    });
  }
});

describe('readQueries refuses strings UTF-8 cannot store', () => {
  for (const { name, escape } of LONE) {
    for (const [field, line] of [
      ['id', `{"id": "q${escape}", "vector": {"x": 1}}`],
      ['token', `{"id": "q", "vector": {"${escape}": 1}}`],
      ['text', `{"id": "q", "text": "what ${escape}"}`],
    ]) {
      it(`${field} with a ${name}: E_INPUT_ENCODING naming line 2`, async () => {
        const error = await failure(readQueries(source(['{"id": "q0", "text": "fine"}', line]), { label: 'queries.jsonl' }));
        expect(error.code).toBe('E_INPUT_ENCODING');
        expect(error.message).toContain('queries.jsonl:2:');
      });
    }
  }

  it('accepts surrogate pairs exactly', async () => {
    const queries = await collect(readQueries(source(['{"id": "q\\ud83d\\ude00", "vector": {"\\ud83d\\ude00": 1}}', '{"id": 2, "text": "\\ud83d\\ude00?"}'])));
    expect(queries).toEqual<QueryRecord[]>([
      { id: 'q\ud83d\ude00', vector: { '\ud83d\ude00': 1 }, line: 1 },
      { id: '2', text: '\ud83d\ude00?', line: 2 },
    ]);
  });
});
