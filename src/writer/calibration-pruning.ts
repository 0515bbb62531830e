/**
 * Choosing static pruning from the calibration queries, before the pruned index exists.
 *
 * Approximate search scores its candidates exactly, so a true top-10 document can be found only
 * if it is in the kept part of one of the traversed lists (or reached through the κ-NN graph). For
 * global-threshold pruning a posting (d, t) with value v is kept when v ≥ θ (the global threshold
 * of the kept share) and fewer than `cap` postings of list t are larger. So the recall *ceiling*
 * of a pruning at a query mass — the share of true top-10 documents present in the kept lists of
 * the heaviest terms holding that share of a query's weight (`traversedTerms`) — can be computed
 * for every candidate (keepFraction, maxFraction) and every mass from the rank of each (true
 * document, query term) value within its full list: one pass over the lists of the query terms,
 * instead of one pruned build per candidate.
 *
 * Each candidate is priced at the cheapest mass of the frontier's grid whose ceiling clears the
 * target with `CEILING_MARGIN` in every stratum (`queryCosts`: postings of the lists traversed
 * there, mean plus tail), and the cheapest candidate wins. A leaner index reaches the same ceiling
 * by traversing more, shorter lists, and pricing every candidate at one fixed traversal (the 10
 * heaviest lists, before) always chose the fattest index that traversal needed: 17 % of postings
 * on the synthetic 1M collection, where Seismic's 10 % was 20 % faster at equal recall
 * (docs/PERFORMANCE.md, "Pruning priced at the traversal it needs"). What block pruning then loses
 * is measured on the built index (calibration.ts).
 */
import type { UnprunedInvertedIndex } from '../query/maxscore.js';
import { traversedTerms, type PreparedQuery } from '../query/query-vector.js';
import type { ForwardIndex } from '../segment/forward.js';
import { globalThresholdBudget, kthLargestValue } from '../segment/pruning.js';

/** Candidate shares of postings kept: 1 % to 100 %, in steps of 1.5×. */
const KEEP_FRACTIONS: readonly number[] = Object.freeze([0.01, 0.015, 0.0225, 0.034, 0.05, 0.076, 0.11, 0.17, 0.26, 0.38, 0.58, 0.86, 1]);
/**
 * Candidate list caps (× the mean kept per list): Seismic's 1.5, and none to speak of (1000, the
 * option's maximum) for collections whose common terms decide rankings — lexical collections with
 * a large vocabulary, where the mean list is a few dozen postings. A looser 4 is not a candidate:
 * it leaves the common terms' lists long, and twice, on the synthetic 1M collection, the query
 * cost preferred it (fewer postings in all) while the slowest queries paid for it — p99 1.48×
 * Seismic's with the lists-only ceiling, and 1.5× the cap-1.5 index's at equal recall once the
 * graph made a 7.6 % share reach the goal (docs/PERFORMANCE.md).
 */
const MAX_FRACTIONS: readonly number[] = Object.freeze([1.5, 1000]);
/** The ceiling must clear the target by this much: block pruning at the chosen setting loses some. */
const CEILING_MARGIN = 0.02;

export interface CeilingInput {
  forward: ForwardIndex;
  decoded: Float32Array;
  nTerms: number;
  lists: UnprunedInvertedIndex;
  queries: readonly PreparedQuery[];
  /** Stratum of each query. */
  strata: Int32Array;
  nStrata: number;
  /** Exact top-k local ids of each query. */
  truth: readonly Uint32Array[];
  /** Query masses of the frontier's grid, ascending: a candidate is priced at the cheapest that reaches the goal. */
  masses: readonly number[];
}

/** (query, true document, query term) triples whose document holds the term, with the value's rank in the term's full list. */
interface Pairs {
  query: Int32Array;
  /** Position of the document in the query's truth. */
  slot: Int32Array;
  /** Position of the term in the query's heaviest-first order (traversed at a mass when below its traversed count). */
  position: Int32Array;
  value: Float32Array;
  /** Postings of the full list strictly larger than `value`. */
  rank: Float64Array;
}

function collectPairs(input: CeilingInput): Pairs {
  const { forward, decoded, nTerms, queries, truth } = input;
  const positionOf = new Int32Array(nTerms).fill(-1);
  const query: number[] = [];
  const slot: number[] = [];
  const position: number[] = [];
  const term: number[] = [];
  const value: number[] = [];
  queries.forEach((q, qi) => {
    for (let c = 0; c < q.terms.length; c++) positionOf[q.terms[q.byWeight[c]]] = c;
    truth[qi].forEach((d, s) => {
      for (let j = forward.offsets[d]; j < forward.offsets[d + 1]; j++) {
        const c = positionOf[forward.terms[j]];
        if (c < 0) continue;
        query.push(qi);
        slot.push(s);
        position.push(c);
        term.push(forward.terms[j]);
        value.push(decoded[j]);
      }
    });
    for (let c = 0; c < q.terms.length; c++) positionOf[q.terms[q.byWeight[c]]] = -1;
  });
  const rank = listRanks(input.lists, Int32Array.from(term), Float32Array.from(value));
  return { query: Int32Array.from(query), slot: Int32Array.from(slot), position: Int32Array.from(position), value: Float32Array.from(value), rank };
}

/** Terms each query traverses at each mass: `counts[q * masses.length + m]` (`traversedTerms`, no count limit). */
function traversedCounts(queries: readonly PreparedQuery[], masses: readonly number[]): Int32Array {
  const counts = new Int32Array(queries.length * masses.length);
  queries.forEach((q, qi) => masses.forEach((mass, m) => (counts[qi * masses.length + m] = q.terms.length === 0 ? 0 : traversedTerms(q, 0, mass))));
  return counts;
}

/** For each (term, value), the number of postings of the term's full list with a larger value. */
function listRanks(lists: UnprunedInvertedIndex, terms: Int32Array, values: Float32Array): Float64Array {
  const order = Array.from(terms.keys()).sort((a, b) => terms[a] - terms[b] || values[a] - values[b]);
  const rank = new Float64Array(terms.length);
  for (let start = 0; start < order.length; ) {
    const t = terms[order[start]];
    let end = start;
    while (end < order.length && terms[order[end]] === t) end++;
    // The pairs of this term, values ascending; one pass over the list counts, for every list
    // value, the pair values below it (binary search), accumulated as a difference array.
    const n = end - start;
    const sorted = new Float32Array(n);
    for (let i = 0; i < n; i++) sorted[i] = values[order[start + i]];
    const below = new Float64Array(n + 1);
    for (let p = lists.offsets[t]; p < lists.offsets[t + 1]; p++) {
      const x = lists.values[p];
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sorted[mid] < x) lo = mid + 1;
        else hi = mid;
      }
      below[lo]++; // x is larger than the pair values at positions < lo
    }
    let larger = 0;
    for (let i = n - 1; i >= 0; i--) {
      larger += below[i + 1];
      rank[order[start + i]] = larger;
    }
    start = end;
  }
  return rank;
}

/** Truth slots of each query, flattened: query q's slots are `[offsets[q], offsets[q + 1])`. */
function truthOffsets(truth: readonly Uint32Array[]): Int32Array {
  const offsets = new Int32Array(truth.length + 1);
  truth.forEach((t, q) => (offsets[q + 1] = offsets[q] + t.length));
  return offsets;
}

/** A truth slot no kept list holds. */
const NOT_KEPT = 0x7fffffff;

/**
 * For each flattened truth slot, the heaviest-first position of the first query term whose list a
 * pruning keeps the document in (`kept(value, rank)`), NOT_KEPT when none: the document is found at
 * every mass traversing more terms than that.
 */
function firstKeptPositions(pairs: Pairs, offsets: Int32Array, kept: (value: number, rank: number) => boolean): Int32Array {
  const first = new Int32Array(offsets[offsets.length - 1]).fill(NOT_KEPT);
  for (let i = 0; i < pairs.query.length; i++) {
    const s = offsets[pairs.query[i]] + pairs.slot[i];
    if (pairs.position[i] < first[s] && kept(pairs.value[i], pairs.rank[i])) first[s] = pairs.position[i];
  }
  return first;
}

/** Which true documents the traversed lists of mass `m` keep, as flattened truth slots. */
function foundAtMass(first: Int32Array, offsets: Int32Array, traversed: Int32Array, nMasses: number, m: number): Uint8Array {
  const found = new Uint8Array(first.length);
  for (let q = 0; q + 1 < offsets.length; q++) {
    const count = traversed[q * nMasses + m];
    for (let s = offsets[q]; s < offsets[q + 1]; s++) found[s] = first[s] < count ? 1 : 0;
  }
  return found;
}

/**
 * Positions of true documents in each other's κ-NN rows: for query q with n true documents,
 * `positions[square[q] + i·n + j]` is where true document j sits in the neighbour row of true
 * document i (NOT_A_NEIGHBOUR when it is not in the row).
 */
interface TruthGraph {
  square: Int32Array;
  positions: Uint8Array;
}

const NOT_A_NEIGHBOUR = 255;

/**
 * Mean ceiling of each stratum: a true document counts when a cut list keeps it (`found`) or, with
 * `graph` and κ > 0, when it is among the first κ stored neighbours of a kept one. A kept true
 * document is in the results (nothing scores higher than a true top-10 document), and search scores
 * the neighbours of its results, so this is what the graph round recovers at the least.
 */
function stratumCeilings(input: Pick<CeilingInput, 'truth' | 'strata' | 'nStrata'>, offsets: Int32Array, found: Uint8Array, graph?: TruthGraph, kappa = 0): number[] {
  const sum = new Float64Array(input.nStrata);
  const count = new Float64Array(input.nStrata);
  input.truth.forEach((t, q) => {
    const n = t.length;
    if (n === 0) return;
    const base = offsets[q];
    let hits = 0;
    for (let j = 0; j < n; j++) {
      let hit = found[base + j] === 1;
      if (!hit && graph !== undefined && kappa > 0) {
        const square = graph.square[q];
        for (let i = 0; i < n && !hit; i++) hit = found[base + i] === 1 && graph.positions[square + i * n + j] < kappa;
      }
      if (hit) hits++;
    }
    sum[input.strata[q]] += hits / n;
    count[input.strata[q]]++;
  });
  return Array.from(sum, (s, i) => (count[i] === 0 ? 1 : s / count[i]));
}

/** The worst stratum's ceiling at mass `m` of a pruning's `firstKeptPositions` (graph credited with κ when given). */
function worstCeilingAt(input: Pick<CeilingInput, 'truth' | 'strata' | 'nStrata'>, offsets: Int32Array, traversed: Int32Array, nMasses: number, first: Int32Array, m: number, graph?: TruthGraph, kappa = 0): number {
  return Math.min(...stratumCeilings(input, offsets, foundAtMass(first, offsets, traversed, nMasses, m), graph, kappa));
}

/** Per-stratum ceilings of one global-threshold budget at one query mass, lists only (what the plan compares; exposed for the differential test). */
export function pruningCeilings(input: CeilingInput, keepFraction: number, maxFraction: number, queryMass: number): number[] {
  const nnz = input.decoded.length;
  const budget = globalThresholdBudget(nnz, input.nTerms, { keepFraction, maxFraction, nPostings: 1 });
  const threshold = budget.kept >= nnz ? 0 : kthLargestValue(input.decoded, budget.kept);
  const offsets = truthOffsets(input.truth);
  const first = firstKeptPositions(collectPairs(input), offsets, (value, rank) => value >= threshold && rank < budget.cap);
  return stratumCeilings(input, offsets, foundAtMass(first, offsets, traversedCounts(input.queries, [queryMass]), 1, 0));
}

/** The distinct terms of the queries (the lists whose kept lengths the query cost reads). */
function queryTerms(queries: readonly PreparedQuery[], nTerms: number): Int32Array {
  const seen = new Uint8Array(nTerms);
  const terms: number[] = [];
  for (const q of queries) {
    for (const t of q.terms) {
      if (seen[t] === 0) terms.push(t);
      seen[t] = 1;
    }
  }
  return Int32Array.from(terms);
}

/**
 * For each threshold (ascending) and each of `terms`, the postings of the term's full list at or
 * above it: `counts[k * terms.length + i]`. One pass over each list, a binary search among the
 * thresholds per posting, instead of one pass per threshold.
 */
function countsAtOrAbove(lists: UnprunedInvertedIndex, terms: Int32Array, thresholds: Float64Array): Float64Array {
  const nk = thresholds.length;
  const counts = new Float64Array(nk * terms.length);
  const below = new Float64Array(nk + 1);
  terms.forEach((t, i) => {
    below.fill(0);
    for (let p = lists.offsets[t]; p < lists.offsets[t + 1]; p++) {
      const x = lists.values[p];
      let lo = 0;
      let hi = nk;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (thresholds[mid] <= x) lo = mid + 1;
        else hi = mid;
      }
      below[lo]++; // x is at or above the thresholds at positions < lo
    }
    let atOrAbove = 0;
    for (let k = nk - 1; k >= 0; k--) {
      atOrAbove += below[k + 1];
      counts[k * terms.length + i] = atOrAbove;
    }
  });
  return counts;
}

/**
 * What a pruning costs the calibration queries at each mass: the kept postings of the lists each
 * query traverses there, as the mean plus the 99th percentile over the queries. Search time follows
 * the postings of the traversed lists, so of two prunings with the same ceiling the one keeping
 * fewer postings overall can still be the slower: a looser list cap keeps the common terms' lists
 * long, and the queries that traverse them make the tail (with cap 4 on a 1M collection, p99 was
 * 1.48× Seismic's, which caps at 1.5, while p50 was 0.87×).
 */
function queryCosts(queries: readonly PreparedQuery[], traversed: Int32Array, nMasses: number, keptLength: (term: number) => number): Float64Array {
  const costs = new Float64Array(nMasses);
  if (queries.length === 0) return costs;
  const perQuery = new Float64Array(queries.length);
  for (let m = 0; m < nMasses; m++) {
    queries.forEach((q, qi) => {
      let sum = 0;
      for (let c = 0, n = traversed[qi * nMasses + m]; c < n; c++) sum += keptLength(q.terms[q.byWeight[c]]);
      perQuery[qi] = sum;
    });
    perQuery.sort();
    const mean = perQuery.reduce((x, y) => x + y, 0) / perQuery.length;
    costs[m] = mean + perQuery[Math.min(perQuery.length - 1, Math.floor(0.99 * perQuery.length))];
  }
  return costs;
}

/**
 * Query cost of κ graph neighbours, per neighbour: the graph round scores up to k × κ documents
 * (k = 10) in every query — mean and p99 alike, hence 2 × 10 — and scores each one, where a
 * traversed list's posting is scored only when its block survives the bound (about a third of the
 * kept postings on the 1M collections, docs/PERFORMANCE.md), hence × 3.
 */
const GRAPH_COST_PER_NEIGHBOUR = 2 * 10 * 3;

/** A pruning the plan considers: where its lists keep the true documents, and its cost at each mass. */
interface Candidate {
  keepFraction: number;
  maxFraction: number;
  /** `firstKeptPositions` of the pruning. */
  first: Int32Array;
  /** Mean + p99 of the queries' traversed postings at each mass of the grid (`queryCosts`). */
  costs: Float64Array;
  /** Postings the budget keeps at most (the tie-break). */
  postings: number;
}

/**
 * The prunings calibration chooses among, before the index exists: for each list cap, the shares
 * from the smallest up to the first whose lists alone reach the goal at the grid's smallest mass
 * (a larger share costs more at every mass, and a graph only adds to what the lists find).
 */
export interface PruningPlan {
  goal: number;
  offsets: Int32Array;
  candidates: Candidate[];
  truth: readonly Uint32Array[];
  strata: Int32Array;
  nStrata: number;
  masses: readonly number[];
  /** `traversedCounts` of the queries at the masses. */
  traversed: Int32Array;
}

/** The candidates and goal of `target` (see `PruningPlan`). */
export function planPruning(input: CeilingInput, target: number): PruningPlan {
  const { decoded, nTerms, lists, masses } = input;
  const nnz = decoded.length;
  const pairs = collectPairs(input);
  const offsets = truthOffsets(input.truth);
  const traversed = traversedCounts(input.queries, masses);
  const nMasses = masses.length;
  const ceilingAt = (first: Int32Array, m: number): number => worstCeilingAt(input, offsets, traversed, nMasses, first, m);
  const lossless = ceilingAt(firstKeptPositions(pairs, offsets, () => true), nMasses - 1);
  const goal = Math.min(target + CEILING_MARGIN, lossless - 0.005);
  // Thresholds only of the shares considered (each is two passes over every posting).
  const thresholds = new Map<number, number>();
  const thresholdOf = (keepFraction: number): number => {
    let value = thresholds.get(keepFraction);
    if (value === undefined) {
      const kept = globalThresholdBudget(nnz, nTerms, { keepFraction, maxFraction: 1, nPostings: 1 }).kept;
      thresholds.set(keepFraction, (value = kept >= nnz ? 0 : kthLargestValue(decoded, kept)));
    }
    return value;
  };
  const considered: Array<Omit<Candidate, 'costs'> & { threshold: number; cap: number }> = [];
  for (const maxFraction of MAX_FRACTIONS) {
    for (const keepFraction of KEEP_FRACTIONS) {
      const budget = globalThresholdBudget(nnz, nTerms, { keepFraction, maxFraction, nPostings: 1 });
      const threshold = thresholdOf(keepFraction);
      const first = firstKeptPositions(pairs, offsets, (value, rank) => value >= threshold && rank < budget.cap);
      considered.push({ keepFraction, maxFraction, first, postings: budget.kept, threshold, cap: budget.cap });
      if (ceilingAt(first, 0) >= goal) break;
    }
  }
  const ascending = Float64Array.from(new Set(thresholds.values())).sort();
  const terms = queryTerms(input.queries, nTerms);
  const counts = countsAtOrAbove(lists, terms, ascending);
  const termSlot = new Int32Array(nTerms).fill(-1);
  terms.forEach((t, i) => (termSlot[t] = i));
  const candidates = considered.map(({ threshold, cap, ...candidate }) => {
    const row = ascending.indexOf(threshold) * terms.length;
    return { ...candidate, costs: queryCosts(input.queries, traversed, nMasses, (t) => Math.min(counts[row + termSlot[t]], cap)) };
  });
  return { goal, offsets, candidates, truth: input.truth, strata: input.strata, nStrata: input.nStrata, masses, traversed };
}

export interface PruningChoice {
  keepFraction: number;
  maxFraction: number;
  /** Worst stratum's ceiling at the choice (graph included when `knn` is set). */
  ceiling: number;
  /** The query mass the ceiling and the price were taken at: the cheapest reaching the goal (else the largest). */
  queryMass: number;
  /** κ of the graph the ceiling credits (chosen with the pruning); absent: lists only. */
  knn?: number;
}

interface Scored extends PruningChoice {
  cost: number;
  postings: number;
}

/** Reaching the goal first; then the lower cost (fewer postings, then smaller κ on a tie), or (neither reaching it) the higher ceiling. */
function better(a: Scored, b: Scored, goal: number): boolean {
  const aReaches = a.ceiling >= goal;
  if (aReaches !== b.ceiling >= goal) return aReaches;
  if (!aReaches) return a.ceiling > b.ceiling;
  if (a.cost !== b.cost) return a.cost < b.cost;
  return a.postings !== b.postings ? a.postings < b.postings : (a.knn ?? 0) < (b.knn ?? 0);
}

/** Each (candidate, κ) priced at the cheapest mass whose ceiling reaches the goal; the best of them. */
function bestOf(plan: PruningPlan, kappas: readonly number[], graph?: TruthGraph): PruningChoice {
  const nMasses = plan.masses.length;
  let best: Scored | undefined;
  for (const candidate of plan.candidates) {
    for (const kappa of kappas) {
      let m = 0;
      let ceiling = 0;
      for (; m < nMasses; m++) {
        ceiling = worstCeilingAt(plan, plan.offsets, plan.traversed, nMasses, candidate.first, m, graph, kappa);
        if (ceiling >= plan.goal) break;
      }
      m = Math.min(m, nMasses - 1);
      const scored: Scored = {
        keepFraction: candidate.keepFraction,
        maxFraction: candidate.maxFraction,
        ceiling,
        queryMass: plan.masses[m],
        cost: candidate.costs[m] + GRAPH_COST_PER_NEIGHBOUR * kappa,
        postings: candidate.postings,
      };
      if (graph !== undefined) scored.knn = kappa;
      if (best === undefined || better(scored, best, plan.goal)) best = scored;
    }
  }
  const { cost: _cost, postings: _postings, ...choice } = best!;
  return choice;
}

/**
 * The cheapest global-threshold pruning of the plan whose recall ceiling through its lists alone
 * reaches `target + CEILING_MARGIN` in every stratum at some mass of the grid (or what no pruning
 * reaches, less 0.005, when that is lower).
 */
export function chooseFromLists(plan: PruningPlan): PruningChoice {
  return bestOf(plan, [0]);
}

/**
 * The cheapest (pruning, κ) of the plan once a κ-NN graph exists (`neighbors`: rows of `kappa`
 * neighbours, best first, built on the blocks of the lists-only choice): the ceiling credits the
 * true documents the graph round reaches from the kept ones. A graph lets a leaner pruning reach
 * the goal — that is how Seismic reaches 0.95 at ~10 % of postings — and shorter lists are what
 * the slowest queries pay for (docs/PERFORMANCE.md, "The p99 against Seismic, profiled").
 */
export function chooseWithGraph(plan: PruningPlan, neighbors: Uint32Array, kappa: number, kappas: readonly number[]): PruningChoice {
  const square = new Int32Array(plan.truth.length);
  let size = 0;
  plan.truth.forEach((t, q) => {
    square[q] = size;
    size += t.length * t.length;
  });
  const positions = new Uint8Array(size).fill(NOT_A_NEIGHBOUR);
  plan.truth.forEach((t, q) => {
    const n = t.length;
    for (let i = 0; i < n; i++) {
      const row = t[i] * kappa;
      for (let e = 0; e < kappa && e < NOT_A_NEIGHBOUR; e++) {
        const j = t.indexOf(neighbors[row + e]);
        if (j >= 0 && j !== i) positions[square[q] + i * n + j] = e;
      }
    }
  });
  return bestOf(plan, kappas.filter((k) => k <= kappa), { square, positions });
}
