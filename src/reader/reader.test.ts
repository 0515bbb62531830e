import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { bruteForceTopK, randomCorpus } from '../../test/helpers/random-corpus.js';
import { expectSameRanking } from '../../test/helpers/ranking.js';
import { isSpladexError } from '../errors.js';
import { readDocuments } from '../io/documents.js';
import { LOSSLESS_BUILD, type BuildOptions } from '../segment/options.js';
import { LOSSLESS_SEARCH } from '../query/options.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import type { DocumentInput } from '../types.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => join(scratch, `idx-${++counter}`);

describe('exact search', () => {
  it('equals an independent brute-force computation', async () => {
    const { documents, queries } = randomCorpus({ docs: 600, queries: 40, vocabulary: 300, seed: 1 });
    const index = await SpladexIndex.build(documents, { forwardValues: 'f32' });
    try {
      for (const query of queries) {
        for (const k of [1, 10, 50]) expectSameRanking(index.search(query, { k, mode: 'exhaustive' }), bruteForceTopK(documents, query, k));
      }
    } finally {
      index.close();
    }
  });
});

describe('pruned search with lossless settings equals exact search (differential)', () => {
  const configurations: Array<[string, BuildOptions]> = [
    ['k-means, f16', {}],
    ['k-means, u8, small centroid fraction', { forwardValues: 'u8', centroidFraction: 0.02 }],
    ['fixed-size blocks, f32', { blocking: 'fixed-size', blockSize: 7, forwardValues: 'f32' }],
    ['k-means, large fraction, doc cut 3', { centroidFraction: 0.5, kmeansDocCut: 3 }],
  ];
  for (const [name, options] of configurations) {
    it(name, async () => {
      for (const seed of [2, 3]) {
        const { documents, queries } = randomCorpus({ docs: 500, queries: 30, vocabulary: 200, seed, decimals: 2 });
        const index = await SpladexIndex.build(documents, { ...LOSSLESS_BUILD, ...options, seed });
        try {
          for (const query of queries) {
            for (const k of [1, 5, 20]) {
              const exact = index.search(query, { k, mode: 'exhaustive' });
              const pruned = index.search(query, { k, ...LOSSLESS_SEARCH });
              expect(pruned).toEqual(exact);
            }
          }
        } finally {
          index.close();
        }
      }
    });
  }

  it('approximate results are true scores of real matches with default settings', async () => {
    const { documents, queries } = randomCorpus({ docs: 800, queries: 30, vocabulary: 300, seed: 9 });
    const index = await SpladexIndex.build(documents, { nPostings: 20 });
    try {
      for (const query of queries) {
        const exact = new Map(index.search(query, { k: 800, mode: 'exhaustive' }).map((h) => [h.id, h.score]));
        const hits = index.search(query, { k: 10 });
        expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
        for (const hit of hits) expect(exact.get(hit.id)).toBe(hit.score);
      }
    } finally {
      index.close();
    }
  });
});

describe('block summaries', () => {
  it('never underestimate a document of their block when nothing is trimmed', async () => {
    const { documents } = randomCorpus({ docs: 300, queries: 0, vocabulary: 150, seed: 4 });
    const index = await SpladexIndex.build(documents, { ...LOSSLESS_BUILD, forwardValues: 'f32' });
    try {
      const segment = (index as unknown as { segments: Array<{ segment: import('../segment/segment.js').Segment }> }).segments[0].segment;
      const { inverted: inv, forward: fwd } = segment;
      for (let t = 0; t < segment.meta.nTerms; t++) {
        const summary = new Map<string, number>();
        for (let b = inv.listBlockOffsets[t]; b < inv.listBlockOffsets[t + 1]; b++) {
          for (let e = inv.summaryOffsets[b]; e < inv.summaryOffsets[b + 1]; e++) summary.set(`${b}:${inv.summaryTerms[e]}`, inv.summaryCodes[e] * inv.blockScales[b]);
        }
        for (let b = inv.listBlockOffsets[t]; b < inv.listBlockOffsets[t + 1]; b++) {
          for (let p = inv.blockPostingOffsets[b]; p < inv.blockPostingOffsets[b + 1]; p++) {
            const d = inv.postingDocs[p];
            for (let j = fwd.offsets[d]; j < fwd.offsets[d + 1]; j++) {
              const bound = summary.get(`${b}:${fwd.terms[j]}`);
              expect(bound).toBeDefined();
              expect(bound!).toBeGreaterThanOrEqual((fwd.values as Float32Array)[j]);
            }
          }
        }
      }
    } finally {
      index.close();
    }
  });
});

describe('build', () => {
  it('is deterministic for a seed', async () => {
    const { documents } = randomCorpus({ docs: 400, queries: 0, vocabulary: 200, seed: 5 });
    const a = freshDir();
    const b = freshDir();
    await buildIndex(documents, a, { seed: 7 });
    await buildIndex(documents, b, { seed: 7 });
    const segmentFile = readdirSync(a).find((f) => f.endsWith('.spx'))!;
    const meta = (dir: string): Buffer => readFileSync(join(dir, segmentFile));
    expect(meta(a).equals(meta(b))).toBe(true);
  });

  it('stores empty documents, counts them, and never returns them', async () => {
    const documents: DocumentInput[] = [
      { id: 'a', vector: { x: 1 } },
      { id: 'empty', vector: {} },
      { id: 'b', vector: { x: 2, y: 1 } },
    ];
    const dir = freshDir();
    const summary = await buildIndex(documents, dir);
    expect(summary.documents).toBe(3);
    expect(summary.emptyDocuments).toBe(1);
    const index = SpladexIndex.open(dir);
    try {
      expect(index.search({ x: 1, y: 1 }, { k: 10 }).map((h) => h.id)).toEqual(['b', 'a']);
      expect(index.search({ x: 1 }, { k: 10, mode: 'exhaustive' }).map((h) => h.id)).toEqual(['b', 'a']);
      expect(index.getDocument('empty')).toEqual({ id: 'empty' });
      expect(index.info().documents).toBe(3);
    } finally {
      index.close();
    }
  });

  it('stores content and metadata', async () => {
    const dir = freshDir();
    await buildIndex([{ id: 7, vector: { x: 1 }, content: 'seven', metadata: { lang: 'en' } }], dir);
    const index = SpladexIndex.open(dir);
    expect(index.getDocument('7')).toEqual({ id: '7', content: 'seven', metadata: { lang: 'en' } });
    index.close();
  });

  it('accepts vocabularies beyond 65,536 terms', async () => {
    const documents: DocumentInput[] = [];
    for (let i = 0; i < 700; i++) {
      const vector: Record<string, number> = {};
      for (let j = 0; j < 100; j++) vector[`t${i * 100 + j}`] = 1 + (j % 7);
      vector.shared = 1 + (i % 5);
      documents.push({ id: `d${i}`, vector });
    }
    const index = await SpladexIndex.build(documents, {});
    try {
      expect(index.info().vocabularySize).toBe(70_001);
      // t69999 is term j = 99 of document 699: weight 1 + (99 mod 7) = 2.
      expect(index.search({ t69999: 1 }, { k: 1 })).toEqual([{ id: 'd699', score: 2 }]);
    } finally {
      index.close();
    }
  });
});

describe('bad input', () => {
  const write = (lines: string[]): string => {
    const path = join(scratch, `input-${++counter}.jsonl`);
    writeFileSync(path, lines.join('\n') + '\n');
    return path;
  };
  const cases: Array<[string, string, string]> = [
    ['invalid JSON', '{"id": "x", "vector": {', 'E_INPUT_JSON'],
    ['missing id', '{"vector": {"a": 1}}', 'E_INPUT_ID'],
    ['non-finite weight', '{"id": "x", "vector": {"a": 1e400}}', 'E_INPUT_VECTOR'],
    ['negative weight', '{"id": "x", "vector": {"a": -0.5}}', 'E_INPUT_VECTOR'],
    ['weight that is not a number', '{"id": "x", "vector": {"a": "0.5"}}', 'E_INPUT_VECTOR'],
    ['vector that is not an object', '{"id": "x", "vector": [1, 2]}', 'E_INPUT_VECTOR'],
    ['duplicate id', '{"id": "a", "vector": {"b": 1}}', 'E_INPUT_DUPLICATE_ID'],
  ];
  for (const [name, line, code] of cases) {
    it(`${name} stops the build with ${code} naming line 3, and leaves nothing behind`, async () => {
      const path = write(['{"id": "a", "vector": {"x": 1}}', '', line, '{"id": "z", "vector": {"x": 2}}']);
      const out = freshDir();
      const error = await buildIndex(readDocuments(path), out, { sourceLabel: path }).catch((e: unknown) => e);
      expect(isSpladexError(error, code as never)).toBe(true);
      expect((error as Error).message).toContain(`${path}:3`);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(scratch).filter((f) => f.includes('.tmp-'))).toEqual([]);
    });
  }

  it('--skip-invalid indexes the rest and reports what was skipped', async () => {
    const path = write(['{"id": "a", "vector": {"x": 1}}', 'nonsense', '{"id": "a", "vector": {"x": 3}}', '{"id": "b", "vector": {"x": -1}}', '{"id": "c", "vector": {"x": 2}}']);
    const skipped: Array<{ line: number; code: string }> = [];
    const onSkip = (s: { line: number; code: string }): number => skipped.push(s);
    const out = freshDir();
    const summary = await buildIndex(readDocuments(path, { skipInvalid: true, onSkip }), out, { skipInvalid: true, onSkip });
    expect(summary.documents).toBe(2);
    expect(skipped.map((s) => [s.line, s.code])).toEqual([
      [2, 'E_INPUT_JSON'],
      [3, 'E_INPUT_DUPLICATE_ID'],
      [4, 'E_INPUT_VECTOR'],
    ]);
  });

  it('non-UTF-8 input is rejected with its line', async () => {
    const path = join(scratch, 'latin1.jsonl');
    writeFileSync(path, Buffer.concat([Buffer.from('{"id": "a", "vector": {"x": 1}}\n{"id": "b", "vector": {"caf'), Buffer.from([0xe9]), Buffer.from('": 1}}\n')]));
    const error = await buildIndex(readDocuments(path), freshDir()).catch((e: unknown) => e);
    expect(isSpladexError(error, 'E_INPUT_ENCODING')).toBe(true);
    expect((error as Error).message).toContain(':2');
  });

  it('weights beyond half precision ask for f32 storage', async () => {
    const error = await buildIndex([{ id: 'a', vector: { x: 70000 } }], freshDir()).catch((e: unknown) => e);
    expect(isSpladexError(error, 'E_INPUT_LIMIT')).toBe(true);
    const summary = await buildIndex([{ id: 'a', vector: { x: 70000 } }], freshDir(), { forwardValues: 'f32' });
    expect(summary.documents).toBe(1);
  });
});

describe('storage', () => {
  it('refuses to overwrite unless asked, and an interrupted rebuild keeps the old index', async () => {
    const dir = freshDir();
    await buildIndex([{ id: 'old', vector: { x: 1 } }], dir);
    await expect(buildIndex([{ id: 'new', vector: { x: 1 } }], dir)).rejects.toMatchObject({ code: 'E_INDEX_EXISTS' });
    async function* failing(): AsyncGenerator<DocumentInput> {
      yield { id: 'new', vector: { x: 1 } };
      throw new Error('disk on fire');
    }
    await expect(buildIndex(failing(), dir, { overwrite: true })).rejects.toThrow('disk on fire');
    const index = SpladexIndex.open(dir);
    expect(index.search({ x: 1 }).map((h) => h.id)).toEqual(['old']);
    index.close();
    await buildIndex([{ id: 'new', vector: { x: 1 } }], dir, { overwrite: true });
    const rebuilt = SpladexIndex.open(dir);
    expect(rebuilt.search({ x: 1 }).map((h) => h.id)).toEqual(['new']);
    rebuilt.close();
  });

  it('refuses an unknown format version with a clear error', async () => {
    const dir = freshDir();
    await buildIndex([{ id: 'a', vector: { x: 1 } }], dir);
    const db = new Database(join(dir, 'spladex.db'));
    const { value } = db.prepare("SELECT value FROM meta WHERE key = 'manifest'").get() as { value: string };
    const manifest = JSON.parse(value);
    manifest.formatVersion = 99;
    const text = JSON.stringify(manifest);
    const { crc32 } = await import('node:zlib');
    db.prepare("UPDATE meta SET value = ?, crc = ? WHERE key = 'manifest'").run(text, crc32(text));
    db.close();
    expect(() => SpladexIndex.open(dir)).toThrow(/format version 99 is not supported/);
  });

  it('refuses a path that is not an index', () => {
    const dir = freshDir();
    expect(() => SpladexIndex.open(dir)).toThrow(expect.objectContaining({ code: 'E_NOT_AN_INDEX' }));
  });

  it('round-trips through save()', async () => {
    const { documents, queries } = randomCorpus({ docs: 200, queries: 5, vocabulary: 100, seed: 6 });
    const built = await SpladexIndex.build(documents, {});
    const dir = freshDir();
    built.save(dir);
    const reopened = SpladexIndex.open(dir);
    try {
      for (const q of queries) expect(reopened.searchBatch([q])).toEqual(built.searchBatch([q]));
      expect(reopened.getDocument('d3')?.metadata).toEqual({ n: 3, even: false });
    } finally {
      built.close();
      reopened.close();
    }
  });
});
