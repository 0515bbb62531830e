/**
 * Readable results through the built CLI: stored fields with search (`--fields`), documents by id
 * (`spladex get`), per-term explanations (`--explain`), the table's header, counts in the singular,
 * `--exact` before a query, and pointing a command at a file of an index instead of its directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, hasBuild, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-results-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LONG = 'Paula and her brother walked along the river for a long time, talking about everything and nothing at all.';
/** 30 documents: d0 has a long text, every document a year, even ones a title. */
const documents = Array.from({ length: 30 }, (_, i) => ({
  id: `d${i}`,
  vector: { paula: 1 + i / 10, [`t${i % 5}`]: 2, ...(i % 3 === 0 ? { brother: 0.5 } : {}) },
  content: i === 0 ? LONG : `document ${i}`,
  metadata: { year: 2000 + i, ...(i % 2 === 0 ? { title: `Title ${i}` } : {}) },
}));
const QUERY = '{"paula": 1.5, "brother": 2, "t0": 0.25}';
const index = join(dir, 'index');
const text = join(dir, 'text-index');

/** Parses json-lines output. */
const lines = (stdout: string): Array<Record<string, unknown>> =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
type Hit = { id: string; score: number; content?: string; metadata?: Record<string, unknown>; explain?: Array<{ term: string; queryWeight: number; documentWeight: number; product: number }> };
const hitsOf = (stdout: string): Hit[] => lines(stdout)[0].hits as Hit[];

function ok(args: string[]): string {
  const result = runCli(args);
  expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

function fails(args: string[], code: string): string {
  const result = runCli(args);
  expect(result.status, args.join(' ')).toBe(2);
  expect(result.stderr).toContain(`[${code}]`);
  return result.stderr;
}

describe.skipIf(!hasBuild)(`readable results (${CLI})`, () => {
  beforeAll(() => {
    const input = join(dir, 'documents.jsonl');
    writeFileSync(input, documents.map((d) => JSON.stringify(d)).join('\n') + '\n');
    ok(['index', input, '--out', index, '--quiet']);
    const corpus = join(dir, 'corpus.jsonl');
    const texts = ['sleep loss and memory', 'loss of sleep in shift workers', 'the river and the brother', 'maxscore is a retrieval algorithm', 'exhaustive search of gardens'];
    writeFileSync(corpus, texts.map((t, i) => JSON.stringify({ _id: `t${i}`, title: '', text: t })).join('\n') + '\n');
    ok(['index', corpus, '--out', text, '--input', 'text', '--quiet']);
  });

  it('search --fields: full stored fields in json, one-line snippets in a table, unknown names refused', () => {
    // Without --fields, json keeps its contract: id and score only.
    for (const hit of hitsOf(ok(['search', index, QUERY, '--k', '5', '--format', 'json']))) expect(Object.keys(hit)).toEqual(['id', 'score']);
    const hits = hitsOf(ok(['search', index, QUERY, '--k', '30', '--format', 'json', '--fields', 'id,score,content,metadata.year,title']));
    expect(hits).toHaveLength(30);
    for (const hit of hits) {
      const doc = documents.find((d) => d.id === hit.id)!;
      expect(hit).toEqual({ id: doc.id, score: hit.score, content: doc.content, metadata: { year: doc.metadata.year, ...(doc.metadata.title === undefined ? {} : { title: doc.metadata.title }) } });
    }
    expect(hits.find((h) => h.id === 'd0')!.content).toBe(LONG);

    const table = ok(['search', index, QUERY, '--k', '30', '--fields', 'id,year,content']).split('\n');
    expect(table[0]).toMatch(/^rank +id +year +content$/);
    const d0 = table.find((l) => / d0 /.test(l))!;
    expect(d0).toContain('2000');
    expect(d0).toContain(`${LONG.slice(0, 40)}`);
    expect(d0).toContain('…');
    expect(d0).not.toContain(LONG);
    // The default table: rank, score, id and a snippet of the stored text.
    const plain = ok(['search', index, QUERY, '--k', '3']).split('\n');
    expect(plain[0]).toMatch(/^rank +score +id +content$/);
    expect(plain[1]).toMatch(/^ +1 +\d+\.\d{4} +d\d+ +\S/);

    const unknown = fails(['search', index, QUERY, '--fields', 'id,titel'], 'E_OPTION');
    expect(unknown).toContain('unknown field titel');
    expect(unknown).toContain('metadata keys: title, year');
    expect(fails(['search', index, QUERY, '--fields', 'id', '--format', 'trec'], 'E_OPTION')).toContain('--fields needs --format json or table');
  });

  it('the table has no "query query" line for an inline query, and names each query of a file', () => {
    const inline = ok(['search', index, QUERY, '--k', '2']);
    expect(inline).not.toContain('query query');
    expect(inline.split('\n')[0]).toMatch(/^rank/);
    const queries = join(dir, 'queries.jsonl');
    writeFileSync(queries, `${JSON.stringify({ id: 'q1', vector: { paula: 1 } })}\n${JSON.stringify({ id: 'q2', vector: { nothing: 1 } })}\n`);
    const file = ok(['search', index, '--queries', queries, '--k', '2']).split('\n');
    expect(file[0]).toBe('query q1');
    expect(file[1]).toMatch(/^rank/);
    expect(file.slice(file.indexOf('query q2'))).toEqual(['query q2', '(no hits)', '']);
  });

  it('--explain: per-term contributions, largest first, summing to the score', () => {
    const plain = hitsOf(ok(['search', index, QUERY, '--k', '10', '--format', 'json', '--exact']));
    const explained = hitsOf(ok(['search', index, QUERY, '--k', '10', '--format', 'json', '--exact', '--explain']));
    expect(explained.map(({ id, score }) => ({ id, score }))).toEqual(plain);
    const query = JSON.parse(QUERY) as Record<string, number>;
    for (const hit of explained) {
      const doc = documents.find((d) => d.id === hit.id)!;
      const terms = hit.explain!;
      expect(terms.map((t) => t.term).sort()).toEqual(Object.keys(query).filter((t) => t in doc.vector).sort());
      let sum = 0;
      terms.forEach((t, i) => {
        expect(t.product).toBe(t.queryWeight * t.documentWeight);
        expect(t.queryWeight).toBe(Math.fround(query[t.term]));
        if (i > 0) expect(t.product).toBeLessThanOrEqual(terms[i - 1].product);
        sum += t.product;
      });
      expect(Math.abs(sum - hit.score)).toBeLessThanOrEqual(1e-12 * hit.score);
    }
    const table = ok(['search', index, QUERY, '--k', '2', '--explain']).split('\n');
    expect(table[2]).toMatch(/^ {6}paula +1\.5000 × +\d+\.\d{4} = +\d+\.\d{4}$/);
    const sum = table.find((l) => l.trimStart().startsWith('sum'))!;
    expect(sum).toContain(`= ${explained[0].score.toFixed(4).padStart(10)}`);
    const count = explained[0].explain!.length;
    expect(sum).toMatch(new RegExp(`\\(${count} matching term${count === 1 ? '' : 's'}\\)$`));
  });

  it('get prints stored documents, and reports every missing id after the found ones (exit 2)', () => {
    expect(lines(ok(['get', index, 'd2', 'd1']))).toEqual([
      { id: 'd2', content: 'document 2', metadata: { year: 2002, title: 'Title 2' } },
      { id: 'd1', content: 'document 1', metadata: { year: 2001 } },
    ]);
    expect(lines(ok(['get', index, 'd4', '--fields', 'title']))).toEqual([{ id: 'd4', metadata: { title: 'Title 4' } }]);
    expect(ok(['get', index, 'd0', 'd1', '--format', 'table', '--fields', 'content,year'])).toBe(`id       d0\ncontent  ${LONG}\nyear     2000\n\nid       d1\ncontent  document 1\nyear     2001\n`);
    const missing = runCli(['get', index, 'd3', 'nope', 'd5', 'gone']);
    expect(missing.status).toBe(2);
    expect(lines(missing.stdout).map((d) => d.id)).toEqual(['d3', 'd5']);
    expect(missing.stderr).toBe('spladex: error [E_NOT_FOUND]: no live document has id "nope", "gone" (2 of 4 ids not found; 2 printed); check the ids — a deleted document is gone, a replaced one has its new version under the same id\n');
    expect(fails(['get', index, 'd1', '--fields', 'score'], 'E_OPTION')).toContain('score belongs to search results');
    expect(fails(['get', index, 'd1', '--fields', 'nothing'], 'E_OPTION')).toContain('unknown field nothing');
  });

  it('--exact before a query takes the query; a method name or a near miss of one stays the method', () => {
    const reference = ok(['search', text, 'sleep loss', '--exact', '--format', 'json']);
    expect(hitsOf(reference).map((h) => h.id).slice(0, 2).sort()).toEqual(['t0', 't1']);
    expect(ok(['search', text, '--exact', 'sleep loss', '--format', 'json'])).toBe(reference);
    expect(ok(['search', text, '--exact', 'maxscore', 'sleep loss', '--format', 'json'])).toBe(reference);
    expect(ok(['search', text, '--exact=maxscore', 'sleep loss', '--format', 'json'])).toBe(reference);
    // A one-word query that is no method's spelling is the query too.
    expect(hitsOf(ok(['search', text, '--exact', 'gardens', '--format', 'json']))[0].id).toBe('t4');
    const typo = fails(['search', text, '--exact', 'maxscor'], 'E_OPTION');
    expect(typo).toContain('--exact takes exhaustive or maxscore, got "maxscor" (did you mean maxscore?)');
    expect(fails(['search', text, 'sleep', '--exact', 'loss'], 'E_OPTION')).toContain('--exact takes exhaustive or maxscore, got "loss"; a query was given already');
  });

  it('counts read "1 document", "1 segment", and option errors name the flag with its range', () => {
    const one = join(dir, 'one.jsonl');
    writeFileSync(one, `${JSON.stringify({ id: 'solo', vector: { x: 1 } })}\n`);
    const two = join(dir, 'two.jsonl');
    writeFileSync(two, `${JSON.stringify({ id: 'solo2', vector: { x: 2 } })}\n`);
    const small = join(dir, 'small');
    const outputs = [ok(['index', one, '--out', small, '--calibration-sample', '0']), ok(['info', small]), ok(['verify', small])];
    expect(outputs[0]).toContain('indexed 1 document (');
    expect(outputs[0]).toContain('vocabulary 1 term, 1 posting, 1 kept after static pruning, 1 block');
    expect(outputs[1]).toContain('(format 1, 1 segment)');
    expect(outputs[1]).toMatch(/in 1 block \(\d+ summary entr(y|ies)\)/);
    expect(outputs[2]).toContain(': 1 segment, 1 live document (0 deleted), 1 document row,');
    outputs.push(ok(['add', small, two]), ok(['delete', small, '--ids', 'solo2,unknown']), ok(['compact', small]));
    expect(outputs[3]).toContain('added 1 document (0 replaced,');
    expect(outputs[3]).toContain('the index now holds 2 live documents;');
    expect(outputs[4]).toContain('deleted 1 document from');
    expect(outputs[4]).toContain('1 live document remains');
    expect(outputs[4]).toContain('1 id not found');
    expect(outputs[5]).toContain('is already compact (1 segment, no deleted documents)');
    for (const output of outputs) expect(output).not.toMatch(/\b1 (documents|segments|blocks|terms|postings|ids|rows|queries|summary entries)\b/);

    expect(runCli(['search', index, QUERY, '--heap-factor', '0']).stderr).toBe('spladex: error [E_OPTION]: --heap-factor must be in (0, 1], got 0\n');
  });

  it('a file of an index instead of its directory: the error names the directory to give', () => {
    for (const [command, file] of [
      ['info', 'spladex.db'],
      ['search', 'spladex.db'],
      ['verify', 'seg-000001.spx'],
      ['get', 'spladex.commit'],
      ['delete', 'spladex.db'],
    ] as const) {
      const path = join(index, file);
      const args = command === 'search' ? [command, path, QUERY] : command === 'get' ? [command, path, 'd1'] : command === 'delete' ? [command, path, '--ids', 'd1'] : [command, path];
      const result = runCli(args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toBe(`spladex: error [E_NOT_AN_INDEX]: ${path}: this is a file of the index, not the index: an index is its directory; give ${index} instead\n`);
    }
  });
});
