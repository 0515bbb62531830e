/**
 * Errors as the HTTP API reports them: a status and `{ "error": { "code", "message" } }`, with the
 * library's stable codes (`E_OPTION`, `E_INPUT_*`, `E_LOCKED`, …) wherever the library raised the
 * error, so a client branches on the same codes as a script around the CLI. The few conditions
 * only a server meets have codes of their own (`ServerErrorCode`), kept here rather than in
 * src/errors.ts because the library never raises them.
 */
import type { FastifyError } from 'fastify';
import { SpladexError, type SpladexErrorCode } from '../errors.js';

/** Codes only the HTTP server answers with. */
export type ServerErrorCode =
  /** The route needs `Authorization: Bearer <key>` and the request had none or another key (401). */
  | 'E_UNAUTHORIZED'
  /** A write route on a server started with `--read-only` (403). */
  | 'E_READ_ONLY'
  /** A bug in spladex (500); the server logs the stack trace. */
  | 'E_INTERNAL';

export type ApiErrorCode = SpladexErrorCode | ServerErrorCode;

/** An error with the status and code the API answers with. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode | string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The status of a library error by its code: the caller's fault (4xx) for input and options,
 * 409 for a writer lock held elsewhere, 503/504 for an overloaded or slow pool (codes of the search
 * pool, matched as strings so this table needs no change when they are added), 500 otherwise.
 */
const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  E_OPTION: 400,
  E_INPUT_JSON: 400,
  E_INPUT_ID: 400,
  E_INPUT_DUPLICATE_ID: 400,
  E_INPUT_VECTOR: 400,
  E_INPUT_LIMIT: 400,
  E_INPUT_ENCODING: 400,
  E_TERM_SPACE: 400,
  E_NOT_FOUND: 404,
  E_LOCKED: 409,
  E_BUSY: 503,
  E_CLOSED: 503,
  E_TIMEOUT: 504,
  E_ABORTED: 499,
};

/** Where a request body failed its JSON schema, as the API's code: inputs the library would reject get the library's code. */
function validationCode(error: FastifyError, route: string): string {
  const first = error.validation?.[0];
  const path = first?.instancePath ?? '';
  const keyword = first?.keyword ?? '';
  if (path === '' && keyword === 'type') return 'E_INPUT_JSON';
  if (keyword === 'maxProperties' || keyword === 'maxItems' || keyword === 'maxLength') return 'E_INPUT_LIMIT';
  if (/\/vector(\/|$)/.test(path) || /^\/quer(y|ies\/\d+)$/.test(path)) return 'E_INPUT_VECTOR';
  if (route === '/documents') {
    if (/^\/(documents\/\d+\/(id|_id|docid)|ids\/\d+)$/.test(path)) return 'E_INPUT_ID';
    return /^\/documents\/\d+/.test(path) ? 'E_INPUT_JSON' : 'E_OPTION';
  }
  return 'E_OPTION';
}

/** `/queries/2/vector` → `queries[2].vector`: where in the body the problem is, as people write it. */
function bodyPath(instancePath: string): string {
  const parts = instancePath.split('/').slice(1);
  return parts.reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out === '' ? part : `${out}.${part}`), '') || 'body';
}

/** Per top-level body property, the options table's own check (it throws `E_OPTION` with the table's message). */
export type OptionChecks = Readonly<Record<string, (value: unknown) => void>>;

/**
 * What a schema failure says: an option out of range in its table's words (`k must be an integer
 * in [1, 1000], got 3000`), else Ajv's, naming the place in the body.
 */
function validationMessage(error: FastifyError, body: unknown, checks: OptionChecks): string {
  const first = error.validation?.[0];
  const path = first?.instancePath ?? '';
  const key = /^\/([^/]+)$/.exec(path)?.[1];
  if (key !== undefined && checks[key] !== undefined && body !== null && typeof body === 'object') {
    try {
      checks[key]((body as Record<string, unknown>)[key]);
    } catch (problem) {
      if (problem instanceof SpladexError) return problem.message;
    }
  }
  if (path === '' && first?.keyword === 'type') return 'the request body must be a JSON object';
  const where = bodyPath(path);
  if (/^\/quer(y|ies\/\d+)$/.test(path) && (first?.keyword === 'oneOf' || first?.keyword === 'required')) return `${where} needs a "vector" object or a "text" string (one of them)`;
  const params = (first?.params ?? {}) as { additionalProperty?: string };
  if (first?.keyword === 'additionalProperties' && params.additionalProperty !== undefined) return `${where} has an unknown property ${JSON.stringify(params.additionalProperty)}`;
  return `${where} ${first?.message ?? 'is invalid'}`;
}

/** Any error a request met, as the status, code and message the API answers with. */
export function apiErrorOf(error: unknown, route: string, body?: unknown, checks: OptionChecks = {}): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof SpladexError) return new ApiError(STATUS_OF_CODE[error.code] ?? 500, error.code, error.message);
  const e = error as FastifyError & { status?: number };
  if (e?.validation !== undefined) return new ApiError(400, validationCode(e, route), validationMessage(e, body, checks));
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'E_INPUT_LIMIT', 'the request body is larger than the server accepts (--body-limit)');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'E_INPUT_JSON', 'the request body must be JSON (Content-Type: application/json)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'E_INPUT_JSON', 'the request body is empty; send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'E_INPUT_JSON', `the request body is not valid JSON (${e.message})`);
  }
  // Body parsing errors (a SyntaxError from the JSON parser, a bad Content-Length) carry a 4xx status.
  const status = e?.statusCode ?? e?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(status, e instanceof SyntaxError ? 'E_INPUT_JSON' : 'E_OPTION', e instanceof SyntaxError ? `the request body is not valid JSON (${e.message})` : String(e?.message));
  }
  return new ApiError(500, 'E_INTERNAL', 'internal error (a bug in spladex; the server log has the details)');
}

/** The JSON body of an error answer. */
export function errorBody(error: ApiError): { error: { code: string; message: string } } {
  return { error: { code: error.code, message: error.message } };
}
