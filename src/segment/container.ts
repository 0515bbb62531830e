/**
 * The binary container every index part is stored in: a fixed header, a section table and
 * 8-byte-aligned payloads that load directly as typed-array views (no parsing, no copies).
 *
 * Layout (little-endian):
 *   0   8  magic            "SPLDXIDX"
 *   8   4  format version   CONTAINER_VERSION
 *   12  4  section count    n
 *   16  8  file length      bytes, including padding
 *   24  4  header CRC-32    over bytes [0, 64 + 48n) with this field read as zero
 *   28 36  reserved (zero)
 *   64 48n section table, one entry per section:
 *        0 16 name (ASCII, NUL-padded)   16 4 element type   20 4 payload CRC-32
 *        24 8 payload offset             32 8 payload length (bytes)   40 8 reserved
 *   then the payloads, each starting on an 8-byte boundary; padding bytes are zero.
 *
 * Every byte of the file is covered: the header and table by the header CRC, each payload by
 * its own CRC, padding by a must-be-zero check. A damaged file is rejected with `E_CORRUPT`
 * naming the file and the part, never read as wrong numbers.
 */
import { basename } from 'node:path';
import { guardIo, ioFailure } from '../util/io-failure.js';
import { closeSync, fsyncSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { SpladexError } from '../errors.js';

const CONTAINER_MAGIC = 'SPLDXIDX';
const CONTAINER_VERSION = 1;
const HEADER_BYTES = 64;
const ENTRY_BYTES = 48;
const NAME_BYTES = 16;

export type SectionArray = Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array;

const ELEMENT_TYPES = [Uint8Array, Uint16Array, Uint32Array, Float32Array, Float64Array] as const;
const typeCode = (array: SectionArray): number => ELEMENT_TYPES.findIndex((ctor) => array instanceof ctor) + 1;

export interface SectionInfo {
  name: string;
  bytes: number;
  offset: number;
  crc: number;
}

const align8 = (n: number): number => (n + 7) & ~7;

/** Writes sections to `path` (which should be a temporary name: the caller renames it into place). */
export function writeContainer(path: string, sections: Record<string, SectionArray>): SectionInfo[] {
  const names = Object.keys(sections);
  const header = Buffer.alloc(HEADER_BYTES + ENTRY_BYTES * names.length);
  header.write(CONTAINER_MAGIC, 0, 'ascii');
  header.writeUInt32LE(CONTAINER_VERSION, 8);
  header.writeUInt32LE(names.length, 12);
  let offset = align8(header.length);
  const infos: SectionInfo[] = [];
  names.forEach((name, i) => {
    if (name.length > NAME_BYTES) throw new Error(`section name too long: ${name}`);
    const array = sections[name];
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    const crc = crc32(bytes);
    const at = HEADER_BYTES + ENTRY_BYTES * i;
    header.write(name, at, 'ascii');
    header.writeUInt32LE(typeCode(array), at + 16);
    header.writeUInt32LE(crc, at + 20);
    header.writeBigUInt64LE(BigInt(offset), at + 24);
    header.writeBigUInt64LE(BigInt(bytes.length), at + 32);
    infos.push({ name, bytes: bytes.length, offset, crc });
    offset = align8(offset + bytes.length);
  });
  header.writeBigUInt64LE(BigInt(offset), 16);
  header.writeUInt32LE(crc32(header), 24);

  // A full disk or a read-only mount is E_IO naming the file and its size; the caller removes the partial file.
  const fd = guardIo(path, `creating ${basename(path)}`, () => openSync(path, 'w'));
  try {
    const zeros = Buffer.alloc(8);
    let position = 0;
    const write = (data: Uint8Array): void => {
      // Large payloads go in slices: one write() call is limited to 2 GiB.
      for (let at = 0; at < data.length; at += 1 << 30) {
        const slice = data.subarray(at, Math.min(data.length, at + (1 << 30)));
        guardIo(path, `writing ${basename(path)} (${offset.toLocaleString('en-US')} bytes)`, () => writeSync(fd, slice, 0, slice.length, position));
        position += slice.length;
      }
    };
    write(header);
    write(zeros.subarray(0, align8(position) - position));
    for (const name of names) {
      const array = sections[name];
      write(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
      write(zeros.subarray(0, align8(position) - position));
    }
    guardIo(path, `writing ${basename(path)} (${offset.toLocaleString('en-US')} bytes)`, () => fsyncSync(fd));
  } finally {
    closeSync(fd);
  }
  return infos;
}

export interface Container {
  path: string;
  sections: Map<string, SectionArray>;
  infos: SectionInfo[];
}

function corrupt(path: string, message: string, offset?: number): SpladexError {
  return new SpladexError('E_CORRUPT', `${message}; the file is damaged: rebuild the index or restore it from a backup`, { file: path, ...(offset === undefined ? {} : { offset }) });
}

/**
 * Where a container's bytes are read to: given the file size and its section table (parsed from a
 * header whose checksum held; payloads not verified yet), returns `size` bytes starting on an
 * 8-byte boundary, or undefined for a fresh ArrayBuffer. Lets a segment land directly in
 * WebAssembly memory (src/query/wasm-kernel.ts) without a second copy.
 */
export type ContainerAllocator = (size: number, table: ReadonlyArray<{ name: string; bytes: number }>) => Uint8Array | undefined;

/** Name of the section table entry at byte `at` (ASCII, NUL-padded). */
const sectionName = (header: Buffer, at: number): string => header.toString('ascii', at, at + NAME_BYTES).replace(/\0+$/, '');

function readFully(fd: number, bytes: Uint8Array, path: string): void {
  for (let at = 0; at < bytes.length; ) {
    const n = guardIo(path, 'reading an index file', () => readSync(fd, bytes, at, Math.min(bytes.length - at, 1 << 30), at));
    if (n === 0) throw corrupt(path, 'file ended early');
    at += n;
  }
}

/**
 * Reads and verifies a container. All checksums are checked before any view is handed out, so a
 * damaged file can never produce results.
 */
export function readContainer(path: string, allocate?: ContainerAllocator): Container {
  let size: number;
  let fd: number;
  try {
    size = statSync(path).size;
    fd = openSync(path, 'r');
  } catch (cause) {
    // A file the manifest names is missing: damage. Unreadable (permissions, device error): E_IO.
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw new SpladexError('E_CORRUPT', `missing index file (${(cause as Error).message}); rebuild the index`, { file: path, cause });
    throw ioFailure(cause, path, 'reading an index file');
  }
  if (size < HEADER_BYTES) {
    closeSync(fd);
    throw corrupt(path, 'file is too short to be a spladex index part');
  }
  let bytes: Uint8Array;
  let headerCopy: Buffer;
  let count: number;
  try {
    // The header and section table first: they say how large the file is and what it holds.
    const fixed = Buffer.alloc(HEADER_BYTES);
    readFully(fd, fixed, path);
    if (fixed.toString('ascii', 0, 8) !== CONTAINER_MAGIC) {
      throw new SpladexError('E_NOT_AN_INDEX', 'not a spladex index file (bad magic number)', { file: path });
    }
    count = fixed.readUInt32LE(12);
    if (count > 4096 || HEADER_BYTES + ENTRY_BYTES * count > size) throw corrupt(path, 'section table is out of range', 12);
    headerCopy = Buffer.alloc(HEADER_BYTES + ENTRY_BYTES * count);
    readFully(fd, headerCopy, path);
    const storedCrc = headerCopy.readUInt32LE(24);
    headerCopy.writeUInt32LE(0, 24);
    if (crc32(headerCopy) !== storedCrc) throw corrupt(path, 'header checksum mismatch', 0);
    headerCopy.writeUInt32LE(storedCrc, 24);
    const table = Array.from({ length: count }, (_, i) => {
      const at = HEADER_BYTES + ENTRY_BYTES * i;
      return { name: sectionName(headerCopy, at), bytes: Number(headerCopy.readBigUInt64LE(at + 32)) };
    });
    const given = allocate?.(size, table);
    if (given !== undefined && (given.length !== size || given.byteOffset % 8 !== 0)) throw new Error('container allocator returned a misaligned or wrongly sized buffer');
    bytes = given ?? new Uint8Array(size);
    readFully(fd, bytes, path);
  } finally {
    closeSync(fd);
  }
  // The file may have changed between the two reads: the header must be the one checked above.
  if (!Buffer.from(bytes.buffer, bytes.byteOffset, headerCopy.length).equals(headerCopy)) throw corrupt(path, 'file changed while it was read', 0);
  return parseContainer(bytes, path, true);
}

/**
 * The sections of container bytes already in memory, as views of `bytes` (no copy). `checksums`
 * false skips the payload CRCs and the padding check — only for bytes that passed them once and
 * cannot have changed since (a segment read into shared memory, viewed again by a worker thread
 * of the search pool); the structure is always checked.
 */
export function parseContainer(bytes: Uint8Array, path: string, checksums: boolean): Container {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.byteLength;
  if (size < HEADER_BYTES || view.toString('ascii', 0, 8) !== CONTAINER_MAGIC) throw new SpladexError('E_NOT_AN_INDEX', 'not a spladex index file (bad magic number)', { file: path });
  const count = view.readUInt32LE(12);
  const tableEnd = HEADER_BYTES + ENTRY_BYTES * count;
  if (count > 4096 || tableEnd > size) throw corrupt(path, 'section table is out of range', 12);
  const version = view.readUInt32LE(8);
  if (version !== CONTAINER_VERSION) {
    throw new SpladexError('E_FORMAT_VERSION', `index part has format version ${version}, this spladex reads version ${CONTAINER_VERSION}; rebuild the index with this version or use a matching spladex`, { file: path });
  }
  if (Number(view.readBigUInt64LE(16)) !== size) throw corrupt(path, `file length is ${size}, header says ${view.readBigUInt64LE(16)}`, 16);

  const sections = new Map<string, SectionArray>();
  const infos: SectionInfo[] = [];
  let expected = align8(tableEnd);
  let paddingStart = tableEnd;
  const checkPadding = (from: number, to: number): void => {
    if (checksums) for (let i = from; i < to; i++) if (bytes[i] !== 0) throw corrupt(path, 'non-zero padding byte', i);
  };
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + ENTRY_BYTES * i;
    const name = sectionName(view, at);
    const type = view.readUInt32LE(at + 16);
    const crc = view.readUInt32LE(at + 20);
    const offset = Number(view.readBigUInt64LE(at + 24));
    const length = Number(view.readBigUInt64LE(at + 32));
    const ctor = ELEMENT_TYPES[type - 1];
    if (ctor === undefined || offset !== expected || offset + length > size || length % ctor.BYTES_PER_ELEMENT !== 0) {
      throw corrupt(path, `section table entry ${i} (${name}) is inconsistent`, at);
    }
    checkPadding(paddingStart, offset);
    const payload = bytes.subarray(offset, offset + length);
    if (checksums && crc32(payload) !== crc) throw corrupt(path, `checksum mismatch in part "${name}"`, offset);
    sections.set(name, new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset + offset, length / ctor.BYTES_PER_ELEMENT));
    infos.push({ name, bytes: length, offset, crc });
    paddingStart = offset + length;
    expected = align8(paddingStart);
  }
  checkPadding(paddingStart, size);
  if (expected !== size) throw corrupt(path, 'trailing bytes after the last part');
  return { path, sections, infos };
}

/** Encodes strings as (UTF-16 offsets, UTF-8 text): one decode on load, then cheap slices. */
export function encodeStrings(strings: readonly string[]): { offsets: Uint32Array; text: Uint8Array } {
  const offsets = new Uint32Array(strings.length + 1);
  for (let i = 0; i < strings.length; i++) offsets[i + 1] = offsets[i] + strings[i].length;
  return { offsets, text: new Uint8Array(Buffer.from(strings.join(''), 'utf8')) };
}

export function decodeStrings(offsets: Uint32Array, text: Uint8Array, path: string): string[] {
  let joined: string;
  try {
    // TextDecoder may refuse views of a SharedArrayBuffer (segments the search pool shares): those decode from a private copy.
    joined = new TextDecoder('utf-8', { fatal: true }).decode(text.buffer instanceof SharedArrayBuffer ? text.slice() : text);
  } catch {
    throw corrupt(path, 'string table is not valid UTF-8');
  }
  if (offsets[offsets.length - 1] !== joined.length) throw corrupt(path, 'string table offsets do not match its text');
  const out = new Array<string>(offsets.length - 1);
  for (let i = 0; i < out.length; i++) {
    if (offsets[i + 1] < offsets[i]) throw corrupt(path, 'string table offsets are not ascending');
    out[i] = joined.slice(offsets[i], offsets[i + 1]);
  }
  return out;
}

export function encodeJson(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(value), 'utf8'));
}

export function decodeJson<T>(bytes: Uint8Array, path: string): T {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as T;
  } catch {
    throw corrupt(path, 'metadata part is not valid JSON');
  }
}
