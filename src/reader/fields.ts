/**
 * Field projection: which stored fields of a document a hit (or a fetched document) carries.
 * One piece of code for every caller — `spladex search --fields`, `spladex get --fields` and the
 * HTTP server's `fields` — so a field name means the same everywhere.
 *
 * A field is `id`, `score` (hits only), `content`, `metadata` (the whole object) or a path into the
 * metadata, `metadata.year` or `metadata.source.kind`; any other name is short for a metadata path
 * (`year` is `metadata.year`, `title` is `metadata.title`). Projected records keep the stored
 * document's shape — `{ id, score, content, metadata: { year } }` — so `metadata.year` and `year`
 * give the same record, and a value a document lacks is simply absent.
 */
import { SpladexError } from '../errors.js';
import type { StoredDocument } from '../store/store.js';
import type { SearchHit } from '../types.js';

/** The top-level fields; anything else names a metadata key. */
const TOP_LEVEL = ['id', 'score', 'content', 'metadata'] as const;

/** One requested field: the name as given and the path it reads. */
export interface FieldPath {
  /** As the caller wrote it (`year`), for table headers and errors. */
  readonly name: string;
  /** What it reads: `['id']`, `['content']`, `['metadata']`, `['metadata', 'year']`. */
  readonly path: readonly string[];
}

/** A hit with the stored fields asked for. */
export type HitWithFields = SearchHit & { content?: string; metadata?: Record<string, unknown> };

/**
 * Parses a field list: a comma-separated string (`id,score,content,metadata.year`) or an array of
 * names. `score` is refused where there is none (`withScore: false`, fetching documents by id).
 */
export function parseFields(fields: string | readonly string[], { withScore = true }: { withScore?: boolean } = {}): FieldPath[] {
  const names = typeof fields === 'string' ? fields.split(',').map((name) => name.trim()) : [...fields];
  const known = withScore ? TOP_LEVEL.join(', ') : TOP_LEVEL.filter((f) => f !== 'score').join(', ');
  const parsed: FieldPath[] = [];
  for (const name of names) {
    if (typeof name !== 'string' || name === '' || name.split('.').some((part) => part === '')) {
      throw new SpladexError('E_OPTION', `fields: ${JSON.stringify(name)} is not a field name; give a comma-separated list of ${known}, or metadata keys (metadata.year, or year)`);
    }
    if (name === 'score' && !withScore) throw new SpladexError('E_OPTION', `fields: score belongs to search results, not to stored documents; fields are ${known} and metadata keys`);
    const parts = name.split('.');
    const path = (TOP_LEVEL as readonly string[]).includes(parts[0]) ? parts : ['metadata', ...parts];
    if (path.length > 1 && path[0] !== 'metadata') throw new SpladexError('E_OPTION', `fields: ${name} has no parts (${path[0]} is not an object); only metadata has keys`);
    if (!parsed.some((f) => f.name === name)) parsed.push({ name, path });
  }
  return parsed;
}

function has(object: unknown, key: string): boolean {
  return object !== null && typeof object === 'object' && !Array.isArray(object) && Object.hasOwn(object, key);
}

/** The value at `path` of a record shaped like a hit or a stored document (undefined when absent). */
export function fieldValue(record: object, field: FieldPath): unknown {
  let value: unknown = record;
  for (const key of field.path) {
    if (!has(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Copies `value` to `path` of `target`, creating the objects on the way. */
function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = target;
  for (let i = 0; i < path.length - 1; i++) {
    const next = at[path[i]];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) at[path[i]] = {};
    at = at[path[i]] as Record<string, unknown>;
  }
  at[path[path.length - 1]] = value;
}

/**
 * The stored fields of `doc` that `fields` ask for, in the document's shape: `content`, and
 * `metadata` holding the requested keys (the whole object for `metadata`). `id` and `score` are
 * the caller's (they are always kept).
 */
export function projectDocument(doc: StoredDocument | undefined, fields: readonly FieldPath[]): { content?: string; metadata?: Record<string, unknown> } {
  const out: Record<string, unknown> = {};
  if (doc === undefined) return out;
  // The whole metadata first, so a path below it does not replace it by a part.
  const ordered = [...fields].sort((a, b) => a.path.length - b.path.length);
  for (const field of ordered) {
    if (field.path[0] === 'id' || field.path[0] === 'score') continue;
    const value = fieldValue(doc, field);
    if (value === undefined || fieldValue(out, field) !== undefined) continue;
    setPath(out, field.path, value);
  }
  // Key order of the stored document: content, then metadata.
  const { content, metadata } = out as { content?: string; metadata?: Record<string, unknown> };
  return { ...(content !== undefined ? { content } : {}), ...(metadata !== undefined ? { metadata } : {}) };
}

/** Each hit with the stored fields asked for; `documents` holds the stored document of each hit id (missing: none). */
export function hitsWithFields(hits: readonly SearchHit[], documents: ReadonlyMap<string, StoredDocument | undefined>, fields: readonly FieldPath[]): HitWithFields[] {
  return hits.map((hit) => ({ id: hit.id, score: hit.score, ...projectDocument(documents.get(hit.id), fields) }));
}

/** Top-level metadata keys listed in an unknown-field error, at most. */
const LISTED_KEYS = 30;

/**
 * Throws `E_OPTION` for fields no document has: first looked up in `seen` (the documents at hand,
 * e.g. the hits'), then, for those still missing, in `all` (every live document, read only then,
 * and only until each is found). The error lists the fields that exist.
 */
export function checkFieldsExist(fields: readonly FieldPath[], seen: Iterable<StoredDocument | undefined>, all: () => Iterable<StoredDocument>): void {
  let missing = fields.filter((f) => f.path[0] !== 'id' && f.path[0] !== 'score');
  const lookIn = (docs: Iterable<StoredDocument | undefined>, keys?: Set<string>): void => {
    for (const doc of docs) {
      if (doc === undefined) continue;
      if (keys !== undefined && doc.metadata !== undefined) for (const key of Object.keys(doc.metadata)) if (keys.size < LISTED_KEYS) keys.add(key);
      missing = missing.filter((f) => fieldValue(doc, f) === undefined);
      if (missing.length === 0) return;
    }
  };
  lookIn(seen);
  if (missing.length === 0) return;
  const keys = new Set<string>();
  lookIn(all(), keys);
  if (missing.length === 0) return;
  const metadataKeys = keys.size === 0 ? 'no document has metadata' : `metadata keys: ${[...keys].sort().join(', ')}${keys.size >= LISTED_KEYS ? ', …' : ''}`;
  const names = missing.map((f) => f.name).join(', ');
  throw new SpladexError('E_OPTION', `unknown field${missing.length === 1 ? '' : 's'} ${names}: no document of this index has ${missing.length === 1 ? 'it' : 'them'}; fields are id, score, content, metadata and metadata keys (metadata.<key> or <key>); ${metadataKeys}`);
}
