/**
 * Streaming line reader for JSONL files.
 *
 * Reads fixed-size chunks and splits on '\n' bytes, so a file of any size is processed with
 * constant memory. Each line is decoded with a fatal UTF-8 decoder: invalid bytes become a typed
 * error naming the line, instead of silently turning into U+FFFD and corrupting tokens.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { SpladexError } from '../errors.js';

export interface JsonLine {
  /** 1-based line number in the source. */
  line: number;
  /** The line's text without the trailing newline (and without a trailing '\r'). */
  text: string;
}

export interface ReadLinesOptions {
  /**
   * Longest accepted line in bytes. A longer line is rejected with `E_INPUT_LIMIT` rather than
   * buffered without bound. Default 64 MiB; range 1 KiB – 1 GiB.
   */
  maxLineBytes?: number;
  /** Name used for the source in error messages. Default: the path, `<stdin>` or `<stream>`. */
  label?: string;
}

export const READ_LINES_DEFAULTS = {
  maxLineBytes: 64 * 1024 * 1024,
} as const;

/** Label used in errors for a source: its path, or `<stdin>`. */
export function sourceName(source: string | Readable, label?: string): string {
  if (label !== undefined) return label;
  return typeof source === 'string' ? (source === '-' ? '<stdin>' : source) : '<stream>';
}

function openSource(source: string | Readable): Readable {
  if (typeof source !== 'string') return source;
  if (source === '-') return process.stdin;
  return createReadStream(source, { highWaterMark: 1 << 20 });
}

/**
 * Yields the non-blank lines of a file (`'-'` for stdin) or stream with their line numbers.
 * Blank lines are skipped but still counted, so numbers match what an editor shows.
 */
export async function* readLines(source: string | Readable, options: ReadLinesOptions = {}): AsyncGenerator<JsonLine> {
  const maxLineBytes = options.maxLineBytes ?? READ_LINES_DEFAULTS.maxLineBytes;
  const name = sourceName(source, options.label);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let stream: Readable;
  try {
    stream = openSource(source);
  } catch (cause) {
    throw new SpladexError('E_IO', `cannot open input: ${(cause as Error).message}`, { file: name, cause });
  }
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineNumber = 0;

  const decode = (bytes: Uint8Array): string | undefined => {
    lineNumber++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 13) end--;
    let start = 0;
    // A UTF-8 byte order mark on the first line is not part of the data.
    if (lineNumber === 1 && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(start, end));
    } catch {
      throw new SpladexError('E_INPUT_ENCODING', 'line is not valid UTF-8; re-encode the file as UTF-8', { file: name, line: lineNumber });
    }
    return text.trim().length === 0 ? undefined : text;
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let position = 0;
      for (;;) {
        const newline = chunk.indexOf(10, position);
        if (newline === -1) {
          if (position < chunk.length) {
            pending.push(chunk.subarray(position));
            pendingBytes += chunk.length - position;
            if (pendingBytes > maxLineBytes) {
              throw new SpladexError('E_INPUT_LIMIT', `line is longer than ${maxLineBytes} bytes`, { file: name, line: lineNumber + 1 });
            }
          }
          break;
        }
        let bytes: Uint8Array = chunk.subarray(position, newline);
        if (pending.length > 0) {
          pending.push(chunk.subarray(position, newline));
          bytes = Buffer.concat(pending);
          pending = [];
          pendingBytes = 0;
        }
        if (bytes.length > maxLineBytes) {
          throw new SpladexError('E_INPUT_LIMIT', `line is longer than ${maxLineBytes} bytes`, { file: name, line: lineNumber + 1 });
        }
        const text = decode(bytes);
        if (text !== undefined) yield { line: lineNumber, text };
        position = newline + 1;
      }
    }
  } catch (error) {
    if (error instanceof SpladexError) throw error;
    throw new SpladexError('E_IO', `cannot read input: ${(error as Error).message}`, { file: name, cause: error });
  } finally {
    if (typeof source === 'string' && source !== '-') stream.destroy();
  }
  if (pending.length > 0) {
    const text = decode(Buffer.concat(pending));
    if (text !== undefined) yield { line: lineNumber, text };
  }
}

/** Parses one JSONL line into a plain object, or throws `E_INPUT_JSON` naming the line. */
export function parseJsonObject(line: JsonLine, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (cause) {
    throw new SpladexError('E_INPUT_JSON', `invalid JSON (${(cause as Error).message}); each line must be one JSON object`, { file, line: line.line });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SpladexError('E_INPUT_JSON', 'each line must be a JSON object', { file, line: line.line });
  }
  return value as Record<string, unknown>;
}
