import { describe, expect, it } from 'vitest';

import { formatMs, formatSweepTable, paretoFrontier, paretoPlotSpec, paretoPlotSvg, type TradeoffPoint } from './plot.js';

const points: TradeoffPoint[] = [
  { label: 'cut=3 hf=0.7', recall: 0.82, latencyMs: 0.4, kind: 'seismic' },
  { label: 'cut=5 hf=0.8', recall: 0.91, latencyMs: 0.6, kind: 'seismic' },
  { label: 'cut=5 hf=0.7', recall: 0.88, latencyMs: 0.7, kind: 'seismic' }, // dominated by cut=5 hf=0.8
  { label: 'cut=10 hf=0.9', recall: 0.97, latencyMs: 1.5, kind: 'seismic' },
  { label: 'cut=10 hf=1', recall: 0.97, latencyMs: 2.5, kind: 'seismic' }, // same recall, slower
  { label: 'exhaustive', recall: 1, latencyMs: 40, kind: 'exhaustive' },
  { label: 'maxscore', recall: 1, latencyMs: 12, kind: 'maxscore' },
];

describe('paretoFrontier', () => {
  it('keeps the points no other point beats in both recall and latency', () => {
    // By latency: 0.4 (0.82) ✓, 0.6 (0.91) ✓, 0.7 (0.88 < 0.91) ✗, 1.5 (0.97) ✓, 2.5 (0.97, not higher) ✗,
    // 12 maxscore (1.0) ✓, 40 exhaustive (1.0, not higher) ✗.
    expect(paretoFrontier(points).map((p) => p.label)).toEqual(['cut=3 hf=0.7', 'cut=5 hf=0.8', 'cut=10 hf=0.9', 'maxscore']);
  });

  it('prefers the more accurate of equally fast points, and the first of exact duplicates', () => {
    const f = paretoFrontier([
      { label: 'a', recall: 0.5, latencyMs: 1, kind: 'seismic' },
      { label: 'b', recall: 0.6, latencyMs: 1, kind: 'seismic' },
      { label: 'c', recall: 0.6, latencyMs: 1, kind: 'seismic' },
    ]);
    expect(f.map((p) => p.label)).toEqual(['b']);
    expect(paretoFrontier([])).toEqual([]);
  });

  it('rejects points that cannot be plotted', () => {
    expect(() => paretoFrontier([{ label: 'z', recall: 0.5, latencyMs: 0, kind: 'seismic' }])).toThrow(/latency > 0/);
    expect(() => paretoFrontier([{ label: 'z', recall: 1.5, latencyMs: 1, kind: 'seismic' }])).toThrow(/recall in \[0, 1\]/);
    expect(() => paretoFrontier([{ label: 'z', recall: 0.5, latencyMs: 1, kind: 'other' as 'seismic' }])).toThrow(/kind/);
  });
});

/** Minimal XML well-formedness check: tags balance and nest; attributes are quoted. */
function checkWellFormed(svg: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(svg)) !== null) {
    // Text between tags must not contain a raw '<'.
    expect(svg.slice(last, m.index)).not.toMatch(/</);
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (selfClose) continue;
    if (close) expect(stack.pop()).toBe(name);
    else stack.push(name);
  }
  expect(svg.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

describe('paretoPlotSvg', () => {
  it('renders a well-formed SVG with every series, headless', async () => {
    const svg = await paretoPlotSvg(points, { title: 'synthetic 1M', recallLabel: 'recall@10' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    checkWellFormed(svg);
    for (const text of ['Seismic sweep', 'Pareto frontier', 'exhaustive (exact)', 'MaxScore (exact)', 'synthetic 1M', 'recall@10', 'log scale']) {
      expect(svg).toContain(text);
    }
    // Baseline labels are drawn next to their marks.
    expect(svg).toContain('>maxscore<');
    expect(svg).toContain('>exhaustive<');
    // Deterministic: the same input renders the same bytes.
    expect(await paretoPlotSvg(points, { title: 'synthetic 1M', recallLabel: 'recall@10' })).toBe(svg);
  });

  it('plots a log latency axis and the frontier as its own dataset', () => {
    const spec = paretoPlotSpec(points) as unknown as { datasets: Record<string, { label: string }[]>; layer: { encoding: { x: { scale: { type: string } } } }[] };
    expect(spec.datasets.frontier.map((r) => r.label)).toEqual(['cut=3 hf=0.7', 'cut=5 hf=0.8', 'cut=10 hf=0.9', 'maxscore']);
    expect(spec.datasets.sweep).toHaveLength(5);
    expect(spec.datasets.baselines).toHaveLength(2);
    expect(spec.layer[0].encoding.x.scale.type).toBe('log');
  });

  it("draws another engine's points (reference) under their own name, with their own frontier", async () => {
    const reference = [
      { label: 'qc=3 hf=0.8', recall: 0.93, latencyMs: 0.2, kind: 'reference' as const },
      { label: 'qc=5 hf=0.8', recall: 0.97, latencyMs: 0.3, kind: 'reference' as const },
    ];
    const svg = await paretoPlotSvg([...points, ...reference], { sweepLabel: 'spladex sweep', referenceLabel: 'Seismic (Rust)' });
    checkWellFormed(svg);
    for (const text of ['spladex sweep', 'Seismic (Rust)', 'Seismic (Rust) frontier']) expect(svg).toContain(text);
    // Without reference points the legend has no reference entries.
    expect(await paretoPlotSvg(points, { referenceLabel: 'Seismic (Rust)' })).not.toContain('Seismic (Rust)');
  });

  it('renders with only sweep points', async () => {
    const svg = await paretoPlotSvg(points.filter((p) => p.kind === 'seismic'));
    checkWellFormed(svg);
    expect(svg).toContain('Seismic sweep');
  });
});

describe('formatSweepTable', () => {
  it('formats a Markdown table and marks frontier rows', () => {
    const table = formatSweepTable([
      { queryCut: 5, heapFactor: 0.8, recall: 0.91234, meanMs: 0.6123, p50Ms: 0.55, p99Ms: 2.345 },
      { queryCut: 5, heapFactor: 0.7, recall: 0.88, meanMs: 0.7, p50Ms: 0.6, p99Ms: 3 },
      { queryCut: 10, heapFactor: 1, recall: 0.99, meanMs: 12.34, p50Ms: 11, p99Ms: 123.4 },
    ]);
    expect(table).toBe(
      [
        '| queryCut | heapFactor | recall@10 | mean ms | p50 ms | p99 ms |',
        '|---:|---:|---:|---:|---:|---:|',
        '| 5 | 0.8 | 0.9123 * | 0.612 | 0.550 | 2.35 |',
        '| 5 | 0.7 | 0.8800 | 0.700 | 0.600 | 3.00 |',
        '| 10 | 1 | 0.9900 * | 12.3 | 11.0 | 123 |',
        '',
        '`*` on the recall/mean-latency Pareto frontier.',
        '',
      ].join('\n'),
    );
    expect(formatSweepTable([], { k: 100, markFrontier: false })).toBe('| queryCut | heapFactor | recall@100 | mean ms | p50 ms | p99 ms |\n|---:|---:|---:|---:|---:|---:|\n');
  });

  it('formats milliseconds with about three significant digits', () => {
    expect(formatMs(0.01234)).toBe('0.012');
    expect(formatMs(1.2345)).toBe('1.23');
    expect(formatMs(45.67)).toBe('45.7');
    expect(formatMs(456.7)).toBe('457');
  });
});
