import { describe, expect, it } from 'vitest';

import { isSpladexError } from '../errors.js';
import { describeMachine, formatBytes, formatMachine, latencyStats, peakRssBytes, percentileNearestRank, timeQueries } from './stats.js';

describe('percentileNearestRank', () => {
  const ten = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

  it('uses rank ceil(p/100 · n)', () => {
    // n = 10: p50 → rank 5 → 5; p95 → ceil(9.5) = 10 → 10; p90 → rank 9 → 9; p91 → ceil(9.1) = 10 → 10.
    expect(percentileNearestRank(ten, 50)).toBe(5);
    expect(percentileNearestRank(ten, 90)).toBe(9);
    expect(percentileNearestRank(ten, 91)).toBe(10);
    expect(percentileNearestRank(ten, 95)).toBe(10);
    // p10 → rank 1; p11 → ceil(1.1) = 2; p0 → minimum; p100 → maximum.
    expect(percentileNearestRank(ten, 10)).toBe(1);
    expect(percentileNearestRank(ten, 11)).toBe(2);
    expect(percentileNearestRank(ten, 0)).toBe(1);
    expect(percentileNearestRank(ten, 100)).toBe(10);
  });

  it('is not fooled by floating error at exact ranks', () => {
    const thousand = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    // 99.9 · 1000 / 100 is 999.0000000000001 in floating point; the rank must still be 999.
    expect(percentileNearestRank(thousand, 99.9)).toBe(999);
    expect(percentileNearestRank(thousand, 99)).toBe(990);
    const hundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentileNearestRank(hundred, 95)).toBe(95);
    expect(percentileNearestRank(hundred, 99)).toBe(99);
  });

  it('handles a single sample and rejects bad input', () => {
    expect(percentileNearestRank(Float64Array.of(7), 99)).toBe(7);
    expect(() => percentileNearestRank(new Float64Array(0), 50)).toThrow(/at least one sample/);
    expect(() => percentileNearestRank(ten, 101)).toThrow(/percentile/);
  });
});

describe('latencyStats', () => {
  it('summarises without touching its input', () => {
    const ms = Float64Array.from([5, 1, 4, 2, 3]);
    const s = latencyStats(ms);
    // Sorted 1..5: mean 3; p50 → rank ceil(2.5) = 3 → 3; p95/p99 → rank 5 → 5.
    expect(s).toEqual({ count: 5, mean: 3, min: 1, p50: 3, p95: 5, p99: 5, max: 5 });
    expect(Array.from(ms)).toEqual([5, 1, 4, 2, 3]);
  });

  it('rejects an empty sample with E_OPTION', () => {
    let err: unknown;
    try {
      latencyStats(new Float64Array(0));
    } catch (e) {
      err = e;
    }
    expect(isSpladexError(err, 'E_OPTION')).toBe(true);
  });
});

describe('timeQueries', () => {
  it('warms up untimed, then times every query in order', async () => {
    const calls: number[] = [];
    const r = await timeQueries(3, (i) => {
      calls.push(i);
      return i * 10;
    }, { warmup: 4 });
    // Warm-up cycles 0, 1, 2, 0; then the timed pass 0, 1, 2.
    expect(calls).toEqual([0, 1, 2, 0, 0, 1, 2]);
    expect(r.results).toEqual([0, 10, 20]);
    expect(r.latencies).toHaveLength(3);
    for (const ms of r.latencies) expect(Number.isFinite(ms) && ms >= 0 && ms < 1000, String(ms)).toBe(true);
  });

  it('awaits async queries and averages repeats', async () => {
    const r = await timeQueries(2, async (i) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return `q${i}`;
    }, { warmup: 0, repeats: 2 });
    expect(r.results).toEqual(['q0', 'q1']);
    // Each call sleeps ≥ 5 ms (timers may fire up to ~1 ms early on some platforms).
    for (const ms of r.latencies) expect(ms).toBeGreaterThan(3.5);
    expect(r.totalMs).toBeGreaterThan(14);
  });

  it("takes each query's median over the passes, so one slow pass does not make a query slow", async () => {
    let call = 0;
    const spin = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    // Three passes over two queries: query 0 is slow in its second pass only, query 1 in two of three.
    const slow = new Set([2, 3, 5]);
    const r = await timeQueries(2, () => spin(slow.has(call++) ? 40 : 0), { warmup: 0, repeats: 3 });
    expect(r.latencies[0]).toBeLessThan(20);
    expect(r.latencies[1]).toBeGreaterThanOrEqual(40);
  });

  it('accepts no queries and validates options', async () => {
    expect((await timeQueries(0, () => 1)).latencies).toHaveLength(0);
    await expect(timeQueries(1, () => 1, { repeats: 0 })).rejects.toMatchObject({ code: 'E_OPTION' });
  });
});

describe('machine and memory', () => {
  it('describes the machine', () => {
    const m = describeMachine();
    expect(m.cores).toBeGreaterThan(0);
    expect(m.totalMemoryBytes).toBeGreaterThan(0);
    expect(m.node).toBe(process.version);
    expect(formatMachine(m)).toContain(`${m.cores} cores`);
    expect(peakRssBytes()).toBeGreaterThan(1024 * 1024);
  });

  it('formats bytes with binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
});
