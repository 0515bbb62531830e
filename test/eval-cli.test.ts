/**
 * `spladex eval` says which mode ran and reports exact figures beside approximate ones (so they
 * compare with Anserini's), and qrels that judge documents the index does not hold are a warning
 * (stderr and the JSON `warnings`), or, when it holds none of them, E_QRELS_MISMATCH (exit 2).
 * Vaswani (../shared/data, when present) checks the figures of the report: approximate nDCG@10
 * 0.4332 against exact 0.4386 at the fixed defaults.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scratchDirectory } from './helpers/scratch.js';
import { hasShared, runCli, SHARED } from './helpers/cli.js';

const { dir, file } = scratchDirectory('spladex-eval-cli-');

/** 60 documents d0…d59 over 12 tokens; queries q0…q5 of 3 tokens each; 3 relevant documents per query. */
function collection(): { docs: string; queries: string; qrels: string } {
  const docs: string[] = [];
  for (let d = 0; d < 60; d++) docs.push(JSON.stringify({ id: `d${d}`, vector: { [`t${d % 12}`]: 1 + (d % 5), [`t${(d * 7) % 12}`]: 0.5 + (d % 3), [`t${(d * 5 + 1) % 12}`]: 0.25 } }));
  const queries: string[] = [];
  const qrels: string[] = [];
  for (let q = 0; q < 6; q++) {
    queries.push(JSON.stringify({ id: `q${q}`, vector: { [`t${q}`]: 1, [`t${q + 3}`]: 0.5, [`t${(q * 5) % 12}`]: 0.3 } }));
    for (let r = 0; r < 3; r++) qrels.push(`q${q} 0 d${q + 12 * r} ${1 + (r % 2)}`);
  }
  return { docs: docs.join('\n') + '\n', queries: queries.join('\n') + '\n', qrels: qrels.join('\n') + '\n' };
}

describe('spladex eval', () => {
  let index: string;
  let queries: string;
  let qrels: string;
  beforeAll(() => {
    const c = collection();
    index = join(dir, 'idx');
    queries = file('queries.jsonl', c.queries);
    qrels = file('qrels.txt', c.qrels);
    // No calibration: the fixed defaults search approximately, so eval has both figures to show.
    const built = runCli(['index', file('docs.jsonl', c.docs), '--out', index, '--calibration-sample', '0']);
    expect(built.status, built.stderr).toBe(0);
  });

  it('an approximate run reports its mode and settings, and the exact figures beside it (JSON and table)', () => {
    const json = runCli(['eval', index, '--queries', queries, '--qrels', qrels, '--json', '--query-cut', '1', '--heap-factor', '0.5']);
    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.mode).toBe('approximate');
    expect(report.settings).toMatchObject({ query_cut: 1, heap_factor: 0.5 });
    expect(report.exact.mode).toBe('maxscore');
    for (const key of ['ndcg_at_10', 'mrr_at_10', 'recall_at_100', 'recall_at_1000']) expect(report.exact[key]).toBeGreaterThan(0);
    // The exact run is exhaustive search's: the same figures as eval --exact.
    const exact = JSON.parse(runCli(['eval', index, '--queries', queries, '--qrels', qrels, '--json', '--exact']).stdout);
    expect(exact.mode).toBe('exhaustive');
    expect(exact.exact).toMatchObject({ mode: 'exhaustive', ndcg_at_10: exact.ndcg_at_10 });
    expect(report.exact.ndcg_at_10).toBeCloseTo(exact.ndcg_at_10, 12);
    expect(report.exact.recall_at_1000).toBeCloseTo(exact.recall_at_1000, 12);
    expect(report).toMatchObject({ qrels: { relevant_documents: 18, found_in_index: 18 }, warnings: [] });

    const table = runCli(['eval', index, '--queries', queries, '--qrels', qrels, '--query-cut', '1', '--heap-factor', '0.5']);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/search: approximate \(queryCut 1, queryMass 1, heapFactor 0\.5/);
    expect(table.stdout).toMatch(/metric\s+approximate\s+exact \(maxscore\)/);
    expect(table.stdout).toContain(`nDCG@10     ${report.ndcg_at_10.toFixed(4)}`);
    expect(table.stdout).toContain(report.exact.ndcg_at_10.toFixed(4));
    const without = JSON.parse(runCli(['eval', index, '--queries', queries, '--qrels', qrels, '--json', '--no-exact-figures']).stdout);
    expect(without.exact).toBeNull();
  });

  it('warns when qrels judge documents the index does not hold, naming how many were found', () => {
    const partial = file('partial-qrels.txt', 'q0 0 d0 1\nq0 0 x1 1\nq1 0 x2 1\nq1 0 x3 2\nq1 0 x4 0\n');
    const result = runCli(['eval', index, '--queries', queries, '--qrels', partial, '--json']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: only 1 of the 4 relevant documents of the qrels are in the index/);
    const report = JSON.parse(result.stdout);
    expect(report.qrels).toEqual({ relevant_documents: 4, found_in_index: 1 });
    expect(report.warnings).toHaveLength(1);
  });

  it('qrels that judge none of the index\'s documents are an error (exit 2, E_QRELS_MISMATCH)', () => {
    const wrong = file('wrong-qrels.txt', 'q0 0 x1 1\nq1 0 x2 1\n');
    const result = runCli(['eval', index, '--queries', queries, '--qrels', wrong]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('[E_QRELS_MISMATCH]');
    expect(result.stderr).toContain('none of the 2 relevant documents');
  });
});

describe.skipIf(!hasShared)('Vaswani (../shared/data): approximate and exact nDCG@10 side by side', () => {
  it('reports 0.4332 approximate at the fixed defaults and 0.4386 exact, as the issue measured', () => {
    const collection = join(SHARED, 'collections/vaswani');
    const index = join(dir, 'vaswani');
    const built = runCli(['index', join(collection, 'corpus.jsonl'), '--out', index, '--input', 'text', '--quiet', '--calibration-sample', '0']);
    expect(built.status, built.stderr).toBe(0);
    const result = runCli(['eval', index, '--queries', join(collection, 'queries.jsonl'), '--qrels', join(collection, 'qrels.txt'), '--json']);
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.mode).toBe('approximate');
    expect(report.ndcg_at_10).toBeCloseTo(0.4332, 4);
    expect(report.exact.ndcg_at_10).toBeCloseTo(0.4386, 4);
    expect(report.qrels.found_in_index).toBe(report.qrels.relevant_documents);
  });
});
