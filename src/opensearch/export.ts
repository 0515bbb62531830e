/**
 * `exportToOpenSearch`: an index's live documents into an OpenSearch index — created with the
 * mapping of mapping.ts, then filled through the bulk API in batches, each retried with back-off
 * while the cluster answers 429 / 5xx or not at all (per batch, and per document for the items a
 * bulk answer rejects as overload). Resumable: the number of documents exported so far is
 * checkpointed in the index's `_meta.spladex.exported` (every `checkpointInterval` seconds and at
 * the end), with the source state it belongs to; a rerun against the same index and the same
 * committed state resumes there (documents carry their spladex id as `_id`, so the few sent again
 * after the checkpoint overwrite themselves). At the end the index is refreshed and its count must
 * equal the live documents. `writeBulkFile` writes the same requests to files instead.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { SpladexError } from '../errors.js';
import { guardIo } from '../util/io-failure.js';
import { OpenSearchConnection } from './connection.js';
import { documentSource, indexBody, MetadataTypes } from './mapping.js';
import { OPENSEARCH_EXPORT_OPTIONS, type OpenSearchConnectionOptions, type OpenSearchExportOptions } from './options.js';
import { LiveDocuments, type ExportDocument } from './source.js';

/** What `_meta.spladex` holds. */
export interface ExportRecord {
  /** The exporting index's directory. */
  dir: string;
  /** Its committed state: `<generation>:<manifest CRC>`. */
  source: string;
  method: string;
  /** Live documents of that state. */
  documents: number;
  /** Documents exported so far (in export order). */
  exported: number;
  complete: boolean;
  /** Whether the index was built from text: its text queries are encoded with the local index's stored encoder. */
  textQueries: boolean;
}

export interface OpenSearchExportProgress {
  done: number;
  total: number;
  retries: number;
}

export interface OpenSearchExportSummary {
  index: string;
  documents: number;
  /** Where this run started (0, or the checkpoint it resumed from). */
  resumedFrom: number;
  /** The index already held the finished export of this state: nothing was sent. */
  alreadyComplete: boolean;
  /** Documents sent by this run. */
  sent: number;
  /** Requests that needed another try. */
  retries: number;
  /** Metadata fields that held values of several types (mapped as keyword). */
  mixedTypeFields: string[];
  seconds: number;
  docsPerSecond: number;
}

export interface OpenSearchExportRun extends OpenSearchExportOptions {
  onProgress?: (progress: OpenSearchExportProgress) => void;
  /** Stops between two batches (after a checkpoint) with `E_ABORTED`. */
  signal?: AbortSignal;
}

const MAX_ID_BYTES = 512;

function checkId(doc: ExportDocument): void {
  if (Buffer.byteLength(doc.id, 'utf8') > MAX_ID_BYTES) throw new SpladexError('E_INPUT_LIMIT', `document id ${JSON.stringify(doc.id.slice(0, 40))}… is longer than OpenSearch's ${MAX_ID_BYTES}-byte _id limit`);
}

function inferTypes(source: LiveDocuments): MetadataTypes {
  const types = new MetadataTypes();
  for (const metadata of source.metadata()) types.add(metadata);
  return types;
}

interface BulkItem {
  index?: { status: number; error?: { type?: string; reason?: string } };
}

/** Sends one batch; items the cluster rejected as overload are sent again, with back-off. */
async function sendBatch(connection: OpenSearchConnection, batch: ExportDocument[]): Promise<void> {
  let pending = batch;
  for (let round = 0; pending.length > 0; round++) {
    const body = pending.flatMap((doc) => [{ index: { _index: connection.index, _id: doc.id } }, documentSource(doc)]);
    const response = await connection.call(`bulk request of ${pending.length} documents`, () => connection.client.bulk({ body }));
    const result = response.body as { errors: boolean; items: BulkItem[] };
    if (!result.errors) return;
    const again: ExportDocument[] = [];
    result.items.forEach((item, i) => {
      const status = item.index?.status ?? 500;
      if (status < 300) return;
      if (status === 429 || status >= 500) again.push(pending[i]);
      else throw new SpladexError('E_OPENSEARCH', `document ${JSON.stringify(pending[i].id)} was refused (HTTP ${status}): ${item.index?.error?.type ?? ''} ${item.index?.error?.reason ?? ''}; fix the document or the mapping, then run the export again (it resumes)`);
    });
    // Bounded like every request: the connection's retries, here counted in rounds.
    if (again.length > 0 && round >= 20) throw new SpladexError('E_OPENSEARCH', `${again.length} documents were still refused as overload after ${round + 1} bulk rounds; lower --batch-docs or give the cluster more capacity, then rerun (it resumes)`);
    if (again.length > 0) await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** round)));
    pending = again;
  }
}

/** The `_meta.spladex` of an existing index, or undefined when the index does not exist. */
async function existingRecord(connection: OpenSearchConnection): Promise<{ record: ExportRecord | undefined } | undefined> {
  const exists = await connection.call(`checking index ${connection.index}`, () => connection.client.indices.exists({ index: connection.index }));
  if (exists.body !== true) return undefined;
  const mapping = await connection.call(`reading the mapping of ${connection.index}`, () => connection.client.indices.getMapping({ index: connection.index }));
  const body = mapping.body as Record<string, { mappings?: { _meta?: { spladex?: ExportRecord } } }>;
  return { record: Object.values(body)[0]?.mappings?._meta?.spladex };
}

async function writeCheckpoint(connection: OpenSearchConnection, record: ExportRecord): Promise<void> {
  await connection.call(`checkpointing the export in ${connection.index}`, () => connection.client.indices.putMapping({ index: connection.index, body: { _meta: { spladex: record } } }));
}

/** Exports the live documents of the index at `dir` into the OpenSearch index `connection.index`. */
export async function exportToOpenSearch(dir: string, connectionOptions: OpenSearchConnectionOptions, run: OpenSearchExportRun = {}): Promise<OpenSearchExportSummary> {
  const started = performance.now();
  const { onProgress, signal, ...rest } = run;
  const o = OPENSEARCH_EXPORT_OPTIONS.resolve(rest);
  const source = LiveDocuments.open(dir);
  const connection = await OpenSearchConnection.open(connectionOptions).catch((error: unknown) => {
    source.close();
    throw error;
  });
  try {
    const types = inferTypes(source);
    let record: ExportRecord = { dir: source.dir, source: source.source, method: o.method, documents: source.live, exported: 0, complete: false, textQueries: source.manifest.encoder !== undefined };
    const existing = await existingRecord(connection);
    if (existing !== undefined && o.overwrite) {
      await connection.call(`deleting index ${connection.index}`, () => connection.client.indices.delete({ index: connection.index }));
    } else if (existing !== undefined) {
      const found = existing.record;
      if (found === undefined) throw new SpladexError('E_INDEX_EXISTS', `OpenSearch index ${connection.index} exists and was not made by spladex export; choose another --index, or --overwrite to delete it`);
      if (found.source !== source.source || found.method !== o.method) {
        throw new SpladexError('E_INDEX_EXISTS', `OpenSearch index ${connection.index} holds an export of another state of an index (${found.dir}, state ${found.source}, method ${found.method}); --overwrite starts again`);
      }
      record = { ...found, dir: source.dir };
    }
    if (existing === undefined || o.overwrite) {
      if (o.method === 'seismic') await requireNeuralPlugin(connection);
      const { manifest } = source;
      await connection.call(`creating index ${connection.index}`, () =>
        connection.client.indices.create({ index: connection.index, body: indexBody({ manifest, metadata: types, method: o.method, shards: o.shards, replicas: o.replicas, meta: record as unknown as Record<string, unknown> }) }),
      );
    }
    const alreadyComplete = record.complete;
    const resumedFrom = record.complete ? record.documents : record.exported;
    let done = resumedFrom;
    let lastCheckpoint = performance.now();
    onProgress?.({ done, total: source.live, retries: connection.retried });
    if (!record.complete) {
      let batch: ExportDocument[] = [];
      const flush = async (): Promise<void> => {
        await sendBatch(connection, batch);
        done += batch.length;
        batch = [];
        onProgress?.({ done, total: source.live, retries: connection.retried });
        if (performance.now() - lastCheckpoint >= o.checkpointInterval * 1000) {
          record = { ...record, exported: done };
          await writeCheckpoint(connection, record);
          lastCheckpoint = performance.now();
        }
      };
      for (const doc of source.documents(resumedFrom)) {
        checkId(doc);
        batch.push(doc);
        if (batch.length >= o.batchDocs) await flush();
        if (signal?.aborted === true) {
          await writeCheckpoint(connection, { ...record, exported: done });
          throw new SpladexError('E_ABORTED', `the export was stopped after ${done} of ${source.live} documents; run it again to resume`);
        }
      }
      if (batch.length > 0) await flush();
      await connection.call(`refreshing ${connection.index}`, () => connection.client.indices.refresh({ index: connection.index }));
      const count = await connection.call(`counting ${connection.index}`, () => connection.client.count({ index: connection.index }));
      const counted = (count.body as { count: number }).count;
      if (counted !== source.live) {
        await writeCheckpoint(connection, { ...record, exported: 0 });
        throw new SpladexError('E_OPENSEARCH', `OpenSearch index ${connection.index} holds ${counted} documents after the export, the index ${source.live} live ones; run the export again (it starts over) or with --overwrite`);
      }
      record = { ...record, exported: done, complete: true };
      await writeCheckpoint(connection, record);
    }
    const seconds = (performance.now() - started) / 1000;
    const sent = done - resumedFrom;
    return { index: connection.index, documents: source.live, resumedFrom, alreadyComplete, sent, retries: connection.retried, mixedTypeFields: [...types.mixed], seconds, docsPerSecond: sent / seconds };
  } finally {
    source.close();
    await connection.close();
  }
}

async function requireNeuralPlugin(connection: OpenSearchConnection): Promise<void> {
  const plugins = await connection.call('listing the plugins', () => connection.client.cat.plugins({ format: 'json' }));
  const names = (plugins.body as Array<{ component?: string }>).map((p) => p.component ?? '');
  if (!names.some((n) => n.includes('neural-search'))) {
    throw new SpladexError('E_OPENSEARCH', "--method seismic needs the neural-search plugin (OpenSearch ≥ 3.3, with k-NN and ml-commons) and this cluster has none; use --method exact (core OpenSearch's rank_features)");
  }
}

export interface BulkFileSummary {
  mappingFile: string;
  bulkFile: string;
  documents: number;
  mixedTypeFields: string[];
}

/** The mapping file written beside a bulk file: `x.ndjson` → `x.mapping.json`. */
export function mappingFileOf(bulkFile: string): string {
  return `${bulkFile.replace(/\.ndjson$/, '')}.mapping.json`;
}

/** Writes the create-index body and the bulk requests (NDJSON) instead of sending them. */
export function writeBulkFile(dir: string, out: string, index: string, options: Partial<OpenSearchExportOptions> = {}): BulkFileSummary {
  const o = OPENSEARCH_EXPORT_OPTIONS.resolve(options);
  out = resolve(out);
  const mappingFile = mappingFileOf(out);
  const source = LiveDocuments.open(dir);
  const temporary = `${out}.tmp-${process.pid}-${Date.now()}`;
  try {
    const types = inferTypes(source);
    const record: ExportRecord = { dir: source.dir, source: source.source, method: o.method, documents: source.live, exported: source.live, complete: true, textQueries: source.manifest.encoder !== undefined };
    const body = indexBody({ manifest: source.manifest, metadata: types, method: o.method, shards: o.shards, replicas: o.replicas, meta: record as unknown as Record<string, unknown> });
    const fd = guardIo(temporary, 'creating the bulk file', () => openSync(temporary, 'w'));
    try {
      let buffered: string[] = [];
      const drain = (): void => {
        const text = buffered.join('');
        buffered = [];
        guardIo(temporary, 'writing the bulk file', () => writeSync(fd, text));
      };
      for (const doc of source.documents()) {
        checkId(doc);
        buffered.push(`${JSON.stringify({ index: { _index: index, _id: doc.id } })}\n${JSON.stringify(documentSource(doc))}\n`);
        if (buffered.length >= 1000) drain();
      }
      drain();
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    guardIo(mappingFile, 'writing the mapping file', () => writeFileSync(mappingFile, `${JSON.stringify(body, null, 2)}\n`));
    renameSync(temporary, out);
    return { mappingFile, bulkFile: out, documents: source.live, mixedTypeFields: [...types.mixed] };
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  } finally {
    source.close();
  }
}
