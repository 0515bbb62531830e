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
 *
 * Shared segments (the search pool, src/pool/): the file is read once into a *shared* memory with
 * one scratch slot per thread, and each worker thread instantiates the kernel over the same memory
 * with its own slot, so N threads search one copy. A shared memory needs the kernel compiled with
 * a shared memory import (the same code otherwise); without WebAssembly the file goes into a plain
 * SharedArrayBuffer and every thread scores with the JavaScript kernels.
 */
import type { ForwardIndex } from '../segment/forward.js';
import type { InvertedIndex } from '../segment/inverted.js';
import type { SegmentMemory } from '../segment/segment.js';
import { KERNEL_SHARED_WASM_BASE64, KERNEL_WASM_BASE64 } from './kernel-wasm.generated.js';
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
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
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

const compiled = new Map<string, WebAssembly.Module | null>();

/**
 * The compiled kernel — for a private memory, or for a shared one (`shared`) — or null when
 * WebAssembly is off or unavailable (checked once each).
 */
function kernelModule(shared = false): WebAssembly.Module | null {
  const key = shared ? 'shared' : 'private';
  let module = compiled.get(key);
  if (module === undefined) {
    module = null;
    if (process.env.SPLADEX_WASM !== '0' && typeof WebAssembly === 'object') {
      try {
        module = new WebAssembly.Module(Buffer.from(shared ? KERNEL_SHARED_WASM_BASE64 : KERNEL_WASM_BASE64, 'base64'));
      } catch {
        // e.g. node --jitless: the JavaScript kernels serve.
      }
    }
    compiled.set(key, module);
  }
  return module;
}

const align64 = (n: number): number => Math.ceil(n / 64) * 64;

/** Bytes of one thread's scratch regions; a multiple of 64, so every slot starts on a cache line. */
const slotBytes = (nTerms: number): number => align64(4 * nTerms) + align64(8 * nTerms) + 20 * CANDIDATE_BATCH;

/** The scale of `dense64` (kernel.wat, "Exactness"): the power of two the kernel's value decoding leaves out. */
const DENSE64_SCALE = 2 ** 112;

/**
 * Byte addresses of the scratch regions of thread slot `slot` in a kernel memory (see
 * `KernelMemory`), and the memory's total size with `slots` slots.
 */
function layout(fileBytes: number, nTerms: number, slot = 0, slots = 1): { denseAt: number; dense64At: number; candidatesAt: number; scoresAt: number; boundsAt: number; bytes: number } {
  const scratchAt = align64(fileBytes);
  const denseAt = scratchAt + slot * slotBytes(nTerms);
  const dense64At = align64(denseAt + 4 * nTerms);
  const candidatesAt = align64(dense64At + 8 * nTerms);
  const scoresAt = align64(candidatesAt + 4 * CANDIDATE_BATCH);
  const boundsAt = scoresAt + 8 * CANDIDATE_BATCH;
  return { denseAt, dense64At, candidatesAt, scoresAt, boundsAt, bytes: scratchAt + slots * slotBytes(nTerms) };
}

/**
 * What another thread needs to view a segment read into shared memory: structured-cloneable (a
 * shared `WebAssembly.Memory` or a `SharedArrayBuffer` crosses `postMessage` as a handle to the
 * same bytes). `slots`: how many threads have scratch regions in it.
 */
export interface SharedSegmentBytes {
  readonly memory: object;
  readonly fileBytes: number;
  readonly nTerms: number;
  readonly slots: number;
}

/** A segment file in a plain SharedArrayBuffer (no WebAssembly): every thread scores it with the JavaScript kernels. */
class SharedFileMemory implements SegmentMemory {
  readonly file: Uint8Array;
  constructor(readonly shared: SharedSegmentBytes) {
    this.file = new Uint8Array(shared.memory as SharedArrayBuffer, 0, shared.fileBytes);
  }
}

/**
 * One linear memory per segment (addresses are bytes):
 *
 *     [0, fileBytes)       the segment file, read in place: its sections are views of this memory
 *     then, per thread slot (one in a private memory; one per pool thread in a shared one):
 *     denseAt              f32 × nTerms           the query, term id → weight; zero outside a search
 *     dense64At            f64 × nTerms           the same weights × 2^112, as scoring reads them
 *     candidatesAt         u32 × CANDIDATE_BATCH  documents to score
 *     scoresAt             f64 × CANDIDATE_BATCH  their scores
 *     boundsAt             f64 × CANDIDATE_BATCH  summary bounds of a run of blocks
 *
 * Each region starts on a 64-byte (cache line) boundary. A slot's scratch regions are shared by
 * every searcher of the segment on that thread: searches are synchronous and each zeroes `dense`
 * before returning, so two searches on one slot never interleave; threads never share a slot.
 */
export class KernelMemory {
  readonly file: Uint8Array;
  readonly dense: Float32Array;
  readonly dense64: Float64Array;
  readonly candidates: Uint32Array;
  readonly scores: Float64Array;
  readonly bounds: Float64Array;
  readonly kernel: KernelExports;
  /** The memory's buffer, read once: the identity `scorerFor` checks views against. */
  private readonly buffer: ArrayBuffer | SharedArrayBuffer;

  private constructor(
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    fileBytes: number,
    nTerms: number,
    /** Set for a shared memory: what other threads attach to. */
    readonly shared?: SharedSegmentBytes,
    slot = 0,
  ) {
    const buffer = (this.buffer = memory.buffer);
    this.file = new Uint8Array(buffer, 0, fileBytes);
    const { denseAt, dense64At, candidatesAt, scoresAt, boundsAt } = layout(fileBytes, nTerms, slot);
    this.dense = new Float32Array(buffer, denseAt, nTerms);
    this.dense64 = new Float64Array(buffer, dense64At, nTerms);
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
   * A shared memory for a file of `fileBytes` with scratch slots for `slots` threads (this
   * thread takes slot 0), or undefined when WebAssembly cannot take it.
   */
  static allocateShared(fileBytes: number, nTerms: number, slots: number): KernelMemory | undefined {
    const module = kernelModule(true);
    if (module === null) return undefined;
    const pages = Math.ceil(layout(fileBytes, nTerms, 0, slots).bytes / PAGE_BYTES);
    if (pages > MAX_PAGES) return undefined;
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      return new KernelMemory(memory, module, fileBytes, nTerms, { memory, fileBytes, nTerms, slots });
    } catch {
      return undefined;
    }
  }

  /** Slot `slot` of a shared memory another thread allocated, or undefined when this thread cannot run the kernel. */
  static attach(memory: WebAssembly.Memory, shared: SharedSegmentBytes, slot: number): KernelMemory | undefined {
    const module = kernelModule(true);
    return module === null ? undefined : new KernelMemory(memory, module, shared.fileBytes, shared.nTerms, shared, slot);
  }

  /**
   * A scorer over `forward` (and `inverted`'s block summaries, when given) when they live in this
   * memory in the kernel's layout (f16 values, 16-bit term ids); else undefined.
   */
  scorerFor(forward: ForwardIndex, nTerms: number, inverted?: InvertedIndex): CandidateScorer | undefined {
    const buffer = this.buffer;
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

/**
 * The allocator (`ReadSegmentOptions.memory`) of segments shared by `slots` threads: a shared
 * kernel memory where WebAssembly takes the file, else a SharedArrayBuffer — never private memory,
 * so every segment it reads can be shared.
 */
export function sharedSegmentAllocator(slots: number): (fileBytes: number, nTerms: number) => SegmentMemory {
  return (fileBytes, nTerms) => KernelMemory.allocateShared(fileBytes, nTerms, slots) ?? new SharedFileMemory({ memory: new SharedArrayBuffer(fileBytes), fileBytes, nTerms, slots });
}

/** The handle other threads attach to, for memory `sharedSegmentAllocator` returned; undefined for private memory. */
export function sharedSegmentBytes(memory: SegmentMemory | undefined): SharedSegmentBytes | undefined {
  return memory instanceof KernelMemory || memory instanceof SharedFileMemory ? memory.shared : undefined;
}

/**
 * This thread's view of a shared segment, scratch slot `slot`: the kernel instantiated over the
 * same memory (or the JavaScript kernels when this thread cannot run it). Nothing is copied.
 */
export function attachSharedSegment(shared: SharedSegmentBytes, slot: number): SegmentMemory {
  if (!Number.isInteger(slot) || slot < 0 || slot >= shared.slots) throw new Error(`scratch slot ${slot} outside the ${shared.slots} of a shared segment`);
  if (!(typeof WebAssembly === 'object' && shared.memory instanceof WebAssembly.Memory)) return new SharedFileMemory(shared);
  return KernelMemory.attach(shared.memory, shared, slot) ?? { file: new Uint8Array(shared.memory.buffer, 0, shared.fileBytes) };
}

/** `CandidateScorer` over the kernel: same scores and bounds, bit for bit, as the JavaScript kernels. */
class WasmCandidateScorer implements CandidateScorer {
  readonly kernel = 'webassembly';
  private readonly dense: Float32Array;
  private readonly dense64: Float64Array;
  readonly candidates: Uint32Array;
  readonly scores: Float64Array;
  readonly bounds: Float64Array;
  private readonly wasm: KernelExports;
  // Byte addresses of the arrays the kernel reads and writes.
  private readonly denseAt: number;
  private readonly dense64At: number;
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
    this.dense64 = memory.dense64;
    this.candidates = memory.candidates;
    this.scores = memory.scores;
    this.bounds = memory.bounds;
    this.wasm = memory.kernel;
    this.denseAt = memory.dense.byteOffset;
    this.dense64At = memory.dense64.byteOffset;
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

  loadQuery(terms: ArrayLike<number>, weights: ArrayLike<number>): void {
    const { dense, dense64 } = this;
    for (let i = 0; i < terms.length; i++) {
      const t = terms[i];
      dense[t] = weights[i];
      dense64[t] = dense[t] * DENSE64_SCALE; // the weight as stored in f32, scaled exactly
    }
  }

  clearQuery(terms: ArrayLike<number>): void {
    const { dense, dense64 } = this;
    for (let i = 0; i < terms.length; i++) {
      dense[terms[i]] = 0;
      dense64[terms[i]] = 0;
    }
  }

  scoreCandidates(n: number): void {
    this.wasm.scoreBatch(this.dense64At, this.offsetsAt, this.termsAt, this.valuesAt, this.candidatesAt, n, this.scoresAt);
  }

  scoreDocument(doc: number): number {
    return this.wasm.scoreOne(this.dense64At, this.offsetsAt, this.termsAt, this.valuesAt, doc);
  }

  boundBlocks(first: number, n: number): void {
    if (this.scalesAt < 0) throw new Error('boundBlocks needs the block summaries');
    this.wasm.boundBlocks(this.denseAt, this.summaryOffsetsAt, this.summaryTermsAt, this.summaryCodesAt, this.scalesAt, first, n, this.boundsAt);
  }
}
