/**
 * Benchmark statistics: latency summaries, a timing loop with warm-up, memory and machine facts.
 */

import { cpus, freemem, platform, release, totalmem, arch } from 'node:os';

import { SpladexError, checkRange } from '../errors.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

/**
 * Nearest-rank percentile of an ascending-sorted sample: the smallest observed value such that at
 * least p% of the sample is ≤ it, i.e. `sorted[ceil(p/100 · n) − 1]`; p = 0 gives the minimum and
 * p = 100 the maximum. No interpolation, so the result is always a latency that really occurred
 * (p99 of 100 queries is the 99th fastest, p99 of 1,000 the 990th).
 */
export function percentileNearestRank(sorted: Float64Array, p: number): number {
  checkRange('percentile', p, 0, 100);
  const n = sorted.length;
  if (n === 0) throw new SpladexError('E_OPTION', 'a percentile needs at least one sample; time at least one query');
  if (p === 0) return sorted[0];
  // The relative epsilon absorbs floating error such as 99.9 · 1000 / 100 = 999.0000000000001,
  // which would otherwise round up to the next rank.
  const rank = Math.ceil(((p * n) / 100) * (1 - 1e-12));
  return sorted[Math.min(n, Math.max(1, rank)) - 1];
}

/** Latency summary in milliseconds. */
export interface LatencyStats {
  /** Number of samples. */
  count: number;
  mean: number;
  min: number;
  /** Nearest-rank percentiles (see {@link percentileNearestRank}). */
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Summarises per-query latencies (ms). Does not modify `ms`. Throws `E_OPTION` when empty. */
export function latencyStats(ms: Float64Array): LatencyStats {
  if (ms.length === 0) throw new SpladexError('E_OPTION', 'latency statistics need at least one sample; time at least one query');
  const sorted = Float64Array.from(ms).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    min: sorted[0],
    p50: percentileNearestRank(sorted, 50),
    p95: percentileNearestRank(sorted, 95),
    p99: percentileNearestRank(sorted, 99),
    max: sorted[sorted.length - 1],
  };
}

/** Options of {@link timeQueries}. */
export interface TimeQueriesOptions {
  /**
   * Untimed calls before measuring, cycling through the queries from index 0, so the JIT has
   * compiled the hot paths and caches are warm (first calls are often 10–100× slower and would
   * dominate p99). Default 100; range [0, 1,000,000]. Use 0 to measure cold-start behaviour.
   */
  warmup: number;
  /**
   * Timed passes over all queries; each query's latency is its median over the passes (the mean of
   * the middle two for an even count), so a query that one pass caught behind another process's
   * time slice does not count as slow. Default 1; range [1, 1000].
   */
  repeats: number;
}

/** Defaults of {@link TimeQueriesOptions}. */
/** The options of `timeQueries`: default and range of each (see src/util/options-table.ts). */
const TIME_QUERIES_OPTIONS: OptionsTable<TimeQueriesOptions> = defineOptions<TimeQueriesOptions>({
  warmup: { type: 'integer', min: 0, max: 1_000_000, default: 100, flag: false, help: 'untimed calls before the timed passes' },
  repeats: { type: 'integer', min: 1, max: 1000, default: 1, flag: false, help: 'timed passes over all queries' },
});

export const TIME_QUERIES_DEFAULTS: Readonly<TimeQueriesOptions> = TIME_QUERIES_OPTIONS.defaults;

/** What {@link timeQueries} measured. */
export interface TimedQueries<T> {
  /** Per-query latency in ms (mean over repeats), indexed like the queries. */
  latencies: Float64Array;
  /** Result of each query's last timed call. */
  results: T[];
  /** Wall-clock ms of the timed passes (excludes warm-up). */
  totalMs: number;
}

/**
 * Calls `run(i)` for every query index i in [0, count), one at a time, and records how long each
 * call takes (including awaiting a returned promise). Warm-up calls come first and are not timed.
 */
export async function timeQueries<T>(count: number, run: (i: number) => T | Promise<T>, options: Partial<TimeQueriesOptions> = {}): Promise<TimedQueries<T>> {
  const o = TIME_QUERIES_OPTIONS.resolve(options);
  checkRange('count', count, 0, Number.MAX_SAFE_INTEGER, true);
  if (count > 0) {
    for (let w = 0; w < o.warmup; w++) await run(w % count);
  }
  // passes[r * count + i]: query i's latency in pass r.
  const passes = new Float64Array(o.repeats * count);
  const results = new Array<T>(count);
  const started = performance.now();
  for (let r = 0; r < o.repeats; r++) {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      let out = run(i);
      // Only await real promises: an `await` on a plain value still costs a microtask turn,
      // which would add noise to sub-millisecond synchronous searches.
      if (out instanceof Promise) out = await out;
      passes[r * count + i] = performance.now() - t0;
      results[i] = out as T;
    }
  }
  const totalMs = performance.now() - started;
  const latencies = new Float64Array(count);
  const own = new Float64Array(o.repeats);
  for (let i = 0; i < count; i++) {
    for (let r = 0; r < o.repeats; r++) own[r] = passes[r * count + i];
    own.sort();
    const middle = o.repeats >> 1;
    latencies[i] = o.repeats % 2 === 1 ? own[middle] : (own[middle - 1] + own[middle]) / 2;
  }
  return { latencies, results, totalMs };
}

/** Peak resident set size of this process so far, in bytes (`maxRSS` is reported in KiB). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Facts about the machine a benchmark ran on. */
export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs visible to Node (`os.cpus().length`; `os.availableParallelism()` when larger is not used). */
  cores: number;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  node: string;
  /** e.g. `linux 6.8.0 x64`. */
  os: string;
}

/** Describes this machine. */
export function describeMachine(): MachineInfo {
  const list = cpus();
  const models = [...new Set(list.map((c) => c.model.trim()).filter((m) => m !== ''))];
  return {
    cpuModel: models.length > 0 ? models.join(' + ') : 'unknown CPU',
    cores: list.length,
    totalMemoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
  };
}

/** One-line description, e.g. `AMD EPYC, 2 cores, 23.4 GiB RAM, Node v20.20.2, linux 6.8.0 x64`. */
export function formatMachine(info: MachineInfo = describeMachine()): string {
  return `${info.cpuModel}, ${info.cores} cores, ${formatBytes(info.totalMemoryBytes)} RAM, Node ${info.node}, ${info.os}`;
}

/** Human-readable byte count with binary units (KiB, MiB, GiB). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}
