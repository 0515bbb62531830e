/**
 * IDF tables (term → inverse document frequency), stored by the index next to the encoder spec so
 * queries are weighted like the index was built.
 */

import { readFile } from 'node:fs/promises';
import { SpladexError } from '../errors.js';
import { sha256Bytes } from './checksum.js';

/** term → idf. A Map, not an object: terms such as "constructor" or "__proto__" are ordinary keys. */
export type IdfTable = ReadonlyMap<string, number>;

/** BM25 (Lucene/Anserini) IDF: ln(1 + (N − df + 0.5) / (df + 0.5)); always > 0. */
export function bm25Idf(documentCount: number, documentFrequency: number): number {
  return Math.log(1 + (documentCount - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

/** Reads an `idf.json` file ({"token": idf, ...}); returns the table and the file's SHA-256. */
export async function readIdfJson(path: string): Promise<{ table: Map<string, number>; sha256: string }> {
  let body: string;
  try {
    body = await readFile(path, 'utf8');
  } catch (cause) {
    throw new SpladexError('E_MODEL', `cannot read the IDF file: ${(cause as Error).message}`, { file: path, cause });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (cause) {
    throw new SpladexError('E_MODEL', `the IDF file is not valid JSON: ${(cause as Error).message}`, { file: path, cause });
  }
  return { table: idfTableFromJson(raw, path), sha256: sha256Bytes(body) };
}

/** Validates a parsed `{ token: idf }` object; E_MODEL names the first bad entry. */
export function idfTableFromJson(raw: unknown, file?: string): Map<string, number> {
  const where = file === undefined ? {} : { file };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SpladexError('E_MODEL', 'an IDF table must be a JSON object mapping each token to a number', where);
  }
  const table = new Map<string, number>();
  for (const [token, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new SpladexError('E_MODEL', `IDF of ${JSON.stringify(token)} must be a finite number ≥ 0, got ${JSON.stringify(value)}`, where);
    }
    table.set(token, value);
  }
  return table;
}

/** A JSON-serialisable copy of a table (for writing it to disk). */
export function idfTableToJson(table: IdfTable): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [token, idf] of table) {
    if (token === '__proto__') Object.defineProperty(out, token, { value: idf, enumerable: true, writable: true, configurable: true });
    else out[token] = idf;
  }
  return out;
}
