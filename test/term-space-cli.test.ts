/**
 * Term spaces through the CLI: an index records its space (`--term-space` for vectors, the encoder's
 * for text), query vectors and added documents of another space are refused with E_TERM_SPACE
 * (exit 2) unless `--allow-term-space-mismatch`, adding vectors never changes the stored IDF table,
 * and indexes written before the field existed behave as `custom`. The real-data case (SciFact's
 * SPLADE query vectors against a BM25 index of SciFact documents) runs when ../shared/data exists.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { scratchDirectory } from './helpers/scratch.js';
import { hasShared, runCli, SHARED } from './helpers/cli.js';

const { dir, file } = scratchDirectory('spladex-term-space-');

const WORDS = ['sleep', 'loss', 'caused', 'adults', 'coffee', 'studies', 'effects', 'disease', 'patients', 'running', 'memory', 'heart', 'children', 'cells', 'brain', 'protein'];

/** A small deterministic English corpus (documents d0…d39, 6 words each). */
function corpus(): string {
  const lines: string[] = [];
  for (let d = 0; d < 40; d++) {
    const words = Array.from({ length: 6 }, (_, i) => WORDS[(d * 7 + i * 5) % WORDS.length]);
    lines.push(JSON.stringify({ _id: `d${d}`, title: '', text: words.join(' ') }));
  }
  return lines.join('\n') + '\n';
}

/** The stored IDF record and the manifest's term space, as bytes and text in spladex.db. */
function stored(index: string): { idf: Buffer | string | undefined; termSpace: unknown } {
  const db = new Database(join(index, 'spladex.db'), { readonly: true });
  try {
    const row = (key: string): { value: Buffer | string } | undefined => db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: Buffer | string } | undefined;
    const manifest = JSON.parse(String(row('manifest')!.value)) as { termSpace?: unknown };
    return { idf: row('idf')?.value, termSpace: manifest.termSpace };
  } finally {
    db.close();
  }
}

const SPLADE_LIKE = JSON.stringify({ id: 'q1', vector: { sleep: 1.2, loss: 0.8, '##ing': 0.4, deprivation: 0.9 } });

describe('term space of a lexical index built from text', () => {
  let index: string;
  beforeAll(() => {
    index = join(dir, 'bm25');
    const built = runCli(['index', file('corpus.jsonl', corpus()), '--out', index, '--input', 'text', '--quiet', '--calibration-sample', '0']);
    expect(built.status, built.stderr).toBe(0);
  });

  it('is recorded and shown by info', () => {
    expect(stored(index).termSpace).toBe('analyzer:english-porter');
    const info = runCli(['info', index, '--json']);
    expect(JSON.parse(info.stdout).termSpace).toBe('analyzer:english-porter');
    expect(runCli(['info', index]).stdout).toMatch(/term space\s+analyzer:english-porter/);
  });

  it('refuses WordPiece query vectors in search, eval and bench (exit 2, E_TERM_SPACE), and takes them with --allow-term-space-mismatch', () => {
    const queries = file('splade-queries.jsonl', SPLADE_LIKE + '\n');
    const qrels = file('qrels.txt', 'q1 0 d1 1\n');
    for (const args of [['search', index, '--queries', queries], ['eval', index, '--queries', queries, '--qrels', qrels], ['bench', index, '--queries', queries, '--quiet']]) {
      const refused = runCli(args);
      expect(refused.status, args[0]).toBe(2);
      expect(refused.stderr).toContain('[E_TERM_SPACE]');
      expect(refused.stderr).toContain('"##ing"');
    }
    const inline = runCli(['search', index, JSON.stringify({ sleep: 1, '##ing': 1 })]);
    expect([inline.status, inline.stderr.includes('[E_TERM_SPACE]')]).toEqual([2, true]);
    const allowed = runCli(['search', index, '--queries', queries, '--format', 'json', '--allow-term-space-mismatch']);
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(JSON.parse(allowed.stdout.trim()).hits.length).toBeGreaterThan(0);
    const evaluated = runCli(['eval', index, '--queries', queries, '--qrels', qrels, '--json', '--allow-term-space-mismatch']);
    expect(evaluated.status, evaluated.stderr).toBe(0);
  });

  it('refuses a declared foreign space even for plain-looking vectors, and skips the content check for the declared own space', () => {
    const plain = file('plain.jsonl', JSON.stringify({ id: 'q', vector: { sleep: 1, loss: 1 } }) + '\n');
    const foreign = runCli(['search', index, '--queries', plain, '--term-space', 'wordpiece:bert-base-uncased']);
    expect(foreign.status).toBe(2);
    expect(foreign.stderr).toMatch(/E_TERM_SPACE.*wordpiece:bert-base-uncased.*analyzer:english-porter/);
    expect(runCli(['search', index, '--queries', plain]).status).toBe(0);
    const own = runCli(['search', index, JSON.stringify({ sleep: 1, '##ing': 1 }), '--term-space', 'analyzer:english-porter']);
    expect(own.status, own.stderr).toBe(0);
  });

  it('text queries are in the index space by construction: never refused', () => {
    const result = runCli(['search', index, 'sleep loss in adults', '--format', 'json']);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).hits[0].score).toBeGreaterThan(0);
  });

  it('refuses WordPiece documents in add and leaves the index unchanged; allowed, they never change the stored IDF table', () => {
    const copy = join(dir, 'bm25-add');
    cpSync(index, copy, { recursive: true });
    const before = stored(copy).idf;
    const docs = file('splade-docs.jsonl', [0, 1, 2].map((i) => JSON.stringify({ id: `new${i}`, vector: { sleep: 1, '##ing': 0.5, [`novel${i}`]: 2, wordpiece: 1 } })).join('\n') + '\n');
    const refused = runCli(['add', copy, docs]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('[E_TERM_SPACE]');
    expect(refused.stderr).toContain('documents');
    expect(Buffer.compare(Buffer.from(stored(copy).idf!), Buffer.from(before!))).toBe(0);
    const added = runCli(['add', copy, docs, '--allow-term-space-mismatch', '--json']);
    expect(added.status, added.stderr).toBe(0);
    const summary = JSON.parse(added.stdout);
    expect(summary.documents).toBe(3);
    expect(summary.idfTermsAdded).toBeUndefined();
    // Byte for byte: the IDF table (and its CRC in the manifest) is what the build stored.
    expect(Buffer.compare(Buffer.from(stored(copy).idf!), Buffer.from(before!))).toBe(0);
    expect(runCli(['verify', copy]).status).toBe(0);
  });
});

describe('term space of an index built from vectors', () => {
  it('defaults to custom (never checked) and records --term-space, which add and search then enforce', () => {
    const vectors = file('vectors.jsonl', Array.from({ length: 30 }, (_, d) => JSON.stringify({ id: `v${d}`, vector: { [`t${d % 7}`]: 1, [`t${(d * 3) % 11}`]: 0.5, '##x': 0.2 } })).join('\n') + '\n');
    const custom = join(dir, 'custom');
    expect(runCli(['index', vectors, '--out', custom, '--calibration-sample', '0']).status).toBe(0);
    expect(JSON.parse(runCli(['info', custom, '--json']).stdout).termSpace).toBe('custom');
    expect(runCli(['search', custom, JSON.stringify({ t1: 1 }), '--term-space', 'analyzer:english-porter']).status).toBe(0);

    const declared = join(dir, 'declared');
    const built = runCli(['index', vectors, '--out', declared, '--calibration-sample', '0', '--term-space', 'wordpiece:bert-base-uncased']);
    expect(built.status, built.stderr).toBe(0);
    expect(stored(declared).termSpace).toBe('wordpiece:bert-base-uncased');
    const more = file('more.jsonl', JSON.stringify({ id: 'm', vector: { t1: 1 } }) + '\n');
    const refused = runCli(['add', declared, more, '--term-space', 'wordpiece:other-model']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/E_TERM_SPACE.*wordpiece:other-model.*wordpiece:bert-base-uncased/);
    expect(runCli(['add', declared, more, '--term-space', 'wordpiece:bert-base-uncased']).status).toBe(0);
    const bad = runCli(['index', vectors, '--out', join(dir, 'bad-name'), '--term-space', 'has space']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('E_OPTION');
  });

  it('an index written before term spaces existed opens as custom and refuses nothing', () => {
    const fixture = join(fileURLToPath(new URL('../fixtures/compat/v0.1-commit-record/index', import.meta.url)));
    const copy = join(dir, 'compat');
    cpSync(fixture, copy, { recursive: true });
    expect(JSON.parse(runCli(['info', copy, '--json']).stdout).termSpace).toBe('custom');
    const query = JSON.stringify(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`##unknown${i}`, 1])));
    expect(runCli(['search', copy, query, '--term-space', 'wordpiece:bert-base-uncased']).status).toBe(0);
  });
});

describe.skipIf(!hasShared)('SciFact: SPLADE query vectors against a BM25 index of SciFact documents (../shared/data)', () => {
  it('refuses the SPLADE queries and accepts the BM25 ones encoded from the same topics', () => {
    const docs = readFileSync(join(SHARED, 'collections/scifact/corpus.jsonl'), 'utf8').split('\n').slice(0, 400).join('\n') + '\n';
    const index = join(dir, 'scifact-bm25');
    expect(runCli(['index', file('scifact-400.jsonl', docs), '--out', index, '--input', 'text', '--quiet', '--calibration-sample', '0']).status).toBe(0);
    const splade = join(SHARED, 'vectors/scifact-test.splade-pp-ed.queries.jsonl');
    const refused = runCli(['search', index, '--queries', splade, '--format', 'trec']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('[E_TERM_SPACE]');
    const text = runCli(['search', index, '--queries', join(SHARED, 'collections/scifact/queries.jsonl'), '--format', 'trec', '--k', '1']);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout.trim().split('\n').length).toBeGreaterThan(250);
  });
});
