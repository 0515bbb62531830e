import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { synthDocuments, synthQueries } from '../bench/synth.js';
import type { SynthOptions } from '../bench/synth-model.js';
import { MaxScoreSearcher } from '../query/maxscore.js';
import { prepareQuery, traversedTerms } from '../query/query-vector.js';
import { buildSegment, indexForward, type ForwardInput } from '../segment/ingest.js';
import { resolveBuildOptions } from '../segment/options.js';
import { buildPrunedLists } from '../segment/pruning.js';
import { decodeForwardValues } from '../segment/forward.js';
import { SpladexIndex } from '../spladex-index.js';
import { buildIndex } from './build.js';
import { parseCalibration, settingForTarget, type Calibration } from '../store/calibration.js';
import { withCalibratedDefaults } from '../reader/search-defaults.js';
import type { DocumentInput, SearchHit, SparseVectorInput } from '../types.js';
import { Rng } from '../util/rng.js';
import { TopK } from '../util/topk.js';
import { chooseFromLists, chooseWithGraph, planPruning, pruningCeilings } from './calibration-pruning.js';
import { pseudoQueries } from './calibration-queries.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'spladex-calibration-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const recallOf = (approx: SearchHit[][], exact: SearchHit[][]): number[] =>
  exact.map((truth, i) => {
    const ids = new Set(truth.map((h) => h.id));
    return ids.size === 0 ? 1 : approx[i].filter((h) => ids.has(h.id)).length / ids.size;
  });
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A row sink that stores nothing (segment-level tests). */
const NO_ROWS = { transaction: <T>(fn: () => T): T => fn(), insert: (): void => {} };

/** A forward index of random documents with continuous f32 weights (no ties), and its flat segment. */
async function randomInput(seed: number, nDocs: number, nTerms: number): Promise<ForwardInput> {
  const rng = new Rng(seed);
  const docs: DocumentInput[] = [];
  for (let d = 0; d < nDocs; d++) {
    const vector: SparseVectorInput = {};
    // Skewed term popularity so lists differ in length and the cap matters.
    const length = 10 + rng.int(50);
    for (let i = 0; i < length; i++) vector[`t${Math.floor(nTerms * rng.next() ** 2)}`] = 0.001 + rng.next() * 2;
    docs.push({ id: `d${d}`, vector });
  }
  let captured: ForwardInput | undefined;
  await buildSegment(docs, resolveBuildOptions({ forwardValues: 'f32' }), NO_ROWS, 1, {}, {
    choose: async (input, options) => {
      captured = input;
      return options;
    },
  });
  return captured!;
}

/** A random flat segment, pseudo-queries of it, their exact top 10, and the ceiling computation's input. */
async function ceilingFixture(seed: number, querySeed: number) {
  const input = await randomInput(seed, 3000, 400);
  const build = resolveBuildOptions({ forwardValues: 'f32' });
  const { segment: flat } = await indexForward(input, build, 'flat');
  const exact = new MaxScoreSearcher(flat);
  const lists = exact.prepare();
  const sample = pseudoQueries(flat, input.decoded, exact, 60, querySeed);
  const queries = sample.queries.map((q) => prepareQuery(q.vector, flat.termIds));
  const truth = queries.map((q) => {
    const heap = new TopK(10);
    exact.search(q, heap, 0);
    return Uint32Array.from(heap.sorted().map((h) => h.key));
  });
  const strata = Int32Array.from(sample.queries, (q) => q.stratum);
  const ceilingInput = { forward: flat.forward, decoded: input.decoded, nTerms: flat.meta.nTerms, lists, queries, strata, nStrata: sample.strata.length, truth, masses: MASSES };
  return { input, build, flat, sample, queries, truth, strata, ceilingInput };
}

/** The shares and caps the plan considers, and a grid of masses (the frontier's, thinned). */
const KEEP_FRACTIONS = [0.01, 0.015, 0.0225, 0.034, 0.05, 0.076, 0.11, 0.17, 0.26, 0.38, 0.58, 0.86, 1];
const MASSES = [0.2, 0.4, 0.6, 0.8, 1];

/** Brute force over the lists a build actually keeps: the worst stratum's ceiling and the mean + p99 traversed postings of a pruning at a mass, κ graph neighbours credited. */
function bruteForce(fixture: Awaited<ReturnType<typeof ceilingFixture>>, neighbors?: { rows: Uint32Array; width: number }) {
  const { input, build, flat, queries, truth, strata, sample } = fixture;
  const built = new Map<string, ReturnType<typeof buildPrunedLists>>();
  const pruned = (keepFraction: number, maxFraction: number) => {
    const key = `${keepFraction}/${maxFraction}`;
    if (!built.has(key)) built.set(key, buildPrunedLists(flat.forward, input.decoded, flat.meta.nTerms, { ...build, keepFraction, maxFraction }));
    return built.get(key)!;
  };
  const traversedAt = (q: (typeof queries)[number], mass: number): number[] => Array.from(q.byWeight.subarray(0, traversedTerms(q, 0, mass)), (i) => q.terms[i]);
  const strataCeilings = (keepFraction: number, maxFraction: number, mass: number, kappa = 0): number[] => {
    const lists = pruned(keepFraction, maxFraction);
    const kept = new Set<number>();
    for (let t = 0; t < flat.meta.nTerms; t++) for (let p = lists.offsets[t]; p < lists.offsets[t + 1]; p++) kept.add(t * 1e6 + lists.docs[p]);
    const sums = new Float64Array(sample.strata.length);
    const counts = new Float64Array(sample.strata.length);
    queries.forEach((q, qi) => {
      const docs = Array.from(truth[qi]);
      if (docs.length === 0) return;
      const traversed = traversedAt(q, mass);
      const found = docs.filter((d) => traversed.some((t) => kept.has(t * 1e6 + d)));
      const reached = new Set(neighbors === undefined ? [] : found.flatMap((f) => Array.from(neighbors.rows.subarray(f * neighbors.width, f * neighbors.width + kappa))));
      sums[strata[qi]] += docs.filter((d) => found.includes(d) || reached.has(d)).length / docs.length;
      counts[strata[qi]]++;
    });
    return Array.from(sums, (x, i) => (counts[i] === 0 ? 1 : x / counts[i]));
  };
  const ceiling = (keepFraction: number, maxFraction: number, mass: number, kappa = 0): number => Math.min(...strataCeilings(keepFraction, maxFraction, mass, kappa));
  const cost = (keepFraction: number, maxFraction: number, mass: number): number => {
    const lists = pruned(keepFraction, maxFraction);
    const costs = queries.map((q) => traversedAt(q, mass).reduce((sum, t) => sum + lists.offsets[t + 1] - lists.offsets[t], 0)).sort((a, b) => a - b);
    return costs.reduce((a, b) => a + b, 0) / costs.length + costs[Math.min(costs.length - 1, Math.floor(0.99 * costs.length))];
  };
  /** A pruning's price: its cost at the cheapest mass reaching the goal, plus the graph's (undefined: no mass reaches it). */
  const price = (keepFraction: number, maxFraction: number, goal: number, kappa = 0): { mass: number; cost: number } | undefined => {
    const mass = MASSES.find((m) => ceiling(keepFraction, maxFraction, m, kappa) >= goal);
    return mass === undefined ? undefined : { mass, cost: cost(keepFraction, maxFraction, mass) + 60 * kappa };
  };
  return { strataCeilings, ceiling, price };
}

describe('pruning ceiling', () => {
  it('equals the recall ceiling of the lists the build actually keeps, for every candidate budget and query mass (differential)', async () => {
    const fixture = await ceilingFixture(3, 5);
    const brute = bruteForce(fixture);
    for (const [keepFraction, maxFraction] of [
      [0.05, 1.5],
      [0.2, 1.5],
      [0.2, 4],
      [0.6, 1.5],
      [1, 1.5],
    ]) {
      for (const mass of [0.2, 0.5, 1]) {
        const expected = brute.strataCeilings(keepFraction, maxFraction, mass);
        pruningCeilings(fixture.ceilingInput, keepFraction, maxFraction, mass).forEach((value, i) => expect(value).toBeCloseTo(expected[i], 10));
      }
    }
  });

  it('prices each pruning at the cheapest mass reaching the goal and chooses the cheapest (brute force over the built lists)', async () => {
    const fixture = await ceilingFixture(4, 6);
    const brute = bruteForce(fixture);
    const target = 0.9;
    const plan = planPruning(fixture.ceilingInput, target);
    const chosen = chooseFromLists(plan);
    expect(plan.goal).toBeCloseTo(Math.min(target + 0.02, brute.ceiling(1, 1000, 1) - 0.005), 10);
    expect(chosen.ceiling).toBeGreaterThanOrEqual(plan.goal);
    const chosenPrice = brute.price(chosen.keepFraction, chosen.maxFraction, plan.goal)!;
    expect(chosenPrice.mass).toBe(chosen.queryMass);
    expect(chosen.ceiling).toBeCloseTo(brute.ceiling(chosen.keepFraction, chosen.maxFraction, chosen.queryMass), 10);
    let others = 0;
    for (const maxFraction of [1.5, 1000]) {
      for (const keepFraction of KEEP_FRACTIONS) {
        const other = brute.price(keepFraction, maxFraction, plan.goal);
        if (other === undefined) continue;
        expect(other.cost).toBeGreaterThanOrEqual(chosenPrice.cost);
        others++;
      }
    }
    expect(others).toBeGreaterThan(1);
  });
});

describe('pruning ceiling with a κ-NN graph', () => {
  it('also counts a true document among the first κ neighbours of a kept one, and chooses the cheapest (pruning, κ, mass) reaching the goal (brute force over the built lists and graph)', async () => {
    const fixture = await ceilingFixture(7, 8);
    const { input, build } = fixture;
    const target = 0.9;
    const plan = planPruning(fixture.ceilingInput, target);
    const listsOnly = chooseFromLists(plan);
    const kappa = 16;
    // The graph as the build makes it: on the blocks of the lists-only choice, κ the largest considered.
    const { segment } = await indexForward(input, { ...build, keepFraction: listsOnly.keepFraction, maxFraction: listsOnly.maxFraction, knn: kappa }, 'blocked');
    const brute = bruteForce(fixture, { rows: segment.neighbors, width: kappa });
    const chosen = chooseWithGraph(plan, segment.neighbors, kappa, [0, 4, kappa]);
    expect(chosen.ceiling).toBeGreaterThanOrEqual(plan.goal);
    expect(chosen.ceiling).toBeCloseTo(brute.ceiling(chosen.keepFraction, chosen.maxFraction, chosen.queryMass, chosen.knn!), 10);
    const chosenPrice = brute.price(chosen.keepFraction, chosen.maxFraction, plan.goal, chosen.knn!)!;
    expect(chosenPrice.mass).toBe(chosen.queryMass);
    // κ 0 is the lists-only choice; no (share, κ) the plan considers reaches the goal for less.
    expect(chooseWithGraph(plan, segment.neighbors, kappa, [0])).toEqual({ ...listsOnly, knn: 0 });
    for (const k of [0, 4, kappa]) {
      for (const candidate of plan.candidates) {
        const other = brute.price(candidate.keepFraction, candidate.maxFraction, plan.goal, k);
        if (other !== undefined) expect(other.cost).toBeGreaterThanOrEqual(chosenPrice.cost);
      }
    }
  });
});

/** A synthetic collection of a given shape, written nowhere: documents and its generator's own queries. */
function collection(options: Partial<SynthOptions>): { docs: DocumentInput[]; queries: SparseVectorInput[] } {
  return { docs: [...synthDocuments(options)], queries: [...synthQueries(options)].map((q) => q.vector) };
}

describe('calibrated build', () => {
  // A flat collection (few topics, pure topic queries): the shape fixed defaults got wrong.
  const shape: Partial<SynthOptions> = { docs: 15_000, queries: 200, seed: 9, topics: 30, queryDocFraction: 0, avgDocTerms: 60, avgQueryTerms: 20 };
  const data = collection(shape);

  it('delivers the target on held-back pseudo-queries and on the collection’s real queries, as estimated (differential)', async () => {
    const dir = join(tempDir(), 'index');
    const summary = await buildIndex(data.docs, dir, { seed: 3, threads: 1 });
    const calibration = summary.calibration!;
    expect(calibration.source).toBe('pseudo');
    expect(calibration.queries).toBeGreaterThan(200);
    expect(calibration.frontier.length).toBeGreaterThan(0);
    expect(summary.seconds.calibrate).toBeGreaterThan(0);
    const index = SpladexIndex.open(dir);
    try {
      expect(index.info().calibration).toEqual(calibration);
      // Held back: pseudo-queries of another seed, never seen by the calibration.
      const loaded = (index as unknown as { loadedSegments(): Array<{ segment: import('../segment/segment.js').Segment }> }).loadedSegments()[0].segment;
      const heldBack = pseudoQueries(loaded, decodeForwardValues(loaded.forward), new MaxScoreSearcher(loaded), 300, 12345);
      const vectors = heldBack.queries.map((q) => q.vector);
      const recalls = recallOf(index.searchBatch(vectors), index.searchBatch(vectors, { mode: 'maxscore' }));
      const chosen = calibration.chosen;
      expect(mean(recalls)).toBeGreaterThanOrEqual(calibration.targetRecall - 0.01);
      if (chosen.mode === 'approximate') {
        // The estimate is a sample mean: the held-back mean lies within its interval, widened by the held-back sample's own error.
        expect(Math.abs(mean(recalls) - chosen.recall)).toBeLessThan(0.03);
        for (let s = 0; s < heldBack.strata.length; s++) {
          const inStratum = recalls.filter((_, i) => heldBack.queries[i].stratum === s);
          expect(mean(inStratum)).toBeGreaterThanOrEqual(calibration.targetRecall - 0.05);
        }
      }
      const real = recallOf(index.searchBatch(data.queries), index.searchBatch(data.queries, { mode: 'maxscore' }));
      expect(mean(real)).toBeGreaterThanOrEqual(calibration.targetRecall - 0.01);
    } finally {
      index.close();
    }
  });

  it('calibrates on a given query log, and the estimate holds on the log’s held-back half', async () => {
    const dir = join(tempDir(), 'index');
    const half = data.queries.length / 2;
    const summary = await buildIndex(data.docs, dir, { seed: 3, threads: 1, calibrationQueries: data.queries.slice(0, half) });
    const calibration = summary.calibration!;
    expect(calibration.source).toBe('given');
    expect(calibration.strata).toEqual([{ name: 'query log', queries: half }]);
    const index = SpladexIndex.open(dir);
    try {
      const heldBack = data.queries.slice(half);
      const recalls = recallOf(index.searchBatch(heldBack), index.searchBatch(heldBack, { mode: 'maxscore' }));
      if (calibration.chosen.mode === 'approximate') expect(Math.abs(mean(recalls) - calibration.chosen.recall)).toBeLessThan(0.04);
    } finally {
      index.close();
    }
  });

  it('is deterministic for a seed (everything but the measured latencies), and explicit pruning options skip the pruning choice', async () => {
    const small = collection({ ...shape, docs: 6000, avgDocTerms: 120 });
    // The chosen setting depends on latencies too (exact search wins where it is as fast), so it is left out.
    const strip = (c: Calibration): unknown => ({ ...c, seconds: 0, msPerCost: 0, exact: { ...c.exact, p50Ms: 0 }, chosen: null });
    const a = await buildIndex(small.docs, join(tempDir(), 'a'), { seed: 5, threads: 1 });
    const b = await buildIndex(small.docs, join(tempDir(), 'b'), { seed: 5, threads: 1 });
    expect(strip(b.calibration!)).toEqual(strip(a.calibration!));
    expect(a.calibration!.pruning).not.toBeNull();
    // κ is chosen with the pruning (the graph built at the largest, cut to the choice) unless given.
    const kappa = a.calibration!.pruning!.knn!;
    expect([8, 16, 32]).toContain(kappa);
    const opened = await SpladexIndex.open(join(a.path));
    try {
      expect(opened.info().build.knn).toBe(kappa);
    } finally {
      opened.close();
    }
    const givenKnn = await buildIndex(small.docs, join(tempDir(), 'k'), { seed: 5, threads: 1, knn: 4 });
    expect(givenKnn.calibration!.pruning).not.toBeNull();
    expect(givenKnn.calibration!.pruning!.knn).toBeUndefined();
    const fixed = await buildIndex(small.docs, join(tempDir(), 'c'), { seed: 5, threads: 1, nPostings: 50 });
    expect(fixed.calibration!.pruning).toBeNull();
    expect(fixed.calibration!.frontier.length).toBeGreaterThan(0);
    const none = await buildIndex(small.docs, join(tempDir(), 'd'), { seed: 5, threads: 1, calibrationSample: 0 });
    expect(none.calibration).toBeUndefined();
    // A small index (at most 600,000 postings) is searched exactly, without a frontier.
    const tiny = await buildIndex(small.docs.slice(0, 2000), join(tempDir(), 'e'), { seed: 5, threads: 1 });
    expect(tiny.calibration!.frontier).toEqual([]);
    expect(tiny.calibration!.chosen).toMatchObject({ mode: tiny.calibration!.exact.mode, recall: 1 });
  });
});

describe('search defaults of a calibrated index', () => {
  const base: Calibration = {
    targetRecall: 0.95,
    k: 10,
    source: 'pseudo',
    queries: 100,
    strata: [
      { name: 'a', queries: 50 },
      { name: 'b', queries: 50 },
    ],
    documents: 1000,
    pruning: null,
    frontier: [
      { queryCut: 3, queryMass: 1, heapFactor: 1, graphNeighbors: 8, recall: 0.93, low: 0.92, high: 0.94, strata: [0.95, 0.91], cost: 100 },
      { queryCut: 0, queryMass: 0.5, heapFactor: 1, graphNeighbors: 8, recall: 0.97, low: 0.96, high: 0.98, strata: [0.98, 0.96], cost: 200 },
      { queryCut: 8, queryMass: 1, heapFactor: 0.9, graphNeighbors: 8, recall: 0.99, low: 0.98, high: 1, strata: [0.995, 0.985], cost: 400 },
    ],
    exact: { mode: 'maxscore', p50Ms: 1 },
    msPerCost: 0.001,
    chosen: { mode: 'approximate', queryCut: 0, queryMass: 0.5, heapFactor: 1, graphNeighbors: 8, recall: 0.97, low: 0.96, high: 0.98, worstStratum: 0.96, p50Ms: 0.2 },
    seconds: 1,
  };

  it('picks the cheapest setting whose every stratum meets the target, else exact search', () => {
    expect(settingForTarget(base, 0.95)).toMatchObject({ mode: 'approximate', queryCut: 0, queryMass: 0.5, heapFactor: 1 });
    expect(settingForTarget(base, 0.9)).toMatchObject({ mode: 'approximate', queryCut: 3 });
    expect(settingForTarget(base, 0.98)).toMatchObject({ mode: 'approximate', queryCut: 8, heapFactor: 0.9 });
    expect(settingForTarget(base, 0.999)).toMatchObject({ mode: 'maxscore', recall: 1 });
    // Exact search when it is estimated to be as fast as the approximate setting.
    expect(settingForTarget({ ...base, exact: { mode: 'exhaustive', p50Ms: 0.2 } }, 0.95)).toMatchObject({ mode: 'exhaustive' });
  });

  it('reads a record written before query masses as plain query cuts (mass 1); an out-of-range mass is damage', () => {
    const old = JSON.parse(JSON.stringify(base)) as Record<string, unknown> & { frontier: Array<Record<string, unknown>>; chosen: Record<string, unknown> };
    for (const point of old.frontier) delete point.queryMass;
    delete old.chosen.queryMass;
    const parsed = parseCalibration(old);
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(parsed.frontier.map((p) => p.queryMass)).toEqual([1, 1, 1]);
    expect(parsed.chosen.queryMass).toBe(1);
    expect(parseCalibration({ ...base, chosen: { ...base.chosen, queryMass: 0 } })).toBe('invalid chosen setting');
    expect(parseCalibration({ ...base, frontier: [{ ...base.frontier[0], queryMass: 1.5 }] })).toBe('invalid frontier point');
  });

  it('an explicit query cut alone traverses exactly that many terms (the stored mass no longer applies); with a mass too, both hold', () => {
    expect(withCalibratedDefaults({}, base, undefined)).toMatchObject({ mode: 'approximate', queryCut: 0, queryMass: 0.5 });
    const cutOnly = withCalibratedDefaults({ queryCut: 7 }, base, undefined);
    expect(cutOnly).toMatchObject({ mode: 'approximate', queryCut: 7, heapFactor: 1 });
    expect(cutOnly.queryMass).toBeUndefined();
    expect(withCalibratedDefaults({ queryCut: 7, queryMass: 0.4 }, base, undefined)).toMatchObject({ queryCut: 7, queryMass: 0.4 });
  });

  it('fills in the calibrated setting; explicit arguments and targetRecall still win; no calibration refuses targetRecall', async () => {
    const dir = join(tempDir(), 'index');
    const data = collection({ docs: 3000, queries: 10, seed: 4 });
    await buildIndex(data.docs, dir, { seed: 1, threads: 1 });
    const index = SpladexIndex.open(dir);
    try {
      const calibration = index.info().calibration!;
      const defaults = index.searchSettings();
      expect(defaults.mode).toBe(calibration.chosen.mode);
      if (calibration.chosen.mode === 'approximate') expect(defaults).toMatchObject({ queryCut: calibration.chosen.queryCut, heapFactor: calibration.chosen.heapFactor });
      expect(index.searchSettings({ queryCut: 77 })).toMatchObject({ mode: 'approximate', queryCut: 77 });
      expect(index.searchSettings({ mode: 'exhaustive' }).mode).toBe('exhaustive');
      expect(index.searchSettings({ targetRecall: 1 }).mode).not.toBe('approximate');
      expect(() => index.searchSettings({ targetRecall: 1.5 })).toThrow(/targetRecall/);
    } finally {
      index.close();
    }
    const plain = join(tempDir(), 'plain');
    await buildIndex(data.docs, plain, { calibrationSample: 0, threads: 1 });
    const uncalibrated = SpladexIndex.open(plain);
    try {
      expect(uncalibrated.searchSettings()).toMatchObject({ mode: 'approximate', queryCut: 5, heapFactor: 0.9 });
      expect(() => uncalibrated.search(data.queries[0], { targetRecall: 0.9 })).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    } finally {
      uncalibrated.close();
    }
  });
});

describe('keeping the calibration as the index changes', () => {
  it('a small index searched exactly stays so without recalibrating', async () => {
    const dir = join(tempDir(), 'small');
    const docs = collection({ docs: 1000, queries: 0, seed: 8 }).docs;
    await buildIndex(docs.slice(0, 500), dir, { seed: 1, threads: 1 });
    const writer = SpladexIndex.openWriter(dir);
    try {
      const generation = writer.manifest.generation;
      expect((await writer.add(docs.slice(500))).recalibrated).toBeUndefined();
      expect(writer.manifest.generation).toBe(generation + 1);
      expect(writer.searchSettings().mode).not.toBe('approximate');
    } finally {
      writer.close();
    }
  });

  it('recalibrates after an add that moves the collection by more than 20 %, after a compaction, and says so', async () => {
    const dir = join(tempDir(), 'index');
    const first = collection({ docs: 6000, queries: 0, seed: 8 });
    const more = collection({ docs: 2000, queries: 0, seed: 8, docIdPrefix: 'e' });
    await buildIndex(first.docs, dir, { seed: 1, threads: 1 });
    const writer = SpladexIndex.openWriter(dir);
    try {
      const small = await writer.add(more.docs.slice(0, 300));
      expect(small.recalibrated).toBeUndefined();
      const large = await writer.add(more.docs.slice(300));
      expect(large.recalibrated?.reason).toMatch(/changed by/);
      expect(writer.info().calibration!.documents).toBe(8000);
      expect(writer.info().calibration!.frontier.length).toBeGreaterThan(0);
      const compacted = await writer.compact();
      expect(compacted.recalibrated?.reason).toMatch(/compaction/);
      expect(writer.info().calibration!.documents).toBe(8000);
    } finally {
      writer.close();
    }
    const reader = SpladexIndex.open(dir);
    try {
      expect(reader.info().calibration!.documents).toBe(8000);
    } finally {
      reader.close();
    }
  });
});
