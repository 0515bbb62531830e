/**
 * Streaming reads of an index for its exporters (CIFF, OpenSearch): the committed state's
 * segments opened without loading them (`openCommittedSegments`), and sequential reads of one
 * segment file's forward vectors, section by section through small windows, so an export holds a
 * window per section instead of the segment (a reader loads the whole file). The header and section table are checked like `readContainer` does, every payload
 * read is checksummed on the way and compared at its end, and the table's digest must be the one
 * the manifest names. Layout: src/segment/container.ts.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { SpladexError } from '../errors.js';
import { segmentDigest, type Manifest, type SegmentEntry } from '../store/manifest.js';
import { classifyFiles, listIndexDirectory, lostCommitError, readCommitRecord } from '../store/commit-record.js';
import type { Bitmap } from '../store/deletes.js';
import { readCommittedState, segmentSource } from '../store/state.js';
import { DocumentStore } from '../store/store.js';
import { checkIndexDirectory } from './reader.js';
import { guardIo } from '../util/io-failure.js';
import { HALF_TO_FLOAT } from '../util/f16.js';
import { decodeStrings, type SectionInfo } from '../segment/container.js';

const HEADER_BYTES = 64;
const ENTRY_BYTES = 48;
/** Element bytes by the container's element type code (1 u8, 2 u16, 3 u32, 4 f32, 5 f64). */
const ELEMENT_BYTES = [0, 1, 2, 4, 4, 8];
const WINDOW_ELEMENTS = 1 << 16;

interface Section extends SectionInfo {
  type: number;
}

const damaged = (path: string, message: string): SpladexError => new SpladexError('E_CORRUPT', `${message}; the file is damaged: rebuild the index or restore it from a backup`, { file: path });

class SegmentFile {
  private readonly sections = new Map<string, Section>();

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /** Opens and checks the header, the section table and its digest against the manifest entry. */
  static open(path: string, entry: SegmentEntry): SegmentFile {
    const fd = guardIo(path, 'opening a segment file', () => openSync(path, 'r'));
    const file = new SegmentFile(path, fd);
    try {
      file.readTable(fstatSync(fd).size);
      if (entry.digest !== undefined && segmentDigest([...file.sections.values()]) !== entry.digest) throw damaged(path, 'segment file is not the one the manifest names (digest mismatch)');
    } catch (error) {
      file.close();
      throw error;
    }
    return file;
  }

  private readTable(size: number): void {
    const fixed = Buffer.alloc(HEADER_BYTES);
    if (size < HEADER_BYTES || readSync(this.fd, fixed, 0, HEADER_BYTES, 0) !== HEADER_BYTES) throw damaged(this.path, 'file is too short to be a segment');
    if (fixed.toString('ascii', 0, 8) !== 'SPLDXIDX') throw new SpladexError('E_NOT_AN_INDEX', 'not a spladex index file (bad magic number)', { file: this.path });
    const count = fixed.readUInt32LE(12);
    if (count > 4096 || HEADER_BYTES + ENTRY_BYTES * count > size) throw damaged(this.path, 'section table is out of range');
    const header = Buffer.alloc(HEADER_BYTES + ENTRY_BYTES * count);
    readSync(this.fd, header, 0, header.length, 0);
    const stored = header.readUInt32LE(24);
    header.writeUInt32LE(0, 24);
    if (crc32(header) !== stored) throw damaged(this.path, 'header checksum mismatch');
    for (let i = 0; i < count; i++) {
      const at = HEADER_BYTES + ENTRY_BYTES * i;
      const name = header.toString('ascii', at, at + 16).replace(/\0+$/, '');
      const section = { name, type: header.readUInt32LE(at + 16), crc: header.readUInt32LE(at + 20), offset: Number(header.readBigUInt64LE(at + 24)), bytes: Number(header.readBigUInt64LE(at + 32)) };
      if (section.offset + section.bytes > size || !(section.type >= 1 && section.type <= 5)) throw damaged(this.path, `section "${name}" is out of range`);
      this.sections.set(name, section);
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private section(name: string): Section {
    const section = this.sections.get(name);
    if (section === undefined) throw damaged(this.path, `missing part "${name}"`);
    return section;
  }

  /** Element size of a section: the forward index's term ids are u16 or u32. */
  elementBytes(name: string): number {
    return ELEMENT_BYTES[this.section(name).type];
  }

  /** A whole (small) section, checksummed: the vocabulary, a u8 codebook. */
  readWhole(name: string): Uint8Array {
    const section = this.section(name);
    const bytes = new Uint8Array(section.bytes);
    for (let at = 0; at < bytes.length; ) {
      const n = guardIo(this.path, 'reading a segment file', () => readSync(this.fd, bytes, at, bytes.length - at, section.offset + at));
      if (n === 0) throw damaged(this.path, 'file ended early');
      at += n;
    }
    if (crc32(bytes) !== section.crc) throw damaged(this.path, `checksum mismatch in part "${name}"`);
    return bytes;
  }

  /** A cursor over a section's elements, read in windows and checksummed as it goes. */
  cursor(name: string): SectionCursor {
    const section = this.section(name);
    return new SectionCursor(this.fd, this.path, section, ELEMENT_BYTES[section.type]);
  }
}

class SectionCursor {
  private readonly window: ArrayBuffer;
  private readonly bytes: Uint8Array;
  private readonly array: Uint8Array | Uint16Array | Uint32Array | Float32Array;
  private index = 0;
  private length = 0;
  private read = 0;
  private crc = 0;

  constructor(
    private readonly fd: number,
    private readonly path: string,
    private readonly section: Section,
    elementBytes: number,
  ) {
    this.window = new ArrayBuffer(WINDOW_ELEMENTS * elementBytes);
    this.bytes = new Uint8Array(this.window);
    const type = section.type;
    this.array = type === 1 ? this.bytes : type === 2 ? new Uint16Array(this.window) : type === 3 ? new Uint32Array(this.window) : new Float32Array(this.window);
  }

  get elements(): number {
    return this.section.bytes / this.array.BYTES_PER_ELEMENT;
  }

  /** The next element; `E_CORRUPT` past the end of the section. */
  next(): number {
    if (this.index === this.length) this.refill();
    return this.array[this.index++];
  }

  /** The unread rest of the current window (refilled first when empty) as bytes; undefined at the end of the section. */
  nextChunk(): Uint8Array | undefined {
    if (this.index === this.length) {
      if (this.read >= this.section.bytes) return undefined;
      this.refill();
    }
    const size = this.array.BYTES_PER_ELEMENT;
    const chunk = this.bytes.subarray(this.index * size, this.length * size);
    this.index = this.length;
    return chunk;
  }

  private refill(): void {
    const left = this.section.bytes - this.read;
    if (left <= 0) throw damaged(this.path, `part "${this.section.name}" is shorter than its index says`);
    const n = Math.min(left, this.bytes.length);
    for (let at = 0; at < n; ) {
      const got = guardIo(this.path, 'reading a segment file', () => readSync(this.fd, this.bytes, at, n - at, this.section.offset + this.read + at));
      if (got === 0) throw damaged(this.path, 'file ended early');
      at += got;
    }
    this.crc = crc32(this.bytes.subarray(0, n), this.crc);
    this.read += n;
    this.index = 0;
    this.length = n / this.array.BYTES_PER_ELEMENT;
  }

  /** Reads what is left (unchecked so far) and compares the section's checksum. */
  finish(): void {
    while (this.read < this.section.bytes) this.refill();
    if (this.crc !== this.section.crc) throw damaged(this.path, `checksum mismatch in part "${this.section.name}"`);
  }
}

/** The strings of a `*.off` + `*.txt` section pair, read whole (the vocabulary). */
function readStrings(file: SegmentFile, prefix: string): string[] {
  const offsetBytes = file.readWhole(`${prefix}.off`);
  return decodeStrings(new Uint32Array(offsetBytes.buffer, offsetBytes.byteOffset, offsetBytes.byteLength / 4), file.readWhole(`${prefix}.txt`), file.path);
}

/**
 * Streams a `*.off` + `*.txt` string section pair one string at a time (the external ids). The
 * offsets count UTF-16 code units of the joined text (container.ts `encodeStrings`), so the text
 * is decoded as a stream and cut by those lengths.
 */
export class StringCursor {
  private readonly offsets: SectionCursor;
  private readonly text: SectionCursor;
  private previous: number;
  private pending = '';
  private at = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly file: SegmentFile, prefix: string) {
    this.offsets = file.cursor(`${prefix}.off`);
    this.text = file.cursor(`${prefix}.txt`);
    this.previous = this.offsets.next();
  }

  next(): string {
    const end = this.offsets.next();
    const length = end - this.previous;
    this.previous = end;
    while (this.pending.length - this.at < length) {
      const chunk = this.text.nextChunk();
      if (chunk === undefined) throw damaged(this.file.path, 'string table offsets do not match its text');
      let decoded: string;
      try {
        decoded = this.decoder.decode(chunk, { stream: true });
      } catch {
        throw damaged(this.file.path, 'string table is not valid UTF-8');
      }
      this.pending = this.pending.slice(this.at) + decoded;
      this.at = 0;
    }
    const value = this.pending.slice(this.at, this.at + length);
    this.at += length;
    return value;
  }

  finish(): void {
    this.offsets.finish();
    this.text.finish();
    if (this.pending.length - this.at !== 0 || this.decoder.decode().length !== 0) throw damaged(this.file.path, 'string table offsets do not match its text');
  }
}

/** The decode table of a segment's forward values: f16 bits, a u8 codebook, or none (f32). */
export function valueDecoder(file: SegmentFile, valueType: string): Float32Array | undefined {
  if (valueType === 'f16') return HALF_TO_FLOAT;
  if (valueType === 'u8') {
    const bytes = file.readWhole('fwd.codebook');
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  return undefined;
}

/** The segment's meta part (JSON), read whole. */
function readSegmentMeta(file: SegmentFile): { nDocs: number; nTerms: number; valueType: string } {
  const text = new TextDecoder().decode(file.readWhole('meta'));
  try {
    return JSON.parse(text) as { nDocs: number; nTerms: number; valueType: string };
  } catch {
    throw damaged(file.path, 'invalid segment metadata');
  }
}

/** One segment of the committed state, opened for sequential reads. */
export interface CommittedSegment {
  entry: SegmentEntry;
  file: SegmentFile;
  deleted: Bitmap;
  nDocs: number;
  valueType: string;
  /** Segment term id → token. */
  vocabulary: string[];
}

/**
 * The committed state of the index at `dir` with its segments opened (their files stay readable
 * while open, even if a compaction removes them meanwhile), the document store in a read
 * snapshot of that state. Lost commits are refused as readers refuse them. On an error everything
 * opened is closed; otherwise the caller closes the files and the store (`closeCommitted`).
 */
export function openCommittedSegments(dir: string): { store: DocumentStore; manifest: Manifest; manifestCrc: number; segments: CommittedSegment[] } {
  const store = DocumentStore.open(checkIndexDirectory(dir), true);
  const segments: CommittedSegment[] = [];
  try {
    const names = listIndexDirectory(dir);
    const record = readCommitRecord(dir);
    store.beginSnapshot();
    const state = readCommittedState(store);
    const lost = lostCommitError(dir, state.manifest, state.manifestCrc, record, classifyFiles(names, state.manifest));
    if (lost !== undefined) throw lost;
    for (const entry of state.manifest.segments) {
      const file = SegmentFile.open(segmentSource(dir, entry.file), entry);
      const meta = readSegmentMeta(file);
      segments.push({ entry, file, deleted: state.deletes.get(entry.number)!, nDocs: meta.nDocs, valueType: meta.valueType, vocabulary: readStrings(file, 'vocab') });
      if (meta.nDocs !== entry.documents) throw new SpladexError('E_CORRUPT', `segment holds ${meta.nDocs} documents, the manifest says ${entry.documents}; restore or rebuild the index`, { file: file.path });
    }
    return { store, manifest: state.manifest, manifestCrc: state.manifestCrc, segments };
  } catch (error) {
    closeCommitted(store, segments);
    throw error;
  }
}

/** Closes what `openCommittedSegments` opened. */
export function closeCommitted(store: DocumentStore | undefined, segments: readonly CommittedSegment[]): void {
  for (const s of segments) s.file.close();
  store?.close();
}
