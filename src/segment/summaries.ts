/**
 * Block summaries (Seismic, SIGIR 2024, §4.3): per block, the per-term maximum over its documents,
 * trimmed to the shortest set of heaviest terms holding `summaryEnergy` of its L1 mass, capped at
 * `maxSummaryTerms`, and quantized to 8 bits with codes rounded up and a scale slightly inflated, so
 * that a summary never underestimates a document of its block when no term was trimmed.
 *
 * Two ways to the same definition:
 * - **Ordinary blocks** (every member shorter than `long.minTerms`, see long-docs.ts): the union of
 *   the members' vectors in first-touch order, then linear-time weighted selection (no sort). Cost
 *   Σ member lengths per block, which is what every document pays once per list it is in.
 * - **Blocks holding a long document**, when trimming is possible (`summaryEnergy` < 1 or a cap):
 *   reading the long document's every term in each of its n lists would cost n² over the build, so
 *   only its ordinary co-members are scanned; the long documents contribute their precomputed mass
 *   and their terms heaviest first (sorted once per document), merged with the co-members' union
 *   (a heap) until the energy target or the cap is reached. Cost per block: Σ ordinary member
 *   lengths + the kept terms, times a logarithm. The kept terms come out heaviest first (ties: lower
 *   term id), where the ordinary path's order follows its selection; for one long document the kept
 *   set is the ordinary definition's, up to which of several equal-valued terms at the boundary is
 *   kept and the floating-point rounding of the sums. With two or more long documents in a block their masses are added (an overestimate of the
 *   union's mass when they share terms, so the summary keeps at least the terms the exact rule
 *   would: a longer summary only tightens the bound).
 *   Lossless settings (`summaryEnergy` 1, no cap) keep every union term, so they always take the
 *   ordinary path, whose cost is then the output's own size.
 */
import type { GrowableFloat32Array, GrowableUint32Array, GrowableUint8Array } from '../util/growable.js';
import { selectEnergyPrefix, selectTopK } from '../util/select.js';
import type { TermIdArray } from './forward.js';
import { longRank, longValue, type LongDocuments } from './long-docs.js';

/**
 * Multiplier applied to block scales so that, after floating-point rounding in the query-time
 * accumulation, a lossless summary's bound stays at or above every score in its block.
 */
export const SCALE_SAFETY = 1 + 2 ** -20;

export interface SummaryOutput {
  blockScales: GrowableFloat32Array;
  summarySizes: GrowableUint32Array;
  summaryTerms: GrowableUint32Array;
  summaryCodes: GrowableUint8Array;
}

export interface SummaryInput {
  nTerms: number;
  forwardOffsets: Uint32Array;
  forwardTerms: TermIdArray;
  decoded: Float32Array;
  long: LongDocuments;
  summaryEnergy: number;
  maxSummaryTerms: number;
}

/** Builds block summaries one block at a time; all scratch is allocated once, in the constructor. */
export class SummaryBuilder {
  private readonly forwardOffsets: Uint32Array;
  private readonly forwardTerms: TermIdArray;
  private readonly decoded: Float32Array;
  private readonly long: LongDocuments;
  private readonly energy: number;
  private readonly cap: number;
  /** Length from which a member is read through the long-document lookups (∞: never). */
  private readonly longFrom: number;
  /** Per term: maximum over the block's scanned members; 0 = not seen (zero weights are skipped). */
  private readonly maxAccumulator: Float32Array;
  private readonly touchedTerms: Uint32Array;
  /** The kept (or, on the ordinary path, candidate) terms and values. */
  private readonly selectedTerms: Uint32Array;
  private readonly selectedValues: Float32Array;
  /** Max-heap of the ordinary members' union (value descending, then term ascending). */
  private readonly heapTerms: Uint32Array;
  private readonly heapValues: Float32Array;
  /** Per long member of the current block: its id, and its cursor and end in `long.order`. */
  private readonly longMembers: Uint32Array;
  private readonly heads: Uint32Array;
  private readonly ends: Uint32Array;
  /** Per long document: the value of its `cap`-th heaviest term (0 without a cap or when it has fewer). */
  private readonly capValue: Float32Array;

  constructor(input: SummaryInput) {
    const { nTerms, long } = input;
    this.forwardOffsets = input.forwardOffsets;
    this.forwardTerms = input.forwardTerms;
    this.decoded = input.decoded;
    this.long = long;
    this.energy = input.summaryEnergy;
    this.cap = input.maxSummaryTerms;
    const lossless = this.energy >= 1 && this.cap === 0;
    this.longFrom = long.docs.length > 0 && !lossless ? long.minTerms : Infinity;
    this.maxAccumulator = new Float32Array(nTerms);
    this.touchedTerms = new Uint32Array(nTerms);
    this.selectedTerms = new Uint32Array(nTerms);
    this.selectedValues = new Float32Array(nTerms);
    const longPath = this.longFrom !== Infinity;
    this.heapTerms = new Uint32Array(longPath ? nTerms : 0);
    this.heapValues = new Float32Array(longPath ? nTerms : 0);
    this.longMembers = new Uint32Array(long.docs.length);
    this.heads = new Uint32Array(long.docs.length);
    this.ends = new Uint32Array(long.docs.length);
    this.capValue = new Float32Array(long.docs.length);
    for (let r = 0; r < long.docs.length && this.cap > 0; r++) {
      const at = long.orderOffsets[r] + this.cap - 1;
      if (at < long.orderOffsets[r + 1]) this.capValue[r] = this.decoded[long.order[at]];
    }
  }

  /** Appends the summary of the block made of `ordered[from, to)` (ascending ids) to `out`. */
  add(ordered: Uint32Array, from: number, to: number, out: SummaryOutput): void {
    const { forwardOffsets, forwardTerms, decoded, maxAccumulator, touchedTerms, longFrom } = this;
    let nUnion = 0;
    let nLong = 0;
    for (let p = from; p < to; p++) {
      const d = ordered[p];
      const start = forwardOffsets[d];
      const end = forwardOffsets[d + 1];
      if (end - start >= longFrom) {
        this.longMembers[nLong++] = d;
        continue;
      }
      for (let j = start; j < end; j++) {
        const u = forwardTerms[j];
        const v = decoded[j];
        // A weight that rounded to zero contributes nothing to any bound; skipping it also keeps
        // zero as the accumulator's "not yet seen" marker.
        if (v === 0) continue;
        const current = maxAccumulator[u];
        if (current === 0) {
          touchedTerms[nUnion++] = u;
          maxAccumulator[u] = v;
        } else if (v > current) {
          maxAccumulator[u] = v;
        }
      }
    }
    const kept = nLong === 0 ? this.selectOrdinary(nUnion) : this.selectWithLong(nUnion, nLong);
    this.quantize(kept, out);
  }

  /** The ordinary path: energy prefix and cap by in-place selection over the union. */
  private selectOrdinary(nUnion: number): number {
    const { maxAccumulator, touchedTerms, selectedTerms, selectedValues } = this;
    for (let i = 0; i < nUnion; i++) {
      const u = touchedTerms[i];
      selectedTerms[i] = u;
      selectedValues[i] = maxAccumulator[u];
      maxAccumulator[u] = 0;
    }
    let kept = selectEnergyPrefix(selectedTerms, selectedValues, nUnion, this.energy);
    if (this.cap > 0 && kept > this.cap) kept = selectTopK(selectedTerms, selectedValues, kept, this.cap);
    return kept;
  }

  /** Largest value of `term` over the block's long members (0 when none holds it). */
  private longMax(nLong: number, term: number): number {
    const { long } = this;
    // Most terms of ordinary documents are in no long document: no search at all.
    if (long.termOffsets[term] === long.termOffsets[term + 1]) return 0;
    let m = 0;
    for (let i = 0; i < nLong; i++) {
      const v = longValue(long, this.longMembers[i], term);
      if (v > m) m = v;
    }
    return m;
  }

  /**
   * The long path: a merge, heaviest first, of the ordinary members' union (heap) and each long
   * member's presorted terms, stopping at the energy target or the cap.
   */
  private selectWithLong(nUnion: number, nLong: number): number {
    const { maxAccumulator, touchedTerms, heapTerms, heapValues, selectedTerms, selectedValues, long, heads, ends } = this;
    let total = 0;
    // Each long member alone puts `cap` terms at or above its cap-th heaviest value into the union,
    // so no term below the largest such value can be among the `cap` kept: those stay out of the heap.
    let floor = 0;
    for (let i = 0; i < nLong; i++) {
      const r = longRank(long, this.longMembers[i]);
      total += long.mass[r];
      heads[i] = long.orderOffsets[r];
      ends[i] = long.orderOffsets[r + 1];
      if (this.capValue[r] > floor) floor = this.capValue[r];
    }
    // The union value of a term an ordinary member holds is the max with the long members' value;
    // the long members' mass already counts the latter, so only the excess is added.
    let heapSize = 0;
    for (let i = 0; i < nUnion; i++) {
      const u = touchedTerms[i];
      const o = maxAccumulator[u];
      const m = nLong === 1 ? longValue(long, this.longMembers[0], u) : this.longMax(nLong, u);
      const v = o > m ? o : m;
      total += v - m;
      if (v < floor) continue;
      heapTerms[heapSize] = u;
      heapValues[heapSize] = v;
      heapSize++;
    }
    for (let i = (heapSize >>> 1) - 1; i >= 0; i--) siftDown(heapTerms, heapValues, i, heapSize);
    for (let i = 0; i < nLong; i++) this.advance(i, nLong);
    const need = this.energy < 1 ? this.energy * total : Infinity;
    const cap = this.cap;
    let kept = 0;
    let acc = 0;
    while (cap === 0 || kept < cap) {
      let source = -2;
      let bestTerm = 0;
      let bestValue = -1;
      if (heapSize > 0) {
        source = -1;
        bestTerm = heapTerms[0];
        bestValue = heapValues[0];
      }
      for (let i = 0; i < nLong; i++) {
        if (heads[i] >= ends[i]) continue;
        const pos = long.order[heads[i]];
        const v = this.decoded[pos];
        const u = this.forwardTerms[pos];
        if (v > bestValue || (v === bestValue && u < bestTerm)) {
          source = i;
          bestTerm = u;
          bestValue = v;
        }
      }
      if (source === -2) break;
      selectedTerms[kept] = bestTerm;
      selectedValues[kept] = bestValue;
      kept++;
      acc += bestValue;
      if (source === -1) {
        heapSize--;
        heapTerms[0] = heapTerms[heapSize];
        heapValues[0] = heapValues[heapSize];
        siftDown(heapTerms, heapValues, 0, heapSize);
      } else {
        heads[source]++;
        this.advance(source, nLong);
      }
      if (acc >= need) break;
    }
    for (let i = 0; i < nUnion; i++) maxAccumulator[touchedTerms[i]] = 0;
    return kept;
  }

  /**
   * Moves long member `i`'s cursor to its next term that is its own in the union: not held by an
   * ordinary member (the heap has it, with the max) and not larger in another long member (ties:
   * the lower document id owns the term).
   */
  private advance(i: number, nLong: number): void {
    const { long, decoded, forwardTerms, maxAccumulator, longMembers, heads, ends } = this;
    let at = heads[i];
    const end = ends[i];
    for (; at < end; at++) {
      const pos = long.order[at];
      const u = forwardTerms[pos];
      if (maxAccumulator[u] !== 0) continue;
      if (nLong === 1) break;
      const v = decoded[pos];
      let owned = true;
      for (let h = 0; h < nLong && owned; h++) {
        if (h === i) continue;
        const w = longValue(long, longMembers[h], u);
        if (w > v || (w === v && w !== 0 && h < i)) owned = false;
      }
      if (owned) break;
    }
    heads[i] = at;
  }

  /** Codes rounded up so code × scale ≥ value: a summary never underestimates its block. */
  private quantize(kept: number, out: SummaryOutput): void {
    const { selectedTerms, selectedValues } = this;
    let maxValue = 0;
    for (let i = 0; i < kept; i++) if (selectedValues[i] > maxValue) maxValue = selectedValues[i];
    const step = maxValue / 255;
    let scale = 0;
    for (let i = 0; i < kept; i++) {
      const v = selectedValues[i];
      let code = step > 0 ? Math.ceil(v / step) : 1;
      if (code < 1) code = 1;
      if (code > 255) code = 255;
      const ratio = v / code;
      if (ratio > scale) scale = ratio;
      out.summaryTerms.push(selectedTerms[i]);
      out.summaryCodes.push(code);
    }
    out.summarySizes.push(kept);
    out.blockScales.push(scale * SCALE_SAFETY);
  }
}

/** Restores the max-heap property (value descending, then term ascending) below slot `i` of [0, n). */
function siftDown(terms: Uint32Array, values: Float32Array, i: number, n: number): void {
  const t = terms[i];
  const v = values[i];
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    const r = c + 1;
    if (r < n && (values[r] > values[c] || (values[r] === values[c] && terms[r] < terms[c]))) c = r;
    if (!(values[c] > v || (values[c] === v && terms[c] < t))) break;
    terms[i] = terms[c];
    values[i] = values[c];
    i = c;
  }
  terms[i] = t;
  values[i] = v;
}
