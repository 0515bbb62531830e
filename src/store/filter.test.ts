import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isSpladexError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { compileFilter, normaliseFilter, parseFilterCondition, type Filter } from './filter.js';

describe('CLI filter conditions', () => {
  const cases: Array<[string, Filter]> = [
    ['year>=2010', { year: { gte: 2010 } }],
    ['year > -1.5e3', { year: { gt: -1500 } }],
    ['year<2020', { year: { lt: 2020 } }],
    ['year<=2020', { year: { lte: 2020 } }],
    ['lang=en', { lang: { eq: 'en' } }],
    ['lang == "en"', { lang: { eq: 'en' } }],
    ['lang!=de', { lang: { ne: 'de' } }],
    ['zip=007', { zip: { eq: '007' } }],
    ['title=a = b', { title: { eq: 'a = b' } }],
    ['flag=true', { flag: { eq: true } }],
    ['gone=null', { gone: { eq: null } }],
    ['code="2010"', { code: { eq: '2010' } }],
    ['tag in a,b', { tag: { in: ['a', 'b'] } }],
    ['tag IN a, "b,c" ,3', { tag: { in: ['a', 'b,c', 3] } }],
    ['tag not in x', { tag: { notIn: ['x'] } }],
    ['source.kind=web', { 'source.kind': { eq: 'web' } }],
    ['naïve-key=日本', { 'naïve-key': { eq: '日本' } }],
    ['{"year": {"gte": 2010}, "lang": "en"}', { year: { gte: 2010 }, lang: 'en' }],
  ];
  for (const [text, expected] of cases) it(`reads ${text}`, () => expect(parseFilterCondition(text)).toEqual(expected));

  const errors = ['year', 'year>=abc', '=x', 'a"b=1', 'x in ', 'x="unterminated', 'x in "a" b', '{"x": ', '{"x": {"like": 1}}', 'a..b=1', 'x>=1e999', ''];
  for (const text of errors) {
    it(`rejects ${JSON.stringify(text)} with E_OPTION`, () => {
      expect(() => parseFilterCondition(text)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    });
  }

  it('never fails on any input other than with E_OPTION (fuzz, seeded)', () => {
    const rng = new Rng(71);
    const alphabet = 'ab.,=<>!" \\{}[]:01-e\u00e9\u0000in not'.split('');
    for (let i = 0; i < 5000; i++) {
      const text = Array.from({ length: rng.int(16) }, () => alphabet[rng.int(alphabet.length)]).join('');
      try {
        normaliseFilter(parseFilterCondition(text));
      } catch (error) {
        expect(isSpladexError(error, 'E_OPTION'), `${JSON.stringify(text)}: ${String(error)}`).toBe(true);
      }
    }
  });
});

describe('compiled filters', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE documents (segment INTEGER, local INTEGER, metadata TEXT)');
  const rows: Array<Record<string, unknown> | null> = [
    { lang: 'en', year: 2010, tags: ['a', 'b'] },
    { lang: 'de', year: '2010', tags: 'a' },
    { lang: 'en', year: 2015.5, nested: { lang: 'en' } },
    { year: 1999, lang: { en: true } },
    null,
    { flag: true, n: 1, tags: [['a']], 'x-y': 3, "it's": 'ok' },
    { flag: false, n: null },
  ];
  rows.forEach((metadata, i) => db.prepare('INSERT INTO documents VALUES (1, ?, ?)').run(i, metadata === null ? null : JSON.stringify(metadata)));
  const select = (filter: Filter | Filter[]): number[] => {
    const { where, params } = compileFilter(normaliseFilter(filter));
    return (db.prepare(`SELECT local FROM documents AS d WHERE ${where} ORDER BY local`).all(params) as Array<{ local: number }>).map((r) => r.local);
  };
  const cases: Array<[Filter | Filter[], number[]]> = [
    [{ lang: 'en' }, [0, 2]],
    [{ lang: { ne: 'en' } }, [1, 3, 4, 5, 6]],
    [{ year: 2010 }, [0]],
    [{ year: '2010' }, [1]],
    [{ year: { gte: 2010 } }, [0, 2]],
    [{ year: { gt: 2000, lt: 2012 } }, [0]],
    [{ tags: 'a' }, [0, 1]],
    [{ tags: { in: ['b', 'z'] } }, [0]],
    [{ tags: { notIn: ['a'] } }, [2, 3, 4, 5, 6]],
    [{ 'nested.lang': 'en' }, [2]],
    [{ nested: 'en' }, []],
    [{ flag: true }, [5]],
    [{ flag: false }, [6]],
    [{ n: 1 }, [5]],
    [{ n: true }, []],
    [{ n: null }, [6]],
    [{ 'x-y': { lte: 3 } }, [5]],
    [{ "it's": 'ok' }, [5]],
    [[{ lang: 'en' }, { year: { lt: 2011 } }], [0]],
    [{ lang: { in: ['en', 'de'] }, year: { gte: 2000 } }, [0, 2]],
  ];
  for (const [filter, expected] of cases) it(`selects ${JSON.stringify(filter)}`, () => expect(select(filter)).toEqual(expected));

  it('puts every user value in a parameter, never in the SQL text', () => {
    const { where, params } = compileFilter(normaliseFilter({ "x'; DROP TABLE documents; --": { in: ["'); DROP TABLE documents; --", 1] } }));
    expect(where).not.toContain('DROP');
    expect(Object.values(params).some((p) => String(p).includes('DROP'))).toBe(true);
    expect(select({ "x'; DROP TABLE documents; --": 1 })).toEqual([]);
  });
});

describe('filters and lone surrogates', () => {
  // Stored metadata never holds a lone UTF-16 surrogate, and SQLite would compare the U+FFFD it
  // turns one into: a filter holding one is refused with E_INPUT_ENCODING, wherever it is.
  for (const [name, unit] of [
    ['lone high surrogate', '\ud800'],
    ['lone low surrogate', '\udc00'],
  ]) {
    const escape = JSON.stringify(unit);
    const filters: Array<[string, Filter]> = [
      ['a field', { [`lang${unit}`]: 'en' }],
      ['a nested field', { [`source.k${unit}`]: { eq: 1 } }],
      ['an equality value', { lang: `en${unit}` }],
      ['an eq value', { lang: { eq: unit } }],
      ['a ne value', { lang: { ne: unit } }],
      ['an in list', { tag: { in: ['a', unit] } }],
      ['a notIn list', { tag: { notIn: [unit] } }],
    ];
    for (const [where, filter] of filters) {
      it(`normaliseFilter refuses a ${name} in ${where}`, () => {
        expect(() => normaliseFilter(filter)).toThrow(expect.objectContaining({ code: 'E_INPUT_ENCODING' }));
        expect(() => normaliseFilter([{ ok: 1 }, filter])).toThrow(expect.objectContaining({ code: 'E_INPUT_ENCODING' }));
      });
    }
    for (const text of [`lang=${escape}`, `lang != ${escape}`, `tag in a, ${escape}`, `{"lang": ${escape}}`, `{"k${escape.slice(1, -1)}": 1}`, `tag not in ${escape}`]) {
      it(`parseFilterCondition refuses a ${name} in ${text}`, () => {
        expect(() => parseFilterCondition(text)).toThrow(expect.objectContaining({ code: 'E_INPUT_ENCODING' }));
      });
    }
  }

  it('accepts surrogate pairs exactly', () => {
    const smile = '\ud83d\ude00';
    expect(parseFilterCondition('mood="\\ud83d\\ude00"')).toEqual({ mood: { eq: smile } });
    expect(parseFilterCondition(`mood${smile} in ${smile}, x`)).toEqual({ [`mood${smile}`]: { in: [smile, 'x'] } });
    expect(normaliseFilter({ [`k${smile}`]: smile })).toEqual([{ field: `k${smile}`, op: 'eq', value: smile }]);
  });
});
