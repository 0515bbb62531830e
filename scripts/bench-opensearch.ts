/**
 * OpenSearch beside spladex (`npm run bench -- --parts opensearch`, or alone:
 * `node dist/scripts/bench-opensearch.js --docs 100000 --queries 200`): on one synthetic
 * collection and query set, the latency (one client, queries one after another, after a warm-up)
 * and recall@10 against exact search of spladex's local default search and exact search, and of
 * OpenSearch's exact `rank_features` scoring on a real node started here (one shard, force-merged
 * to one Lucene segment, 1 GiB heap), plus the export's throughput in documents per second.
 * The plugin's Seismic method is reported as not run where the neural-search plugin is absent
 * (it is not on Maven Central; docs/OPENSEARCH.md). Writes its section of docs/BENCHMARKS.md
 * between `<!-- opensearch:start -->` and `<!-- opensearch:end -->`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpladexIndex, type SearchHit, type SparseVectorInput } from '../src/index.js';
import { exportToOpenSearch, OpenSearchSearcher } from '../src/opensearch/index.js';
import { describeMachine, formatMachine } from '../src/bench/index.js';
import { hasOpenSearch, OPENSEARCH_MISSING, OPENSEARCH_VERSION, OpenSearchCluster } from './opensearch/cluster.js';
import { spliceSection } from './report-sections.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = existsSync(join(HERE, '../package.json')) ? join(HERE, '..') : join(HERE, '../..');
/** The CLI built beside this script (dist/cli when this is dist/scripts). */
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const MARKERS = { start: '<!-- opensearch:start -->', end: '<!-- opensearch:end -->' };
const WARMUP = 20;

interface EngineResult {
  name: string;
  recall: number;
  p50: number;
  p99: number;
  mean: number;
}

export interface OpenSearchBenchResult {
  docs: number;
  queries: number;
  exportSeconds: number;
  exportDocsPerSecond: number;
  engines: EngineResult[];
  seismic: string;
  machine: string;
  version: string;
}

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`spladex ${args.join(' ')} failed: ${r.stderr}`);
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

function summarise(name: string, times: number[], results: SearchHit[][], exact: SearchHit[][]): EngineResult {
  const sorted = [...times].sort((a, b) => a - b);
  let recall = 0;
  results.forEach((hits, q) => {
    const truth = new Set(exact[q].map((h) => h.id));
    recall += truth.size === 0 ? 1 : hits.filter((h) => truth.has(h.id)).length / truth.size;
  });
  return { name, recall: recall / results.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean: times.reduce((a, b) => a + b, 0) / times.length };
}

async function timed<T>(queries: readonly SparseVectorInput[], run: (q: SparseVectorInput) => T | Promise<T>): Promise<{ times: number[]; results: T[] }> {
  for (let i = 0; i < Math.min(WARMUP, queries.length); i++) await run(queries[i]);
  const times: number[] = [];
  const results: T[] = [];
  for (const q of queries) {
    const t = performance.now();
    results.push(await run(q));
    times.push(performance.now() - t);
  }
  return { times, results };
}

/** Runs the comparison on `<data>/synthetic-<docs>` (generated and indexed when missing). */
export async function runOpenSearchBench(o: { docs: number; queries: number; data: string; log: (m: string) => void }): Promise<OpenSearchBenchResult | undefined> {
  if (!hasOpenSearch) {
    o.log(`opensearch: skipped: ${OPENSEARCH_MISSING}`);
    return undefined;
  }
  const dir = join(o.data, `synthetic-${o.docs}`);
  if (!existsSync(join(dir, 'documents.jsonl'))) {
    o.log(`opensearch: generating ${o.docs} documents`);
    cli(['synth', '--out', dir, '--docs', String(o.docs), '--queries', String(o.queries), '--seed', '42']);
  }
  const indexDir = join(dir, 'index');
  if (!existsSync(join(indexDir, 'spladex.db'))) {
    o.log('opensearch: building the spladex index');
    cli(['index', join(dir, 'documents.jsonl'), '--out', indexDir, '--quiet']);
  }
  const queries = readFileSync(join(dir, 'queries.jsonl'), 'utf8').trim().split('\n').slice(0, o.queries).map((l) => (JSON.parse(l) as { vector: SparseVectorInput }).vector);
  const index = SpladexIndex.open(indexDir);
  const cluster = await OpenSearchCluster.start({ nodes: 1, heapMb: 1024 });
  try {
    const connection = { url: cluster.urls, index: 'bench', requestTimeout: 300_000 };
    o.log('opensearch: exporting');
    const summary = await exportToOpenSearch(indexDir, connection, { shards: 1, replicas: 0, batchDocs: 1000, overwrite: true });
    o.log(`opensearch: exported ${summary.documents} documents in ${summary.seconds.toFixed(1)} s`);
    // One Lucene segment, as a spladex index after its build: latency without merge noise.
    await fetch(`${cluster.urls[0]}/bench/_forcemerge?max_num_segments=1`, { method: 'POST', signal: AbortSignal.timeout(1_800_000) });
    const exact = queries.map((q) => index.search(q, { k: 10, mode: 'maxscore' }));
    const local = await timed(queries, (q) => index.search(q, { k: 10 }));
    const localExact = await timed(queries, (q) => index.search(q, { k: 10, mode: 'maxscore' }));
    const searcher = await OpenSearchSearcher.open(connection);
    const remote = await timed(queries, (q) => searcher.search(q, { k: 10 }));
    await searcher.close();
    return {
      docs: summary.documents,
      queries: queries.length,
      exportSeconds: summary.seconds,
      exportDocsPerSecond: summary.docsPerSecond,
      engines: [summarise('spladex, calibrated default (in process)', local.times, local.results, exact), summarise('spladex, exact MaxScore (in process)', localExact.times, localExact.results, exact), summarise('OpenSearch exact rank_features (HTTP, one client)', remote.times, remote.results, exact)],
      seismic: 'not run: the neural-search plugin (sparse_vector / Seismic, OpenSearch ≥ 3.3) is not published on Maven Central, the only source this machine reaches',
      machine: formatMachine(describeMachine()),
      version: OPENSEARCH_VERSION,
    };
  } finally {
    index.close();
    await cluster.stop();
  }
}

function sizeBlock(r: OpenSearchBenchResult): string[] {
  const rows = r.engines.map((e) => `| ${e.name} | ${e.recall.toFixed(4)} | ${e.mean.toFixed(3)} | ${e.p50.toFixed(3)} | ${e.p99.toFixed(3)} |`);
  return [
    `### ${r.docs.toLocaleString('en-US')} documents`,
    '',
    `${r.docs.toLocaleString('en-US')} synthetic documents (\`spladex synth\`, seed 42), ${r.queries} queries, k = 10. Machine: ${r.machine}.`,
    '',
    '| engine | recall@10 | mean | p50 | p99 |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Export (\`spladex export opensearch\`, batches of 1,000, from index creation to the count check): ${r.exportSeconds.toFixed(1)} s, **${r.exportDocsPerSecond.toFixed(0)} documents/s**.`,
    '',
  ];
}

/** The report section: one block per collection size measured so far. */
export function openSearchSection(results: readonly OpenSearchBenchResult[]): string {
  const first = results[0];
  return [
    MARKERS.start,
    '## OpenSearch beside spladex',
    '',
    `recall@10 against exact search; latency in ms, one client, queries one after another after ${WARMUP} warm-up queries. OpenSearch ${first.version}: one node on loopback (1 GiB heap), one shard, no replica, force-merged to one segment, exact \`rank_features\` scoring over HTTP; spladex in process, one thread. Written by \`scripts/bench-opensearch.ts\` (\`npm run bench -- --parts opensearch\`). OpenSearch's recall below 1 is rank_features' 9-bit weights (docs/OPENSEARCH.md, "Tolerance").`,
    '',
    ...[...results].sort((a, b) => a.docs - b.docs).flatMap(sizeBlock),
    `OpenSearch's Seismic method: ${first.seismic}.`,
    MARKERS.end,
  ].join('\n');
}

/** The suite's part: runs the comparison and splices its section into `outFile`. */
export async function openSearchPart(o: { docs: number; queries: number }, dataDir: string, outFile: string, log: (m: string) => void): Promise<void> {
  const result = await runOpenSearchBench({ docs: o.docs, queries: o.queries, data: dataDir, log });
  if (result === undefined) return;
  mkdirSync(join(dataDir, 'opensearch'), { recursive: true });
  writeFileSync(join(dataDir, 'opensearch', `results-${o.docs}.json`), JSON.stringify(result, null, 2));
  const all = readdirSync(join(dataDir, 'opensearch'))
    .filter((f) => /^results-\d+\.json$/.test(f))
    .map((f) => JSON.parse(readFileSync(join(dataDir, 'opensearch', f), 'utf8')) as OpenSearchBenchResult);
  writeFileSync(outFile, spliceSection(existsSync(outFile) ? readFileSync(outFile, 'utf8') : '', MARKERS, openSearchSection(all)));
  log(`updated the OpenSearch section of ${outFile}`);
}

// Run directly: node dist/scripts/bench-opensearch.js [--docs N] [--queries N]
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  openSearchPart({ docs: arg('--docs', 100_000), queries: arg('--queries', 200) }, join(ROOT, 'bench-data'), join(ROOT, 'docs', 'BENCHMARKS.md'), (m) => process.stderr.write(`${m}\n`)).catch((error: unknown) => {
    process.stderr.write(`bench-opensearch: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
