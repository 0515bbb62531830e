/**
 * The generalisation suite: recall@10 of `spladex index` (no tuning flags) + `spladex search` (no
 * query arguments) against exact search, on collections of shapes the defaults were not tuned on
 * (scripts/generalisation-collections.ts). The requirement is recall@10 ≥ target − 0.01 on every one.
 *
 * Per collection, each step in its own CLI child process, as a user would run it:
 *   index → info --json (its `calibration`, when the index has one) → search (defaults) →
 *   search --exact (ground truth) → bench (p50 latency at defaults and of exhaustive search).
 * Recall is computed here from the two searches' hits — what `spladex search` returns is the
 * requirement — and bench's own recall is kept as a check that bench ran the same setting.
 *
 * Standalone: `node dist/scripts/bench-generalisation.js --out <md> [--max-docs N] [--only a,b]`.
 * Writes its Markdown section between `<!-- generalisation:start -->` and `<!-- generalisation:end -->`
 * of the report (the rest is left untouched) and the raw results to `<report>.generalisation.json`.
 * Rows of collections not run this time are kept from that file while their definition is unchanged,
 * so the 1M shapes can be run separately.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describeMachine, formatBytes, formatMachine, Rng, type BenchReport, type MachineInfo } from '../src/bench/index.js';
import { loadQueries } from '../src/eval/index.js';
import { openIndexEncoder, type BuildSummary, type IndexInfo, type SearchHit } from '../src/index.js';
import { COLLECTIONS, collectionDocs, describeShapeOptions, prepareCollection, type CollectionSpec } from './generalisation-collections.js';
import { spliceSection } from './report-sections.js';

const SCRIPT_DIR = dirname(fileURLToPath(import.meta.url));
/** The CLI of the same build as this script (a snapshot copy of dist/ runs its own CLI). */
const CLI = resolve(SCRIPT_DIR, '../cli/main.js');

/**
 * The repository: the nearest ancestor of this script holding `.git`; a snapshot copy of dist/
 * (to run while src/ changes) lives outside it, and then the working directory is taken.
 */
function repositoryRoot(): string {
  for (let dir = SCRIPT_DIR; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, '.git'))) return dir;
  return process.cwd();
}
const ROOT = repositoryRoot();

const START_MARKER = '<!-- generalisation:start -->';
const END_MARKER = '<!-- generalisation:end -->';
const K = 10;
/** The same tolerance as bench's tie-aware recall (src/eval/metrics.ts). */
const TIE_TOLERANCE = 1e-6;
const BOOTSTRAP_RESAMPLES = 2000;

export interface GeneralisationOptions {
  /** Markdown report to write the section into (created if missing); relative paths are relative to the repository. */
  out: string;
  /** Cache of generated data and indexes. Default `bench-data`. */
  data?: string;
  /** Skip collections with more documents than this. Default: none skipped. */
  maxDocs?: number;
  /** Run only these collections (names of COLLECTIONS). Default: all. */
  only?: readonly string[];
  /** Recall target; a collection passes at recall@10 ≥ target − 0.01. Default 0.95 (the calibration's default target). */
  target?: number;
  /** Throughput threads of `spladex bench` (not a search setting; 1 keeps the 2-core machine quiet). Default 1. */
  threads?: number;
  /** Code version shown in the report. Default: the repository's git commit. */
  commit?: string;
  log?: (message: string) => void;
  /** Measure nothing: rewrite the section from the saved results (after a change of the report's layout). Default false. */
  renderOnly?: boolean;
}

/** Mean with a 95 % bootstrap percentile interval (recall per query is bounded and skewed near 1, so no normal approximation). */
export interface MeanWithInterval {
  mean: number;
  low: number;
  high: number;
}

export interface CollectionResult {
  name: string;
  /** The collection's declaration when measured; a saved row is dropped once it changes. */
  spec: CollectionSpec;
  commit: string;
  measuredAt: string;
  error?: string;
  documents?: number;
  meanDocTerms?: number;
  queries?: number;
  meanQueryTerms?: number;
  recall?: MeanWithInterval;
  recallTieAware?: MeanWithInterval;
  /** Recall@10 of each query, in file order. */
  perQueryRecall?: number[];
  /** Queries whose exact top 10 has fewer than 10 results (recall then divides by that count). */
  shortExactLists?: number;
  passed?: boolean;
  p50Ms?: { defaults: number; exhaustive: number; maxscore: number };
  /** Bench's recall (same definition); equal to `recall.mean` when bench ran the defaults search runs. */
  benchRecall?: number;
  benchSettings?: BenchReport['settings'];
  buildSeconds?: { wall: number; summary: number };
  indexBytes?: number;
  /** `info --json`'s `calibration`, whatever it holds (absent before calibration exists). */
  calibration?: unknown;
  /** 1-minute load average of the machine before and after the collection (2 cores: above 2, other work competed). */
  load?: [number, number];
  /** Wall seconds of each step. */
  seconds: { prepare: number; build: number; search: number; exact: number; bench: number; total: number };
}

export interface GeneralisationResults {
  started: string;
  seconds: number;
  commit: string;
  target: number;
  machine: MachineInfo;
  /** One row per declared collection measured now or kept from an earlier run. */
  rows: CollectionResult[];
}

// ---------------------------------------------------------------------------------------------
// Measuring.
// ---------------------------------------------------------------------------------------------

function runCli(args: string[], log: (m: string) => void): { stdout: string; seconds: number } {
  log(`spladex ${args.map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) : a)).join(' ')}`);
  const started = performance.now();
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`spladex ${args[0]} failed with status ${result.status ?? result.signal}`);
  return { stdout: result.stdout, seconds: (performance.now() - started) / 1000 };
}

/** `spladex search --format json` output: one `{id, hits}` line per query, in file order. */
function parseHits(stdout: string): SearchHit[][] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => (JSON.parse(line) as { hits: SearchHit[] }).hits);
}

/** |approx top k ∩ exact top k| / min(k, |exact|); with `tieAware`, a result scoring the exact k-th score also counts. */
function recallAtK(approx: readonly SearchHit[], exact: readonly SearchHit[], tieAware: boolean): number {
  const m = Math.min(K, exact.length);
  if (m === 0) return 1;
  const wanted = new Set(exact.slice(0, m).map((h) => h.id));
  const kth = exact[m - 1].score;
  const threshold = kth - Math.abs(kth) * TIE_TOLERANCE;
  const counted = new Set<string>();
  for (const hit of approx.slice(0, K)) if (!counted.has(hit.id) && (wanted.has(hit.id) || (tieAware && hit.score >= threshold))) counted.add(hit.id);
  return Math.min(counted.size, m) / m;
}

/** Mean and 95 % bootstrap percentile interval (seeded, so a rerun of the same data gives the same interval). */
function meanWithInterval(values: readonly number[]): MeanWithInterval {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const rng = new Rng(20_240_611);
  const means = new Float64Array(BOOTSTRAP_RESAMPLES);
  for (let r = 0; r < BOOTSTRAP_RESAMPLES; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[rng.int(n)];
    means[r] = sum / n;
  }
  means.sort();
  return { mean, low: means[Math.floor(0.025 * BOOTSTRAP_RESAMPLES)], high: means[Math.ceil(0.975 * BOOTSTRAP_RESAMPLES) - 1] };
}

/** Mean terms per query as searched: text queries through the index's stored encoder. */
async function meanQueryTerms(queries: string, index: string, text: boolean): Promise<number> {
  const encoder = text ? openIndexEncoder(index) : undefined;
  try {
    const loaded = await loadQueries(queries, encoder === undefined ? {} : { encoder: () => encoder });
    return loaded.reduce((sum, q) => sum + Object.keys(q.vector).length, 0) / Math.max(1, loaded.length);
  } finally {
    if (encoder !== undefined) await (await encoder).dispose();
  }
}

interface MeasureContext {
  dataDir: string;
  shared: string;
  target: number;
  threads: number;
  commit: string;
  log: (message: string) => void;
}

async function measureCollection(spec: CollectionSpec, c: MeasureContext): Promise<CollectionResult> {
  const started = performance.now();
  const seconds = { prepare: 0, build: 0, search: 0, exact: 0, bench: 0, total: 0 };
  const row: CollectionResult = { name: spec.name, spec, commit: c.commit, measuredAt: new Date().toISOString(), seconds };
  const loadBefore = loadavg()[0];
  try {
    const dir = join(c.dataDir, `gen-${spec.name}`);
    const prepared = await prepareCollection(spec, { dir, shared: c.shared, log: c.log });
    seconds.prepare = prepared.prepareSeconds;
    const index = join(dir, 'index');
    const textInput = prepared.input === 'text' ? ['--input', 'text', '--kind', 'lexical'] : [];
    // No tuning flag: what `spladex index` picks by itself is what is measured (a query log, where the collection has one, is data, not a tuning flag).
    const log = prepared.calibrationQueries === undefined ? [] : ['--calibration-queries', prepared.calibrationQueries];
    const build = runCli(['index', prepared.documents, '--out', index, '--overwrite', '--quiet', '--json', ...textInput, ...log], c.log);
    seconds.build = build.seconds;
    const summary = JSON.parse(build.stdout) as BuildSummary;
    writeFileSync(join(dir, 'index-build.json'), build.stdout);
    const info = JSON.parse(runCli(['info', index, '--json'], c.log).stdout) as IndexInfo & { calibration?: unknown };
    const approxRun = runCli(['search', index, '--queries', prepared.queries, '--format', 'json'], c.log);
    seconds.search = approxRun.seconds;
    const exactRun = runCli(['search', index, '--queries', prepared.queries, '--format', 'json', '--exact'], c.log);
    seconds.exact = exactRun.seconds;
    const approx = parseHits(approxRun.stdout);
    const exact = parseHits(exactRun.stdout);
    if (approx.length !== exact.length) throw new Error(`search returned ${approx.length} result lists with defaults and ${exact.length} with --exact`);
    const benchRun = runCli(['bench', index, '--queries', prepared.queries, '--json', '--quiet', '--threads', String(c.threads)], c.log);
    seconds.bench = benchRun.seconds;
    const report = JSON.parse(benchRun.stdout) as BenchReport;

    const perQuery = approx.map((hits, i) => recallAtK(hits, exact[i], false));
    row.documents = info.documents;
    row.meanDocTerms = info.postings / Math.max(1, info.documents);
    row.queries = exact.length;
    row.meanQueryTerms = await meanQueryTerms(prepared.queries, index, prepared.input === 'text');
    row.recall = meanWithInterval(perQuery);
    row.recallTieAware = meanWithInterval(approx.map((hits, i) => recallAtK(hits, exact[i], true)));
    row.perQueryRecall = perQuery.map((r) => Number(r.toFixed(4)));
    row.shortExactLists = exact.filter((hits) => hits.length < K).length;
    row.passed = row.recall.mean >= c.target - 0.01;
    row.p50Ms = { defaults: report.latency_ms.p50, exhaustive: report.baselines.exhaustive.latency_ms.p50, maxscore: report.baselines.maxscore.latency_ms.p50 };
    row.benchRecall = report.recall_at_k;
    row.benchSettings = report.settings;
    row.buildSeconds = { wall: build.seconds, summary: summary.seconds.total };
    row.indexBytes = info.bytes.total;
    if (info.calibration !== undefined) row.calibration = info.calibration;
  } catch (error) {
    row.error = (error as Error).message;
    c.log(`${spec.name} failed: ${row.error}`);
  }
  seconds.total = (performance.now() - started) / 1000;
  row.load = [loadBefore, loadavg()[0]];
  c.log(`${spec.name}: recall@10 ${row.recall?.mean.toFixed(4) ?? '—'} in ${seconds.total.toFixed(0)} s`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// The report.
// ---------------------------------------------------------------------------------------------

const fixed = (value: number | undefined, digits = 4): string => (value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits));
const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value >= 1 ? value.toFixed(2) : value.toFixed(3));
const table = (header: string[], align: string[], rows: string[][]): string => [`| ${header.join(' | ')} |`, `|${align.join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** Every primitive of a calibration object as `path value` pairs: its fields are not known in advance. */
function flattenCalibration(value: unknown, path = ''): Array<[string, string]> {
  if (value === null || typeof value !== 'object') return [[path || 'value', typeof value === 'number' && !Number.isInteger(value) ? String(Number(value.toPrecision(6))) : String(value)]];
  if (Array.isArray(value)) return value.length <= 8 && value.every((v) => typeof v !== 'object') ? [[path, `[${value.join(', ')}]`]] : [[path, `${value.length} entries`]];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => flattenCalibration(v, path === '' ? key : `${path}.${key}`));
}

/**
 * The table cell of a calibration: the chosen setting (or exact search), and its recall estimate
 * with interval. Read by field name (`chosen.mode`, `chosen.queryCut`, …, `chosen.recall`, with an
 * estimate-of-recall field as fallback), so a calibration of another shape still shows its numbers.
 */
function calibrationCell(calibration: unknown): string {
  if (calibration === undefined) return 'none';
  const pairs = flattenCalibration(calibration);
  const find = (pattern: RegExp): string | undefined => pairs.find(([key]) => pattern.test(key))?.[1];
  const mode = find(/^chosen\.mode$/);
  const setting =
    mode === 'exhaustive' || mode === 'maxscore'
      ? `exact (${mode})`
      : [['queryCut', 'qc'], ['queryMass', 'qm'], ['heapFactor', 'hf'], ['graphNeighbors', 'gn']].flatMap(([name, short]) => {
          const value = find(new RegExp(`^chosen\\.${name}$`));
          return value === undefined ? [] : [`${short} ${value}`];
        }).join(', ');
  const recall = find(/^chosen\.recall$/) ?? find(/estimat.*recall|recall.*estimat/i);
  const low = find(/^chosen\.low$/);
  const high = find(/^chosen\.high$/);
  const estimate = recall === undefined ? '' : `est. ${Number(recall).toFixed(4)}${low !== undefined && high !== undefined ? ` [${Number(low).toFixed(4)}, ${Number(high).toFixed(4)}]` : ''}`;
  return [setting, estimate].filter((part) => part !== '').join('; ') || 'present (see below)';
}

function describeCollection(row: CollectionResult): string {
  const options = describeShapeOptions(row.spec);
  return `**${row.name}**: ${row.spec.description}${options === '' ? '' : ` (${options})`}`;
}

function resultRow(row: CollectionResult, target: number, showCommit: boolean): string[] {
  const commit = showCommit ? [row.commit] : [];
  if (row.error !== undefined || row.recall === undefined) return [describeCollection(row), '—', '—', '—', `failed: ${row.error ?? 'no result'}`, '—', '—', '—', '—', '—', '—', ...commit];
  const r = row.recall;
  const benchNote = row.benchRecall !== undefined && Math.abs(row.benchRecall - r.mean) > 1e-9 ? ` ⚠ bench ran queryCut ${row.benchSettings?.query_cut}, heapFactor ${row.benchSettings?.heap_factor} (recall ${fixed(row.benchRecall)})` : '';
  return [
    describeCollection(row),
    row.documents!.toLocaleString('en-US'),
    fixed(row.meanDocTerms, 1),
    `${fixed(row.meanQueryTerms, 1)} (${row.queries})`,
    `${fixed(r.mean)} [${fixed(r.low)}, ${fixed(r.high)}]`,
    fixed(row.recallTieAware?.mean),
    row.passed ? `**pass** (≥ ${fixed(target - 0.01, 2)})` : `**fail** (< ${fixed(target - 0.01, 2)})`,
    `${ms(row.p50Ms!.defaults)} / ${ms(row.p50Ms!.exhaustive)}${benchNote}`,
    fixed(row.buildSeconds?.wall, 1),
    formatBytes(row.indexBytes ?? 0),
    calibrationCell(row.calibration),
    ...commit,
  ];
}

function renderSection(results: GeneralisationResults): string {
  const { rows, target } = results;
  const measured = rows.filter((r) => r.recall !== undefined);
  const failed = measured.filter((r) => r.passed === false);
  const commits = [...new Set(rows.map((r) => r.commit))];
  const showCommit = commits.length > 1;
  const withCalibration = rows.filter((r) => r.calibration !== undefined);
  const header = ['collection', 'documents', 'terms / doc', 'terms / query (queries)', 'recall@10 [95 % CI]', 'tie-aware', '≥ target − 0.01', 'p50 ms defaults / exact', 'build s', 'index size', 'calibration', ...(showCommit ? ['commit'] : [])];
  const align = ['---', '---:', '---:', '---:', '---:', '---:', '---', '---:', '---:', '---:', '---', ...(showCommit ? ['---'] : [])];
  const out = [
    '## Generalisation: recall at the defaults on shapes they were not tuned on',
    '',
    `Generated by \`scripts/bench-generalisation.ts\` on ${results.started.slice(0, 10)} at commit ${commits.join(', ')}; measuring these rows took ${(rows.reduce((sum, r) => sum + r.seconds.total, 0) / 60).toFixed(0)} min (the last run ${(results.seconds / 60).toFixed(0)} min). Machine: ${formatMachine(results.machine)}; latencies and build times are only comparable between rows measured under the same load.`,
    '',
    'Each collection is indexed with `spladex index` without any tuning flag and searched with `spladex search` without query arguments; the ground truth is `spladex search --exact` (exhaustive) on the same queries. *recall@10* is the mean over queries of |default top 10 ∩ exact top 10| / min(10, |exact top 10|), with a 95 % bootstrap percentile interval over the queries; *tie-aware* also counts a result whose score equals the exact 10th score. Latencies are the single-threaded p50 of `spladex bench` (no query arguments) and of its exhaustive baseline, after warm-up. *build s* is the wall time of the `spladex index` process. *calibration* is what `spladex info --json` reports under `calibration` (its recall estimate, and whether search is exact); "none" when the index has none.',
    '',
    table(header, align, rows.map((r) => resultRow(r, target, showCommit))),
    '',
    measured.length === 0
      ? 'No collection was measured.'
      : failed.length === 0
        ? `All ${measured.length} measured collections reach recall@10 ≥ ${fixed(target - 0.01, 2)} at the defaults.`
        : `${failed.length} of ${measured.length} measured collections are below ${fixed(target - 0.01, 2)} at the defaults: ${failed.map((r) => `${r.name} (${fixed(r.recall?.mean)})`).join(', ')}.`,
    '',
  ];
  if (withCalibration.length > 0) {
    out.push('<details><summary>Calibration reported by <code>spladex info --json</code></summary>', '');
    for (const row of withCalibration) out.push(`- **${row.name}**: ${flattenCalibration(row.calibration).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    out.push('', '</details>', '');
  }
  const timeRows = rows.map((r) => [
    r.name,
    ...[r.seconds.prepare, r.seconds.build, r.seconds.search + r.seconds.exact, r.seconds.bench, r.seconds.total].map((s) => s.toFixed(0)),
    r.load === undefined ? '—' : r.load.map((l) => l.toFixed(1)).join(' → '),
  ]);
  out.push(
    '<details><summary>Run time per collection (seconds)</summary>',
    '',
    table(['collection', 'generate', 'index', 'search + exact', 'bench', 'total', 'load average (1 min) before → after'], ['---', '---:', '---:', '---:', '---:', '---:', '---:'], timeRows),
    '',
    '</details>',
    '',
    `Rerun: \`node dist/scripts/bench-generalisation.js --out <report.md> [--max-docs N] [--only name,…]\`; rows of collections not rerun are kept from \`<report>.generalisation.json\` (raw results, per-query recall included).`,
  );
  return out.join('\n');
}

/** The report with the section between the markers replaced (or appended, with its markers, when absent). */
function spliceGeneralisationSection(report: string, section: string): string {
  return spliceSection(report, { start: START_MARKER, end: END_MARKER }, `${START_MARKER}\n${section}\n${END_MARKER}`);
}

// ---------------------------------------------------------------------------------------------
// The suite.
// ---------------------------------------------------------------------------------------------

function gitCommit(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() !== '' ? ' + uncommitted changes' : ''}`;
}

/** Saved rows still describing a declared collection, so that a partial run keeps the others. */
function savedRows(file: string): Map<string, CollectionResult> {
  const rows = new Map<string, CollectionResult>();
  if (!existsSync(file)) return rows;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as GeneralisationResults;
  for (const row of saved.rows) {
    const declared = COLLECTIONS.find((c) => c.name === row.name);
    if (declared !== undefined && JSON.stringify(declared) === JSON.stringify(row.spec)) rows.set(row.name, row);
  }
  return rows;
}

/** Runs the selected collections, writes the report section and the JSON results, and returns the results. */
export async function runGeneralisationSuite(options: GeneralisationOptions): Promise<GeneralisationResults> {
  const log = options.log ?? ((message: string) => process.stderr.write(`[generalisation ${new Date().toISOString().slice(11, 19)}] ${message}\n`));
  const target = options.target ?? 0.95;
  const only = options.only;
  if (only !== undefined) for (const name of only) if (!COLLECTIONS.some((c) => c.name === name)) throw new Error(`unknown collection ${name}; choose from ${COLLECTIONS.map((c) => c.name).join(', ')}`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; build first (npx tsc -p tsconfig.json)`);
  const outFile = resolve(ROOT, options.out);
  const resultsFile = outFile.replace(/\.md$/i, '') + '.generalisation.json';
  const dataDir = resolve(ROOT, options.data ?? 'bench-data');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(dirname(outFile), { recursive: true });
  const selected = COLLECTIONS.filter((c) => (only === undefined || only.includes(c.name)) && (options.maxDocs === undefined || collectionDocs(c) <= options.maxDocs));
  const started = new Date();
  const context: MeasureContext = { dataDir, shared: resolve(ROOT, '../shared/data'), target, threads: options.threads ?? 1, commit: options.commit ?? gitCommit(), log };
  const rows = savedRows(resultsFile);
  // A re-render keeps the date and duration of the run that measured.
  const previous = options.renderOnly === true && existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as GeneralisationResults) : undefined;
  const write = (): GeneralisationResults => {
    const results: GeneralisationResults = {
      started: previous?.started ?? started.toISOString(),
      seconds: previous?.seconds ?? (Date.now() - started.getTime()) / 1000,
      commit: context.commit,
      target,
      machine: describeMachine(),
      rows: COLLECTIONS.flatMap((c) => rows.get(c.name) ?? []),
    };
    writeFileSync(resultsFile, JSON.stringify(results, null, 2));
    writeFileSync(outFile, spliceGeneralisationSection(existsSync(outFile) ? readFileSync(outFile, 'utf8') : '', renderSection(results)));
    return results;
  };
  // Written after every collection: a long run interrupted keeps what it measured.
  for (const spec of options.renderOnly === true ? [] : selected) {
    rows.set(spec.name, await measureCollection(spec, context));
    write();
  }
  const results = write();
  log(`wrote ${outFile} and ${resultsFile}`);
  return results;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench-generalisation')
    .description('recall@10 at the defaults of spladex index + search against exact search, on collections of many shapes')
    .requiredOption('--out <file.md>', 'report to write the section into (created if missing; relative to the repository)')
    .option('--data <dir>', 'cache of generated data and indexes (relative to the repository)', 'bench-data')
    .option('--max-docs <n>', 'skip collections with more documents', (v) => Number.parseInt(v, 10))
    .option('--only <names>', `comma-separated collections: ${COLLECTIONS.map((c) => c.name).join(', ')}`)
    .option('--target <recall>', 'recall target (pass: ≥ target − 0.01)', Number.parseFloat, 0.95)
    .option('--threads <n>', 'throughput threads of spladex bench', (v) => Number.parseInt(v, 10), 1)
    .option('--commit <label>', 'code version shown in the report (default: git commit of the repository)')
    .option('--render', 'measure nothing: rewrite the section from <report>.generalisation.json', false);
  program.parse(process.argv);
  const o = program.opts<{ out: string; data: string; maxDocs?: number; only?: string; target: number; threads: number; commit?: string; render: boolean }>();
  const only = o.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  await runGeneralisationSuite({ out: o.out, data: o.data, maxDocs: o.maxDocs, only, target: o.target, threads: o.threads, commit: o.commit, renderOnly: o.render });
}

// Runs standalone only; bench-suite.ts imports runGeneralisationSuite.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench-generalisation: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
