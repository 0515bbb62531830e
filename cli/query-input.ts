/**
 * How `search --queries`, `eval` and `bench` read a query file: its format (`--query-format`: BEIR
 * JSONL, TREC/Anserini topic TSV, Anserini/Pyserini pretokenized impact topics), the vocabulary of
 * `{"indices", "values"}` vectors (`--vocab`, default the index's stored tokenizer), and the queries'
 * term space (`--term-space`, `--allow-term-space-mismatch`). One helper, so the three commands take
 * the same flags with the same meaning.
 */
import type { Command } from 'commander';
import {
  LOAD_QUERIES_OPTIONS,
  SpladexError,
  TERM_SPACE_OPTIONS,
  openIndexVocabulary,
  readQueries,
  readVocabulary,
  type QueryFileFormat,
  type QueryRecord,
  type QueryTextEncoder,
  type SparseVectorInput,
  type TermSpaceOptions,
  type Vocabulary,
} from '../src/index.js';
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
  /** `format` and `vocabulary` as the query readers (`readQueries`, `loadQueries`) take them. */
  readOptions: { vocabulary: () => Promise<Vocabulary>; format?: QueryFileFormat };
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
    readOptions: { vocabulary, ...(format === undefined ? {} : { format }) },
    termSpace,
    bind: <T extends object>(options: T): T & TermSpaceOptions => {
      const withSpace = Object.assign(options, termSpace());
      bound.push(withSpace);
      return withSpace;
    },
  };
}

/** Text query lines are encoded (and searched) this many at a time, in file order. */
const TEXT_BATCH = 256;

/**
 * Reads the query file `file` in the formats of `input`, in file order, and hands `answer` each
 * batch of lines with their vectors: text lines wait to be encoded together, `TEXT_BATCH` at a
 * time, by `encoder` (an index without an encoder is reported at the first text line), while
 * vector-only stretches are answered line by line. One loop for every command that prints answers
 * as it reads (local, OpenSearch).
 */
export async function forEachQueryBatch(
  file: string,
  input: QueryInput,
  encoder: () => Promise<QueryTextEncoder>,
  answer: (batch: readonly QueryRecord[], vectors: SparseVectorInput[]) => Promise<void> | void,
): Promise<void> {
  let pending: QueryRecord[] = [];
  let texts = 0;
  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    texts = 0;
    const textLines = batch.filter((q) => q.vector === undefined);
    let encoded: SparseVectorInput[] = [];
    if (textLines.length > 0) {
      const opened = await encoder().catch((error: unknown) => {
        if (error instanceof SpladexError && error.code === 'E_INPUT_VECTOR') throw new SpladexError(error.code, error.message, { file, line: textLines[0].line });
        throw error;
      });
      encoded = await opened.encodeQueries(textLines.map((q) => q.text as string));
    }
    let t = 0;
    await answer(batch, batch.map((q) => q.vector ?? encoded[t++]));
  };
  for await (const query of readQueries(file, input.readOptions)) {
    pending.push(query);
    if (query.vector === undefined) texts++;
    if (texts === 0 || texts >= TEXT_BATCH) await flush();
  }
  if (pending.length > 0) await flush();
}
