/**
 * `spladex serve <dir>`: the index over HTTP (JSON; the API is openapi/spladex.yaml). Prints the
 * address it listens on as its first line of output; SIGTERM or SIGINT drains in-flight requests
 * and exits 0.
 */
import type { Command } from 'commander';
import { SpladexError } from '../../src/index.js';
import { SERVE_LIMITS, SERVE_OPTIONS, createServer, type ServerOptions } from '../../src/server/index.js';
import { addTableOptions, tableOptionsFrom } from '../table-options.js';
import { action, writeLine } from '../util.js';

/** The environment variable an API key can come from, so it stays out of `ps` and shell history. */
const API_KEY_ENV = 'SPLADEX_API_KEY';

export function register(program: Command): void {
  const command = program
    .command('serve')
    .description(
      'serve an index over HTTP: POST /search, POST /search/batch, GET|POST|DELETE /documents, GET /info, /health, /metrics (JSON; the API is openapi/spladex.yaml). ' +
        'Writes go through the index lock and are committed before the answer; commits of other writers are picked up within --refresh-interval. ' +
        'Prints "listening on <address>"; SIGTERM or SIGINT lets in-flight requests finish, then exits 0',
    )
    .argument('<dir>', 'index directory');
  addTableOptions(command, SERVE_OPTIONS);
  addTableOptions(command, SERVE_LIMITS);
  command.action(
    action(async (dir: string) => {
      const options: ServerOptions = { ...tableOptionsFrom(command, SERVE_OPTIONS), ...tableOptionsFrom(command, SERVE_LIMITS) };
      const fromEnv = process.env[API_KEY_ENV];
      if (options.apiKey === undefined && fromEnv !== undefined && fromEnv !== '') {
        SERVE_OPTIONS.check('apiKey', fromEnv, { as: API_KEY_ENV });
        options.apiKey = fromEnv;
      }
      const server = await createServer(dir, options);
      let address: string;
      try {
        address = await server.listen();
      } catch (error) {
        await server.close();
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new SpladexError('E_OPTION', `cannot listen on ${options.host ?? SERVE_OPTIONS.defaults.host}:${options.port ?? SERVE_OPTIONS.defaults.port} (${code}); choose another --host or --port`);
        }
        throw error;
      }
      const mode = [options.readOnly ? 'read-only' : 'read-write', options.apiKey === undefined ? 'no API key' : 'API key required'].join(', ');
      writeLine(`spladex serve: listening on ${address} (${mode})`);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals): void => {
          process.stderr.write(`spladex serve: ${signal}: finishing in-flight requests\n`);
          void server.close().then(resolve, (error: unknown) => {
            process.stderr.write(`spladex serve: error while closing: ${(error as Error).message}\n`);
            resolve();
          });
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      // Whatever still holds the event loop (a search thread finishing) must not hold the exit.
      setTimeout(() => process.exit(), 2000).unref();
    }),
  );
}
