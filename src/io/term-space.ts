/**
 * Term spaces: what the token strings of an index mean. A SPLADE model's WordPiece piece `##ing`,
 * a Porter stem `caus` and a user's own feature names are different spaces; a dot product between
 * vectors of two spaces is a number, but not a relevance score. Each index records its space
 * (`Manifest.termSpace`), and queries and added documents from another space are refused
 * (`E_TERM_SPACE`) unless the caller says the mix is intended (`allowTermSpaceMismatch`).
 *
 * Names: `wordpiece:<vocabulary>` (and `bpe:`, `unigram:` … for other tokenizer.json models) for a
 * tokenizer's vocabulary, `analyzer:english-porter` / `analyzer:english` for the English analyzer of
 * lexical BM25, `custom` for vectors whose space nobody declared (never checked). The vocabulary
 * name is `bert-base-uncased` for that vocabulary (recognised by its hash, whichever file it came
 * from), else `vocab-<12 hex digits of the SHA-256 of its tokens>`, so two files holding the same
 * token list name the same space.
 */
import { createHash } from 'node:crypto';
import { SpladexError } from '../errors.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

/** The space of vectors nobody declared: never compared, never refused. */
export const CUSTOM_TERM_SPACE = 'custom';

/** SHA-256 of a token list (tokens in id order, joined by "\n") → the vocabulary's well-known name. */
const KNOWN_VOCABULARIES: ReadonlyMap<string, string> = new Map([['0f052197aac305fe42f378b5c61554b7bacb34b8be4af83fec2cfdcdffbc9973', 'bert-base-uncased']]);

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/;

/** What is wrong with a term-space name, or undefined when it is valid. */
export function termSpaceNameProblem(name: string): string | undefined {
  return NAME_PATTERN.test(name) ? undefined : 'must be 1-200 letters, digits or . _ : / @ + - (e.g. wordpiece:bert-base-uncased, analyzer:english-porter, custom)';
}

/** The name of a vocabulary's space: `<family>:<name>` (family `wordpiece`, `bpe`, `unigram`, …). */
export function vocabularyTermSpace(tokens: readonly string[], family = 'wordpiece'): string {
  const digest = createHash('sha256').update(tokens.join('\n')).digest('hex');
  return `${family.toLowerCase()}:${KNOWN_VOCABULARIES.get(digest) ?? `vocab-${digest.slice(0, 12)}`}`;
}

/** The space of the built-in English analyzer (lexical BM25); stop words do not change it. */
export function analyzerTermSpace(stemmer: 'porter' | 'none'): string {
  return stemmer === 'porter' ? 'analyzer:english-porter' : 'analyzer:english';
}

/** Whether a name is a real (checkable) space: not `custom`, not unknown. */
export const isDeclaredTermSpace = (space: string | undefined): space is string => space !== undefined && space !== CUSTOM_TERM_SPACE;

/** How vectors state their space, and whether a mismatch is intended: the options of every search, eval, bench and add. */
export interface TermSpaceOptions {
  /**
   * The term space the query vectors (or added documents) are in, e.g. `wordpiece:bert-base-uncased`.
   * When given and the index records another space, the input is refused (`E_TERM_SPACE`); when it
   * matches, the content check is skipped. Default: undeclared (the content check decides).
   */
  termSpace?: string;
  /** Search (or add) vectors of another term space anyway: no declared-space or content check. Default false. */
  allowTermSpaceMismatch?: boolean;
}

/** The term-space options as an options table (flags `--term-space`, `--allow-term-space-mismatch`). */
export const TERM_SPACE_OPTIONS: OptionsTable<TermSpaceOptions> = defineOptions<TermSpaceOptions>({
  termSpace: { type: 'string', check: termSpaceNameProblem, placeholder: 'name', help: "term space of the input vectors, e.g. wordpiece:bert-base-uncased; refused when the index's differs" },
  allowTermSpaceMismatch: { type: 'boolean', default: false, help: "use vectors of another term space than the index's anyway (no term-space check)" },
});

/**
 * The content rule for vectors of undeclared space (measured on SciFact; docs/TERM-SPACES.md):
 *  - on an `analyzer:` index, a token starting with `##` (a WordPiece continuation, which the
 *    analyzer never produces) is foreign: 291 of the 300 SciFact SPLADE queries have one;
 *  - on any declared space, when at least `MIN_TOKENS` distinct tokens are seen and less than
 *    `MIN_KNOWN_MASS` of the weight is on tokens of the index's vocabulary: SPLADE queries put
 *    0.41 (SciFact) and 0.42 (MS MARCO) of their weight on a BM25 SciFact index's terms, its own
 *    BM25 queries 1.0. Short hand-written vectors (fewer tokens) are not judged by mass.
 */
export const TERM_SPACE_RULE = { minKnownMass: 0.5, minTokens: 8 } as const;

/** Evidence of a batch of vectors against an index vocabulary. */
export interface TermSpaceEvidence {
  tokens: number;
  knownMass: number;
  totalMass: number;
  /** A WordPiece continuation token (`##…`), when one was seen. */
  wordpiece?: string;
}

/** Accumulates the tokens of a batch of vectors (`has`: whether the index's vocabulary holds a token). */
export function termSpaceEvidence(vectors: Iterable<Readonly<Record<string, number>>>, has: (token: string) => boolean): TermSpaceEvidence {
  const seen = new Set<string>();
  const evidence: TermSpaceEvidence = { tokens: 0, knownMass: 0, totalMass: 0 };
  for (const vector of vectors) {
    for (const token in vector) {
      const weight = vector[token];
      evidence.totalMass += weight;
      if (has(token)) evidence.knownMass += weight;
      if (evidence.wordpiece === undefined && token.startsWith('##') && token.length > 2) evidence.wordpiece = token;
      seen.add(token);
    }
  }
  evidence.tokens = seen.size;
  return evidence;
}

/**
 * Refuses (`E_TERM_SPACE`) vectors that are not in the index's space: a declared space that differs,
 * or, undeclared, content that breaks `TERM_SPACE_RULE`. `what`: "query" or "documents"; `index`
 * names the index in the message.
 */
export function checkTermSpace(indexSpace: string | undefined, options: TermSpaceOptions, evidence: () => TermSpaceEvidence, what: 'query' | 'documents', index: string): void {
  if (options.allowTermSpaceMismatch === true || !isDeclaredTermSpace(indexSpace)) return;
  const declared = options.termSpace;
  const escape = what === 'query' ? '--allow-term-space-mismatch (library: allowTermSpaceMismatch: true)' : '--allow-term-space-mismatch (library: add(..., { allowTermSpaceMismatch: true }))';
  if (isDeclaredTermSpace(declared)) {
    if (declared === indexSpace) return;
    throw new SpladexError('E_TERM_SPACE', `the ${what} vectors are in term space ${declared}, the index ${index} is in ${indexSpace}; scores across term spaces are meaningless. Encode them with the index's encoder (text queries), or pass ${escape} if the mix is intended`);
  }
  const e = evidence();
  let why: string | undefined;
  if (indexSpace.startsWith('analyzer:') && e.wordpiece !== undefined) why = `it holds the WordPiece piece ${JSON.stringify(e.wordpiece)}, which the English analyzer never produces`;
  else if (e.tokens >= TERM_SPACE_RULE.minTokens && e.totalMass > 0 && e.knownMass / e.totalMass < TERM_SPACE_RULE.minKnownMass) {
    why = `only ${((100 * e.knownMass) / e.totalMass).toFixed(0)}% of its weight is on terms of the index (below ${100 * TERM_SPACE_RULE.minKnownMass}%)`;
  }
  if (why === undefined) return;
  throw new SpladexError(
    'E_TERM_SPACE',
    `the ${what} vectors look like another term space than the index's (${indexSpace}): ${why}. ` +
      `Use text queries (encoded by the index's encoder) or vectors of the same model; declare their space with --term-space <name> (library: termSpace), or pass ${escape} if the mix is intended`,
  );
}

/**
 * Vectors made by an index's own stored encoder, tagged with that index's term space: they are in
 * it by construction, whichever path carries them to a search (searchText, `search --queries` text
 * lines, eval and bench query files), so the content rule — meant for vectors from elsewhere — never
 * judges them.
 */
const ENCODED_IN = new WeakMap<object, string>();

/** Tags vectors as encoded in `space` (see `ENCODED_IN`); returns them. */
export function tagEncodedVectors<T extends object>(vectors: T[], space: string): T[] {
  for (const vector of vectors) ENCODED_IN.set(vector, space);
  return vectors;
}

/**
 * `checkTermSpace` over a batch of vectors: those an index's encoder made are judged by the space
 * they were tagged with, the others by the options (declared space) or their content (`has`: whether
 * the index's vocabulary holds a token).
 */
export function checkVectorsTermSpace(indexSpace: string | undefined, vectors: ReadonlyArray<Readonly<Record<string, number>>>, options: TermSpaceOptions, has: (token: string) => boolean, what: 'query' | 'documents', index: string): void {
  if (options.allowTermSpaceMismatch === true || !isDeclaredTermSpace(indexSpace)) return;
  const untagged: Array<Readonly<Record<string, number>>> = [];
  for (const vector of vectors) {
    const tag = ENCODED_IN.get(vector);
    if (tag === undefined) untagged.push(vector);
    else if (tag !== indexSpace) checkTermSpace(indexSpace, { termSpace: tag }, () => ({ tokens: 0, knownMass: 0, totalMass: 0 }), what, index);
  }
  if (untagged.length > 0) checkTermSpace(indexSpace, options, () => termSpaceEvidence(untagged, has), what, index);
}
