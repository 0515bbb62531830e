import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, hasBuild, runCli } from './helpers/cli.js';
import { randomCorpus } from './helpers/random-corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-bench-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const jsonl = (rows: unknown[]): string => rows.map((row) => JSON.stringify(row)).join('\n') + '\n';

/**
 * A latency summary that measured something: every figure positive and finite, in order
 * (min ≤ p50 ≤ p95 ≤ p99 ≤ max, mean within [min, max]), and in milliseconds — a search of 400
 * documents takes well under a second even on a loaded machine, and more than a nanosecond.
 */
function expectLatencies(latency: Record<string, number>): void {
  const { min, mean, p50, p95, p99, max } = latency;
  for (const value of [min, mean, p50, p95, p99, max]) expect(Number.isFinite(value) && value > 1e-6 && value < 1000, JSON.stringify(latency)).toBe(true);
  expect([min, p50, p95, p99, max]).toEqual([min, p50, p95, p99, max].slice().sort((a, b) => a - b));
  expect(mean).toBeGreaterThanOrEqual(min);
  expect(mean).toBeLessThanOrEqual(max);
}

describe.skipIf(!hasBuild)(`bench and eval (${CLI})`, () => {
  const randomIndex = join(dir, 'random');
  const randomQueries = join(dir, 'random-queries.jsonl');

  beforeAll(() => {
    const corpus = randomCorpus({ docs: 400, queries: 12, vocabulary: 150, seed: 5 });
    writeFileSync(join(dir, 'random.jsonl'), jsonl(corpus.documents));
    writeFileSync(randomQueries, jsonl(corpus.queries.map((vector, i) => ({ id: `q${i}`, vector }))));
    // Lossless build: with queryCut 0 and heapFactor 1 approximate search is exact, so recall must be 1.
    const built = runCli(['index', join(dir, 'random.jsonl'), '--out', randomIndex, '--pruning', 'none', '--summary-energy', '1', '--quiet']);
    expect(built.status, built.stderr).toBe(0);
  });

  it('bench --json reports recall, latency, throughput, memory, bytes and both exact baselines', () => {
    const result = runCli(['bench', randomIndex, '--queries', randomQueries, '--json', '--query-cut', '0', '--heap-factor', '1', '--threads', '2', '--warmup', '3', '--quiet']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ documents: 400, queries: 12, k: 10, threads: 2, settings: { query_cut: 0, heap_factor: 1 }, scoring_kernel: 'webassembly' });
    expect(report.recall_at_k).toBe(1);
    expectLatencies(report.latency_ms);
    expect(report.qps).toBeGreaterThan(0);
    expect(report.peak_rss_bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(report.index_bytes.total).toBeGreaterThan(0);
    expect(report.index_bytes.parts['fwd.values']).toBeGreaterThan(0);
    expectLatencies(report.baselines.exhaustive.latency_ms);
    expectLatencies(report.baselines.maxscore.latency_ms);
    // MaxScore is exact: same ids and scores as exhaustive search on every query.
    expect(report.baselines.maxscore.agreement).toBe(1);
    expect(report.baselines.maxscore.recall_at_k).toBe(1);
    expect(report.sweep).toBeUndefined();
  });

  it('SPLADEX_WASM=0 scores with the JavaScript kernels and gives the same results', () => {
    const search = ['search', randomIndex, '--queries', randomQueries, '--format', 'json'];
    const info = (env?: Record<string, string>): string => JSON.parse(runCli(['info', randomIndex, '--json'], undefined, env).stdout).scoringKernel;
    expect(info()).toBe('webassembly');
    expect(info({ SPLADEX_WASM: '0' })).toBe('javascript');
    for (const args of [search, [...search, '--exact'], [...search, '--exact', 'maxscore'], [...search, '--query-cut', '2', '--heap-factor', '0.7']]) {
      const wasm = runCli(args);
      const js = runCli(args, undefined, { SPLADEX_WASM: '0' });
      expect(wasm.status, wasm.stderr).toBe(0);
      expect(js.stdout).toBe(wasm.stdout);
    }
  });

  it('bench --sweep measures the grid, prints its table and writes the Pareto plot', () => {
    const plot = join(dir, 'pareto.svg');
    const args = ['bench', randomIndex, '--queries', randomQueries, '--sweep', '--sweep-query-cuts', '1,0', '--sweep-query-masses', '0.5', '--sweep-heap-factors', '0.5,1', '--threads', '1', '--warmup', '2', '--limit', '6', '--plot', plot, '--quiet'];
    const json = runCli([...args, '--json']);
    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.queries).toBe(6);
    expect(report.sweep.map((row: { query_cut: number; query_mass: number; heap_factor: number }) => [row.query_cut, row.query_mass, row.heap_factor])).toEqual([
      [1, 1, 0.5],
      [1, 1, 1],
      [0, 1, 0.5],
      [0, 1, 1],
      [0, 0.5, 0.5],
      [0, 0.5, 1],
    ]);
    expect(report.sweep[3].recall_at_k).toBe(1);
    expect(report.plot).toBe(plot);
    expect(readFileSync(plot, 'utf8')).toMatch(/^<svg[\s\S]*MaxScore[\s\S]*<\/svg>\s*$/);
    const text = runCli(args);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('| queryCut | heapFactor | recall@10 |');
    expect(text.stdout).toMatch(/\| mass 0\.5 \| 1 \| /);
    expect(text.stdout).toMatch(/MaxScore .*agrees with exhaustive on 100\.0% of queries/);
  });

  describe('eval', () => {
    const index = join(dir, 'hand');
    const queries = join(dir, 'hand-queries.jsonl');
    const qrels = join(dir, 'hand-qrels.txt');

    beforeAll(() => {
      writeFileSync(
        join(dir, 'hand.jsonl'),
        jsonl([
          { id: 'd1', vector: { a: 1 } },
          { id: 'd2', vector: { a: 2, b: 1 } },
          { id: 'd3', vector: { b: 3 } },
          { id: 'd4', vector: { c: 1 } },
        ]),
      );
      writeFileSync(queries, jsonl([{ id: 'q1', vector: { a: 1 } }, { id: 'q2', vector: { b: 1, c: 1 } }]));
      // q1: ranking d2 (2), d1 (1); relevant d1 at rank 2.
      // q2: ranking d3 (3), d2 (1), d4 (1); relevant d3 at rank 1 and d5, which is not indexed.
      // q3: judged but never asked: scores 0 (trec_eval -c convention).
      writeFileSync(qrels, 'q1 0 d1 1\nq1 0 d3 0\nq2 0 d3 1\nq2 0 d5 1\nq3 0 d1 1\n');
      const built = runCli(['index', join(dir, 'hand.jsonl'), '--out', index, '--quiet']);
      expect(built.status, built.stderr).toBe(0);
    });

    it('eval --json gives hand-checked nDCG@10, MRR@10 and recall, and writes the TREC run', () => {
      const run = join(dir, 'hand.trec');
      const result = runCli(['eval', index, '--queries', queries, '--qrels', qrels, '--exact', '--json', '--run', run]);
      expect(result.status, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({ queries: 2, evaluated: 3, missing: 1, k: 1000, mode: 'exhaustive', run });
      // MRR: (1/2 + 1 + 0) / 3. nDCG@10: q1 (1/log2 3) / 1, q2 1 / (1 + 1/log2 3), q3 0.
      expect(report.mrr_at_10).toBeCloseTo(0.5, 12);
      expect(report.ndcg_at_10).toBeCloseTo((1 / Math.log2(3) + 1 / (1 + 1 / Math.log2(3))) / 3, 12);
      expect(report.recall_at_100).toBeCloseTo(0.5, 12);
      expect(report.recall_at_1000).toBeCloseTo(0.5, 12);
      expect(readFileSync(run, 'utf8')).toBe('q1 Q0 d2 1 2 spladex\nq1 Q0 d1 2 1 spladex\nq2 Q0 d3 1 3 spladex\nq2 Q0 d2 2 1 spladex\nq2 Q0 d4 3 1 spladex\n');
    });

    it('eval agrees across search methods and prints a table', () => {
      const exact = JSON.parse(runCli(['eval', index, '--queries', queries, '--qrels', qrels, '--exact', '--json']).stdout);
      for (const extra of [['--exact', 'maxscore'], ['--query-cut', '0', '--heap-factor', '1']]) {
        const result = runCli(['eval', index, '--queries', queries, '--qrels', qrels, '--json', ...extra]);
        expect(result.status, result.stderr).toBe(0);
        const report = JSON.parse(result.stdout);
        for (const metric of ['ndcg_at_10', 'mrr_at_10', 'recall_at_100', 'recall_at_1000']) expect(report[metric]).toBe(exact[metric]);
      }
      const text = runCli(['eval', index, '--queries', queries, '--qrels', qrels, '--k', '1']);
      expect(text.status, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/MRR@10\s+0\.3333/);
      const bad = runCli(['eval', index, '--queries', queries, '--qrels', qrels, '--exact', 'magic']);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('[E_OPTION]');
    });
  });
});
