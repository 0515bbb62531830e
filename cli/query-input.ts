/**
 * How `search --queries`, `eval` and `bench` read a query file: its format (`--query-format`: BEIR
 * JSONL, TREC/Anserini topic TSV, Anserini/Pyserini pretokenized impact topics), the vocabulary of
 * `{"indices", "values"}` vectors (`--vocab`, default the index's stored tokenizer), and the queries'
 * term space (`--term-space`, `--allow-term-space-mismatch`). One helper, so the three commands take
 * the same flags with the same meaning.
 */
import type { Command } from 'commander';
import { LOAD_QUERIES_OPTIONS, TERM_SPACE_OPTIONS, openIndexVocabulary, readVocabulary, type QueryFileFormat, type TermSpaceOptions, type Vocabulary } from '../src/index.js';
import { addTableOptions, tableOptionsFrom } from './table-options.js';

/** Help of every `--queries <file>`: the formats the reader takes. */
export const QUERY_FILE_HELP =
  'file of queries: JSONL {"id", "vector": {token: weight}} (Seismic, Pyserini), {"id"?, "indices": [...], "values": [...]} (fastembed, Qdrant, Milvus; see --vocab) ' +
  'or {"_id"|"id", "text"} (BEIR) lines, or TREC/Anserini topics "qid<TAB>text" (*.tsv; see --query-format); text needs an index built from text';

/** What the query reader and the searches of one command get from its flags. */
export interface QueryInput {
  /** `--query-format` when given (default: the reader's `auto`). */
  format?: QueryFileFormat;
  /** The vocabulary of token-id vectors, loaded on first use: `--vocab`, else the index's tokenizer. */
  vocabulary: () => Promise<Vocabulary>;
  /**
   * The queries' term space for the searches, read after the queries: `--term-space`, else the
   * space of the vocabulary token ids were mapped through (when one was loaded), and the escape hatch.
   */
  termSpace: () => TermSpaceOptions;
  /**
   * Adds the term-space fields to a search options object, and keeps them current: when token ids
   * are mapped through a vocabulary later (a streamed query file), its space is set on the object.
   */
  bind<T extends object>(options: T): T & TermSpaceOptions;
}

/**
 * Adds `--vocab`, `--term-space` and `--allow-term-space-mismatch` to a command, and
 * `--query-format` unless the command already has the whole query-loading table (`bench`).
 */
export function addQueryInputOptions(command: Command, { format = true }: { format?: boolean } = {}): Command {
  if (format) addTableOptions(command, LOAD_QUERIES_OPTIONS, { only: ['format'] });
  command.option('--vocab <file>', 'vocab.txt (one token per line) or tokenizer.json mapping the token ids of {"indices", "values"} query vectors (fastembed, Qdrant, Milvus) to tokens (default: the index\'s stored tokenizer)');
  addTableOptions(command, TERM_SPACE_OPTIONS, { help: { termSpace: "term space of the query vectors, e.g. wordpiece:bert-base-uncased; refused when the index's differs (default: the --vocab's space for token-id vectors, else judged by content)" } });
  return command;
}

/** The query input of a command's flags, for the index at `dir` (`model`: where its model directory is now). */
export function queryInputFrom(command: Command, dir: string, model: string | undefined): QueryInput {
  const { format } = tableOptionsFrom(command, LOAD_QUERIES_OPTIONS);
  const space = tableOptionsFrom(command, TERM_SPACE_OPTIONS);
  const file = command.opts().vocab as string | undefined;
  let loaded: Promise<Vocabulary> | undefined;
  let vocabularySpace: string | undefined;
  const bound: TermSpaceOptions[] = [];
  const termSpace = (): TermSpaceOptions => {
    const name = space.termSpace ?? vocabularySpace;
    return { ...(name === undefined ? {} : { termSpace: name }), ...(space.allowTermSpaceMismatch === undefined ? {} : { allowTermSpaceMismatch: space.allowTermSpaceMismatch }) };
  };
  const vocabulary = (): Promise<Vocabulary> =>
    (loaded ??= (file !== undefined ? readVocabulary(file) : openIndexVocabulary(dir, model === undefined ? {} : { model })).then((v) => {
      vocabularySpace = v.termSpace;
      for (const options of bound) Object.assign(options, termSpace());
      return v;
    }));
  return {
    ...(format === undefined ? {} : { format }),
    vocabulary,
    termSpace,
    bind: <T extends object>(options: T): T & TermSpaceOptions => {
      const withSpace = Object.assign(options, termSpace());
      bound.push(withSpace);
      return withSpace;
    },
  };
}
