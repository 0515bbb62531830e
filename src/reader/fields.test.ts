import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSpladexError } from '../errors.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import type { StoredDocument } from '../store/store.js';
import { checkFieldsExist, fieldValue, hitsWithFields, parseFields, projectDocument } from './fields.js';
import { checkIndexDirectory } from './reader.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-fields-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isSpladexError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a SpladexError');
}

const doc: StoredDocument = { id: 'd1', content: 'Paula and her brother', metadata: { year: 2010, title: 'Paula', source: { kind: 'news', lang: 'en' } } };

describe('field lists', () => {
  it('parses names: top-level fields, metadata paths, bare names as metadata keys', () => {
    expect(parseFields('id, score,content,metadata.year,title,source.kind').map((f) => f.path)).toEqual([['id'], ['score'], ['content'], ['metadata', 'year'], ['metadata', 'title'], ['metadata', 'source', 'kind']]);
    expect(parseFields(['metadata']).map((f) => f.name)).toEqual(['metadata']);
    // Repeats collapse.
    expect(parseFields('id,id')).toHaveLength(1);
  });

  it('refuses empty names, parts of non-objects and score where there is none', () => {
    expect(errorOf(() => parseFields('id,,content'))).toMatchObject({ code: 'E_OPTION', message: expect.stringContaining('"" is not a field name') });
    expect(errorOf(() => parseFields('metadata.'))).toMatchObject({ code: 'E_OPTION' });
    expect(errorOf(() => parseFields('content.x'))).toMatchObject({ code: 'E_OPTION', message: expect.stringContaining('only metadata has keys') });
    expect(errorOf(() => parseFields('score', { withScore: false }))).toMatchObject({ code: 'E_OPTION', message: expect.stringContaining('score belongs to search results') });
  });
});

describe('projection', () => {
  it('keeps the stored shape with only the fields asked for', () => {
    expect(projectDocument(doc, parseFields('content'))).toEqual({ content: 'Paula and her brother' });
    expect(projectDocument(doc, parseFields('year,metadata.source.lang'))).toEqual({ metadata: { year: 2010, source: { lang: 'en' } } });
    expect(projectDocument(doc, parseFields('metadata.year,title'))).toEqual(projectDocument(doc, parseFields('year,metadata.title')));
    // The whole object wins over a part of it, in any order.
    expect(projectDocument(doc, parseFields('source.kind,metadata'))).toEqual({ metadata: doc.metadata });
    // Missing values are absent, not null.
    expect(projectDocument(doc, parseFields('missing,content'))).toEqual({ content: doc.content });
    expect(projectDocument(undefined, parseFields('content'))).toEqual({});
    expect(projectDocument({ id: 'bare' }, parseFields('content,metadata'))).toEqual({});
  });

  it('adds the fields to hits, which keep id and score first', () => {
    const hits = hitsWithFields([{ id: 'd1', score: 2.5 }, { id: 'gone', score: 1 }], new Map([['d1', doc]]), parseFields('id,score,year'));
    expect(hits).toEqual([{ id: 'd1', score: 2.5, metadata: { year: 2010 } }, { id: 'gone', score: 1 }]);
    expect(Object.keys(hits[0])).toEqual(['id', 'score', 'metadata']);
    expect(fieldValue(hits[0], parseFields('year')[0])).toBe(2010);
    expect(fieldValue(hits[0], parseFields('score')[0])).toBe(2.5);
    expect(fieldValue(hits[1], parseFields('year')[0])).toBeUndefined();
  });

  it('refuses a field no document has, listing the metadata keys that exist; looks beyond the hits before refusing', () => {
    const others: StoredDocument[] = [{ id: 'd2', metadata: { lang: 'de' } }, doc];
    let scanned = 0;
    const all = function* (): Generator<StoredDocument> {
      for (const d of others) {
        scanned++;
        yield d;
      }
    };
    // Found among the hits: the index is not read.
    checkFieldsExist(parseFields('id,score,content,year'), [doc], all);
    expect(scanned).toBe(0);
    // Not among the hits, but in the index.
    checkFieldsExist(parseFields('lang'), [doc], all);
    expect(scanned).toBe(1);
    const error = errorOf(() => checkFieldsExist(parseFields('titel,year'), [undefined], all));
    expect(error.code).toBe('E_OPTION');
    expect(error.message).toContain('unknown field titel');
    expect(error.message).toContain('metadata keys: lang, source, title, year');
    expect(error.message).not.toContain('fields year');
  });
});

describe('the index directory', () => {
  it('names the directory to give when pointed at one of its files', async () => {
    const dir = join(scratch, 'idx');
    await buildIndex([{ id: 'a', vector: { x: 1 } }], dir);
    expect(checkIndexDirectory(dir)).toBe(join(dir, 'spladex.db'));
    for (const file of ['spladex.db', 'spladex.commit', 'seg-000001.spx']) {
      const error = errorOf(() => SpladexIndex.open(join(dir, file)));
      expect(error.code).toBe('E_NOT_AN_INDEX');
      expect(error.message).toBe(`${join(dir, file)}: this is a file of the index, not the index: an index is its directory; give ${dir} instead`);
    }
    const stray = join(scratch, 'vectors.jsonl');
    writeFileSync(stray, '{}\n');
    expect(errorOf(() => SpladexIndex.open(stray)).message).toContain('a file, not an index directory');
    expect(errorOf(() => SpladexIndex.open(join(scratch, 'nowhere'))).message).toContain('no such directory');
    expect(errorOf(() => SpladexIndex.open(scratch)).message).toContain('not a spladex index (no spladex.db in it)');
  });
});
