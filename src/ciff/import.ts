/**
 * `importCiff`: builds a spladex index from a CIFF file. The file is term-ordered (postings lists)
 * and an index is built document by document, so the lists are inverted in bounded memory: each
 * posting goes into sorted runs on disk keyed by document (runs.ts), then the runs are merged
 * document by document alongside the file's DocRecords into the normal build path
 * (`buildIndex`, streaming), weights = tf / scale. Lists are decoded field by field through a
 * window (protobufjs' wire reader), so a list of every document is never one object in memory.
 */
import { dirname, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { SpladexError } from '../errors.js';
import type { DocumentInput } from '../types.js';
import type { BuildProgress } from '../segment/ingest.js';
import { buildIndex } from '../writer/build.js';
import type { BuildSummary, IndexBuildOptions } from '../writer/build-plan.js';
import { CiffInput } from './input.js';
import { RunReader, RunWriter } from './runs.js';
import { ciffCodec, int64Number, POSTING_DOCID_TAG, POSTING_TF_TAG, POSTINGS_FIELD_TAG, type CiffCodec, type CiffDocRecord, type CiffHeader } from './schema.js';
import { CIFF_IMPORT_OPTIONS, scaleFromDescription, type CiffImportOptions } from './options.js';

/** `read`: the postings lists are being inverted (bytes of the file so far); then the build's own phases. */
export type CiffImportProgress = { phase: 'read'; bytes: number; totalBytes: number } | BuildProgress;

export interface CiffImportSummary extends BuildSummary {
  ciff: {
    file: string;
    description: string;
    postingsLists: number;
    postings: number;
    /** tf / scale is each weight. */
    scale: number;
    scaleSource: 'option' | 'header' | 'none';
  };
}

export type CiffImportBuildOptions = CiffImportOptions & Omit<IndexBuildOptions, 'onProgress'> & { onProgress?: (p: CiffImportProgress) => void };

/** Window of a list's bytes decoded at a time; a Posting field is at most 24 bytes. */
const LIST_WINDOW = 1 << 20;

export async function importCiff(file: string, out: string, options: CiffImportBuildOptions = {}): Promise<CiffImportSummary> {
  const { scale: givenScale, runPostings, onProgress, ...build } = options;
  const o = CIFF_IMPORT_OPTIONS.resolve({ ...(givenScale === undefined ? {} : { scale: givenScale }), ...(runPostings === undefined ? {} : { runPostings }) });
  file = resolve(file);
  out = resolve(out);
  const codec = await ciffCodec();
  const input = new CiffInput(file, codec);
  let runs: RunWriter | undefined;
  try {
    const header = input.readMessage(
      () => 'the header',
      (bytes) => codec.header.toObject(codec.header.decode(bytes), { defaults: true }) as CiffHeader,
    );
    const nLists = header.num_postings_lists;
    const nDocs = header.num_docs;
    if (nLists < 0 || nDocs < 0) throw input.corrupt(() => 'the header', 0, `negative counts (${nLists} postings lists, ${nDocs} documents)`);
    if (header.version !== 1) throw input.corrupt(() => 'the header', 0, `version ${header.version}; this spladex reads CIFF version 1`);
    const description = header.description ?? '';
    const fromHeader = scaleFromDescription(description);
    const scale = o.scale ?? fromHeader ?? 1;
    const scaleSource = o.scale !== undefined ? 'option' : fromHeader !== undefined ? 'header' : 'none';
    mkdirSync(dirname(out), { recursive: true });
    runs = new RunWriter(dirname(out), o.runPostings!);
    const terms: string[] = [];
    let postings = 0;
    for (let l = 0; l < nLists; l++) {
      const what = (): string => `postings list ${l + 1} of ${nLists}`;
      const term = readPostingsList(input, codec, what, nDocs, terms.length, runs);
      terms.push(term.term);
      postings += term.postings;
      if (l % 256 === 0) {
        onProgress?.({ phase: 'read', bytes: input.position, totalBytes: input.size });
        await new Promise((r) => setImmediate(r));
      }
    }
    onProgress?.({ phase: 'read', bytes: input.position, totalBytes: input.size });
    const readers = runs.readers();
    const documents = mergeDocuments(input, codec, header, terms, readers, scale);
    const summary = await buildIndex(documents, out, { ...build, sourceLabel: build.sourceLabel ?? `${file} (document records)`, ...(onProgress === undefined ? {} : { onProgress }) });
    if (!input.atEnd) throw input.corrupt(() => 'the end of the file', input.position, `${input.size - input.position} bytes follow the last of the ${nDocs} document records the header announces`);
    return { ...summary, ciff: { file, description, postingsLists: nLists, postings, scale, scaleSource } };
  } finally {
    runs?.remove();
    input.close();
  }
}

/**
 * Decodes one PostingsList field by field: its postings go to the runs as (docid, term ordinal,
 * tf). The window over the file moves forward whenever a field might cross its end (protobufjs
 * throws a RangeError reading past the window: the field is read again from the next window).
 */
function readPostingsList(input: CiffInput, codec: CiffCodec, what: () => string, nDocs: number, ordinal: number, runs: RunWriter): { term: string; postings: number } {
  const listStart = input.position;
  const length = input.readLength(what);
  const end = input.position + length;
  if (end > input.size) throw input.truncated(what, listStart, end - listStart);
  let term: string | undefined;
  let docid = 0;
  let count = 0;
  let df: number | undefined;
  while (input.position < end) {
    const wanted = Math.min(end - input.position, LIST_WINDOW);
    const available = input.ensure(wanted);
    if (available < wanted) throw input.truncated(what, listStart, end - listStart);
    const reader = codec.reader(input.view(available));
    const final = input.position + available === end;
    let consumed = 0;
    try {
      while (reader.pos < available) {
        const tag = reader.uint32();
        if (tag === POSTINGS_FIELD_TAG) {
          const postingEnd = reader.uint32() + reader.pos;
          let gap = 0;
          let tf = 0;
          while (reader.pos < postingEnd) {
            const inner = reader.uint32();
            if (inner === POSTING_DOCID_TAG) gap = reader.int32();
            else if (inner === POSTING_TF_TAG) tf = reader.int32();
            else reader.skipType(inner & 7);
          }
          if (reader.pos > postingEnd) throw new Error('a posting overruns its length');
          // Only whole postings count: the bounds checks above threw if it crossed the window.
          const at = input.position + consumed;
          if (gap < 0 || (count > 0 && gap === 0)) throw input.corrupt(what, at, `docid gaps must be positive (posting ${count + 1}: gap ${gap}); postings must list documents in ascending order`);
          docid += gap;
          if (docid >= nDocs) throw input.corrupt(what, at, `posting ${count + 1} names document ${docid}, but the header announces ${nDocs} documents`);
          if (tf < 0) throw input.corrupt(what, at, `negative term frequency ${tf}`);
          if (tf > 0) runs.push(docid, ordinal, tf);
          count++;
        } else if (tag === ((1 << 3) | 2)) term = reader.string();
        else if (tag === ((2 << 3) | 0)) df = int64Number(reader.int64());
        else if (tag === ((3 << 3) | 0)) reader.int64();
        else reader.skipType(tag & 7);
        consumed = reader.pos;
        // Near the end of a window that is not the list's last, move on before a field can cross it.
        if (!final && available - consumed < 64) break;
      }
    } catch (error) {
      if (!(error instanceof RangeError) || final) throw input.corrupt(what, input.position + consumed, (error as Error).message);
      if (consumed === 0) throw input.corrupt(what, input.position, 'a field larger than 1 MiB');
    }
    input.position += consumed;
  }
  if (term === undefined) throw input.corrupt(what, listStart, 'the postings list has no term');
  if (df !== undefined && df !== count) throw input.corrupt(what, listStart, `df is ${df} but the list holds ${count} postings`);
  return { term, postings: count };
}

/** The documents, in docid order: each one's postings from every run, with its DocRecord's id. */
async function* mergeDocuments(input: CiffInput, codec: CiffCodec, header: CiffHeader, terms: string[], readers: RunReader[], scale: number): AsyncGenerator<DocumentInput> {
  const nDocs = header.num_docs;
  for (let d = 0; d < nDocs; d++) {
    const what = (): string => `document record ${d + 1} of ${nDocs}`;
    const record = input.readMessage(what, (bytes) => codec.docRecord.toObject(codec.docRecord.decode(bytes), { defaults: true }) as CiffDocRecord);
    if (record.docid !== d) throw new SpladexError('E_CIFF', `document record ${d + 1} has docid ${record.docid}: records must come in docid order 0, 1, 2, …; export the file again`, { file: input.path });
    // Terms are arbitrary strings: "__proto__" must be a key like any other.
    const vector = Object.create(null) as Record<string, number>;
    for (const run of readers) {
      while (!run.done && run.key === d) {
        vector[terms[run.item]] = run.value / scale;
        run.advance();
      }
    }
    yield { id: record.collection_docid, vector };
  }
}
