/**
 * Reading a CIFF file as a stream of length-delimited messages through a bounded window: at most
 * one window (1 MiB, or one message larger than that other than a postings list) is in memory,
 * so files of any size stream. Every failure names the byte offset and the message.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { SpladexError } from '../errors.js';
import { guardIo } from '../util/io-failure.js';
import type { CiffCodec } from './schema.js';

const WINDOW_BYTES = 1 << 20;

/** A message's place in the file, for error messages: "postings list 17 of 200". */
export type MessageLabel = () => string;

export class CiffInput {
  readonly size: number;
  private readonly fd: number;
  private buffer = Buffer.alloc(WINDOW_BYTES);
  /** File offset of buffer[0], and how many bytes of the buffer are valid. */
  private start = 0;
  private filled = 0;
  /** Absolute read position. */
  position = 0;

  constructor(
    readonly path: string,
    private readonly codec: CiffCodec,
  ) {
    this.fd = guardIo(path, 'opening the CIFF file', () => openSync(path, 'r'));
    this.size = fstatSync(this.fd).size;
  }

  close(): void {
    closeSync(this.fd);
  }

  get atEnd(): boolean {
    return this.position >= this.size;
  }

  /** Makes up to `n` bytes from the position available; returns how many are (fewer only at the end of the file). */
  ensure(n: number): number {
    const wanted = Math.min(n, this.size - this.position);
    if (this.position < this.start || this.position + wanted > this.start + this.filled) {
      if (wanted > this.buffer.length) this.buffer = Buffer.alloc(wanted);
      // Keep what is still ahead of the position, read the rest behind it.
      const keepFrom = this.position - this.start;
      const keep = keepFrom >= 0 && keepFrom < this.filled ? this.filled - keepFrom : 0;
      if (keep > 0) this.buffer.copy(this.buffer, 0, keepFrom, this.filled);
      this.start = this.position;
      this.filled = keep;
      while (this.filled < this.buffer.length && this.start + this.filled < this.size) {
        const read = guardIo(this.path, 'reading the CIFF file', () => readSync(this.fd, this.buffer, this.filled, this.buffer.length - this.filled, this.start + this.filled));
        if (read === 0) break;
        this.filled += read;
      }
    }
    return Math.min(wanted, this.start + this.filled - this.position);
  }

  /** The `n` bytes at the position (after `ensure(n)` returned n); valid until the next `ensure`. */
  view(n: number): Uint8Array {
    const at = this.position - this.start;
    return this.buffer.subarray(at, at + n);
  }

  truncated(what: MessageLabel, offset: number, needed: number): SpladexError {
    return new SpladexError(
      'E_CIFF',
      `truncated CIFF file: ${what()} needs ${needed} bytes from byte ${offset}, but the file ends at byte ${this.size}; the file is incomplete (an interrupted copy or export): export it again`,
      { file: this.path, offset },
    );
  }

  corrupt(what: MessageLabel, offset: number, problem: string): SpladexError {
    return new SpladexError('E_CIFF', `not a valid CIFF file: ${what()} at byte ${offset}: ${problem}; check that the file is CIFF v1 (Header, PostingsList and DocRecord messages, each length-delimited) and export it again`, { file: this.path, offset });
  }

  /** Reads a message's length prefix and returns the length; the position moves past the prefix. */
  readLength(what: MessageLabel): number {
    const offset = this.position;
    if (this.atEnd) throw this.truncated(what, offset, 1);
    const available = this.ensure(10);
    const reader = this.codec.reader(this.view(available));
    let length: number;
    try {
      length = reader.uint32();
    } catch (error) {
      if (error instanceof RangeError) throw this.truncated(what, offset, available + 1);
      throw this.corrupt(what, offset, `bad length prefix (${(error as Error).message})`);
    }
    this.position += reader.pos;
    return length;
  }

  /** Reads and decodes one whole (small) length-delimited message. */
  readMessage<T>(what: MessageLabel, decode: (bytes: Uint8Array) => T): T {
    const offset = this.position;
    const length = this.readLength(what);
    if (this.ensure(length) < length) throw this.truncated(what, offset, this.position - offset + length);
    let message: T;
    try {
      message = decode(this.view(length));
    } catch (error) {
      throw this.corrupt(what, offset, (error as Error).message);
    }
    this.position += length;
    return message;
  }
}
