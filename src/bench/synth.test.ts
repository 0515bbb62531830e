import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isSpladexError } from '../errors.js';
import { AliasTable, Rng } from './prng.js';
import { SYNTH_DEFAULTS, formatWeight, readVocabFile } from './synth-model.js';
import { SyntheticCollection, synthDocuments, synthQueries } from './synth.js';
import { writeSynthetic } from './synth-write.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spladex-synth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex');

describe('Rng / AliasTable', () => {
  it('is deterministic per (seed, stream, index) and reseeds in place', () => {
    const a = new Rng(1, 2, 3);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    a.reseed(1, 2, 3);
    expect(Array.from({ length: 5 }, () => a.nextU32())).toEqual(xs);
    const b = new Rng(1, 2, 4);
    expect(b.nextU32()).not.toBe(xs[0]);
  });

  it('draws uniform floats in [0, 1) and standard normals', () => {
    const r = new Rng(7);
    let sum = 0;
    let sumN = 0;
    let sumN2 = 0;
    const n = 100_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outside++;
      sum += x;
      const z = r.normal();
      sumN += z;
      sumN2 += z * z;
    }
    expect(outside).toBe(0);
    // Standard errors: uniform mean 0.29/√n ≈ 0.0009, normal mean 0.003, variance ≈ 0.0045.
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(sumN / n)).toBeLessThan(0.02);
    expect(Math.abs(sumN2 / n - 1)).toBeLessThan(0.03);
  });

  it('alias table samples proportionally to its weights', () => {
    const t = new AliasTable([1, 0, 3, 6]);
    const r = new Rng(3);
    const counts = [0, 0, 0, 0];
    const n = 200_000;
    for (let i = 0; i < n; i++) counts[t.sample(r)]++;
    expect(counts[1]).toBe(0);
    expect(counts[0] / n).toBeCloseTo(0.1, 2);
    expect(counts[2] / n).toBeCloseTo(0.3, 2);
    expect(counts[3] / n).toBeCloseTo(0.6, 2);
  });
});

describe('formatWeight', () => {
  it('keeps 4 significant digits without trailing zeros', () => {
    expect(formatWeight(2.63088)).toBe('2.631');
    expect(formatWeight(0.2)).toBe('0.2');
    expect(formatWeight(0.123456)).toBe('0.1235');
    expect(formatWeight(0.0012345)).toBe('0.001235');
    expect(formatWeight(0.00012345)).toBe('0.0001235');
    expect(formatWeight(12.345678)).toBe('12.35');
    expect(formatWeight(1)).toBe('1');
    expect(formatWeight(1234.5)).toBe('1235');
  });
});

describe('SyntheticCollection', () => {
  it('gives the same vectors through the object, line and generator APIs, in any access order', () => {
    const opts = { docs: 50, queries: 5, seed: 11 };
    const c = new SyntheticCollection(opts);
    const q3 = c.query(3);
    const d7 = c.document(7);
    expect(JSON.parse(c.documentLine(7))).toEqual({ id: 'd7', vector: d7.vector });
    expect(JSON.parse(c.queryLine(3))).toEqual({ id: 'q3', vector: q3.vector });
    const docs = [...synthDocuments(opts)];
    expect(docs).toHaveLength(50);
    expect(docs[7]).toEqual(d7);
    const queries = [...synthQueries(opts)];
    expect(queries[3]).toEqual(q3);
    expect(q3.sourceId).toBe(c.documentId(c.querySource(3)));
  });

  it('matches the calibrated statistics', () => {
    const c = new SyntheticCollection({ docs: 3000, queries: 300, seed: 5 });
    let nnz = 0;
    let invalid = 0;
    const weights: number[] = [];
    const df = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const v = c.document(i).vector;
      for (const [t, w] of Object.entries(v)) {
        if (!(Number.isFinite(w) && w > 0)) invalid++;
        nnz++;
        weights.push(w);
        df.set(t, (df.get(t) ?? 0) + 1);
      }
    }
    expect(invalid).toBe(0);
    // Lognormal lengths with mean 120, clamped to [1, 480]: the clamp barely moves the mean.
    expect(nnz / 3000).toBeGreaterThan(114);
    expect(nnz / 3000).toBeLessThan(126);
    weights.sort((a, b) => a - b);
    const q = (p: number): number => weights[Math.floor(p * (weights.length - 1))];
    // Real SPLADE documents (seismic-toy): median 0.278, p90 1.08, max 2.63; the per-vector scale jitter widens the top a little.
    expect(q(0.5)).toBeGreaterThan(0.24);
    expect(q(0.5)).toBeLessThan(0.32);
    expect(q(0.9)).toBeGreaterThan(0.95);
    expect(q(0.9)).toBeLessThan(1.25);
    expect(q(1)).toBeLessThan(4);
    // Some very common terms: the most frequent term is in a large fraction of the documents.
    const dfs = [...df.values()].sort((a, b) => b - a);
    expect(dfs[0] / 3000).toBeGreaterThan(0.3);
    expect(dfs.length).toBeGreaterThan(5000);

    let qnnz = 0;
    let qmax = 0;
    for (let j = 0; j < 300; j++) {
      const v = c.query(j).vector;
      const ws = Object.values(v);
      qnnz += ws.length;
      qmax += Math.max(...ws);
      for (const w of ws) if (!(Number.isFinite(w) && w > 0)) invalid++;
    }
    expect(invalid).toBe(0);
    expect(qnnz / 300).toBeGreaterThan(36);
    expect(qnnz / 300).toBeLessThan(44);
    // Real MS MARCO queries: mean per-query max weight ≈ 2.72.
    expect(qmax / 300).toBeGreaterThan(2.3);
    expect(qmax / 300).toBeLessThan(3.2);
  });

  it('gives each query a few strong matches well above the bulk of the collection', () => {
    const N = 2000;
    const c = new SyntheticCollection({ docs: N, queries: 30, seed: 9 });
    const docs = Array.from({ length: N }, (_, i) => c.document(i).vector);
    let sourceInTop10 = 0;
    for (let j = 0; j < 30; j++) {
      const q = c.query(j);
      const scores = new Float64Array(N);
      for (let i = 0; i < N; i++) {
        let s = 0;
        const d = docs[i];
        for (const t in q.vector) {
          const w = d[t];
          if (w !== undefined) s += w * q.vector[t];
        }
        scores[i] = s;
      }
      const src = Number(q.sourceId.slice(1));
      let better = 0;
      for (let i = 0; i < N; i++) if (scores[i] > scores[src]) better++;
      if (better < 10) sourceInTop10++;
      const sorted = Float64Array.from(scores).sort().reverse();
      const median = sorted[N >> 1];
      // The best match is clearly separated from the typical document and from the 100th.
      expect(sorted[0]).toBeGreaterThan(5 * median + 1);
      expect(sorted[0]).toBeGreaterThan(2 * sorted[99]);
    }
    expect(sourceInTop10).toBeGreaterThanOrEqual(27);
  });

  it('uses a real vocabulary, skipping special tokens', async () => {
    // Popularity follows vocabulary order, so the two awkward tokens come first to be drawn often.
    const vocab = ['[PAD]', '[unused0]', '[CLS]', '__proto__', 'quote"back\\slash', ...Array.from({ length: 1500 }, (_, i) => `w${i}`)];
    const c = new SyntheticCollection({ docs: 200, queries: 3, vocab, avgDocTerms: 60, topicTerms: 50 });
    expect(c.vocabularySize).toBe(1502);
    const allowed = new Set(vocab.slice(3));
    let sawEscaped = false;
    let sawProto = false;
    for (let i = 0; i < 200; i++) {
      const parsed = JSON.parse(c.documentLine(i)) as { vector: Record<string, number> };
      for (const t of Object.keys(parsed.vector)) {
        expect(allowed.has(t)).toBe(true);
        if (t.includes('"')) sawEscaped = true;
      }
      const object = c.document(i).vector;
      expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
      if (Object.hasOwn(object, '__proto__')) {
        sawProto = true;
        expect(object['__proto__']).toBe(parsed.vector['__proto__']);
      }
    }
    // Both are near-certain with 200 × 60 draws over 1,502 tokens; they guard JSON escaping and own keys.
    expect(sawEscaped).toBe(true);
    expect(sawProto).toBe(true);

    const path = join(dir, 'vocab.txt');
    await writeFile(path, 'a\r\nb\r\nc\r\nb\r\n');
    await expect(readVocabFile(path)).rejects.toMatchObject({ code: 'E_INPUT_DUPLICATE_ID', line: 4 });
    await writeFile(path, 'a\nb\n');
    expect(await readVocabFile(path)).toEqual(['a', 'b']);
    await expect(readVocabFile(join(dir, 'missing.txt'))).rejects.toMatchObject({ code: 'E_IO' });
  });

  it('rejects out-of-range options with E_OPTION', () => {
    for (const bad of [{ docs: 0 }, { seed: -1 }, { avgDocTerms: Number.NaN }, { topicalFraction: 1.5 }, { topicTerms: 4 }, { vocab: ['a', 'b'] }, { topics: 1_000_000 }, { docIdPrefix: 'd ' }]) {
      let err: unknown;
      try {
        new SyntheticCollection(bad);
      } catch (e) {
        err = e;
      }
      expect(isSpladexError(err, 'E_OPTION')).toBe(true);
    }
    expect(SYNTH_DEFAULTS.avgDocTerms).toBe(120);
  });
});

describe('writeSynthetic', () => {
  it('writes byte-identical files for the same seed and different ones for another seed', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const c = join(dir, 'c');
    const progress: number[] = [];
    const ra = await writeSynthetic({ outDir: a, docs: 500, queries: 20, seed: 3, onProgress: (done) => progress.push(done) });
    await writeSynthetic({ outDir: b, docs: 500, queries: 20, seed: 3 });
    await writeSynthetic({ outDir: c, docs: 500, queries: 20, seed: 4 });
    for (const f of ['documents.jsonl', 'queries.jsonl', 'qrels.txt']) expect(await sha(join(a, f))).toBe(await sha(join(b, f)));
    expect(await sha(join(a, 'documents.jsonl'))).not.toBe(await sha(join(c, 'documents.jsonl')));
    expect(progress[progress.length - 1]).toBe(520);

    const lines = (await readFile(ra.documentsPath, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(500);
    expect(ra.bytes).toBeGreaterThan(0);
    const ids = new Set<string>();
    for (const l of lines) {
      const o = JSON.parse(l) as { id: string; vector: Record<string, number> };
      ids.add(o.id);
      for (const w of Object.values(o.vector)) expect(Number.isFinite(w) && w > 0).toBe(true);
    }
    expect(ids.size).toBe(500);
    const qrels = (await readFile(join(a, 'qrels.txt'), 'utf8')).trimEnd().split('\n');
    expect(qrels).toHaveLength(20);
    expect(qrels[0]).toMatch(/^q0 0 d\d+ 1$/);
  });

  it('refuses to overwrite unless asked', async () => {
    const out = join(dir, 'a');
    await expect(writeSynthetic({ outDir: out, docs: 10, queries: 1 })).rejects.toMatchObject({ code: 'E_IO' });
    await expect(writeSynthetic({ outDir: out, docs: 10, queries: 1, overwrite: true, qrels: false })).resolves.toMatchObject({ docs: 10 });
  });
});
