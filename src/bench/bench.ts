/**
 * `spladex bench`: quality and speed of approximate search against the exact baselines, on one
 * index and one query set, in one run.
 *
 * Order of measurements, and why:
 *  1. approximate search with the chosen settings (and the sweep grid), single-threaded;
 *  2. peak RSS snapshot: the footprint of serving (index open + searching), before anything else
 *     the benchmark needs grows the process;
 *  3. throughput on N worker threads (each opens its own copy of the index);
 *  4. exhaustive search: the ground truth and the first exact baseline;
 *  5. MaxScore: the second exact baseline, warmed up like approximate search (its first query
 *     builds the unpruned inverted index, which is reported and kept out of the timings).
 * Recall is computed at the end, against the exhaustive results.
 */
import { CUSTOM_TERM_SPACE, type TermSpaceOptions } from '../io/term-space.js';
import { availableParallelism } from 'node:os';
import { exactRecallAtK, tieAwareRecallAtK } from '../eval/metrics.js';
import type { VectorQuery } from '../io/queries.js';
import { SEARCH_OPTIONS, type SearchMode, type SearchOptions } from '../query/options.js';
import { SpladexIndex } from '../spladex-index.js';
import type { IndexInfo } from '../reader/types.js';
import { settingForTarget } from '../store/calibration.js';
import type { SearchHit } from '../types.js';
import type { SweepRow, TradeoffPoint } from './plot.js';
import { describeMachine, latencyStats, peakRssBytes, timeQueries, type LatencyStats, type MachineInfo } from './stats.js';
import { measureThroughput, throughputWorkersAvailable } from './throughput.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

/** Options of `runBench`; `termSpace` / `allowTermSpaceMismatch` are those of the queries (src/io/term-space.ts). */
export interface BenchOptions extends TermSpaceOptions {
  /** Results per query; recall is recall@k. Default SEARCH_DEFAULTS.k. */
  k?: number;
  /** Approximate-search setting measured in detail. Default SEARCH_DEFAULTS.queryCut. */
  queryCut?: number;
  /** Approximate-search setting measured in detail. Default SEARCH_DEFAULTS.queryMass. */
  queryMass?: number;
  /** Approximate-search setting measured in detail. Default SEARCH_DEFAULTS.heapFactor. */
  heapFactor?: number;
  /** Approximate-search setting measured in detail (and in the sweep). Default SEARCH_DEFAULTS.graphNeighbors. */
  graphNeighbors?: number;
  /** @deprecated Renamed `graphNeighbors`; accepted until the next release. */
  knn?: number;
  /** Also measure every queryCut × heapFactor of the grid below. Default false. */
  sweep?: boolean;
  /** queryCut values of the sweep. Default [3, 5, 10, 20, 40]. */
  sweepQueryCuts?: readonly number[];
  /** heapFactor values of the sweep. Default [0.5, 0.6, 0.7, 0.8, 0.9, 1]. */
  sweepHeapFactors?: readonly number[];
  /** queryMass values the sweep also measures (each with every heap factor and no count limit). Default none. */
  sweepQueryMasses?: readonly number[];
  /** Worker threads of the throughput measurement. Default: the number of cores. Range 1 – 256. */
  threads?: number;
  /**
   * Untimed queries before each timed pass (JIT, caches), cycling through the query set. Default
   * 500: on 1M documents a process's searches keep getting faster for its first ~500 queries
   * (after 100 warm-up queries the next 500 ran 10–20% slower than later passes; after 500, within
   * noise: docs/PERFORMANCE.md), and a benchmark reports the steady state a server runs in. The
   * same warm-up precedes MaxScore. Exhaustive search uses at most `EXHAUSTIVE_WARMUP`: each of its
   * queries scans the whole forward index, so a few warm it, and more would cost minutes.
   * Range 0 – 1,000,000.
   */
  warmup?: number;
  /**
   * Timed passes over the queries of each setting; a query's latency is its median over them, so
   * that a pass caught behind another process's time slice does not make the query slow (on a
   * shared machine single passes put the p99 of the same setting anywhere from 1.1× to 3× its
   * median-of-5 value). Default 1; range 1 – 100.
   */
  passes?: number;
  /** The throughput phase repeats the queries until it has run for about this long (seconds). Default 3. */
  throughputSeconds?: number;
  /**
   * On a calibrated index, measure the stored setting for this recall@10 target instead of the
   * index's own target. Ignored when `queryCut`, `heapFactor` or `graphNeighbors` is given.
   */
  targetRecall?: number;
  /** Progress messages (phase names); default none. */
  onProgress?: (message: string) => void;
}

export type ResolvedBenchOptions = Required<Omit<BenchOptions, 'onProgress' | 'knn' | 'targetRecall' | keyof TermSpaceOptions>>;

const search = SEARCH_OPTIONS.specs;

/** The benchmark's options: default, range, flag and help of each (see src/util/options-table.ts). */
export const BENCH_OPTIONS: OptionsTable<ResolvedBenchOptions> = defineOptions<ResolvedBenchOptions>(
  {
    k: { ...search.k, help: 'results per query (recall@k)' },
    queryCut: search.queryCut,
    queryMass: search.queryMass,
    heapFactor: search.heapFactor,
    graphNeighbors: search.graphNeighbors,
    sweep: { type: 'boolean', default: false, help: 'also measure a queryCut × heapFactor grid; prints its table and writes a Pareto plot' },
    // Each value is checked as a search option when the benchmark starts.
    sweepQueryCuts: { type: 'integer', list: true, default: [3, 5, 10, 20, 40], help: 'queryCut values of the sweep, comma-separated' },
    sweepHeapFactors: { type: 'number', list: true, default: [0.5, 0.6, 0.7, 0.8, 0.9, 1], help: 'heapFactor values of the sweep, comma-separated' },
    sweepQueryMasses: { type: 'number', list: true, default: [], defaultText: 'none', help: 'queryMass values the sweep also measures with every heap factor (no count limit), comma-separated' },
    threads: { type: 'integer', min: 1, max: 256, default: () => availableParallelism(), defaultText: 'the number of cores', help: 'worker threads of the throughput measurement' },
    warmup: { type: 'integer', min: 0, max: 1_000_000, default: 500, help: 'untimed queries before each timed pass' },
    passes: { type: 'integer', min: 1, max: 100, default: 1, help: "timed passes over the queries; a query's latency is its median over them" },
    throughputSeconds: { type: 'number', min: 0, max: 3600, default: 3, flag: false, help: 'seconds the throughput phase runs for' },
  },
  { renamed: { knn: 'graphNeighbors' } },
);

/** Defaults of `BenchOptions`; `BENCH_DEFAULTS.knn` (deprecated, not enumerable) equals `graphNeighbors`. */
export const BENCH_DEFAULTS: Readonly<ResolvedBenchOptions> & { /** @deprecated use `graphNeighbors` */ readonly knn: number } = BENCH_OPTIONS.defaults as Readonly<ResolvedBenchOptions> & { readonly knn: number };

/** Warm-up queries of exhaustive search (each one scores every document). */
const EXHAUSTIVE_WARMUP = 5;

/** Latency summary of a timed pass, in milliseconds. */
export interface LatencySummary {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
}

export interface SweepPoint {
  query_cut: number;
  /** 1 for the query-cut settings; below 1 a query-mass setting (`query_cut` 0: no count limit). */
  query_mass: number;
  heap_factor: number;
  recall_at_k: number;
  latency_ms: LatencySummary;
}

export interface BenchReport {
  index: string;
  documents: number;
  queries: number;
  k: number;
  /**
   * The setting measured in detail: `source` says where it came from (`arguments` given,
   * `calibration`: the index's stored setting for the target, `defaults`: the fixed defaults of an
   * uncalibrated index); `mode` is `exhaustive` or `maxscore` when the calibration found exact
   * search as fast as approximate search (the whole index is then searched exactly).
   */
  settings: { query_cut: number; query_mass: number; heap_factor: number; knn: number; mode: SearchMode; source: 'arguments' | 'calibration' | 'defaults' };
  /** The index's calibration (null: none): the target measured, the calibration's estimate of the measured setting. */
  calibration: { target_recall: number; estimated_recall: number | null; estimated_worst_stratum: number | null; source: 'pseudo' | 'given'; queries: number } | null;
  /** Kernels every mode scored candidates with (see `IndexInfo.scoringKernel`). */
  scoring_kernel: IndexInfo['scoringKernel'];
  /** Mean over queries of |approximate top k ∩ exact top k| / min(k, |exact|). */
  recall_at_k: number;
  /** Like recall_at_k, but a result whose score ties the exact k-th score also counts. */
  recall_at_k_tie_aware: number;
  /** Single-threaded latency per query, after warm-up. */
  latency_ms: LatencySummary;
  /** Queries per second on `threads` worker threads. */
  qps: number;
  threads: number;
  /** Timed passes per setting (`passes`): latencies are per-query medians over them (exhaustive search: one pass). */
  timed_passes: number;
  /** Peak RSS of the process after opening the index and serving the approximate queries. */
  peak_rss_bytes: number;
  /** Peak RSS at the end, including the exact baselines and the throughput workers' index copies. */
  peak_rss_bytes_end: number;
  /** Bytes on disk, total and per part. */
  index_bytes: { total: number; parts: Record<string, number> };
  /** Bytes of the in-memory search structures. */
  index_memory_bytes: IndexInfo['memory'];
  baselines: {
    exhaustive: { latency_ms: LatencySummary };
    maxscore: {
      latency_ms: LatencySummary;
      /** Recall@k against exhaustive search (MaxScore is exact: must be 1). */
      recall_at_k: number;
      /** Fraction of queries whose MaxScore results equal the exhaustive ones exactly, ids and scores (must be 1). */
      agreement: number;
      /** Time of the first query, which builds the unpruned inverted index (excluded from latency_ms). */
      first_query_ms: number;
      /** Memory of the unpruned inverted index MaxScore needs. */
      index_memory_bytes: number;
    };
  };
  /** Baseline latency / approximate latency. */
  speedup: { exhaustive_p50: number; maxscore_p50: number; exhaustive_mean: number; maxscore_mean: number };
  sweep?: SweepPoint[];
  machine: MachineInfo;
}

function summary(stats: LatencyStats): LatencySummary {
  return { mean: stats.mean, p50: stats.p50, p95: stats.p95, p99: stats.p99, min: stats.min, max: stats.max };
}

function meanRecall(approx: SearchHit[][], exact: SearchHit[][], k: number, tieAware: boolean): number {
  if (exact.length === 0) return 1;
  let sum = 0;
  for (let i = 0; i < exact.length; i++) {
    sum += tieAware ? tieAwareRecallAtK(approx[i], exact[i], k) : exactRecallAtK(approx[i].map((h) => h.id), exact[i].map((h) => h.id), k);
  }
  return sum / exact.length;
}

/** Bytes of MaxScore's unpruned inverted index: doc id + float value per posting, offset + max per term. */
function unprunedIndexBytes(info: IndexInfo): number {
  return info.postings * 8 + info.vocabularySize * 8 + 4 * info.segments.length;
}

/** Measures approximate search against both exact baselines on `queries`. */
export async function runBench(dir: string, queries: readonly VectorQuery[], options: BenchOptions = {}): Promise<BenchReport> {
  const o = BENCH_OPTIONS.resolve(options);
  const progress = options.onProgress ?? (() => {});
  const vectors = queries.map((q) => q.vector);
  const n = vectors.length;
  const index = SpladexIndex.open(dir, { readonly: true });
  try {
    // The queries' term space is checked once, for the whole set (E_TERM_SPACE before any
    // measurement); the timed searches then declare the index's own space, so it costs nothing there.
    index.searchBatch(vectors, { k: 1, ...(options.termSpace === undefined ? {} : { termSpace: options.termSpace }), ...(options.allowTermSpaceMismatch === undefined ? {} : { allowTermSpaceMismatch: options.allowTermSpaceMismatch }) });
    const inSpace = { termSpace: index.manifest.termSpace ?? CUSTOM_TERM_SPACE };
    // The setting measured in detail: the arguments given, else what `search` would run (the
    // calibrated setting of a calibrated index, possibly exact search), else the fixed defaults.
    const given = (['queryCut', 'queryMass', 'heapFactor', 'graphNeighbors', 'knn'] as const).some((key) => options[key] !== undefined);
    const calibration = index.info().calibration;
    const source: BenchReport['settings']['source'] = given ? 'arguments' : calibration === null ? 'defaults' : 'calibration';
    const approximateBase: SearchOptions = { k: o.k, queryCut: o.queryCut, queryMass: o.queryMass, heapFactor: o.heapFactor, graphNeighbors: o.graphNeighbors, mode: 'approximate' };
    const chosen: SearchOptions = source === 'calibration' ? index.searchSettings({ k: o.k, ...(options.targetRecall === undefined ? {} : { targetRecall: options.targetRecall }) }) : approximateBase;
    // Validates k, queryCut and heapFactor of every setting (E_OPTION) before any long measurement.
    index.search({}, chosen);
    const sweepBase: SearchOptions = { ...approximateBase, ...(chosen.mode === 'approximate' ? { graphNeighbors: chosen.graphNeighbors } : {}) };
    // The sweep's traversal rules: every query cut (mass 1), then every query mass (no count limit).
    const traversals = [...o.sweepQueryCuts.map((queryCut) => ({ queryCut, queryMass: 1 })), ...o.sweepQueryMasses.map((queryMass) => ({ queryCut: 0, queryMass }))];
    if (o.sweep) for (const traversal of traversals) for (const heapFactor of o.sweepHeapFactors) index.search({}, { ...sweepBase, ...traversal, heapFactor });
    const info = index.info();
    const timed = async (searchOptions: SearchOptions, warmup: number, passes = o.passes): Promise<{ hits: SearchHit[][]; stats: LatencyStats }> => {
      const declared = { ...searchOptions, ...inSpace };
      const run = await timeQueries(n, (i) => index.search(vectors[i], declared), { warmup, repeats: passes });
      return { hits: run.results, stats: latencyStats(run.latencies) };
    };

    progress(chosen.mode === 'approximate' ? `approximate search (queryCut ${chosen.queryCut}, queryMass ${chosen.queryMass}, heapFactor ${chosen.heapFactor}, graphNeighbors ${chosen.graphNeighbors}; ${source}) on ${n} queries` : `exact search (${chosen.mode}; the calibration found it as fast as approximate search) on ${n} queries`);
    const approximate = await timed(chosen, o.warmup);
    const sweepRuns: Array<{ queryCut: number; queryMass: number; heapFactor: number; hits: SearchHit[][]; stats: LatencyStats }> = [];
    if (o.sweep) {
      for (const traversal of traversals) {
        for (const heapFactor of o.sweepHeapFactors) {
          progress(`sweep: ${traversal.queryMass < 1 ? `queryMass ${traversal.queryMass}` : `queryCut ${traversal.queryCut}`}, heapFactor ${heapFactor}`);
          const run = await timed({ ...sweepBase, ...traversal, heapFactor }, Math.min(o.warmup, n));
          sweepRuns.push({ ...traversal, heapFactor, ...run });
        }
      }
    }
    const servingPeakRss = peakRssBytes();

    // One thread (or no compiled worker): throughput is the inverse of the mean latency.
    let qps = 1000 / Math.max(approximate.stats.mean, 1e-9);
    let threads = 1;
    if (o.threads > 1 && throughputWorkersAvailable() && n > 0) {
      // Enough passes that each thread searches for about throughputSeconds.
      const shareMs = (approximate.stats.mean * n) / o.threads;
      const passes = Math.max(1, Math.min(1000, Math.ceil((o.throughputSeconds * 1000) / Math.max(shareMs, 1e-6))));
      progress(`throughput on ${o.threads} threads (${passes} pass${passes === 1 ? '' : 'es'})`);
      const throughput = await measureThroughput(index.path, vectors, { ...chosen, ...inSpace } as SearchOptions, o.threads, Math.min(o.warmup, n), passes);
      qps = throughput.qps;
      threads = throughput.threads;
    }

    progress(`exhaustive search (ground truth) on ${n} queries`);
    // One pass: the baseline scans the whole forward index per query (minutes per pass at 1M).
    const exhaustive = await timed({ k: o.k, mode: 'exhaustive' }, Math.min(EXHAUSTIVE_WARMUP, n), 1);

    progress('MaxScore: building the unpruned inverted index');
    const firstStarted = performance.now();
    if (n > 0) index.search(vectors[0], { k: o.k, mode: 'maxscore', ...inSpace });
    const firstQueryMs = performance.now() - firstStarted;
    progress(`MaxScore search on ${n} queries`);
    const maxscore = await timed({ k: o.k, mode: 'maxscore' }, o.warmup);
    let agreeing = 0;
    for (let i = 0; i < n; i++) if (sameHits(maxscore.hits[i], exhaustive.hits[i])) agreeing++;

    const estimate = calibration !== null && source === 'calibration' ? settingForTarget(calibration, options.targetRecall ?? calibration.targetRecall) : undefined;
    const latency = summary(approximate.stats);
    const exhaustiveLatency = summary(exhaustive.stats);
    const maxscoreLatency = summary(maxscore.stats);
    const report: BenchReport = {
      index: index.path,
      documents: info.documents,
      queries: n,
      k: o.k,
      // JSON field names are kept: `knn` is the graph round's neighbours per result.
      settings: { query_cut: chosen.queryCut!, query_mass: chosen.queryMass!, heap_factor: chosen.heapFactor!, knn: chosen.graphNeighbors!, mode: chosen.mode!, source },
      calibration:
        calibration === null
          ? null
          : {
              target_recall: options.targetRecall ?? calibration.targetRecall,
              estimated_recall: estimate?.recall ?? null,
              estimated_worst_stratum: estimate?.worstStratum ?? null,
              source: calibration.source,
              queries: calibration.queries,
            },
      scoring_kernel: info.scoringKernel,
      recall_at_k: meanRecall(approximate.hits, exhaustive.hits, o.k, false),
      recall_at_k_tie_aware: meanRecall(approximate.hits, exhaustive.hits, o.k, true),
      latency_ms: latency,
      qps,
      threads,
      timed_passes: o.passes,
      peak_rss_bytes: servingPeakRss,
      peak_rss_bytes_end: peakRssBytes(),
      index_bytes: info.bytes,
      index_memory_bytes: info.memory,
      baselines: {
        exhaustive: { latency_ms: exhaustiveLatency },
        maxscore: { latency_ms: maxscoreLatency, recall_at_k: meanRecall(maxscore.hits, exhaustive.hits, o.k, false), agreement: n === 0 ? 1 : agreeing / n, first_query_ms: firstQueryMs, index_memory_bytes: unprunedIndexBytes(info) },
      },
      speedup: {
        exhaustive_p50: exhaustiveLatency.p50 / latency.p50,
        maxscore_p50: maxscoreLatency.p50 / latency.p50,
        exhaustive_mean: exhaustiveLatency.mean / latency.mean,
        maxscore_mean: maxscoreLatency.mean / latency.mean,
      },
      machine: describeMachine(),
    };
    if (o.sweep) {
      report.sweep = sweepRuns.map((run) => ({
        query_cut: run.queryCut,
        query_mass: run.queryMass,
        heap_factor: run.heapFactor,
        recall_at_k: meanRecall(run.hits, exhaustive.hits, o.k, false),
        latency_ms: summary(run.stats),
      }));
    }
    return report;
  } finally {
    index.close();
  }
}

function sameHits(a: readonly SearchHit[], b: readonly SearchHit[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].id !== b[i].id || a[i].score !== b[i].score) return false;
  return true;
}

/** The points of the recall-vs-latency plot: every sweep setting (or the chosen one) plus both exact baselines. */
export function tradeoffPoints(report: BenchReport): TradeoffPoint[] {
  const rows = report.sweep ?? [{ query_cut: report.settings.query_cut, query_mass: report.settings.query_mass, heap_factor: report.settings.heap_factor, recall_at_k: report.recall_at_k, latency_ms: report.latency_ms }];
  const points: TradeoffPoint[] = rows.map((r) => ({ label: `${r.query_mass < 1 ? `mass=${r.query_mass}` : `cut=${r.query_cut}`} hf=${r.heap_factor}`, recall: r.recall_at_k, latencyMs: r.latency_ms.mean, kind: 'seismic' }));
  points.push({ label: 'exhaustive', recall: 1, latencyMs: report.baselines.exhaustive.latency_ms.mean, kind: 'exhaustive' });
  points.push({ label: 'MaxScore', recall: report.baselines.maxscore.recall_at_k, latencyMs: report.baselines.maxscore.latency_ms.mean, kind: 'maxscore' });
  // The log axis needs positive latencies; a tiny index can time a query at 0 ms.
  for (const p of points) p.latencyMs = Math.max(p.latencyMs, 1e-4);
  return points;
}

/** The sweep in the shape of `formatSweepTable`. */
export function sweepTableRows(report: BenchReport): SweepRow[] {
  return (report.sweep ?? []).map((row) => ({
    queryCut: row.query_cut,
    queryMass: row.query_mass,
    heapFactor: row.heap_factor,
    recall: row.recall_at_k,
    meanMs: row.latency_ms.mean,
    p50Ms: row.latency_ms.p50,
    p99Ms: row.latency_ms.p99,
  }));
}
