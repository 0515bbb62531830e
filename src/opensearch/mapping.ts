/**
 * The OpenSearch index an export creates: settings, the mapping and one document's source.
 *
 * - `id` (keyword) is the spladex id (also the document's `_id`); `ordinal` (long) its position in
 *   export order, the tie-breaker of equal scores; `content` (text) the stored
 *   text; `metadata` the stored metadata with one explicit type per field — double for numbers
 *   (integers up to 2^53 stay exact, and one field never mixes long and double), keyword for
 *   strings, boolean, objects as objects — inferred from the stored values, so filters compare
 *   as spladex does (a field holding strings and numbers becomes keyword and is reported).
 * - `vector`: `rank_features` (exact, core OpenSearch) or the neural-search plugin's
 *   `sparse_vector` with its Seismic parameters mapped from the index's build options.
 * - `_meta.spladex`: where the index came from and the export's checkpoint (export.ts).
 */
import type { Manifest } from '../store/manifest.js';
import { WRITE_DEFAULTS } from '../writer/options.js';
import { featureName, featureValue } from './features.js';
import type { OpenSearchMethod } from './options.js';
import type { ExportDocument } from './source.js';

export type MetadataFieldType = 'double' | 'keyword' | 'boolean' | 'object';

/** A metadata field's mapping (nested properties for objects). */
export interface MetadataMapping {
  type: MetadataFieldType;
  properties?: Record<string, MetadataMapping>;
}

/** Infers the metadata mapping from the stored values; `mixed` lists dotted paths that held both strings and numbers or booleans. */
export class MetadataTypes {
  readonly root: Record<string, MetadataMapping> = {};
  readonly mixed = new Set<string>();

  add(metadata: Record<string, unknown> | undefined): void {
    if (metadata !== undefined) this.addObject(this.root, metadata, '');
  }

  private addObject(into: Record<string, MetadataMapping>, value: Record<string, unknown>, prefix: string): void {
    for (const [key, v] of Object.entries(value)) this.addValue(into, key, v, `${prefix}${key}`);
  }

  private addValue(into: Record<string, MetadataMapping>, key: string, value: unknown, path: string): void {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      for (const item of value) this.addValue(into, key, item, path);
      return;
    }
    const type: MetadataFieldType = typeof value === 'number' ? 'double' : typeof value === 'boolean' ? 'boolean' : typeof value === 'object' ? 'object' : 'keyword';
    const existing = into[key];
    if (existing === undefined) into[key] = type === 'object' ? { type, properties: {} } : { type };
    else if (existing.type !== type) {
      // An object and a scalar under one name cannot be mapped; keyword keeps the scalars searchable.
      this.mixed.add(path);
      into[key] = { type: 'keyword' };
    }
    const field = into[key];
    if (type === 'object' && field.type === 'object') this.addObject(field.properties!, value as Record<string, unknown>, `${path}.`);
  }
}

/** `{ properties }` of the mapping of inferred metadata types. */
function metadataProperties(types: Record<string, MetadataMapping>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(types)) {
    out[key] = field.type === 'object' ? { type: 'object', properties: metadataProperties(field.properties ?? {}) } : field.type === 'keyword' ? { type: 'keyword', ignore_above: 32766 } : { type: field.type };
  }
  return out;
}

/**
 * Seismic parameters of the plugin's `sparse_vector` field, from the index's build options:
 * spladex builds and the plugin share the algorithm, so each parameter has a counterpart.
 */
function seismicParameters(manifest: Manifest): Record<string, number> {
  const b = manifest.build;
  return {
    n_postings: b.nPostings,
    cluster_ratio: b.centroidFraction,
    summary_prune_ratio: b.summaryEnergy,
    // Seismic structures only segments this large, as spladex searches its small segments exhaustively.
    approximate_threshold: WRITE_DEFAULTS.smallSegmentDocs,
  };
}

export interface IndexBodyInput {
  manifest: Manifest;
  metadata: MetadataTypes;
  method: OpenSearchMethod;
  shards: number;
  replicas: number;
  meta: Record<string, unknown>;
}

/** The body of the create-index request. */
export function indexBody(input: IndexBodyInput): Record<string, unknown> {
  const vector = input.method === 'exact' ? { type: 'rank_features' } : { type: 'sparse_vector', method: { name: 'seismic', parameters: seismicParameters(input.manifest) } };
  return {
    settings: {
      index: {
        number_of_shards: input.shards,
        number_of_replicas: input.replicas,
        ...(input.method === 'seismic' ? { sparse: true } : {}),
      },
    },
    mappings: {
      // Only the fields below are indexed; anything else in a source stays unmapped.
      dynamic: false,
      _meta: { spladex: input.meta },
      properties: {
        id: { type: 'keyword' },
        // Export order = spladex's document-key order: breaks score ties as local search does, on any shard layout.
        ordinal: { type: 'long' },
        content: { type: 'text' },
        metadata: { type: 'object', properties: metadataProperties(input.metadata.root) },
        vector,
      },
    },
  };
}

/** A document's `_source`. */
export function documentSource(doc: ExportDocument): Record<string, unknown> {
  const vector: Record<string, number> = {};
  for (let i = 0; i < doc.tokens.length; i++) {
    const value = featureValue(doc.weights[i]);
    if (value !== undefined) vector[featureName(doc.tokens[i])] = value;
  }
  return { id: doc.id, ordinal: doc.ordinal, ...(doc.content !== undefined ? { content: doc.content } : {}), ...(doc.metadata !== undefined ? { metadata: doc.metadata } : {}), vector };
}
