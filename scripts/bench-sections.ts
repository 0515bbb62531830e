/**
 * Sections of the benchmark report that other scripts write between markers (the generalisation
 * suite, the Seismic yardstick): keeping them across a rewrite of the report's body, and the
 * Seismic part of the suite.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runSeismicComparison, seismicSection, spliceSeismicSection, type SeismicComparison } from './bench-seismic.js';

/** Marker names of sections other scripts splice into the report; a rewrite of the body keeps them. */
const SPLICED_SECTIONS = ['generalisation', 'seismic'] as const;

/** `fresh` (a rewritten report) with every spliced section of `previous` that `fresh` lacks appended. */
export function keepSplicedSections(previous: string, fresh: string): string {
  let out = fresh;
  for (const name of SPLICED_SECTIONS) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const from = previous.indexOf(start);
    const to = previous.indexOf(end);
    if (from < 0 || to < from || out.includes(start)) continue;
    out = `${out.trimEnd()}\n\n${previous.slice(from, to + end.length)}\n`;
  }
  return out;
}

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
