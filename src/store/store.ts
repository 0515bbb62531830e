/**
 * Document store: external ids, text and metadata of every document, the delete bitmaps and the
 * index manifest, in one SQLite database (`spladex.db`) inside the index directory.
 *
 * SQLite is the commit point of every write: new document rows, delete bitmaps and the manifest
 * naming the segment files change together in one transaction (see manifest.ts). The database
 * runs in WAL mode, so a reader holds a snapshot (`beginSnapshot`) that stays consistent while a
 * writer commits, and a crash at any moment leaves the last committed transaction.
 *
 * SQLite pages carry no checksums, so each document row, delete bitmap and the manifest carry a
 * CRC-32 of their content: a flipped byte is reported as `E_CORRUPT` instead of returning altered
 * text or ids. Every SQLite failure is translated into a typed error here.
 */
import Database from 'better-sqlite3';
import { crc32 } from 'node:zlib';
import { SpladexError } from '../errors.js';
import { ioFailure } from '../util/io-failure.js';

export const STORE_FILE = 'spladex.db';

export interface StoredDocument {
  id: string;
  content?: string;
  metadata?: Record<string, unknown>;
}

/** A raw row as stored, for verification and copying. */
export interface DocumentRow {
  segment: number;
  local: number;
  id: string;
  content: string | null;
  metadata: string | null;
  crc: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, crc INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
  segment INTEGER NOT NULL,
  local INTEGER NOT NULL,
  id TEXT NOT NULL,
  content TEXT,
  metadata TEXT,
  crc INTEGER NOT NULL,
  PRIMARY KEY (segment, local)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deletes (segment INTEGER PRIMARY KEY, bitmap BLOB NOT NULL, crc INTEGER NOT NULL);
`;

/**
 * Writers find earlier versions of a re-added or deleted id through this index; built once at the
 * end of a fresh build (faster than maintaining it row by row) and maintained by later writes.
 */
const ID_INDEX = 'CREATE INDEX IF NOT EXISTS documents_id ON documents (id)';

function rowCrc(id: string, content: string | null, metadata: string | null): number {
  return crc32(`${id}\u0000${content ?? '\u0001'}\u0000${metadata ?? '\u0001'}`);
}

/**
 * Maps a SQLite failure to a typed error: busy → E_LOCKED, a damaged file → E_CORRUPT, an I/O
 * condition (full disk, read-only file system, permissions, device error) → E_IO saying the index
 * is unchanged. Only the second means the data is bad.
 */
function sqliteError(cause: unknown, path: string, what: string): SpladexError {
  if (cause instanceof SpladexError) return cause;
  const code = String((cause as { code?: unknown })?.code ?? '');
  const message = (cause as Error)?.message ?? String(cause);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SpladexError('E_LOCKED', `${what} failed (${message}); another process is writing the index; try again when it has finished`, { file: path, cause });
  }
  // SQLITE_ERROR on a fixed, known-good statement means the schema or data is not what we wrote.
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code === 'SQLITE_FORMAT' || /malformed|not a database/i.test(message) || code === 'SQLITE_ERROR' || code === 'SQLITE_MISMATCH' || code === 'SQLITE_RANGE') {
    return new SpladexError('E_CORRUPT', `${what} failed (${message}); restore the index from a backup or rebuild it ("spladex verify" shows the damage)`, { file: path, cause });
  }
  return ioFailure(cause, path, what);
}

export class DocumentStore {
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    readonly path: string,
    db: Database.Database,
  ) {
    this.db = db;
  }

  /** Creates a new store for a fresh build in a private directory (fast, non-durable settings until `finishBuild`). */
  static create(path: string): DocumentStore {
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      db.pragma('journal_mode = MEMORY');
      db.pragma('synchronous = OFF');
      db.exec(SCHEMA);
    } catch (cause) {
      db?.close();
      throw sqliteError(cause, path, 'creating the document store');
    }
    return new DocumentStore(path, db);
  }

  /**
   * Opens an existing store, for reading or for writing. Readers open the file read-write when
   * they may, with `query_only` set: such a connection can recover the WAL of a writer that died
   * and, as the last one to close, checkpoints and removes the `-wal`/`-shm` files. On a read-only
   * file or directory they fall back to a read-only connection.
   */
  static open(path: string, readonly: boolean): DocumentStore {
    let db: Database.Database | undefined;
    try {
      try {
        db = new Database(path, { fileMustExist: true });
        if (readonly) db.pragma('query_only = ON');
      } catch (cause) {
        if (!readonly) throw cause;
        db = new Database(path, { readonly: true, fileMustExist: true });
      }
      db.pragma('busy_timeout = 5000');
      // Touch the schema so a file that is not a database fails here, with a clear error.
      db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'meta'").get();
      if (!readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
      }
    } catch (cause) {
      db?.close();
      // A full disk fails here too (SQLite cannot size spladex.db-shm even to read): that is E_IO, not damage.
      throw sqliteError(cause, path, 'opening the document store');
    }
    return new DocumentStore(path, db);
  }

  /** Creates tables and indexes missing from stores written by earlier versions (writers only). */
  migrate(): void {
    this.guard('updating the store schema', () => {
      this.db.exec(SCHEMA);
      this.db.exec(ID_INDEX);
    });
  }

  /** End of a fresh build: id index, then durable WAL mode (the directory is renamed into place next). */
  finishBuild(): void {
    this.guard('finishing the document store', () => {
      this.db.exec(ID_INDEX);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
    });
  }

  /**
   * Copies committed WAL frames into the database file, as far as open readers allow (PASSIVE:
   * never waits). Once a commit is in the main file, damage to `spladex.db-wal` cannot roll it
   * back; commits a reader's snapshot still pins stay in the WAL, and spladex.commit (see
   * commit-record.ts) detects their loss. Best effort: a failure here leaves the commit in the WAL.
   */
  checkpoint(): void {
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Nothing is lost: the commit stays in the WAL, where SQLite finds it.
    }
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn`, translating SQLite failures into typed errors. */
  guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      throw sqliteError(cause, this.path, what);
    }
  }

  // ---- Transactions -------------------------------------------------------------------------

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /**
   * Starts a read snapshot: every read until `endSnapshot` sees the database as of now, whatever
   * writers commit meanwhile (WAL mode keeps the pages this snapshot needs).
   */
  beginSnapshot(): void {
    this.guard('starting a read snapshot', () => {
      if (this.db.inTransaction) this.db.exec('COMMIT');
      this.db.exec('BEGIN DEFERRED');
      // A deferred transaction takes its snapshot at the first read.
      this.db.prepare('SELECT count(*) FROM meta').get();
    });
  }

  endSnapshot(): void {
    if (this.db.open && this.db.inTransaction) this.guard('ending a read snapshot', () => this.db.exec('COMMIT'));
  }

  /** Starts a write transaction; another writer in progress → `E_LOCKED`. */
  beginWrite(): void {
    this.guard('starting a write transaction', () => this.db.exec('BEGIN IMMEDIATE'));
  }

  commit(): void {
    this.guard('committing', () => this.db.exec('COMMIT'));
  }

  rollback(): void {
    if (this.db.open && this.db.inTransaction) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // A failed rollback leaves nothing committed: SQLite rolls back on close or next open.
      }
    }
  }

  /** Runs `fn` in a transaction, or a savepoint when one is already open (batches inside a write). */
  transaction<T>(fn: () => T): T {
    return this.guard('writing documents', () => this.db.transaction(fn)());
  }

  // ---- Manifest and other metadata -----------------------------------------------------------

  /** Stores `value` as JSON under `key`; returns the CRC-32 of the stored text (a manifest can bind to it). */
  setMeta(key: string, value: unknown): number {
    const text = JSON.stringify(value);
    const crc = crc32(text);
    this.guard(`writing "${key}"`, () => this.statement('INSERT OR REPLACE INTO meta (key, value, crc) VALUES (?, ?, ?)').run(key, text, crc));
    return crc;
  }

  deleteMeta(key: string): void {
    this.guard(`removing "${key}"`, () => this.statement('DELETE FROM meta WHERE key = ?').run(key));
  }

  getMeta<T>(key: string): T | undefined {
    return this.getMetaWithCrc<T>(key)?.value;
  }

  /** A stored value with the CRC-32 of its text (checked against the row's checksum). */
  getMetaWithCrc<T>(key: string): { value: T; crc: number } | undefined {
    const row = this.guard(`reading "${key}"`, () => this.statement('SELECT value, crc FROM meta WHERE key = ?').get(key)) as { value: unknown; crc: unknown } | undefined;
    if (row === undefined) return undefined;
    if (typeof row.value !== 'string' || row.crc !== crc32(row.value)) throw this.corrupt(`checksum mismatch in stored "${key}"`);
    try {
      return { value: JSON.parse(row.value) as T, crc: row.crc };
    } catch (cause) {
      throw this.corrupt(`stored "${key}" is not valid JSON`, cause);
    }
  }

  // ---- Delete bitmaps ------------------------------------------------------------------------

  /** Every stored delete bitmap by segment number, checksums verified. */
  getDeleteBlobs(): Map<number, Uint8Array> {
    // Stores written before deletes existed have no table (writers add it; readers must not write).
    const table = this.guard('reading the schema', () => this.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deletes'").get());
    if (table === undefined) return new Map();
    const rows = this.guard('reading delete bitmaps', () => this.statement('SELECT segment, bitmap, crc FROM deletes ORDER BY segment').all()) as Array<{ segment: unknown; bitmap: unknown; crc: unknown }>;
    const out = new Map<number, Uint8Array>();
    for (const row of rows) {
      if (typeof row.segment !== 'number' || !(row.bitmap instanceof Uint8Array) || row.crc !== crc32(row.bitmap)) {
        throw this.corrupt(`checksum mismatch in the delete bitmap of segment ${String(row.segment)}`);
      }
      out.set(row.segment, row.bitmap);
    }
    return out;
  }

  setDeletes(segment: number, blob: Uint8Array): void {
    this.guard('writing a delete bitmap', () => this.statement('INSERT OR REPLACE INTO deletes (segment, bitmap, crc) VALUES (?, ?, ?)').run(segment, blob, crc32(blob)));
  }

  removeSegment(segment: number): void {
    this.guard('removing segment rows', () => {
      this.statement('DELETE FROM deletes WHERE segment = ?').run(segment);
      this.statement('DELETE FROM documents WHERE segment = ?').run(segment);
    });
  }

  removeAll(): void {
    this.guard('removing all documents', () => {
      this.db.exec('DELETE FROM deletes');
      this.db.exec('DELETE FROM documents');
    });
  }

  // ---- Documents -----------------------------------------------------------------------------

  /** Stores a document row; `metadata` is its JSON text (see `build.ts`, which validates it). */
  insert(segment: number, local: number, id: string, content: string | null, metadata: string | null): void {
    this.guard('storing a document', () =>
      this.statement('INSERT INTO documents (segment, local, id, content, metadata, crc) VALUES (?, ?, ?, ?, ?, ?)').run(segment, local, id, content, metadata, rowCrc(id, content, metadata)),
    );
  }

  /** Copies a raw row as it is (save): its checksum does not depend on (segment, local). */
  insertRow(row: DocumentRow): void {
    this.guard('copying a document', () =>
      this.statement('INSERT INTO documents (segment, local, id, content, metadata, crc) VALUES (?, ?, ?, ?, ?, ?)').run(row.segment, row.local, row.id, row.content, row.metadata, row.crc),
    );
  }

  /** Renumbers a row (compaction): the checksum covers id, content and metadata only, so it stays valid. */
  moveDocument(segment: number, local: number, toSegment: number, toLocal: number): void {
    const result = this.guard('moving a document', () =>
      this.statement('UPDATE documents SET segment = ?, local = ? WHERE segment = ? AND local = ?').run(toSegment, toLocal, segment, local),
    );
    if (result.changes !== 1) throw this.corrupt(`document row (${segment}, ${local}) is missing`);
  }

  /** Every stored (segment, local) holding external id `id`, live or deleted. */
  findById(id: string): Array<{ segment: number; local: number }> {
    return this.guard('looking up a document id', () => this.statement('SELECT segment, local FROM documents WHERE id = ?').all(id)) as Array<{ segment: number; local: number }>;
  }

  /** Fetches stored text and metadata of a document by (segment, local id), checksum verified. */
  getDocument(segment: number, local: number): StoredDocument | undefined {
    const row = this.guard('reading a document', () => this.statement('SELECT segment, local, id, content, metadata, crc FROM documents WHERE segment = ? AND local = ?').get(segment, local)) as DocumentRow | undefined;
    if (row === undefined) return undefined;
    return this.decodeRow(row);
  }

  /** Throws `E_CORRUPT` unless a raw row has the stored types and its checksum matches. */
  checkRow(row: DocumentRow): void {
    if (
      typeof row.segment !== 'number' ||
      typeof row.local !== 'number' ||
      typeof row.id !== 'string' ||
      (row.content !== null && typeof row.content !== 'string') ||
      (row.metadata !== null && typeof row.metadata !== 'string') ||
      rowCrc(row.id, row.content, row.metadata) !== row.crc
    ) {
      const label = typeof row.id === 'string' ? JSON.stringify(row.id) : `at (${String(row.segment)}, ${String(row.local)})`;
      throw this.corrupt(`checksum mismatch in document ${label}`);
    }
  }

  /** Checks a raw row's types and checksum and decodes it. */
  decodeRow(row: DocumentRow): StoredDocument {
    this.checkRow(row);
    const label = JSON.stringify(row.id);
    const out: StoredDocument = { id: row.id };
    if (row.content !== null) out.content = row.content;
    if (row.metadata !== null) {
      try {
        out.metadata = JSON.parse(row.metadata) as Record<string, unknown>;
      } catch (cause) {
        throw this.corrupt(`metadata of document ${label} is not valid JSON`, cause);
      }
    }
    return out;
  }

  // Iterators get their own statements: a cached statement cannot be iterated twice at once, and
  // the connection accepts no writes while an iterator is open (callers finish iterating first).

  /** All rows of one segment in local-id order. */
  *segmentRows(segment: number): Generator<DocumentRow> {
    const iterator = this.guard('reading documents', () => this.db.prepare('SELECT segment, local, id, content, metadata, crc FROM documents WHERE segment = ? ORDER BY local').iterate(segment)) as IterableIterator<DocumentRow>;
    yield* this.guardIterator(iterator, 'reading documents');
  }

  /** All rows in (segment, local) order. */
  *allRows(): Generator<DocumentRow> {
    const iterator = this.guard('reading documents', () => this.db.prepare('SELECT segment, local, id, content, metadata, crc FROM documents ORDER BY segment, local').iterate()) as IterableIterator<DocumentRow>;
    yield* this.guardIterator(iterator, 'reading documents');
  }

  /** (segment, local) pairs of the rows matching a compiled filter `where` clause over alias `d`. */
  *matching(where: string, params: Record<string, unknown>): Generator<{ segment: number; local: number }> {
    const sql = `SELECT segment, local FROM documents AS d WHERE ${where} ORDER BY segment, local`;
    const iterator = this.guard('evaluating a filter', () => this.db.prepare(sql).iterate(params)) as IterableIterator<{ segment: number; local: number }>;
    yield* this.guardIterator(iterator, 'evaluating a filter');
  }

  private *guardIterator<T>(iterator: IterableIterator<T>, what: string): Generator<T> {
    try {
      for (;;) {
        let next: IteratorResult<T>;
        try {
          next = iterator.next();
        } catch (cause) {
          throw sqliteError(cause, this.path, what);
        }
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      // A consumer that stops early (an error in its loop) must release the statement, or the
      // connection stays busy and cannot even be closed.
      iterator.return?.();
    }
  }

  /** `PRAGMA integrity_check`: an empty list when the database file is sound. */
  integrityCheck(): string[] {
    const rows = this.guard('checking database integrity', () => this.db.pragma('integrity_check')) as Array<{ integrity_check: string }>;
    const messages = rows.map((r) => r.integrity_check);
    return messages.length === 1 && messages[0] === 'ok' ? [] : messages;
  }

  corrupt(message: string, cause?: unknown): SpladexError {
    return new SpladexError('E_CORRUPT', `${message}; restore or rebuild the index`, { file: this.path, cause });
  }

  close(): void {
    if (!this.db.open) return;
    this.rollback();
    this.db.close();
  }
}
