/**
 * Sorted runs on disk: the bounded-memory inversion both directions of CIFF need (an index's
 * documents → term-ordered postings lists, a CIFF file's lists → per-document vectors). Triples
 * (key, item, value) collect in a fixed-size buffer; a full buffer is sorted by key — stably, so
 * items keep their arrival order within a key — and written as one run file; readers then merge
 * the runs by key with one small window per run.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { guardIo } from '../util/io-failure.js';

const READ_WINDOW_TRIPLES = 1 << 14;

export class RunWriter {
  readonly dir: string;
  private readonly keys: Uint32Array;
  private readonly items: Uint32Array;
  private readonly values: Uint32Array;
  private readonly order: Uint32Array;
  private readonly scratch: Uint32Array;
  private readonly out: Uint32Array;
  private length = 0;
  private maxKey = 0;
  readonly files: string[] = [];
  /** Triples per run file (for readers: they must not exceed one window per run in memory). */
  readonly counts: number[] = [];
  private opened: RunReader[] = [];

  constructor(
    parent: string,
    readonly capacity: number,
  ) {
    this.dir = guardIo(parent, 'creating a temporary directory', () => mkdtempSync(join(parent, '.spladex-ciff-')));
    this.keys = new Uint32Array(capacity);
    this.items = new Uint32Array(capacity);
    this.values = new Uint32Array(capacity);
    this.order = new Uint32Array(capacity);
    this.scratch = new Uint32Array(capacity);
    this.out = new Uint32Array(Math.min(capacity, READ_WINDOW_TRIPLES) * 3);
  }

  push(key: number, item: number, value: number): void {
    if (this.length === this.capacity) this.flush();
    const i = this.length++;
    this.keys[i] = key;
    this.items[i] = item;
    this.values[i] = value;
    if (key > this.maxKey) this.maxKey = key;
  }

  /** Sorts the buffer by key (stable LSD radix, 16 bits a pass) and writes it as the next run. */
  flush(): void {
    const n = this.length;
    if (n === 0) return;
    let order = this.order;
    let other = this.scratch;
    for (let i = 0; i < n; i++) order[i] = i;
    const counts = new Uint32Array(65537);
    for (let shift = 0; shift < 32 && this.maxKey >>> shift > 0; shift += 16) {
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[((this.keys[order[i]] >>> shift) & 0xffff) + 1]++;
      for (let b = 1; b < counts.length; b++) counts[b] += counts[b - 1];
      for (let i = 0; i < n; i++) {
        const o = order[i];
        other[counts[(this.keys[o] >>> shift) & 0xffff]++] = o;
      }
      [order, other] = [other, order];
    }
    const file = join(this.dir, `run-${this.files.length}`);
    const fd = guardIo(file, 'writing a temporary run file', () => openSync(file, 'w'));
    try {
      const chunk = this.out.length / 3;
      for (let start = 0; start < n; start += chunk) {
        const end = Math.min(n, start + chunk);
        for (let i = start, j = 0; i < end; i++) {
          const o = order[i];
          this.out[j++] = this.keys[o];
          this.out[j++] = this.items[o];
          this.out[j++] = this.values[o];
        }
        const bytes = new Uint8Array(this.out.buffer, 0, (end - start) * 12);
        guardIo(file, 'writing a temporary run file', () => writeSync(fd, bytes));
      }
    } finally {
      closeSync(fd);
    }
    this.files.push(file);
    this.counts.push(n);
    this.length = 0;
    this.maxKey = 0;
  }

  /** Flushes the last run and opens a reader per run. */
  readers(): RunReader[] {
    this.flush();
    this.opened = this.files.map((file, i) => new RunReader(file, this.counts[i]));
    return this.opened;
  }

  /** Closes the readers and removes the run files. */
  remove(): void {
    for (const reader of this.opened) reader.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One run, read in windows: `key`, `item`, `value` of the current triple until `done`. */
export class RunReader {
  key = 0;
  item = 0;
  value = 0;
  done = false;
  private readonly fd: number;
  private readonly window = new Uint32Array(READ_WINDOW_TRIPLES * 3);
  private at = 0;
  private filled = 0;
  private consumed = 0;

  constructor(
    private readonly file: string,
    private readonly total: number,
  ) {
    this.fd = guardIo(file, 'reading a temporary run file', () => openSync(file, 'r'));
    this.advance();
  }

  advance(): void {
    if (this.at === this.filled) {
      const left = this.total - this.consumed;
      if (left === 0) {
        this.done = true;
        this.close();
        return;
      }
      const triples = Math.min(left, READ_WINDOW_TRIPLES);
      const bytes = new Uint8Array(this.window.buffer, 0, triples * 12);
      for (let got = 0; got < bytes.length; ) {
        const n = guardIo(this.file, 'reading a temporary run file', () => readSync(this.fd, bytes, got, bytes.length - got, this.consumed * 12 + got));
        if (n === 0) throw new Error(`temporary run file ${this.file} ended early`);
        got += n;
      }
      this.consumed += triples;
      this.at = 0;
      this.filled = triples * 3;
    }
    this.key = this.window[this.at];
    this.item = this.window[this.at + 1];
    this.value = this.window[this.at + 2];
    this.at += 3;
  }

  private closed = false;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
