/**
 * `spladex export-ciff` and `spladex import-ciff` through the built CLI, checked against an
 * independent CIFF implementation: PISA's `ciff` crate from crates.io (ciff2pisa reads CIFF into
 * PISA's uncompressed binary collection, pisa2ciff writes CIFF from one). .ci/run installs it into
 * bench-data/ciff-tools (`cargo install ciff`) and sets SPLADEX_CIFF_TOOLS; locally the peer tests
 * skip, saying so, when it is absent — in CI (CI=true) its absence fails.
 *
 * (a) ciff2pisa reads what spladex exported: the PISA files hold exactly the input's live
 *     documents, impacts round(f16(w) × 100), terms in byte order, ids and lengths;
 * (b) spladex imports what pisa2ciff wrote, from a PISA collection made here: exact scores;
 * (c) round trips (spladex alone, and through both of PISA's converters): exact top-10 ids and
 *     scores within the quantisation bound, the same results either way.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roundToHalf } from '../src/util/f16.js';
import { Rng } from '../src/util/rng.js';
import { hasBuild, runCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOOLS = process.env.SPLADEX_CIFF_TOOLS ?? join(ROOT, 'bench-data/ciff-tools/bin');
const hasPeer = existsSync(join(TOOLS, 'ciff2pisa')) && existsSync(join(TOOLS, 'pisa2ciff'));
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
if (!hasPeer && !inCi) console.log(`CIFF peer tests skipped: PISA's ciff2pisa/pisa2ciff not found in ${TOOLS} (cargo install --root bench-data/ciff-tools ciff@0.3.1, or set SPLADEX_CIFF_TOOLS)`);

const dir = mkdtempSync(join(tmpdir(), 'spladex-ciff-cli-'));
const DELETED = ['d3', 'd17', 'd100'];
const SCALE = 100;

interface Hit {
  id: string;
  score: number;
}

function ok(args: string[]): string {
  const result = runCli(args);
  expect(result.status, `spladex ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

function peer(tool: string, args: string[]): void {
  execFileSync(join(TOOLS, tool), args, { stdio: 'pipe', timeout: 60_000 });
}

/** Exact search results of every query, one array of hits per query. */
function exactHits(index: string, k: number): Hit[][] {
  return ok(['search', index, '--queries', join(dir, 'syn/queries.jsonl'), '--exact', '--k', String(k), '--format', 'json'])
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { hits: Hit[] }).hits);
}

/** A PISA binary collection: a sequence is a u32 length, then that many u32 (little-endian). */
function readSequences(path: string): number[][] {
  const bytes = readFileSync(path);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const out: number[][] = [];
  for (let at = 0; at < words.length; ) {
    const n = words[at++];
    out.push(Array.from(words.subarray(at, at + n)));
    at += n;
  }
  return out;
}

function writeSequences(path: string, sequences: number[][]): void {
  const words = sequences.flatMap((s) => [s.length, ...s]);
  writeFileSync(path, Buffer.from(Uint32Array.from(words).buffer));
}

const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').slice(0, -1);
const queryBound = (query: Record<string, number>, maxWeight: number): number => Object.values(query).reduce((s, w) => s + w, 0) * (0.5 / SCALE + 2 * maxWeight * 2 ** -11);

describe.skipIf(!hasBuild)('CIFF export and import (CLI)', () => {
  let documents: Array<{ id: string; vector: Record<string, number> }>;
  let queries: Array<Record<string, number>>;
  let maxWeight: number;

  beforeAll(() => {
    ok(['synth', '--out', join(dir, 'syn'), '--docs', '600', '--queries', '15', '--avg-doc-terms', '40', '--quiet']);
    documents = lines(join(dir, 'syn/documents.jsonl')).map((l) => JSON.parse(l) as { id: string; vector: Record<string, number> });
    queries = lines(join(dir, 'syn/queries.jsonl')).map((l) => (JSON.parse(l) as { vector: Record<string, number> }).vector);
    maxWeight = Math.max(...documents.flatMap((d) => Object.values(d.vector)));
    ok(['index', join(dir, 'syn/documents.jsonl'), '--out', join(dir, 'idx'), '--calibration-sample', '0', '--quiet']);
    ok(['delete', join(dir, 'idx'), '--ids', DELETED.join(',')]);
    const summary = JSON.parse(ok(['export-ciff', join(dir, 'idx'), '--out', join(dir, 'idx.ciff'), '--json', '--quiet'])) as { documents: number; scale: number };
    expect(summary).toMatchObject({ documents: 600 - DELETED.length, scale: SCALE });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('(c) spladex alone: import-ciff of the export gives the exact top-10, scores within the quantisation bound', () => {
    const imported = JSON.parse(ok(['import-ciff', join(dir, 'idx.ciff'), join(dir, 'back'), '--calibration-sample', '0', '--json', '--quiet'])) as { documents: number; ciff: { scale: number; scaleSource: string } };
    expect(imported).toMatchObject({ documents: 600 - DELETED.length, ciff: { scale: SCALE, scaleSource: 'header' } });
    const original = exactHits(join(dir, 'idx'), 50);
    const back = exactHits(join(dir, 'back'), 10);
    expect(back.length).toBe(queries.length);
    let sameIds = 0;
    back.forEach((hits, q) => {
      const bound = queryBound(queries[q], maxWeight);
      const truth = new Map(original[q].map((h) => [h.id, h.score]));
      const tenth = original[q][9].score;
      expect(hits.length).toBe(10);
      hits.forEach((hit, i) => {
        expect(DELETED).not.toContain(hit.id);
        // Each score within the bound of the same document's original score …
        expect(Math.abs(hit.score - (truth.get(hit.id) ?? -Infinity))).toBeLessThanOrEqual(bound);
        // … and a document only enters the top 10 if it was within twice the bound of it.
        expect(truth.get(hit.id)!).toBeGreaterThanOrEqual(tenth - 2 * bound);
        if (hit.id === original[q][i].id) sameIds++;
      });
    });
    expect(sameIds).toBeGreaterThanOrEqual(0.95 * 10 * queries.length);
  });

  it('a truncated or corrupt file is E_CIFF (exit 2) naming the byte offset, and writes nothing', () => {
    const whole = readFileSync(join(dir, 'idx.ciff'));
    writeFileSync(join(dir, 'cut.ciff'), whole.subarray(0, Math.floor(whole.length / 2)));
    const cut = runCli(['import-ciff', join(dir, 'cut.ciff'), join(dir, 'cut'), '--quiet']);
    expect(cut.status).toBe(2);
    expect(cut.stderr).toMatch(/^spladex: error \[E_CIFF\]: \S+cut\.ciff @\d+: truncated CIFF file: postings list \d+ of \d+ needs \d+ bytes from byte \d+/);
    expect(existsSync(join(dir, 'cut'))).toBe(false);
    writeFileSync(join(dir, 'junk.ciff'), Buffer.from('this is not a CIFF file at all, only some text'));
    const junk = runCli(['import-ciff', join(dir, 'junk.ciff'), join(dir, 'junk'), '--quiet']);
    expect(junk.status).toBe(2);
    expect(junk.stderr).toMatch(/\[E_CIFF\]: .*junk\.ciff @0: /);
    expect(runCli(['export-ciff', join(dir, 'idx'), '--out', join(dir, 'x.ciff'), '--scale', '0']).stderr).toContain('--scale must be in (0, 1e9], got 0');
  });

  describe.skipIf(!hasPeer && !inCi)("against PISA's CIFF converters (crates.io ciff)", () => {
    it('the peer is installed (CI installs it with .ci/run)', () => {
      expect(hasPeer, `ciff2pisa and pisa2ciff in ${TOOLS}`).toBe(true);
    });

    it('(a) ciff2pisa reads the export: exactly the live documents, impacts, terms in byte order, ids and lengths', () => {
      mkdirSync(join(dir, 'pisa'));
      peer('ciff2pisa', ['--ciff-file', join(dir, 'idx.ciff'), '--output', join(dir, 'pisa/idx')]);
      const live = documents.filter((d) => !DELETED.includes(d.id));
      const postings = new Map<string, { docs: number[]; freqs: number[] }>();
      const sizes = live.map(() => 0);
      live.forEach((doc, docid) => {
        for (const [term, weight] of Object.entries(doc.vector)) {
          const tf = Math.round(roundToHalf(weight) * SCALE);
          if (tf === 0) continue;
          if (!postings.has(term)) postings.set(term, { docs: [], freqs: [] });
          postings.get(term)!.docs.push(docid);
          postings.get(term)!.freqs.push(tf);
          sizes[docid] += tf;
        }
      });
      const terms = [...postings.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(lines(join(dir, 'pisa/idx.terms'))).toEqual(terms);
      expect(lines(join(dir, 'pisa/idx.documents'))).toEqual(live.map((d) => d.id));
      const [count, ...docLists] = readSequences(join(dir, 'pisa/idx.docs'));
      expect(count).toEqual([live.length]);
      expect(docLists).toEqual(terms.map((t) => postings.get(t)!.docs));
      expect(readSequences(join(dir, 'pisa/idx.freqs'))).toEqual(terms.map((t) => postings.get(t)!.freqs));
      expect(readSequences(join(dir, 'pisa/idx.sizes'))).toEqual([sizes]);
    });

    it('(b) import-ciff of what pisa2ciff wrote from a PISA collection: every document, exact scores', () => {
      // A PISA collection made here, not by spladex: 300 documents, integer term frequencies.
      const rng = new Rng(11);
      const nDocs = 300;
      const terms = Array.from({ length: 120 }, (_, t) => `term${String(t).padStart(3, '0')}`);
      const tf = Array.from({ length: nDocs }, () => new Map<number, number>());
      tf.forEach((doc, d) => {
        for (let i = 0; i < 2 + rng.int(15); i++) doc.set(Math.floor(rng.next() ** 2 * terms.length), 1 + rng.int(20));
        doc.set(d % terms.length, 1 + rng.int(3));
      });
      const lists = terms.map((_, t) => tf.flatMap((doc, d) => (doc.has(t) ? [d] : [])));
      mkdirSync(join(dir, 'made'));
      const base = join(dir, 'made/coll');
      writeSequences(`${base}.docs`, [[nDocs], ...lists]);
      writeSequences(`${base}.freqs`, lists.map((docs, t) => docs.map((d) => tf[d].get(t)!)));
      writeSequences(`${base}.sizes`, [tf.map((doc) => [...doc.values()].reduce((a, b) => a + b, 0))]);
      writeFileSync(`${base}.terms`, terms.map((t) => `${t}\n`).join(''));
      writeFileSync(`${base}.documents`, tf.map((_, d) => `pisa-${d}\n`).join(''));
      peer('pisa2ciff', ['-c', base, '-t', `${base}.terms`, '-d', `${base}.documents`, '-o', join(dir, 'made.ciff'), '--description', 'a PISA collection']);
      const summary = JSON.parse(ok(['import-ciff', join(dir, 'made.ciff'), join(dir, 'made-idx'), '--calibration-sample', '0', '--json', '--quiet'])) as { documents: number; ciff: Record<string, unknown> };
      expect(summary).toMatchObject({ documents: nDocs, ciff: { scale: 1, scaleSource: 'none', postingsLists: terms.length, description: 'a PISA collection' } });
      const queryVectors = Array.from({ length: 10 }, () => {
        const query: Record<string, number> = {};
        for (let i = 0; i < 4; i++) query[terms[Math.floor(rng.next() ** 2 * terms.length)]] = 0.5 * (1 + rng.int(4));
        return query;
      });
      writeFileSync(join(dir, 'made-queries.jsonl'), queryVectors.map((vector, q) => `${JSON.stringify({ id: `q${q}`, vector })}\n`).join(''));
      const results = ok(['search', join(dir, 'made-idx'), '--queries', join(dir, 'made-queries.jsonl'), '--exact', '--k', '10', '--format', 'json'])
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { hits: Hit[] }).hits);
      expect(results.length).toBe(queryVectors.length);
      queryVectors.forEach((query, q) => {
        // Integer tf ≤ 20 and weights in halves are exact in f16 and f32: scores are exact.
        const expected = tf
          .map((doc, d) => ({ id: `pisa-${d}`, d, score: Object.entries(query).reduce((s, [term, w]) => s + w * (doc.get(terms.indexOf(term)) ?? 0), 0) }))
          .filter((h) => h.score > 0)
          .sort((a, b) => b.score - a.score || a.d - b.d)
          .slice(0, 10)
          .map(({ id, score }) => ({ id, score }));
        expect(results[q]).toEqual(expected);
      });
    });

    it('(c) through both converters (export → ciff2pisa → pisa2ciff → import --scale 100): the same index as spladex alone', () => {
      const base = join(dir, 'pisa/idx');
      peer('pisa2ciff', ['-c', base, '-t', `${base}.terms`, '-d', `${base}.documents`, '-o', join(dir, 'via-pisa.ciff')]);
      ok(['import-ciff', join(dir, 'via-pisa.ciff'), join(dir, 'via-pisa'), '--scale', String(SCALE), '--calibration-sample', '0', '--quiet']);
      expect(exactHits(join(dir, 'via-pisa'), 10)).toEqual(exactHits(join(dir, 'back'), 10));
      // Exporting the imported index again gives the same postings: the quantisation is idempotent.
      ok(['export-ciff', join(dir, 'via-pisa'), '--out', join(dir, 'again.ciff'), '--quiet']);
      mkdirSync(join(dir, 'again'));
      peer('ciff2pisa', ['--ciff-file', join(dir, 'again.ciff'), '--output', join(dir, 'again/idx')]);
      for (const part of ['docs', 'freqs', 'sizes', 'terms', 'documents']) expect(readFileSync(join(dir, `again/idx.${part}`)).equals(readFileSync(`${base}.${part}`)), part).toBe(true);
    });
  });
});
