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
  if (withExact) command.option('--exact [method]', 'exact search instead of approximate: exhaustive (default) or maxscore');
  return command;
}

/** The search options given on the command line, `--exact` included as `mode`. */
export function searchOptionsFrom<T>(command: Command, table: OptionsTable<T>): Partial<T> & { mode?: SearchMode; targetRecall?: number } {
  const options = { ...tableOptionsFrom(command, table), ...tableOptionsFrom(command, CALIBRATED_SEARCH_OPTIONS) };
  const exact = command.opts().exact as string | boolean | undefined;
  return exact === undefined ? options : { ...options, mode: searchModeFrom(exact) };
}

/** The search mode an `--exact [method]` flag value selects. */
function searchModeFrom(exact: string | boolean): SearchMode {
  if (exact === false) return 'approximate';
  const mode = exact === true ? 'exhaustive' : exact;
  if (mode !== 'exhaustive' && mode !== 'maxscore') throw new SpladexError('E_OPTION', '--exact takes exhaustive or maxscore');
  return mode;
}
