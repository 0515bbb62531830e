/**
 * `spladex search <dir> [query] --queries <file>`: searches an index with queries given inline (a
 * JSON vector, or free text) or in a JSONL file (vector or text lines) and prints json, trec or
 * table output, with the stored fields asked for (`--fields`) and each hit's per-term
 * contributions (`--explain`). Text is encoded with the encoder stored in the index (indexes
 * built with `spladex index --input text`).
 */
import type { Command } from 'commander';
import {
  SpladexError,
  validateVector,
  parseFilterCondition,
  type Filter,
  type SearchHit,
  type SparseVectorInput,
  FILTER_SEARCH_OPTIONS,
  SEARCH_OPTIONS,
  SpladexIndex,
  checkFieldsExist,
  hitsWithFields,
  parseFields,
  type FieldPath,
  type IndexReader,
} from '../../src/index.js';
import { action, choice, writeLine } from '../util.js';
import { addSearchOptions, queryTakenByExact, searchOptionsFrom } from '../search-options.js';
import { addTableOptions, tableOptionsFrom } from '../table-options.js';
import { addQueryInputOptions, forEachQueryBatch, QUERY_FILE_HELP, queryInputFrom } from '../query-input.js';
import { addFusionOptions, fusionFrom, searchFused } from '../fusion-options.js';
import { addEngineOptions, engineFrom, searchCluster } from '../engine-options.js';
import { formatHits, type OutputFormat, type PrintedHit } from '../hit-format.js';

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

/** What hits carry besides id and score: stored fields (`--fields`), explanations (`--explain`). */
class HitDecorator {
  /** Unknown fields are refused once, on the first hits (an unknown name is unknown for every query). */
  private fieldsChecked = false;

  constructor(
    private readonly index: IndexReader,
    readonly fields: FieldPath[] | undefined,
    private readonly explain: boolean,
    /** Tables show a snippet of the stored text by default, so they read the documents anyway. */
    private readonly snippets: boolean,
  ) {}

  /** The hits of each query with what was asked for; `vectors[q]` is query q as searched. */
  decorate(vectors: readonly SparseVectorInput[], results: SearchHit[][]): PrintedHit[][] {
    let printed: PrintedHit[][] = results;
    const fields = this.fields ?? (this.snippets ? parseFields('content') : undefined);
    if (fields !== undefined) {
      const ids = [...new Set(results.flatMap((hits) => hits.map((h) => h.id)))];
      const documents = new Map(ids.map((id) => [id, this.index.getDocument(id)]));
      if (this.fields !== undefined && !this.fieldsChecked && ids.length > 0) {
        checkFieldsExist(this.fields, documents.values(), () => this.index.documents());
        this.fieldsChecked = true;
      }
      printed = results.map((hits) => hitsWithFields(hits, documents, fields));
    }
    if (this.explain) printed = printed.map((hits, q) => hits.map((hit) => ({ ...hit, explain: this.index.explain(vectors[q], hit.id)?.terms ?? [] })));
    return printed;
  }
}

export function register(program: Command): void {
  const command = addSearchOptions(program.command('search'), SEARCH_OPTIONS);
  command
    .description('search an index with sparse-vector queries, or with free text on an index built from text (encoded with its stored encoder)')
    .argument('<dir>', 'index directory')
    .argument('[query]', 'one query given inline: a JSON vector, e.g. \'{"paula": 2.1, "brother": 1.4}\', or free text (indexes built from text), e.g. "what causes sleep loss"')
    .option('--queries <file>', `${QUERY_FILE_HELP}; "-" reads stdin`)
    .option('--model <dir>', "where the index's model directory is now (text queries; its checksum must match the build)")
    .option('--format <format>', 'output: json (one line per query) | trec (run file) | table', choice(['json', 'trec', 'table'] as const), 'table')
    .option('--run-tag <tag>', 'run tag of trec output', 'spladex')
    .option(
      '--fields <list>',
      'stored fields of each hit, e.g. id,score,content,metadata.year (a bare name is a metadata key: year = metadata.year); json prints them in full, a table one line each (default: table rank, score, id and a snippet of the content when stored; json id and score)',
      (value: string) => parseFields(value),
    )
    .option('--explain', "each hit's score term by term: query weight × stored document weight = product, largest first (json: an explain array per hit)")
    .option(
      '--filter <condition>',
      'only documents whose metadata matches, e.g. "year>=2010", "lang=en", "tag in a,b", "lang!=de" or a JSON filter object; repeat to require several',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    );
  addTableOptions(command, FILTER_SEARCH_OPTIONS);
  addFusionOptions(command);
  addEngineOptions(command);
  addQueryInputOptions(command);
  command
    .action(
      action(async (dir: string, given: string | undefined, opts: Record<string, unknown>) => {
        const inline = queryTakenByExact(command, given !== undefined || opts.queries !== undefined) ?? given;
        if ((inline === undefined) === (opts.queries === undefined)) {
          throw new SpladexError('E_OPTION', 'give either one inline query or --queries <file>');
        }
        const filters: Filter[] = (opts.filter as string[]).map(parseFilterCondition);
        const input = queryInputFrom(command, dir, opts.model as string | undefined);
        const searchOptions = input.bind({
          ...searchOptionsFrom(command, SEARCH_OPTIONS),
          ...(filters.length > 0 ? { filter: filters, ...tableOptionsFrom(command, FILTER_SEARCH_OPTIONS) } : {}),
        });
        const format = opts.format as OutputFormat;
        const tag = opts.runTag as string;
        const fields = opts.fields as FieldPath[] | undefined;
        const explain = opts.explain === true;
        if (format === 'trec' && (fields !== undefined || explain)) throw new SpladexError('E_OPTION', `${fields !== undefined ? '--fields' : '--explain'} needs --format json or table: a TREC run holds ids and scores only`);
        const cluster = engineFrom(command);
        if (cluster !== undefined) {
          if (explain) throw new SpladexError('E_OPTION', '--explain needs the local index: leave out --engine opensearch');
          const parsed = inline === undefined ? undefined : parseInlineQuery(inline);
          return searchCluster(cluster, { dir, inline: parsed, queries: opts.queries as string | undefined, model: opts.model as string | undefined, searchOptions, filters, format, tag, fields, queryInput: input });
        }
        const fusion = fusionFrom(command);
        if (fusion !== undefined) {
          if (fields !== undefined || explain) throw new SpladexError('E_OPTION', `${fields !== undefined ? '--fields' : '--explain'} does not apply to fused results (--fuse); search one index for them`);
          const parsed = inline === undefined ? undefined : parseInlineQuery(inline);
          return searchFused(fusion, { dir, inline: parsed, queries: opts.queries as string | undefined, model: opts.model as string | undefined, searchOptions, format, tag });
        }
        const index = SpladexIndex.open(dir, opts.model === undefined ? {} : { encoder: { model: opts.model as string } });
        const decorator = new HitDecorator(index, fields, explain, format === 'table');
        const print = (queryId: string | undefined, hits: PrintedHit[]): void => writeLine(formatHits(queryId, hits, format, tag, fields));
        try {
          if (inline !== undefined) {
            const query = parseInlineQuery(inline);
            if (typeof query === 'string' && !explain) {
              print(undefined, decorator.decorate([], [await index.searchText(query, searchOptions)])[0]);
              return;
            }
            // An explanation needs the query vector as searched: text is encoded here, as searchText would.
            const vector = typeof query === 'string' ? (await (await index.encoder()).encodeQueries([query]))[0] : query;
            print(undefined, decorator.decorate([vector], [index.search(vector, searchOptions)])[0]);
            return;
          }
          await forEachQueryBatch(opts.queries as string, input, () => index.encoder(), (batch, vectors) => {
            const results = decorator.decorate(vectors, index.searchBatch(vectors, searchOptions));
            batch.forEach((q, i) => print(q.id, results[i]));
          });
        } finally {
          index.close();
        }
      }),
    );
}
