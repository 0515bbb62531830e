/**
 * `OpenSearchSearcher`: searches an exported index on a cluster and answers in the shape of local
 * search (`SearchHit[]`: id and score, best first), so results compare line by line with
 * `IndexReader.search`. The mapping is read once: the vector field's method and the metadata
 * field types that filters are translated against (query.ts). Every search asks for complete
 * answers only (`allow_partial_search_results=false`) and is retried while shards fail — a node
 * that stops mid-query makes the cluster fail the query, never return fewer hits.
 */
import { SpladexError } from '../errors.js';
import type { Filter } from '../store/filter.js';
import type { StoredDocument } from '../store/store.js';
import type { SearchHit, SparseVectorInput } from '../types.js';
import { OpenSearchConnection } from './connection.js';
import type { ExportRecord } from './export.js';
import type { MetadataFieldType } from './mapping.js';
import type { OpenSearchConnectionOptions, OpenSearchMethod } from './options.js';
import { searchBody, type FieldTypes } from './query.js';

export interface OpenSearchSearchOptions {
  /** Results per query. Default 10. */
  k?: number;
  filter?: Filter | readonly Filter[];
  /** Seismic method only: the plugin's top_n (query terms traversed). */
  queryCut?: number;
  /** Seismic method only: the plugin's heap_factor. */
  heapFactor?: number;
}

interface MappingBody {
  mappings?: { _meta?: { spladex?: ExportRecord }; properties?: { vector?: { type?: string }; metadata?: { properties?: Record<string, unknown> } } };
}

interface SearchResponse {
  hits?: { hits: Array<{ _id: string; _score: number }> };
  _shards?: { failed?: number; total?: number };
  timed_out?: boolean;
  error?: unknown;
  status?: number;
}

/** Why an answer is incomplete (retry it), or undefined. */
function incomplete(response: SearchResponse): string | undefined {
  if (response.timed_out === true) return 'the search timed out on some shards';
  const failed = response._shards?.failed ?? 0;
  return failed > 0 ? `${failed} of ${response._shards?.total ?? '?'} shards failed` : undefined;
}

function hitsOf(response: SearchResponse): SearchHit[] {
  return (response.hits?.hits ?? []).map((h) => ({ id: h._id, score: h._score }));
}

export class OpenSearchSearcher {
  private constructor(
    readonly connection: OpenSearchConnection,
    readonly method: OpenSearchMethod,
    private readonly metadataTypes: Record<string, unknown>,
    /** The export record in the index's `_meta`, when spladex made the index. */
    readonly record: ExportRecord | undefined,
  ) {}

  static async open(options: OpenSearchConnectionOptions): Promise<OpenSearchSearcher> {
    const connection = await OpenSearchConnection.open(options);
    try {
      const response = await connection.call(`reading the mapping of ${connection.index}`, () => connection.client.indices.getMapping({ index: connection.index }));
      const mapping = Object.values(response.body as Record<string, MappingBody>)[0]?.mappings;
      const vectorType = mapping?.properties?.vector?.type;
      if (vectorType !== 'rank_features' && vectorType !== 'sparse_vector') {
        throw new SpladexError('E_OPENSEARCH', `OpenSearch index ${connection.index} has no rank_features or sparse_vector field "vector"; export an index into it with "spladex export opensearch"`);
      }
      return new OpenSearchSearcher(connection, vectorType === 'rank_features' ? 'exact' : 'seismic', mapping?.properties?.metadata?.properties ?? {}, mapping?._meta?.spladex);
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  /** The mapped type of a metadata path (`source.kind`). */
  readonly fieldTypes: FieldTypes = (path: string): MetadataFieldType | undefined => {
    let properties: Record<string, unknown> | undefined = this.metadataTypes;
    let type: MetadataFieldType | undefined;
    for (const part of path.split('.')) {
      const field = properties?.[part] as { type?: MetadataFieldType; properties?: Record<string, unknown> } | undefined;
      if (field === undefined) return undefined;
      type = field.type ?? 'object';
      properties = field.properties;
    }
    return type;
  };

  private body(query: SparseVectorInput, options: OpenSearchSearchOptions): Record<string, unknown> | undefined {
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > 10_000) throw new SpladexError('E_OPTION', `k must be an integer in [1, 10000] with OpenSearch (its max_result_window), got ${k}`);
    if (this.method === 'exact' && (options.queryCut !== undefined || options.heapFactor !== undefined)) {
      throw new SpladexError('E_OPTION', `${options.queryCut !== undefined ? '--query-cut' : '--heap-factor'} applies to the Seismic method only; index ${this.connection.index} is scored exactly (rank_features)`);
    }
    const tokens = Object.keys(query);
    return searchBody(
      tokens,
      tokens.map((t) => query[t]),
      { method: this.method, k, ...(options.filter !== undefined ? { filter: options.filter } : {}), ...(options.queryCut !== undefined ? { queryCut: options.queryCut } : {}), ...(options.heapFactor !== undefined ? { heapFactor: options.heapFactor } : {}) },
      this.fieldTypes,
    );
  }

  async search(query: SparseVectorInput, options: OpenSearchSearchOptions = {}): Promise<SearchHit[]> {
    const body = this.body(query, options);
    if (body === undefined) return [];
    const c = this.connection;
    const response = await c.call(
      `searching ${c.index}`,
      () => c.client.search({ index: c.index, body, allow_partial_search_results: false }),
      (r) => incomplete(r.body as SearchResponse),
    );
    return hitsOf(response.body as SearchResponse);
  }

  /** Several queries in one `_msearch` request (each answered completely, or all retried). */
  async searchBatch(queries: readonly SparseVectorInput[], options: OpenSearchSearchOptions = {}): Promise<SearchHit[][]> {
    const bodies = queries.map((q) => this.body(q, options));
    const asked = bodies.flatMap((b, i) => (b === undefined ? [] : [i]));
    const results: SearchHit[][] = queries.map(() => []);
    if (asked.length === 0) return results;
    const c = this.connection;
    const lines = asked.flatMap((i) => [{ index: c.index, allow_partial_search_results: false }, bodies[i]!]);
    const response = await c.call(
      `searching ${c.index} (${asked.length} queries)`,
      () => c.client.msearch({ body: lines }),
      (r) => {
        for (const item of (r.body as { responses: SearchResponse[] }).responses) {
          if (item.error !== undefined) return `a query failed: ${JSON.stringify(item.error).slice(0, 300)}`;
          const why = incomplete(item);
          if (why !== undefined) return why;
        }
        return undefined;
      },
    );
    (response.body as { responses: SearchResponse[] }).responses.forEach((item, j) => {
      results[asked[j]] = hitsOf(item);
    });
    return results;
  }

  /** The stored text and metadata of documents, from their `_source`. */
  async getDocuments(ids: readonly string[]): Promise<Map<string, StoredDocument | undefined>> {
    const out = new Map<string, StoredDocument | undefined>();
    if (ids.length === 0) return out;
    const c = this.connection;
    const response = await c.call(`reading documents of ${c.index}`, () => c.client.mget({ index: c.index, body: { ids: [...ids] }, _source_includes: ['id', 'content', 'metadata'] }));
    for (const doc of (response.body as { docs: Array<{ _id: string; found: boolean; _source?: StoredDocument }> }).docs) {
      out.set(doc._id, doc.found && doc._source !== undefined ? { id: doc._id, ...(doc._source.content !== undefined ? { content: doc._source.content } : {}), ...(doc._source.metadata !== undefined ? { metadata: doc._source.metadata } : {}) } : undefined);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
