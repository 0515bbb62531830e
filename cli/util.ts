/** Shared CLI plumbing: number parsing, error reporting, progress bars, output. */
import { createReadStream, statSync } from 'node:fs';
import { pipeline, Transform, type Readable } from 'node:stream';
import { Command, InvalidArgumentError, type CommanderError } from 'commander';
import cliProgress from 'cli-progress';
import { SpladexError, ioFailure, isIoFailure } from '../src/index.js';
export { formatBytes } from '../src/bench/index.js';
import { EXIT } from './exit-codes.js';

export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
}

export function parseInteger(value: string): number {
  const n = parseNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return n;
}

export function choice<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!allowed.includes(value as T)) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}`);
    return value as T;
  };
}

/**
 * Prints a typed error as `spladex: error [CODE]: message` (exit status 2), anything else as an
 * internal error with its stack trace (exit status 3, see cli/exit-codes.ts).
 */
export function reportError(error: unknown): void {
  // Safety net: an operating-system I/O failure (ENOSPC, EIO, …) that escaped a guard is still the
  // user's disk problem, not a bug.
  if (isIoFailure(error)) error = ioFailure(error, String((error as { path?: unknown }).path ?? '.'), 'the operation');
  if (error instanceof SpladexError) {
    process.stderr.write(`spladex: error [${error.code}]: ${error.message}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  process.stderr.write(`spladex: internal error (please report it): ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = EXIT.internal;
}

/** `spladex search` for the search command: what to put before `--help` in a hint. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Makes commander's own parse errors (unknown option or command, missing or invalid argument, …)
 * look like spladex's typed errors, one `spladex: error [E_OPTION]: …` line and a pointer to the
 * command's help instead of the whole help text, and stops commander from exiting (with status 1,
 * which means "damaged" here): the error is thrown instead, for the caller of parseAsync to turn
 * into an exit status with `exitStatusOf`.
 *
 * Call it once every command is registered: commander copies its exit callback and output settings
 * only into subcommands created after they are set, and each command needs its own callback anyway
 * to name itself in the hint.
 */
export function routeParserErrors(command: Command): void {
  // Printed by the exit callback, which, unlike outputError, knows the error code and the command.
  command.configureOutput({ outputError: () => {} });
  command.exitOverride((error: CommanderError) => {
    // --help, --version (status 0) and the help shown for a missing command have printed already.
    if (error.exitCode !== 0 && error.code !== 'commander.help') {
      // Commander writes "error: unknown option '--formt'\n(Did you mean --format?)": keep it to one line.
      const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
      process.stderr.write(`spladex: error [E_OPTION]: ${message}\n(see "${commandPath(command)} --help")\n`);
    }
    throw error;
  });
  for (const sub of command.commands) routeParserErrors(sub);
}

/** The exit status for an error that commander threw through `routeParserErrors`' callback. */
export function exitStatusOf(error: CommanderError): number {
  return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
}

/** Wraps a command action so errors are reported consistently. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      // Commander passes the command last: the flags it registered name what the library calls options.
      const command = args[args.length - 1];
      reportError(command instanceof Command ? withFlagNames(error, command) : error);
    }
  };
}

/**
 * An option error of the library names its option as the library does (`maxLength must be …`,
 * `option heapFactor …`); on the command line the user typed a flag, so the message names the
 * flag (`--max-length must be …`). Only a leading option name is replaced, and only when the
 * command has a flag for it.
 */
function withFlagNames(error: unknown, command: Command): unknown {
  // An error with a file names its place first; its option, if any, is not at the start.
  if (!(error instanceof SpladexError) || error.code !== 'E_OPTION' || error.file !== undefined) return error;
  const match = /^(option )?([a-z][A-Za-z0-9]*)\b/.exec(error.message);
  if (match === null) return error;
  const flag = command.options.find((o) => o.long !== undefined && o.attributeName() === match[2])?.long;
  if (flag === undefined) return error;
  return new SpladexError(error.code, `${flag}${error.message.slice(match[0].length)}`, { cause: error });
}

/** Opens a file for streaming and counts the bytes read, for progress bars. */
export function countingStream(path: string): { stream: Readable; bytesRead: () => number; size: number } {
  if (path === '-') return { stream: process.stdin, bytesRead: () => 0, size: 0 };
  let size = 0;
  try {
    size = statSync(path).size;
  } catch (cause) {
    throw new SpladexError('E_IO', `cannot read input file (${(cause as Error).message})`, { file: path, cause });
  }
  // Counted as the consumer reads, by a transform: a 'data' listener would switch the file stream
  // to flowing mode and drop whatever arrives before the consumer starts (e.g. while the build
  // reads its calibration queries first).
  let read = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      read += chunk.length;
      done(null, chunk);
    },
  });
  pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), counter, () => {});
  return { stream: counter, bytesRead: () => read, size };
}

/** A progress bar on stderr, silent when stderr is not a terminal or `quiet` is set. */
export function progressBar(quiet: boolean, format: string): cliProgress.SingleBar | undefined {
  if (quiet || !process.stderr.isTTY) return undefined;
  return new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 50 }, cliProgress.Presets.shades_classic);
}

export function writeLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Seconds with two decimals and a unit: "1.23 s". */
export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(2)} s`;
}

/** Items per second since `since` (a performance.now() time), rounded, as a progress-bar string. */
export function formatRate(count: number, since: number): string {
  const seconds = (performance.now() - since) / 1000;
  return seconds > 0 ? Math.round(count / seconds).toLocaleString('en-US') : '0';
}
