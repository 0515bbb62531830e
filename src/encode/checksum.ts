/** SHA-256 of files, used to tie an index to the exact model and tokenizer files it was built with. */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { SpladexError } from '../errors.js';

/** Hex SHA-256 of a file's bytes, streamed (model files can be gigabytes). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (cause) {
    throw new SpladexError('E_IO', `cannot read ${path} to compute its checksum: ${(cause as Error).message}`, { file: path, cause });
  }
  return hash.digest('hex');
}

/** Hex SHA-256 of an in-memory string or byte array. */
export function sha256Bytes(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
