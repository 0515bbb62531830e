/**
 * Metadata filters: simple field conditions that select which documents a search may return.
 *
 * Two equivalent forms:
 *
 * - Library (JSON): an object of field → condition; all fields must match.
 *   `{ lang: 'en', year: { gte: 2010, lt: 2020 }, tag: { in: ['a', 'b'] } }`.
 *   A bare value means equality; a condition object may use `eq`, `ne`, `in`, `notIn`, `gt`,
 *   `gte`, `lt`, `lte` (all given operators must hold). An array of such objects means all of them.
 * - CLI: one condition per `--filter`, e.g. `year>=2010`, `lang=en`, `tag in a,b`,
 *   `tag not in x,y`, `lang!=de`; operators `= == != < <= > >= in`, `not in`.
 *   Values are JSON scalars when they parse as one (`2010`, `1.5e3`, `true`, `null`,
 *   `"quoted text"`), otherwise plain text (`en`, `007`). A `--filter` starting with `{` is the JSON form.
 *
 * Semantics: a field is a dotted path into the document's `metadata` (`a.b` is
 * `metadata.a.b`). Equality is typed (`2010` does not match `"2010"`); ranges only match numbers.
 * When the field holds an array, a condition holds if any element satisfies it. `ne` and `notIn`
 * are the negations of `eq` and `in`, so documents without the field match them.
 *
 * A filter compiles to one SQL `WHERE` clause over the `documents` table (using SQLite's
 * `json_type`/`json_extract`/`json_each`); every user value is a bound parameter, never SQL text.
 */
import { SpladexError } from '../errors.js';
import { checkStorableString } from '../io/documents.js';

export type FilterScalar = string | number | boolean | null;

export interface FieldCondition {
  eq?: FilterScalar;
  ne?: FilterScalar;
  in?: readonly FilterScalar[];
  notIn?: readonly FilterScalar[];
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/** Field (dotted path into `metadata`) → value (equality) or condition; all fields must match. */
export type Filter = Readonly<Record<string, FilterScalar | FieldCondition>>;

export const FILTER_LIMITS = Object.freeze({
  /** Conditions in one filter. */
  maxConditions: 64,
  /** Values in one `in`/`notIn` list. */
  maxListValues: 100_000,
  /** Characters of a field path. */
  maxFieldLength: 256,
  /** Characters of one string value. */
  maxValueLength: 10_000,
});

type Operator = 'eq' | 'ne' | 'in' | 'notIn' | 'gt' | 'gte' | 'lt' | 'lte';
const OPERATORS: readonly Operator[] = ['eq', 'ne', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte'];

/** One normalised condition. */
export interface FilterClause {
  field: string;
  op: Operator;
  value: FilterScalar | FilterScalar[];
}

const bad = (message: string): SpladexError => new SpladexError('E_OPTION', `filter: ${message}`);

/** A field path segment may hold anything but dots, quotes, backslashes and control characters (they would need escaping in a JSON path). */
const FIELD_SEGMENT = /^[^."\\\u0000-\u001f]+$/;

function checkField(field: string): string {
  if (typeof field !== 'string' || field.length === 0 || field.length > FILTER_LIMITS.maxFieldLength || !field.split('.').every((s) => FIELD_SEGMENT.test(s))) {
    throw bad(`invalid field ${JSON.stringify(field)}: use a metadata key or a dotted path such as "source.year"`);
  }
  // Stored metadata never holds a lone surrogate (rejected at input), and SQLite would compare the
  // U+FFFD it turns one into: such a field or value is an input error, E_INPUT_ENCODING, like everywhere.
  return checkStorableString(field, 'filter field');
}

function checkScalar(value: unknown, field: string): FilterScalar {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw bad(`value of "${field}" must be a finite number`);
    return value;
  }
  if (typeof value === 'string') {
    if (value.length > FILTER_LIMITS.maxValueLength) throw bad(`value of "${field}" is longer than ${FILTER_LIMITS.maxValueLength} characters`);
    // Checked before formatting the message: `in` lists can hold 100,000 values.
    if (!value.isWellFormed()) checkStorableString(value, `filter value of "${field}"`);
    return value;
  }
  throw bad(`value of "${field}" must be a string, number, boolean or null`);
}

function checkNumber(value: unknown, field: string, op: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(`"${op}" of "${field}" needs a finite number, got ${JSON.stringify(value) ?? String(value)}`);
  return value;
}

function checkList(value: unknown, field: string, op: string): FilterScalar[] {
  if (!Array.isArray(value) || value.length === 0) throw bad(`"${op}" of "${field}" needs a non-empty list of values`);
  if (value.length > FILTER_LIMITS.maxListValues) throw bad(`"${op}" of "${field}" has more than ${FILTER_LIMITS.maxListValues} values`);
  return value.map((v) => checkScalar(v, field));
}

/** Validates a filter (or a list of filters, all of which must hold) into clauses. */
export function normaliseFilter(filter: Filter | readonly Filter[]): FilterClause[] {
  const clauses: FilterClause[] = [];
  for (const one of Array.isArray(filter) ? (filter as readonly Filter[]) : [filter as Filter]) {
    if (one === null || typeof one !== 'object' || Array.isArray(one)) throw bad('a filter must be an object of field → condition, e.g. {"lang": "en", "year": {"gte": 2010}}');
    for (const field of Object.keys(one)) {
      checkField(field);
      const condition = (one as Record<string, unknown>)[field];
      if (condition === null || typeof condition !== 'object') {
        clauses.push({ field, op: 'eq', value: checkScalar(condition, field) });
        continue;
      }
      if (Array.isArray(condition)) throw bad(`condition of "${field}" is a list; use {"in": [...]} for "any of"`);
      const entries = Object.entries(condition as Record<string, unknown>);
      if (entries.length === 0) throw bad(`condition of "${field}" is empty`);
      for (const [op, value] of entries) {
        if (!OPERATORS.includes(op as Operator)) throw bad(`unknown operator "${op}" for "${field}" (use ${OPERATORS.join(', ')})`);
        if (value === undefined) continue;
        const o = op as Operator;
        if (o === 'eq' || o === 'ne') clauses.push({ field, op: o, value: checkScalar(value, field) });
        else if (o === 'in' || o === 'notIn') clauses.push({ field, op: o, value: checkList(value, field, o) });
        else clauses.push({ field, op: o, value: checkNumber(value, field, o) });
      }
    }
  }
  if (clauses.length === 0) throw bad('the filter has no conditions');
  if (clauses.length > FILTER_LIMITS.maxConditions) throw bad(`more than ${FILTER_LIMITS.maxConditions} conditions`);
  return clauses;
}

/** `$."a"."b"` for field `a.b`: quoted labels, so keys like `x-y` or `1st` are taken literally. */
function jsonPath(field: string): string {
  return '$' + field.split('.').map((s) => `."${s}"`).join('');
}

export interface CompiledFilter {
  /** SQL condition over table alias `d` (columns `metadata`). */
  where: string;
  /** Named parameters of `where`. */
  params: Record<string, unknown>;
  /** Canonical text of the filter (cache key). */
  key: string;
}

/** Compiles clauses into one SQL condition; every value is a named parameter. */
export function compileFilter(clauses: readonly FilterClause[]): CompiledFilter {
  const params: Record<string, unknown> = {};
  let n = 0;
  const param = (value: unknown): string => {
    const name = `p${n++}`;
    params[name] = value;
    return `@${name}`;
  };
  const parts = clauses.map((clause) => {
    const path = param(jsonPath(clause.field));
    // Predicate on a JSON value `v` of JSON type `t` (json_type names: integer, real, text, true, false, null, …).
    const predicate = (v: string, t: string): string => {
      const equals = (x: FilterScalar): string => {
        if (x === null) return `${t} = 'null'`;
        if (x === true) return `${t} = 'true'`;
        if (x === false) return `${t} = 'false'`;
        if (typeof x === 'number') return `(${t} IN ('integer', 'real') AND ${v} = ${param(x)})`;
        return `(${t} = 'text' AND ${v} = ${param(x)})`;
      };
      const anyOf = (values: FilterScalar[]): string => {
        // Long lists go in as one JSON array parameter, so their length never reaches SQLite's variable limit.
        const texts = values.filter((x): x is string => typeof x === 'string');
        const numbers = values.filter((x): x is number => typeof x === 'number');
        const alternatives: string[] = [];
        if (texts.length > 0) alternatives.push(`(${t} = 'text' AND ${v} IN (SELECT value FROM json_each(${param(JSON.stringify(texts))})))`);
        if (numbers.length > 0) alternatives.push(`(${t} IN ('integer', 'real') AND ${v} IN (SELECT value FROM json_each(${param(JSON.stringify(numbers))})))`);
        for (const literal of [true, false, null]) if (values.includes(literal)) alternatives.push(equals(literal));
        return `(${alternatives.join(' OR ')})`;
      };
      const range = (sql: string): string => `(${t} IN ('integer', 'real') AND ${v} ${sql} ${param(clause.value)})`;
      switch (clause.op) {
        case 'eq':
        case 'ne':
          return equals(clause.value as FilterScalar);
        case 'in':
        case 'notIn':
          return anyOf(clause.value as FilterScalar[]);
        case 'gt':
          return range('>');
        case 'gte':
          return range('>=');
        case 'lt':
          return range('<');
        case 'lte':
          return range('<=');
      }
    };
    // Scalars are compared directly; arrays match when any element does. Objects never match
    // (json_each would otherwise walk their members).
    const positive =
      `(CASE json_type(d.metadata, ${path}) ` +
      `WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(d.metadata, ${path}) AS e WHERE ${predicate('e.value', 'e.type')}) ` +
      `ELSE coalesce(${predicate(`json_extract(d.metadata, ${path})`, `json_type(d.metadata, ${path})`)}, 0) END)`;
    return clause.op === 'ne' || clause.op === 'notIn' ? `NOT ${positive}` : positive;
  });
  return { where: parts.join(' AND '), params, key: JSON.stringify(clauses) };
}

// ---- CLI syntax ---------------------------------------------------------------------------------

const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** A CLI value: a JSON scalar when it is one, else the text itself. */
function parseValue(text: string, condition: string): FilterScalar {
  const t = text.trim();
  if (t.length === 0) throw bad(`missing value in ${JSON.stringify(condition)}`);
  if (t.startsWith('"')) {
    try {
      const value = JSON.parse(t) as unknown;
      if (typeof value === 'string') return value;
    } catch {
      // Reported below.
    }
    throw bad(`unterminated or invalid quoted value in ${JSON.stringify(condition)}`);
  }
  if (NUMBER.test(t)) {
    const value = Number(t);
    if (!Number.isFinite(value)) throw bad(`number out of range in ${JSON.stringify(condition)}`);
    return value;
  }
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  return t;
}

/** Splits `a, "b,c", 3` on commas outside quoted strings. */
function parseList(text: string, condition: string): FilterScalar[] {
  const items: FilterScalar[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    let end: number;
    if (text[i] === '"') {
      end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      end = Math.min(text.length, end + 1);
      items.push(parseValue(text.slice(i, end), condition));
      while (text[end] === ' ' || text[end] === '\t') end++;
      if (end < text.length && text[end] !== ',') throw bad(`expected a comma after a quoted value in ${JSON.stringify(condition)}`);
    } else {
      end = text.indexOf(',', i);
      if (end < 0) end = text.length;
      items.push(parseValue(text.slice(i, end), condition));
    }
    if (end >= text.length) break;
    i = end + 1;
    if (items.length > FILTER_LIMITS.maxListValues) throw bad(`more than ${FILTER_LIMITS.maxListValues} values in ${JSON.stringify(condition)}`);
  }
  return items;
}

const COMPARISON = /^\s*([^\s=<>!]+)\s*(>=|<=|!=|==|=|>|<)(.*)$/s;
const MEMBERSHIP = /^\s*([^\s=<>!]+)\s+(not\s+in|in)\s+(.*)$/is;

/** `filter` after the checks a search would make, so a bad value (a quoted `"\ud800"`, a value too long) is reported when it is read. */
function checked(filter: Filter): Filter {
  normaliseFilter(filter);
  return filter;
}

/**
 * Parses one CLI condition (`year>=2010`, `lang=en`, `tag in a,b`, `tag not in x`) or a JSON
 * filter object (text starting with `{`) into a `Filter`.
 */
export function parseFilterCondition(text: string): Filter {
  if (typeof text !== 'string') throw bad('a condition must be text');
  if (text.trimStart().startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw bad(`invalid JSON filter (${(cause as Error).message})`);
    }
    return checked(value as Filter);
  }
  const membership = MEMBERSHIP.exec(text);
  if (membership !== null) {
    const field = checkField(membership[1]);
    const values = parseList(membership[3], text);
    return checked({ [field]: { [/^not/i.test(membership[2]) ? 'notIn' : 'in']: values } });
  }
  const comparison = COMPARISON.exec(text);
  if (comparison === null) throw bad(`cannot read ${JSON.stringify(text)}; write field, operator and value, e.g. "year>=2010", "lang=en" or "tag in a,b"`);
  const field = checkField(comparison[1]);
  const value = parseValue(comparison[3], text);
  const op = comparison[2];
  if (op === '=' || op === '==') return checked({ [field]: { eq: value } });
  if (op === '!=') return checked({ [field]: { ne: value } });
  const name = ({ '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' } as const)[op as '<' | '<=' | '>' | '>='];
  return { [field]: { [name]: checkNumber(value, field, op) } };
}
