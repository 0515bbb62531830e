/** The Seismic part of the benchmark suite (its section is written between markers, report-sections.ts). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runSeismicComparison, seismicSection, spliceSeismicSection, type SeismicComparison } from './bench-seismic.js';


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
