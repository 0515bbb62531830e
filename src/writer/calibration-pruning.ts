/**
 * Choosing static pruning from the calibration queries, before the pruned index exists.
 *
 * Approximate search scores its candidates exactly, so a true top-10 document can be found only
 * if it is in the kept part of one of the traversed lists (or reached through the κ-NN graph). For
 * global-threshold pruning a posting (d, t) with value v is kept when v ≥ θ (the global threshold
 * of the kept share) and fewer than `cap` postings of list t are larger. So the recall *ceiling*
 * of a pruning — the share of true top-10 documents present in the kept lists of a query's
 * `CEILING_CUT` heaviest terms — can be computed for every candidate (keepFraction, maxFraction)
 * from the rank of each (true document, cut term) value within its full list: one pass over the
 * lists of the cut terms, instead of one pruned build per candidate. Of the candidates whose
 * ceiling clears the target with `CEILING_MARGIN` in every stratum, the one the queries pay least
 * for (`queryCost`: postings of their traversed lists, mean plus tail) is chosen; what block pruning then loses is measured on the built index (calibration.ts).
 */
import type { UnprunedInvertedIndex } from '../query/maxscore.js';
import type { PreparedQuery } from '../query/query-vector.js';
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
/** Heaviest query terms whose lists the ceiling counts (searches traverse about this many). */
const CEILING_CUT = 10;
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
}

/** (query, true document, cut term) triples whose document holds the term, with the value's rank in the term's full list. */
interface Pairs {
  query: Int32Array;
  /** Position of the document in the query's truth. */
  slot: Int32Array;
  value: Float32Array;
  /** Postings of the full list strictly larger than `value`. */
  rank: Float64Array;
}

function collectPairs(input: CeilingInput): Pairs {
  const { forward, decoded, nTerms, queries, truth } = input;
  const inCut = new Uint8Array(nTerms);
  const query: number[] = [];
  const slot: number[] = [];
  const term: number[] = [];
  const value: number[] = [];
  queries.forEach((q, qi) => {
    const cut = Math.min(CEILING_CUT, q.terms.length);
    for (let c = 0; c < cut; c++) inCut[q.terms[q.byWeight[c]]] = 1;
    truth[qi].forEach((d, s) => {
      for (let j = forward.offsets[d]; j < forward.offsets[d + 1]; j++) {
        if (inCut[forward.terms[j]] === 0) continue;
        query.push(qi);
        slot.push(s);
        term.push(forward.terms[j]);
        value.push(decoded[j]);
      }
    });
    for (let c = 0; c < cut; c++) inCut[q.terms[q.byWeight[c]]] = 0;
  });
  const rank = listRanks(input.lists, Int32Array.from(term), Float32Array.from(value));
  return { query: Int32Array.from(query), slot: Int32Array.from(slot), value: Float32Array.from(value), rank };
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

/** Which true documents a pruning keeps in a cut list (`kept(value, rank)`), as flattened truth slots. */
function foundSlots(pairs: Pairs, offsets: Int32Array, kept: (value: number, rank: number) => boolean): Uint8Array {
  const found = new Uint8Array(offsets[offsets.length - 1]);
  for (let i = 0; i < pairs.query.length; i++) if (kept(pairs.value[i], pairs.rank[i])) found[offsets[pairs.query[i]] + pairs.slot[i]] = 1;
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

/** Per-stratum ceilings of one global-threshold budget, lists only (the estimate `choosePruning` compares; exposed for the differential test). */
export function pruningCeilings(input: CeilingInput, keepFraction: number, maxFraction: number): number[] {
  const nnz = input.decoded.length;
  const budget = globalThresholdBudget(nnz, input.nTerms, { keepFraction, maxFraction, nPostings: 1 });
  const threshold = budget.kept >= nnz ? 0 : kthLargestValue(input.decoded, budget.kept);
  const offsets = truthOffsets(input.truth);
  return stratumCeilings(input, offsets, foundSlots(collectPairs(input), offsets, (value, rank) => value >= threshold && rank < budget.cap));
}

/** The distinct terms of the queries' cuts (the lists whose kept lengths the query cost reads). */
function cutTerms(queries: readonly PreparedQuery[], nTerms: number): Int32Array {
  const seen = new Uint8Array(nTerms);
  const terms: number[] = [];
  for (const q of queries) {
    for (let c = 0, cut = Math.min(CEILING_CUT, q.terms.length); c < cut; c++) {
      const t = q.terms[q.byWeight[c]];
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
 * What a pruning costs the calibration queries: the kept postings of each query's `CEILING_CUT`
 * heaviest lists, as the mean plus the 99th percentile over the queries. Search time follows the
 * postings of the traversed lists, so of two prunings with the same ceiling the one keeping fewer
 * postings overall can still be the slower: a looser list cap keeps the common terms' lists long,
 * and the queries that traverse them make the tail (with cap 4 on a 1M collection, p99 was 1.48×
 * Seismic's, which caps at 1.5, while p50 was 0.87×).
 */
function queryCost(queries: readonly PreparedQuery[], keptLength: (term: number) => number): number {
  const costs = queries.map((q) => {
    let sum = 0;
    for (let c = 0, cut = Math.min(CEILING_CUT, q.terms.length); c < cut; c++) sum += keptLength(q.terms[q.byWeight[c]]);
    return sum;
  });
  if (costs.length === 0) return 0;
  costs.sort((a, b) => a - b);
  const mean = costs.reduce((a, b) => a + b, 0) / costs.length;
  return mean + costs[Math.min(costs.length - 1, Math.floor(0.99 * costs.length))];
}

/**
 * Query cost of κ graph neighbours, per neighbour: the graph round scores up to k × κ documents
 * (k = 10) in every query — mean and p99 alike, hence 2 × 10 — and scores each one, where a
 * traversed list's posting is scored only when its block survives the bound (about a third of the
 * kept postings on the 1M collections, docs/PERFORMANCE.md), hence × 3.
 */
const GRAPH_COST_PER_NEIGHBOUR = 2 * 10 * 3;

/** A pruning the plan considers: which true documents its cut lists keep, and its cost. */
interface Candidate {
  keepFraction: number;
  maxFraction: number;
  found: Uint8Array;
  /** Mean + p99 of the queries' traversed postings (`queryCost`). */
  cost: number;
  /** Postings the budget keeps at most (the tie-break). */
  postings: number;
}

/**
 * The prunings calibration chooses among, before the index exists: for each list cap, the shares
 * from the smallest up to the first whose lists alone reach the goal (larger shares only make
 * every list longer, and a graph only adds to what the lists find).
 */
export interface PruningPlan {
  goal: number;
  offsets: Int32Array;
  candidates: Candidate[];
  truth: readonly Uint32Array[];
  strata: Int32Array;
  nStrata: number;
}

/** The candidates and goal of `target` (see `PruningPlan`). */
export function planPruning(input: CeilingInput, target: number): PruningPlan {
  const { decoded, nTerms, lists } = input;
  const nnz = decoded.length;
  const pairs = collectPairs(input);
  const offsets = truthOffsets(input.truth);
  const lossless = Math.min(...stratumCeilings(input, offsets, foundSlots(pairs, offsets, () => true)));
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
  const considered: Array<Omit<Candidate, 'cost'> & { threshold: number; cap: number }> = [];
  for (const maxFraction of MAX_FRACTIONS) {
    for (const keepFraction of KEEP_FRACTIONS) {
      const budget = globalThresholdBudget(nnz, nTerms, { keepFraction, maxFraction, nPostings: 1 });
      const threshold = thresholdOf(keepFraction);
      const found = foundSlots(pairs, offsets, (value, rank) => value >= threshold && rank < budget.cap);
      considered.push({ keepFraction, maxFraction, found, postings: budget.kept, threshold, cap: budget.cap });
      if (Math.min(...stratumCeilings(input, offsets, found)) >= goal) break;
    }
  }
  const ascending = Float64Array.from(new Set(thresholds.values())).sort();
  const terms = cutTerms(input.queries, nTerms);
  const counts = countsAtOrAbove(lists, terms, ascending);
  const termSlot = new Int32Array(nTerms).fill(-1);
  terms.forEach((t, i) => (termSlot[t] = i));
  const candidates = considered.map(({ threshold, cap, ...candidate }) => {
    const row = ascending.indexOf(threshold) * terms.length;
    return { ...candidate, cost: queryCost(input.queries, (t) => Math.min(counts[row + termSlot[t]], cap)) };
  });
  return { goal, offsets, candidates, truth: input.truth, strata: input.strata, nStrata: input.nStrata };
}

export interface PruningChoice {
  keepFraction: number;
  maxFraction: number;
  /** Worst stratum's ceiling at the choice (graph included when `knn` is set). */
  ceiling: number;
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

function bestOf(plan: PruningPlan, kappas: readonly number[], graph?: TruthGraph): PruningChoice {
  let best: Scored | undefined;
  for (const candidate of plan.candidates) {
    for (const kappa of kappas) {
      const ceiling = Math.min(...stratumCeilings(plan, plan.offsets, candidate.found, graph, kappa));
      const scored: Scored = { keepFraction: candidate.keepFraction, maxFraction: candidate.maxFraction, ceiling, cost: candidate.cost + GRAPH_COST_PER_NEIGHBOUR * kappa, postings: candidate.postings };
      if (graph !== undefined) scored.knn = kappa;
      if (best === undefined || better(scored, best, plan.goal)) best = scored;
    }
  }
  const { cost: _cost, postings: _postings, ...choice } = best!;
  return choice;
}

/**
 * The cheapest global-threshold pruning of the plan whose recall ceiling through its lists alone
 * reaches `target + CEILING_MARGIN` in every stratum (or what no pruning reaches, less 0.005, when
 * that is lower).
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
