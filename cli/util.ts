/** Shared CLI plumbing: number parsing, error reporting, progress bars, output. */
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { SpladexError } from '../src/errors.js';

export { formatBytes } from '../src/bench/stats.js';

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

/** Prints a typed error as `spladex: error [CODE]: message` and sets a non-zero exit code. */
export function reportError(error: unknown): void {
  if (error instanceof SpladexError) {
    process.stderr.write(`spladex: error [${error.code}]: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`spladex: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
}

/** Wraps a command action so errors are reported consistently. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      reportError(error);
    }
  };
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
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  let read = 0;
  stream.on('data', (chunk) => {
    read += chunk.length;
  });
  return { stream, bytesRead: () => read, size };
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
