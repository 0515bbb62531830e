/**
 * How `search` and `get` print hits and stored documents: json lines with full fields, trec runs,
 * and tables a person can read — stored text as a one-line snippet, explanations as a breakdown
 * under each hit.
 */
import { fieldValue, type Explanation, type FieldPath, type HitWithFields } from '../src/index.js';

export type OutputFormat = 'json' | 'trec' | 'table';

/** A hit as printed: its stored fields (if asked for) and its explanation (if asked for). */
export type PrintedHit = HitWithFields & { explain?: Explanation['terms'] };

/** Characters of a stored string shown in a table cell. */
const SNIPPET = 60;
/** Terms of an explanation shown under a hit in a table; json lists all. */
const TABLE_TERMS = 10;

/** One line of at most `width` characters: whitespace collapsed, an ellipsis where it was cut. */
export function snippet(value: unknown, width = SNIPPET): string {
  if (value === undefined) return '';
  const text = (typeof value === 'string' ? value : JSON.stringify(value)).replace(/\s+/g, ' ').trim();
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** Rows of cells as aligned columns (two spaces apart; numbers right-aligned); the last column is not padded. */
function columns(header: readonly string[], rows: readonly string[][], right: readonly boolean[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (c === cells.length - 1 && !right[c] ? cell : right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The breakdown of a hit's score under its row: the heaviest products, then what the other terms add. */
function explanationLines(terms: Explanation['terms'], score: number): string[] {
  const shown = terms.slice(0, TABLE_TERMS);
  const width = Math.max(4, ...shown.map((t) => t.term.length));
  const lines = shown.map((t) => `      ${t.term.padEnd(width)}  ${t.queryWeight.toFixed(4).padStart(9)} × ${t.documentWeight.toFixed(4).padStart(9)} = ${t.product.toFixed(4).padStart(10)}`);
  const rest = terms.slice(TABLE_TERMS);
  if (rest.length > 0) lines.push(`      … ${rest.length} more term${rest.length === 1 ? '' : 's'}, together ${rest.reduce((sum, t) => sum + t.product, 0).toFixed(4)}`);
  lines.push(`      ${'sum'.padEnd(width)}  ${''.padStart(9)}   ${''.padStart(9)} = ${score.toFixed(4).padStart(10)} (${terms.length} matching term${terms.length === 1 ? '' : 's'})`);
  return lines;
}

/**
 * The table of one query's hits: rank, then the fields asked for (default: score, id and, when
 * the hits have stored text, a snippet of it), and each hit's explanation under its row.
 */
function hitTable(hits: readonly PrintedHit[], fields: readonly FieldPath[] | undefined): string[] {
  const defaults: FieldPath[] = [
    { name: 'score', path: ['score'] },
    { name: 'id', path: ['id'] },
    ...(hits.some((h) => h.content !== undefined) ? [{ name: 'content', path: ['content'] }] : []),
  ];
  const shown = fields ?? defaults;
  const header = ['rank', ...shown.map((f) => f.name)];
  const right = [true, ...shown.map((f) => f.path[0] === 'score' || hits.every((h) => typeof fieldValue(h, f) === 'number' || fieldValue(h, f) === undefined))];
  const cell = (hit: PrintedHit, f: FieldPath): string => (f.path[0] === 'score' ? hit.score.toFixed(4) : snippet(fieldValue(hit, f)));
  const rows = hits.map((hit, i) => [String(i + 1), ...shown.map((f) => cell(hit, f))]);
  const [head, ...body] = columns(header, rows, right);
  if (hits.every((h) => h.explain === undefined)) return [head, ...body];
  return [head, ...body.flatMap((row, i) => [row, ...explanationLines(hits[i].explain ?? [], hits[i].score)])];
}

/**
 * One query's hits in `format`. `queryId` undefined: an inline query (json says "query", a table
 * has no query line, trec names it "query").
 */
export function formatHits(queryId: string | undefined, hits: readonly PrintedHit[], format: OutputFormat, tag: string, fields?: readonly FieldPath[]): string {
  const id = queryId ?? 'query';
  if (format === 'json') return JSON.stringify({ id, hits });
  if (format === 'trec') return hits.map((h, i) => `${id} Q0 ${h.id} ${i + 1} ${h.score.toFixed(6)} ${tag}`).join('\n');
  const lines = hits.length === 0 ? ['(no hits)'] : hitTable(hits, fields);
  return (queryId === undefined ? lines : [`query ${queryId}`, ...lines]).join('\n');
}

/** A stored document as a block of `field  value` lines, in full; fields it lacks are left out, as json leaves them out. */
export function documentBlock(document: object, fields: readonly FieldPath[]): string {
  const present = fields.flatMap((f) => {
    const value = fieldValue(document, f);
    return value === undefined ? [] : [{ name: f.name, text: typeof value === 'string' ? value : JSON.stringify(value) }];
  });
  const width = Math.max(...present.map((f) => f.name.length));
  return present.map((f) => `${f.name.padEnd(width)}  ${f.text}`.trimEnd()).join('\n');
}
