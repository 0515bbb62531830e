/**
 * Benchmark reporting: the recall-vs-latency Pareto frontier as SVG, and Markdown tables of sweeps.
 *
 * Plots are built as a Vega-Lite spec, compiled to Vega and rendered by a headless Vega `View`
 * (renderer 'none' + `toSVG()`): no browser, no canvas, byte-stable output for the same input.
 */

// vega and vega-lite are loaded on first plot only: they take ~0.3 s to import, which every CLI
// command would otherwise pay at start-up.
import type { TopLevelSpec } from 'vega-lite';

import { SpladexError } from '../errors.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

/**
 * Which method produced a point: a Seismic parameter setting, an exact baseline, or a setting of
 * another engine measured on the same queries (`reference`, e.g. the original Seismic), which
 * gets its own sweep marks and its own frontier.
 */
export type PointKind = 'seismic' | 'exhaustive' | 'maxscore' | 'reference';

/** One measured configuration. */
export interface TradeoffPoint {
  /** Shown in tooltips and, for baselines, next to the mark (e.g. `cut=5 hf=0.9`). */
  label: string;
  /** Recall@k against the exact run, in [0, 1]. */
  recall: number;
  /** Mean (or other summary) latency in ms, > 0 (the axis is logarithmic). */
  latencyMs: number;
  kind: PointKind;
}

const KINDS: readonly PointKind[] = ['seismic', 'exhaustive', 'maxscore', 'reference'];

function checkPoints(points: readonly TradeoffPoint[]): void {
  for (const p of points) {
    if (!KINDS.includes(p.kind)) throw new SpladexError('E_OPTION', `point ${JSON.stringify(p.label)} has kind ${JSON.stringify(p.kind)}; use 'seismic', 'exhaustive', 'maxscore' or 'reference'`);
    if (!(p.latencyMs > 0) || !Number.isFinite(p.latencyMs)) throw new SpladexError('E_OPTION', `point ${JSON.stringify(p.label)} needs a finite latency > 0 ms for the log axis, got ${p.latencyMs}`);
    if (!(p.recall >= 0 && p.recall <= 1)) throw new SpladexError('E_OPTION', `point ${JSON.stringify(p.label)} needs a recall in [0, 1], got ${p.recall}`);
  }
}

/**
 * The Pareto frontier of recall (higher is better) against latency (lower is better): the points
 * not dominated by any other point (no other point is at least as fast *and* at least as accurate,
 * and strictly better in one). Returned by increasing latency, hence strictly increasing recall.
 * Of exact duplicates, the first one given is kept. All kinds compete: an exact baseline is on the
 * frontier when no approximate setting reaches its recall faster.
 */
export function paretoFrontier(points: readonly TradeoffPoint[]): TradeoffPoint[] {
  checkPoints(points);
  // Stable sort: by latency ascending, then recall descending, so the first point at each latency
  // is the most accurate one and a single sweep with a running maximum finds the frontier.
  const sorted = points
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.latencyMs - b.p.latencyMs || b.p.recall - a.p.recall || a.i - b.i)
    .map((x) => x.p);
  const frontier: TradeoffPoint[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (p.recall > best) {
      frontier.push(p);
      best = p.recall;
    }
  }
  return frontier;
}

/** Options of {@link paretoPlotSvg}. */
export interface ParetoPlotOptions {
  /** Title above the plot. Default `'Recall vs latency'`. */
  title: string;
  /** Y-axis title, naming the recall cut-off. Default `'recall@10'`. */
  recallLabel: string;
  /** X-axis title. Default `'mean latency per query (ms, log scale)'`. */
  latencyLabel: string;
  /** Plot area width in px. Default 640; range [100, 4000]. */
  width: number;
  /** Plot area height in px. Default 400; range [100, 4000]. */
  height: number;
  /** Legend name of the `seismic` points. Default `'Seismic sweep'`. */
  sweepLabel: string;
  /** Legend name of the `reference` points (their frontier is `<name> frontier`). Default `'reference engine'`. */
  referenceLabel: string;
}

/** Defaults of {@link ParetoPlotOptions}. */
const PARETO_PLOT_OPTIONS: OptionsTable<ParetoPlotOptions> = defineOptions<ParetoPlotOptions>({
  title: { type: 'string', default: 'Recall vs latency', flag: false, help: 'title above the plot' },
  recallLabel: { type: 'string', default: 'recall@10', flag: false, help: 'y-axis title' },
  latencyLabel: { type: 'string', default: 'mean latency per query (ms, log scale)', flag: false, help: 'x-axis title' },
  width: { type: 'number', min: 100, max: 4000, default: 640, flag: false, help: 'plot area width in px' },
  height: { type: 'number', min: 100, max: 4000, default: 400, flag: false, help: 'plot area height in px' },
  sweepLabel: { type: 'string', default: 'Seismic sweep', flag: false, help: 'legend name of the sweep points' },
  referenceLabel: { type: 'string', default: 'reference engine', flag: false, help: 'legend name of the reference points' },
});

export const PARETO_PLOT_DEFAULTS: Readonly<ParetoPlotOptions> = PARETO_PLOT_OPTIONS.defaults;

/** Legend entries (series) in display order after the sweep, with their colours (the sweep's first). */
const SERIES = ['Pareto frontier', 'exhaustive (exact)', 'MaxScore (exact)'] as const;
const SERIES_COLORS = ['#4c78a8', '#e45756', '#54a24b', '#b279a2'];
const BASELINE_SERIES: Record<'exhaustive' | 'maxscore', (typeof SERIES)[number]> = {
  exhaustive: 'exhaustive (exact)',
  maxscore: 'MaxScore (exact)',
};
/** Colours of the reference engine's points and frontier, only in the legend when it has points. */
const REFERENCE_COLORS = ['#f58518', '#9d755d'];

interface PlotRow {
  label: string;
  recall: number;
  latencyMs: number;
  series: string;
}

/**
 * The Vega-Lite spec of the plot: every sweep point, the frontier as a line, the exact baselines as
 * large labelled diamonds; logarithmic latency axis. `reference` points (another engine) are drawn
 * as squares with their own dashed frontier. Exposed so callers can tweak or save it.
 */
export function paretoPlotSpec(points: readonly TradeoffPoint[], options: Partial<ParetoPlotOptions> = {}): TopLevelSpec {
  const o = PARETO_PLOT_OPTIONS.resolve(options);
  // The reference engine competes only with itself: each engine gets its own frontier.
  const own = points.filter((p) => p.kind !== 'reference');
  const reference = points.filter((p) => p.kind === 'reference');
  const frontier = paretoFrontier(own);
  const row = (p: TradeoffPoint, series: string): PlotRow => ({ label: p.label, recall: p.recall, latencyMs: p.latencyMs, series });
  const sweep = own.filter((p) => p.kind === 'seismic').map((p) => row(p, o.sweepLabel));
  const baselines = own.filter((p) => p.kind !== 'seismic').map((p) => row(p, BASELINE_SERIES[p.kind as 'exhaustive' | 'maxscore']));
  const front = frontier.map((p) => row(p, 'Pareto frontier'));
  const referenceFrontierLabel = `${o.referenceLabel} frontier`;
  const referenceSweep = reference.map((p) => row(p, o.referenceLabel));
  const referenceFront = paretoFrontier(reference).map((p) => row(p, referenceFrontierLabel));

  const recalls = points.map((p) => p.recall);
  // Leave a little room below the worst point; recall never exceeds 1.
  const yMin = recalls.length > 0 ? Math.max(0, Math.floor((Math.min(...recalls) - 0.02) * 20) / 20) : 0;

  // Plain mutable literals with `as const` only on the enum-like strings: vega-lite's types reject readonly arrays.
  const x = { field: 'latencyMs', type: 'quantitative' as const, title: o.latencyLabel, scale: { type: 'log' as const } };
  const y = { field: 'recall', type: 'quantitative' as const, title: o.recallLabel, scale: { domain: [yMin, 1] } };
  const color = {
    field: 'series',
    type: 'nominal' as const,
    title: null,
    scale: {
      domain: [o.sweepLabel, ...SERIES, ...(reference.length > 0 ? [o.referenceLabel, referenceFrontierLabel] : [])],
      range: [...SERIES_COLORS, ...(reference.length > 0 ? REFERENCE_COLORS : [])],
    },
    // Room for longer series names (an engine and its version) than the 160 px default.
    legend: { orient: 'bottom-right' as const, labelLimit: 280 },
  };
  const tooltip = [
    { field: 'label', type: 'nominal' as const },
    { field: 'recall', type: 'quantitative' as const, format: '.4f' },
    { field: 'latencyMs', type: 'quantitative' as const, title: 'ms', format: '.3f' },
  ];

  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width,
    height: o.height,
    datasets: { sweep, baselines, frontier: front, ...(reference.length > 0 ? { referenceSweep, referenceFrontier: referenceFront } : {}) },
    // Empty layers still declare the series so the legend is complete even without baselines.
    layer: [
      {
        data: { name: 'frontier' },
        mark: { type: 'line', strokeWidth: 2, interpolate: 'step-after' },
        encoding: { x, y, color, order: { field: 'latencyMs', type: 'quantitative' } },
      },
      {
        data: { name: 'sweep' },
        mark: { type: 'point', filled: true, size: 40, opacity: 0.8 },
        encoding: { x, y, color, tooltip },
      },
      {
        data: { name: 'frontier' },
        mark: { type: 'point', filled: false, size: 110, strokeWidth: 1.5 },
        encoding: { x, y, color, tooltip },
      },
      {
        data: { name: 'baselines' },
        mark: { type: 'point', shape: 'diamond', filled: true, size: 160 },
        encoding: { x, y, color, tooltip },
      },
      {
        data: { name: 'baselines' },
        mark: { type: 'text', align: 'left', dx: 9, dy: -9, fontSize: 11 },
        encoding: { x, y, text: { field: 'label', type: 'nominal' } },
      },
      ...(reference.length === 0
        ? []
        : [
            {
              data: { name: 'referenceFrontier' },
              mark: { type: 'line' as const, strokeWidth: 2, strokeDash: [6, 3], interpolate: 'step-after' as const },
              encoding: { x, y, color, order: { field: 'latencyMs', type: 'quantitative' as const } },
            },
            {
              data: { name: 'referenceSweep' },
              mark: { type: 'point' as const, shape: 'square', filled: true, size: 40, opacity: 0.8 },
              encoding: { x, y, color, tooltip },
            },
            {
              data: { name: 'referenceFrontier' },
              mark: { type: 'point' as const, shape: 'square', filled: false, size: 110, strokeWidth: 1.5 },
              encoding: { x, y, color, tooltip },
            },
          ]),
    ],
    config: { view: { stroke: '#ddd' }, axis: { grid: true, gridOpacity: 0.4 } },
  };
  return spec;
}

/**
 * Renders the recall@k-vs-latency plot to an SVG string, headless. Throws `E_OPTION` for points
 * without a positive finite latency or with recall outside [0, 1].
 */
export async function paretoPlotSvg(points: readonly TradeoffPoint[], options: Partial<ParetoPlotOptions> = {}): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const spec = compile(paretoPlotSpec(points, options)).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One setting of a parameter sweep, as measured. */
export interface SweepRow {
  /** Number of heaviest query terms traversed. */
  queryCut: number;
  /** Share of the query's weight the traversed terms hold (below 1: the row is a query-mass setting). Default 1. */
  queryMass?: number;
  /** Block pruning factor. */
  heapFactor: number;
  /** Recall@k against the exact run, in [0, 1]. */
  recall: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** Options of {@link formatSweepTable}. */
export interface SweepTableOptions {
  /** The k of recall@k, for the column title. Default 10; integer in [1, 100,000]. */
  k: number;
  /** Mark rows on the Pareto frontier (by recall vs mean latency) with `*`. Default true. */
  markFrontier: boolean;
}

/** Defaults of {@link SweepTableOptions}. */
const SWEEP_TABLE_OPTIONS: OptionsTable<SweepTableOptions> = defineOptions<SweepTableOptions>({
  k: { type: 'integer', min: 1, max: 100_000, default: 10, flag: false, help: 'the k of recall@k' },
  markFrontier: { type: 'boolean', default: true, flag: false, help: 'mark rows on the Pareto frontier with *' },
});

export const SWEEP_TABLE_DEFAULTS: Readonly<SweepTableOptions> = SWEEP_TABLE_OPTIONS.defaults;

/** Latency in ms with about 3 significant digits (3 decimals below 1 ms): readable, and no false precision. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/**
 * A GitHub-flavoured Markdown table of sweep results, in the given row order:
 * `| queryCut | heapFactor | recall@10 | mean ms | p50 ms | p99 ms |` (a query-mass row shows
 * `mass m` as its queryCut), numeric columns right-aligned,
 * frontier rows marked with `*` in the recall column.
 */
export function formatSweepTable(rows: readonly SweepRow[], options: Partial<SweepTableOptions> = {}): string {
  const o = SWEEP_TABLE_OPTIONS.resolve(options);
  let onFrontier = new Set<number>();
  if (o.markFrontier && rows.length > 0) {
    const pts = rows.map((r, i) => ({ label: String(i), recall: r.recall, latencyMs: r.meanMs, kind: 'seismic' as const }));
    // Rows with a non-positive latency cannot be placed on a log axis; the table still lists them.
    const valid = pts.filter((p) => p.latencyMs > 0 && Number.isFinite(p.latencyMs) && p.recall >= 0 && p.recall <= 1);
    onFrontier = new Set(paretoFrontier(valid).map((p) => Number(p.label)));
  }
  const header = `| queryCut | heapFactor | recall@${o.k} | mean ms | p50 ms | p99 ms |`;
  const rule = '|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map((r, i) => {
    const mark = onFrontier.has(i) ? ' *' : '';
    const traversal = r.queryMass !== undefined && r.queryMass < 1 ? `mass ${r.queryMass}` : String(r.queryCut);
    return `| ${traversal} | ${r.heapFactor} | ${r.recall.toFixed(4)}${mark} | ${formatMs(r.meanMs)} | ${formatMs(r.p50Ms)} | ${formatMs(r.p99Ms)} |`;
  });
  const note = o.markFrontier && onFrontier.size > 0 ? '\n\n`*` on the recall/mean-latency Pareto frontier.' : '';
  return [header, rule, ...lines].join('\n') + note + '\n';
}
