import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, hasBuild, hasShared, runCli, SHARED } from './helpers/cli.js';
import { bruteForceTopK, randomCorpus } from './helpers/random-corpus.js';
import { expectSameRanking } from './helpers/ranking.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const corpus = randomCorpus({ docs: 1500, queries: 20, vocabulary: 400, seed: 21 });
const documentsPath = join(dir, 'documents.jsonl');
const queriesPath = join(dir, 'queries.jsonl');
writeFileSync(documentsPath, corpus.documents.map((d) => JSON.stringify(d)).join('\n') + '\n');
writeFileSync(queriesPath, corpus.queries.map((vector, i) => JSON.stringify({ id: `q${i}`, vector })).join('\n') + '\n');

describe.skipIf(!hasBuild)(`CLI (${CLI})`, () => {
  it('indexes, reports a summary and searches with the json contract', () => {
    const out = join(dir, 'random');
    const built = runCli(['index', documentsPath, '--out', out, '--json']);
    expect(built.status, built.stderr).toBe(0);
    const summary = JSON.parse(built.stdout);
    expect(summary).toMatchObject({ documents: 1500, skipped: 0 });
    for (const key of ['postings', 'keptPostings', 'blocks', 'bytes', 'seconds']) expect(summary).toHaveProperty(key);

    const searched = runCli(['search', out, '--queries', queriesPath, '--k', '5', '--format', 'json', '--exact']);
    expect(searched.status, searched.stderr).toBe(0);
    const lines = searched.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(20);
    let hits = 0;
    lines.forEach((line, i) => {
      expect(Object.keys(line)).toEqual(['id', 'hits']);
      expect(line.id).toBe(`q${i}`);
      const expected = bruteForceTopK(corpus.documents, corpus.queries[i], 5);
      for (const hit of line.hits) expect(Object.keys(hit)).toEqual(['id', 'score']);
      // Stored weights are half precision: scores agree with the float64 brute force to ~1e-3
      // relative, and ids agree wherever the scores are not that close to each other.
      expectSameRanking(line.hits, expected, 2e-3);
      hits += line.hits.length;
    });
    // 20 random queries over 1,500 documents: (nearly) every query has its full 5 hits.
    expect(hits).toBeGreaterThanOrEqual(90);
  });

  it('prints a TREC run and a table', () => {
    const out = join(dir, 'random');
    const trec = runCli(['search', out, '--queries', queriesPath, '--k', '3', '--format', 'trec', '--run-tag', 'mine']);
    expect(trec.status, trec.stderr).toBe(0);
    const rows = trec.stdout.trim().split('\n');
    expect(rows.length).toBeLessThanOrEqual(60);
    expect(rows[0]).toMatch(/^q0 Q0 d\d+ 1 \d+\.\d{6} mine$/);
    const table = runCli(['search', out, '{"tok1": 1, "tok2": 0.5}', '--k', '2']);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toContain('rank');
  });

  it('info reports documents, vocabulary, postings, blocks, bytes per part and build options', () => {
    const info = runCli(['info', join(dir, 'random'), '--json']);
    expect(info.status, info.stderr).toBe(0);
    const parsed = JSON.parse(info.stdout);
    expect(parsed).toMatchObject({ documents: 1500, formatVersion: 1 });
    expect(parsed.vocabularySize).toBeGreaterThan(100);
    expect(parsed.bytes.parts['fwd.values']).toBeGreaterThan(0);
    expect(parsed.build).toMatchObject({ pruning: 'global-threshold', seed: 42 });
    const text = runCli(['info', join(dir, 'random')]);
    expect(text.stdout).toContain('build options');
  });

  /** Indexes `input` with one and with two threads, expects byte-identical segments, returns the one-thread index. */
  function expectSameOnOneAndTwoThreads(input: string, name: string): string {
    const [one, two] = ['1', '2'].map((threads) => {
      const out = join(dir, `${name}${threads}`);
      expect(runCli(['index', input, '--out', out, '--threads', threads, '--n-postings', '50']).status).toBe(0);
      return out;
    });
    const file = readdirSync(one).find((f) => f.endsWith('.spx'))!;
    expect(readFileSync(join(one, file)).equals(readFileSync(join(two, file)))).toBe(true);
    return one;
  }

  it('builds identical indexes with one and two threads', () => {
    expectSameOnOneAndTwoThreads(documentsPath, 'threads');
  });

  it('builds the κ-NN graph identically on one and two threads, reports it, and turns it off with --knn 0', () => {
    // 10,000 documents: the fewest the graph build splits into two parts (one per 5,000 documents).
    const large = randomCorpus({ docs: 10_000, queries: 5, vocabulary: 400, seed: 23 });
    const input = join(dir, 'large.jsonl');
    writeFileSync(input, large.documents.map((d) => JSON.stringify(d)).join('\n') + '\n');
    const one = expectSameOnOneAndTwoThreads(input, 'knn');
    const info = JSON.parse(runCli(['info', one, '--json']).stdout);
    expect(info.build.knn).toBe(8);
    expect(info.memory.graph).toBe(10_000 * 8 * 4);
    expect(info.bytes.parts['knn.neighbors']).toBeGreaterThan(0);

    const none = join(dir, 'knn0');
    expect(runCli(['index', input, '--out', none, '--n-postings', '50', '--knn', '0']).status).toBe(0);
    const noGraph = JSON.parse(runCli(['info', none, '--json']).stdout);
    expect(noGraph.memory.graph).toBe(0);
    expect(noGraph.bytes.parts['knn.neighbors']).toBeUndefined();
    const query = JSON.stringify(large.queries[0]);
    for (const index of [one, none]) {
      for (const knn of ['0', '8']) {
        const searched = runCli(['search', index, query, '--knn', knn, '--format', 'json']);
        expect(searched.status, searched.stderr).toBe(0);
        expect(JSON.parse(searched.stdout).hits.length).toBeGreaterThan(0);
      }
    }
    expect(runCli(['search', one, query, '--knn', '65']).status).toBe(2);
  });

  it('names the file and line of bad input and exits with status 2', () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"id": "a", "vector": {"x": 1}}\n{"id": "b", "vector": {"x": "heavy"}}\n');
    const result = runCli(['index', bad, '--out', join(dir, 'bad-index')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`[E_INPUT_VECTOR]: ${bad}:2`);
    const skipped = runCli(['index', bad, '--out', join(dir, 'bad-index'), '--skip-invalid']);
    expect(skipped.status, skipped.stderr).toBe(0);
    expect(skipped.stderr).toContain('skipped line 2');
    expect(skipped.stdout).toContain('1 skipped');
  });

  it('refuses unknown options and bad option values clearly', () => {
    const result = runCli(['search', join(dir, 'random'), '{"x": 1}', '--heap-factor', '3']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--heap-factor must be in (0, 1], got 3');
    expect(runCli(['info', join(dir, 'nowhere')]).stderr).toContain('E_NOT_AN_INDEX');
  });
});

describe.skipIf(!hasBuild || !hasShared)('CLI on the Seismic toy set (../shared)', () => {
  it('indexes the 20 real SPLADE documents and finds the expected top document', () => {
    const out = join(dir, 'toy');
    const toy = join(SHARED, 'vectors/seismic-toy');
    expect(runCli(['index', join(toy, 'documents.jsonl'), '--out', out]).status).toBe(0);
    const result = runCli(['search', out, '--queries', join(toy, 'queries.jsonl'), '--format', 'json', '--k', '3']);
    expect(result.status, result.stderr).toBe(0);
    const exact = runCli(['search', out, '--queries', join(toy, 'queries.jsonl'), '--format', 'json', '--k', '3', '--exact']);
    const first = (text: string): string[] => text.trim().split('\n').map((l) => JSON.parse(l).hits[0].id);
    expect(first(result.stdout)).toEqual(first(exact.stdout));
    expect(first(result.stdout)[0]).toBe('11');
  });
});

describe.skipIf(!hasBuild)("the README's sample command", () => {
  it('indexes the bundled sample and searches it (what `npm run sample` runs after the build)', () => {
    const script = CLI.replace(/cli[\\/]main\.js$/, 'scripts/sample.js');
    const result = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('indexed 1000 documents');
    expect(result.stdout).toMatch(/rank\s+score\s+id/);
    expect(result.stdout).toMatch(/^q0 Q0 d\d+ 1 /m);
  });
});
