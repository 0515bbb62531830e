/**
 * Dot products of a dense query with forward-index documents — the innermost loop of every search
 * mode — and the `CandidateScorer` every mode scores through. The WebAssembly kernel
 * (wasm-kernel.ts) serves segments in its layout; the JavaScript kernels here serve the rest and
 * define the arithmetic both follow. Each value storage type has its own monomorphic kernel so V8
 * compiles a tight loop.
 *
 * Half floats are decoded arithmetically — (mantissa + implicit bit) × 2^(exponent − 25) from two
 * 32-entry tables — instead of through a 64K-entry table: the big table costs 256 KiB of cache that
 * the dense query array (120 KiB for BERT) needs more. The result is exactly the half's value, so
 * every mode (approximate, exhaustive, MaxScore) computes bit-identical scores.
 */
import type { ForwardIndex, TermIdArray } from '../segment/forward.js';
import type { InvertedIndex } from '../segment/inverted.js';
import { CANDIDATE_BATCH, type CandidateScorer, type ScoringKernel } from './candidate-scorer.js';

/** 2^(e − 25) for normal exponents, 2^−24 for subnormals (e = 0). */
const HALF_SCALE = new Float64Array(32);
/** The implicit leading 1 (1024 in mantissa units) of normal halves; 0 for subnormals. */
const HALF_IMPLICIT = new Float64Array(32);
for (let e = 0; e < 32; e++) {
  HALF_SCALE[e] = e === 0 ? 2 ** -24 : 2 ** (e - 25);
  HALF_IMPLICIT[e] = e === 0 ? 0 : 1024;
}

/**
 * The common signature of the kernels, so a searcher picks one per segment and calls it through a
 * variable: in a process that uses one value type the call site stays monomorphic and V8 inlines
 * it, which measured ~10% faster than choosing among three calls per candidate.
 */
export type DotKernel = (dense: Float32Array, terms: TermIdArray, values: ForwardIndex['values'], codebook: Float32Array, start: number, end: number) => number;

/** f16 values (non-negative: spladex rejects negative weights, so the sign bit is never set). */
export function dotHalf(dense: Float32Array, terms: TermIdArray, values: Uint16Array, _codebook: Float32Array, start: number, end: number): number {
  return halfTail(dense, terms, values, start, end, 0);
}

/** u8 codebook indices. */
function dotCodebook(dense: Float32Array, terms: TermIdArray, values: Uint8Array, codebook: Float32Array, start: number, end: number): number {
  let score = 0;
  for (let j = start; j < end; j++) score += dense[terms[j]] * codebook[values[j]];
  return score;
}

/** Raw float32 values. */
function dotFloat(dense: Float32Array, terms: TermIdArray, values: Float32Array, _codebook: Float32Array, start: number, end: number): number {
  let score = 0;
  for (let j = start; j < end; j++) score += dense[terms[j]] * values[j];
  return score;
}

/** The kernel of a forward index's value storage. */
export function kernelFor(forward: ForwardIndex): DotKernel {
  return (forward.valueType === 'f16' ? dotHalf : forward.valueType === 'u8' ? dotCodebook : dotFloat) as DotKernel;
}

/**
 * Scores the four documents `docs[at..at+3]` into `out[at..at+3]`, each exactly as the single
 * kernel would (its own accumulator, its postings in order), so results are bit-identical.
 */
export type QuadKernel = (dense: Float32Array, terms: TermIdArray, values: ForwardIndex['values'], codebook: Float32Array, offsets: Uint32Array, docs: Uint32Array, at: number, out: Float64Array) => void;

/**
 * Four f16 documents in lockstep. Why: candidate scoring is bound by memory latency (each
 * candidate is a random ~480-byte read), and JavaScript has no prefetch; a loop whose body reads
 * from four documents gives the CPU four independent miss streams to overlap. Measured on random
 * documents of a 1M index: ~260 ns per document instead of ~440 (docs/PERFORMANCE.md).
 */
export function dotHalf4(dense: Float32Array, terms: TermIdArray, values: Uint16Array, _codebook: Float32Array, offsets: Uint32Array, docs: Uint32Array, at: number, out: Float64Array): void {
  const a = offsets[docs[at]], aEnd = offsets[docs[at] + 1];
  const b = offsets[docs[at + 1]], bEnd = offsets[docs[at + 1] + 1];
  const c = offsets[docs[at + 2]], cEnd = offsets[docs[at + 2] + 1];
  const d = offsets[docs[at + 3]], dEnd = offsets[docs[at + 3] + 1];
  const common = Math.min(aEnd - a, bEnd - b, cEnd - c, dEnd - d);
  let sa = 0, sb = 0, sc = 0, sd = 0;
  for (let i = 0; i < common; i++) {
    const va = values[a + i], vb = values[b + i], vc = values[c + i], vd = values[d + i];
    const ea = va >>> 10, eb = vb >>> 10, ec = vc >>> 10, ed = vd >>> 10;
    sa += dense[terms[a + i]] * (HALF_SCALE[ea] * ((va & 1023) + HALF_IMPLICIT[ea]));
    sb += dense[terms[b + i]] * (HALF_SCALE[eb] * ((vb & 1023) + HALF_IMPLICIT[eb]));
    sc += dense[terms[c + i]] * (HALF_SCALE[ec] * ((vc & 1023) + HALF_IMPLICIT[ec]));
    sd += dense[terms[d + i]] * (HALF_SCALE[ed] * ((vd & 1023) + HALF_IMPLICIT[ed]));
  }
  out[at] = halfTail(dense, terms, values, a + common, aEnd, sa);
  out[at + 1] = halfTail(dense, terms, values, b + common, bEnd, sb);
  out[at + 2] = halfTail(dense, terms, values, c + common, cEnd, sc);
  out[at + 3] = halfTail(dense, terms, values, d + common, dEnd, sd);
}

/** Continues an f16 sum over postings [start, end). */
function halfTail(dense: Float32Array, terms: TermIdArray, values: Uint16Array, start: number, end: number, score: number): number {
  for (let j = start; j < end; j++) {
    const bits = values[j];
    const exponent = bits >>> 10;
    score += dense[terms[j]] * (HALF_SCALE[exponent] * ((bits & 1023) + HALF_IMPLICIT[exponent]));
  }
  return score;
}

/** The four-document kernel of a value storage: lockstep for f16 (the default), four single calls otherwise. */
export function quadKernelFor(forward: ForwardIndex): QuadKernel {
  if (forward.valueType === 'f16') return dotHalf4 as QuadKernel;
  const single = kernelFor(forward);
  return (dense, terms, values, codebook, offsets, docs, at, out) => {
    for (let i = at; i < at + 4; i++) out[i] = single(dense, terms, values, codebook, offsets[docs[i]], offsets[docs[i] + 1]);
  };
}


/** `CandidateScorer` over the JavaScript kernels: four candidates in lockstep, the rest singly. */
export class JsCandidateScorer implements CandidateScorer {
  readonly kernel = 'javascript';
  private readonly dense: Float32Array;
  readonly candidates = new Uint32Array(CANDIDATE_BATCH);
  readonly scores = new Float64Array(CANDIDATE_BATCH);
  readonly bounds = new Float64Array(CANDIDATE_BATCH);
  private readonly dot: DotKernel;
  private readonly dot4: QuadKernel;

  constructor(
    private readonly forward: ForwardIndex,
    nTerms: number,
    private readonly inverted?: InvertedIndex,
  ) {
    this.dense = new Float32Array(nTerms);
    this.dot = kernelFor(forward);
    this.dot4 = quadKernelFor(forward);
  }

  loadQuery(terms: ArrayLike<number>, weights: ArrayLike<number>): void {
    for (let i = 0; i < terms.length; i++) this.dense[terms[i]] = weights[i];
  }

  clearQuery(terms: ArrayLike<number>): void {
    for (let i = 0; i < terms.length; i++) this.dense[terms[i]] = 0;
  }

  scoreCandidates(n: number): void {
    const { dense, candidates, scores } = this;
    const { offsets, terms, values, codebook } = this.forward;
    const groups = n & ~3;
    for (let i = 0; i < groups; i += 4) this.dot4(dense, terms, values, codebook, offsets, candidates, i, scores);
    for (let i = groups; i < n; i++) {
      const d = candidates[i];
      scores[i] = this.dot(dense, terms, values, codebook, offsets[d], offsets[d + 1]);
    }
  }

  scoreDocument(doc: number): number {
    const f = this.forward;
    return this.dot(this.dense, f.terms, f.values, f.codebook, f.offsets[doc], f.offsets[doc + 1]);
  }

  boundBlocks(first: number, n: number): void {
    if (this.inverted === undefined) throw new Error('boundBlocks needs the block summaries');
    const { summaryOffsets, summaryTerms, summaryCodes, blockScales } = this.inverted;
    const { dense, bounds } = this;
    for (let i = 0; i < n; i++) {
      const block = first + i;
      let bound = 0;
      for (let e = summaryOffsets[block], end = summaryOffsets[block + 1]; e < end; e++) bound += dense[summaryTerms[e]] * summaryCodes[e];
      bounds[i] = bound * blockScales[block];
    }
  }
}
