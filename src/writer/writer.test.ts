/**
 * Adds, deletes, compaction, filtered search, snapshots and the writer lock, checked against a
 * reference model (an ordered list of live documents) and brute-force scoring.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { asHalfPrecision, IndexModel, makeDocuments, matchesFilter, randomFilter, randomQueries } from '../../test/helpers/index-model.js';
import { bruteForceTopK } from '../../test/helpers/random-corpus.js';
import { expectSameRanking } from '../../test/helpers/ranking.js';
import { isSpladexError } from '../errors.js';
import { readCommitRecord } from '../store/commit-record.js';
import { LOSSLESS_BUILD, type BuildOptions } from '../segment/options.js';
import { verifyIndex } from '../reader/verify.js';
import { LOSSLESS_SEARCH } from '../query/options.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import type { DocumentInput, SparseVectorInput } from '../types.js';
import { Rng } from '../util/rng.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-updates-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => join(scratch, `idx-${++counter}`);
const ids = (prefix: string, from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

/** Exhaustive results, id lists, documents and counts all equal the model. */
function expectMatchesModel(index: SpladexIndex, model: IndexModel, queries: SparseVectorInput[]): void {
  expect([...index.ids()]).toEqual(model.ids());
  expect(index.info().documents).toBe(model.ids().length);
  const live = index.manifest.build.forwardValues === 'f16' ? asHalfPrecision(model.live()) : model.live();
  for (const query of queries) expectSameRanking(index.search(query, { k: 15, mode: 'exhaustive' }), bruteForceTopK(live, query, 15));
}

describe('add, delete, compact', () => {
  for (const [name, build, small] of [
    ['f32, lossless, Seismic segments', { ...LOSSLESS_BUILD, forwardValues: 'f32' }, 0],
    ['f16, default build, small segments flat', {}, 100],
  ] as Array<[string, BuildOptions, number]>) {
    it(`follow the model through a random sequence of operations (${name})`, async () => {
      const rng = new Rng(31);
      const queries = randomQueries(rng, 12);
      const model = new IndexModel();
      const dir = freshDir();
      const initial = makeDocuments(rng, ids('d', 0, 300));
      await buildIndex(initial, dir, build);
      model.add(initial);
      const writer = SpladexIndex.open(dir, { readonly: false });
      try {
        let next = 300;
        for (let step = 0; step < 14; step++) {
          const op = rng.int(4);
          if (op <= 1) {
            // New ids plus replacements of live and of deleted ids.
            const fresh = ids('d', next, 20 + rng.int(150));
            next += fresh.length;
            const known = Array.from({ length: rng.int(15) }, () => `d${rng.int(next)}`);
            const batch = makeDocuments(rng, [...new Set([...fresh, ...known])]);
            const replaced = batch.filter((d) => model.has(String(d.id))).length;
            const summary = await writer.add(batch, { smallSegmentDocs: small });
            expect(summary).toMatchObject({ documents: batch.length, replaced });
            model.add(batch);
          } else if (op === 2) {
            const victims = [...new Set(Array.from({ length: 1 + rng.int(40) }, () => `d${rng.int(next + 5)}`))];
            const expected = victims.filter((id) => model.has(id));
            const summary = await writer.delete(victims);
            expect(summary.deleted).toBe(expected.length);
            expect(summary.notFound.sort()).toEqual(victims.filter((id) => !model.has(id)).sort());
            model.delete(victims);
          } else {
            await writer.compact({ smallSegmentDocs: small });
            expect(writer.manifest.segments.length).toBeLessThanOrEqual(1);
            expect(writer.info().deletedDocuments).toBe(0);
          }
          expectMatchesModel(writer, model, queries);
        }
      } finally {
        writer.close();
      }
      // A fresh reader sees the same, and the index verifies.
      const reader = SpladexIndex.open(dir);
      try {
        expectMatchesModel(reader, model, queries);
        for (const id of model.ids().slice(0, 50)) expect(reader.getDocument(id)?.content).toBe(`text of ${id}`);
        expect(reader.getDocument('d999999')).toBeUndefined();
      } finally {
        reader.close();
      }
      expect(verifyIndex(dir)).toMatchObject({ ok: true });
    });
  }

  it('pruned search over many segments with lossless settings equals exact search, deletes included', async () => {
    const rng = new Rng(32);
    const queries = randomQueries(rng, 25);
    const dir = freshDir();
    await buildIndex(makeDocuments(rng, ids('d', 0, 400)), dir, LOSSLESS_BUILD);
    const writer = SpladexIndex.open(dir, { readonly: false });
    try {
      await writer.add(makeDocuments(rng, ids('d', 400, 300)), { smallSegmentDocs: 0 });
      await writer.add(makeDocuments(rng, ids('d', 700, 50)), { smallSegmentDocs: 100 }); // flat
      await writer.add(makeDocuments(rng, ids('d', 100, 80))); // replacements, flat
      await writer.delete(ids('d', 0, 400).filter(() => rng.next() < 0.2));
      expect(writer.manifest.segments.length).toBe(4);
      for (const query of queries) {
        for (const k of [1, 7, 30]) {
          const exact = writer.search(query, { k, mode: 'exhaustive' });
          expect(writer.search(query, { k, ...LOSSLESS_SEARCH })).toEqual(exact);
        }
      }
    } finally {
      writer.close();
    }
  });

  it('compaction keeps f16 and f32 scores bit for bit, and u8 within a quantization step', async () => {
    for (const forwardValues of ['f16', 'f32', 'u8'] as const) {
      const rng = new Rng(33);
      const queries = randomQueries(rng, 15);
      const dir = freshDir();
      await buildIndex(makeDocuments(rng, ids('d', 0, 300)), dir, { forwardValues });
      const writer = SpladexIndex.open(dir, { readonly: false });
      try {
        await writer.add(makeDocuments(rng, ids('d', 300, 200)), { smallSegmentDocs: 0 });
        await writer.delete(ids('d', 0, 500).filter(() => rng.next() < 0.1));
        const before = queries.map((q) => writer.search(q, { k: 20, mode: 'exhaustive' }));
        const summary = await writer.compact({ smallSegmentDocs: 0 });
        expect(summary).toMatchObject({ segmentsBefore: 2, segmentsAfter: 1 });
        const after = queries.map((q) => writer.search(q, { k: 20, mode: 'exhaustive' }));
        if (forwardValues !== 'u8') {
          expect(after).toEqual(before);
          continue;
        }
        // u8 refits its 256 levels to the merged values: scores move, the ranking mostly holds.
        const overlap = after.reduce((n, hits, i) => n + hits.filter((h) => before[i].some((b) => b.id === h.id)).length, 0);
        expect(overlap / before.reduce((n, hits) => n + hits.length, 0)).toBeGreaterThan(0.7);
      } finally {
        writer.close();
      }
    }
  });

  it('compacting a single u8 segment keeps its codes, so scores do not move', async () => {
    const rng = new Rng(37);
    const queries = randomQueries(rng, 10);
    const dir = freshDir();
    await buildIndex(makeDocuments(rng, ids('d', 0, 300)), dir, { forwardValues: 'u8' });
    const writer = SpladexIndex.open(dir, { readonly: false });
    try {
      await writer.delete(ids('d', 0, 300).filter(() => rng.next() < 0.2));
      const before = queries.map((q) => writer.search(q, { k: 20, mode: 'exhaustive' }));
      await writer.compact({ smallSegmentDocs: 0 });
      expect(queries.map((q) => writer.search(q, { k: 20, mode: 'exhaustive' }))).toEqual(before);
    } finally {
      writer.close();
    }
  });

  it('delete refuses an id UTF-8 cannot store (a lone surrogate) and changes nothing', async () => {
    const dir = freshDir();
    await buildIndex([{ id: 'a', vector: { x: 1 } }], dir);
    const writer = SpladexIndex.open(dir, { readonly: false });
    try {
      await expect(writer.delete(['a', 'a\ud800'])).rejects.toMatchObject({ code: 'E_INPUT_ENCODING' });
      expect(writer.manifest.generation).toBe(1);
      expect(writer.search({ x: 1 })).toEqual([{ id: 'a', score: 1 }]);
    } finally {
      writer.close();
    }
  });

  it('compacting everything away leaves an empty, valid index', async () => {
    const dir = freshDir();
    await buildIndex([{ id: 'a', vector: { x: 1 } }, { id: 'b', vector: { x: 2 } }], dir);
    const writer = SpladexIndex.open(dir, { readonly: false });
    await writer.delete(['a', 'b']);
    // A segment without live documents is dropped at once.
    expect(writer.manifest.segments).toEqual([]);
    expect(writer.search({ x: 1 })).toEqual([]);
    expect((await writer.compact()).segmentsAfter).toBe(0);
    await writer.add([{ id: 'c', vector: { x: 3 } }]);
    writer.close();
    const reader = SpladexIndex.open(dir);
    expect(reader.search({ x: 1 })).toEqual([{ id: 'c', score: 3 }]);
    reader.close();
    expect(readdirSync(dir).filter((f) => f.endsWith('.spx'))).toEqual(['seg-000002.spx']);
  });

  it('an add is all or nothing: a bad document or a failing source leaves the index unchanged', async () => {
    const dir = freshDir();
    await buildIndex([{ id: 'a', vector: { x: 1 } }], dir);
    const writer = SpladexIndex.open(dir, { readonly: false });
    try {
      await expect(
        writer.add([
          { id: 'b', vector: { x: 1 } },
          { id: 'b', vector: { x: 2 } },
        ]),
      ).rejects.toMatchObject({ code: 'E_INPUT_DUPLICATE_ID' });
      async function* failing(): AsyncGenerator<DocumentInput> {
        yield { id: 'a', vector: { x: 5 } };
        yield* makeDocuments(new Rng(1), ids('z', 0, 6000));
        throw new Error('disk on fire');
      }
      await expect(writer.add(failing(), { smallSegmentDocs: 0 })).rejects.toThrow('disk on fire');
      expect([...writer.ids()]).toEqual(['a']);
      expect(writer.search({ x: 1 })).toEqual([{ id: 'a', score: 1 }]);
      expect(readdirSync(dir).filter((f) => f.endsWith('.spx'))).toEqual(['seg-000001.spx']);
      const skipped: string[] = [];
      const summary = await writer.add(
        [
          { id: 'c', vector: { x: 1 } },
          { id: 'c', vector: { x: 2 } },
          { id: 'd', vector: { x: -1 } },
        ],
        { skipInvalid: true, onSkip: (s) => skipped.push(s.code) },
      );
      expect(summary).toMatchObject({ documents: 1, skipped: 2 });
      expect(skipped).toEqual(['E_INPUT_DUPLICATE_ID', 'E_INPUT_VECTOR']);
    } finally {
      writer.close();
    }
  });

  it('readers keep their snapshot while a writer adds and compacts, and refresh() moves them on', async () => {
    const rng = new Rng(34);
    const queries = randomQueries(rng, 10);
    const dir = freshDir();
    const first = makeDocuments(rng, ids('d', 0, 200));
    await buildIndex(first, dir, { forwardValues: 'f32' });
    const reader = SpladexIndex.open(dir);
    const before = queries.map((q) => reader.search(q, { k: 10, mode: 'exhaustive' }));
    const numericYear = { year: { gte: 0 } };
    const filteredBefore = reader.search(queries[0], { k: 5, filter: numericYear });
    const writer = SpladexIndex.open(dir, { readonly: false });
    const second = makeDocuments(rng, ids('d', 150, 100));
    await writer.add(second);
    await writer.delete(['d0', 'd1']);
    await writer.compact();
    writer.close();
    // The files the reader loaded are gone; its answers and stored documents are unchanged.
    expect(existsSync(join(dir, 'seg-000001.spx'))).toBe(false);
    expect(queries.map((q) => reader.search(q, { k: 10, mode: 'exhaustive' }))).toEqual(before);
    expect(reader.getDocument('d0')?.content).toBe('text of d0');
    // Filters read the stored metadata of the reader's snapshot too, not the documents written since.
    expect(filteredBefore.length).toBeGreaterThan(0);
    expect(reader.search(queries[0], { k: 5, filter: numericYear })).toEqual(filteredBefore);
    expect(reader.refresh()).toBe(true);
    expect(reader.refresh()).toBe(false);
    const model = new IndexModel();
    model.add(first);
    model.add(second);
    model.delete(['d0', 'd1']);
    expectMatchesModel(reader, model, queries);
    expect(reader.getDocument('d0')).toBeUndefined();
    reader.close();
  });

  it('save() copies the state a reader sees, deletes included, even after its files were compacted away', async () => {
    const rng = new Rng(38);
    const queries = randomQueries(rng, 8);
    const dir = freshDir();
    await buildIndex(makeDocuments(rng, ids('d', 0, 150)), dir);
    const writer = SpladexIndex.open(dir, { readonly: false });
    await writer.add(makeDocuments(rng, ids('d', 100, 100)));
    await writer.delete(['d5', 'd6']);
    const reader = SpladexIndex.open(dir);
    await writer.compact();
    writer.close();
    const copy = freshDir();
    reader.save(copy);
    const saved = SpladexIndex.open(copy);
    try {
      expect([...saved.ids()]).toEqual([...reader.ids()]);
      expect(saved.manifest.segments).toEqual(reader.manifest.segments);
      for (const q of queries) expect(saved.search(q, { k: 10, filter: { year: { gte: 2000 } } })).toEqual(reader.search(q, { k: 10, filter: { year: { gte: 2000 } } }));
      expect(saved.getDocument('d120')).toEqual(reader.getDocument('d120'));
    } finally {
      saved.close();
      reader.close();
    }
    expect(verifyIndex(copy).ok).toBe(true);
  });

  it('refuses a second writer with E_LOCKED, breaks a stale lock, and a reader cannot write', async () => {
    const dir = freshDir();
    await buildIndex([{ id: 'a', vector: { x: 1 } }], dir);
    const writer = SpladexIndex.open(dir, { readonly: false, writerName: 'test writer' });
    const error = (() => {
      try {
        SpladexIndex.open(dir, { readonly: false });
      } catch (e) {
        return e;
      }
    })();
    expect(isSpladexError(error, 'E_LOCKED')).toBe(true);
    expect((error as Error).message).toContain('test writer');
    writer.close();
    // A lock left by a process that no longer exists is stale.
    writeFileSync(join(dir, 'spladex.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), command: 'dead', since: 'then' }));
    const second = SpladexIndex.open(dir, { readonly: false });
    await second.delete(['a']);
    second.close();
    expect(existsSync(join(dir, 'spladex.lock'))).toBe(false);
    const reader = SpladexIndex.open(dir);
    // A reader has no write methods: calling one is a type error, and there is nothing to call.
    // @ts-expect-error delete exists on IndexWriter only
    expect(reader.delete).toBeUndefined();
    expect(reader.writable).toBe(false);
    reader.close();
  });

  it('opens and upgrades an index written before updates existed (no deletes table, no id index, older manifest)', async () => {
    const dir = freshDir();
    await buildIndex([{ id: 'a', vector: { x: 1 } }, { id: 'b', vector: { x: 2 } }], dir);
    const db = new Database(join(dir, 'spladex.db'));
    db.exec('DROP TABLE deletes; DROP INDEX documents_id;');
    db.pragma('journal_mode = DELETE');
    const { value } = db.prepare("SELECT value FROM meta WHERE key = 'manifest'").get() as { value: string };
    const manifest = JSON.parse(value);
    for (const key of ['generation', 'nextSegment', 'updatedAt', 'commitRecord', 'calibration']) delete manifest[key];
    for (const entry of manifest.segments) {
      delete entry.deleted;
      delete entry.digest;
    }
    const text = JSON.stringify(manifest);
    db.prepare("UPDATE meta SET value = ?, crc = ? WHERE key = 'manifest'").run(text, crc32(text));
    db.close();
    // Indexes of that time had no commit record either; the first write adds it.
    rmSync(join(dir, 'spladex.commit'));
    const reader = SpladexIndex.open(dir);
    expect(reader.search({ x: 1 }).map((h) => h.id)).toEqual(['b', 'a']);
    reader.close();
    const writer = SpladexIndex.open(dir, { readonly: false });
    await writer.delete(['b']);
    await writer.add([{ id: 'c', vector: { x: 3 } }]);
    expect(writer.manifest).toMatchObject({ generation: 3, nextSegment: 3, commitRecord: true });
    writer.close();
    expect(readCommitRecord(dir)).toMatchObject({ generation: 3 });
    expect(verifyIndex(dir).ok).toBe(true);
  });

  it('rebuilding over an existing index with overwrite is one atomic commit that readers survive', async () => {
    const dir = freshDir();
    await buildIndex([{ id: 'old', vector: { x: 1 }, metadata: { v: 1 } }], dir);
    const reader = SpladexIndex.open(dir);
    await buildIndex([{ id: 'new', vector: { x: 2 } }], dir, { overwrite: true, forwardValues: 'f32' });
    expect(reader.search({ x: 1 })).toEqual([{ id: 'old', score: 1 }]);
    expect(reader.getDocument('old')?.metadata).toEqual({ v: 1 });
    reader.refresh();
    expect(reader.search({ x: 1 })).toEqual([{ id: 'new', score: 2 }]);
    expect(reader.info().build.forwardValues).toBe('f32');
    reader.close();
    expect(verifyIndex(dir).ok).toBe(true);
  });
});

describe('filtered search', () => {
  it('equals exact filtered search (brute force over matching documents) under lossless settings, both strategies', async () => {
    const rng = new Rng(35);
    const queries = randomQueries(rng, 12);
    const model = new IndexModel();
    const dir = freshDir();
    const base = makeDocuments(rng, ids('d', 0, 500));
    await buildIndex(base, dir, { ...LOSSLESS_BUILD, forwardValues: 'f32' });
    model.add(base);
    const writer = SpladexIndex.open(dir, { readonly: false });
    try {
      const more = makeDocuments(rng, [...ids('d', 500, 250), ...ids('d', 0, 40)]);
      await writer.add(more, { smallSegmentDocs: 0 });
      model.add(more);
      const small = makeDocuments(rng, ids('d', 750, 60));
      await writer.add(small);
      model.add(small);
      const victims = ids('d', 0, 810).filter(() => rng.next() < 0.15);
      await writer.delete(victims);
      model.delete(victims);
      const live = model.live();
      for (let f = 0; f < 40; f++) {
        const filter = rng.next() < 0.2 ? [randomFilter(rng), randomFilter(rng)] : randomFilter(rng);
        const allowed = live.filter((d) => matchesFilter(d, filter));
        for (const query of queries.slice(0, 6)) {
          const expected = bruteForceTopK(allowed, query, 10);
          for (const filterExactBelow of [0, 1e9]) {
            const pruned = writer.search(query, { k: 10, filter, filterExactBelow, ...LOSSLESS_SEARCH });
            const exact = writer.search(query, { k: 10, filter, filterExactBelow, mode: 'exhaustive' });
            expect(pruned, JSON.stringify(filter)).toEqual(exact);
            expectSameRanking(exact, expected);
          }
        }
      }
    } finally {
      writer.close();
    }
  });

  it('approximate filtered search only returns allowed documents with their true scores', async () => {
    const rng = new Rng(36);
    const dir = freshDir();
    const docs = makeDocuments(rng, ids('d', 0, 800));
    await buildIndex(docs, dir, { nPostings: 30 });
    const index = SpladexIndex.open(dir);
    try {
      for (let i = 0; i < 30; i++) {
        const filter = randomFilter(rng);
        const query = randomQueries(rng, 1)[0];
        const allowed = new Set(docs.filter((d) => matchesFilter(d, filter)).map((d) => String(d.id)));
        const exact = new Map(index.search(query, { k: 800, mode: 'exhaustive' }).map((h) => [h.id, h.score]));
        for (const hit of index.search(query, { k: 10, filter, filterExactBelow: 0 })) {
          expect(allowed.has(hit.id)).toBe(true);
          expect(hit.score).toBe(exact.get(hit.id));
        }
      }
    } finally {
      index.close();
    }
  });

  it('rejects malformed filters with E_OPTION', async () => {
    const index = await SpladexIndex.build([{ id: 'a', vector: { x: 1 }, metadata: { y: 1 } }]);
    try {
      for (const filter of [{}, { y: { between: 1 } }, { y: { gte: 'x' } }, { 'a"b': 1 }, { y: [1, 2] }, { y: { in: [] } }, { y: { eq: { z: 1 } } }] as never[]) {
        expect(() => index.search({ x: 1 }, { filter })).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
      }
      expect(index.search({ x: 1 }, { filter: { y: 1 } })).toEqual([{ id: 'a', score: 1 }]);
      expect(index.search({ x: 1 }, { filter: { y: '1' } })).toEqual([]);
    } finally {
      index.close();
    }
  });
});
