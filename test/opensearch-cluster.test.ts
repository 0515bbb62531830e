/**
 * A 3-node OpenSearch cluster on loopback (three HTTP and transport ports, three data
 * directories): an index of 6 shards with 1 replica answers exactly as a 1-shard index; a node
 * killed in the middle of a search loop costs retries, never a wrong or short answer; and an
 * export interrupted half-way resumes from its checkpoint after a node restart, ending with the
 * right count and the same answers. Skipped when OpenSearch is not installed (CI installs it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenSearch, OPENSEARCH_MISSING, OpenSearchCluster } from '../scripts/opensearch/cluster.js';
import { exportToOpenSearch, OpenSearchSearcher } from '../src/opensearch/index.js';
import { isSpladexError, type SearchHit, type SparseVectorInput } from '../src/index.js';
import { hasBuild, runCliAsync } from './helpers/cli.js';

const runs = hasBuild && (hasOpenSearch || process.env.CI !== undefined);
if (!hasOpenSearch) console.log(`OpenSearch cluster tests: ${OPENSEARCH_MISSING}${process.env.CI !== undefined ? ' (CI: failing instead of skipping)' : '; skipped'}`);

describe.runIf(runs)('OpenSearch: a 3-node cluster', () => {
  let cluster: OpenSearchCluster;
  let work: string;
  let index: string;
  let queries: SparseVectorInput[];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'spladex-os-cluster-'));
    const synth = await runCliAsync(['synth', '--out', join(work, 'syn'), '--docs', '3000', '--queries', '30', '--seed', '5']);
    expect(synth.status, synth.stderr).toBe(0);
    index = join(work, 'index');
    const built = await runCliAsync(['index', join(work, 'syn', 'documents.jsonl'), '--out', index, '--quiet']);
    expect(built.status, built.stderr).toBe(0);
    queries = readFileSync(join(work, 'syn', 'queries.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { vector: SparseVectorInput }).vector);
    const started = performance.now();
    cluster = await OpenSearchCluster.start({ nodes: 3 });
    console.log(`3-node OpenSearch cluster green in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  const searchAll = async (searcher: OpenSearchSearcher): Promise<SearchHit[][]> => {
    const out: SearchHit[][] = [];
    for (const q of queries) out.push(await searcher.search(q, { k: 10 }));
    return out;
  };

  it('6 shards × 1 replica answer exactly as 1 shard; a node killed mid-loop changes no answer', async () => {
    const urls = cluster.urls;
    await exportToOpenSearch(index, { url: urls, index: 'one' }, { shards: 1, replicas: 0 });
    const six = await exportToOpenSearch(index, { url: urls, index: 'six' }, { shards: 6, replicas: 1 });
    expect(six.documents).toBe(3000);
    await cluster.waitForHealth('green', 3);
    const one = await OpenSearchSearcher.open({ url: urls, index: 'one' });
    const expected = await searchAll(one);
    await one.close();
    // Node 0 is never stopped: the client starts on any node, and the others keep serving.
    const searcher = await OpenSearchSearcher.open({ url: urls, index: 'six', requestTimeout: 10_000, retries: 30 });
    expect(await searchAll(searcher)).toEqual(expected);
    let stopped: Promise<void> | undefined;
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      for (let q = 0; q < queries.length; q++) {
        if (round === 1 && q === 5) stopped = cluster.stopNode(2, { hard: true });
        expect(await searcher.search(queries[q], { k: 10 })).toEqual(expected[q]);
      }
    }
    await stopped;
    // The killed node was asked (the client spreads requests over all three) and someone retried.
    expect(searcher.connection.retried).toBeGreaterThan(0);
    console.log(`search loop of ${rounds * queries.length} queries across a killed node: all answers exact, ${searcher.connection.retried} retries`);
    await searcher.close();
    cluster.startNode(2);
    await cluster.waitForHealth('green', 3);
  }, 300_000);

  it('an interrupted export resumes from its checkpoint after a node restart', async () => {
    const urls = cluster.urls;
    const abort = new AbortController();
    const interrupted = await exportToOpenSearch(index, { url: urls, index: 'resume' }, { shards: 3, replicas: 1, batchDocs: 250, checkpointInterval: 0, signal: abort.signal, onProgress: (p) => p.done >= 1000 && abort.abort() }).catch((e: unknown) => e);
    expect(isSpladexError(interrupted, 'E_ABORTED')).toBe(true);
    await cluster.stopNode(1);
    cluster.startNode(1);
    await cluster.waitForHealth('yellow', 3);
    const resumed = await exportToOpenSearch(index, { url: urls, index: 'resume', retries: 30 }, { shards: 3, replicas: 1, batchDocs: 250 });
    expect(resumed.resumedFrom).toBe(1000);
    expect(resumed.sent).toBe(2000);
    expect(resumed.documents).toBe(3000);
    // A rerun of a finished export sends nothing.
    expect(await exportToOpenSearch(index, { url: urls, index: 'resume' })).toMatchObject({ sent: 0, alreadyComplete: true });
    const searcher = await OpenSearchSearcher.open({ url: urls, index: 'resume' });
    const reference = await OpenSearchSearcher.open({ url: urls, index: 'one' });
    expect(await searchAll(searcher)).toEqual(await searchAll(reference));
    await Promise.all([searcher.close(), reference.close()]);
    writeFileSync(join(work, 'done'), '');
  }, 300_000);
});
