/** Query-time flags shared by every command that searches (search, eval, bench). */
import type { Command } from 'commander';
import { CALIBRATED_SEARCH_OPTIONS, SpladexError, type OptionsTable, type SearchMode } from '../src/index.js';
import { addTableOptions, tableOptionsFrom } from './table-options.js';

/**
 * Adds the flags of a search table (`SEARCH_OPTIONS`, or eval's and bench's versions of it:
 * `--k`, `--query-cut`, `--heap-factor`, `--graph-neighbors` and its old name `--knn`), the recall
 * target `--target-recall` of a calibrated index, and, with
 * `withExact`, `--exact [method]`, which sets the mode (the tables' `mode` has no flag).
 */
export function addSearchOptions<T>(command: Command, table: OptionsTable<T>, { withExact = true }: { withExact?: boolean } = {}): Command {
  addTableOptions(command, table);
  addTableOptions(command, CALIBRATED_SEARCH_OPTIONS);
  if (withExact) command.option('--exact [method]', 'exact search instead of approximate: exhaustive (default) or maxscore (--exact=maxscore, or --exact maxscore)');
  return command;
}

/** The search options given on the command line, `--exact` included as `mode`. */
export function searchOptionsFrom<T>(command: Command, table: OptionsTable<T>): Partial<T> & { mode?: SearchMode; targetRecall?: number } {
  const options = { ...tableOptionsFrom(command, table), ...tableOptionsFrom(command, CALIBRATED_SEARCH_OPTIONS) };
  const exact = command.opts().exact as string | boolean | undefined;
  return exact === undefined ? options : { ...options, mode: searchModeFrom(exact) };
}

const EXACT_METHODS = ['exhaustive', 'maxscore'] as const;

/** Levenshtein distance, for telling a mistyped method from a query. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}

/** The method a value looks like a misspelling of (within two edits, or its first three letters or more), if any. */
function nearMethod(value: string): string | undefined {
  const word = value.trim().toLowerCase();
  return EXACT_METHODS.find((m) => editDistance(word, m) <= 2 || (word.length >= 3 && m.startsWith(word)));
}

/** The error of an `--exact` value that is not a method. */
function exactMethodError(value: string, why: string): SpladexError {
  const near = nearMethod(value);
  return new SpladexError('E_OPTION', `--exact takes exhaustive or maxscore, got ${JSON.stringify(value)}${near === undefined ? '' : ` (did you mean ${near}?)`}; ${why}`);
}

/** The search mode an `--exact [method]` flag value selects. */
function searchModeFrom(exact: string | boolean): SearchMode {
  if (exact === false) return 'approximate';
  const mode = exact === true ? 'exhaustive' : exact;
  if (mode !== 'exhaustive' && mode !== 'maxscore') throw exactMethodError(mode, 'write --exact=<method> to be explicit');
  return mode;
}

/**
 * `--exact [method]` takes an optional value, so in `search idx --exact "sleep loss"` commander
 * hands it the query. This gives such a value back as the query when the command has none
 * otherwise (`hasQuery`: an inline query or a query file) and the value is not one a method name
 * was meant as: a near miss (`maxscor`, `exhaust`) stays an error, since searching for it instead
 * would answer silently with the wrong thing. Call before `searchOptionsFrom`.
 */
export function queryTakenByExact(command: Command, hasQuery: boolean): string | undefined {
  const exact = command.opts().exact as string | boolean | undefined;
  if (typeof exact !== 'string' || (EXACT_METHODS as readonly string[]).includes(exact)) return undefined;
  const near = nearMethod(exact);
  if (near !== undefined) throw exactMethodError(exact, `to search for ${JSON.stringify(exact)}, put the query before the flag: search <dir> ${JSON.stringify(exact)} --exact`);
  if (hasQuery) throw exactMethodError(exact, 'a query was given already');
  command.setOptionValueWithSource('exact', true, 'cli');
  return exact;
}
