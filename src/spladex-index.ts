/**
 * The façade users hold. An index is a directory: a document store (`spladex.db`: manifest,
 * document rows, delete bitmaps), one immutable container file per segment (`seg-NNNNNN.spx`) and
 * the commit record (`spladex.commit`).
 *
 * - `SpladexIndex.open(dir)` → an `IndexReader` (src/reader/): search, searchText, refresh,
 *   getDocument, info, flops — over one consistent snapshot.
 * - `SpladexIndex.openWriter(dir)` → an `IndexWriter` (src/writer/): a reader that also adds,
 *   deletes and compacts, under the directory's lock. Calling a write on a reader is a type error.
 * - `buildIndex(documents, dir)` builds a new index (atomically); `SpladexIndex.build(documents)`
 *   builds one in a private temporary directory and opens it (`save()` keeps it).
 * - `SpladexIndex.openPool(dir)` → a `SearchPool` (src/pool/): the reader's searches as promises,
 *   on worker threads sharing one copy of the segments.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexReader } from './reader/reader.js';
import type { ReaderOptions, WriterOptions } from './reader/types.js';
import { buildIndex } from './writer/build.js';
import type { IndexBuildOptions } from './writer/build-plan.js';
import type { DocumentSource } from './segment/ingest.js';
import { IndexWriter } from './writer/writer.js';
import { openSearchPool } from './pool/pool.js';

/**
 * Options of the compatibility form `SpladexIndex.open(dir, { readonly: false })`, which opens a
 * writer: prefer `SpladexIndex.openWriter(dir)`.
 */
export interface OpenOptions extends WriterOptions {
  /** `true` (default): a reader. `false`: a writer (as `openWriter`). */
  readonly?: boolean;
}

function open(path: string, options?: ReaderOptions & { readonly?: true }): IndexReader;
function open(path: string, options: OpenOptions & { readonly: false }): IndexWriter;
function open(path: string, options?: OpenOptions): IndexReader;
function open(path: string, options: OpenOptions = {}): IndexReader {
  const { readonly, writerName, ...reader } = options;
  return readonly === false ? IndexWriter.open(path, { ...reader, ...(writerName === undefined ? {} : { writerName }) }) : IndexReader.open(path, reader);
}

/** Opens an index directory for writing (`E_LOCKED` if another writer holds it). */
function openWriter(path: string, options: WriterOptions = {}): IndexWriter {
  return IndexWriter.open(path, options);
}

/** Builds an index in a private temporary directory and opens it; `save()` it to keep it. Removed on `close()`. */
async function build(documents: DocumentSource, options: Omit<IndexBuildOptions, 'overwrite'> = {}): Promise<IndexReader> {
  const root = mkdtempSync(join(tmpdir(), 'spladex-'));
  try {
    await buildIndex(documents, join(root, 'index'), options);
    return IndexReader.open(join(root, 'index'), {}, { removeOnClose: root });
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

/** The entry points of an index: `open` (a reader), `openWriter`, `build`, `openPool` (= `openSearchPool`). */
export const SpladexIndex = Object.freeze({ open, openWriter, build, openPool: openSearchPool });
/** An opened index, as `SpladexIndex.open` returns it. */
export type SpladexIndex = IndexReader;

export { buildIndex, IndexReader, IndexWriter };
