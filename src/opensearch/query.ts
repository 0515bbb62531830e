/**
 * A spladex query as an OpenSearch query. Exact: the dot product as a sum of `rank_feature`
 * clauses with the `linear` function, one per query term, the query weight as the clause's boost
 * (score = Σ boost × stored feature value); `minimum_should_match: 1` keeps documents that share
 * no term out, as spladex never returns them. Seismic: the plugin's `neural_sparse` query with
 * its method parameters. Filters become `bool.filter` clauses with spladex's typed semantics
 * (`compileFilter`, src/store/filter.ts): a condition whose value type differs from the field's
 * mapped type matches nothing (`year=2010` on a keyword field), `ne` / `notIn` match documents
 * without the field, ranges match numbers only, and an array field matches if any element does
 * (OpenSearch's own rule for multi-valued fields).
 */
import { SpladexError } from '../errors.js';
import { normaliseFilter, type Filter, type FilterClause, type FilterScalar } from '../store/filter.js';
import { featureName } from './features.js';
import type { MetadataFieldType } from './mapping.js';
import type { OpenSearchMethod } from './options.js';

/** A field's mapped type by dotted path under `metadata` (undefined: not mapped). */
export type FieldTypes = (path: string) => MetadataFieldType | undefined;

const MATCH_NONE = { match_none: {} };

const scalarType = (value: FilterScalar): MetadataFieldType | 'null' => (value === null ? 'null' : typeof value === 'number' ? 'double' : typeof value === 'boolean' ? 'boolean' : 'keyword');

/** The positive form of one clause (`ne` → `eq`, `notIn` → `in`), or match_none. */
function positiveClause(clause: FilterClause, type: MetadataFieldType | undefined): Record<string, unknown> {
  const field = `metadata.${clause.field}`;
  const values = (Array.isArray(clause.value) ? clause.value : [clause.value]) as FilterScalar[];
  if (values.includes(null)) throw new SpladexError('E_OPTION', `filter: null values ("${clause.field}") are not indexed by OpenSearch; search the local index for them`);
  if (type === undefined || type === 'object') return MATCH_NONE;
  switch (clause.op) {
    case 'eq':
    case 'ne':
    case 'in':
    case 'notIn': {
      const same = values.filter((v) => scalarType(v) === type);
      return same.length === 0 ? MATCH_NONE : same.length === 1 ? { term: { [field]: same[0] } } : { terms: { [field]: same } };
    }
    default: {
      if (type !== 'double') return MATCH_NONE;
      return { range: { [field]: { [clause.op]: clause.value } } };
    }
  }
}

/** `bool.filter` and `bool.must_not` clauses of a spladex filter. */
export function translateFilter(filter: Filter | readonly Filter[], types: FieldTypes): { filter: unknown[]; must_not: unknown[] } {
  const out = { filter: [] as unknown[], must_not: [] as unknown[] };
  for (const clause of normaliseFilter(filter)) {
    const positive = positiveClause(clause, types(clause.field));
    if (clause.op === 'ne' || clause.op === 'notIn') {
      if (positive !== MATCH_NONE) out.must_not.push(positive);
    } else out.filter.push(positive);
  }
  return out;
}

export interface QueryTranslation {
  method: OpenSearchMethod;
  k: number;
  filter?: Filter | readonly Filter[];
  /** Seismic only: the plugin's `top_n` and `heap_factor` (spladex's queryCut and heapFactor). */
  queryCut?: number;
  heapFactor?: number;
}

/** The `_search` body of one query vector (tokens and weights), or undefined when no term can match. */
export function searchBody(tokens: readonly string[], weights: readonly number[], translation: QueryTranslation, types: FieldTypes): Record<string, unknown> | undefined {
  const features: Array<[string, number]> = [];
  for (let i = 0; i < tokens.length; i++) if (weights[i] > 0) features.push([featureName(tokens[i]), weights[i]]);
  if (features.length === 0) return undefined;
  const filters = translation.filter === undefined ? { filter: [], must_not: [] } : translateFilter(translation.filter, types);
  const scoring =
    translation.method === 'exact'
      ? { bool: { should: features.map(([name, weight]) => ({ rank_feature: { field: `vector.${name}`, linear: {}, boost: weight } })), minimum_should_match: 1 } }
      : {
          neural_sparse: {
            vector: {
              query_tokens: Object.fromEntries(features),
              method_parameters: { k: translation.k, ...(translation.queryCut !== undefined ? { top_n: translation.queryCut } : {}), ...(translation.heapFactor !== undefined ? { heap_factor: translation.heapFactor } : {}) },
            },
          },
        };
  const query = filters.filter.length === 0 && filters.must_not.length === 0 ? scoring : { bool: { must: [scoring], filter: filters.filter, must_not: filters.must_not } };
  // Equal scores are ordered as local search orders them (document key = export ordinal), not by
  // shard-local Lucene ids, so answers do not depend on the shard layout.
  return { size: translation.k, query, sort: [{ _score: 'desc' }, { ordinal: 'asc' }], track_scores: true, _source: false, track_total_hits: false };
}
