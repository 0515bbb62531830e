/** The encoder of an index, opened from its stored spec without loading the index's segments. */
import { resolve } from 'node:path';
import type { Encoder } from '../encode/encoder.js';
import { SpladexError } from '../errors.js';
import { parseManifest } from '../store/manifest.js';
import { DocumentStore } from '../store/store.js';
import { noEncoderError, openStoredEncoder, readStoredEncoder, readStoredIdf, type EncoderOverrides } from '../text/encoder-store.js';
import { checkIndexDirectory } from './reader.js';

/**
 * Opens the encoder stored with the index at `dir` — without loading its segments — to encode
 * queries (eval, bench). `E_INPUT_VECTOR` for an index built from vectors; dispose it when done.
 */
export async function openIndexEncoder(dir: string, overrides: EncoderOverrides = {}): Promise<Encoder> {
  const path = resolve(dir);
  const storePath = checkIndexDirectory(path);
  const store = DocumentStore.open(storePath, true);
  let spec;
  let idf;
  try {
    store.beginSnapshot();
    const value = store.getMeta<unknown>('manifest');
    if (value === undefined) throw new SpladexError('E_NOT_AN_INDEX', 'no spladex manifest in this store; rebuild the index', { file: storePath });
    const manifest = parseManifest(value, storePath);
    spec = readStoredEncoder(store, manifest);
    if (spec === null) throw noEncoderError(path);
    idf = readStoredIdf(store, manifest);
  } finally {
    store.close();
  }
  return openStoredEncoder(spec, idf, overrides);
}
