/**
 * Delete bitmaps: per segment, the local ids of documents that were deleted or replaced, as
 * roaring bitmaps (a few bytes for a handful of deletes, ~1 bit per document at worst).
 *
 * Stored in the `deletes` table of `spladex.db` in roaring's portable format with a CRC-32, and
 * decoded defensively: a damaged blob, a count that disagrees with the manifest or an id beyond
 * the segment is `E_CORRUPT`, and nothing is materialised before its size is known to be sane.
 */
import roaring from 'roaring';
import { SpladexError } from '../errors.js';

const { RoaringBitmap32 } = roaring;
export type Bitmap = InstanceType<typeof RoaringBitmap32>;

export function newBitmap(values?: Uint32Array | readonly number[]): Bitmap {
  return values === undefined ? new RoaringBitmap32() : new RoaringBitmap32(values);
}

export function serializeBitmap(bitmap: Bitmap): Buffer {
  bitmap.runOptimize();
  return bitmap.serialize('portable') as Buffer;
}

/**
 * Decodes a stored delete bitmap and checks it against what the manifest says: exactly
 * `expectedCount` ids, all below `nDocs`.
 */
export function deserializeBitmap(blob: Uint8Array, expectedCount: number, nDocs: number, file: string, segment: number): Bitmap {
  const bad = (what: string): SpladexError => new SpladexError('E_CORRUPT', `delete bitmap of segment ${segment} is damaged (${what}); restore the index from a backup or rebuild it`, { file });
  let bitmap: Bitmap;
  try {
    bitmap = RoaringBitmap32.deserialize(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength), 'portable');
  } catch (cause) {
    throw bad((cause as Error).message);
  }
  // Roaring ignores trailing bytes; a stored bitmap has none.
  if (bitmap.getSerializationSizeInBytes('portable') !== blob.byteLength) throw bad('unexpected trailing bytes');
  if (bitmap.size !== expectedCount) throw bad(`${bitmap.size} ids, the manifest says ${expectedCount}`);
  if (!bitmap.isEmpty && bitmap.maximum() >= nDocs) throw bad(`id ${bitmap.maximum()} is beyond the segment's ${nDocs} documents`);
  return bitmap;
}

/** A mask for the searchers: `mask[d] === 1` for every id in `bitmap` (ids must be < `nDocs`). */
export function bitmapMask(bitmap: Bitmap, nDocs: number): Uint8Array {
  const mask = new Uint8Array(nDocs);
  for (const d of bitmap.toUint32Array()) mask[d] = 1;
  return mask;
}
