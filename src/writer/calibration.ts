/**
 * Recall calibration (ARCHITECTURE.md, "Calibration"): a build states the recall@10 it needs and
 * measures, on the collection itself, how to deliver it.
 *
 * 1. Before static pruning (`BuildCalibrator.choose`): draw the calibration queries
 *    (calibration-queries.ts), compute their exact top 10 with MaxScore over the unpruned lists,
 *    and choose the pruning whose recall ceiling clears the target (calibration-pruning.ts).
 * 2. After the segment is built (`finish`), or over all segments of an index after `add` and
 *    `compact` (`calibrateSegments`): measure recall and a deterministic cost of approximate
 *    search over a grid of query-time arguments, keep the frontier, pick the cheapest setting
 *    meeting the target in every stratum, and time it against the faster exact mode.
 */
import { MaxScoreSearcher } from '../query/maxscore.js';
import { searchPreparedInto, type SegmentPlan } from '../query/fan-out.js';
import type { ResolvedSearchOptions } from '../query/options.js';
import { prepareQuery, type PreparedQuery } from '../query/query-vector.js';
import { SegmentSearcher } from '../query/segment-searcher.js';
import { indexForward, type ForwardInput } from '../segment/ingest.js';
import type { ResolvedBuildOptions } from '../segment/options.js';
import { segmentNeighbors, type Segment } from '../segment/segment.js';
import { meetsTarget, settingForTarget, type Calibration, type FrontierPoint } from '../store/calibration.js';
import type { SparseVectorInput } from '../types.js';
import { TopK } from '../util/topk.js';
import { chooseFromLists, chooseWithGraph, planPruning, type PruningChoice, type PruningPlan } from './calibration-pruning.js';
import { givenQueries, pseudoQueries, type QuerySample, type QueryTermWeight } from './calibration-queries.js';

/** Depth of the calibrated recall (recall@10, the figure the field reports). */
const CALIBRATION_K = 10;
/**
 * Query masses of the frontier grid (`queryMass`: the heaviest terms holding this share of the
 * query's weight are traversed, with no count limit). The grid is over masses, not counts, because
 * a mass carries over to queries shaped unlike the calibration queries: on synthetic documents
 * with real SciFact claims (weight spread over ~80 terms) the count calibrated on pseudo-queries
 * (5) gave recall 0.87, the mass the same calibration picks gave 0.95, while peaked queries
 * traverse as few lists as before (docs/PERFORMANCE.md, "Query mass").
 */
const FRONTIER_MASSES: readonly number[] = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
/** Heap factors of the grid, tried from the cheapest (1: skip a block below the k-th score) down for each mass. */
const FRONTIER_HEAP_FACTORS: readonly number[] = [1, 0.9, 0.8, 0.7, 0.6];
/** Settings whose worst stratum falls below this serve no target anyone asks for: the grid stops there. */
const FRONTIER_FLOOR = 0.85;
/**
 * Indexes with at most this many postings are searched exactly and get no frontier. Exact MaxScore
 * takes ~0.1 ms a query there (SciFact, CACM, Vaswani: 0.08–0.14 ms p50), so approximate search
 * could save tens of microseconds at the price of recall, while measuring its frontier would cost
 * more than the whole rest of the build (a deterministic rule, so builds stay reproducible).
 */
export const EXACT_BELOW_POSTINGS = 600_000;
/** Queries timed for the exhaustive mode (it costs a full scan each). */
const EXHAUSTIVE_TIMED = 16;

/** One segment as calibration searches it. */
export interface CalibrationSegment {
  segment: Segment;
  searcher: SegmentSearcher;
  maxScore?: MaxScoreSearcher;
  /** `excluded[d] === 1`: deleted, never returned. */
  excluded: Uint8Array | undefined;
}

/** The calibration queries prepared for every segment, with their strata and exact results. */
interface Workload {
  sample: QuerySample;
  /** prepared[q][s]: query q in segment s's term ids. */
  prepared: PreparedQuery[][];
  strata: Int32Array;
  /** Exact top-k keys (segment ordinal × 2^32 + local id) of each query. */
  truth: Array<Set<number>>;
  /** Median latency of exact MaxScore over the queries, in ms. */
  maxScoreP50: number;
}

const median = (values: number[]): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

/** Postings of the segments' forward indexes: exhaustive search's work per query, in cost units. */
export const totalPostings = (segments: ReadonlyArray<{ segment: Segment }>): number => segments.reduce((n, { segment }) => n + segment.meta.nPostings, 0);

function prepareFor(segments: readonly CalibrationSegment[], sample: QuerySample): { prepared: PreparedQuery[][]; strata: Int32Array } {
  const prepared = sample.queries.map((q) => segments.map(({ segment }) => prepareQuery(q.vector, segment.termIds)));
  return { prepared, strata: Int32Array.from(sample.queries, (q) => q.stratum) };
}

/**
 * Runs every prepared query with `o` over the segments through the reader's own dispatch
 * (`searchPreparedInto`: flat segments scored exhaustively, exact modes, deletes) and returns the
 * median latency; `visit` sees each query's heap after its search (outside the timing).
 */
function runQueries(segments: readonly CalibrationSegment[], prepared: readonly PreparedQuery[][], o: ResolvedSearchOptions, visit?: (q: number, heap: TopK) => void): number {
  const plans: SegmentPlan[] = segments.map((s) => ({ docs: undefined, excluded: s.excluded, skip: false }));
  const heap = new TopK(o.k);
  const times = prepared.map((perSegment, q) => {
    const started = performance.now();
    searchPreparedInto(segments, plans, perSegment, o, heap);
    const elapsed = performance.now() - started;
    visit?.(q, heap);
    return elapsed;
  });
  return median(times);
}

/** The search options of one calibration run (k = `CALIBRATION_K`). */
const searchWith = (mode: ResolvedSearchOptions['mode'], args: Arguments = { queryCut: 0, queryMass: 1, heapFactor: 1, graphNeighbors: 0 }): ResolvedSearchOptions => ({ k: CALIBRATION_K, mode, ...args });

/** Exact top-k of every query by MaxScore (lists built before timing), and its median latency. */
function exactWorkload(segments: readonly CalibrationSegment[], sample: QuerySample): Workload {
  const { prepared, strata } = prepareFor(segments, sample);
  for (const s of segments) (s.maxScore ??= new MaxScoreSearcher(s.segment)).prepare();
  const truth: Array<Set<number>> = [];
  const maxScoreP50 = runQueries(segments, prepared, searchWith('maxscore'), (q, heap) => (truth[q] = new Set(Array.from(heap.keys.subarray(0, heap.size)))));
  return { sample, prepared, strata, truth, maxScoreP50 };
}

function exhaustiveP50(segments: readonly CalibrationSegment[], work: Workload): number {
  return runQueries(segments, work.prepared.slice(0, EXHAUSTIVE_TIMED), searchWith('exhaustive'));
}

interface Arguments {
  queryCut: number;
  queryMass: number;
  heapFactor: number;
  graphNeighbors: number;
}

/** Recall, its interval, per-stratum means and the deterministic cost of one setting. */
function measurePoint(segments: readonly CalibrationSegment[], work: Workload, nStrata: number, args: Arguments): FrontierPoint {
  // Cost weights: a scored document reads its forward row, a bounded block its summary.
  const rowLength = segments.map(({ segment }) => segment.meta.nPostings / Math.max(1, segment.meta.nDocs));
  const summaryLength = segments.map(({ segment }) => segment.inverted.summaryCodes.length / Math.max(1, segment.inverted.blockScales.length));
  const workSoFar = (): number => segments.reduce((n, s, i) => n + s.searcher.scoredDocuments * rowLength[i] + s.searcher.boundedBlocks * summaryLength[i], 0);
  const before = workSoFar();
  const recalls: number[] = [];
  const sums = new Float64Array(nStrata);
  const counts = new Float64Array(nStrata);
  runQueries(segments, work.prepared, searchWith('approximate', args), (q, heap) => {
    const truth = work.truth[q];
    if (truth.size === 0) return;
    let found = 0;
    for (let i = 0; i < heap.size; i++) if (truth.has(heap.keys[i])) found++;
    const recall = found / truth.size;
    recalls.push(recall);
    sums[work.strata[q]] += recall;
    counts[work.strata[q]]++;
  });
  const cost = workSoFar() - before;
  const n = recalls.length;
  const mean = n === 0 ? 1 : recalls.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? 0 : Math.sqrt(recalls.reduce((a, r) => a + (r - mean) ** 2, 0) / (n - 1));
  const half = n === 0 ? 0 : (1.96 * sd) / Math.sqrt(n);
  const round = (x: number): number => Math.round(x * 1e4) / 1e4;
  return {
    ...args,
    recall: round(mean),
    low: round(Math.max(0, mean - half)),
    high: round(Math.min(1, mean + half)),
    strata: Array.from(sums, (s, i) => round(counts[i] === 0 ? 1 : s / counts[i])),
    cost: Math.round(cost / Math.max(1, work.prepared.length)),
  };
}

/**
 * The frontier grid: for each query mass (ascending), heap factors from 1 (the most block skipping,
 * the cheapest) down to 0.6 (the least), until the worst stratum stops improving or reaches
 * `enough`, or a setting reads more than the whole forward index (exhaustive search's work); masses
 * stop growing once one reached `enough`, improved nothing, or cost that much already. `enough`
 * (the target + 0.04) bounds the calibration's cost and still serves query-time targets above the
 * build's; a target beyond what was measured gets exact search.
 */
function measureFrontier(segments: readonly CalibrationSegment[], work: Workload, nStrata: number, target: number): FrontierPoint[] {
  const enough = Math.min(0.999, target + 0.04);
  const exhaustiveCost = totalPostings(segments);
  const graph = Math.max(0, ...segments.map((s) => segmentNeighbors(s.segment)));
  const points: FrontierPoint[] = [];
  let best = -1;
  for (const queryMass of FRONTIER_MASSES) {
    let bestAtMass = -1;
    let cheapestAtMass = Infinity;
    for (const heapFactor of FRONTIER_HEAP_FACTORS) {
      const point = measurePoint(segments, work, nStrata, { queryCut: 0, queryMass, heapFactor, graphNeighbors: graph });
      const worst = Math.min(...point.strata);
      if (worst >= FRONTIER_FLOOR) points.push(point);
      const improved = worst > bestAtMass + 0.001;
      bestAtMass = Math.max(bestAtMass, worst);
      cheapestAtMass = Math.min(cheapestAtMass, point.cost);
      if (!improved || worst >= enough || point.cost > exhaustiveCost) break;
    }
    const stale = bestAtMass <= best + 0.002;
    best = Math.max(best, bestAtMass);
    if (stale || best >= enough || cheapestAtMass > exhaustiveCost) break;
  }
  return points.sort((a, b) => a.cost - b.cost || a.queryMass - b.queryMass || b.heapFactor - a.heapFactor);
}

/** Median latency of one approximate setting over the workload (second of two passes: warm). */
function timeSetting(segments: readonly CalibrationSegment[], work: Workload, args: Arguments): number {
  runQueries(segments, work.prepared, searchWith('approximate', args));
  return runQueries(segments, work.prepared, searchWith('approximate', args));
}

/** Frontier, exact timing and the chosen setting over `segments` for a prepared workload. */
function calibrateWorkload(segments: readonly CalibrationSegment[], work: Workload, target: number, pruning: Calibration['pruning'], started: number): Calibration {
  const nStrata = work.sample.strata.length;
  const postings = totalPostings(segments);
  // A small index is searched exactly: approximate search could save microseconds at most.
  const frontier = postings <= EXACT_BELOW_POSTINGS ? [] : measureFrontier(segments, work, nStrata, target);
  const exhaustive = exhaustiveP50(segments, work);
  const exact = exhaustive < work.maxScoreP50 ? { mode: 'exhaustive' as const, p50Ms: exhaustive } : { mode: 'maxscore' as const, p50Ms: work.maxScoreP50 };
  const counts = new Array<number>(nStrata).fill(0);
  for (const s of work.strata) counts[s]++;
  const calibration: Calibration = {
    targetRecall: target,
    k: CALIBRATION_K,
    source: work.sample.source,
    queries: work.prepared.length,
    strata: work.sample.strata.map((name, i) => ({ name, queries: counts[i] })),
    documents: segments.reduce((n, s) => n + s.segment.meta.nDocs - (s.excluded?.reduce((a, b) => a + b, 0) ?? 0), 0),
    pruning,
    frontier,
    exact,
    msPerCost: 0,
    chosen: { mode: exact.mode, queryCut: 0, queryMass: 1, heapFactor: 1, graphNeighbors: 0, recall: 1, low: 1, high: 1, worstStratum: 1, p50Ms: exact.p50Ms },
    seconds: 0,
  };
  // The cheapest point meeting the target, timed, converts cost to time for every other point.
  const cheapest = frontier.find((p) => meetsTarget(p, target));
  if (cheapest !== undefined) {
    const p50 = timeSetting(segments, work, cheapest);
    calibration.msPerCost = cheapest.cost > 0 ? p50 / cheapest.cost : 0;
  }
  calibration.chosen = settingForTarget(calibration, target);
  calibration.seconds = Math.round((performance.now() - started) / 10) / 100;
  return calibration;
}

/**
 * κ the calibration chooses among (with the pruning) when the build options do not fix it. The
 * graph is built once, at the largest, on the blocks of the lists-only choice; the smaller ones
 * are prefixes of its rows.
 */
const GRAPH_KAPPAS: readonly number[] = [8, 16, 32];

/** What a build asks of calibration. */
export interface CalibrationRequest {
  /** Choose static pruning (false: the build options fixed it). */
  choosePruning: boolean;
  /** Choose κ with the pruning (false: the build options fixed it). */
  chooseGraph: boolean;
  /** The user's query log (vectors); pseudo-queries when absent. */
  given?: readonly SparseVectorInput[];
  /** Query weights of pseudo-queries (lexical, inference-free: IDF). */
  queryWeight?: QueryTermWeight;
}

/** The calibration of one fresh build: `choose` before static pruning, `finish` on the built segment. */
export class BuildCalibrator {
  private work: Workload | undefined;
  private pruning: PruningChoice | null = null;
  /** The prunings considered, kept for `refine` when κ is chosen too. */
  private plan: PruningPlan | undefined;
  private elapsed = 0;

  constructor(private readonly request: CalibrationRequest) {}

  /** Draws the queries, computes their exact results and returns the build options to build with. */
  async choose(input: ForwardInput, build: ResolvedBuildOptions): Promise<ResolvedBuildOptions> {
    const started = performance.now();
    const { segment: flat } = await indexForward(input, build, 'flat');
    const calibrationSegment: CalibrationSegment = { segment: flat, searcher: new SegmentSearcher(flat), excluded: undefined };
    const exact = (calibrationSegment.maxScore = new MaxScoreSearcher(flat));
    const lists = exact.prepare();
    const { given, queryWeight } = this.request;
    const sample = given !== undefined ? givenQueries(given, build.calibrationSample, build.seed) : pseudoQueries(flat, input.decoded, exact, build.calibrationSample, build.seed, queryWeight);
    this.work = exactWorkload([calibrationSegment], sample);
    let chosen = build;
    if (this.request.choosePruning && build.pruning === 'global-threshold' && this.work.prepared.length > 0) {
      const local = this.work.truth.map((keys) => Uint32Array.from(keys));
      const plan = planPruning(
        { forward: flat.forward, decoded: input.decoded, nTerms: flat.meta.nTerms, lists, queries: this.work.prepared.map((p) => p[0]), strata: this.work.strata, nStrata: sample.strata.length, truth: local, masses: FRONTIER_MASSES },
        build.targetRecall,
      );
      this.pruning = chooseFromLists(plan);
      chosen = { ...build, keepFraction: this.pruning.keepFraction, maxFraction: this.pruning.maxFraction };
      // A small index is searched exactly (no frontier): its graph serves explicit approximate searches only.
      if (this.request.chooseGraph && flat.meta.nPostings > EXACT_BELOW_POSTINGS) {
        this.plan = plan;
        chosen.knn = Math.max(...GRAPH_KAPPAS);
      }
    }
    this.elapsed += performance.now() - started;
    return chosen;
  }

  /**
   * With κ to choose: the pruning and κ whose ceiling, crediting the graph of the segment built
   * with `choose`'s options, clears the target at the least cost (calibration-pruning.ts); undefined
   * when κ is not chosen.
   */
  refine(segment: Segment, build: ResolvedBuildOptions): ResolvedBuildOptions | undefined {
    if (this.plan === undefined) return undefined;
    const started = performance.now();
    this.pruning = chooseWithGraph(this.plan, segment.neighbors, build.knn, GRAPH_KAPPAS);
    this.plan = undefined;
    this.elapsed += performance.now() - started;
    return { ...build, keepFraction: this.pruning.keepFraction, maxFraction: this.pruning.maxFraction, knn: this.pruning.knn ?? build.knn };
  }

  /** The queries calibrated on (stored with the index so that `add` and `compact` can recalibrate). */
  get sample(): QuerySample | undefined {
    return this.work?.sample;
  }

  /** Measures the frontier on the built segment and returns the calibration record. */
  finish(segment: Segment, target: number): Calibration {
    const started = performance.now() - this.elapsed;
    const work = this.work!;
    return calibrateWorkload([{ segment, searcher: new SegmentSearcher(segment), excluded: undefined }], work, target, this.pruning, started);
  }
}

/** Calibrates the query-time settings of an existing index (after `add` or `compact`) on stored queries. */
export function calibrateSegments(segments: readonly CalibrationSegment[], sample: QuerySample, target: number, pruning: Calibration['pruning']): Calibration {
  const started = performance.now();
  return calibrateWorkload(segments, exactWorkload(segments, sample), target, pruning, started);
}
