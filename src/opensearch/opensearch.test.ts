/** The pure parts of the OpenSearch bridge: feature names, query and filter translation. */
import { describe, expect, it } from 'vitest';
import { featureName, tokenOfFeature } from './features.js';
import { searchBody, translateFilter } from './query.js';
import type { MetadataFieldType } from './mapping.js';

const types = (path: string): MetadataFieldType | undefined => ({ year: 'double', lang: 'keyword', 'source.kind': 'keyword', source: 'object', flag: 'boolean' } as Record<string, MetadataFieldType>)[path];

describe('feature names', () => {
  it('escape dots and percent signs reversibly, and leave other tokens alone', () => {
    for (const token of ['##ing', 'plain', '.', '##.', 'u.s.', '100%', '%2E', '%25.', 'a%2Eb', '', 'ü.ß']) {
      const name = featureName(token);
      expect(name).not.toContain('.');
      expect(tokenOfFeature(name)).toBe(token);
    }
    expect(featureName('##ing')).toBe('##ing');
    expect(featureName('u.s.')).toBe('u%2Es%2E');
  });
});

describe('query translation', () => {
  it('is a sum of linear rank_feature clauses with the weights as boosts, ties broken by export order', () => {
    const body = searchBody(['a.b', 'c', 'zero'], [2, 0.5, 0], { method: 'exact', k: 7 }, types) as { size: number; sort: unknown; query: { bool: { should: Array<{ rank_feature: { field: string; boost: number } }>; minimum_should_match: number } } };
    expect(body.size).toBe(7);
    expect(body.query.bool.minimum_should_match).toBe(1);
    expect(body.query.bool.should.map((c) => [c.rank_feature.field, c.rank_feature.boost])).toEqual([['vector.a%2Eb', 2], ['vector.c', 0.5]]);
    expect(body.sort).toEqual([{ _score: 'desc' }, { ordinal: 'asc' }]);
    expect(searchBody(['x'], [0], { method: 'exact', k: 10 }, types)).toBeUndefined();
  });

  it('translates filters with typed semantics', () => {
    expect(translateFilter({ lang: 'en', year: { gte: 2010, lt: 2020 } }, types)).toEqual({ filter: [{ term: { 'metadata.lang': 'en' } }, { range: { 'metadata.year': { gte: 2010 } } }, { range: { 'metadata.year': { lt: 2020 } } }], must_not: [] });
    // A number on a keyword field, a range on a keyword field, an unknown field, an object: nothing matches.
    const none = { match_none: {} };
    expect(translateFilter({ lang: 2010 }, types).filter).toEqual([none]);
    expect(translateFilter({ lang: { gt: 1 } }, types).filter).toEqual([none]);
    expect(translateFilter({ missing: 'x' }, types).filter).toEqual([none]);
    expect(translateFilter({ source: 'x' }, types).filter).toEqual([none]);
    // ne / notIn exclude matches, so documents without the field pass; a type mismatch excludes nothing.
    expect(translateFilter({ 'source.kind': { ne: 'blog' } }, types)).toEqual({ filter: [], must_not: [{ term: { 'metadata.source.kind': 'blog' } }] });
    expect(translateFilter({ lang: { notIn: ['de', 3] } }, types)).toEqual({ filter: [], must_not: [{ term: { 'metadata.lang': 'de' } }] });
    expect(translateFilter({ lang: { ne: 3 } }, types)).toEqual({ filter: [], must_not: [] });
    expect(translateFilter({ lang: { in: ['de', 'fr', true] } }, types).filter).toEqual([{ terms: { 'metadata.lang': ['de', 'fr'] } }]);
    expect(translateFilter({ flag: true }, types).filter).toEqual([{ term: { 'metadata.flag': true } }]);
    expect(() => translateFilter({ lang: null }, types)).toThrow(/null values/);
  });
});
