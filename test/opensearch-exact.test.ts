/**
 * spladex against a real OpenSearch node (scripts/opensearch/cluster.ts; installed by
 * scripts/opensearch/fetch.sh, which .ci/run runs): `spladex export opensearch` then
 * `spladex search --engine opensearch` give the exact top-10 of local exact search, filters
 * included, on a synthetic collection with metadata and on SciFact's lexical (BM25) vectors.
 * rank_features keeps 9 significant bits of each stored weight (Lucene truncates the float to its
 * top 16 bits), so each document score may be up to 2^-8 below the exact one (relative); the
 * tolerance asserted is that bound, and the measured figures are printed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenSearch, OPENSEARCH_MISSING, OpenSearchCluster } from '../scripts/opensearch/cluster.js';
import { hasBuild, hasShared, runCliAsync, SHARED } from './helpers/cli.js';

const runs = hasBuild && (hasOpenSearch || process.env.CI !== undefined);
if (!hasOpenSearch) console.log(`OpenSearch tests: ${OPENSEARCH_MISSING}${process.env.CI !== undefined ? ' (CI: failing instead of skipping)' : '; skipped'}`);

/** rank_features' relative error bound per score (9 significant bits, truncated). */
const TOLERANCE = 2 ** -8;

interface Line {
  id: string;
  hits: Array<{ id: string; score: number }>;
}

const parseLines = (stdout: string): Line[] =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);

/** overlap@10 and the largest relative score difference of the common hits, per query list. */
function compare(local: Line[], remote: Line[]): { overlap: number; maxRelative: number; queries: number } {
  expect(remote.map((l) => l.id)).toEqual(local.map((l) => l.id));
  let overlap = 0;
  let maxRelative = 0;
  local.forEach((l, q) => {
    const exact = new Map(l.hits.map((h) => [h.id, h.score]));
    const common = remote[q].hits.filter((h) => exact.has(h.id));
    overlap += l.hits.length === 0 ? 1 : common.length / l.hits.length;
    for (const h of common) maxRelative = Math.max(maxRelative, Math.abs(h.score - exact.get(h.id)!) / exact.get(h.id)!);
    expect(remote[q].hits.length).toBe(l.hits.length);
  });
  return { overlap: overlap / local.length, maxRelative, queries: local.length };
}

describe.runIf(runs)('OpenSearch: exact top-10 equals local exact search', () => {
  let cluster: OpenSearchCluster;
  let work: string;
  let url: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'spladex-os-exact-'));
    const started = performance.now();
    cluster = await OpenSearchCluster.start({ nodes: 1 });
    console.log(`OpenSearch node up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    url = cluster.urls[0];
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  const cli = async (args: string[]): Promise<string> => {
    const r = await runCliAsync(args, {}, 180_000);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };

  it('synthetic collection with metadata: same top-10 with and without filters; deleted documents are not exported', async () => {
    await cli(['synth', '--out', join(work, 'syn'), '--docs', '1500', '--queries', '25', '--seed', '11']);
    const lines = readFileSync(join(work, 'syn', 'documents.jsonl'), 'utf8').trim().split('\n');
    const docs = lines.map((line, i) => {
      const d = JSON.parse(line) as Record<string, unknown>;
      // Tokens with dots and percent signs exercise the feature-name escaping.
      const vector = d.vector as Record<string, number>;
      if (i % 5 === 0) vector['u.s.'] = 1.5;
      if (i % 7 === 0) vector['100%'] = 0.75;
      return JSON.stringify({ ...d, content: `document ${i}`, metadata: { year: 1990 + (i % 30), lang: ['en', 'de', 'fr'][i % 3], tags: i % 2 === 0 ? ['a', 'b'] : ['c'], source: { kind: i % 4 === 0 ? 'blog' : 'web' }, code: i % 3 === 0 ? '2010' : 2010 } });
    });
    writeFileSync(join(work, 'docs.jsonl'), `${docs.join('\n')}\n`);
    const queries = readFileSync(join(work, 'syn', 'queries.jsonl'), 'utf8').trim().split('\n');
    writeFileSync(join(work, 'queries.jsonl'), `${queries.map((q, i) => { const o = JSON.parse(q) as { vector: Record<string, number> }; if (i % 2 === 0) o.vector['u.s.'] = 0.5; if (i % 3 === 0) o.vector['100%'] = 2; return JSON.stringify(o); }).join('\n')}\n`);
    const index = join(work, 'syn-index');
    await cli(['index', join(work, 'docs.jsonl'), '--out', index, '--quiet']);
    await cli(['delete', index, '--ids', 'd3,d10,d11']);
    const exported = JSON.parse(await cli(['export', 'opensearch', index, '--url', url, '--index', 'syn', '--replicas', '0', '--batch-docs', '400', '--json', '--quiet'])) as { documents: number; sent: number; mixedTypeFields: string[] };
    expect(exported).toMatchObject({ documents: 1497, sent: 1497 });
    expect(exported.mixedTypeFields).toEqual(['code']);
    const count = (await (await fetch(`${url}/syn/_count`)).json()) as { count: number };
    expect(count.count).toBe(1497);
    expect(((await (await fetch(`${url}/syn/_doc/d3`)).json()) as { found: boolean }).found).toBe(false);

    const filters: string[][] = [[], ['--filter', 'lang=en'], ['--filter', 'year>=2005', '--filter', 'tags=a'], ['--filter', 'source.kind!=blog', '--filter', 'lang in de,fr'], ['--filter', 'year=2010'], ['--filter', 'lang not in en']];
    for (const filter of filters) {
      const local = parseLines(await cli(['search', index, '--queries', join(work, 'queries.jsonl'), '--exact', '--format', 'json', ...filter]));
      const remote = parseLines(await cli(['search', index, '--queries', join(work, 'queries.jsonl'), '--format', 'json', '--engine', 'opensearch', '--url', url, '--index', 'syn', ...filter]));
      const m = compare(local, remote);
      console.log(`synthetic ${filter.join(' ') || '(no filter)'}: overlap@10 ${m.overlap.toFixed(4)}, max relative score difference ${m.maxRelative.toExponential(2)} over ${m.queries} queries`);
      expect(m.overlap).toBeGreaterThanOrEqual(0.98);
      expect(m.maxRelative).toBeLessThanOrEqual(TOLERANCE);
    }
  }, 240_000);

  it('--out writes the create-index body (rank_features, typed metadata) and the bulk requests', async () => {
    const out = join(work, 'bulk.ndjson');
    await cli(['export', 'opensearch', join(work, 'syn-index'), '--index', 'files', '--out', out, '--shards', '3']);
    const mapping = JSON.parse(readFileSync(join(work, 'bulk.mapping.json'), 'utf8')) as { settings: { index: { number_of_shards: number } }; mappings: { properties: Record<string, { type: string; properties?: Record<string, { type: string }> }> } };
    expect(mapping.settings.index.number_of_shards).toBe(3);
    expect(mapping.mappings.properties.vector.type).toBe('rank_features');
    expect(mapping.mappings.properties.metadata.properties).toMatchObject({ year: { type: 'double' }, lang: { type: 'keyword' }, code: { type: 'keyword' } });
    const bulk = readFileSync(out, 'utf8').trim().split('\n');
    expect(bulk.length).toBe(2 * 1497);
    const first = JSON.parse(bulk[1]) as { vector: Record<string, number> };
    expect(Object.keys(first.vector)).toContain('u%2Es%2E');
  }, 60_000);

  it('bench --engine opensearch: recall@10 against local exact search and latency; connection flags need --engine opensearch', async () => {
    const index = join(work, 'syn-index');
    const report = JSON.parse(await cli(['bench', index, '--queries', join(work, 'queries.jsonl'), '--json', '--engine', 'opensearch', '--url', url, '--index', 'syn'])) as { recall_at_k: number; queries: number; latency_ms: { p50: number } };
    expect(report.queries).toBe(25);
    expect(report.recall_at_k).toBeGreaterThanOrEqual(0.98);
    expect(report.latency_ms.p50).toBeGreaterThan(0);
    const refused = await runCliAsync(['search', index, '{"t1": 1}', '--index', 'syn']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('--index needs --engine opensearch');
    const seismicOnly = await runCliAsync(['search', index, '{"t1": 1}', '--query-cut', '3', '--engine', 'opensearch', '--url', url, '--index', 'syn']);
    expect(seismicOnly.status).toBe(2);
    expect(seismicOnly.stderr).toContain('--query-cut applies to the Seismic method only');
    const unreachable = await runCliAsync(['search', index, '{"t1": 1}', '--engine', 'opensearch', '--url', 'http://127.0.0.1:9', '--index', 'syn', '--retries', '1']);
    expect(unreachable.status).toBe(2);
    expect(unreachable.stderr).toContain('[E_OPENSEARCH]');
  }, 120_000);

  it.runIf(hasShared)('SciFact lexical (BM25) vectors: same top-10 for text queries encoded locally', async () => {
    const index = join(work, 'scifact');
    await cli(['index', join(SHARED, 'collections', 'scifact', 'corpus.jsonl'), '--input', 'text', '--out', index, '--quiet']);
    const queries = readFileSync(join(SHARED, 'collections', 'scifact', 'queries.jsonl'), 'utf8').trim().split('\n').slice(0, 100);
    writeFileSync(join(work, 'scifact-queries.jsonl'), `${queries.join('\n')}\n`);
    await cli(['export', 'opensearch', index, '--url', url, '--index', 'scifact', '--replicas', '0', '--quiet']);
    const local = parseLines(await cli(['search', index, '--queries', join(work, 'scifact-queries.jsonl'), '--exact', '--format', 'json']));
    const remote = parseLines(await cli(['search', index, '--queries', join(work, 'scifact-queries.jsonl'), '--format', 'json', '--engine', 'opensearch', '--url', url, '--index', 'scifact']));
    const m = compare(local, remote);
    console.log(`SciFact BM25: overlap@10 ${m.overlap.toFixed(4)}, max relative score difference ${m.maxRelative.toExponential(2)} over ${m.queries} queries`);
    expect(m.overlap).toBeGreaterThanOrEqual(0.98);
    expect(m.maxRelative).toBeLessThanOrEqual(TOLERANCE);
    // eval against the qrels: the cluster's run scores as the local exact run does.
    const qrels = join(SHARED, 'collections', 'scifact', 'qrels.txt');
    const localEval = JSON.parse(await cli(['eval', index, '--queries', join(work, 'scifact-queries.jsonl'), '--qrels', qrels, '--exact', '--json'])) as { ndcg_at_10: number };
    const remoteEval = JSON.parse(await cli(['eval', index, '--queries', join(work, 'scifact-queries.jsonl'), '--qrels', qrels, '--json', '--engine', 'opensearch', '--url', url, '--index', 'scifact'])) as { ndcg_at_10: number; engine: string };
    console.log(`SciFact BM25 nDCG@10 (first 100 queries): local exact ${localEval.ndcg_at_10.toFixed(4)}, OpenSearch ${remoteEval.ndcg_at_10.toFixed(4)}`);
    expect(remoteEval.engine).toBe('opensearch');
    expect(Math.abs(remoteEval.ndcg_at_10 - localEval.ndcg_at_10)).toBeLessThanOrEqual(0.005);
  }, 240_000);
});
