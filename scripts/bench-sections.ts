/** The Seismic and serving parts of the benchmark suite (their sections is written between markers, report-sections.ts). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSeismicComparison, seismicSection, spliceSeismicSection, type SeismicComparison } from './bench-seismic.js';
import { spliceSection } from './report-sections.js';


/**
 * The yardstick: the original Seismic (pyseismic-lsr, in a local virtual environment) against
 * spladex on the suite's 1M collections, side by side in one run (scripts/bench-seismic.ts). Needs
 * the collections of parts (a) and (b), the caller generates (a); skipped with a note where
 * Python is absent. With --reuse-index, Seismic's index is reused too when its settings match.
 */
export async function seismicPart(o: { docs: number; queries: number; reuseIndex: boolean }, dataDir: string, outFile: string, log: (message: string) => void): Promise<void> {
  const collections: Array<{ name: string; dir: string; queries: string }> = [{ name: `synthetic-${o.docs}`, dir: join(dataDir, `synthetic-${o.docs}`), queries: join(dataDir, `synthetic-${o.docs}`, 'queries.jsonl') }];
  const msmarcoQueries = join(dataDir, `msmarco-dev-${o.queries}.scaled.jsonl`);
  if (existsSync(msmarcoQueries)) collections.push({ name: `msmarco-${o.docs}`, dir: join(dataDir, `synthetic-bert-${o.docs}`), queries: msmarcoQueries });
  const resultsFile = join(dataDir, 'seismic-cmp', 'seismic-results.json');
  const results: Record<string, SeismicComparison> = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { collections: Record<string, SeismicComparison> }).collections : {};
  for (const c of collections) {
    if (!existsSync(join(c.dir, 'documents.jsonl'))) continue;
    results[c.name] = await runSeismicComparison({
      name: c.name,
      documents: join(c.dir, 'documents.jsonl'),
      queries: c.queries,
      spladexIndex: join(c.dir, 'index'),
      workDir: join(dataDir, 'seismic-cmp', c.name),
      limit: o.queries,
      reuseSeismicIndex: o.reuseIndex,
      rebuildSpladex: !o.reuseIndex,
      plotFile: join(dirname(outFile), `bench-seismic-${c.name}.svg`),
      log,
    });
    mkdirSync(dirname(resultsFile), { recursive: true });
    writeFileSync(resultsFile, JSON.stringify({ collections: results }, null, 2));
    writeFileSync(outFile, spliceSeismicSection(existsSync(outFile) ? readFileSync(outFile, 'utf8') : '', seismicSection(Object.values(results), dirname(outFile))));
    log(`updated the Seismic section of ${outFile}`);
  }
}

const SERVING_MARKERS = { start: '<!-- serving:start -->', end: '<!-- serving:end -->' };

/**
 * The serving part: the search pool against the synchronous reader (scripts/bench-pool.ts), then
 * `spladex serve` under a closed-loop HTTP load at concurrency 1, 8 and 64 and a 60 s soak
 * (scripts/bench-serve.ts), on the suite's calibrated synthetic index (built by the synthetic or
 * Seismic part). Each script runs as its own process and prints its tables, which become the
 * report's serving section. About 3 minutes.
 */
export function servingPart(o: { docs: number }, dataDir: string, outFile: string, log: (message: string) => void): void {
  const collection = join(dataDir, `synthetic-${o.docs}`);
  const index = join(collection, 'index');
  const queries = join(collection, 'queries.jsonl');
  if (!existsSync(join(index, 'spladex.db'))) {
    log(`serving: ${index} is not built; run the synthetic part first (skipped)`);
    return;
  }
  const workDir = join(dataDir, 'serving');
  mkdirSync(workDir, { recursive: true });
  const script = (name: string): string => fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  const run = (name: string, args: string[]): string => {
    log(`serving: ${name} ${args.join(' ')}`);
    const child = spawnSync(process.execPath, [script(name), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
    if (child.status !== 0) throw new Error(`${name} failed with status ${child.status}`);
    return child.stdout.trim();
  };
  const poolTable = run('bench-pool', ['--index', index, '--queries', queries, '--threads', '1,2', '--out', join(workDir, 'pool.json')]);
  const serveTables = run('bench-serve', [index, queries, '--threads', '2', '--out', join(workDir, 'serve.json')]);
  const block = [
    SERVING_MARKERS.start,
    `## Serving: the search pool and \`spladex serve\` on the ${o.docs.toLocaleString('en-US')}-document index`,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench -- --parts serving\` (scripts/bench-pool.ts, scripts/bench-serve.ts; see docs/SERVING.md and docs/SERVING-HTTP.md), with the index's calibrated defaults and k = 10. Targets: a 2-thread pool at ≥ 1.8× the QPS of one thread, at ≤ 1.15× the single-threaded reader's resident memory.`,
    '',
    '**Search pool** (library calls, a closed loop of 4 requests per thread; each configuration in its own process):',
    '',
    poolTable,
    '',
    '**HTTP** (`spladex serve --threads 2`, autocannon on the same machine over loopback, `POST /search` with a vector query; `/health` timed beside the load). On a 2-core machine the load generator takes part of a core, so these are a floor of what a separate client would see:',
    '',
    serveTables,
    SERVING_MARKERS.end,
  ].join('\n');
  writeFileSync(outFile, spliceSection(existsSync(outFile) ? readFileSync(outFile, 'utf8') : '', SERVING_MARKERS, block));
  log(`updated the serving section of ${outFile}`);
}
