/**
 * Just enough of the zip format to read what `torch.save` writes (PyTorch's zip container since
 * 1.6): the central directory (ZIP64 included, for checkpoints over 4 GB) and stored or deflated
 * entries, read one at a time from the open file so a storage is never held twice.
 */

import type { FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { SpladexError } from '../../errors.js';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_EOCD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export function notAZip(path: string, what: string): SpladexError {
  return new SpladexError('E_MODEL', `not a readable PyTorch zip checkpoint (${what}); it may be truncated, or saved in the legacy pre-1.6 format: convert it to safetensors`, {
    file: path,
  });
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
}

/** Lists the entries of the zip file open as `handle`. */
export async function readZipDirectory(handle: FileHandle, path: string): Promise<Map<string, ZipEntry>> {
  const size = (await handle.stat()).size;
  // The end record is 22 bytes plus a comment of at most 65,535 bytes.
  const tailLength = Math.min(size, 22 + 65_535);
  const tail = await readAt(handle, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notAZip(path, 'no end-of-directory record');
  let count = tail.readUInt16LE(eocd + 10);
  let directorySize = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locatorAt = eocd - 20;
    if (locatorAt < 0 || tail.readUInt32LE(locatorAt) !== ZIP64_LOCATOR) throw notAZip(path, 'ZIP64 locator missing');
    const record = await readAt(handle, Number(tail.readBigUInt64LE(locatorAt + 8)), 56);
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) throw notAZip(path, 'ZIP64 end record missing');
    count = Number(record.readBigUInt64LE(32));
    directorySize = Number(record.readBigUInt64LE(40));
    directoryOffset = Number(record.readBigUInt64LE(48));
  }
  if (directoryOffset + directorySize > size) throw notAZip(path, 'the central directory lies past the end of the file');
  const directory = await readAt(handle, directoryOffset, directorySize);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > directory.length || directory.readUInt32LE(p) !== CENTRAL) throw notAZip(path, `damaged central directory entry ${i}`);
    const method = directory.readUInt16LE(p + 10);
    let compressedSize = directory.readUInt32LE(p + 20);
    let uncompressedSize = directory.readUInt32LE(p + 24);
    const nameLength = directory.readUInt16LE(p + 28);
    const extraLength = directory.readUInt16LE(p + 30);
    const commentLength = directory.readUInt16LE(p + 32);
    let localHeaderOffset = directory.readUInt32LE(p + 42);
    const name = directory.toString('utf8', p + 46, p + 46 + nameLength);
    // ZIP64 extended information: the fields saturated above follow in this order.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = directory.readUInt16LE(e);
      const length = directory.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompressedSize === 0xffffffff) (uncompressedSize = Number(directory.readBigUInt64LE(q))), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = Number(directory.readBigUInt64LE(q))), (q += 8);
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(directory.readBigUInt64LE(q));
      }
      e += 4 + length;
    }
    entries.set(name, { name, method, compressedSize, size: uncompressedSize, localHeaderOffset });
    p = extraEnd + commentLength;
  }
  return entries;
}

/** The bytes of one entry. */
export async function readZipEntry(handle: FileHandle, path: string, entry: ZipEntry): Promise<Buffer> {
  const local = await readAt(handle, entry.localHeaderOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== LOCAL) throw notAZip(path, `damaged local header of ${entry.name}`);
  // The local extra field differs from the central one (PyTorch pads it to align the data).
  const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const data = await readAt(handle, dataStart, entry.compressedSize);
  if (data.length !== entry.compressedSize) throw notAZip(path, `${entry.name} is cut short`);
  if (entry.method === 0) return data;
  if (entry.method === 8) {
    try {
      return inflateRawSync(data);
    } catch (cause) {
      throw notAZip(path, `${entry.name} does not inflate: ${(cause as Error).message}`);
    }
  }
  throw notAZip(path, `${entry.name} uses compression method ${entry.method}`);
}
