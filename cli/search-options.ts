/** Query-time flags shared by every command that searches (search, eval, bench). */
import type { Command } from 'commander';
import { SpladexError, SEARCH_DEFAULTS, type SearchMode } from '../src/index.js';
import { parseInteger, parseNumber } from './util.js';

export interface SearchFlagsOptions {
  /** Help text of `--k`. */
  kMeaning: string;
  /** Default of `--k`. Default `SEARCH_DEFAULTS.k`. */
  kDefault?: number;
  /** Whether to add `--exact [method]`. Default true. */
  withExact?: boolean;
}

/** Adds `--k`, `--query-cut`, `--heap-factor`, `--knn` and (optionally) `--exact [method]`, with the library's defaults. */
export function addSearchOptions(command: Command, { kMeaning, kDefault = SEARCH_DEFAULTS.k, withExact = true }: SearchFlagsOptions): Command {
  command
    .option('--k <n>', kMeaning, parseInteger, kDefault)
    .option('--query-cut <n>', 'posting lists traversed: the n heaviest query terms (0 = all)', parseInteger, SEARCH_DEFAULTS.queryCut)
    .option('--heap-factor <f>', 'skip a block whose summary bound is below f × the k-th best score, in (0, 1]', parseNumber, SEARCH_DEFAULTS.heapFactor)
    .option('--knn <n>', 'also score the first n stored nearest neighbours of each result (κ-NN graph; 0 = off)', parseInteger, SEARCH_DEFAULTS.knn);
  if (withExact) command.option('--exact [method]', 'exact search instead of approximate: exhaustive (default) or maxscore');
  return command;
}

/** The search mode an `--exact [method]` flag value selects. */
export function searchModeFrom(exact: string | boolean | undefined): SearchMode {
  if (exact === undefined || exact === false) return 'approximate';
  const mode = exact === true ? 'exhaustive' : exact;
  if (mode !== 'exhaustive' && mode !== 'maxscore') throw new SpladexError('E_OPTION', '--exact takes exhaustive or maxscore');
  return mode;
}
