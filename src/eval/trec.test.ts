import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SpladexError } from '../errors.js';
import { formatRunLines, parseQrels, parseRun, rankingFromHits, readQrels, readRun, writeRun } from './trec.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spladex-trec-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function thrown(f: () => unknown): SpladexError {
  try {
    f();
  } catch (e) {
    if (e instanceof SpladexError) return e;
    throw e;
  }
  throw new Error('expected a SpladexError');
}

describe('qrels', () => {
  it('parses graded judgements, tolerating tabs, runs of spaces, blank lines and CRLF', () => {
    const q = parseQrels('q1 0 d1 2\r\n\r\nq1\t0\td2\t0\n  q2   0  d9  -1  \nq2 Q0 d3 1\n');
    expect([...q.keys()]).toEqual(['q1', 'q2']);
    expect(q.get('q1')).toEqual(new Map([['d1', 2], ['d2', 0]]));
    expect(q.get('q2')?.get('d9')).toBe(-1);
    expect(q.get('q2')?.get('d3')).toBe(1);
  });

  it('names the file and line of a malformed judgement', () => {
    const e = thrown(() => parseQrels('q1 0 d1 1\n\nq1 0 d2\n', 'x.qrels'));
    expect(e.code).toBe('E_INPUT_JSON');
    expect(e.file).toBe('x.qrels');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/^x\.qrels:3: expected 4 fields/);
    expect(thrown(() => parseQrels('q1 0 d1 high')).line).toBe(1);
    expect(thrown(() => parseQrels('q1 0 d1 1.5')).message).toMatch(/integer/);
    const dup = thrown(() => parseQrels('q1 0 d1 1\nq1 0 d1 2'));
    expect(dup.code).toBe('E_INPUT_DUPLICATE_ID');
    expect(dup.line).toBe(2);
  });

  it('reads files and reports unreadable ones as E_IO', async () => {
    const p = join(dir, 'q.txt');
    await writeFile(p, 'q1 0 d1 1\n');
    expect((await readQrels(p)).get('q1')?.get('d1')).toBe(1);
    await expect(readQrels(join(dir, 'nope'))).rejects.toMatchObject({ code: 'E_IO' });
  });
});

describe('runs', () => {
  it('formats, writes and reads back runs', async () => {
    const hits = [
      { id: 'd3', score: 12.5 },
      { id: 'd1', score: 0.1 + 0.2 },
    ];
    expect(formatRunLines('q1', hits, 'exp')).toBe('q1 Q0 d3 1 12.5 exp\nq1 Q0 d1 2 0.30000000000000004 exp\n');
    const p = join(dir, 'run.txt');
    async function* results(): AsyncGenerator<{ queryId: string; hits: typeof hits }> {
      yield { queryId: 'q1', hits };
      yield { queryId: 'q2', hits: [] };
      yield { queryId: 'q3', hits: [{ id: 'd7', score: 1 }] };
    }
    await writeRun(p, results());
    expect(await readFile(p, 'utf8')).toBe('q1 Q0 d3 1 12.5 spladex\nq1 Q0 d1 2 0.30000000000000004 spladex\nq3 Q0 d7 1 1 spladex\n');
    const run = await readRun(p);
    expect(run.get('q1')).toEqual([
      { docId: 'd3', rank: 1, score: 12.5 },
      { docId: 'd1', rank: 2, score: 0.30000000000000004 },
    ]);
    expect(run.has('q2')).toBe(false);
    expect(rankingFromHits(new Map([['q1', hits]])).get('q1')).toEqual(['d3', 'd1']);
  });

  it('rejects ids that would corrupt the file', () => {
    expect(thrown(() => formatRunLines('q 1', [])).code).toBe('E_INPUT_ID');
    expect(thrown(() => formatRunLines('q1', [{ id: '', score: 1 }])).code).toBe('E_INPUT_ID');
    expect(thrown(() => formatRunLines('q1', [], 'a b')).code).toBe('E_INPUT_ID');
  });

  it('orders by trec_eval, rank or file order', () => {
    const text = 'q Q0 a 3 1 t\nq Q0 b 1 2 t\nq Q0 c 2 2 t\n';
    // trec_eval: score desc (b, c at 2; a at 1), ties by docid desc → c, b, a.
    expect(parseRun(text).get('q')?.map((e) => e.docId)).toEqual(['c', 'b', 'a']);
    expect(parseRun(text, '<run>', { order: 'rank' }).get('q')?.map((e) => e.docId)).toEqual(['b', 'c', 'a']);
    expect(parseRun(text, '<run>', { order: 'file' }).get('q')?.map((e) => e.docId)).toEqual(['a', 'b', 'c']);
    expect(thrown(() => parseRun(text, '<run>', { order: 'x' as 'file' })).code).toBe('E_OPTION');
  });

  it('names the line of malformed or duplicate entries', () => {
    const e = thrown(() => parseRun('q Q0 a 1 1 t\nq Q0 b 2 t\n', 'r.txt'));
    expect(e.message).toMatch(/^r\.txt:2: expected 6 fields/);
    expect(thrown(() => parseRun('q Q0 a 1 NaN t')).message).toMatch(/score "NaN"/);
    const dup = thrown(() => parseRun('q Q0 a 1 1 t\nq Q0 a 2 0.5 t'));
    expect(dup.code).toBe('E_INPUT_DUPLICATE_ID');
    expect(dup.line).toBe(2);
  });
});
