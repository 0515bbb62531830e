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
 * Candidate list caps (× the mean kept per list): Seismic's 1.5, a looser 4, and none to speak of
 * (1000, the option's maximum) for collections whose common terms decide rankings — lexical
 * collections with a large vocabulary, where the mean list is a few dozen postings.
 */
const MAX_FRACTIONS: readonly number[] = Object.freeze([1.5, 4, 1000]);
/** Heaviest query terms whose lists the ceiling counts (searches traverse about this many). */
const CEILING_CUT = 10;
/** The ceiling must clear the target by this much: block pruning at the chosen setting loses some. */
const CEILING_MARGIN = 0.02;

export interface PruningChoice {
  keepFraction: number;
  maxFraction: number;
  /** Worst stratum's ceiling at the choice. */
  ceiling: number;
}

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

/** Mean ceiling of each stratum when a pair is kept iff `kept(value, rank)`. */
function stratumCeilings(input: CeilingInput, pairs: Pairs, kept: (value: number, rank: number) => boolean): number[] {
  const found = input.truth.map((t) => new Uint8Array(t.length));
  for (let i = 0; i < pairs.query.length; i++) if (kept(pairs.value[i], pairs.rank[i])) found[pairs.query[i]][pairs.slot[i]] = 1;
  const sum = new Float64Array(input.nStrata);
  const count = new Float64Array(input.nStrata);
  found.forEach((f, qi) => {
    if (f.length === 0) return;
    let n = 0;
    for (let s = 0; s < f.length; s++) n += f[s];
    sum[input.strata[qi]] += n / f.length;
    count[input.strata[qi]]++;
  });
  return Array.from(sum, (s, i) => (count[i] === 0 ? 1 : s / count[i]));
}

/** Per-stratum ceilings of one global-threshold budget (the estimate `choosePruning` compares; exposed for the differential test). */
export function pruningCeilings(input: CeilingInput, keepFraction: number, maxFraction: number): number[] {
  const nnz = input.decoded.length;
  const budget = globalThresholdBudget(nnz, input.nTerms, { keepFraction, maxFraction, nPostings: 1 });
  const threshold = budget.kept >= nnz ? 0 : kthLargestValue(input.decoded, budget.kept);
  return stratumCeilings(input, collectPairs(input), (value, rank) => value >= threshold && rank < budget.cap);
}

/** Postings each list keeps with this budget (what the build will do). */
function keptLengths(lists: UnprunedInvertedIndex, nTerms: number, threshold: number, cap: number): Float64Array {
  const lengths = new Float64Array(nTerms);
  for (let t = 0; t < nTerms; t++) {
    let n = 0;
    for (let p = lists.offsets[t]; p < lists.offsets[t + 1]; p++) if (lists.values[p] >= threshold) n++;
    lengths[t] = Math.min(n, cap);
  }
  return lengths;
}

/**
 * What a pruning costs the calibration queries: the kept postings of each query's `CEILING_CUT`
 * heaviest lists, as the mean plus the 99th percentile over the queries. Search time follows the
 * postings of the traversed lists, so of two prunings with the same ceiling the one keeping fewer
 * postings overall can still be the slower: a looser list cap keeps the common terms' lists long,
 * and the queries that traverse them make the tail (with cap 4 on a 1M collection, p99 was 1.48×
 * Seismic's, which caps at 1.5, while p50 was 0.87×).
 */
function queryCost(queries: readonly PreparedQuery[], lengths: Float64Array): number {
  const costs = queries.map((q) => {
    let sum = 0;
    for (let c = 0, cut = Math.min(CEILING_CUT, q.terms.length); c < cut; c++) sum += lengths[q.terms[q.byWeight[c]]];
    return sum;
  });
  if (costs.length === 0) return 0;
  costs.sort((a, b) => a - b);
  const mean = costs.reduce((a, b) => a + b, 0) / costs.length;
  return mean + costs[Math.min(costs.length - 1, Math.floor(0.99 * costs.length))];
}

interface Candidate extends PruningChoice {
  /** Mean + p99 of the queries' traversed postings (`queryCost`). */
  cost: number;
  postings: number;
}

/** Reaching the goal first; then the lower query cost (fewer postings on a tie), or (neither reaching it) the higher ceiling. */
function better(a: Candidate, b: Candidate, goal: number): boolean {
  const aReaches = a.ceiling >= goal;
  if (aReaches !== b.ceiling >= goal) return aReaches;
  if (!aReaches) return a.ceiling > b.ceiling;
  return a.cost !== b.cost ? a.cost < b.cost : a.postings < b.postings;
}

/**
 * The cheapest global-threshold pruning whose recall ceiling reaches `target + CEILING_MARGIN`
 * in every stratum (or what no pruning reaches, less 0.005, when that is lower).
 */
export function choosePruning(input: CeilingInput, target: number): PruningChoice {
  const { decoded, nTerms, lists } = input;
  const nnz = decoded.length;
  const pairs = collectPairs(input);
  const lossless = Math.min(...stratumCeilings(input, pairs, () => true));
  const goal = Math.min(target + CEILING_MARGIN, lossless - 0.005);
  const thresholds = new Map<number, number>();
  const thresholdOf = (kept: number): number => {
    if (kept >= nnz) return 0;
    let value = thresholds.get(kept);
    if (value === undefined) thresholds.set(kept, (value = kthLargestValue(decoded, kept)));
    return value;
  };
  let best: Candidate | undefined;
  for (const maxFraction of MAX_FRACTIONS) {
    for (const keepFraction of KEEP_FRACTIONS) {
      const budget = globalThresholdBudget(nnz, nTerms, { keepFraction, maxFraction, nPostings: 1 });
      const threshold = thresholdOf(budget.kept);
      const ceiling = Math.min(...stratumCeilings(input, pairs, (value, rank) => value >= threshold && rank < budget.cap));
      if (ceiling < goal && keepFraction < 1) continue;
      // Larger shares with this cap only make every list longer: the first that reaches the goal is this cap's best.
      const lengths = keptLengths(lists, nTerms, threshold, budget.cap);
      const candidate = { keepFraction, maxFraction, ceiling, cost: queryCost(input.queries, lengths), postings: lengths.reduce((a, b) => a + b, 0) };
      if (best === undefined || better(candidate, best, goal)) best = candidate;
      break;
    }
  }
  return { keepFraction: best!.keepFraction, maxFraction: best!.maxFraction, ceiling: best!.ceiling };
}
