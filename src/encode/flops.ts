/**
 * FLOPS of a sparse index and IDF-aware pruning to a FLOPS budget, over CSR matrices (one row per
 * document, or per query for a query sample). Everything is typed arrays: no per-posting objects,
 * so 10^8 postings fit (memory ≈ 9 bytes per posting on top of the input).
 *
 * FLOPS (Paria et al., "Minimizing FLOPs to learn efficient sparse representations") is the
 * expected number of term matches between a random query and a random document:
 *
 *   FLOPS = Σ_t p_q(t) · p_d(t),   p_d(t) = df_d(t) / N_d,   p_q(t) = df_q(t) / N_q
 *
 * estimated from a query sample when one is given, else with p_q = p_d (the regulariser SPLADE is
 * trained with).
 */

/** A sparse matrix in compressed-row form. Terms within a row are distinct but need not be sorted. */
export interface CsrMatrix {
  nRows: number;
  nTerms: number;
  /** Row r's postings are [offsets[r], offsets[r + 1]); length nRows + 1. */
  offsets: Uint32Array;
  /** Term id of each posting, < nTerms (an index's forward `Uint16Array` works as is). */
  terms: Uint32Array | Uint16Array;
  /** Weight of each posting. */
  values: Float32Array;
}

/** Number of rows containing each term (postings with weight ≤ 0 do not count). */
export function documentFrequencies(matrix: CsrMatrix): Uint32Array {
  const df = new Uint32Array(matrix.nTerms);
  const { terms, values } = matrix;
  const end = matrix.offsets[matrix.nRows];
  for (let i = 0; i < end; i++) if (values[i] > 0) df[terms[i]]++;
  return df;
}

/**
 * BM25 IDF of every term, ln(1 + (N − df + 0.5)/(df + 0.5)), from the matrix itself: the IDF to
 * prune with when the encoder has no IDF table (splade kind).
 */
export function bm25IdfOf(matrix: CsrMatrix): Float32Array {
  const df = documentFrequencies(matrix);
  const n = matrix.nRows;
  const idf = new Float32Array(matrix.nTerms);
  for (let t = 0; t < idf.length; t++) idf[t] = Math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5));
  return idf;
}

/** FLOPS of `docs` against `queries` (a query sample), or against docs themselves (p_q = p_d). */
export function computeFlops(docs: CsrMatrix, queries?: CsrMatrix): number {
  const dfD = documentFrequencies(docs);
  if (docs.nRows === 0) return 0;
  if (queries === undefined) return selfFlops(dfD, docs.nRows);
  return sampleFlops(dfD, docs.nRows, documentFrequencies(queries), queries.nRows);
}

/**
 * FLOPS from document frequencies counted elsewhere (an index counts them over its live documents
 * across segments): with p_q = p_d, or against a query sample's frequencies. Counts are integers,
 * so the sums are exact and the order of summation does not matter.
 */
export function flopsOfFrequencies(dfD: ArrayLike<number>, nD: number, sample?: { df: ArrayLike<number>; n: number }): number {
  if (nD === 0) return 0;
  return sample === undefined ? selfFlops(dfD, nD) : sampleFlops(dfD, nD, sample.df, sample.n);
}

function selfFlops(df: ArrayLike<number>, n: number): number {
  let sum = 0;
  for (let t = 0; t < df.length; t++) sum += df[t] * df[t];
  return sum / (n * n);
}

function sampleFlops(dfD: ArrayLike<number>, nD: number, dfQ: ArrayLike<number>, nQ: number): number {
  if (nQ === 0 || nD === 0) return 0;
  let sum = 0;
  const terms = Math.min(dfD.length, dfQ.length);
  for (let t = 0; t < terms; t++) sum += dfQ[t] * dfD[t];
  return sum / (nQ * nD);
}

/** Distribution of postings per row. */
export interface PostingsPerDocument {
  total: number;
  mean: number;
  min: number;
  median: number;
  p90: number;
  max: number;
}

export function postingsPerDocument(matrix: CsrMatrix): PostingsPerDocument {
  const lengths = new Uint32Array(matrix.nRows);
  for (let r = 0; r < lengths.length; r++) lengths[r] = matrix.offsets[r + 1] - matrix.offsets[r];
  const { p99: _p99, ...distribution } = lengthDistribution(lengths);
  return distribution;
}

/** The distribution of row lengths given one per row (sorted in place). */
export function lengthDistribution(lengths: Uint32Array): PostingsPerDocument & { p99: number } {
  const n = lengths.length;
  if (n === 0) return { total: 0, mean: 0, min: 0, median: 0, p90: 0, p99: 0, max: 0 };
  lengths.sort();
  let total = 0;
  for (let r = 0; r < n; r++) total += lengths[r];
  const at = (q: number): number => lengths[Math.min(n - 1, Math.floor(q * n))];
  return { total, mean: total / n, min: lengths[0], median: at(0.5), p90: at(0.9), p99: at(0.99), max: lengths[n - 1] };
}

export interface FlopsPruneOptions {
  /** Prune until FLOPS ≤ this. Default: no budget. */
  flopsBudget?: number;
  /** Keep at most this many postings per row (highest weight × idf first). Default: no limit. */
  maxTermsPerDoc?: number;
  /** Drop postings whose raw weight is below this. Default 0 (only weights ≤ 0 are dropped). */
  minWeight?: number;
  /** Query sample for p_q; default p_q = p_d. */
  queries?: CsrMatrix;
}

export interface FlopsPruneResult {
  matrix: CsrMatrix;
  flopsBefore: number;
  flopsAfter: number;
  postingsBefore: number;
  postingsAfter: number;
  /** The value-per-cost threshold that met the budget (0 when no budget pruning was needed). */
  threshold: number;
}

/**
 * Removes the least valuable postings until FLOPS ≤ flopsBudget (after the simpler minWeight and
 * maxTermsPerDoc cuts).
 *
 * Value and cost of a posting (d, t) with weight w:
 *  - value = w · idf(t): what the posting adds to the score of a query containing t (an
 *    inference-free query weighs t by idf(t)). Judged per query that contains t, so a rare, highly
 *    discriminative term is worth a lot even though few queries use it.
 *  - cost = how much FLOPS drops when the posting is removed. FLOPS is Σ_t p_q(t)·df(t)/N, so the
 *    cost is p_q(t)/N with a query sample, and (df(t)² − (df(t) − 1)²)/N² = (2·df(t) − 1)/N² with
 *    p_q = p_d: the cost grows with the term's document frequency.
 *  Postings are removed in increasing order of value / cost. Frequent, low-IDF terms (stop-word-like
 *  tokens that every document expands to) go first: they are both cheap to lose and expensive to keep.
 *
 * Algorithm: within one term every posting has the same idf and (for a given number k of kept
 * postings) the same marginal cost, so a term keeps its k largest weights, and with a threshold λ the
 * kept count is the largest k with w_k·idf(t) ≥ λ·cost_t(k) (monotone: w_k falls while cost_t(k)
 * rises). Bisection on λ finds the smallest λ meeting the budget; the exact greedy order is matched up
 * to ties, without a priority queue over 10^8 postings.
 */
export function pruneToFlopsBudget(matrix: CsrMatrix, idf: Float32Array, options: FlopsPruneOptions = {}): FlopsPruneResult {
  const selection = selectPostings(matrix, idf, options);
  const pruned = compact(matrix, selection.keep);
  return {
    matrix: pruned,
    flopsBefore: selection.flopsBefore,
    flopsAfter: selection.flopsAfter,
    postingsBefore: selection.postingsBefore,
    postingsAfter: selection.postingsAfter,
    threshold: selection.threshold,
  };
}

/** Which postings `pruneToFlopsBudget` keeps, as a mask: for callers that compact their own arrays. */
export interface PostingSelection {
  /** keep[i] = 1 for every kept posting i (indexes the matrix's terms/values). */
  keep: Uint8Array;
  flopsBefore: number;
  flopsAfter: number;
  postingsBefore: number;
  postingsAfter: number;
  threshold: number;
}

/**
 * The selection rule of `pruneToFlopsBudget` without building the pruned matrix: one byte per
 * posting plus one float per kept posting while the budget is applied. An index build compacts its
 * forward arrays in place with the mask (see src/segment/posting-pruning.ts).
 */
export function selectPostings(matrix: CsrMatrix, idf: Float32Array, options: FlopsPruneOptions = {}): PostingSelection {
  const { nRows, nTerms, offsets, terms, values } = matrix;
  if (idf.length < nTerms) throw new RangeError(`idf has ${idf.length} entries for ${nTerms} terms`);
  const first = offsets[0];
  const end = offsets[nRows];
  const minWeight = options.minWeight ?? 0;
  const flopsBefore = computeFlops(matrix, options.queries);

  // 1. Cheap per-posting and per-row cuts.
  const keep = new Uint8Array(end);
  for (let i = first; i < end; i++) keep[i] = values[i] > 0 && values[i] >= minWeight ? 1 : 0;
  if (options.maxTermsPerDoc !== undefined) limitRowLength(matrix, idf, keep, options.maxTermsPerDoc);

  // 2. Budget pruning by value per cost.
  let threshold = 0;
  const budget = options.flopsBudget;
  const dfQ = options.queries === undefined ? undefined : documentFrequencies(options.queries);
  const keptFlops = (): { flops: number; postings: number } => {
    const df = new Uint32Array(nTerms);
    let postings = 0;
    for (let i = first; i < end; i++) {
      if (keep[i]) {
        df[terms[i]]++;
        postings++;
      }
    }
    const flops = nRows === 0 ? 0 : dfQ === undefined ? selfFlops(df, nRows) : sampleFlops(df, nRows, dfQ, (options.queries as CsrMatrix).nRows);
    return { flops, postings };
  };
  if (budget !== undefined && nRows > 0) {
    const df = new Uint32Array(nTerms);
    for (let i = first; i < end; i++) if (keep[i]) df[terms[i]]++;
    const current = dfQ === undefined ? selfFlops(df, nRows) : sampleFlops(df, nRows, dfQ, (options.queries as CsrMatrix).nRows);
    if (current > budget) threshold = applyBudget(matrix, idf, keep, df, budget, options.queries);
  }
  const after = keptFlops();
  return { keep, flopsBefore, flopsAfter: after.flops, postingsBefore: end - first, postingsAfter: after.postings, threshold };
}

/** Keeps the `limit` postings of highest weight × idf in each row (ties: earlier postings first). */
function limitRowLength(matrix: CsrMatrix, idf: Float32Array, keep: Uint8Array, limit: number): void {
  const { nRows, offsets, terms, values } = matrix;
  let scratch = new Float64Array(64);
  for (let r = 0; r < nRows; r++) {
    const a = offsets[r];
    const b = offsets[r + 1];
    let kept = 0;
    for (let i = a; i < b; i++) kept += keep[i];
    if (kept <= limit) continue;
    if (scratch.length < kept) scratch = new Float64Array(kept * 2);
    let k = 0;
    for (let i = a; i < b; i++) if (keep[i]) scratch[k++] = values[i] * idf[terms[i]];
    const sorted = scratch.subarray(0, k).sort();
    const cut = limit > 0 ? sorted[k - limit] : Infinity; // the limit-th largest value
    let above = 0;
    for (let j = k - limit; j < k; j++) if (sorted[j] > cut) above++;
    let tiesAllowed = limit - above;
    for (let i = a; i < b; i++) {
      if (!keep[i]) continue;
      const value = values[i] * idf[terms[i]];
      if (value > cut) continue;
      if (value === cut && tiesAllowed > 0) tiesAllowed--;
      else keep[i] = 0;
    }
  }
}

function applyBudget(matrix: CsrMatrix, idf: Float32Array, keep: Uint8Array, df: Uint32Array, budget: number, queries: CsrMatrix | undefined): number {
  const { nRows, nTerms, offsets, terms, values } = matrix;
  // Kept weights grouped by term, each group sorted in decreasing order.
  const start = new Uint32Array(nTerms + 1);
  for (let t = 0; t < nTerms; t++) start[t + 1] = start[t] + df[t];
  const grouped = new Float32Array(start[nTerms]);
  const fill = start.slice(0, nTerms);
  for (let i = offsets[0]; i < offsets[nRows]; i++) if (keep[i]) grouped[fill[terms[i]]++] = values[i];
  for (let t = 0; t < nTerms; t++) if (df[t] > 1) grouped.subarray(start[t], start[t + 1]).sort().reverse();

  const n = nRows;
  const dfQ = queries === undefined ? null : documentFrequencies(queries);
  const nQ = queries?.nRows ?? 0;
  // cost of the k-th kept posting of term t (1-based k).
  const pq = (t: number): number => (dfQ === null ? 0 : t < dfQ.length && nQ > 0 ? dfQ[t] / nQ : 0);
  const cost = (t: number, k: number): number => (dfQ === null ? (2 * k - 1) / (n * n) : pq(t) / n);

  const keptCount = new Uint32Array(nTerms);
  const countFor = (lambda: number): number => {
    let flops = 0;
    for (let t = 0; t < nTerms; t++) {
      const d = df[t];
      if (d === 0) {
        keptCount[t] = 0;
        continue;
      }
      const base = start[t];
      const value = idf[t];
      // Largest k in [0, d] with grouped[base + k - 1]·idf ≥ λ·cost(k): the predicate holds for a prefix.
      let lo = 0;
      let hi = d;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (grouped[base + mid - 1] * value >= lambda * cost(t, mid)) lo = mid;
        else hi = mid - 1;
      }
      keptCount[t] = lo;
      flops += dfQ === null ? lo * lo : pq(t) * lo;
    }
    return dfQ === null ? flops / (n * n) : flops / n;
  };

  // Bisection over λ: an upper bound where nothing costly survives, then halve the interval.
  let lo = 0;
  let hi = 1;
  while (countFor(hi) > budget && hi < 1e300) hi *= 16;
  for (let iter = 0; iter < 100 && hi - lo > hi * 1e-9; iter++) {
    const mid = (lo + hi) / 2;
    if (countFor(mid) > budget) lo = mid;
    else hi = mid;
  }
  countFor(hi);

  // Keep, per term, postings above its k-th weight, and ties with it in row order up to the count.
  const cutoff = new Float32Array(nTerms);
  const ties = new Uint32Array(nTerms);
  for (let t = 0; t < nTerms; t++) {
    const k = keptCount[t];
    if (k === 0) {
      cutoff[t] = Infinity;
      continue;
    }
    const base = start[t];
    const c = grouped[base + k - 1];
    cutoff[t] = c;
    let above = 0;
    while (above < k && grouped[base + above] > c) above++;
    ties[t] = k - above;
  }
  for (let i = offsets[0]; i < offsets[nRows]; i++) {
    if (!keep[i]) continue;
    const t = terms[i];
    const w = values[i];
    if (w > cutoff[t]) continue;
    if (w === cutoff[t] && ties[t] > 0) ties[t]--;
    else keep[i] = 0;
  }
  return hi;
}

/** A new CSR holding the kept postings, rows in the same order. */
function compact(matrix: CsrMatrix, keep: Uint8Array): CsrMatrix {
  const { nRows, nTerms, offsets, terms, values } = matrix;
  let count = 0;
  for (let i = offsets[0]; i < offsets[nRows]; i++) count += keep[i];
  const outOffsets = new Uint32Array(nRows + 1);
  const outTerms = terms instanceof Uint16Array ? new Uint16Array(count) : new Uint32Array(count);
  const outValues = new Float32Array(count);
  let k = 0;
  for (let r = 0; r < nRows; r++) {
    outOffsets[r] = k;
    for (let i = offsets[r]; i < offsets[r + 1]; i++) {
      if (keep[i]) {
        outTerms[k] = terms[i];
        outValues[k++] = values[i];
      }
    }
  }
  outOffsets[nRows] = k;
  return { nRows, nTerms, offsets: outOffsets, terms: outTerms, values: outValues };
}

/** Builds a CSR from sparse vectors and a term → id map (ids are added for unseen terms). */
export function csrFromVectors(vectors: ReadonlyArray<Record<string, number>>, termIds: Map<string, number>): CsrMatrix {
  let total = 0;
  for (const v of vectors) total += Object.keys(v).length;
  const offsets = new Uint32Array(vectors.length + 1);
  const terms = new Uint32Array(total);
  const values = new Float32Array(total);
  let k = 0;
  vectors.forEach((vector, r) => {
    offsets[r] = k;
    for (const [term, weight] of Object.entries(vector)) {
      let id = termIds.get(term);
      if (id === undefined) termIds.set(term, (id = termIds.size));
      terms[k] = id;
      values[k++] = weight;
    }
  });
  offsets[vectors.length] = k;
  return { nRows: vectors.length, nTerms: termIds.size, offsets, terms, values };
}
