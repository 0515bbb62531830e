/**
 * What the checkpoint readers (safetensors.ts, torch-bin.ts) hand to the graph builder: named
 * tensors read on demand and widened to fp32, so a 440 MB checkpoint is never held twice.
 */

import { open, type FileHandle } from 'node:fs/promises';
import { SpladexError } from '../../errors.js';
import { HALF_TO_FLOAT } from '../../util/f16.js';

/** Element types found in checkpoints, named as safetensors names them. */
export type CheckpointDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Readonly<Record<CheckpointDtype, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** A tensor as stored: its element type and shape (row-major, contiguous once read). */
export interface TensorInfo {
  dtype: CheckpointDtype;
  shape: readonly number[];
}

export interface Fp32Tensor {
  shape: readonly number[];
  data: Float32Array;
}

/** A checkpoint file opened for reading. */
export interface TensorSource {
  /** File name shown in errors. */
  readonly file: string;
  /** Stored tensors by name (in a plain state dict, tied weights appear under each name). */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Reads one tensor as fp32; E_MODEL for a non-float type or bytes past the end of the file. */
  read(name: string): Promise<Fp32Tensor>;
  close(): Promise<void>;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Widens little-endian `bytes` of `dtype` to fp32. F16 and BF16 widen exactly; F64 rounds to the
 * nearest float, as `tensor.float()` does.
 */
export function toFloat32(bytes: Uint8Array, dtype: CheckpointDtype, count: number, what: string, file: string): Float32Array {
  if (bytes.byteLength !== count * DTYPE_BYTES[dtype]) throw new Error(`${what}: ${bytes.byteLength} bytes for ${count} ${dtype} values`);
  // A fresh copy whose offset is 0, so typed views never hit an alignment error.
  const own = new Uint8Array(bytes);
  switch (dtype) {
    case 'F32':
      return new Float32Array(own.buffer, 0, count);
    case 'F64':
      return Float32Array.from(new Float64Array(own.buffer, 0, count));
    case 'F16': {
      const half = new Uint16Array(own.buffer, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = HALF_TO_FLOAT[half[i]];
      return out;
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32.
      const bf = new Uint16Array(own.buffer, 0, count);
      const out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = bf[i] << 16;
      return new Float32Array(out.buffer);
    }
    default:
      throw new SpladexError('E_MODEL', `${what} holds ${dtype} values; a weight must be F32, F16 or BF16`, { file });
  }
}

/** Opens a checkpoint file for reading; a file that cannot be opened is E_IO. */
export async function openCheckpointFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (cause) {
    throw new SpladexError('E_IO', `cannot open the checkpoint: ${(cause as Error).message}`, { file: path, cause });
  }
}
