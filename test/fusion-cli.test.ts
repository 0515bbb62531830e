/**
 * Hybrid retrieval through the built CLI: `search … --fuse` and `eval … --fuse` over a lexical
 * index built from text (BM25, no model), a second lexical one without stemming, and a vector
 * index over the same ids queried with its own vector file (`--fuse-queries`). Fused output is
 * checked against the library's `fuseHits` of what each index returns alone.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseHits, type FusedHit, type SearchHit } from '../src/index.js';
import { hasBuild, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-fusion-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TEXTS = [
  'Running shoes for marathon runners and their training.',
  'The runner ran a marathon in new shoes.',
  'Cooking pasta with fresh tomatoes and basil.',
  'Shoe repair, shoe polish and leather care.',
  'Marathon training plans for beginners.',
  'Tomatoes grow best in warm sunny gardens.',
  'Basil pesto pasta: a quick dinner.',
  'Leather boots and walking shoes for hikers.',
];
const corpus = join(dir, 'corpus.jsonl');
writeFileSync(corpus, TEXTS.map((text, i) => JSON.stringify({ _id: `d${i}`, text })).join('\n') + '\n');
// The vector index: the same ids, in a term space of its own.
const vectors = join(dir, 'vectors.jsonl');
writeFileSync(vectors, TEXTS.map((_, i) => JSON.stringify({ id: `d${i}`, vector: { [`v${i % 3}`]: 1 + i, [`w${i % 2}`]: 8 - i } })).join('\n') + '\n');
const textQueries = join(dir, 'queries.jsonl');
writeFileSync(textQueries, [JSON.stringify({ _id: 'q1', text: 'marathon shoes' }), JSON.stringify({ _id: 'q2', text: 'pasta tomatoes' })].join('\n') + '\n');
const vectorQueries = join(dir, 'vector-queries.jsonl');
// In another order than the text queries: matched by id.
writeFileSync(vectorQueries, [JSON.stringify({ id: 'q2', vector: { v2: 1, w0: 0.5 } }), JSON.stringify({ id: 'q1', vector: { v1: 1 } })].join('\n') + '\n');
const qrels = join(dir, 'qrels.txt');
writeFileSync(qrels, ['q1 0 d0 1', 'q1 0 d1 1', 'q1 0 d4 1', 'q2 0 d2 1', 'q2 0 d6 1'].join('\n') + '\n');

const porter = join(dir, 'porter');
const plain = join(dir, 'plain');
const vector = join(dir, 'vector');

interface Result<H> {
  id: string;
  hits: H[];
}
const results = <H>(stdout: string): Array<Result<H>> =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Result<H>);
function ok(args: string[]): string {
  const result = runCli(args);
  expect(result.status, `${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

describe.skipIf(!hasBuild)('spladex search / eval --fuse', () => {
  beforeAll(() => {
    ok(['index', corpus, '--out', porter, '--input', 'text', '--quiet']);
    ok(['index', corpus, '--out', plain, '--input', 'text', '--stemmer', 'none', '--quiet']);
    ok(['index', vectors, '--out', vector, '--quiet']);
  });

  it('inline text: each index encodes it; json hits are fuseHits of each index alone, with sources', () => {
    const fused = results<FusedHit>(ok(['search', porter, 'running shoes', '--fuse', plain, '--k', '4', '--format', 'json']))[0];
    const alone = [porter, plain].map((d) => results<SearchHit>(ok(['search', d, 'running shoes', '--k', '100', '--format', 'json']))[0].hits);
    expect(fused.id).toBe('query');
    expect(fused.hits).toEqual(fuseHits(alone, { k: 4 }));
    expect(fused.hits).toHaveLength(4);
    // "shoe" (d3) matches "shoes" only after stemming: its unstemmed source is null.
    const d3 = fused.hits.find((h) => h.id === 'd3');
    expect(d3?.sources[0]?.rank).toBeGreaterThan(0);
    expect(d3?.sources[1]).toBeNull();
  });

  it('--queries text for <dir>, --fuse-queries vectors for the vector index (matched by id), linear with weights', () => {
    const args = ['--fusion', 'linear', '--weights', '0.3,0.7', '--k', '5'];
    const fused = results<FusedHit>(ok(['search', porter, '--queries', textQueries, '--fuse', vector, '--fuse-queries', vectorQueries, ...args, '--format', 'json']));
    const lexical = results<SearchHit>(ok(['search', porter, '--queries', textQueries, '--k', '100', '--format', 'json']));
    const byId = new Map(results<SearchHit>(ok(['search', vector, '--queries', vectorQueries, '--k', '100', '--format', 'json'])).map((r) => [r.id, r.hits]));
    expect(fused.map((r) => r.id)).toEqual(['q1', 'q2']);
    fused.forEach((r, i) => expect(r.hits).toEqual(fuseHits([lexical[i].hits, byId.get(r.id)!], { method: 'linear', weights: [0.3, 0.7], k: 5 })));
    // The same run as a TREC file and as a table.
    const trec = ok(['search', porter, '--queries', textQueries, '--fuse', vector, '--fuse-queries', vectorQueries, ...args, '--format', 'trec']).trim().split('\n');
    expect(trec).toEqual(fused.flatMap((r) => r.hits.map((h, rank) => `${r.id} Q0 ${h.id} ${rank + 1} ${h.score.toFixed(6)} spladex`)));
    const table = ok(['search', porter, '--queries', textQueries, '--fuse', vector, '--fuse-queries', vectorQueries, ...args]);
    expect(table).toContain(`fused by linear: #1 = ${porter}, #2 = ${vector}`);
    const first = fused[0].hits[0];
    const rank = (s: FusedHit['sources'][number]): string => (s === null ? '-' : String(s.rank));
    expect(table).toContain(`   1  ${first.score.toFixed(4).padStart(10)}  ${rank(first.sources[0]).padStart(5)} ${rank(first.sources[1]).padStart(5)}  ${first.id}`);
  });

  it('eval --fuse: fused metrics next to each index alone, which equal plain eval; --run writes the fused run', () => {
    const run = join(dir, 'fused.trec');
    const report = JSON.parse(ok(['eval', porter, '--queries', textQueries, '--qrels', qrels, '--fuse', plain, '--rrf-k', '10', '--exact', '--json', '--run', run])) as {
      ndcg_at_10: number;
      fusion: { method: string; rrf_k: number; depth: number; weights: number[] };
      sources: Array<{ index: string; ndcg_at_10: number; recall_at_100: number }>;
      evaluated: number;
      k: number;
    };
    expect(report.fusion).toEqual({ method: 'rrf', rrf_k: 10, depth: 1000, weights: [1, 1] });
    expect(report.k).toBe(1000);
    expect(report.evaluated).toBe(2);
    for (const [i, d] of [porter, plain].entries()) {
      const alone = JSON.parse(ok(['eval', d, '--queries', textQueries, '--qrels', qrels, '--exact', '--json'])) as { ndcg_at_10: number; recall_at_100: number };
      expect(report.sources[i].index).toBe(d);
      expect(report.sources[i].ndcg_at_10).toBeCloseTo(alone.ndcg_at_10, 12);
      expect(report.sources[i].recall_at_100).toBeCloseTo(alone.recall_at_100, 12);
    }
    expect(report.ndcg_at_10).toBeGreaterThan(0.5);
    const lines = readFileSync(run, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^q1 Q0 d\d 1 \S+ spladex$/);
    const text = ok(['eval', porter, '--queries', textQueries, '--qrels', qrels, '--fuse', plain, '--rrf-k', '10', '--exact']);
    expect(text).toContain(`nDCG@10   ${report.ndcg_at_10.toFixed(4)}  ${report.sources[0].ndcg_at_10.toFixed(4)}  ${report.sources[1].ndcg_at_10.toFixed(4)}`);
  });

  it('refuses fusion flags without --fuse, a wrong weight count, --fuse-queries with an inline query, stdin for two indexes, a query missing from a --fuse-queries file', () => {
    const missing = join(dir, 'missing.jsonl');
    writeFileSync(missing, JSON.stringify({ id: 'q1', vector: { v1: 1 } }) + '\n');
    for (const [args, message] of [
      [['search', porter, 'shoes', '--fusion', 'linear'], '[E_OPTION]: --fusion needs --fuse <dir>'],
      [['search', porter, 'shoes', '--fuse', plain, '--weights', '1,2,3'], '[E_OPTION]: --weights needs 2 weights (<dir>, then each --fuse), got 3: 1,2,3'],
      [['search', porter, 'shoes', '--fuse', vector, '--fuse-queries', vectorQueries], '[E_OPTION]: --fuse-queries needs --queries <file>'],
      [['search', porter, '--queries', '-', '--fuse', plain], '[E_OPTION]: standard input ("-") can be the query file of one fused index only'],
      [['eval', porter, '--queries', textQueries, '--qrels', qrels, '--fuse', vector, '--fuse-queries', missing], `[E_INPUT_ID]: query "q2" of ${textQueries} has no query with the same id in ${missing}`],
    ] as const) {
      const result = runCli([...args]);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
  });

  it('warns when the fused indexes share no document (different id spaces)', () => {
    const other = join(dir, 'other');
    writeFileSync(join(dir, 'other.jsonl'), JSON.stringify({ id: 'x1', vector: { v1: 1 } }) + '\n');
    ok(['index', join(dir, 'other.jsonl'), '--out', other, '--quiet']);
    const result = runCli(['search', vector, '{"v1": 1}', '--fuse', other, '--format', 'json']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain('spladex: warning: the fused indexes returned no document in common for any of the 1 query');
    expect(results<FusedHit>(result.stdout)[0].hits.map((h) => h.id)).toContain('x1');
  });
});
