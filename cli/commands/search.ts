/**
 * `spladex search <dir> [query] --queries <file>`: searches an index with sparse-vector queries
 * (a JSONL file, or one inline JSON vector) and prints json, trec or table output.
 */
import type { Command } from 'commander';
import { SpladexError } from '../../src/errors.js';
import { readQueries, validateVector } from '../../src/io/documents.js';
import { SEARCH_DEFAULTS, type SearchMode } from '../../src/query/options.js';
import { parseFilterCondition, type Filter } from '../../src/index/filter.js';
import { FILTER_SEARCH_DEFAULTS, SpladexIndex } from '../../src/spladex-index.js';
import type { SearchHit, SparseVectorInput } from '../../src/types.js';
import { action, choice, parseInteger, parseNumber, writeLine } from '../util.js';

export type OutputFormat = 'json' | 'trec' | 'table';

export function formatHits(queryId: string, hits: SearchHit[], format: OutputFormat, tag: string): string {
  if (format === 'json') return JSON.stringify({ id: queryId, hits });
  if (format === 'trec') return hits.map((h, i) => `${queryId} Q0 ${h.id} ${i + 1} ${h.score.toFixed(6)} ${tag}`).join('\n');
  const rows = hits.map((h, i) => `${String(i + 1).padStart(4)}  ${h.score.toFixed(4).padStart(10)}  ${h.id}`);
  return [`query ${queryId}`, `rank       score  id`, ...rows].join('\n');
}

/** Parses an inline query: a JSON object of token → weight. */
export function parseInlineQuery(text: string): SparseVectorInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SpladexError('E_INPUT_JSON', `inline query is not a JSON vector (e.g. '{"brother": 2.4, "paula": 1.1}')`);
  }
  return validateVector(value, { file: '<inline query>' });
}

export function register(program: Command): void {
  program
    .command('search')
    .description('search an index with sparse-vector queries')
    .argument('<dir>', 'index directory')
    .argument('[query]', 'one query given inline as a JSON vector, e.g. \'{"paula": 2.1, "brother": 1.4}\'')
    .option('--queries <file>', 'JSONL file of queries ({"id", "vector": {token: weight}}); "-" reads stdin')
    .option('--k <n>', 'results per query', parseInteger, SEARCH_DEFAULTS.k)
    .option('--query-cut <n>', 'posting lists traversed: the n heaviest query terms (0 = all)', parseInteger, SEARCH_DEFAULTS.queryCut)
    .option('--heap-factor <f>', 'skip a block whose summary bound is below f × the k-th best score, in (0, 1]', parseNumber, SEARCH_DEFAULTS.heapFactor)
    .option('--exact [method]', 'exact search instead of approximate: exhaustive (default) or maxscore')
    .option('--format <format>', 'output: json (one line per query) | trec (run file) | table', choice(['json', 'trec', 'table'] as const), 'table')
    .option('--run-tag <tag>', 'run tag of trec output', 'spladex')
    .option(
      '--filter <condition>',
      'only documents whose metadata matches, e.g. "year>=2010", "lang=en", "tag in a,b", "lang!=de" or a JSON filter object; repeat to require several',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--filter-exact-below <n>', 'per segment, score the filtered documents one by one when at most n pass the filter', parseInteger, FILTER_SEARCH_DEFAULTS.filterExactBelow)
    .action(
      action(async (dir: string, inline: string | undefined, opts: Record<string, unknown>) => {
        if ((inline === undefined) === (opts.queries === undefined)) {
          throw new SpladexError('E_OPTION', 'give either one inline query or --queries <file>');
        }
        let mode: SearchMode = 'approximate';
        if (opts.exact !== undefined) {
          mode = opts.exact === true ? 'exhaustive' : (opts.exact as SearchMode);
          if (mode !== 'exhaustive' && mode !== 'maxscore') throw new SpladexError('E_OPTION', '--exact takes exhaustive or maxscore');
        }
        const filters: Filter[] = (opts.filter as string[]).map(parseFilterCondition);
        const searchOptions = {
          k: opts.k as number,
          queryCut: opts.queryCut as number,
          heapFactor: opts.heapFactor as number,
          mode,
          ...(filters.length > 0 ? { filter: filters, filterExactBelow: opts.filterExactBelow as number } : {}),
        };
        const format = opts.format as OutputFormat;
        const tag = opts.runTag as string;
        const index = SpladexIndex.open(dir);
        try {
          if (inline !== undefined) {
            writeLine(formatHits('query', index.search(parseInlineQuery(inline), searchOptions), format, tag));
            return;
          }
          const queryFile = opts.queries as string;
          for await (const query of readQueries(queryFile)) {
            if (query.vector === undefined) {
              throw new SpladexError('E_INPUT_VECTOR', 'text queries need an index built from text with an encoder; this line has no "vector"', { file: queryFile, line: query.line });
            }
            writeLine(formatHits(query.id, index.search(query.vector, searchOptions), format, tag));
          }
        } finally {
          index.close();
        }
      }),
    );
}
