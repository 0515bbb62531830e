/**
 * The WebAssembly backend of candidate scoring. Every WebAssembly specific of spladex lives in this
 * module: compiling the kernel (kernel.wat, shipped compiled in kernel-wasm.generated.ts), the
 * linear memory a segment file is read into, and the scorer that calls the kernel.
 *
 * Why the segment file itself goes into linear memory: the kernel can only read its own memory,
 * and the forward index is most of a segment; reading the file there (container.ts's allocator
 * hook) makes every section a view of that memory at no extra copy, so the JavaScript code (build,
 * MaxScore's inversion, verify) sees the same typed arrays as before.
 *
 * Falls back to the JavaScript kernels (dot.ts) when WebAssembly is unavailable, when
 * `SPLADEX_WASM=0` is set, when a segment does not fit the 4 GiB of a 32-bit memory, or when its
 * forward index is not f16 values with 16-bit term ids (the kernel's only layout; the default).
 */
import type { ForwardIndex } from '../segment/forward.js';
import type { InvertedIndex } from '../segment/inverted.js';
import { KERNEL_WASM_BASE64 } from './kernel-wasm.generated.js';
import { CANDIDATE_BATCH, type CandidateScorer } from './candidate-scorer.js';

/**
 * The members of the WebAssembly JavaScript API used here: the project compiles without lib.dom,
 * which is where TypeScript declares them. Types only; the runtime's global is used.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
}

const PAGE_BYTES = 65536;
/** A 32-bit memory holds at most 65,536 pages (4 GiB). */
const MAX_PAGES = 65536;

interface KernelExports {
  scoreOne(dense: number, offsets: number, terms: number, values: number, doc: number): number;
  scoreBatch(dense: number, offsets: number, terms: number, values: number, docs: number, n: number, out: number): void;
  boundBlocks(dense: number, sumOffsets: number, sumTerms: number, sumCodes: number, scales: number, first: number, n: number, out: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernel, or null when WebAssembly is off or unavailable (checked once). */
function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    compiled = null;
    if (process.env.SPLADEX_WASM !== '0' && typeof WebAssembly === 'object') {
      try {
        compiled = new WebAssembly.Module(Buffer.from(KERNEL_WASM_BASE64, 'base64'));
      } catch {
        // e.g. node --jitless: the JavaScript kernels serve.
      }
    }
  }
  return compiled;
}

const align64 = (n: number): number => Math.ceil(n / 64) * 64;

/** Byte addresses of the regions of a kernel memory (see `KernelMemory`), and its total size. */
function layout(fileBytes: number, nTerms: number): { denseAt: number; candidatesAt: number; scoresAt: number; boundsAt: number; bytes: number } {
  const denseAt = align64(fileBytes);
  const candidatesAt = align64(denseAt + 4 * nTerms);
  const scoresAt = align64(candidatesAt + 4 * CANDIDATE_BATCH);
  const boundsAt = scoresAt + 8 * CANDIDATE_BATCH;
  return { denseAt, candidatesAt, scoresAt, boundsAt, bytes: boundsAt + 8 * CANDIDATE_BATCH };
}

/**
 * One linear memory per segment (addresses are bytes):
 *
 *     [0, fileBytes)       the segment file, read in place: its sections are views of this memory
 *     denseAt              f32 × nTerms           the query, term id → weight; zero outside a search
 *     candidatesAt         u32 × CANDIDATE_BATCH  documents to score
 *     scoresAt             f64 × CANDIDATE_BATCH  their scores
 *     boundsAt             f64 × CANDIDATE_BATCH  summary bounds of a run of blocks
 *
 * Each region starts on a 64-byte (cache line) boundary. The scratch regions are shared by every
 * searcher of the segment: searches are synchronous and each zeroes `dense` before returning, so
 * two searches on one segment never interleave.
 */
export class KernelMemory {
  readonly file: Uint8Array;
  readonly dense: Float32Array;
  readonly candidates: Uint32Array;
  readonly scores: Float64Array;
  readonly bounds: Float64Array;
  readonly kernel: KernelExports;

  private constructor(
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    fileBytes: number,
    nTerms: number,
  ) {
    const buffer = memory.buffer;
    this.file = new Uint8Array(buffer, 0, fileBytes);
    const { denseAt, candidatesAt, scoresAt, boundsAt } = layout(fileBytes, nTerms);
    this.dense = new Float32Array(buffer, denseAt, nTerms);
    this.candidates = new Uint32Array(buffer, candidatesAt, CANDIDATE_BATCH);
    this.scores = new Float64Array(buffer, scoresAt, CANDIDATE_BATCH);
    this.bounds = new Float64Array(buffer, boundsAt, CANDIDATE_BATCH);
    this.kernel = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  }

  /** A memory for a file of `fileBytes` and `nTerms` terms, or undefined when WebAssembly cannot take it. */
  static allocate(fileBytes: number, nTerms: number): KernelMemory | undefined {
    const module = kernelModule();
    if (module === null) return undefined;
    const pages = Math.ceil(layout(fileBytes, nTerms).bytes / PAGE_BYTES);
    if (pages > MAX_PAGES) return undefined;
    try {
      return new KernelMemory(new WebAssembly.Memory({ initial: pages, maximum: pages }), module, fileBytes, nTerms);
    } catch {
      return undefined; // address space exhausted (e.g. ulimit -v): plain buffers and JavaScript kernels
    }
  }

  /**
   * A scorer over `forward` (and `inverted`'s block summaries, when given) when they live in this
   * memory in the kernel's layout (f16 values, 16-bit term ids); else undefined.
   */
  scorerFor(forward: ForwardIndex, nTerms: number, inverted?: InvertedIndex): CandidateScorer | undefined {
    const buffer = this.memory.buffer;
    const inMemory = (array: ArrayBufferView): boolean => array.buffer === buffer;
    const { offsets, terms, values } = forward;
    const forwardFits = forward.valueType === 'f16' && terms instanceof Uint16Array && values instanceof Uint16Array && inMemory(offsets) && inMemory(terms) && inMemory(values);
    const summariesFit =
      inverted === undefined ||
      (inverted.summaryTerms instanceof Uint16Array && inMemory(inverted.summaryTerms) && inMemory(inverted.summaryOffsets) && inMemory(inverted.summaryCodes) && inMemory(inverted.blockScales));
    if (!forwardFits || !summariesFit || this.dense.length < nTerms) return undefined;
    return new WasmCandidateScorer(this, forward, inverted);
  }
}

/** `CandidateScorer` over the kernel: same scores and bounds, bit for bit, as the JavaScript kernels. */
class WasmCandidateScorer implements CandidateScorer {
  readonly kernel = 'webassembly';
  readonly dense: Float32Array;
  readonly candidates: Uint32Array;
  readonly scores: Float64Array;
  readonly bounds: Float64Array;
  private readonly wasm: KernelExports;
  // Byte addresses of the arrays the kernel reads and writes.
  private readonly denseAt: number;
  private readonly candidatesAt: number;
  private readonly scoresAt: number;
  private readonly boundsAt: number;
  private readonly offsetsAt: number;
  private readonly termsAt: number;
  private readonly valuesAt: number;
  private readonly summaryOffsetsAt: number;
  private readonly summaryTermsAt: number;
  private readonly summaryCodesAt: number;
  private readonly scalesAt: number;

  constructor(memory: KernelMemory, forward: ForwardIndex, inverted: InvertedIndex | undefined) {
    this.dense = memory.dense;
    this.candidates = memory.candidates;
    this.scores = memory.scores;
    this.bounds = memory.bounds;
    this.wasm = memory.kernel;
    this.denseAt = memory.dense.byteOffset;
    this.candidatesAt = memory.candidates.byteOffset;
    this.scoresAt = memory.scores.byteOffset;
    this.boundsAt = memory.bounds.byteOffset;
    this.offsetsAt = forward.offsets.byteOffset;
    this.termsAt = forward.terms.byteOffset;
    this.valuesAt = forward.values.byteOffset;
    // Without summaries (kernel tests) the addresses are never used: boundBlocks needs an inverted index.
    this.summaryOffsetsAt = inverted?.summaryOffsets.byteOffset ?? -1;
    this.summaryTermsAt = inverted?.summaryTerms.byteOffset ?? -1;
    this.summaryCodesAt = inverted?.summaryCodes.byteOffset ?? -1;
    this.scalesAt = inverted?.blockScales.byteOffset ?? -1;
  }

  scoreCandidates(n: number): void {
    this.wasm.scoreBatch(this.denseAt, this.offsetsAt, this.termsAt, this.valuesAt, this.candidatesAt, n, this.scoresAt);
  }

  scoreDocument(doc: number): number {
    return this.wasm.scoreOne(this.denseAt, this.offsetsAt, this.termsAt, this.valuesAt, doc);
  }

  boundBlocks(first: number, n: number): void {
    if (this.scalesAt < 0) throw new Error('boundBlocks needs the block summaries');
    this.wasm.boundBlocks(this.denseAt, this.summaryOffsetsAt, this.summaryTermsAt, this.summaryCodesAt, this.scalesAt, first, n, this.boundsAt);
  }
}
