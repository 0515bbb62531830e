/** How `index` and `info` print a recall calibration (one line each: source, pruning, chosen setting, frontier). */
import { meetsTarget, type Calibration, type RecalibrationReport } from '../src/index.js';

const pct = (x: number): string => x.toFixed(3);

/** The traversal rule of an approximate setting: a query mass (with its count cap, if any), or a plain query cut. */
function traversal(s: { queryCut: number; queryMass: number }): string {
  if (s.queryMass >= 1) return `query cut ${s.queryCut === 0 ? 'all terms' : s.queryCut}`;
  return `query mass ${s.queryMass}${s.queryCut > 0 ? ` (at most ${s.queryCut} terms)` : ''}`;
}

/** An approximate setting in words. */
const approximateText = (s: { queryCut: number; queryMass: number; heapFactor: number; graphNeighbors: number }): string => `${traversal(s)}, heap factor ${s.heapFactor}, graph neighbours ${s.graphNeighbors}`;

/** The line `add`, `delete` and `compact` print when they recalibrated (undefined: they did not). */
export function recalibrationLine(report: RecalibrationReport | undefined): string | undefined {
  if (report === undefined) return undefined;
  const s = report.chosen;
  const setting = s.mode === 'approximate' ? `${approximateText(s)} (estimated recall@10 ${pct(s.recall)}, worst stratum ${pct(s.worstStratum)})` : `exact search (${s.mode})`;
  return `  recalibrated: ${report.reason}; default search is now ${setting} (${report.seconds.toFixed(2)} s)`;
}

/** The chosen setting in words, with its estimate and confidence interval. */
function settingText(c: Calibration): string {
  const s = c.chosen;
  const estimate = `estimated recall@${c.k} ${pct(s.recall)} (95% CI ${pct(s.low)}–${pct(s.high)}, worst stratum ${pct(s.worstStratum)})`;
  if (s.mode !== 'approximate') {
    const why = c.frontier.length === 0 ? 'a small index, searched exactly in about the time approximate search would take (≤ 600,000 postings)' : c.frontier.some((p) => meetsTarget(p, c.targetRecall)) ? 'as fast as the approximate setting that meets the target' : 'no approximate setting met the target';
    return `exact search (${s.mode}): ${why}, p50 ${s.p50Ms.toFixed(3)} ms`;
  }
  return `${approximateText(s)}: ${estimate}, p50 ~${s.p50Ms.toFixed(3)} ms (exact ${c.exact.mode} ${c.exact.p50Ms.toFixed(3)} ms)`;
}

export function calibrationLines(c: Calibration, { frontier = false }: { frontier?: boolean } = {}): string[] {
  const source = c.source === 'given' ? 'queries of a given query log' : `pseudo-queries from the collection (${c.strata.map((s) => `${s.queries} ${s.name}`).join('; ')})`;
  const lines = [
    `calibration target recall@${c.k} ${c.targetRecall} on ${c.queries} ${source}, ${c.documents} documents, ${c.seconds.toFixed(2)} s`,
    c.pruning === null ? '  pruning  fixed by the build options' : `  pruning  keep ${(c.pruning.keepFraction * 100).toFixed(1)}% of postings, list cap ${c.pruning.maxFraction}×${c.pruning.knn === undefined ? '' : `, κ-NN graph κ ${c.pruning.knn}`} (recall ceiling ${pct(c.pruning.ceiling)}${c.pruning.queryMass === undefined ? '' : ` at query mass ${c.pruning.queryMass}`}${c.pruning.knn === undefined ? '' : ' with the graph'})`,
    `  default  ${settingText(c)}`,
  ];
  if (frontier) {
    lines.push(`  frontier ${c.frontier.length} settings (cheapest first: query mass or cut, heap factor → recall [worst stratum], cost)`);
    for (const p of c.frontier) lines.push(`    ${(p.queryMass < 1 ? `m${p.queryMass}` : `c${p.queryCut}`).padStart(5)} ${p.heapFactor.toFixed(1)} → ${pct(p.recall)} [${pct(Math.min(...p.strata))}] ${p.cost}`);
  }
  return lines;
}
