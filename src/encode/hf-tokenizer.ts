/**
 * Adapter over `@huggingface/tokenizers` for `tokenizer.json` files that are not plain BERT
 * WordPiece (BPE, Unigram, other normalisers). Only this module imports that library.
 */

import { Tokenizer } from '@huggingface/tokenizers';
import { SpladexError } from '../errors.js';

/** The parts of a `tokenizer.json` file spladex reads itself. */
export interface HfTokenizerJson {
  model: Record<string, unknown>;
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: unknown;
  decoder?: unknown;
  padding?: unknown;
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
}

export interface HfTokenizer {
  /** Content token ids, without special tokens. */
  encode(text: string): Int32Array;
  tokenToId(token: string): number | undefined;
}

export function createHfTokenizer(json: HfTokenizerJson, tokenizerConfig: Record<string, unknown>, path: string): HfTokenizer {
  let tokenizer: Tokenizer;
  try {
    // The library requires every section to be present, even when null.
    const complete = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json };
    tokenizer = new Tokenizer(complete, tokenizerConfig);
  } catch (cause) {
    throw new SpladexError('E_MODEL', `tokenizer.json is not supported: ${(cause as Error).message}`, { file: path, cause });
  }
  return {
    encode: (text) => Int32Array.from(tokenizer.encode(text, { add_special_tokens: false }).ids),
    tokenToId: (token) => tokenizer.token_to_id(token),
  };
}
