/**
 * Damaged indexes: every single-byte flip of every file is either detected (a typed error from
 * open, search, document fetch or verify) or provably harmless (every answer identical); files
 * with valid checksums but broken structure, manifests and bitmaps that lie, and document rows
 * that were altered are all caught with the file and location.
 */
import Database from 'better-sqlite3';
import roaring from 'roaring';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocuments, randomQueries } from '../../test/helpers/index-model.js';
import { isSpladexError } from '../errors.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import type { SparseVectorInput } from '../types.js';
import { Rng } from '../util/rng.js';
import { readContainer, writeContainer, type SectionArray } from '../segment/container.js';
import { writeCommitRecord } from '../store/commit-record.js';
import { segmentDigest } from '../store/manifest.js';
import { verifyIndex } from './verify.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-corrupt-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const ids = (prefix: string, from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

/** A small index with two segments (one Seismic, one flat), deletes, content and metadata. */
async function makeIndex(dir: string): Promise<void> {
  const rng = new Rng(51);
  await buildIndex(makeDocuments(rng, ids('d', 0, 60), 60), dir, { summaryEnergy: 1, maxSummaryTerms: 0, forwardValues: 'f16' });
  const writer = SpladexIndex.open(dir, { readonly: false });
  await writer.add(makeDocuments(rng, ids('d', 50, 25), 60));
  await writer.delete(['d3', 'd7', 'd70']);
  writer.close();
}

interface Observation {
  hits: string;
  documents: string;
}

/** Everything a user can get out of an index, or the typed error that stopped it. */
function observe(dir: string, queries: SparseVectorInput[], knownIds: string[]): Observation | { error: string } {
  let index: SpladexIndex | undefined;
  try {
    index = SpladexIndex.open(dir);
    const hits = JSON.stringify([
      queries.map((q) => index!.search(q, { k: 8 })),
      queries.map((q) => index!.search(q, { k: 8, mode: 'exhaustive' })),
      queries.map((q) => index!.search(q, { k: 8, filter: { year: { gte: 2000 } } })),
      queries.map((q) => index!.search(q, { k: 8, filter: { lang: 'en' }, filterExactBelow: 0 })),
      [...index.ids()],
    ]);
    const documents = JSON.stringify(knownIds.map((id) => index!.getDocument(id) ?? null));
    return { hits, documents };
  } catch (error) {
    if (isSpladexError(error)) return { error: error.code };
    throw error;
  } finally {
    index?.close();
  }
}

describe('single-byte flips in every file', () => {
  const original = join(scratch, 'original');
  const queries = randomQueries(new Rng(52), 6, 60);
  const knownIds = [...ids('d', 0, 75), 'nope'];
  let baseline: Observation;
  beforeAll(async () => {
    await makeIndex(original);
    baseline = observe(original, queries, knownIds) as Observation;
    expect(baseline).toHaveProperty('hits');
    expect(verifyIndex(original).ok).toBe(true);
  });

  it('are detected or change nothing (seeded sample of positions, every file)', () => {
    const rng = new Rng(53);
    const files = readdirSync(original).sort();
    expect(files).toEqual(['seg-000001.spx', 'seg-000002.spx', 'spladex.commit', 'spladex.db']);
    const tally = { detected: 0, harmless: 0 };
    for (const file of files) {
      const bytes = readFileSync(join(original, file));
      // The database gets more samples: most of its bytes are structure SQLite itself interprets.
      const samples = file === 'spladex.db' ? 400 : 100;
      for (let i = 0; i < samples; i++) {
        const position = i < 24 ? i * Math.floor(bytes.length / 24) + rng.int(8) : rng.int(bytes.length);
        const dir = join(scratch, `flip-${++counter}`);
        cpSync(original, dir, { recursive: true });
        const damaged = Buffer.from(bytes);
        damaged[position] ^= 1 << rng.int(8);
        writeFileSync(join(dir, file), damaged);
        const seen = observe(dir, queries, knownIds);
        const report = verifyIndex(dir);
        if ('error' in seen || !report.ok) {
          tally.detected++;
          if (!report.ok) expect(report.problem!.file).toContain(dir);
        } else {
          expect(seen, `${file} byte ${position}: undetected change`).toEqual(baseline);
          tally.harmless++;
        }
        rmSync(dir, { recursive: true, force: true });
      }
    }
    console.log(`byte flips: ${JSON.stringify(tally)}`);
    expect(tally.detected).toBeGreaterThan(100);
  });
});

/** Rewrites one segment file with `mutate` applied to its sections and points the manifest at the new file (valid CRCs, valid digest). */
function forgeSegment(dir: string, file: string, mutate: (sections: Map<string, SectionArray>) => void): void {
  const path = join(dir, file);
  const { sections } = readContainer(path);
  const copies = new Map<string, SectionArray>();
  for (const [name, array] of sections) copies.set(name, array.slice() as SectionArray);
  mutate(copies);
  const infos = writeContainer(path, Object.fromEntries(copies));
  rewriteManifest(dir, (manifest) => {
    const entry = (manifest.segments as Array<{ file: string; digest: number }>).find((s) => s.file === file)!;
    entry.digest = segmentDigest(infos);
  });
}

function rewriteManifest(dir: string, mutate: (manifest: Record<string, unknown>) => void): void {
  const db = new Database(join(dir, 'spladex.db'));
  const { value } = db.prepare("SELECT value FROM meta WHERE key = 'manifest'").get() as { value: string };
  const manifest = JSON.parse(value) as Record<string, unknown>;
  mutate(manifest);
  const text = JSON.stringify(manifest);
  db.prepare("UPDATE meta SET value = ?, crc = ? WHERE key = 'manifest'").run(text, crc32(text));
  db.close();
  // A forger who recomputes checksums updates the commit record too: what is tested is the check behind it.
  writeCommitRecord(dir, { generation: manifest.generation as number, manifestCrc: crc32(text) });
}

describe('damage behind valid checksums', () => {
  const original = join(scratch, 'forge-original');
  beforeAll(async () => makeIndex(original));
  const copy = (): string => {
    const dir = join(scratch, `forge-${++counter}`);
    cpSync(original, dir, { recursive: true });
    return dir;
  };
  const openError = (dir: string): unknown => {
    try {
      SpladexIndex.open(dir).close();
    } catch (error) {
      return error;
    }
    return undefined;
  };

  const atOpen: Array<[string, (s: Map<string, SectionArray>) => void, string]> = [
    ['a term id beyond the vocabulary', (s) => ((s.get('fwd.terms') as Uint16Array)[3] = 60000), 'fwd.terms'],
    ['offsets that run backwards', (s) => ((s.get('fwd.offsets') as Uint32Array)[2] = 0), 'fwd.offsets'],
    ['a posting beyond the documents', (s) => ((s.get('inv.docs') as Uint32Array)[0] = 1e6), 'inv.docs'],
    ['a negative half-precision weight', (s) => ((s.get('fwd.values') as Uint16Array)[0] |= 0x8000), 'fwd.values'],
    ['an infinite block scale', (s) => ((s.get('inv.scales') as Float32Array)[0] = Infinity), 'inv.scales'],
  ];
  for (const [name, mutate, part] of atOpen) {
    it(`refuses to open a segment with ${name}`, () => {
      const dir = copy();
      forgeSegment(dir, 'seg-000001.spx', mutate);
      const error = openError(dir);
      expect(isSpladexError(error, 'E_CORRUPT'), String(error)).toBe(true);
      const report = verifyIndex(dir);
      expect(report.problem).toMatchObject({ code: 'E_CORRUPT', file: join(dir, 'seg-000001.spx') });
      expect(report.problem!.location).toContain(part);
    });
  }

  const atVerify: Array<[string, (s: Map<string, SectionArray>) => void, string]> = [
    [
      'block documents out of order',
      (s) => {
        const docs = s.get('inv.docs') as Uint32Array;
        const offsets = s.get('inv.blockPosts') as Uint32Array;
        const b = offsets.findIndex((o, i) => i > 0 && o - offsets[i - 1] >= 2) - 1;
        [docs[offsets[b]], docs[offsets[b] + 1]] = [docs[offsets[b] + 1], docs[offsets[b]]];
      },
      'inv.docs',
    ],
    ['a summary that underestimates its block', (s) => (s.get('inv.sumCodes') as Uint8Array).fill(1), 'inv.sumCodes'],
    ['a duplicated external id', (s) => s.set('ids.txt', Uint8Array.from(Buffer.from(Buffer.from(s.get('ids.txt') as Uint8Array).toString().replace('d1d2', 'd1d1')))), 'ids.txt'],
  ];
  for (const [name, mutate, part] of atVerify) {
    it(`verify finds ${name}`, () => {
      const dir = copy();
      forgeSegment(dir, 'seg-000001.spx', mutate);
      const report = verifyIndex(dir);
      expect(report.ok).toBe(false);
      expect(report.problem!.location).toContain(part);
    });
  }

  it('an old or swapped segment file is caught by the manifest digest', () => {
    const dir = copy();
    const other = copy();
    forgeSegment(other, 'seg-000001.spx', (s) => ((s.get('fwd.values') as Uint16Array)[0] ^= 1));
    cpSync(join(other, 'seg-000001.spx'), join(dir, 'seg-000001.spx'));
    expect(openError(dir)).toMatchObject({ code: 'E_CORRUPT', message: expect.stringContaining('digest') });
  });

  it('manifests that lie are refused with typed errors, never crashes (seeded fuzz)', () => {
    const rng = new Rng(54);
    const dir = copy();
    const db = new Database(join(dir, 'spladex.db'));
    const good = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'manifest'").get() as { value: string }).value) as Record<string, unknown>;
    db.close();
    const junk = (): unknown => [null, -1, 1.5, 'x', '../../etc/passwd', [], {}, true, 2 ** 40, 'seg-000001.spx'][rng.int(10)];
    const mutate = (value: unknown, depth: number): unknown => {
      if (rng.next() < 0.15) return junk();
      if (Array.isArray(value)) {
        const out = value.map((v) => mutate(v, depth + 1));
        if (rng.next() < 0.2) out.push(out[0]);
        return out;
      }
      if (value !== null && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) if (rng.next() > 0.1) out[k] = depth < 4 ? mutate(v, depth + 1) : v;
        return out;
      }
      return value;
    };
    let refused = 0;
    for (let i = 0; i < 150; i++) {
      const manifest = mutate(good, 0) as Record<string, unknown>;
      rewriteManifest(dir, (m) => {
        for (const key of Object.keys(m)) delete m[key];
        Object.assign(m, manifest);
      });
      const error = openError(dir);
      if (error === undefined) continue;
      expect(isSpladexError(error) && ['E_CORRUPT', 'E_NOT_AN_INDEX', 'E_FORMAT_VERSION'].includes(error.code), String((error as Error).stack)).toBe(true);
      refused++;
    }
    expect(refused).toBeGreaterThan(100);
  });

  it('delete bitmaps that lie are refused', () => {
    const cases: Array<(blob: Buffer) => Buffer> = [(b) => b.subarray(0, b.length - 1), (b) => Buffer.concat([b, Buffer.from([0, 0, 0, 0])]), () => Buffer.from('not a bitmap')];
    for (const damage of cases) {
      const dir = copy();
      const db = new Database(join(dir, 'spladex.db'));
      const row = db.prepare('SELECT segment, bitmap FROM deletes LIMIT 1').get() as { segment: number; bitmap: Buffer };
      const blob = damage(row.bitmap);
      db.prepare('UPDATE deletes SET bitmap = ?, crc = ? WHERE segment = ?').run(blob, crc32(blob), row.segment);
      db.close();
      expect(openError(dir)).toMatchObject({ code: 'E_CORRUPT' });
    }
    // A bitmap claiming an id beyond its segment, with matching count.
    const dir = copy();
    rewriteManifest(dir, (m) => {
      (m.segments as Array<{ deleted: number }>)[0].deleted = 1;
    });
    const db = new Database(join(dir, 'spladex.db'));
    const blob = new roaring.RoaringBitmap32([1e6]).serialize('portable') as Buffer;
    db.prepare('INSERT OR REPLACE INTO deletes (segment, bitmap, crc) VALUES (1, ?, ?)').run(blob, crc32(blob));
    db.close();
    expect(openError(dir)).toMatchObject({ code: 'E_CORRUPT', message: expect.stringContaining('beyond') });
  });

  it('altered, missing and foreign document rows are caught on fetch, before filtering and by verify', () => {
    const edit = (sql: string, ...params: unknown[]): string => {
      const dir = copy();
      const db = new Database(join(dir, 'spladex.db'));
      db.prepare(sql).run(...params);
      db.close();
      return dir;
    };
    // Content changed without its checksum.
    let dir = edit("UPDATE documents SET content = 'forged' WHERE id = 'd10'");
    let index = SpladexIndex.open(dir);
    expect(() => index.getDocument('d10')).toThrow(expect.objectContaining({ code: 'E_CORRUPT' }));
    expect(() => index.search({ tok1: 1 }, { filter: { lang: 'en' } })).toThrow(expect.objectContaining({ code: 'E_CORRUPT' }));
    index.close();
    expect(verifyIndex(dir).problem).toMatchObject({ code: 'E_CORRUPT', location: expect.stringContaining('table documents') });
    // A row gone: a filter would silently miss the document.
    dir = edit("DELETE FROM documents WHERE id = 'd20'");
    index = SpladexIndex.open(dir);
    expect(() => index.search({ tok1: 1 }, { filter: { lang: 'en' } })).toThrow(expect.objectContaining({ code: 'E_CORRUPT' }));
    expect(() => index.getDocument('d20')).toThrow(expect.objectContaining({ code: 'E_CORRUPT' }));
    index.close();
    expect(verifyIndex(dir).problem?.message).toContain('document rows');
    // A row whose checksum was recomputed for another id: it no longer matches its segment.
    const crc = crc32(`x\u0000text of d30\u0000${'\u0001'}`);
    dir = edit("UPDATE documents SET id = 'x', metadata = NULL, crc = ? WHERE id = 'd30'", crc);
    expect(verifyIndex(dir).problem?.message).toContain('does not match entry');
  });

  it('verify reports leftovers of interrupted writers as notes, not damage', () => {
    const dir = copy();
    // A writer killed before its commit leaves its new segment under a temporary name.
    writeFileSync(join(dir, 'seg-000009.spx.tmp-4321-1700000000000'), 'partial');
    writeFileSync(join(dir, 'spladex.lock'), JSON.stringify({ pid: 2 ** 22 + 4321, host: hostname(), command: 'spladex add', since: 'x' }));
    const report = verifyIndex(dir);
    expect(report.ok).toBe(true);
    expect(report.notes.join('\n')).toContain('seg-000009.spx.tmp-4321-1700000000000');
    expect(report.notes.join('\n')).toContain('lock');
    // The next writer removes the debris.
    const writer = SpladexIndex.open(dir, { readonly: false });
    return writer.delete(['d1']).then(() => {
      writer.close();
      expect(readdirSync(dir)).not.toContain('seg-000009.spx.tmp-4321-1700000000000');
    });
  });
});
