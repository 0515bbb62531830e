/**
 * Typed errors with stable codes.
 *
 * Every failure a user can cause or meet (bad input, a damaged file, a wrong option) is raised as a
 * `SpladexError` whose `code` never changes between releases, so scripts can branch on it, and whose
 * message says what to do next. Programming errors (bugs) stay plain `Error`s.
 */

export type SpladexErrorCode =
  /** A JSONL line is not valid JSON or not an object. */
  | 'E_INPUT_JSON'
  /** A document or query has no usable id. */
  | 'E_INPUT_ID'
  /** The same document id appears twice in one build. */
  | 'E_INPUT_DUPLICATE_ID'
  /** A vector is malformed: not an object, a weight that is not a finite non-negative number. */
  | 'E_INPUT_VECTOR'
  /** A document or query exceeds a hard limit (terms per vector, token length, line length). */
  | 'E_INPUT_LIMIT'
  /** Input is not valid UTF-8, or holds a string UTF-8 cannot represent (a lone UTF-16 surrogate, e.g. from a JSON `\ud800` escape). */
  | 'E_INPUT_ENCODING'
  /** An option value is out of its documented range. */
  | 'E_OPTION'
  /** The target of a build already exists. */
  | 'E_INDEX_EXISTS'
  /** The path is not a spladex index. */
  | 'E_NOT_AN_INDEX'
  /** The index was written by a format version this build cannot read. */
  | 'E_FORMAT_VERSION'
  /** A stored file failed its checksum or a structural check. */
  | 'E_CORRUPT'
  /** Another writer holds the index lock. */
  | 'E_LOCKED'
  /** The index was closed and cannot be used any more. */
  | 'E_CLOSED'
  /** A model directory or model file does not fit what spladex needs. */
  | 'E_MODEL'
  /** A file could not be read or written. */
  | 'E_IO'
  /** A Hugging Face Hub repository, revision or file does not exist (or is private and no token was given). */
  | 'E_HUB_NOT_FOUND'
  /** A Hub repository is gated or private and the token is missing, invalid or not granted access. */
  | 'E_HUB_AUTH'
  /** The Hub cannot be reached (HF_HUB_OFFLINE=1, or a network failure) and the cache does not have what is needed. */
  | 'E_HUB_OFFLINE'
  /** The Hub (or its file CDN) answered with something the client cannot use: a server error, a malformed answer. */
  | 'E_HUB_RESPONSE'
  /** A downloaded file does not have the checksum or size the Hub announced; it was discarded. */
  | 'E_CHECKSUM'
  /** A request took longer than its time limit (the search pool's `timeoutMs`); its result was discarded. */
  | 'E_TIMEOUT'
  /** A request was cancelled through its AbortSignal before it was answered. */
  | 'E_ABORTED'
  /** A request was refused because the queue in front of the search pool's threads is full. */
  | 'E_BUSY'
  /** A CIFF file is truncated or not valid CIFF v1 (the message names the byte offset and the message); export it again. */
  | 'E_CIFF'
  /** No live document has the id asked for (`spladex get`): check the id, or whether it was deleted or replaced. */
  | 'E_NOT_FOUND'
  /** Query vectors or added documents are in another term space (tokenizer, analyzer) than the index's; encode them with the index's encoder, or pass allowTermSpaceMismatch. */
  | 'E_TERM_SPACE'
  /** The qrels judge no document of the index (the wrong collection or qrels): every metric would be 0. */
  | 'E_QRELS_MISMATCH'
  /** An OpenSearch cluster refused a request or did not answer after the retries (the message has its reason and what to check: the URL, credentials, the index). */
  | 'E_OPENSEARCH';

export interface SpladexErrorDetails {
  /** File the problem is in, when there is one. */
  file?: string;
  /** 1-based line number in `file`, for line-oriented input. */
  line?: number;
  /** Byte offset in `file`, for binary files. */
  offset?: number;
  /** The underlying error, when this one wraps another. */
  cause?: unknown;
}

export class SpladexError extends Error {
  readonly code: SpladexErrorCode;
  readonly file?: string;
  readonly line?: number;
  readonly offset?: number;

  constructor(code: SpladexErrorCode, message: string, details: SpladexErrorDetails = {}) {
    super(formatMessage(message, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SpladexError';
    this.code = code;
    if (details.file !== undefined) this.file = details.file;
    if (details.line !== undefined) this.line = details.line;
    if (details.offset !== undefined) this.offset = details.offset;
  }
}

function formatMessage(message: string, details: SpladexErrorDetails): string {
  if (details.file === undefined) return message;
  const where = details.line !== undefined ? `${details.file}:${details.line}` : details.offset !== undefined ? `${details.file} @${details.offset}` : details.file;
  return `${where}: ${message}`;
}

export function isSpladexError(error: unknown, code?: SpladexErrorCode): error is SpladexError {
  return error instanceof SpladexError && (code === undefined || error.code === code);
}

/**
 * Throws `E_OPTION` unless `value` is a finite number within [min, max], for one-off checks;
 * option groups declare their ranges in a table instead (src/util/options-table.ts), whose
 * messages read the same: `name must be in [min, max], got value`.
 */
export function checkRange(name: string, value: number, min: number, max: number, integer = false): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new SpladexError('E_OPTION', `${name} must be ${integer ? 'an integer in' : 'in'} [${min}, ${max}], got ${String(value)}`);
  }
}
