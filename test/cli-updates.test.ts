/** CLI contracts of add, delete, compact, verify and search --filter. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpladexIndex } from '../src/spladex-index.js';
import type { DocumentInput } from '../src/types.js';
import { Rng } from '../src/util/rng.js';
import { CLI, hasBuild, runCli } from './helpers/cli.js';
import { makeDocuments, matchesFilter } from './helpers/index-model.js';
import { bruteForceTopK } from './helpers/random-corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-cli-updates-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rng = new Rng(91);
const write = (name: string, docs: DocumentInput[]): string => {
  const path = join(dir, name);
  writeFileSync(path, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return path;
};
const first = makeDocuments(rng, Array.from({ length: 400 }, (_, i) => `d${i}`));
const second = makeDocuments(rng, [...Array.from({ length: 100 }, (_, i) => `d${400 + i}`), 'd0', 'd1', 'd2']);
const firstPath = write('first.jsonl', first);
const secondPath = write('second.jsonl', second);
const index = join(dir, 'index');
const lossless = ['--pruning', 'none', '--summary-energy', '1', '--max-summary-terms', '0', '--forward-values', 'f32'];
const json = (stdout: string): Array<{ id: string; hits: Array<{ id: string; score: number }> }> => stdout.trim().split('\n').map((l) => JSON.parse(l));

describe.skipIf(!hasBuild)(`CLI writes (${CLI})`, () => {
  it('add replaces re-added ids and reports a summary', () => {
    expect(runCli(['index', firstPath, '--out', index, '--quiet', ...lossless]).status).toBe(0);
    const added = runCli(['add', index, secondPath, '--json', '--quiet']);
    expect(added.status, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ documents: 103, replaced: 3, liveDocuments: 500, segment: { file: 'seg-000002.spx', layout: 'flat' } });
    const text = runCli(['add', index, write('empty.jsonl', []), '--quiet']);
    expect(text.stdout).toContain('the index is unchanged');
    const info = JSON.parse(runCli(['info', index, '--json']).stdout);
    expect(info).toMatchObject({ documents: 500, deletedDocuments: 3 });
    expect(info.segments).toHaveLength(2);
  });

  it('delete takes a comma-separated list or a file of ids and reports what it did not find', () => {
    const listed = runCli(['delete', index, '--ids', 'd10, d11,nope', '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ deleted: 2, notFound: ['nope'], liveDocuments: 498 });
    const file = join(dir, 'ids.txt');
    writeFileSync(file, 'd12\n\n  d13  \nd10\n');
    const fromFile = runCli(['delete', index, '--ids', file]);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toContain('deleted 2 documents');
    expect(fromFile.stdout).toContain('"d10"');
    const fromStdin = runCli(['delete', index, '--ids', '-', '--json'], 'd14\nd15\n');
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({ deleted: 2 });
    const none = runCli(['delete', index, '--ids', ' , ']);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('E_OPTION');
  });

  it('search never returns deleted or replaced versions and filters by metadata', () => {
    const live = new Map<string, DocumentInput>();
    for (const d of [...first, ...second]) {
      live.delete(String(d.id));
      live.set(String(d.id), d);
    }
    for (const id of ['d10', 'd11', 'd12', 'd13', 'd14', 'd15']) live.delete(id);
    const docs = [...live.values()];
    const queries = join(dir, 'queries.jsonl');
    const vectors = Array.from({ length: 8 }, (_, i) => docs[i * 40].vector);
    writeFileSync(queries, vectors.map((vector, i) => JSON.stringify({ id: `q${i}`, vector })).join('\n') + '\n');
    const plain = runCli(['search', index, '--queries', queries, '--k', '10', '--format', 'json', '--query-cut', '0', '--heap-factor', '1']);
    expect(plain.status, plain.stderr).toBe(0);
    json(plain.stdout).forEach((line, i) => expect(line.hits.map((h) => h.id)).toEqual(bruteForceTopK(docs, vectors[i], 10).map((h) => h.id)));
    for (const [conditions, filter] of [
      [['lang=en'], { lang: 'en' }],
      [['year>=2000', 'year<2010'], [{ year: { gte: 2000 } }, { year: { lt: 2010 } }]],
      [['tags in a,b'], { tags: { in: ['a', 'b'] } }],
      [['{"source.kind": "web"}'], { 'source.kind': 'web' }],
    ] as const) {
      const args = conditions.flatMap((c) => ['--filter', c]);
      const result = runCli(['search', index, '--queries', queries, '--k', '10', '--format', 'json', '--exact', ...args]);
      expect(result.status, result.stderr).toBe(0);
      const allowed = docs.filter((d) => matchesFilter(d, filter as never));
      json(result.stdout).forEach((line, i) => expect(line.hits.map((h) => h.id)).toEqual(bruteForceTopK(allowed, vectors[i], 10).map((h) => h.id)));
    }
    const bad = runCli(['search', index, '{"tok1": 1}', '--filter', 'year>=soon']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('[E_OPTION]');
  });

  it('compact merges segments and drops deleted documents without changing results', () => {
    const query = JSON.stringify(first[5].vector);
    const before = runCli(['search', index, query, '--format', 'json', '--exact', '--k', '20']).stdout;
    const compacted = runCli(['compact', index, '--json']);
    expect(compacted.status, compacted.stderr).toBe(0);
    expect(JSON.parse(compacted.stdout)).toMatchObject({ segmentsBefore: 2, segmentsAfter: 1, documents: 494, dropped: 9 });
    expect(runCli(['search', index, query, '--format', 'json', '--exact', '--k', '20']).stdout).toBe(before);
    expect(runCli(['compact', index]).stdout).toContain('already compact');
  });

  it('verify passes a sound index and names the file and location of damage, with exit status 1', () => {
    const ok = runCli(['verify', index]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok: .* 1 segment, 494 live documents/);
    const damaged = join(dir, 'damaged');
    expect(runCli(['index', firstPath, '--out', damaged, '--quiet']).status).toBe(0);
    const segment = join(damaged, 'seg-000001.spx');
    const bytes = readFileSync(segment);
    bytes[bytes.length - 100] ^= 4;
    writeFileSync(segment, bytes);
    const text = runCli(['verify', damaged]);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain(`damaged: ${segment} (part "`);
    const report = JSON.parse(runCli(['verify', damaged, '--json']).stdout);
    expect(report).toMatchObject({ ok: false, problem: { code: 'E_CORRUPT', file: segment } });
    expect(runCli(['search', damaged, '{"tok1": 1}']).stderr).toContain('[E_CORRUPT]');
    expect(runCli(['verify', join(dir, 'nowhere')]).status).toBe(2);
  });

  it('a second writer is refused with E_LOCKED naming the holder', async () => {
    const writer = SpladexIndex.open(index, { readonly: false, writerName: 'test holder' });
    try {
      for (const args of [['add', index, secondPath], ['delete', index, '--ids', 'd1'], ['compact', index], ['index', firstPath, '--out', index, '--overwrite']]) {
        const result = runCli(args);
        expect(result.status, args.join(' ')).toBe(2);
        expect(result.stderr).toContain('[E_LOCKED]');
        expect(result.stderr).toContain(`process ${process.pid}`);
        expect(result.stderr).toContain('test holder');
      }
      // Readers are never blocked.
      expect(runCli(['search', index, '{"tok1": 1}']).status).toBe(0);
    } finally {
      writer.close();
    }
    expect(runCli(['delete', index, '--ids', 'd1']).status).toBe(0);
  });

  it('add and delete refuse a directory that is not an index', () => {
    const result = spawnSync(process.execPath, [CLI, 'add', join(dir, 'nowhere'), secondPath], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('E_NOT_AN_INDEX');
  });
});
