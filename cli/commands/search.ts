/**
 * `spladex search <dir> [query] --queries <file>`: searches an index with queries given inline (a
 * JSON vector, or free text) or in a JSONL file (vector or text lines) and prints json, trec or
 * table output. Text is encoded with the encoder stored in the index (indexes built with
 * `spladex index --input text`).
 */
import type { Command } from 'commander';
import { SpladexError, readQueries, validateVector, type QueryRecord, parseFilterCondition, type Filter, type SearchHit, type SparseVectorInput, FILTER_SEARCH_OPTIONS, SEARCH_OPTIONS, SpladexIndex } from '../../src/index.js';
import { action, choice, writeLine } from '../util.js';
import { addSearchOptions, searchOptionsFrom } from '../search-options.js';
import { addTableOptions, tableOptionsFrom } from '../table-options.js';

export type OutputFormat = 'json' | 'trec' | 'table';

export function formatHits(queryId: string, hits: SearchHit[], format: OutputFormat, tag: string): string {
  if (format === 'json') return JSON.stringify({ id: queryId, hits });
  if (format === 'trec') return hits.map((h, i) => `${queryId} Q0 ${h.id} ${i + 1} ${h.score.toFixed(6)} ${tag}`).join('\n');
  const rows = hits.map((h, i) => `${String(i + 1).padStart(4)}  ${h.score.toFixed(4).padStart(10)}  ${h.id}`);
  return [`query ${queryId}`, `rank       score  id`, ...rows].join('\n');
}

/**
 * Parses an inline query: a JSON object of token → weight when it starts with "{", else free text
 * (returned as a string, to be encoded with the index's encoder).
 */
export function parseInlineQuery(text: string): SparseVectorInput | string {
  if (!text.trimStart().startsWith('{')) return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SpladexError('E_INPUT_JSON', `inline query starts with "{" but is not a JSON vector (e.g. '{"brother": 2.4, "paula": 1.1}'); free text must not start with "{"`);
  }
  return validateVector(value, { file: '<inline query>' });
}

/** Text query lines are encoded (and searched) this many at a time, in file order. */
const TEXT_BATCH = 256;

export function register(program: Command): void {
  const command = addSearchOptions(program.command('search'), SEARCH_OPTIONS);
  command
    .description('search an index with sparse-vector queries, or with free text on an index built from text (encoded with its stored encoder)')
    .argument('<dir>', 'index directory')
    .argument('[query]', 'one query given inline: a JSON vector, e.g. \'{"paula": 2.1, "brother": 1.4}\', or free text (indexes built from text), e.g. "what causes sleep loss"')
    .option('--queries <file>', 'JSONL file of queries: {"id", "vector": {token: weight}} lines, or {"_id"|"id", "text"} lines on an index built from text; "-" reads stdin')
    .option('--model <dir>', "where the index's model directory is now (text queries; its checksum must match the build)")
    .option('--format <format>', 'output: json (one line per query) | trec (run file) | table', choice(['json', 'trec', 'table'] as const), 'table')
    .option('--run-tag <tag>', 'run tag of trec output', 'spladex')
    .option(
      '--filter <condition>',
      'only documents whose metadata matches, e.g. "year>=2010", "lang=en", "tag in a,b", "lang!=de" or a JSON filter object; repeat to require several',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    );
  addTableOptions(command, FILTER_SEARCH_OPTIONS);
  command
    .action(
      action(async (dir: string, inline: string | undefined, opts: Record<string, unknown>) => {
        if ((inline === undefined) === (opts.queries === undefined)) {
          throw new SpladexError('E_OPTION', 'give either one inline query or --queries <file>');
        }
        const filters: Filter[] = (opts.filter as string[]).map(parseFilterCondition);
        const searchOptions = {
          ...searchOptionsFrom(command, SEARCH_OPTIONS),
          ...(filters.length > 0 ? { filter: filters, ...tableOptionsFrom(command, FILTER_SEARCH_OPTIONS) } : {}),
        };
        const format = opts.format as OutputFormat;
        const tag = opts.runTag as string;
        const index = SpladexIndex.open(dir, opts.model === undefined ? {} : { encoder: { model: opts.model as string } });
        try {
          if (inline !== undefined) {
            const query = parseInlineQuery(inline);
            const hits = typeof query === 'string' ? await index.searchText(query, searchOptions) : index.search(query, searchOptions);
            writeLine(formatHits('query', hits, format, tag));
            return;
          }
          const queryFile = opts.queries as string;
          // Lines are answered in file order; text lines wait for a batch to be encoded together.
          let pending: QueryRecord[] = [];
          let texts = 0;
          const flush = async (): Promise<void> => {
            const batch = pending;
            pending = [];
            texts = 0;
            const textLines = batch.filter((q) => q.vector === undefined);
            let encoded: SparseVectorInput[] = [];
            if (textLines.length > 0) {
              const encoder = await index.encoder().catch((error: unknown) => {
                // Name the first text line of an index without an encoder.
                if (error instanceof SpladexError && error.code === 'E_INPUT_VECTOR') throw new SpladexError(error.code, error.message, { file: queryFile, line: textLines[0].line });
                throw error;
              });
              encoded = await encoder.encodeQueries(textLines.map((q) => q.text as string));
            }
            let t = 0;
            const vectors = batch.map((q) => q.vector ?? encoded[t++]);
            const results = index.searchBatch(vectors, searchOptions);
            batch.forEach((q, i) => writeLine(formatHits(q.id, results[i], format, tag)));
          };
          for await (const query of readQueries(queryFile)) {
            pending.push(query);
            if (query.vector === undefined) texts++;
            // Vector-only stretches are answered line by line, as before.
            if (texts === 0 || texts >= TEXT_BATCH) await flush();
          }
          if (pending.length > 0) await flush();
        } finally {
          index.close();
        }
      }),
    );
}
