/**
 * Segment build pipeline: ingest → static pruning → blocking & summaries → segment.
 * Documents stream through once; only flat arrays survive ingestion.
 */
import { SpladexError } from '../errors.js';
import { validateDocumentInput, type ParsedDocument, type SkippedLine, type ValidDocument } from '../io/documents.js';
import type { DocumentInput } from '../types.js';
import { ForwardBuilder } from './forward.js';
import { buildInverted } from './inverted.js';
import type { ResolvedBuildOptions } from './options.js';
import { buildPrunedLists, topTermsPerDocument } from './pruning.js';
import type { Segment } from './segment.js';
import { makeTermIndex } from './segment.js';
import type { DocumentStore } from './store.js';

export type BuildPhase = 'ingest' | 'prune' | 'blocks' | 'write';

export interface BuildProgress {
  phase: BuildPhase;
  /** Documents ingested so far. */
  documents: number;
  /** Postings ingested so far. */
  postings: number;
}

export interface IngestOptions {
  /** Skip invalid documents (duplicate ids, bad vectors) instead of failing. Default false. */
  skipInvalid?: boolean;
  /** Receives every skipped document when `skipInvalid` is set. */
  onSkip?: (skipped: SkippedLine) => void;
  /** Called every 10,000 documents and at each phase change. */
  onProgress?: (progress: BuildProgress) => void;
  /** Name of the input in error messages (a file path). Default `<documents>`. */
  sourceLabel?: string;
}

export interface SegmentBuildStats {
  documents: number;
  emptyDocuments: number;
  skipped: number;
  postings: number;
  keptPostings: number;
  blocks: number;
  summaryEntries: number;
  seconds: { ingest: number; prune: number; blocks: number };
}

/** What a build consumes: documents from the library API, or lines already validated by `readDocuments`. */
export type DocumentSource = AsyncIterable<DocumentInput | ParsedDocument> | Iterable<DocumentInput | ParsedDocument>;
type Incoming = DocumentInput | ParsedDocument;

/** Builds one segment from a document stream, storing texts and metadata in `store`. */
export async function buildSegment(
  documents: DocumentSource,
  options: ResolvedBuildOptions,
  store: DocumentStore,
  segmentNumber: number,
  ingest: IngestOptions = {},
  knownIds?: (id: string) => boolean,
): Promise<{ segment: Segment; stats: SegmentBuildStats }> {
  const started = performance.now();
  const forward = new ForwardBuilder(options.forwardValues);
  const docIds: string[] = [];
  const seen = new Set<string>();
  let emptyDocuments = 0;
  let skipped = 0;
  let ordinal = 0;
  const BATCH = 5000;
  let batch: Array<{ local: number; doc: ValidDocument }> = [];
  const flush = (): void => {
    if (batch.length === 0) return;
    const rows = batch;
    store.transaction(() => {
      for (const { local, doc } of rows) store.insert(segmentNumber, local, doc);
    });
    batch = [];
  };

  for await (const incoming of documents as AsyncIterable<Incoming>) {
    ordinal++;
    const parsed = 'entries' in incoming ? incoming : undefined;
    const where = { file: ingest.sourceLabel ?? '<documents>', line: parsed?.line ?? ordinal };
    try {
      const doc = parsed ?? validateDocumentInput(incoming as DocumentInput, where);
      if (seen.has(doc.id) || (knownIds !== undefined && knownIds(doc.id))) {
        throw new SpladexError('E_INPUT_DUPLICATE_ID', `duplicate document id ${JSON.stringify(doc.id)}`, where);
      }
      seen.add(doc.id);
      const local = forward.add(doc.entries, where);
      if (doc.entries.tokens.length === 0) emptyDocuments++;
      docIds.push(doc.id);
      batch.push({ local, doc });
      if (batch.length >= BATCH) flush();
      if (docIds.length % 10_000 === 0) ingest.onProgress?.({ phase: 'ingest', documents: docIds.length, postings: forward.nPostings });
    } catch (error) {
      if (!ingest.skipInvalid || !(error instanceof SpladexError) || error.code === 'E_IO') throw error;
      skipped++;
      ingest.onSkip?.({ line: where.line, code: error.code, message: error.message });
    }
  }
  flush();
  const ingested = performance.now();
  ingest.onProgress?.({ phase: 'prune', documents: docIds.length, postings: forward.nPostings });

  const nTerms = forward.vocabulary.length;
  const { forward: forwardIndex, decoded } = forward.finish();
  const lists = buildPrunedLists(forwardIndex, decoded, nTerms, options);
  const top = options.blocking === 'kmeans' ? topTermsPerDocument(forwardIndex, decoded, options.kmeansDocCut) : undefined;
  const pruned = performance.now();
  ingest.onProgress?.({ phase: 'blocks', documents: docIds.length, postings: forwardIndex.terms.length });

  const inverted = await buildInverted(
    { nTerms, forwardOffsets: forwardIndex.offsets, forwardTerms: forwardIndex.terms, decoded, lists, top, options },
    options.threads,
  );
  const blocked = performance.now();

  const { threads: _threads, ...buildIdentity } = options;
  const segment: Segment = {
    meta: { nDocs: docIds.length, nTerms, nPostings: forwardIndex.terms.length, valueType: options.forwardValues, build: buildIdentity },
    vocabulary: forward.vocabulary,
    termIds: makeTermIndex(forward.vocabulary),
    docIds,
    forward: forwardIndex,
    inverted,
  };
  return {
    segment,
    stats: {
      documents: docIds.length,
      emptyDocuments,
      skipped,
      postings: forwardIndex.terms.length,
      keptPostings: inverted.postingDocs.length,
      blocks: inverted.blockScales.length,
      summaryEntries: inverted.summaryCodes.length,
      seconds: { ingest: (ingested - started) / 1000, prune: (pruned - ingested) / 1000, blocks: (blocked - pruned) / 1000 },
    },
  };
}
