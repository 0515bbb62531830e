/**
 * `exportCiff`: an index's live documents as a CIFF file, in memory bounded by the vocabulary and
 * the run size, never by the collection. The full stored vectors are read (each segment's forward
 * index, streamed from its file: not the statically pruned lists) in document order, documents
 * renumbered 0 … n−1 over the live ones; postings go through sorted runs on disk
 * (runs.ts) and come out term by term. Because runs hold consecutive document ranges, one term's
 * postings are the concatenation of its postings in each run, in run order: no merge heap.
 *
 * Postings lists are written in UTF-8 byte order of their terms (what PISA's ciff2pisa expects).
 * A list's protobuf length prefix must precede its postings, so the encoded size of each list is
 * counted while the runs are written, and the postings are encoded by protobufjs in chunks: a
 * list of every document never has to be one object in memory.
 */
import { closeSync, createReadStream, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SpladexError } from '../errors.js';
import { ioFailure, isIoFailure, guardIo } from '../util/io-failure.js';
import { fsyncPath } from '../util/fs.js';
import { RunWriter } from './runs.js';
import { ciffCodec, POSTING_DOCID_TAG, POSTING_TF_TAG, POSTINGS_FIELD_TAG, varintBytes } from './schema.js';
import { CIFF_EXPORT_OPTIONS, describeExport, type CiffExportOptions } from './options.js';
import { closeCommitted, openCommittedSegments, StringCursor, valueDecoder, type CommittedSegment } from '../reader/segment-stream.js';

export interface CiffExportProgress {
  phase: 'vocabulary' | 'invert' | 'write';
  /** Documents read so far (invert) or postings lists written (write). */
  done: number;
  total: number;
}

export interface CiffExportSummary {
  path: string;
  documents: number;
  postingsLists: number;
  postings: number;
  /** Postings whose impact rounded to 0 (weight below 0.5 / scale): not in the file. */
  droppedPostings: number;
  scale: number;
  /** The largest quantisation error of one weight, 0.5 / scale. */
  maxWeightError: number;
  bytes: number;
  seconds: number;
}

interface OpenSegment extends CommittedSegment {
  /** Segment term id → global term rank (UTF-8 byte order). */
  rank: Uint32Array;
}

const CHUNK_POSTINGS = 4096;

/** Writes the live documents of the index at `dir` to the CIFF file `out` (atomically: temporary file, then rename). */
export async function exportCiff(dir: string, out: string, options: CiffExportOptions & { onProgress?: (p: CiffExportProgress) => void } = {}): Promise<CiffExportSummary> {
  const started = performance.now();
  const { onProgress, ...rest } = options;
  const o = CIFF_EXPORT_OPTIONS.resolve(rest);
  if (o.quantizeBits > 0 && rest.scale !== undefined) throw new SpladexError('E_OPTION', '--scale and --quantize-bits are alternatives: give one');
  dir = resolve(dir);
  out = resolve(out);
  const codec = await ciffCodec();
  const { segments, terms } = openSegments(dir);
  const temporary = `${out}.tmp-${process.pid}-${Date.now()}`;
  let runs: RunWriter | undefined;
  try {
    const live = segments.reduce((n, s) => n + s.nDocs - s.deleted.size, 0);
    if (live > 0x7fffffff || terms.length > 0x7fffffff) throw new SpladexError('E_INPUT_LIMIT', 'CIFF counts are 32-bit signed: at most 2^31 − 1 documents and terms');
    const scale = o.quantizeBits > 0 ? quantizationScale(segments, o.quantizeBits) : o.scale;
    const how = o.quantizeBits > 0 ? `${o.quantizeBits}-bit linear quantisation of the largest weight` : 'fixed impact scale';
    runs = new RunWriter(dirname(out), o.runPostings);
    const V = terms.length;
    const df = new Uint32Array(V);
    const cf = new Float64Array(V);
    const listBytes = new Float64Array(V);
    const lastDoc = new Uint32Array(V);
    const docsFile = join(runs.dir, 'docs');
    const docs = new ChunkedOutput(docsFile);
    let next = 0;
    let postings = 0;
    let dropped = 0;
    let totalTerms = 0;
    try {
      for (const segment of segments) {
        const { file, deleted, rank } = segment;
        const decode = valueDecoder(file, segment.valueType);
        const offsets = file.cursor('fwd.offsets');
        const termIds = file.cursor('fwd.terms');
        const values = file.cursor('fwd.values');
        const ids = new StringCursor(file, 'ids');
        let start = offsets.next();
        for (let d = 0; d < segment.nDocs; d++) {
          const end = offsets.next();
          const id = ids.next();
          const isLive = !deleted.has(d);
          let length = 0;
          for (let j = start; j < end; j++) {
            const term = termIds.next();
            const raw = values.next();
            if (!isLive) continue;
            const weight = decode === undefined ? raw : decode[raw];
            const tf = Math.round(weight * scale);
            if (tf <= 0) {
              dropped++;
              continue;
            }
            if (tf > 0x7fffffff) throw new SpladexError('E_OPTION', `weight ${weight} × scale ${scale} exceeds CIFF's 32-bit term frequency; choose a smaller --scale`);
            const r = rank[term];
            runs.push(r, next, tf);
            const gap = next - lastDoc[r];
            lastDoc[r] = next;
            listBytes[r] += 4 + varintBytes(gap) + varintBytes(tf);
            df[r]++;
            cf[r] += tf;
            length += tf;
            postings++;
          }
          start = end;
          if (!isLive) continue;
          docs.write(codec.docRecord.encodeDelimited({ docid: next, collection_docid: id, doclength: Math.min(length, 0x7fffffff) }).finish());
          totalTerms += length;
          next++;
          if (next % 10_000 === 0) {
            onProgress?.({ phase: 'invert', done: next, total: live });
            await new Promise((r) => setImmediate(r));
          }
        }
        offsets.finish();
        termIds.finish();
        values.finish();
        ids.finish();
      }
    } finally {
      docs.close();
    }
    onProgress?.({ phase: 'invert', done: next, total: live });
    let lists = 0;
    for (let t = 0; t < V; t++) if (df[t] > 0) lists++;
    const output = new ChunkedOutput(temporary);
    try {
      output.write(
        codec.header
          .encodeDelimited({
            version: 1,
            num_postings_lists: lists,
            num_docs: live,
            total_postings_lists: lists,
            total_docs: live,
            total_terms_in_collection: totalTerms,
            average_doclength: live > 0 ? totalTerms / live : 0,
            description: describeExport(`exported from ${dir}`, scale, how),
          })
          .finish(),
      );
      const readers = runs.readers();
      let written = 0;
      for (let t = 0; t < V; t++) {
        if (df[t] === 0) continue;
        const head = codec.postingsList.encode({ term: terms[t], df: df[t], cf: cf[t] }).finish();
        // protobufjs writes a length as uint32; a list that long would need ~700 million postings.
        if (head.length + listBytes[t] > 0xffffffff) throw new SpladexError('E_INPUT_LIMIT', `the postings list of ${JSON.stringify(terms[t])} exceeds 4 GiB, more than one CIFF message can hold`);
        output.write(codec.writer().uint32(head.length + listBytes[t]).finish());
        output.write(head);
        let bytes = 0;
        let previous = 0;
        let chunk = codec.writer();
        let inChunk = 0;
        for (const run of readers) {
          while (!run.done && run.key === t) {
            const gap = run.item - previous;
            previous = run.item;
            // A Posting as a length-delimited field 4: tag, length, docid, tf (both fields always present).
            const inner = 2 + varintBytes(gap) + varintBytes(run.value);
            chunk.uint32(POSTINGS_FIELD_TAG).uint32(inner).uint32(POSTING_DOCID_TAG).int32(gap).uint32(POSTING_TF_TAG).int32(run.value);
            bytes += 2 + inner;
            if (++inChunk === CHUNK_POSTINGS) {
              output.write(chunk.finish());
              chunk = codec.writer();
              inChunk = 0;
            }
            run.advance();
          }
        }
        if (inChunk > 0) output.write(chunk.finish());
        if (bytes !== listBytes[t]) throw new Error(`postings list of ${JSON.stringify(terms[t])}: ${bytes} bytes written, ${listBytes[t]} announced`);
        if (++written % 1000 === 0) {
          onProgress?.({ phase: 'write', done: written, total: lists });
          await new Promise((r) => setImmediate(r));
        }
      }
      onProgress?.({ phase: 'write', done: written, total: lists });
      await output.append(docsFile);
      output.sync();
    } finally {
      output.close();
    }
    renameSync(temporary, out);
    fsyncPath(dirname(out));
    return {
      path: out,
      documents: live,
      postingsLists: lists,
      postings,
      droppedPostings: dropped,
      scale,
      maxWeightError: 0.5 / scale,
      bytes: statSync(out).size,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    rmSync(temporary, { force: true });
    throw isIoFailure(error) ? ioFailure(error, temporary, 'writing the CIFF file', `nothing was written${existsSync(out) ? ` and ${out} is unchanged` : ''}`) : error;
  } finally {
    runs?.remove();
    for (const s of segments) s.file.close();
  }
}

/**
 * The committed state's segments, opened (their files stay readable while open, even if a
 * compaction removes them meanwhile), with one global vocabulary in UTF-8 byte order. Lost
 * commits are refused as readers refuse them.
 */
function openSegments(dir: string): { segments: OpenSegment[]; terms: string[] } {
  // The store is needed only to find the committed state: the export reads ids from the segments.
  const { store, segments: committed } = openCommittedSegments(dir);
  store.close();
  try {
    const global = new Map<string, number>();
    for (const s of committed) for (const term of s.vocabulary) if (!global.has(term)) global.set(term, global.size);
    const encoded = [...global.keys()].map((term) => ({ term, bytes: Buffer.from(term, 'utf8') }));
    encoded.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    const terms = encoded.map((e) => e.term);
    const rankOf = new Map<string, number>();
    terms.forEach((term, r) => rankOf.set(term, r));
    const segments = committed.map((s) => ({ ...s, rank: Uint32Array.from(s.vocabulary, (term) => rankOf.get(term)!) }));
    return { segments, terms };
  } catch (error) {
    closeCommitted(undefined, committed);
    throw error;
  }
}

/** (2^bits − 1) / the largest live weight: one extra pass over the forward values. */
function quantizationScale(segments: OpenSegment[], bits: number): number {
  let max = 0;
  for (const segment of segments) {
    const decode = valueDecoder(segment.file, segment.valueType);
    const offsets = segment.file.cursor('fwd.offsets');
    const values = segment.file.cursor('fwd.values');
    let start = offsets.next();
    for (let d = 0; d < segment.nDocs; d++) {
      const end = offsets.next();
      const isLive = !segment.deleted.has(d);
      for (let j = start; j < end; j++) {
        const raw = values.next();
        const weight = decode === undefined ? raw : decode[raw];
        if (isLive && weight > max) max = weight;
      }
      start = end;
    }
    offsets.finish();
    values.finish();
  }
  return max > 0 ? (2 ** bits - 1) / max : 1;
}

/** A file written through a 1 MiB buffer. */
class ChunkedOutput {
  private readonly fd: number;
  private readonly buffer = Buffer.alloc(1 << 20);
  private used = 0;

  constructor(private readonly path: string) {
    this.fd = guardIo(path, 'creating the CIFF file', () => openSync(path, 'w'));
  }

  write(bytes: Uint8Array): void {
    if (this.used + bytes.length > this.buffer.length) this.drain();
    if (bytes.length > this.buffer.length) {
      this.raw(bytes);
      return;
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  private raw(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; ) at += guardIo(this.path, 'writing the CIFF file', () => writeSync(this.fd, bytes, at, bytes.length - at));
  }

  private drain(): void {
    if (this.used === 0) return;
    this.raw(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  /** Appends another file's bytes (the document records, written beside the runs). */
  async append(path: string): Promise<void> {
    this.drain();
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) this.raw(chunk as Buffer);
  }

  sync(): void {
    this.drain();
    fsyncSync(this.fd);
  }

  close(): void {
    try {
      this.drain();
    } finally {
      closeSync(this.fd);
    }
  }
}
