/**
 * The default search setting of a calibrated index: the query-time arguments a search leaves out
 * come from the stored calibration (the cheapest measured setting meeting the recall target, or
 * exact search where that is as fast), so `search` with no arguments delivers the recall the index
 * was built for. Arguments the caller gives always win.
 */
import { SpladexError } from '../errors.js';
import type { SearchOptions } from '../query/options.js';
import { cheapestMeeting, settingForTarget, type Calibration } from '../store/calibration.js';

/** Arguments that only approximate search reads: giving one asks for approximate search. */
const APPROXIMATE_ARGUMENTS = ['queryCut', 'queryMass', 'heapFactor', 'graphNeighbors', 'knn'] as const;

/** `explicit` with the calibrated setting for `target` (default: the build's) filled in. */
export function withCalibratedDefaults(explicit: SearchOptions, calibration: Calibration | undefined, target: number | undefined): SearchOptions {
  if (calibration === undefined) {
    if (target !== undefined) throw new SpladexError('E_OPTION', 'this index has no recall calibration, so a recall target (targetRecall, --target-recall) cannot choose a setting; rebuild it (calibration is on by default) or give the setting itself (queryCut and heapFactor: --query-cut, --heap-factor; or --exact)');
    return explicit;
  }
  if (target !== undefined && !(target > 0 && target <= 1)) throw new SpladexError('E_OPTION', `targetRecall must be in (0, 1], got ${String(target)}`);
  const goal = target ?? calibration.targetRecall;
  const given: SearchOptions = {};
  for (const [key, value] of Object.entries(explicit)) if (value !== undefined) (given as Record<string, unknown>)[key] = value;
  const setting = settingForTarget(calibration, goal);
  const asksApproximate = given.mode === 'approximate' || (given.mode === undefined && APPROXIMATE_ARGUMENTS.some((key) => given[key] !== undefined));
  if (setting.mode === 'approximate' || asksApproximate) {
    // Approximate search: the measured point for the target (or the cheapest with the best recall), then the caller's arguments.
    const point = setting.mode === 'approximate' ? setting : (cheapestMeeting(calibration, goal) ?? calibration.frontier.reduce<typeof calibration.frontier[number] | undefined>((a, p) => (a === undefined || p.recall > a.recall ? p : a), undefined));
    const base: SearchOptions = point === undefined ? { mode: 'approximate' } : { mode: 'approximate', queryCut: point.queryCut, queryMass: point.queryMass, heapFactor: point.heapFactor, graphNeighbors: point.graphNeighbors };
    if (given.knn !== undefined) delete base.graphNeighbors;
    // An explicit query cut alone means Seismic's rule, its n heaviest terms: the stored mass would stop earlier.
    if (given.queryCut !== undefined && given.queryMass === undefined) delete base.queryMass;
    return { ...base, ...given };
  }
  return { mode: setting.mode, ...given };
}
