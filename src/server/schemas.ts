/**
 * JSON schemas of the request bodies, which Fastify validates before a handler runs. Bounds come
 * from the options tables (the search options' ranges, the server's limits), so the schema, the
 * CLI's help and the library's own checks agree; `openapi/spladex.yaml` carries the same schemas
 * for the default limits (a test compares them). The schemas check shape and the server's limits;
 * the finer rules (token lengths, weights, UTF-8, filter syntax) stay with the library's
 * validators, which name the problem with the library's codes.
 */
import { SEARCH_OPTIONS } from '../query/options.js';
import { CALIBRATED_SEARCH_OPTIONS, FILTER_SEARCH_OPTIONS } from '../reader/types.js';
import type { OptionSpec } from '../util/options-table.js';
import type { ServeLimits } from './options.js';

export type JsonSchema = Record<string, unknown>;

/** The schema of a numeric or enum option of a table, `max` replacing the table's bound when the server's limit is tighter. */
function optionSchema<V>(spec: OptionSpec<V>, max?: number): JsonSchema {
  if (spec.type === 'enum') return { type: 'string', enum: [...(spec.values ?? [])], description: spec.help };
  const schema: JsonSchema = { type: spec.type, description: spec.help };
  if (spec.min !== undefined) schema[spec.minOpen ? 'exclusiveMinimum' : 'minimum'] = spec.min;
  const upper = max ?? spec.max;
  if (upper !== undefined) schema[spec.maxOpen && max === undefined ? 'exclusiveMaximum' : 'maximum'] = upper;
  return schema;
}

const vectorSchema = (limits: Required<ServeLimits>): JsonSchema => ({
  type: 'object',
  description: 'sparse query vector: token → weight (finite, ≥ 0)',
  maxProperties: limits.maxQueryTerms,
  additionalProperties: { type: 'number', minimum: 0 },
});

const textSchema = (limits: Required<ServeLimits>): JsonSchema => ({
  type: 'string',
  description: "free text, encoded with the index's stored encoder (indexes built from text)",
  minLength: 1,
  maxLength: limits.maxQueryText,
});

/** `{ "vector": {…} }` or `{ "text": "…" }`, plus `id` in a batch. */
function querySchema(limits: Required<ServeLimits>, withId: boolean): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...(withId ? { id: { anyOf: [{ type: 'string' }, { type: 'number' }], description: 'labels the result (default: the position in the batch)' } } : {}),
      vector: vectorSchema(limits),
      text: textSchema(limits),
    },
    oneOf: [{ required: ['vector'] }, { required: ['text'] }],
  };
}

const filterObject: JsonSchema = { type: 'object', description: 'field → value, or → {eq, ne, in, notIn, gt, gte, lt, lte}' };
const filterCondition: JsonSchema = { type: 'string', description: 'a condition as spladex search --filter takes it, e.g. "year>=2010"' };

/** The options every search body shares. */
function searchOptionProperties(limits: Required<ServeLimits>): Record<string, JsonSchema> {
  const s = SEARCH_OPTIONS.specs;
  return {
    k: optionSchema(s.k, limits.maxK),
    queryCut: optionSchema(s.queryCut),
    queryMass: optionSchema(s.queryMass),
    heapFactor: optionSchema(s.heapFactor),
    graphNeighbors: optionSchema(s.graphNeighbors),
    targetRecall: optionSchema(CALIBRATED_SEARCH_OPTIONS.specs.targetRecall),
    filterExactBelow: optionSchema(FILTER_SEARCH_OPTIONS.specs.filterExactBelow),
    exact: {
      description: 'exact search instead of approximate: true (exhaustive), "exhaustive" or "maxscore"; false: approximate',
      anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['exhaustive', 'maxscore'] }],
    },
    filter: {
      description: 'only documents whose metadata matches: a filter object, a --filter condition, or a list of them (all must hold)',
      anyOf: [filterObject, filterCondition, { type: 'array', maxItems: 64, items: { anyOf: [filterObject, filterCondition] } }],
    },
    fields: {
      type: 'array',
      description: 'stored fields to return with each hit',
      uniqueItems: true,
      items: { type: 'string', enum: ['content', 'metadata'] },
    },
  };
}

/** The tables' checks of the search options, for messages in the tables' words when a schema bound fails. */
export function searchOptionChecks(limits: Required<ServeLimits>): Record<string, (value: unknown) => void> {
  const checks: Record<string, (value: unknown) => void> = {};
  for (const key of ['queryCut', 'queryMass', 'heapFactor', 'graphNeighbors'] as const) checks[key] = (value) => SEARCH_OPTIONS.check(key, value);
  checks.k = (value) => SEARCH_OPTIONS.check('k', value, { bounds: { max: limits.maxK } });
  checks.targetRecall = (value) => CALIBRATED_SEARCH_OPTIONS.check('targetRecall', value);
  checks.filterExactBelow = (value) => FILTER_SEARCH_OPTIONS.check('filterExactBelow', value);
  return checks;
}

export function searchBodySchema(limits: Required<ServeLimits>): JsonSchema {
  return { type: 'object', additionalProperties: false, required: ['query'], properties: { query: querySchema(limits, false), ...searchOptionProperties(limits) } };
}

export function batchBodySchema(limits: Required<ServeLimits>): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['queries'],
    properties: { queries: { type: 'array', minItems: 1, maxItems: limits.maxBatch, items: querySchema(limits, true) }, ...searchOptionProperties(limits) },
  };
}

/** Documents as `spladex index` and `add` read them; the library checks each one (ids, vectors, text), naming its position. */
export function addBodySchema(limits: Required<ServeLimits>): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['documents'],
    properties: {
      documents: {
        type: 'array',
        minItems: 1,
        maxItems: limits.maxDocuments,
        description: 'all vector documents ({id, vector, content?, metadata?}) or, on an index built from text, all text documents ({id, text, title?, metadata?})',
        items: {
          type: 'object',
          properties: {
            id: { anyOf: [{ type: 'string' }, { type: 'number' }] },
            vector: { type: 'object' },
            content: { type: 'string' },
            text: { type: 'string' },
            title: { type: 'string' },
            metadata: { type: 'object' },
          },
        },
      },
    },
  };
}

export function deleteBodySchema(limits: Required<ServeLimits>): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['ids'],
    properties: { ids: { type: 'array', minItems: 1, maxItems: limits.maxDocuments, items: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'number' }] } } },
  };
}
