/**
 * The original Seismic (the authors' Rust engine, PyPI `pyseismic-lsr`) as the speed yardstick of
 * the benchmark suite: one collection, both engines, one run.
 *
 *  1. spladex: `spladex bench --sweep` (query cuts and query masses) on the spladex index (built with default options when it
 *     does not exist), then the exact top 10 of every query with `spladex search --exact`;
 *  2. Seismic: `scripts/seismic/seismic_bench.py` in a local virtual environment created on
 *     demand, building with its documented settings and timing the same queries single-threaded
 *     over a query_cut × heap_factor × n_knn sweep;
 *  3. recall@10 of every Seismic setting against spladex's exact top 10, each engine's
 *     recall–latency Pareto frontier (approximate settings only: exact baselines are no setting of
 *     the trade-off), and the comparison at equal recall (0.90, 0.95, 0.97): latency p50 and p99
 *     (each statistic on its own frontier, log-linear interpolation between the two frontier
 *     settings around the target), build time, index memory and bytes on disk.
 *
 * Standalone: `node dist/scripts/bench-seismic.js --docs F --queries F --index DIR --out FILE.md`
 * writes its section between `<!-- seismic:start -->` and `<!-- seismic:end -->` of FILE.md (the
 * rest of the file untouched) from a JSON results file holding every collection measured so far.
 * Python and the package are test peers only: when either is missing the comparison is skipped
 * with a note, never an error.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { type BenchReport, formatBytes, paretoPlotSvg } from '../src/bench/index.js';
import { SpladexError, type BuildSummary } from '../src/index.js';
import { spliceSection } from './report-sections.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const DRIVER = join(ROOT, 'scripts/seismic/seismic_bench.py');
/** The version this comparison was written and measured against; pip installs exactly this one. */
const SEISMIC_PACKAGE = 'pyseismic-lsr==0.5.4';
/** Passages of MS MARCO v1, the collection Seismic's README settings were chosen for. */
const MSMARCO_PASSAGES = 8_841_823;
/** README: "For Splade on MSMarco, good choices are --n-postings 3500 …". */
const README_N_POSTINGS = 3500;
const RECALL_TARGETS = [0.9, 0.95, 0.97] as const;
const MARK_START = '<!-- seismic:start -->';
const MARK_END = '<!-- seismic:end -->';
/** One grid for both engines, so neither frontier is denser by construction. */
const QUERY_CUTS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30];
/** spladex's own traversal rule, the query mass its calibration chooses (Seismic has only the count). */
const QUERY_MASSES = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const HEAP_FACTORS = [0.6, 0.7, 0.8, 0.9, 1];
/** Graph neighbours spladex is also swept with, where its index stores more (besides 0 and all). */
const GRAPH_NEIGHBOURS = [8, 16];

export interface SeismicComparisonOptions {
  /** Label of the collection in the report and key in the results file. */
  name: string;
  documents: string;
  queries: string;
  /** spladex index of `documents`; built with default options when absent. */
  spladexIndex: string;
  /** Where the Seismic index, the query subset and raw outputs go. */
  workDir: string;
  /** First n queries (default 500). */
  limit?: number;
  /** Virtual environment of the Python peer (default bench-data/seismic-venv). */
  venv?: string;
  /** Python that creates it (default $SPLADEX_PYTHON, else python3). */
  python?: string;
  /** Seismic build settings replacing the documented ones (see scripts/seismic/seismic_bench.py). */
  seismicBuild?: Partial<SeismicBuildSettings>;
  /** Reuse a Seismic index built earlier with the same settings (its build time is then the earlier one). */
  reuseSeismicIndex?: boolean;
  /** Rebuild the spladex index even when it exists. */
  rebuildSpladex?: boolean;
  /**
   * Timed passes per setting for both engines (default `TIMED_PASSES`): a query's latency is its
   * median over them, for spladex (`bench --passes`) and Seismic (the driver's `--passes`) alike.
   */
  passes?: number;
  /** The recall–latency SVG to write (default: none). */
  plotFile?: string;
  log?: (message: string) => void;
}

export interface SeismicBuildSettings {
  n_postings: number;
  centroid_fraction: number;
  summary_energy: number;
  max_fraction: number;
  min_cluster_size: number;
  doc_cut: number;
  knn: number;
}

interface Latency {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

interface SeismicBuildReport {
  version: string;
  settings: SeismicBuildSettings;
  documents: number;
  seconds: { index: number; knn: number; total: number; save: number };
  memory: { total: number; parts: Record<string, number> };
  disk_bytes: number;
  index_file: string;
  source?: { file: string; bytes: number; mtimeMs: number };
}

interface SeismicSearchReport {
  version: string;
  query_ids: string[];
  graph_neighbors: number;
  call_overhead_ms?: Latency;
  load: { seconds: number; rss_delta: number };
  memory: { total: number };
  /** A setting Seismic failed on (a Rust panic) has `error` and no timings. */
  sweep: Array<{ query_cut: number; heap_factor: number; n_knn: number; latency_ms: Latency; ids: string[][]; error?: string }>;
}

/** One measured setting of either engine. */
export interface SettingPoint {
  label: string;
  recall: number;
  latencyMs: Latency;
}

/** Latency of an engine at a recall target: interpolated, or only bounded (its fastest setting is above the target). */
interface AtRecall {
  ms: number;
  bound: boolean;
}

export interface EqualRecallRow {
  recall: number;
  spladex: { p50?: AtRecall; p99?: AtRecall };
  seismic: { p50?: AtRecall; p99?: AtRecall };
}

export type SeismicComparison =
  | { status: 'skipped'; name: string; reason: string }
  | {
      status: 'measured';
      name: string;
      date: string;
      queries: number;
      documents: number;
      seismicVersion: string;
      seismicSettings: SeismicBuildSettings;
      /** Timed passes per setting (per-query medians); absent: one pass (results measured before passes existed). */
      passes?: number;
      /** `storeBytes`: the SQLite document store, part of `diskBytes` (it keeps its freed pages after `index --overwrite`). */
      spladex: { buildSeconds?: number; memoryBytes: number; diskBytes: number; storeBytes?: number; defaultSetting: SettingPoint; points: SettingPoint[] };
      seismic: { buildSeconds: { index: number; knn: number; total: number }; memoryBytes: number; rssDeltaBytes: number; diskBytes: number; callOverheadMs?: number; points: SettingPoint[]; failedSettings?: string[] };
      equalRecall: EqualRecallRow[];
      /**
       * 1-minute load averages when each timed phase started and ended: on a shared machine a busy
       * phase is preempted (p99 shows the scheduler's ticks), so they say how comparable the phases were.
       */
      load?: { spladexBench: [number, number]; seismicSearch: [number, number] };
      plot?: string;
    };

/**
 * Timed passes per setting, for both engines. With one pass the p99 of a setting is its 5th-slowest
 * query of 500, and on a shared 2-core machine that is whichever queries another process's time
 * slice hit: single passes of one spladex setting gave p99 from 1.07× to 6.8× the per-query
 * minimum over 5 passes, Seismic's 12× to 23× under load (docs/PERFORMANCE.md). The median of 3
 * keeps a query slow only when it is slow in two passes of three.
 */
const TIMED_PASSES = 3;

/** A step of the comparison that failed (a child process, a file); the message says which and why. */
export class ComparisonStepError extends Error {}

// ---------------------------------------------------------------------------------------------
// Child processes and files.
// ---------------------------------------------------------------------------------------------

function run(command: string, args: string[], log: (m: string) => void, quiet = false): { status: number | null; stdout: string; stderr: string } {
  log(`${basename(command)} ${args.map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) : a)).join(' ')}`);
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', quiet ? 'pipe' : 'inherit'], maxBuffer: 1 << 30 });
  if (result.error !== undefined) return { status: null, stdout: '', stderr: result.error.message };
  return { status: result.status, stdout: result.stdout, stderr: result.stderr ?? '' };
}

function spladex<T>(args: string[], log: (m: string) => void): T {
  const result = run(process.execPath, [CLI, ...args], log);
  if (result.status !== 0) throw new ComparisonStepError(`spladex ${args[0]} failed with status ${result.status}`);
  return JSON.parse(result.stdout) as T;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The first `limit` non-empty lines of a query file, copied so both engines read the same queries. */
async function querySubset(queries: string, limit: number, workDir: string): Promise<{ file: string; count: number }> {
  const file = join(workDir, `queries-${limit}.jsonl`);
  const lines: string[] = [];
  const reader = createInterface({ input: createReadStream(queries, 'utf8'), crlfDelay: Infinity });
  for await (const line of reader) {
    if (line.trim() === '') continue;
    lines.push(line);
    if (lines.length >= limit) break;
  }
  reader.close();
  if (lines.length === 0) throw new SpladexError('E_OPTION', `${queries} holds no queries`);
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, count: lines.length };
}

/** The Python of the virtual environment, created and provisioned on first use; a reason when it cannot be. */
function seismicPython(venv: string, python: string, log: (m: string) => void): { python: string; version: string } | { reason: string } {
  const venvPython = join(venv, 'bin/python');
  const check = (): string | undefined => {
    const result = run(venvPython, [DRIVER, 'check'], () => {}, true);
    if (result.status !== 0) return undefined;
    const { version } = JSON.parse(result.stdout) as { version: string };
    return `pyseismic-lsr==${version}` === SEISMIC_PACKAGE ? version : undefined;
  };
  if (existsSync(venvPython)) {
    const version = check();
    if (version !== undefined) return { python: venvPython, version };
  } else {
    const created = run(python, ['-m', 'venv', venv], log, true);
    if (created.status !== 0) return { reason: `no Python virtual environment could be created with \`${python} -m venv\` (${created.stderr.trim().split('\n').pop() ?? 'no output'})` };
  }
  const installed = run(venvPython, ['-m', 'pip', 'install', '--quiet', SEISMIC_PACKAGE], log, true);
  if (installed.status !== 0) return { reason: `\`pip install ${SEISMIC_PACKAGE}\` failed (${installed.stderr.trim().split('\n').pop() ?? 'no output'})` };
  const version = check();
  return version === undefined ? { reason: `${SEISMIC_PACKAGE} installed but does not import` } : { python: venvPython, version };
}

/** Seismic's documented settings, λ scaled to the collection (docs/Guidelines.md: n_postings grows with the number of documents). */
function documentedSettings(documents: number): SeismicBuildSettings {
  return {
    n_postings: Math.max(1, Math.round((README_N_POSTINGS * documents) / MSMARCO_PASSAGES)),
    centroid_fraction: 0.1,
    summary_energy: 0.4,
    max_fraction: 1.5,
    min_cluster_size: 2,
    doc_cut: 15,
    knn: 30,
  };
}

// ---------------------------------------------------------------------------------------------
// Recall, frontiers and the comparison at equal recall.
// ---------------------------------------------------------------------------------------------

/** Mean over queries of |approximate ∩ exact top k| / min(k, |exact|), as `spladex bench` computes it. */
function meanRecall(approx: readonly string[][], exact: readonly string[][], k: number): number {
  let sum = 0;
  for (let q = 0; q < exact.length; q++) {
    const want = new Set(exact[q].slice(0, k));
    if (want.size === 0) {
      sum += 1;
      continue;
    }
    let hit = 0;
    for (const id of approx[q].slice(0, k)) if (want.delete(id)) hit++;
    sum += hit / Math.min(k, exact[q].length);
  }
  return sum / exact.length;
}

/** Settings not beaten in both recall and the given latency statistic, by increasing latency (hence recall). */
function frontier(points: readonly SettingPoint[], stat: 'p50' | 'p99'): SettingPoint[] {
  const sorted = [...points].sort((a, b) => a.latencyMs[stat] - b.latencyMs[stat] || b.recall - a.recall);
  const front: SettingPoint[] = [];
  for (const p of sorted) if (front.length === 0 || p.recall > front[front.length - 1].recall) front.push(p);
  return front;
}

/**
 * Latency at `target` recall on a frontier: log-linear between the last setting below the target
 * and the first at or above it; only an upper bound when even the fastest setting is above it;
 * undefined when no setting reaches it.
 */
function latencyAtRecall(front: readonly SettingPoint[], stat: 'p50' | 'p99', target: number): AtRecall | undefined {
  const j = front.findIndex((p) => p.recall >= target);
  if (j < 0) return undefined;
  if (j === 0) return { ms: front[0].latencyMs[stat], bound: true };
  const [a, b] = [front[j - 1], front[j]];
  const t = (target - a.recall) / (b.recall - a.recall);
  return { ms: Math.exp(Math.log(a.latencyMs[stat]) + t * (Math.log(b.latencyMs[stat]) - Math.log(a.latencyMs[stat]))), bound: false };
}

function equalRecall(spladexPoints: readonly SettingPoint[], seismicPoints: readonly SettingPoint[]): EqualRecallRow[] {
  const at = (points: readonly SettingPoint[], target: number) => ({ p50: latencyAtRecall(frontier(points, 'p50'), 'p50', target), p99: latencyAtRecall(frontier(points, 'p99'), 'p99', target) });
  return RECALL_TARGETS.map((recall) => ({ recall, spladex: at(spladexPoints, recall), seismic: at(seismicPoints, recall) }));
}

// ---------------------------------------------------------------------------------------------
// The comparison.
// ---------------------------------------------------------------------------------------------

/** The spladex index and its build summary (from `<index>.build.json`, or the suite's `index-build.json` beside it). */
function ensureSpladexIndex(o: SeismicComparisonOptions, log: (m: string) => void): BuildSummary | undefined {
  const summaryFile = `${o.spladexIndex}.build.json`;
  if (o.rebuildSpladex === true || !existsSync(o.spladexIndex)) {
    // --overwrite runs spladex's writer protocol: the SQLite store keeps the old rows' freed pages,
    // so a rebuilt index is larger on disk than a fresh one (the report shows the store's size).
    const summary = spladex<BuildSummary>(['index', o.documents, '--out', o.spladexIndex, '--overwrite', '--quiet', '--json'], log);
    writeFileSync(summaryFile, JSON.stringify(summary));
    return summary;
  }
  for (const file of [summaryFile, join(dirname(o.spladexIndex), 'index-build.json')]) {
    if (!existsSync(file)) continue;
    const summary = readJson<BuildSummary>(file);
    if (resolve(summary.path) === resolve(o.spladexIndex)) return summary;
  }
  log(`no build summary of ${o.spladexIndex}: its build time is not compared (pass rebuildSpladex to measure it)`);
  return undefined;
}

/** Runs both engines on one collection and compares them; `status: 'skipped'` when Python or the package is unavailable. */
export async function runSeismicComparison(options: SeismicComparisonOptions): Promise<SeismicComparison> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[bench-seismic ${new Date().toISOString().slice(11, 19)}] ${m}\n`));
  const o = { ...options, workDir: resolve(options.workDir), spladexIndex: resolve(options.spladexIndex) };
  for (const file of [o.documents, o.queries]) if (!existsSync(file)) throw new SpladexError('E_OPTION', `${file} does not exist`);
  if (!existsSync(CLI)) throw new SpladexError('E_OPTION', `${CLI} is missing; run "npm run build" first`);
  mkdirSync(o.workDir, { recursive: true });

  const peer = seismicPython(resolve(o.venv ?? join(ROOT, 'bench-data/seismic-venv')), o.python ?? process.env.SPLADEX_PYTHON ?? 'python3', log);
  if ('reason' in peer) {
    log(`Seismic comparison skipped: ${peer.reason}`);
    return { status: 'skipped', name: o.name, reason: peer.reason };
  }

  const subset = await querySubset(o.queries, o.limit ?? 500, o.workDir);
  const built = ensureSpladexIndex(o, log);
  const grid = ['--sweep-query-cuts', QUERY_CUTS.join(','), '--sweep-query-masses', QUERY_MASSES.join(','), '--sweep-heap-factors', HEAP_FACTORS.join(',')];
  const benchLoad = loadavg()[0];
  const passes = String(o.passes ?? TIMED_PASSES);
  const bench = (extra: string[]): BenchReport => spladex<BenchReport>(['bench', o.spladexIndex, '--queries', subset.file, '--sweep', ...grid, '--passes', passes, ...extra, '--plot', join(o.workDir, 'spladex-sweep.svg'), '--json', '--quiet'], log);
  const report = bench([]);
  // The graph round is a query-time choice for spladex too (Seismic's sweep has n_knn 0): the same
  // grid without it, unless the index has no graph (then the default run already had none).
  const withoutGraph = report.settings.knn > 0 ? bench(['--graph-neighbors', '0']) : undefined;
  // Fewer graph neighbours than the index stores are a query-time choice too (Seismic's sweep has
  // n_knn 5 and 10 below its κ 30): the grid again with 8 and 16 where the graph is wider.
  const narrowerGraphs = GRAPH_NEIGHBOURS.filter((n) => n < report.settings.knn).map((n) => bench(['--graph-neighbors', String(n)]));
  const spladexBenchLoad: [number, number] = [benchLoad, loadavg()[0]];
  writeFileSync(join(o.workDir, 'spladex-bench.json'), JSON.stringify(report));
  if (withoutGraph !== undefined) writeFileSync(join(o.workDir, 'spladex-bench-no-graph.json'), JSON.stringify(withoutGraph));
  const exactRun = run(process.execPath, [CLI, 'search', o.spladexIndex, '--queries', subset.file, '--exact', '--k', '10', '--format', 'json'], log);
  if (exactRun.status !== 0) throw new ComparisonStepError(`spladex search --exact failed with status ${exactRun.status}`);
  const exact = exactRun.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { id: string; hits: Array<{ id: string }> });

  const settings: SeismicBuildSettings = { ...documentedSettings(report.documents), ...o.seismicBuild };
  const prefix = join(o.workDir, 'seismic');
  const buildFile = join(o.workDir, 'seismic-build.json');
  const source = { file: resolve(o.documents), bytes: statSync(o.documents).size, mtimeMs: statSync(o.documents).mtimeMs };
  let build: SeismicBuildReport | undefined = o.reuseSeismicIndex === true && existsSync(buildFile) ? readJson<SeismicBuildReport>(buildFile) : undefined;
  if (build !== undefined && (JSON.stringify(build.settings) !== JSON.stringify(settings) || JSON.stringify(build.source) !== JSON.stringify(source) || !existsSync(build.index_file))) build = undefined;
  if (build === undefined) {
    const flags = Object.entries(settings).flatMap(([key, value]) => [`--${key.replace(/_/g, '-')}`, String(value)]);
    const result = run(peer.python, [DRIVER, 'build', '--docs', resolve(o.documents), '--index', prefix, '--out', buildFile, ...flags], log);
    if (result.status !== 0) throw new ComparisonStepError(`the Seismic build failed with status ${result.status}`);
    build = { ...readJson<SeismicBuildReport>(buildFile), source };
    writeFileSync(buildFile, JSON.stringify(build));
  } else log(`reusing the Seismic index ${build.index_file}`);

  const searchFile = join(o.workDir, 'seismic-search.json');
  // The graph round is a query-time choice too: none, a few neighbours, all of them.
  const nKnn = [...new Set([0, 5, 10, settings.knn].filter((v) => v <= settings.knn))].join(',');
  const searchLoad = loadavg()[0];
  const searched = run(peer.python, [DRIVER, 'search', '--index', prefix, '--queries', subset.file, '--out', searchFile, '--query-cuts', QUERY_CUTS.join(','), '--heap-factors', HEAP_FACTORS.join(','), '--n-knn', nKnn, '--passes', passes], log);
  if (searched.status !== 0) throw new ComparisonStepError(`the Seismic search failed with status ${searched.status}`);
  const seismicSearchLoad: [number, number] = [searchLoad, loadavg()[0]];
  const search = readJson<SeismicSearchReport>(searchFile);

  const exactIds = exact.map((e) => e.hits.map((h) => h.id));
  for (let q = 0; q < exact.length; q++) {
    if (exact[q].id !== search.query_ids[q]) throw new ComparisonStepError(`query ${q} is ${exact[q].id} for spladex but ${search.query_ids[q]} for Seismic`);
  }
  const failedSettings = search.sweep.filter((s) => s.error !== undefined).map((s) => `qc=${s.query_cut} hf=${s.heap_factor} knn=${s.n_knn}: ${s.error}`);
  const seismicPoints: SettingPoint[] = search.sweep.filter((s) => s.error === undefined).map((s) => ({ label: `qc=${s.query_cut} hf=${s.heap_factor} knn=${s.n_knn}`, recall: meanRecall(s.ids, exactIds, 10), latencyMs: s.latency_ms }));
  const sweepPoints = (r: BenchReport): SettingPoint[] => (r.sweep ?? []).map((s) => ({ label: `${s.query_mass < 1 ? `qm=${s.query_mass}` : `qc=${s.query_cut}`} hf=${s.heap_factor} knn=${r.settings.knn}`, recall: s.recall_at_k, latencyMs: s.latency_ms }));
  const spladexPoints = [report, ...(withoutGraph === undefined ? [] : [withoutGraph]), ...narrowerGraphs].flatMap(sweepPoints);
  const defaultSetting: SettingPoint = { label: `default: qc=${report.settings.query_cut} qm=${report.settings.query_mass} hf=${report.settings.heap_factor} knn=${report.settings.knn}`, recall: report.recall_at_k, latencyMs: report.latency_ms };

  const comparison: SeismicComparison = {
    status: 'measured',
    name: o.name,
    date: new Date().toISOString().slice(0, 10),
    queries: subset.count,
    documents: report.documents,
    seismicVersion: peer.version,
    seismicSettings: settings,
    passes: Number(passes),
    spladex: { buildSeconds: built?.seconds.total, memoryBytes: report.index_memory_bytes.total, diskBytes: report.index_bytes.total, storeBytes: report.index_bytes.parts['spladex.db'], defaultSetting, points: spladexPoints },
    seismic: { buildSeconds: { index: build.seconds.index, knn: build.seconds.knn, total: build.seconds.total }, memoryBytes: build.memory.total, rssDeltaBytes: search.load.rss_delta, diskBytes: build.disk_bytes, callOverheadMs: search.call_overhead_ms?.p50, points: seismicPoints, failedSettings },
    equalRecall: equalRecall([...spladexPoints, defaultSetting], seismicPoints),
    load: { spladexBench: spladexBenchLoad, seismicSearch: seismicSearchLoad },
  };
  if (o.plotFile !== undefined) await writeComparisonPlot(comparison, o.plotFile);
  return comparison;
}

/** Settings below this recall stay in the tables but out of the plot, which would squeeze the 0.9–1 band. */
const PLOT_MIN_RECALL = 0.8;

/**
 * Both engines' settings and frontiers (p50 latency) as an SVG; records the file in the comparison.
 * The exact baselines are left out: tens of milliseconds on the same log axis would squeeze the
 * sub-millisecond region both frontiers live in (the suite's own plots show them).
 */
export async function writeComparisonPlot(c: SeismicComparison & { status: 'measured' }, file: string): Promise<void> {
  const point = (p: SettingPoint, kind: 'seismic' | 'reference') => ({ label: p.label, recall: p.recall, latencyMs: Math.max(p.latencyMs.p50, 1e-4), kind });
  const shown = (points: readonly SettingPoint[]) => points.filter((p) => p.recall >= PLOT_MIN_RECALL);
  const svg = await paretoPlotSvg([...shown(c.spladex.points).map((p) => point(p, 'seismic')), ...shown(c.seismic.points).map((p) => point(p, 'reference'))], {
    title: `spladex vs Seismic ${c.seismicVersion}: recall@10 vs latency (${c.name}, ${c.queries} queries)`,
    latencyLabel: 'p50 latency per query (ms, log scale)',
    sweepLabel: 'spladex sweep',
    referenceLabel: `Seismic ${c.seismicVersion}`,
  });
  writeFileSync(file, svg);
  c.plot = resolve(file);
}

// ---------------------------------------------------------------------------------------------
// Markdown.
// ---------------------------------------------------------------------------------------------

const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
/** Ratios near 1 are the interesting ones, so two decimals below 10. */
const times = (v: number): string => `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}×`;
const table = (header: string[], rows: string[][]): string =>
  [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const atText = (a: AtRecall | undefined): string => (a === undefined ? 'not reached' : `${a.bound ? '≤ ' : ''}${ms(a.ms)}`);

/** spladex / Seismic at one recall: a bound when one side is only bounded, nothing when both are. */
function latencyRatio(s: AtRecall | undefined, r: AtRecall | undefined): string {
  if (s === undefined || r === undefined) return '—';
  if (s.bound && r.bound) return 'both ≤ (lower the grid)';
  return `${s.bound ? '≤ ' : r.bound ? '≥ ' : ''}${times(s.ms / r.ms)}`;
}

function collectionSection(c: SeismicComparison, markdownDir: string): string {
  if (c.status === 'skipped') return `### ${c.name}\n\nNot measured: ${c.reason}.`;
  const st = c.seismicSettings;
  const latencyRows = c.equalRecall.map((row) => [
    row.recall.toFixed(2),
    atText(row.spladex.p50),
    atText(row.seismic.p50),
    latencyRatio(row.spladex.p50, row.seismic.p50),
    atText(row.spladex.p99),
    atText(row.seismic.p99),
    latencyRatio(row.spladex.p99, row.seismic.p99),
  ]);
  const b = c.spladex.buildSeconds;
  const sb = c.seismic.buildSeconds;
  const resourceRows = [
    ['build time (2 threads)', b === undefined ? 'not measured' : `${b.toFixed(0)} s`, `${sb.total.toFixed(0)} s (index ${sb.index.toFixed(0)} + κ-NN graph ${sb.knn.toFixed(0)})`, b === undefined ? '—' : times(b / sb.total)],
    ['index memory', formatBytes(c.spladex.memoryBytes), `${formatBytes(c.seismic.memoryBytes)} (RSS +${formatBytes(c.seismic.rssDeltaBytes)} on load)`, times(c.spladex.memoryBytes / c.seismic.memoryBytes)],
    ['on disk', `${formatBytes(c.spladex.diskBytes)}${c.spladex.storeBytes === undefined ? '' : ` (SQLite document store ${formatBytes(c.spladex.storeBytes)})`}`, formatBytes(c.seismic.diskBytes), times(c.spladex.diskBytes / c.seismic.diskBytes)],
  ];
  const sweep = (points: readonly SettingPoint[]): string => {
    const onFront = new Set(frontier(points, 'p50').map((p) => p.label));
    return table(['setting', 'recall@10', 'p50 ms', 'p99 ms'], [...points].sort((x, y) => x.latencyMs.p50 - y.latencyMs.p50).map((p) => [p.label, `${p.recall.toFixed(4)}${onFront.has(p.label) ? ' *' : ''}`, ms(p.latencyMs.p50), ms(p.latencyMs.p99)]));
  };
  return [
    `### ${c.name}`,
    '',
    `${c.documents.toLocaleString('en-US')} documents, ${c.queries} queries, k = 10, ${c.passes ?? 1} timed pass${(c.passes ?? 1) === 1 ? '' : 'es'} per setting (per-query medians), measured ${c.date}${c.load === undefined ? '' : ` (1-minute load average on the 2 cores: ${c.load.spladexBench.map((x) => x.toFixed(1)).join(' → ')} during spladex's timings, ${c.load.seismicSearch.map((x) => x.toFixed(1)).join(' → ')} during Seismic's)`}. Seismic ${c.seismicVersion} built with n_postings ${st.n_postings}, centroid_fraction ${st.centroid_fraction}, summary_energy ${st.summary_energy}, max_fraction ${st.max_fraction}, min_cluster_size ${st.min_cluster_size}, doc_cut ${st.doc_cut}, κ-NN graph κ = ${st.knn}; spladex with its default build options. Latency in ms at equal recall@10 (each engine's Pareto frontier over its sweep; ≤: the engine's fastest setting already exceeds that recall):`,
    '',
    table(['recall@10', 'spladex p50', 'Seismic p50', 'p50 spladex / Seismic', 'spladex p99', 'Seismic p99', 'p99 spladex / Seismic'], latencyRows),
    '',
    table(['resource', 'spladex', 'Seismic', 'spladex / Seismic'], resourceRows),
    '',
    ...((c.seismic.failedSettings ?? []).length === 0 ? [] : [`Seismic failed on ${c.seismic.failedSettings!.length} setting(s), left out of the tables (first: ${c.seismic.failedSettings![0]}).`, '']),
    ...(c.seismic.callOverheadMs === undefined ? [] : [`Seismic's latencies include its Python call: the same call with as many unknown tokens (nothing to search) takes ${ms(c.seismic.callOverheadMs)} ms at p50.`, '']),
    ...(c.plot !== undefined ? [`![spladex and Seismic recall vs latency](${relative(markdownDir, c.plot)})`, '', `Settings with recall@10 below ${PLOT_MIN_RECALL} are left out of the plot (not of the tables).`, ''] : []),
    `<details><summary>Both sweeps (\`*\`: on the recall / p50 frontier)</summary>\n\nspladex (its default setting ${c.spladex.defaultSetting.label.replace(/^default: /, '')}: recall ${c.spladex.defaultSetting.recall.toFixed(4)}, p50 ${ms(c.spladex.defaultSetting.latencyMs.p50)} ms):\n\n${sweep(c.spladex.points)}\n\nSeismic:\n\n${sweep(c.seismic.points)}\n\n</details>`,
  ].join('\n');
}

/** The Markdown section (markers included) of every compared collection. */
export function seismicSection(comparisons: readonly SeismicComparison[], markdownDir: string): string {
  return [
    MARK_START,
    '## Speed yardstick: the original Seismic',
    '',
    `The same documents and queries through Seismic itself, the authors' Rust engine (\`${SEISMIC_PACKAGE}\` from PyPI, its prebuilt wheel: Seismic's docs say a build from source with \`-C target-cpu=native\` runs faster, but that build fetches a git dependency from outside the package registries), as a test peer (\`scripts/bench-seismic.ts\`, \`scripts/seismic/seismic_bench.py\`). Seismic's settings are its documented ones: centroid_fraction 0.1 and summary_energy 0.4 (its README's choice for SPLADE on MS MARCO, also the CIKM 2024 κ-NN configuration), max_fraction 1.5, min_cluster_size 2 and doc_cut 15 (the package defaults), a κ-NN graph of κ = 30 (CIKM 2024, \`experiments/cikm2024/cocondenser_with_knn_mem_budget_1.5.toml\`), and n_postings = the README's ${README_N_POSTINGS} for MS MARCO's ${MSMARCO_PASSAGES.toLocaleString('en-US')} passages scaled to the collection's size, as its docs/Guidelines.md scales it with the collection. Both engines build on the same 2 cores and search single-threaded per query after the same warm-up (up to 500 untimed queries before each setting), timing every query in the same number of passes and taking its median (${TIMED_PASSES} passes since the eighth session: one pass's p99 is whichever five queries another process's time slice hit), over one grid: queryCut ${QUERY_CUTS.join(', ')} × heapFactor ${HEAP_FACTORS.join(', ')} (spladex with graphNeighbors 0, ${GRAPH_NEIGHBOURS.join(' and ')} where its κ is larger, and its κ, Seismic with n_knn 0, 5, 10 and 30), and for spladex also its own traversal rule, queryMass ${QUERY_MASSES.join(', ')} × the same heap factors (the rule its calibration chooses; Seismic has only the count). Each engine's latency at a recall is read off its frontier over all its settings. Seismic is timed around each Python \`search\` call, so its latencies include the binding's overhead (measured below). Recall@10 of both is against spladex's exhaustive search over its half-precision forward values (Seismic stores f16 too); ratios are spladex / Seismic (below 1: spladex is faster or smaller). Index memory is each engine's own account of its structures (spladex \`info\`, Seismic \`print_space_usage_byte\`); spladex's bytes on disk include its SQLite document store. Timings of one run on a shared machine: expect ±20 %.`,
    '',
    ...comparisons.flatMap((c) => [collectionSection(c, markdownDir), '']),
    MARK_END,
  ].join('\n');
}

/** Replaces the section between the markers, or appends it when the markers are absent. */
export function spliceSeismicSection(markdown: string, section: string): string {
  return spliceSection(markdown, { start: MARK_START, end: MARK_END }, section);
}

// ---------------------------------------------------------------------------------------------
// Standalone.
// ---------------------------------------------------------------------------------------------

interface ResultsFile {
  collections: Record<string, SeismicComparison>;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench-seismic')
    .description('compare spladex with the original Seismic (pyseismic-lsr) at equal recall on one collection')
    .option('--docs <file>', 'documents JSONL ({id, vector} lines); required unless --render')
    .option('--queries <file>', 'queries JSONL ({id, vector} lines); required unless --render')
    .option('--index <dir>', 'spladex index of the documents (built with default options if absent); required unless --render')
    .requiredOption('--out <file.md>', 'Markdown file whose seismic section is written (created if absent)')
    .option('--name <label>', 'collection label (default: the documents directory name)')
    .option('--json <file>', 'results of every collection compared so far (default bench-data/seismic-cmp/seismic-results.json)')
    .option('--work <dir>', 'Seismic index and raw outputs (default bench-data/seismic-cmp/<name>)')
    .option('--limit <n>', 'first n queries', (v) => Number.parseInt(v, 10), 500)
    .option('--plot <file.svg>', 'recall–latency plot (default: bench-seismic-<name>.svg next to --out)')
    .option('--venv <dir>', 'virtual environment of the Python peer (default bench-data/seismic-venv)')
    .option('--python <path>', 'Python creating it (default $SPLADEX_PYTHON or python3)')
    .option('--n-postings <n>', 'Seismic n_postings instead of the scaled documented value', (v) => Number.parseInt(v, 10))
    .option('--knn <n>', 'Seismic κ-NN graph degree instead of 30 (0 = none)', (v) => Number.parseInt(v, 10))
    .option('--reuse-seismic-index', 'reuse a Seismic index built earlier with the same settings', false)
    .option('--rebuild-spladex', 'rebuild the spladex index even if it exists (measures its build time)', false)
    .option('--render', 'measure nothing: rewrite the section and plots from the results file', false);
  program.parse(process.argv);
  const a = program.opts<{ docs?: string; queries?: string; index?: string; out: string; name?: string; json?: string; work?: string; limit: number; plot?: string; venv?: string; python?: string; nPostings?: number; knn?: number; reuseSeismicIndex: boolean; rebuildSpladex: boolean; render: boolean }>();
  if (!(a.limit >= 1)) throw new SpladexError('E_OPTION', `--limit must be a positive integer, got ${a.limit}`);
  const name = a.name ?? (a.docs === undefined ? '' : basename(dirname(resolve(a.docs))));
  const out = resolve(a.out);
  const jsonFile = resolve(a.json ?? join(ROOT, 'bench-data/seismic-cmp/seismic-results.json'));
  const plotFile = (label: string): string => resolve(a.plot !== undefined && label === name ? a.plot : join(dirname(out), `bench-seismic-${label.replace(/[^\w.-]+/g, '-')}.svg`));
  const writeSection = (results: ResultsFile): void => {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, spliceSeismicSection(existsSync(out) ? readFileSync(out, 'utf8') : '', seismicSection(Object.values(results.collections), dirname(out))));
    process.stderr.write(`bench-seismic: wrote the seismic section of ${out} (results in ${jsonFile})\n`);
  };
  if (a.render) {
    if (!existsSync(jsonFile)) throw new SpladexError('E_OPTION', `--render needs the results file ${jsonFile}`);
    const results = readJson<ResultsFile>(jsonFile);
    for (const c of Object.values(results.collections)) if (c.status === 'measured') await writeComparisonPlot(c, plotFile(c.name));
    writeFileSync(jsonFile, JSON.stringify(results, null, 2));
    writeSection(results);
    return;
  }
  if (a.docs === undefined || a.queries === undefined || a.index === undefined) throw new SpladexError('E_OPTION', '--docs, --queries and --index are required (unless --render)');
  const seismicBuild: Partial<SeismicBuildSettings> = { ...(a.nPostings !== undefined ? { n_postings: a.nPostings } : {}), ...(a.knn !== undefined ? { knn: a.knn } : {}) };
  const comparison = await runSeismicComparison({
    name,
    documents: resolve(a.docs),
    queries: resolve(a.queries),
    spladexIndex: resolve(a.index),
    workDir: resolve(a.work ?? join(ROOT, 'bench-data/seismic-cmp', name)),
    limit: a.limit,
    venv: a.venv === undefined ? undefined : resolve(a.venv),
    python: a.python,
    seismicBuild,
    reuseSeismicIndex: a.reuseSeismicIndex,
    rebuildSpladex: a.rebuildSpladex,
    plotFile: plotFile(name),
  });
  const results: ResultsFile = existsSync(jsonFile) ? readJson<ResultsFile>(jsonFile) : { collections: {} };
  results.collections[name] = comparison;
  mkdirSync(dirname(jsonFile), { recursive: true });
  writeFileSync(jsonFile, JSON.stringify(results, null, 2));
  writeSection(results);
}

// Runs only as a program, so the suite can import runSeismicComparison without side effects.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench-seismic: ${error instanceof SpladexError || error instanceof ComparisonStepError ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`);
    process.exitCode = 1;
  });
}
