/**
 * In-place selection over parallel arrays (`keys[i]` travels with `weights[i]`), used wherever the
 * build needs "the largest few" without sorting everything: static pruning of posting lists,
 * per-document top terms and energy-preserving block summaries. Expected linear time; fully
 * deterministic (pivots are medians of three fixed positions, no randomness).
 */

type Keys = Uint32Array | Uint16Array;

function swap(keys: Keys, weights: Float32Array, i: number, j: number): void {
  const k = keys[i];
  keys[i] = keys[j];
  keys[j] = k;
  const w = weights[i];
  weights[i] = weights[j];
  weights[j] = w;
}

/** Insertion sort of [lo, hi) by weight descending, ties by key ascending. */
function sortSmallDescending(keys: Keys, weights: Float32Array, lo: number, hi: number): void {
  for (let i = lo + 1; i < hi; i++) {
    const k = keys[i];
    const w = weights[i];
    let j = i - 1;
    while (j >= lo && (weights[j] < w || (weights[j] === w && keys[j] > k))) {
      keys[j + 1] = keys[j];
      weights[j + 1] = weights[j];
      j--;
    }
    keys[j + 1] = k;
    weights[j + 1] = w;
  }
}

function medianOfThree(weights: Float32Array, lo: number, hi: number): number {
  const a = weights[lo];
  const b = weights[(lo + hi) >>> 1];
  const c = weights[hi - 1];
  if (a < b) return b < c ? b : a < c ? c : a;
  return a < c ? a : b < c ? c : b;
}

/**
 * Three-way partition of [lo, hi) around `pivot` in descending order:
 * [lo, gt) > pivot, [gt, lt) == pivot, [lt, hi) < pivot. Returns [gt, lt].
 */
function partitionDescending(keys: Keys, weights: Float32Array, lo: number, hi: number, pivot: number): [number, number] {
  let gt = lo;
  let i = lo;
  let lt = hi;
  while (i < lt) {
    const w = weights[i];
    if (w > pivot) swap(keys, weights, gt++, i++);
    else if (w < pivot) swap(keys, weights, i, --lt);
    else i++;
  }
  return [gt, lt];
}

/**
 * Rearranges [0, n) so that its first `k` entries are the `k` largest weights (in no particular
 * order). Returns min(k, n).
 */
export function selectTopK(keys: Keys, weights: Float32Array, n: number, k: number): number {
  if (k >= n) return n;
  if (k <= 0) return 0;
  let lo = 0;
  let hi = n;
  while (hi - lo > 16) {
    const [gt, lt] = partitionDescending(keys, weights, lo, hi, medianOfThree(weights, lo, hi));
    if (k < gt) hi = gt;
    else if (k <= lt) return k;
    else lo = lt;
  }
  sortSmallDescending(keys, weights, lo, hi);
  return k;
}

/**
 * Rearranges [0, n) so that a shortest prefix of largest weights whose sum reaches
 * `fraction × total` comes first, and returns its length (Seismic's energy-preserving summary:
 * take terms by decreasing weight while the running sum is below the target, including the one
 * that crosses it).
 */
export function selectEnergyPrefix(keys: Keys, weights: Float32Array, n: number, fraction: number): number {
  if (fraction >= 1 || n <= 1) return n;
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  let need = total * fraction;
  let lo = 0;
  let hi = n;
  while (hi - lo > 16) {
    const pivot = medianOfThree(weights, lo, hi);
    const [gt, lt] = partitionDescending(keys, weights, lo, hi, pivot);
    let sumGreater = 0;
    for (let i = lo; i < gt; i++) sumGreater += weights[i];
    if (sumGreater >= need) {
      hi = gt;
      continue;
    }
    const equalCount = lt - gt;
    if (sumGreater + equalCount * pivot >= need) {
      // Take as many copies of the pivot as the running sum needs (at least one crosses).
      let acc = sumGreater;
      let take = 0;
      while (take < equalCount && acc < need) {
        acc += pivot;
        take++;
      }
      return gt + take;
    }
    need -= sumGreater + equalCount * pivot;
    lo = lt;
  }
  sortSmallDescending(keys, weights, lo, hi);
  let acc = 0;
  for (let i = lo; i < hi; i++) {
    acc += weights[i];
    if (acc >= need) return i + 1;
  }
  return hi;
}
