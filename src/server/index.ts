/**
 * `spladex/server`: the HTTP API of `spladex serve` for embedding in a Node program, and the
 * options tables the command's flags come from. Re-exports only; importing `spladex` alone never
 * loads Fastify.
 */
export { createServer, type ServerOptions, type SpladexServer } from './server.js';
export { SERVE_OPTIONS, SERVE_LIMITS, type ServeOptions, type ServeLimits } from './options.js';
export type { ApiErrorCode, ServerErrorCode } from './errors.js';
