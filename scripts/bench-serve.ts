/**
 * Load test of `spladex serve` on loopback: the server runs as its own process (the built CLI),
 * autocannon drives `POST /search` with the queries of a query file (cycled), closed-loop, at each
 * concurrency for a fixed time, then a soak at one concurrency records the server's resident memory
 * every few seconds. Bounded: every phase has a duration, the whole run `phases × duration`.
 *
 *   node dist/scripts/bench-serve.js <index> <queries.jsonl> [--threads 2] [--connections 1,8,64]
 *     [--duration 10] [--soak 60] [--soak-connections 8] [--rss-every 5] [--k 10] [--options '{"exact": true}']
 *     [--out results.json]
 *
 * Latency percentiles come from autocannon's per-response times (fractional milliseconds) rather
 * than its histogram, which keeps whole milliseconds only (a sub-millisecond search would read 0).
 * The client shares the machine with the server: on a 2-core box autocannon takes part of a core,
 * so the figures are a floor of what a separate client machine would see. `os.loadavg()` is
 * recorded before and after each phase, to tell a busy machine from a slow server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

interface PhaseResult {
  phase: string;
  connections: number;
  seconds: number;
  requests: number;
  qps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** `GET /health` sent every 100 ms during the phase: how long a cheap request waits behind the load (event-loop stalls show here). */
  healthMs: { p50: number; max: number; n: number };
  errors: number;
  non2xx: number;
  timeouts: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  rssMiB?: Array<{ at: number; mib: number }>;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
const loads = (): number[] => loadavg().map((l) => round(l, 2));

/** Resident memory of a process in MiB, from /proc (Linux); undefined elsewhere. */
function rssMiB(pid: number): number | undefined {
  const path = `/proc/${pid}/status`;
  if (!existsSync(path)) return undefined;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(path, 'utf8'));
  return m === null ? undefined : round(Number(m[1]) / 1024, 1);
}

async function startServer(dir: string, threads: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'serve', dir, '--port', '0', '--threads', String(threads)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m !== null) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`spladex serve exited with ${code} before listening`)));
  });
  return { url, child };
}

/** One closed-loop phase: `connections` clients, each sending the next query as soon as its answer came. */
async function phase(name: string, url: string, bodies: string[], connections: number, seconds: number, pid: number, rssEvery?: number): Promise<PhaseResult> {
  let next = 0;
  const times: number[] = [];
  const loadavgBefore = loads();
  const rss: Array<{ at: number; mib: number }> = [];
  const started = performance.now();
  const sample = (): void => {
    const mib = rssMiB(pid);
    if (mib !== undefined) rss.push({ at: round((performance.now() - started) / 1000, 1), mib });
  };
  if (rssEvery !== undefined) sample();
  const timer = rssEvery === undefined ? undefined : setInterval(sample, rssEvery * 1000);
  const health: number[] = [];
  let probing = false;
  const probe = setInterval(() => {
    if (probing) return;
    probing = true;
    const sent = performance.now();
    void fetch(`${url}/health`)
      .then((r) => r.arrayBuffer())
      .then(
        () => health.push(performance.now() - sent),
        () => undefined,
      )
      .finally(() => (probing = false));
  }, 100);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/search`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        connections,
        duration: seconds,
        requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) }],
      },
      (error, done) => (error === null || error === undefined ? resolve(done) : reject(error)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode === 200) times.push(responseTime);
    });
  });
  if (timer !== undefined) clearInterval(timer);
  clearInterval(probe);
  if (rssEvery !== undefined) sample();
  const sorted = Float64Array.from(times).sort();
  const healthSorted = Float64Array.from(health).sort();
  return {
    phase: name,
    connections,
    seconds,
    requests: result.requests.total,
    qps: round(result.requests.total / seconds, 1),
    latencyMs: { p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? NaN) },
    healthMs: { p50: round(percentile(healthSorted, 50)), max: round(healthSorted[healthSorted.length - 1] ?? NaN), n: healthSorted.length },
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    loadavgBefore,
    loadavgAfter: loads(),
    ...(rssEvery === undefined ? {} : { rssMiB: rss }),
  };
}

function markdown(index: string, threads: number, options: string, results: PhaseResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.phase} | ${r.connections} | ${r.seconds} | ${r.qps} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.healthMs.p50} / ${r.healthMs.max} | ${r.errors + r.non2xx + r.timeouts} | ${r.loadavgBefore[0]} → ${r.loadavgAfter[0]} |`,
  );
  const soak = results.find((r) => r.rssMiB !== undefined);
  const lines = [
    `Index \`${index}\`, \`spladex serve --threads ${threads}\`, ${availableParallelism()} cores, autocannon on the same machine, search options ${options === '{}' ? 'k only' : options}.`,
    '',
    '| phase | connections | s | QPS | p50 ms | p99 ms | /health p50 / max ms | errors | load (1 min) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ];
  if (soak?.rssMiB !== undefined && soak.rssMiB.length > 0) {
    const mib = soak.rssMiB.map((s) => s.mib);
    lines.push('', `Soak RSS (MiB, every few seconds): ${mib.join(', ')} — first ${mib[0]}, last ${mib[mib.length - 1]}, max ${Math.max(...mib)}.`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      threads: { type: 'string', default: String(availableParallelism()) },
      connections: { type: 'string', default: '1,8,64' },
      duration: { type: 'string', default: '10' },
      soak: { type: 'string', default: '60' },
      'soak-connections': { type: 'string', default: '8' },
      'rss-every': { type: 'string', default: '5' },
      k: { type: 'string', default: '10' },
      // Further search options of every request, as JSON, e.g. '{"exact": true}' for searches that cost more than the HTTP round trip.
      options: { type: 'string', default: '{}' },
      out: { type: 'string' },
    },
  });
  const [index, queryFile] = positionals;
  if (index === undefined || queryFile === undefined) throw new Error('usage: bench-serve <index> <queries.jsonl> [--threads n] [--connections 1,8,64] [--duration s] [--soak s] [--out file.json]');
  const threads = Number(values.threads);
  const k = Number(values.k);
  const extra = JSON.parse(values.options) as Record<string, unknown>;
  const bodies = readFileSync(queryFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.stringify({ query: { vector: (JSON.parse(line) as { vector: Record<string, number> }).vector }, k, ...extra }));
  const { url, child } = await startServer(index, threads);
  const pid = child.pid!;
  const results: PhaseResult[] = [];
  try {
    const rssAtStart = rssMiB(pid);
    await phase('warm-up', url, bodies, 8, 3, pid);
    for (const c of values.connections.split(',').map(Number)) {
      const r = await phase(`c${c}`, url, bodies, c, Number(values.duration), pid);
      results.push(r);
      console.error(`c=${c}: ${r.qps} QPS, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, /health p50 ${r.healthMs.p50} max ${r.healthMs.max} ms, errors ${r.errors + r.non2xx + r.timeouts}, load ${r.loadavgAfter.join(' ')}`);
    }
    if (Number(values.soak) > 0) {
      const r = await phase('soak', url, bodies, Number(values['soak-connections']), Number(values.soak), pid, Number(values['rss-every']));
      results.push(r);
      console.error(`soak: ${r.qps} QPS, p99 ${r.latencyMs.p99} ms, RSS ${r.rssMiB?.map((s) => s.mib).join(' ')} MiB`);
    }
    const report = { index, threads, cores: availableParallelism(), k, options: extra, queries: bodies.length, rssAtStartMiB: rssAtStart, results };
    if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(markdown(index, threads, values.options, results));
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

await main();
