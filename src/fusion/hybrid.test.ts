import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSpladexError } from '../errors.js';
import { SpladexIndex } from '../spladex-index.js';
import { buildTextIndex } from '../writer/text-index.js';
import type { VectorQuery } from '../io/queries.js';
import type { SparseVectorInput } from '../types.js';
import { fuseHits } from './fuse.js';
import { evaluateHybrid } from './hybrid-eval.js';
import { HybridSearcher } from './hybrid.js';

// Two indexes over the same 60 ids in different term spaces ("lexical" l-terms, "learned" s-terms).
const lexicalDocs = Array.from({ length: 60 }, (_, i) => ({ id: `d${i}`, vector: { [`l${i % 6}`]: 1 + (i % 5), [`l${(i * 7) % 11}`]: 0.5 + (i % 3) } }));
const learnedDocs = Array.from({ length: 60 }, (_, i) => ({ id: `d${i}`, vector: { [`s${i % 4}`]: 1 + (i % 7), [`s${(i * 5) % 9}`]: 2 - (i % 2) } }));
const exact = { mode: 'exhaustive' } as const;

let lexical: SpladexIndex;
let learned: SpladexIndex;
beforeAll(async () => {
  lexical = await SpladexIndex.build(lexicalDocs);
  learned = await SpladexIndex.build(learnedDocs);
});
afterAll(() => {
  lexical?.close();
  learned?.close();
});

describe('HybridSearcher over vector indexes', () => {
  it('fuses what each index returns at the depth asked for, to k', () => {
    const searcher = new HybridSearcher([lexical, learned]);
    const queries: SparseVectorInput[] = [{ l1: 1, l3: 0.5 }, { s2: 2 }];
    const fused = searcher.search(queries, { ...exact, k: 5, depth: 20, method: 'linear', weights: [0.4, 0.6] });
    const expected = fuseHits([lexical.search(queries[0], { ...exact, k: 20 }), learned.search(queries[1], { ...exact, k: 20 })], { method: 'linear', weights: [0.4, 0.6], k: 5 });
    expect(fused).toEqual(expected);
    expect(fused).toHaveLength(5);
    // Default depth max(k, 100): every document of these 60 matched by the query is in each list.
    const deep = searcher.search(queries, { ...exact, k: 3 });
    expect(deep).toEqual(fuseHits([lexical.search(queries[0], { ...exact, k: 100 }), learned.search(queries[1], { ...exact, k: 100 })], { k: 3 }));
    expect(deep[0].sources.every((s) => s !== null)).toBe(true);
  });

  it('matches per-index query sets by id, and names the set missing one', () => {
    const searcher = new HybridSearcher([lexical, learned]);
    const first: VectorQuery[] = [
      { id: 'q1', vector: { l1: 1 } },
      { id: 'q2', vector: { l2: 1 } },
    ];
    // The second set in another order, with an extra query that is ignored.
    const second: VectorQuery[] = [
      { id: 'q9', vector: { s0: 1 } },
      { id: 'q2', vector: { s3: 1 } },
      { id: 'q1', vector: { s1: 1 } },
    ];
    const results = searcher.searchQueries([first, second], { ...exact, k: 4 });
    expect(results.map((r) => r.id)).toEqual(['q1', 'q2']);
    expect(results[1].hits).toEqual(searcher.search([{ l2: 1 }, { s3: 1 }], { ...exact, k: 4 }));
    try {
      searcher.searchQueries([first, second.slice(0, 2)], exact, ['a.jsonl', 'b.jsonl']);
      expect.unreachable();
    } catch (error) {
      expect(isSpladexError(error, 'E_INPUT_ID')).toBe(true);
      expect((error as Error).message).toContain('query "q1" of a.jsonl has no query with the same id in b.jsonl');
    }
  });

  it('counts queries whose lists share no document, and checks weights against the indexes', async () => {
    const other = await SpladexIndex.build([{ id: 'x1', vector: { s0: 1 } }]);
    try {
      const searcher = new HybridSearcher([lexical, other]);
      searcher.search([{ l0: 1 }, { s0: 1 }], exact);
      searcher.search([{ l0: 1 }, { nothing: 1 }], exact);
      expect(searcher.overlap()).toEqual({ queries: 2, disjoint: 1 });
      expect(() => searcher.search([{ l0: 1 }, { s0: 1 }], { weights: [1, 2, 3] })).toThrow(/weights must have one value per fused index \(2\), got 3/);
    } finally {
      other.close();
    }
  });

  it('evaluateHybrid reports the fused metrics next to each index alone', () => {
    const queries: VectorQuery[][] = [
      [
        { id: 'q1', vector: { l1: 1 } },
        { id: 'q2', vector: { l4: 1 } },
      ],
      [
        { id: 'q1', vector: { s1: 1 } },
        { id: 'q2', vector: { s0: 1 } },
      ],
    ];
    // Relevant: what both indexes rank high for q1 (d1 and d13 match l1 and s1), one of each for q2.
    const qrels = new Map([
      ['q1', new Map([['d13', 1], ['d1', 1]])],
      ['q2', new Map([['d4', 1], ['d40', 1]])],
    ]);
    const { report, run } = evaluateHybrid([lexical, learned], queries, qrels, { mode: 'exhaustive', k: 50 }, ['a', 'b']);
    expect(report.queries).toBe(2);
    expect(report.evaluated).toBe(2);
    expect(report.fusion).toEqual({ method: 'rrf', weights: [1, 1], rrf_k: 60, depth: 100 });
    expect(report.sources.map((s) => s.mode)).toEqual(['exhaustive', 'exhaustive']);
    expect(run.map((r) => r.queryId)).toEqual(['q1', 'q2']);
    // Fused to k = 50, or fewer: the documents either index matched.
    const union = new Set([...lexical.search({ l1: 1 }, { ...exact, k: 100 }), ...learned.search({ s1: 1 }, { ...exact, k: 100 })].map((h) => h.id));
    expect(run[0].hits).toHaveLength(Math.min(50, union.size));
    expect(union.size).toBeGreaterThan(10);
    // Each source alone is its own exact search.
    const alone = (index: SpladexIndex, set: VectorQuery[]) => evaluateHybrid([index], [set], qrels, { mode: 'exhaustive', k: 100 }).report.ndcg_at_10;
    expect(report.sources[0].ndcg_at_10).toBeCloseTo(alone(lexical, queries[0]), 12);
    expect(report.sources[1].ndcg_at_10).toBeCloseTo(alone(learned, queries[1]), 12);
    expect(report.ndcg_at_10).toBeGreaterThan(0);
    expect(report.ndcg_at_10).not.toBe(report.sources[0].ndcg_at_10);
  });
});

describe('HybridSearcher.searchText over two lexical indexes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spladex-hybrid-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const docs = [
    { _id: 't1', text: 'Running shoes for marathon runners.' },
    { _id: 't2', text: 'The runner ran a marathon in new shoes.' },
    { _id: 't3', text: 'Cooking pasta with tomatoes.' },
    { _id: 't4', text: 'Shoe repair and shoe polish.' },
  ];

  it('encodes the text with each index encoder (stemmed and unstemmed)', async () => {
    await buildTextIndex(docs, join(dir, 'porter'));
    await buildTextIndex(docs, join(dir, 'plain'), { encoder: { stemmer: 'none' } });
    const porter = SpladexIndex.open(join(dir, 'porter'));
    const plain = SpladexIndex.open(join(dir, 'plain'));
    try {
      const searcher = new HybridSearcher([porter, plain]);
      const fused = await searcher.searchText('running shoes', { k: 4 });
      const expected = fuseHits([await porter.searchText('running shoes', { k: 100 }), await plain.searchText('running shoes', { k: 100 })], { k: 4 });
      expect(fused).toEqual(expected);
      // Only stemming makes "shoes" match t4's "shoe": the unstemmed index does not return it.
      const t4 = fused.find((h) => h.id === 't4');
      expect(t4?.sources[0]).not.toBeNull();
      expect(t4?.sources[1]).toBeNull();
      const many = await searcher.searchText(['running shoes', 'pasta'], { k: 2 });
      expect(many[1][0].id).toBe('t3');
    } finally {
      porter.close();
      plain.close();
    }
  });
});
