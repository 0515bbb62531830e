/**
 * A reference model of an index under adds, deletes and compaction — an ordered list of live
 * documents, nothing else — plus seeded document generators and an independent evaluator of
 * metadata filters. Tests compare the engine against it.
 */
import type { Filter, FieldCondition, FilterScalar } from '../../src/store/filter.js';
import type { DocumentInput, SparseVectorInput } from '../../src/types.js';
import { HALF_TO_FLOAT, toHalfBits } from '../../src/util/f16.js';
import { Rng } from '../../src/util/rng.js';

/** The documents as an f16 index stores them (weights rounded to half precision), for brute-force comparisons. */
export function asHalfPrecision(documents: readonly DocumentInput[]): DocumentInput[] {
  return documents.map((doc) => {
    const vector: SparseVectorInput = {};
    for (const token in doc.vector) vector[token] = HALF_TO_FLOAT[toHalfBits(doc.vector[token])];
    return { ...doc, vector };
  });
}

const LANGS = ['en', 'de', 'fr', 'ja'];
const TAGS = ['a', 'b', 'c', 'd', 'e'];

export function randomVector(rng: Rng, vocabulary: number, minTerms: number, maxTerms: number): SparseVectorInput {
  const n = minTerms + rng.int(maxTerms - minTerms + 1);
  const vector: SparseVectorInput = {};
  for (let i = 0; i < n; i++) {
    const term = Math.floor(rng.next() ** 2 * vocabulary);
    vector[`tok${term}`] = Number((0.01 + -Math.log(1 - rng.next()) * 0.8).toFixed(2));
  }
  return vector;
}

/** Documents with the given ids: skewed vectors (some empty), text, and varied metadata. */
export function makeDocuments(rng: Rng, ids: readonly string[], vocabulary = 150): DocumentInput[] {
  return ids.map((id) => {
    const metadata: Record<string, unknown> = { year: 1990 + rng.int(35) };
    if (rng.next() < 0.9) metadata.lang = LANGS[rng.int(LANGS.length)];
    if (rng.next() < 0.7) metadata.tags = TAGS.filter(() => rng.next() < 0.35);
    else if (rng.next() < 0.5) metadata.tags = TAGS[rng.int(TAGS.length)];
    if (rng.next() < 0.5) metadata.rating = Number((rng.next() * 5).toFixed(1));
    if (rng.next() < 0.3) metadata.year = String(metadata.year); // a string, which numeric conditions must not match
    if (rng.next() < 0.3) metadata.source = { kind: rng.next() < 0.5 ? 'web' : 'book', pages: rng.int(500) };
    if (rng.next() < 0.1) metadata.flag = rng.next() < 0.5;
    const doc: DocumentInput = { id, vector: rng.next() < 0.03 ? {} : randomVector(rng, vocabulary, 2, 30), content: `text of ${id}` };
    if (rng.next() < 0.95) doc.metadata = metadata;
    return doc;
  });
}

export function randomQueries(rng: Rng, n: number, vocabulary = 150): SparseVectorInput[] {
  return Array.from({ length: n }, () => randomVector(rng, vocabulary, 1, 12));
}

/** Live documents in index order: a re-added id moves to the end, like a new segment. */
export class IndexModel {
  private docs = new Map<string, DocumentInput>();

  add(documents: readonly DocumentInput[]): void {
    for (const doc of documents) {
      this.docs.delete(String(doc.id));
      this.docs.set(String(doc.id), doc);
    }
  }

  delete(ids: readonly string[]): number {
    let n = 0;
    for (const id of ids) if (this.docs.delete(id)) n++;
    return n;
  }

  has(id: string): boolean {
    return this.docs.has(id);
  }

  get(id: string): DocumentInput | undefined {
    return this.docs.get(id);
  }

  live(): DocumentInput[] {
    return [...this.docs.values()];
  }

  ids(): string[] {
    return [...this.docs.keys()];
  }

  clone(): IndexModel {
    const copy = new IndexModel();
    copy.docs = new Map(this.docs);
    return copy;
  }
}

// ---- Reference filter evaluation (independent of the SQL compiler) ------------------------------

function lookup(metadata: Record<string, unknown> | undefined, field: string): { found: boolean; value: unknown } {
  let value: unknown = metadata;
  for (const key of field.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !(key in (value as object))) return { found: false, value: undefined };
    value = (value as Record<string, unknown>)[key];
  }
  return { found: true, value };
}

/** Elements a condition is tested against: array elements, or the scalar; objects never match. */
function candidates(metadata: Record<string, unknown> | undefined, field: string): unknown[] {
  const { found, value } = lookup(metadata, field);
  if (!found) return [];
  return Array.isArray(value) ? value : [value];
}

const equal = (a: unknown, b: FilterScalar): boolean => a === b && (a === null || typeof a !== 'object');

export function matchesFilter(doc: DocumentInput, filter: Filter | readonly Filter[]): boolean {
  const filters = Array.isArray(filter) ? (filter as readonly Filter[]) : [filter as Filter];
  return filters.every((one) =>
    Object.entries(one).every(([field, condition]) => {
      const values = candidates(doc.metadata, field);
      const c: FieldCondition = condition !== null && typeof condition === 'object' ? (condition as FieldCondition) : { eq: condition as FilterScalar };
      const any = (test: (v: unknown) => boolean): boolean => values.some(test);
      const num = (v: unknown): v is number => typeof v === 'number';
      if (c.eq !== undefined && !any((v) => equal(v, c.eq!))) return false;
      if (c.ne !== undefined && any((v) => equal(v, c.ne!))) return false;
      if (c.in !== undefined && !any((v) => c.in!.some((x) => equal(v, x)))) return false;
      if (c.notIn !== undefined && any((v) => c.notIn!.some((x) => equal(v, x)))) return false;
      if (c.gt !== undefined && !any((v) => num(v) && v > c.gt!)) return false;
      if (c.gte !== undefined && !any((v) => num(v) && v >= c.gte!)) return false;
      if (c.lt !== undefined && !any((v) => num(v) && v < c.lt!)) return false;
      if (c.lte !== undefined && !any((v) => num(v) && v <= c.lte!)) return false;
      return true;
    }),
  );
}

/** A random filter over the fields `makeDocuments` produces. */
export function randomFilter(rng: Rng): Filter {
  const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)];
  const filters: Filter[] = [
    { lang: pick(LANGS) },
    { lang: { ne: pick(LANGS) } },
    { lang: { in: [pick(LANGS), pick(LANGS)] } },
    { lang: { notIn: [pick(LANGS)] } },
    { year: { gte: 1990 + rng.int(35) } },
    { year: { gte: 1995 + rng.int(10), lt: 2005 + rng.int(15) } },
    { year: 2000 + rng.int(10) },
    { year: String(2000 + rng.int(10)) },
    { tags: pick(TAGS) },
    { tags: { in: [pick(TAGS), pick(TAGS)] } },
    { rating: { lte: rng.next() * 5 } },
    { 'source.kind': pick(['web', 'book']) },
    { 'source.pages': { gt: rng.int(500) } },
    { source: 'web' },
    { flag: rng.next() < 0.5 },
    { lang: pick(LANGS), year: { gte: 2000 } },
    { missing: null },
  ];
  return pick(filters);
}
