/**
 * The forward index: every document's sparse vector in CSR form, used to score candidate
 * documents exactly. Term ids are `Uint16` whenever the vocabulary fits (it does for every BERT
 * vocabulary), and values are stored compactly (see `ForwardValueType`) and decoded through a
 * small table, so the scoring loop is two typed-array loads and a multiply per posting.
 */
import { SpladexError } from '../errors.js';
import type { SparseEntries } from '../io/sparse-line.js';
import { GrowableFloat32Array, GrowableUint32Array } from '../util/growable.js';
import { HALF_TO_FLOAT, toHalfBits } from '../util/f16.js';
import type { ForwardValueType } from './options.js';
import type { Where } from '../io/documents.js';

export type TermIdArray = Uint16Array | Uint32Array;

export interface ForwardIndex {
  nDocs: number;
  /** nDocs + 1 offsets into `terms`/`values`. */
  offsets: Uint32Array;
  terms: TermIdArray;
  valueType: ForwardValueType;
  /** Half-precision bits (f16), codebook indices (u8) or raw floats (f32). */
  values: Uint16Array | Uint8Array | Float32Array;
  /** Decode table: 65,536 entries for f16, 256 for u8, empty for f32. */
  codebook: Float32Array;
}

/** Largest finite half-precision value. */
const HALF_MAX = 65504;

/** Allocates a term-id array of the narrowest type that holds ids below `vocabularySize`. */
export function termIdArray(length: number, vocabularySize: number, shared = false): TermIdArray {
  if (vocabularySize <= 65536) {
    return shared ? new Uint16Array(new SharedArrayBuffer(length * 2)) : new Uint16Array(length);
  }
  return shared ? new Uint32Array(new SharedArrayBuffer(length * 4)) : new Uint32Array(length);
}

/**
 * Accumulates documents during a build: term strings are interned into ids once, postings go
 * into growable typed arrays (no per-document objects survive ingestion).
 */
export class ForwardBuilder {
  readonly termIds = new Map<string, number>();
  readonly vocabulary: string[] = [];
  private readonly offsets = new GrowableUint32Array();
  private readonly terms = new GrowableUint32Array(1 << 16);
  private readonly values = new GrowableFloat32Array(1 << 16);
  /** Per term: last document that used it and where, so a repeated token overwrites (JSON's last-wins). */
  private lastDoc = new Int32Array(1024).fill(-1);
  private lastPosition = new Uint32Array(1024);

  constructor(private readonly valueType: ForwardValueType) {
    this.offsets.push(0);
  }

  get nDocs(): number {
    return this.offsets.length - 1;
  }

  get nPostings(): number {
    return this.terms.length;
  }

  /** Appends a document and returns its local id. Weights must be validated (finite, > 0). */
  add(entries: SparseEntries, where: Where): number {
    const { tokens, weights } = entries;
    const doc = this.nDocs;
    // Check everything before appending anything, so a rejected document leaves no postings behind.
    if (this.valueType === 'f16') {
      for (let i = 0; i < weights.length; i++) {
        if (weights[i] > HALF_MAX) {
          throw new SpladexError('E_INPUT_LIMIT', `weight ${weights[i]} of token ${JSON.stringify(tokens[i])} exceeds the half-precision range (${HALF_MAX}); build with forwardValues "f32"`, where);
        }
      }
    }
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      const weight = weights[i];
      let id = this.termIds.get(token);
      if (id === undefined) {
        id = this.vocabulary.length;
        this.termIds.set(token, id);
        this.vocabulary.push(token);
        if (id >= this.lastDoc.length) this.growTermState();
      }
      if (this.lastDoc[id] === doc) {
        this.values.view()[this.lastPosition[id]] = weight;
        continue;
      }
      this.lastDoc[id] = doc;
      this.lastPosition[id] = this.terms.length;
      this.terms.push(id);
      this.values.push(weight);
    }
    if (this.terms.length > 0xffffffff) throw new SpladexError('E_INPUT_LIMIT', 'more than 2^32 postings in one segment; split the input');
    this.offsets.push(this.terms.length);
    return this.nDocs - 1;
  }

  private growTermState(): void {
    const lastDoc = new Int32Array(this.lastDoc.length * 2).fill(-1);
    lastDoc.set(this.lastDoc);
    this.lastDoc = lastDoc;
    const lastPosition = new Uint32Array(this.lastPosition.length * 2);
    lastPosition.set(this.lastPosition);
    this.lastPosition = lastPosition;
  }

  /**
   * Freezes the forward index. Returns the stored form and the decoded values (float32, the
   * exact values scoring will see), which the inverted-index build uses so that block summaries
   * bound the scores actually computed at query time. Arrays are SharedArrayBuffer-backed so build
   * workers can read them without copies.
   */
  finish(): { forward: ForwardIndex; decoded: Float32Array } {
    const nnz = this.terms.length;
    const offsets = new Uint32Array(new SharedArrayBuffer((this.nDocs + 1) * 4));
    offsets.set(this.offsets.view());
    const terms = termIdArray(nnz, this.vocabulary.length, true);
    terms.set(this.terms.view());
    const raw = this.values.view();
    const decoded = new Float32Array(new SharedArrayBuffer(nnz * 4));
    const { values, codebook } = encodeValues(raw, this.valueType);
    decodeValuesInto(values, codebook, decoded);
    return { forward: { nDocs: this.nDocs, offsets, terms, valueType: this.valueType, values, codebook }, decoded };
  }
}

/** Encodes raw weights in the chosen storage type. */
export function encodeValues(raw: Float32Array, valueType: ForwardValueType): { values: ForwardIndex['values']; codebook: Float32Array } {
  if (valueType === 'f32') {
    const values = new Float32Array(raw.length);
    values.set(raw);
    return { values, codebook: new Float32Array(0) };
  }
  if (valueType === 'f16') {
    const values = new Uint16Array(raw.length);
    for (let i = 0; i < raw.length; i++) values[i] = toHalfBits(raw[i]);
    return { values, codebook: HALF_TO_FLOAT };
  }
  const codebook = fitCodebook(raw);
  const values = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) values[i] = nearestLevel(codebook, raw[i]);
  return { values, codebook };
}

/** Writes decoded float values of `values` into `out`. */
export function decodeValuesInto(values: ForwardIndex['values'], codebook: Float32Array, out: Float32Array): void {
  if (values instanceof Float32Array) {
    out.set(values);
    return;
  }
  for (let i = 0; i < values.length; i++) out[i] = codebook[values[i]];
}

/** All values of a forward index as floats (build-time helper; allocates nnz × 4 bytes). */
export function decodeForwardValues(forward: ForwardIndex): Float32Array {
  const out = new Float32Array(forward.values.length);
  decodeValuesInto(forward.values, forward.codebook, out);
  return out;
}

/**
 * 256 reconstruction levels at the quantiles of the value distribution (a sample of up to 2^20
 * values). SPLADE weights are heavily skewed towards small values, so quantile levels spend the
 * codes where the mass is, unlike a linear grid.
 */
function fitCodebook(raw: Float32Array): Float32Array {
  const sampleSize = Math.min(raw.length, 1 << 20);
  const sample = new Float32Array(sampleSize);
  const step = raw.length / Math.max(1, sampleSize);
  for (let i = 0; i < sampleSize; i++) sample[i] = raw[Math.floor(i * step)];
  sample.sort();
  const levels = new Float32Array(256);
  if (sampleSize === 0) return levels;
  for (let i = 0; i < 256; i++) levels[i] = sample[Math.min(sampleSize - 1, Math.floor(((i + 0.5) / 256) * sampleSize))];
  // The largest value must be representable exactly-ish, otherwise top weights are clipped.
  levels[255] = Math.max(levels[255], sample[sampleSize - 1]);
  return levels;
}

function nearestLevel(levels: Float32Array, value: number): number {
  let lo = 0;
  let hi = levels.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (levels[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && value - levels[lo - 1] < levels[lo] - value) return lo - 1;
  return lo;
}

/** Bytes used by the forward index arrays. */
export function forwardBytes(forward: ForwardIndex): number {
  const codebookBytes = forward.valueType === 'u8' ? forward.codebook.byteLength : 0;
  return forward.offsets.byteLength + forward.terms.byteLength + forward.values.byteLength + codebookBytes;
}
