/**
 * The calibration record stored in the manifest: which queries the index was calibrated on, the
 * recall–cost frontier of its query-time arguments, and the setting `search` uses by default.
 * Written by the build (src/writer/calibration.ts), read by the reader to pick the default
 * search setting for a recall target. Like the rest of the manifest it is untrusted input:
 * `parseCalibration` checks every field the reader relies on.
 *
 * Kept free of the query layer (storage never imports it): modes are spelled out here.
 */

/** How a stored setting searches: Seismic's approximate search or one of the exact modes. */
export type CalibratedMode = 'approximate' | 'exhaustive' | 'maxscore';

/** Query-time arguments of a stored setting and its estimated recall. */
export interface EstimatedSetting {
  queryCut: number;
  /** Share of the query's weight the traversed terms hold (1: exactly `queryCut` terms; absent in records before it existed). */
  queryMass: number;
  heapFactor: number;
  graphNeighbors: number;
  /** Mean recall@k over the calibration queries (1 for exact modes). */
  recall: number;
  /** 95 % confidence interval of `recall` (normal approximation over per-query recalls). */
  low: number;
  high: number;
}

/** One measured point of the frontier (approximate search with these arguments). */
export interface FrontierPoint extends EstimatedSetting {
  /** Mean recall of each stratum of calibration queries (one entry for a query log). */
  strata: number[];
  /**
   * Work per query, in forward-index entries read (documents scored × mean length, plus summary
   * entries bounded): deterministic, so the same seed picks the same setting on every machine.
   */
  cost: number;
}

/** The setting `search` uses for a recall target. */
export interface CalibratedSetting extends EstimatedSetting {
  mode: CalibratedMode;
  /** Lowest stratum mean: the figure the target is checked against. */
  worstStratum: number;
  /** Median latency measured on the calibration queries during calibration (machine-dependent). */
  p50Ms: number;
}

export interface Calibration {
  /** Recall target of the build (the default target of `search`). */
  targetRecall: number;
  /** Depth of the recall measure (recall@k). */
  k: number;
  /** `pseudo`: pseudo-queries drawn from the collection; `given`: the user's query log. */
  source: 'pseudo' | 'given';
  /** Calibration queries, and how many of each stratum (one stratum for a query log). */
  queries: number;
  strata: Array<{ name: string; queries: number }>;
  /** Live documents when the frontier was measured; `add`/`compact` recalibrate when this drifts. */
  documents: number;
  /** Static pruning chosen by the calibration, with κ (`knn`) when the build options left it open too; null when they fixed the pruning. */
  pruning: { keepFraction: number; maxFraction: number; ceiling: number; queryMass?: number; knn?: number } | null;
  /** The measured frontier (approximate settings), cheapest first. */
  frontier: FrontierPoint[];
  /** The exact mode that was faster on the calibration queries, and its median latency. */
  exact: { mode: 'exhaustive' | 'maxscore'; p50Ms: number };
  /** Milliseconds of latency per unit of `FrontierPoint.cost`, measured on the chosen point. */
  msPerCost: number;
  /** The setting chosen for `targetRecall`. */
  chosen: CalibratedSetting;
  /** Calibration time in seconds. */
  seconds: number;
  /** CRC-32 of the stored calibration queries (meta key `calibration-queries`), which `add` and `compact` recalibrate on. */
  queriesCrc?: number;
}

/** Meta key of the calibration queries in `spladex.db`. */
export const CALIBRATION_QUERIES_KEY = 'calibration-queries';

/**
 * Whether a measured setting meets `target`: every stratum's mean does, and so does the overall
 * mean less one standard error. The margin matters for a small query log: the cheapest of many
 * settings that just clears the target on the sample is, by selection, likely to fall short on
 * the next queries (100 log queries: 0.955 estimated, 0.926 on the held-back half, without it).
 */
export function meetsTarget(point: FrontierPoint, target: number): boolean {
  const standardError = (point.recall - point.low) / 1.96;
  return Math.min(...point.strata) >= target && point.recall - standardError >= target;
}

/** The cheapest measured approximate setting meeting `target` (see `meetsTarget`), if any. */
export function cheapestMeeting(calibration: Calibration, target: number): FrontierPoint | undefined {
  let best: FrontierPoint | undefined;
  for (const point of calibration.frontier) {
    if (!meetsTarget(point, target)) continue;
    if (best === undefined || point.cost < best.cost) best = point;
  }
  return best;
}

/**
 * The cheapest stored setting meeting `target`; exact search when no
 * approximate setting does or when the exact mode is estimated to be at least as fast.
 */
export function settingForTarget(calibration: Calibration, target: number): CalibratedSetting {
  const best = cheapestMeeting(calibration, target);
  const exact: CalibratedSetting = { mode: calibration.exact.mode, queryCut: 0, queryMass: 1, heapFactor: 1, graphNeighbors: 0, recall: 1, low: 1, high: 1, worstStratum: 1, p50Ms: calibration.exact.p50Ms };
  if (best === undefined) return exact;
  const p50Ms = best.cost * calibration.msPerCost;
  if (calibration.exact.p50Ms <= p50Ms) return exact;
  return { mode: 'approximate', queryCut: best.queryCut, queryMass: best.queryMass, heapFactor: best.heapFactor, graphNeighbors: best.graphNeighbors, recall: best.recall, low: best.low, high: best.high, worstStratum: Math.min(...best.strata), p50Ms };
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isFraction = (value: unknown): value is number => isNumber(value) && value >= 0 && value <= 1;
const isCount = (value: unknown): value is number => isNumber(value) && Number.isInteger(value) && value >= 0;
/** A stored query mass: absent (records written before it existed) means 1, the plain query cut. */
const queryMassOf = (value: unknown): number | undefined => (value === undefined ? 1 : isNumber(value) && value > 0 && value <= 1 ? value : undefined);

function parsePoint(raw: unknown): FrontierPoint | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const p = raw as Record<string, unknown>;
  const queryMass = queryMassOf(p.queryMass);
  if (!isCount(p.queryCut) || queryMass === undefined || !isNumber(p.heapFactor) || !(p.heapFactor > 0 && p.heapFactor <= 1) || !isCount(p.graphNeighbors)) return undefined;
  if (![p.recall, p.low, p.high].every(isFraction) || !Array.isArray(p.strata) || p.strata.length === 0 || !p.strata.every(isFraction) || !isNumber(p.cost) || p.cost < 0) return undefined;
  return { queryCut: p.queryCut, queryMass, heapFactor: p.heapFactor, graphNeighbors: p.graphNeighbors, recall: p.recall as number, low: p.low as number, high: p.high as number, strata: p.strata as number[], cost: p.cost };
}

/** Validates a stored calibration record; returns what is wrong, or the record. */
export function parseCalibration(value: unknown): Calibration | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not an object';
  const c = value as Record<string, unknown>;
  if (!isNumber(c.targetRecall) || !(c.targetRecall > 0 && c.targetRecall <= 1) || !isCount(c.k) || c.k < 1) return 'invalid target';
  if (c.source !== 'pseudo' && c.source !== 'given') return 'invalid query source';
  if (!isCount(c.queries) || !isCount(c.documents) || !isNumber(c.seconds) || !isNumber(c.msPerCost) || c.msPerCost < 0) return 'invalid counts';
  if (!Array.isArray(c.strata) || !c.strata.every((s: unknown) => s !== null && typeof s === 'object' && typeof (s as { name?: unknown }).name === 'string' && isCount((s as { queries?: unknown }).queries))) return 'invalid strata';
  const pruning = c.pruning as Record<string, unknown> | null;
  if (pruning !== null && (typeof pruning !== 'object' || !isFraction(pruning.keepFraction) || !isNumber(pruning.maxFraction) || !isNumber(pruning.ceiling) || (pruning.queryMass !== undefined && !isFraction(pruning.queryMass)) || (pruning.knn !== undefined && !isNumber(pruning.knn)))) return 'invalid pruning';
  if (!Array.isArray(c.frontier)) return 'invalid frontier';
  const frontier = c.frontier.map(parsePoint);
  if (frontier.some((p) => p === undefined)) return 'invalid frontier point';
  const exact = c.exact as Record<string, unknown> | null;
  if (exact === null || typeof exact !== 'object' || (exact.mode !== 'exhaustive' && exact.mode !== 'maxscore') || !isNumber(exact.p50Ms)) return 'invalid exact mode';
  const chosen = c.chosen as Record<string, unknown> | null;
  if (chosen === null || typeof chosen !== 'object' || !['approximate', 'exhaustive', 'maxscore'].includes(chosen.mode as string)) return 'invalid chosen setting';
  const chosenMass = queryMassOf(chosen.queryMass);
  if (!isCount(chosen.queryCut) || chosenMass === undefined || !isNumber(chosen.heapFactor) || !isCount(chosen.graphNeighbors) || ![chosen.recall, chosen.low, chosen.high, chosen.worstStratum].every(isFraction) || !isNumber(chosen.p50Ms)) {
    return 'invalid chosen setting';
  }
  if (c.queriesCrc !== undefined && !isCount(c.queriesCrc)) return 'invalid query checksum';
  return { ...(value as Calibration), frontier: frontier as FrontierPoint[], chosen: { ...(chosen as unknown as CalibratedSetting), queryMass: chosenMass } };
}
