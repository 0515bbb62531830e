/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {…}}`, then the tensor bytes,
 * offsets relative to the end of the header. The reader checks the whole layout against the file
 * size before any tensor is read, so a truncated download is reported as such and never converted.
 */

import type { FileHandle } from 'node:fs/promises';
import { SpladexError } from '../../errors.js';
import { toHalfBits } from '../../util/f16.js';
import { DTYPE_BYTES, elementCount, toFloat32, type CheckpointDtype, type Fp32Tensor, type TensorInfo, type TensorSource, openCheckpointFile } from './tensors.js';

/** The reference implementation refuses larger headers; so do we (a damaged length would read gigabytes). */
const MAX_HEADER_BYTES = 100_000_000;

interface Entry extends TensorInfo {
  begin: number;
  end: number;
}

/** Opens a `.safetensors` file and validates its header against the file's size. */
export async function openSafetensors(path: string): Promise<TensorSource> {
  const handle = await openCheckpointFile(path);
  try {
    const entries = await readHeader(handle, path);
    return new SafetensorsFile(handle, path, entries.entries, entries.dataStart);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

function damaged(path: string, what: string): SpladexError {
  return new SpladexError('E_MODEL', `not a valid safetensors file (${what}); it may be truncated or damaged: download it again`, { file: path });
}

async function readHeader(handle: FileHandle, path: string): Promise<{ entries: Map<string, Entry>; dataStart: number }> {
  const size = (await handle.stat()).size;
  if (size < 8) throw damaged(path, `${size} bytes, shorter than the 8-byte header length`);
  const lengthBytes = Buffer.alloc(8);
  await handle.read(lengthBytes, 0, 8, 0);
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) throw damaged(path, `header length ${headerLength} for a file of ${size} bytes`);
  const headerBytes = Buffer.alloc(headerLength);
  await handle.read(headerBytes, 0, headerLength, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch (cause) {
    throw damaged(path, `header is not JSON: ${(cause as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw damaged(path, 'header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataBytes = size - dataStart;
  const entries = new Map<string, Entry>();
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof v !== 'object' || v === null || typeof v.dtype !== 'string' || !(v.dtype in DTYPE_BYTES)) {
      throw damaged(path, `tensor ${name} has an unknown dtype ${JSON.stringify(v?.dtype)}`);
    }
    const shape = v.shape;
    const offsets = v.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw damaged(path, `tensor ${name} has no valid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) throw damaged(path, `tensor ${name} has no valid data_offsets`);
    const dtype = v.dtype as CheckpointDtype;
    const [begin, end] = offsets as [number, number];
    if (end - begin !== elementCount(shape as number[]) * DTYPE_BYTES[dtype]) throw damaged(path, `tensor ${name}: ${end - begin} bytes for shape [${shape.join(', ')}] of ${dtype}`);
    if (end > dataBytes) throw damaged(path, `tensor ${name} ends at byte ${dataStart + end}, past the end of the file (${size} bytes)`);
    entries.set(name, { dtype, shape: shape as number[], begin, end });
  }
  return { entries, dataStart };
}

class SafetensorsFile implements TensorSource {
  readonly tensors: ReadonlyMap<string, TensorInfo>;

  constructor(
    private readonly handle: FileHandle,
    readonly file: string,
    private readonly entries: Map<string, Entry>,
    private readonly dataStart: number,
  ) {
    this.tensors = entries;
  }

  async read(name: string): Promise<Fp32Tensor> {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new Error(`no tensor ${name}`);
    const bytes = Buffer.alloc(entry.end - entry.begin);
    const { bytesRead } = await this.handle.read(bytes, 0, bytes.length, this.dataStart + entry.begin);
    if (bytesRead !== bytes.length) throw damaged(this.file, `tensor ${name} was cut short while reading`);
    return { shape: entry.shape, data: toFloat32(bytes, entry.dtype, elementCount(entry.shape), `tensor ${name}`, this.file) };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** A tensor to write: fp32 values stored as F32, F16 or BF16 (rounded to nearest even). */
export interface SafetensorsTensor {
  name: string;
  shape: readonly number[];
  data: Float32Array;
  dtype?: 'F32' | 'F16' | 'BF16';
}

/**
 * The bytes of a safetensors file (tensors in the given order, 8-byte aligned header as the
 * reference writer pads it). Used by the random-checkpoint generator and the tests.
 */
export function encodeSafetensors(tensors: readonly SafetensorsTensor[], metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const payloads: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    const dtype = t.dtype ?? 'F32';
    const payload = encodeValues(t.data, dtype);
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + payload.byteLength] };
    payloads.push(payload);
    offset += payload.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let p = 8 + headerBytes.length;
  for (const payload of payloads) {
    out.set(payload, p);
    p += payload.byteLength;
  }
  return out;
}

function encodeValues(data: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint16Array(data.length);
  if (dtype === 'F16') {
    for (let i = 0; i < data.length; i++) out[i] = toHalfBits(data[i]);
  } else {
    const bits = new Uint32Array(Float32Array.from(data).buffer);
    // Round to nearest even on the dropped 16 bits.
    for (let i = 0; i < bits.length; i++) out[i] = (bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) >>> 16;
  }
  return new Uint8Array(out.buffer);
}
