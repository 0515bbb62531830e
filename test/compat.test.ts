/**
 * Compatibility: indexes written by earlier versions of spladex open, verify, answer exactly as the
 * version that wrote them answered, and accept writes. The fixtures and their `expected.json` were
 * made by `fixtures/compat/make-fixture.mjs` with the OLD code (see fixtures/compat/README.md);
 * never regenerate them with the code under test.
 *
 * Only the public entry is used. Every test works on a copy in a temporary directory: even a
 * reader creates `spladex.db-wal`/`-shm` next to a WAL-mode database, and fixtures/ must stay
 * byte-for-byte as checked in (the last test checks that).
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpladexIndex, verifyIndex, type DocumentInput, type Filter, type SearchHit, type SparseVectorInput } from '../src/index.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'compat');
const NAMES = ['v0.1-pre-commit-record', 'v0.1-commit-record'] as const;

interface Expected {
  builtBy: { commit: string };
  files: string[];
  info: { documents: number; deletedDocuments: number; segments: number; vocabularySize: number };
  k: number;
  queries: Array<{ id: string; vector: SparseVectorInput }>;
  search: Record<string, { default: SearchHit[]; exhaustive: SearchHit[] }>;
  filtered: Array<{ id: string; filter: Filter | Filter[]; query: string; default: SearchHit[]; exhaustive: SearchHit[] }>;
  documents: Record<string, { id: string; content?: string; metadata?: Record<string, unknown> } | null>;
}

/** Name → SHA-256 of every file under a directory, to prove a fixture was left untouched. */
function digests(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of (readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const p = join(dir, f);
    if (statSync(p).isFile()) out[f] = createHash('sha256').update(readFileSync(p)).digest('hex');
  }
  return out;
}

/** JSON shape of a stored document (absent fields dropped), `null` for none. */
const plain = (v: unknown): unknown => (v === undefined ? null : JSON.parse(JSON.stringify(v)));

describe.each(NAMES)('compat fixture %s', (name) => {
  const fixture = join(FIXTURES, name);
  const source = join(fixture, 'index');
  const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as Expected;
  let work: string;
  let dir: string;
  let index: SpladexIndex;
  let before: Record<string, string>;

  beforeAll(() => {
    before = digests(fixture);
    work = mkdtempSync(join(tmpdir(), `spladex-compat-${name}-`));
    dir = join(work, 'index');
    cpSync(source, dir, { recursive: true });
    index = SpladexIndex.open(dir);
  });
  afterAll(() => {
    index?.close();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('is checked in as a closed index (no -wal, -shm, lock or temporary files)', () => {
    const files = readdirSync(source).sort();
    expect(files).toEqual(expected.files);
    expect(files.filter((f) => /-wal$|-shm$|lock|tmp/.test(f))).toEqual([]);
  });

  it('opens and verifies', () => {
    const report = verifyIndex(dir);
    expect(report.problem).toBeUndefined();
    expect(report.ok).toBe(true);
    const info = index.info();
    expect({ documents: info.documents, deletedDocuments: info.deletedDocuments, segments: info.segments.length, vocabularySize: info.vocabularySize }).toEqual(expected.info);
  });

  it('answers every query as the version that wrote it did (default and exhaustive)', () => {
    for (const q of expected.queries) {
      const want = expected.search[q.id];
      expect(index.search(q.vector, { k: expected.k }), `${q.id} default`).toEqual(want.default);
      expect(index.search(q.vector, { k: expected.k, mode: 'exhaustive' }), `${q.id} exhaustive`).toEqual(want.exhaustive);
    }
  });

  it('answers filtered searches as the version that wrote it did', () => {
    const vectors = new Map(expected.queries.map((q) => [q.id, q.vector]));
    for (const f of expected.filtered) {
      const vector = vectors.get(f.query) as SparseVectorInput;
      expect(index.search(vector, { k: expected.k, filter: f.filter }), `${f.id} default`).toEqual(f.default);
      expect(index.search(vector, { k: expected.k, mode: 'exhaustive', filter: f.filter }), `${f.id} exhaustive`).toEqual(f.exhaustive);
    }
  });

  it('returns the stored content and metadata (replaced and deleted documents included)', () => {
    for (const [id, doc] of Object.entries(expected.documents)) expect(plain(index.getDocument(id)), id).toEqual(doc);
  });

  it('accepts a delete and an add on a copy, and still verifies', async () => {
    const copy = join(work, 'written');
    cpSync(source, copy, { recursive: true });
    const liveBefore = expected.info.documents;
    const kept = Object.keys(expected.documents).filter((id) => expected.documents[id] !== null);
    const [gone, replaced] = kept;
    const fresh: DocumentInput[] = [
      { id: 'compat-new-1', vector: { 'compat-only-term': 3, [Object.keys(expected.queries[0].vector)[0]]: 0.5 }, content: 'new one', metadata: { lang: 'en', year: 2030 } },
      { id: 'compat-new-2', vector: { 'compat-only-term': 1 }, content: 'new two' },
      { id: replaced, vector: { 'compat-only-term': 2 }, content: 'replacement', metadata: { lang: 'xx' } },
    ];
    const writer = SpladexIndex.open(copy, { readonly: false, writerName: 'compat test' });
    try {
      await writer.delete([gone]);
      await writer.add(fresh);
    } finally {
      writer.close();
    }
    const report = verifyIndex(copy);
    expect(report.problem).toBeUndefined();
    expect(report.ok).toBe(true);

    const reader = SpladexIndex.open(copy);
    try {
      expect(reader.info().documents).toBe(liveBefore - 1 + 2);
      expect(reader.getDocument(gone)).toBeUndefined();
      expect(plain(reader.getDocument(replaced))).toEqual({ id: replaced, content: 'replacement', metadata: { lang: 'xx' } });
      expect(plain(reader.getDocument('compat-new-1'))).toEqual({ id: 'compat-new-1', content: 'new one', metadata: { lang: 'en', year: 2030 } });
      for (const mode of ['approximate', 'exhaustive'] as const) {
        const hits = reader.search({ 'compat-only-term': 1 }, { k: 10, mode });
        expect(hits.map((h) => h.id)).toEqual(['compat-new-1', replaced, 'compat-new-2']);
        expect(reader.search({ 'compat-only-term': 1 }, { k: 10, mode, filter: { lang: 'en' } }).map((h) => h.id)).toEqual(['compat-new-1']);
      }
      // The old documents still answer as before, minus the one deleted and the one replaced.
      const q = expected.queries[0];
      const want = expected.search[q.id].exhaustive.filter((h) => h.id !== gone && h.id !== replaced);
      const got = reader.search(q.vector, { k: expected.k + 5, mode: 'exhaustive' }).filter((h) => !h.id.startsWith('compat-') && h.id !== replaced);
      expect(got.slice(0, want.length)).toEqual(want);
    } finally {
      reader.close();
    }
  });

  it('leaves the checked-in fixture untouched', () => {
    expect(digests(fixture)).toEqual(before);
  });
});
