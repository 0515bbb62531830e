/**
 * Vocabularies that map token ids to token strings: what `{"indices": [...], "values": [...]}`
 * vectors (fastembed, Qdrant, Milvus) need to become spladex's `{token: weight}` vectors, and what a
 * term space is named after (term-space.ts). Two files are read: a `vocab.txt` (one token per line,
 * the line number is the id) and a Hugging Face `tokenizer.json` (its `model.vocab`: an object of
 * token → id for WordPiece and BPE, a list of [token, score] for Unigram, plus `added_tokens`).
 */
import { readFile } from 'node:fs/promises';
import { SpladexError } from '../errors.js';
import { vocabularyTermSpace } from './term-space.js';

export interface Vocabulary {
  /** `tokens[id]` is the token of id `id` ('' where a file leaves an id out). */
  tokens: readonly string[];
  /** Its term space, e.g. `wordpiece:bert-base-uncased`. */
  termSpace: string;
  /** The file it was read from. */
  file: string;
}

/** Reads a vocab.txt or a tokenizer.json (by content: a file starting with "{" is tokenizer.json). */
export async function readVocabulary(file: string): Promise<Vocabulary> {
  let body: string;
  try {
    body = await readFile(file, 'utf8');
  } catch (cause) {
    throw new SpladexError('E_IO', 'cannot read the vocabulary; give a vocab.txt (one token per line) or a tokenizer.json', { file, cause });
  }
  if (body.trimStart().startsWith('{')) return tokenizerJsonVocabulary(body, file);
  const lines = body.split('\n');
  // A trailing newline yields one empty last element that is not a token.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const tokens = lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (tokens.length === 0) throw new SpladexError('E_INPUT_VECTOR', 'the vocabulary file is empty; expected one token per line', { file });
  return { tokens, termSpace: vocabularyTermSpace(tokens, 'wordpiece'), file };
}

function tokenizerJsonVocabulary(body: string, file: string): Vocabulary {
  const bad = (what: string): SpladexError => new SpladexError('E_INPUT_VECTOR', `not a tokenizer.json vocabulary: ${what}`, { file });
  let json: { model?: { type?: unknown; vocab?: unknown }; added_tokens?: unknown };
  try {
    json = JSON.parse(body) as typeof json;
  } catch {
    throw bad('invalid JSON');
  }
  const vocab = json.model?.vocab;
  const tokens: string[] = [];
  const put = (token: unknown, id: unknown): void => {
    if (typeof token !== 'string' || typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 10_000_000) throw bad(`entry ${JSON.stringify(token)} → ${JSON.stringify(id)}`);
    while (tokens.length <= id) tokens.push('');
    tokens[id] = token;
  };
  if (Array.isArray(vocab)) vocab.forEach((entry, id) => put(Array.isArray(entry) ? entry[0] : undefined, id));
  else if (vocab !== null && typeof vocab === 'object') for (const [token, id] of Object.entries(vocab)) put(token, id);
  else throw bad('no model.vocab');
  if (Array.isArray(json.added_tokens)) for (const added of json.added_tokens as Array<{ id?: unknown; content?: unknown }>) if (added !== null && typeof added === 'object') put(added.content, added.id);
  const family = typeof json.model?.type === 'string' ? json.model.type : 'wordpiece';
  return { tokens, termSpace: vocabularyTermSpace(tokens, family), file };
}

/** `{"indices", "values"}` → `{token: weight}` through a vocabulary (weights of a repeated index add up). */
export function vectorFromIndices(indices: unknown, values: unknown, vocabulary: Vocabulary, where: { file: string; line?: number }): Record<string, number> {
  if (!Array.isArray(indices) || !Array.isArray(values)) throw new SpladexError('E_INPUT_VECTOR', '"indices" and "values" must be arrays', where);
  if (indices.length !== values.length) throw new SpladexError('E_INPUT_VECTOR', `"indices" has ${indices.length} entries and "values" ${values.length}; they must be parallel`, where);
  const vector: Record<string, number> = {};
  for (let i = 0; i < indices.length; i++) {
    const id = indices[i] as unknown;
    const value = values[i] as unknown;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new SpladexError('E_INPUT_VECTOR', `indices[${i}] is ${JSON.stringify(id)}, not a token id (an integer ≥ 0)`, where);
    const token = vocabulary.tokens[id];
    if (token === undefined || token === '') throw new SpladexError('E_INPUT_VECTOR', `token id ${id} is not in the vocabulary ${vocabulary.file} (${vocabulary.tokens.length} ids); give the model's vocabulary with --vocab`, where);
    if (typeof value !== 'number') throw new SpladexError('E_INPUT_VECTOR', `values[${i}] is not a number`, where);
    vector[token] = (vector[token] ?? 0) + value;
  }
  return vector;
}
