/**
 * `pytorch_model.bin` written by `torch.save(state_dict)`: a zip holding `<root>/data.pkl` (the
 * pickled dictionary, read by the restricted unpickler of pickle.ts) and one `<root>/data/<key>`
 * entry of raw little-endian bytes per storage. Tensors are strided views of those storages (tied
 * weights share one), gathered here into contiguous fp32 arrays.
 */

import type { FileHandle } from 'node:fs/promises';
import { SpladexError } from '../../errors.js';
import { unpickleStateDict, type TensorRef } from './pickle.js';
import { DTYPE_BYTES, elementCount, toFloat32, type Fp32Tensor, type TensorInfo, type TensorSource, openCheckpointFile } from './tensors.js';
import { notAZip, readZipDirectory, readZipEntry, type ZipEntry } from './zip.js';

export async function openTorchBin(path: string): Promise<TensorSource> {
  const handle = await openCheckpointFile(path);
  try {
    const magic = Buffer.alloc(4);
    await handle.read(magic, 0, 4, 0);
    // The pre-1.6 format starts with a pickled magic number (0x80 = PROTO), not with "PK".
    if (magic[0] === 0x80) throw new SpladexError('E_MODEL', 'the file uses the legacy (pre-1.6) torch.save format; convert it to safetensors', { file: path });
    const entries = await readZipDirectory(handle, path);
    const pickleName = [...entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
    if (pickleName === undefined) throw notAZip(path, 'no data.pkl entry');
    const root = pickleName.slice(0, pickleName.length - 'data.pkl'.length);
    const byteorder = entries.get(`${root}byteorder`);
    if (byteorder !== undefined && (await readZipEntry(handle, path, byteorder)).toString('ascii').trim() !== 'little') {
      throw new SpladexError('E_MODEL', 'the checkpoint was saved on a big-endian machine; convert it to safetensors there', { file: path });
    }
    const tensors = unpickleStateDict(await readZipEntry(handle, path, entries.get(pickleName) as ZipEntry), path);
    return new TorchBinFile(handle, path, entries, root, tensors);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

class TorchBinFile implements TensorSource {
  readonly tensors: ReadonlyMap<string, TensorInfo>;

  constructor(
    private readonly handle: FileHandle,
    readonly file: string,
    private readonly entries: Map<string, ZipEntry>,
    private readonly root: string,
    private readonly refs: Map<string, TensorRef>,
  ) {
    this.tensors = new Map([...refs].map(([name, ref]) => [name, { dtype: ref.storage.dtype, shape: ref.shape }]));
  }

  async read(name: string): Promise<Fp32Tensor> {
    const ref = this.refs.get(name);
    if (ref === undefined) throw new Error(`no tensor ${name}`);
    const { storage } = ref;
    const entry = this.entries.get(`${this.root}data/${storage.key}`);
    if (entry === undefined) throw notAZip(this.file, `storage ${storage.key} of ${name} is missing`);
    const bytes = await readZipEntry(this.handle, this.file, entry);
    const width = DTYPE_BYTES[storage.dtype];
    if (bytes.length !== storage.numel * width) throw notAZip(this.file, `storage ${storage.key} has ${bytes.length} bytes for ${storage.numel} ${storage.dtype} values`);
    const count = elementCount(ref.shape);
    // The last element the view touches must lie inside the storage.
    let last = ref.offset;
    for (let d = 0; d < ref.shape.length; d++) last += Math.max(0, ref.shape[d] - 1) * ref.stride[d];
    if (count > 0 && last >= storage.numel) throw notAZip(this.file, `tensor ${name} reaches past the end of its storage`);
    if (isContiguous(ref)) {
      const slice = bytes.subarray(ref.offset * width, (ref.offset + count) * width);
      return { shape: ref.shape, data: toFloat32(slice, storage.dtype, count, `tensor ${name}`, this.file) };
    }
    const all = toFloat32(bytes, storage.dtype, storage.numel, `tensor ${name}`, this.file);
    return { shape: ref.shape, data: gatherStrided(all, ref) };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function isContiguous(ref: TensorRef): boolean {
  let expected = 1;
  for (let d = ref.shape.length - 1; d >= 0; d--) {
    if (ref.shape[d] !== 1 && ref.stride[d] !== expected) return false;
    expected *= ref.shape[d];
  }
  return true;
}

/** Copies a strided view (e.g. a transposed tensor saved as is) into row-major order. */
function gatherStrided(storage: Float32Array, ref: TensorRef): Float32Array {
  const out = new Float32Array(elementCount(ref.shape));
  const rank = ref.shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.length; i++) {
    let at = ref.offset;
    for (let d = 0; d < rank; d++) at += index[d] * ref.stride[d];
    out[i] = storage[at];
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < ref.shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}
