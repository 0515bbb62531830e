/**
 * TREC text formats: relevance judgements (qrels) and run files.
 *
 * qrels: one judgement per line, `qid iter docid rel` (iter is ignored, usually 0; rel is an integer
 * grade, ≤ 0 meaning not relevant). Runs: `qid Q0 docid rank score tag`. Fields are separated by any
 * run of spaces or tabs; blank lines are skipped; Windows line ends are accepted.
 */

import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

import { SpladexError, type SpladexErrorCode } from '../errors.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';
import type { SearchHit } from '../types.js';

/**
 * Error code for a line that does not follow the TREC format. errors.ts has no format-neutral
 * "malformed line" code yet; `E_INPUT_JSON` is its closest relative ("a line of line-oriented input
 * does not parse"). Kept in one place so it can change with errors.ts.
 */
export const TREC_FORMAT_ERROR: SpladexErrorCode = 'E_INPUT_JSON';

/** Relevance judgements: query id → (document id → grade). */
export type Qrels = Map<string, Map<string, number>>;

/** One line of a run file. */
export interface RunEntry {
  docId: string;
  /** Rank as written in the file (trec_eval ignores it). */
  rank: number;
  score: number;
}

/** A parsed run: query id → entries in evaluation order (see {@link RunOrder}). */
export type Run = Map<string, RunEntry[]>;

/**
 * How the entries of a parsed run are ordered for evaluation.
 * - `'trec_eval'`: by score descending, ties by document id descending (byte order) — what trec_eval
 *   does, ignoring the rank column. Default.
 * - `'rank'`: by the rank column ascending (ties: file order).
 * - `'file'`: as they appear in the file.
 */
export type RunOrder = 'trec_eval' | 'rank' | 'file';

/** Options of {@link parseRun} / {@link readRun}. */
export interface ParseRunOptions {
  /** Evaluation order of each query's entries. Default `'trec_eval'`. */
  order?: RunOrder;
}

/** Defaults of {@link ParseRunOptions}. */
/** The options of `parseRun`: default and allowed values (see src/util/options-table.ts). */
const PARSE_RUN_OPTIONS: OptionsTable<Required<ParseRunOptions>> = defineOptions<Required<ParseRunOptions>>({
  order: { type: 'enum', values: ['trec_eval', 'rank', 'file'], default: 'trec_eval', flag: false, help: 'evaluation order of the entries of each query' },
});

export const PARSE_RUN_DEFAULTS: Readonly<Required<ParseRunOptions>> = PARSE_RUN_OPTIONS.defaults;

/** Splits text into lines, yielding [1-based line number, fields] for non-blank lines. */
function* fieldsOf(text: string): Generator<[number, string[]]> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim(); // trim also drops a trailing '\r'
    if (line === '') continue;
    yield [i + 1, line.split(/\s+/)];
  }
}

function parseNumber(text: string, what: string, file: string, line: number): number {
  const n = Number(text);
  if (text === '' || !Number.isFinite(n)) {
    throw new SpladexError(TREC_FORMAT_ERROR, `${what} ${JSON.stringify(text)} is not a finite number`, { file, line });
  }
  return n;
}

/**
 * Parses qrels text. `file` only labels error messages. Throws `E_INPUT_JSON` (see
 * {@link TREC_FORMAT_ERROR}) for a malformed line and `E_INPUT_DUPLICATE_ID` for a document judged
 * twice for the same query, naming the file and line.
 */
export function parseQrels(text: string, file = '<qrels>'): Qrels {
  const qrels: Qrels = new Map();
  for (const [line, f] of fieldsOf(text)) {
    if (f.length !== 4) {
      throw new SpladexError(TREC_FORMAT_ERROR, `expected 4 fields "qid iter docid relevance", found ${f.length}; qrels must be in TREC format (a BEIR .tsv needs converting)`, { file, line });
    }
    const rel = parseNumber(f[3], 'relevance', file, line);
    if (!Number.isInteger(rel)) throw new SpladexError(TREC_FORMAT_ERROR, `relevance ${JSON.stringify(f[3])} must be an integer grade`, { file, line });
    let judged = qrels.get(f[0]);
    if (judged === undefined) {
      judged = new Map();
      qrels.set(f[0], judged);
    }
    if (judged.has(f[2])) {
      throw new SpladexError('E_INPUT_DUPLICATE_ID', `document ${f[2]} is judged twice for query ${f[0]}; keep one judgement`, { file, line });
    }
    judged.set(f[2], rel);
  }
  return qrels;
}

/** Reads and parses a qrels file (see {@link parseQrels}); `E_IO` if it cannot be read. */
export async function readQrels(path: string): Promise<Qrels> {
  return parseQrels(await readText(path, 'qrels'), path);
}

/**
 * Parses run text. Throws `E_INPUT_JSON` for a malformed line and `E_INPUT_DUPLICATE_ID` when a
 * document appears twice for one query (its rank would be ambiguous).
 */
export function parseRun(text: string, file = '<run>', options: ParseRunOptions = {}): Run {
  const { order } = PARSE_RUN_OPTIONS.resolve(options);
  const run: Run = new Map();
  const seen = new Map<string, Set<string>>();
  for (const [line, f] of fieldsOf(text)) {
    if (f.length !== 6) {
      throw new SpladexError(TREC_FORMAT_ERROR, `expected 6 fields "qid Q0 docid rank score tag", found ${f.length}`, { file, line });
    }
    const rank = parseNumber(f[3], 'rank', file, line);
    const score = parseNumber(f[4], 'score', file, line);
    let entries = run.get(f[0]);
    let ids = seen.get(f[0]);
    if (entries === undefined || ids === undefined) {
      entries = [];
      ids = new Set();
      run.set(f[0], entries);
      seen.set(f[0], ids);
    }
    if (ids.has(f[2])) throw new SpladexError('E_INPUT_DUPLICATE_ID', `document ${f[2]} appears twice for query ${f[0]}; a run lists each document once per query`, { file, line });
    ids.add(f[2]);
    entries.push({ docId: f[2], rank, score });
  }
  if (order !== 'file') {
    for (const entries of run.values()) {
      // Array.prototype.sort is stable, so 'rank' keeps file order among equal ranks.
      if (order === 'rank') entries.sort((a, b) => a.rank - b.rank);
      else entries.sort((a, b) => b.score - a.score || (a.docId < b.docId ? 1 : a.docId > b.docId ? -1 : 0));
    }
  }
  return run;
}

/** Reads and parses a run file (see {@link parseRun}); `E_IO` if it cannot be read. */
export async function readRun(path: string, options: ParseRunOptions = {}): Promise<Run> {
  return parseRun(await readText(path, 'run'), path, options);
}

/** Query id → ranked document ids: what the metric functions take. */
export type Ranking = ReadonlyMap<string, readonly string[]>;

/** The ranked ids of a parsed run, in its evaluation order. */
export function rankingFromRun(run: Run): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [qid, entries] of run) out.set(qid, entries.map((e) => e.docId));
  return out;
}

/** The ranked ids of search results (already in rank order). */
export function rankingFromHits(results: ReadonlyMap<string, readonly SearchHit[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [qid, hits] of results) out.set(qid, hits.map((h) => h.id));
  return out;
}

/** Default run tag. */
export const DEFAULT_RUN_TAG = 'spladex';

function checkToken(value: string, what: string): void {
  if (value === '' || /\s/.test(value)) {
    throw new SpladexError('E_INPUT_ID', `${what} ${JSON.stringify(value)} cannot be written to a TREC file: it must be non-empty and contain no whitespace`);
  }
}

/**
 * Formats one query's results as run lines `qid Q0 docid rank score tag\n`, ranks from 1 in the
 * given order. Scores are written with full precision (round-trip exact). Throws `E_INPUT_ID` if
 * an id or the tag is empty or contains whitespace.
 */
export function formatRunLines(queryId: string, hits: readonly SearchHit[], tag = DEFAULT_RUN_TAG): string {
  checkToken(queryId, 'query id');
  checkToken(tag, 'run tag');
  let out = '';
  for (let i = 0; i < hits.length; i++) {
    const h = hits[i];
    checkToken(h.id, 'document id');
    out += `${queryId} Q0 ${h.id} ${i + 1} ${String(h.score)} ${tag}\n`;
  }
  return out;
}

/** One query's results for {@link writeRun}. */
export interface RunQueryResults {
  queryId: string;
  hits: readonly SearchHit[];
}

/**
 * Writes a run file, streaming (results may come from an async generator as queries finish).
 * `E_IO` if the file cannot be written.
 */
export async function writeRun(path: string, results: Iterable<RunQueryResults> | AsyncIterable<RunQueryResults>, tag = DEFAULT_RUN_TAG): Promise<void> {
  const out = createWriteStream(path, { encoding: 'utf8' });
  let failure: unknown;
  out.on('error', (e) => {
    failure = e;
  });
  try {
    for await (const r of results) {
      if (failure !== undefined) break;
      if (!out.write(formatRunLines(r.queryId, r.hits, tag))) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            out.off('drain', done);
            out.off('error', done);
            resolve();
          };
          out.once('drain', done);
          out.once('error', done);
        });
      }
    }
  } catch (e) {
    out.destroy();
    throw e;
  }
  if (failure === undefined) {
    await new Promise<void>((resolve) => out.end(resolve));
  }
  if (failure !== undefined) throw new SpladexError('E_IO', 'cannot write the run file; check the path, permissions and free space', { file: path, cause: failure });
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new SpladexError('E_IO', `cannot read the ${what} file; check the path`, { file: path, cause });
  }
}
