/** The encoder of an index, opened from its stored spec without loading the index's segments. */
import { resolve } from 'node:path';
import type { Encoder } from '../encode/encoder.js';
import type { EncoderSpec } from '../encode/spec.js';
import { SpladexError } from '../errors.js';
import type { Vocabulary } from '../io/vocabulary.js';
import { parseManifest } from '../store/manifest.js';
import { DocumentStore } from '../store/store.js';
import { encoderVocabulary, noEncoderError, openStoredEncoder, readStoredEncoder, readStoredIdf, type EncoderOverrides, type StoredIdf } from '../text/encoder-store.js';
import { checkIndexDirectory } from './reader.js';

/** The stored encoder spec and IDF table of the index at `dir`, read from one snapshot of its store. */
function readEncoderRecords(dir: string): { path: string; spec: EncoderSpec | null; idf: StoredIdf | null; termSpace: string | undefined } {
  const path = resolve(dir);
  const storePath = checkIndexDirectory(path);
  const store = DocumentStore.open(storePath, true);
  try {
    store.beginSnapshot();
    const value = store.getMeta<unknown>('manifest');
    if (value === undefined) throw new SpladexError('E_NOT_AN_INDEX', 'no spladex manifest in this store; rebuild the index', { file: storePath });
    const manifest = parseManifest(value, storePath);
    return { path, spec: readStoredEncoder(store, manifest), idf: readStoredIdf(store, manifest), termSpace: manifest.termSpace };
  } finally {
    store.close();
  }
}

/**
 * Opens the encoder stored with the index at `dir` — without loading its segments — to encode
 * queries (eval, bench). `E_INPUT_VECTOR` for an index built from vectors; dispose it when done.
 */
export async function openIndexEncoder(dir: string, overrides: EncoderOverrides = {}): Promise<Encoder> {
  const { path, spec, idf, termSpace } = readEncoderRecords(dir);
  if (spec === null) throw noEncoderError(path);
  return openStoredEncoder(spec, idf, overrides, termSpace);
}

/**
 * The token-id vocabulary of the tokenizer stored with the index at `dir` (for `{"indices",
 * "values"}` query vectors); `model` relocates a model directory that moved. `E_INPUT_VECTOR` for
 * an index built from vectors, `E_OPTION` for a lexical index over the English analyzer.
 */
export async function openIndexVocabulary(dir: string, options: { model?: string } = {}): Promise<Vocabulary> {
  const { path, spec } = readEncoderRecords(dir);
  if (spec === null) {
    throw new SpladexError('E_INPUT_VECTOR', `the index ${path} was built from vectors and stores no tokenizer to map token ids to tokens; give the vocabulary of the ids with --vocab <vocab.txt|tokenizer.json>`);
  }
  try {
    return await encoderVocabulary(spec, options.model);
  } catch (error) {
    if (error instanceof SpladexError && error.code === 'E_IO') throw new SpladexError('E_IO', `${error.message} (the tokenizer stored with the index ${path}; give the vocabulary with --vocab, or the model's new place with --model)`, { cause: error });
    throw error;
  }
}
