/**
 * Throughput, latency and memory of the search pool (src/pool/) against the synchronous reader.
 *
 *   node dist/scripts/bench-pool.js --index <dir> --queries <file.jsonl> [--threads 1,2]
 *     [--seconds 15] [--warmup 3] [--k 10] [--out result.json]
 *
 * Each configuration runs in a fresh process, so its resident memory is its own: the single-
 * threaded reader searching in a loop (one query at a time, the in-process baseline), then a pool
 * of each thread count under a closed loop of `threads × 4` concurrent clients (each sends its
 * next query when the previous one is answered), which saturates the threads without growing the
 * queue. Latency is per request, queueing included. Search options are the index's defaults (its
 * calibrated setting) with `k`. The machine's load average is recorded with each run, because a
 * shared machine changes the figures. On Linux, the main thread's own CPU per query is reported
 * too (from /proc): the part of a request no search thread can take, which bounds the scaling.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadQueries, openSearchPool, SpladexIndex, type SparseVectorInput } from '../src/index.js';

interface RunResult {
  role: 'reader' | 'pool';
  threads: number;
  concurrency: number;
  queries: number;
  seconds: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * CPU time of the whole process (every thread) per query in the timed phase: what a query costs
   * whatever else the machine runs, so the pool's overhead shows even when the load average is high.
   */
  cpuMsPerQuery: number;
  /** The main thread's share of it (Linux; undefined elsewhere). */
  mainThreadCpuMsPerQuery: number | undefined;
  /** Resident memory at the end of the run, and its peak, in MB. */
  rssMb: number;
  maxRssMb: number;
  openSeconds: number;
  loadAverage: { before: number[]; after: number[] };
}

const { values } = parseArgs({
  options: {
    index: { type: 'string' },
    queries: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    k: { type: 'string', default: '10' },
    out: { type: 'string' },
    role: { type: 'string' },
  },
});

if (values.index === undefined || values.queries === undefined) {
  process.stderr.write('usage: bench-pool --index <dir> --queries <file.jsonl> [--threads 1,2] [--seconds 15] [--warmup 3] [--k 10] [--out file.json]\n');
  process.exit(2);
}
const index = values.index;
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const k = Number(values.k);

const MB = 1024 * 1024;
const percentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** CPU time of the main thread so far in ms, from the scheduler's statistics (Linux only: its thread id is the process id). */
function mainThreadCpuMs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

function summarise(role: RunResult['role'], threads: number, concurrency: number, latencies: number[], elapsed: number, cpu: NodeJS.CpuUsage, mainCpuMs: number | undefined, openSeconds: number, before: number[]): RunResult {
  const sorted = Float64Array.from(latencies).sort();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const mainNow = mainThreadCpuMs();
  return {
    role,
    threads,
    concurrency,
    queries: latencies.length,
    seconds: round(elapsed, 1),
    qps: round(latencies.length / elapsed, 0),
    p50Ms: round(percentile(sorted, 0.5), 3),
    p99Ms: round(percentile(sorted, 0.99), 3),
    cpuMsPerQuery: round(cpuMs / latencies.length, 4),
    mainThreadCpuMsPerQuery: mainCpuMs === undefined || mainNow === undefined ? undefined : round((mainNow - mainCpuMs) / latencies.length, 4),
    rssMb: round(process.memoryUsage().rss / MB, 0),
    // maxRSS is in kilobytes.
    maxRssMb: round(process.resourceUsage().maxRSS / 1024, 0),
    openSeconds: round(openSeconds, 1),
    loadAverage: { before: before.map((l) => round(l)), after: loadavg().map((l) => round(l)) },
  };
}

/** The synchronous reader, one query after another, for `warmup` then `seconds`. */
async function runReader(vectors: SparseVectorInput[]): Promise<RunResult> {
  const before = loadavg();
  const opened = performance.now();
  const reader = SpladexIndex.open(index);
  const openSeconds = (performance.now() - opened) / 1000;
  let next = 0;
  const loop = (duration: number, latencies?: number[]): void => {
    const end = performance.now() + duration * 1000;
    while (performance.now() < end) {
      const started = performance.now();
      reader.search(vectors[next++ % vectors.length], { k });
      latencies?.push(performance.now() - started);
    }
  };
  loop(warmup);
  const latencies: number[] = [];
  const started = performance.now();
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuMs();
  loop(seconds, latencies);
  const result = summarise('reader', 1, 1, latencies, (performance.now() - started) / 1000, process.cpuUsage(cpu), mainCpu, openSeconds, before);
  reader.close();
  return result;
}

/** A pool of `threads` under a closed loop of `threads × 4` clients. */
async function runPool(vectors: SparseVectorInput[], threads: number): Promise<RunResult> {
  const before = loadavg();
  const opened = performance.now();
  const pool = await openSearchPool(index, { threads });
  const openSeconds = (performance.now() - opened) / 1000;
  const concurrency = threads * 4;
  let next = 0;
  const loop = async (duration: number, latencies?: number[]): Promise<void> => {
    const end = performance.now() + duration * 1000;
    const client = async (): Promise<void> => {
      while (performance.now() < end) {
        const started = performance.now();
        await pool.search(vectors[next++ % vectors.length], { k });
        latencies?.push(performance.now() - started);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, client));
  };
  await loop(warmup);
  const latencies: number[] = [];
  const started = performance.now();
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuMs();
  await loop(seconds, latencies);
  const result = summarise('pool', threads, concurrency, latencies, (performance.now() - started) / 1000, process.cpuUsage(cpu), mainCpu, openSeconds, before);
  await pool.close();
  return result;
}

async function child(role: string): Promise<void> {
  const vectors = (await loadQueries(values.queries!)).map((q) => q.vector);
  const result = role === 'reader' ? await runReader(vectors) : await runPool(vectors, Number(role.slice('pool-'.length)));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Runs each configuration in its own process, in turn, and prints the table. */
function parent(): void {
  const script = fileURLToPath(import.meta.url);
  const roles = ['reader', ...values.threads.split(',').map((t) => `pool-${Number(t)}`)];
  const forward = ['--index', index, '--queries', values.queries!, '--seconds', String(seconds), '--warmup', String(warmup), '--k', String(k)];
  const results: RunResult[] = [];
  for (const role of roles) {
    process.stderr.write(`bench-pool: ${role} on ${index} …\n`);
    const run = spawnSync(process.execPath, [script, ...forward, '--role', role], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * MB });
    if (run.status !== 0) throw new Error(`bench-pool: ${role} failed with status ${run.status}`);
    results.push(JSON.parse(run.stdout.trim().split('\n').pop()!) as RunResult);
  }
  const reader = results[0];
  const one = results.find((r) => r.role === 'pool' && r.threads === 1);
  const rows = results.map((r) => {
    const name = r.role === 'reader' ? 'reader (1 thread, in process)' : `pool, ${r.threads} thread${r.threads === 1 ? '' : 's'}`;
    const speedup = r.role === 'pool' && one !== undefined ? `${(r.qps / one.qps).toFixed(2)}×` : '';
    return `| ${name} | ${r.concurrency} | ${r.qps} | ${speedup} | ${r.p50Ms} | ${r.p99Ms} | ${r.cpuMsPerQuery} | ${r.mainThreadCpuMsPerQuery ?? '–'} | ${r.rssMb} (${(r.rssMb / reader.rssMb).toFixed(3)}×) | ${r.maxRssMb} | ${r.loadAverage.before[0]} → ${r.loadAverage.after[0]} |`;
  });
  const table = [
    '| configuration | concurrency | QPS | vs pool(1) | p50 ms | p99 ms | CPU ms/query | main thread CPU ms/query | RSS MB (vs reader) | peak RSS MB | load avg (1 min) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  process.stdout.write(`${table}\n`);
  if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify({ index, queries: values.queries, k, seconds, warmup, results }, null, 2)}\n`);
}

if (values.role !== undefined) await child(values.role);
else parent();
