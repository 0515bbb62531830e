/**
 * The benchmark suite's long-document case (`--parts long` of scripts/bench-suite.ts).
 *
 * A document with n terms is in up to n posting lists, so any per-list build step that read it
 * whole would cost n² (docs/PERFORMANCE.md, "Build: long documents"). The case builds, with the CLI
 * and default options, a small synthetic collection alone and then with one long document of each
 * length in `LONG_CASE.terms` appended; the build must stay linear, and within `LONG_CASE.target`
 * seconds with the 100,000-term document (the per-document limit). Its report section sits between
 * markers, so a run of this case alone updates it in place in an existing report.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatWeight, Rng, type SynthOptions } from '../src/bench/index.js';
import type { BuildSummary } from '../src/index.js';
import { spliceSection } from './report-sections.js';

/** One document of each of these lengths, in a collection of `ordinary` synthetic documents. */
export const LONG_CASE = Object.freeze({ terms: [10_000, 30_000, 100_000], ordinary: 3000, target: 2 });

/**
 * Build times (s) of the case before the build's long-document paths (src/segment/long-docs.ts),
 * measured with these collections and the CLI at commit 35c8441 on the suite's 2-core machine, one
 * run each: blocking and the κ-NN graph read a long document whole in each of its lists, so the
 * time grew with its length squared (100k: blocks 152 s, graph 7 s).
 */
const LONG_CASE_BEFORE: Readonly<Record<number, number>> = Object.freeze({ 0: 1.66, 10_000: 3.27, 30_000: 19.7, 100_000: 159 });

const LONG_BEGIN = '<!-- long-documents:begin -->';
const LONG_END = '<!-- long-documents:end -->';

/** Terms of the synthetic vocabulary (t0..t30521); the long document continues with terms of its own. */
const SYNTHETIC_VOCABULARY = 30_522;

export interface LongResult {
  /** Terms of the long document (0: the ordinary documents alone). */
  terms: number;
  documents: number;
  postings: number;
  seconds: BuildSummary['seconds'];
}

/** What the case needs from the suite: builds through the CLI, the cached generator, the log. */
export interface LongCaseTools {
  buildIndex(file: string, out: string): BuildSummary;
  ensureSynthetic(dir: string, options: Partial<SynthOptions>): Promise<void>;
  log(message: string): void;
}

/** Runs the case: the ordinary documents are generated once (cached), the collections with a long document written once. */
export async function runLongCase(seed: number, dataDir: string, tools: LongCaseTools): Promise<LongResult[]> {
  const dir = join(dataDir, `long-${LONG_CASE.ordinary}`);
  await tools.ensureSynthetic(dir, { docs: LONG_CASE.ordinary, queries: 0, seed });
  const ordinary = readFileSync(join(dir, 'documents.jsonl'), 'utf8');
  const results: LongResult[] = [];
  for (const terms of [0, ...LONG_CASE.terms]) {
    const file = join(dir, `with-long-${terms}.jsonl`);
    if (!existsSync(file)) {
      const out = createWriteStream(file);
      out.write(ordinary);
      if (terms > 0) {
        // Weights log-uniform in [e^-4, e], SPLADE's range.
        const rng = new Rng(seed, 0x10c9, terms);
        const parts: string[] = [];
        for (let i = 0; i < terms; i++) parts.push(`${JSON.stringify(i < SYNTHETIC_VOCABULARY ? `t${i}` : `long${i}`)}:${formatWeight(Math.exp(rng.next() * 5 - 4))}`);
        out.write(`{"id":"long-${terms}","vector":{${parts.join(',')}}}\n`);
      }
      out.end();
      await once(out, 'finish');
    }
    const summary = tools.buildIndex(file, join(dir, 'index'));
    results.push({ terms, documents: summary.documents, postings: summary.postings, seconds: summary.seconds });
    tools.log(`long document of ${terms} terms: built in ${summary.seconds.total.toFixed(2)} s`);
  }
  return results;
}

export interface LongReportContext {
  seed: number;
  started: Date;
  commit: string;
  loadBefore: number[];
  loadAfter: number[];
}

type Table = (header: string[], rows: string[][], align?: string[]) => string;

/** The report section, between markers so that a run of this case alone can replace it in place. */
export function longSection(results: LongResult[], context: LongReportContext, table: Table): string {
  const rows = results.map((r) => {
    const s = r.seconds;
    const before = LONG_CASE_BEFORE[r.terms];
    return [
      r.terms === 0 ? 'none (ordinary documents only)' : r.terms.toLocaleString('en-US'),
      String(r.documents),
      String(r.postings),
      `**${s.total.toFixed(2)} s**`,
      `ingest ${s.ingest.toFixed(2)}, prune ${s.prune.toFixed(2)}, blocks ${s.blocks.toFixed(2)}, knn ${s.knn.toFixed(2)}, write ${s.write.toFixed(2)}`,
      before === undefined ? '—' : `${before} s`,
    ];
  });
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(', ');
  return [
    LONG_BEGIN,
    '## Long documents',
    '',
    `Build time (\`spladex index\`, default options) of ${LONG_CASE.ordinary.toLocaleString('en-US')} synthetic documents (\`spladex synth --docs ${LONG_CASE.ordinary} --seed ${context.seed}\`) plus one long document: the first terms of the synthetic vocabulary and then terms of its own, weights log-uniform in [e⁻⁴, e]. A document with n terms is in up to n posting lists, so any per-list step that read it whole would cost n² (docs/PERFORMANCE.md, "Build: long documents"); the build must stay linear, and within ${LONG_CASE.target} s with the 100,000-term document (the per-document limit). Measured on ${context.started.toISOString().slice(0, 10)} at commit ${context.commit}; load average before: ${load(context.loadBefore)}, after: ${load(context.loadAfter)}. *Before* is the same case at commit 35c8441, before the long-document paths.`,
    '',
    table(['long document (terms)', 'documents', 'postings', 'build', 'phases (s)', 'before'], rows, ['---:', '---:', '---:', '---:', '---', '---:']),
    LONG_END,
  ].join('\n');
}

/** Replaces the long-document section of an existing report (or inserts it before "## Reproduce"). */
export function spliceLongSection(report: string, section: string): string {
  return spliceSection(report, { start: LONG_BEGIN, end: LONG_END }, section, (rest, block) => {
    const at = rest.indexOf('## Reproduce');
    return at >= 0 ? `${rest.slice(0, at)}${block}\n\n${rest.slice(at)}` : `${rest.trimEnd()}\n\n${block}\n`;
  });
}
