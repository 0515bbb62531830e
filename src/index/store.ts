/**
 * Document store: external ids, text and metadata of every document, plus the index manifest,
 * in one SQLite database (`spladex.db`) inside the index directory.
 *
 * SQLite pages carry no checksums, so each document row and the manifest carry a CRC-32 of their
 * content: a flipped byte is reported as `E_CORRUPT` instead of returning altered text or ids.
 */
import Database from 'better-sqlite3';
import { crc32 } from 'node:zlib';
import { SpladexError } from '../errors.js';

export const STORE_FILE = 'spladex.db';

export interface StoredDocument {
  id: string;
  content?: string;
  metadata?: Record<string, unknown>;
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
`;

function rowCrc(id: string, content: string | null, metadata: string | null): number {
  return crc32(`${id}\u0000${content ?? '\u0001'}\u0000${metadata ?? '\u0001'}`);
}

export class DocumentStore {
  readonly db: Database.Database;
  private insertStatement?: Database.Statement;

  private constructor(readonly path: string, db: Database.Database) {
    this.db = db;
  }

  /** Creates a new store for a build (fast, non-durable settings until `finishBuild`). */
  static create(path: string): DocumentStore {
    const db = new Database(path);
    db.pragma('journal_mode = MEMORY');
    db.pragma('synchronous = OFF');
    db.exec(SCHEMA);
    return new DocumentStore(path, db);
  }

  static open(path: string, readonly: boolean): DocumentStore {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      // Touch the schema so a file that is not a database fails here, with a clear error.
      db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'meta'").get();
    } catch (cause) {
      throw new SpladexError('E_CORRUPT', `cannot open the document store (${(cause as Error).message}); restore or rebuild the index`, { file: path, cause });
    }
    return new DocumentStore(path, db);
  }

  /** Switches to durable settings and flushes (end of a build, before the directory is renamed). */
  finishBuild(): void {
    this.db.pragma('journal_mode = DELETE');
    this.db.pragma('synchronous = FULL');
  }

  insert(segment: number, local: number, doc: StoredDocument): void {
    this.insertStatement ??= this.db.prepare('INSERT INTO documents (segment, local, id, content, metadata, crc) VALUES (?, ?, ?, ?, ?, ?)');
    const content = doc.content ?? null;
    const metadata = doc.metadata === undefined ? null : JSON.stringify(doc.metadata);
    this.insertStatement.run(segment, local, doc.id, content, metadata, rowCrc(doc.id, content, metadata));
  }

  setMeta(key: string, value: unknown): void {
    const text = JSON.stringify(value);
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value, crc) VALUES (?, ?, ?)').run(key, text, crc32(text));
  }

  getMeta<T>(key: string): T | undefined {
    let row: { value: string; crc: number } | undefined;
    try {
      row = this.db.prepare('SELECT value, crc FROM meta WHERE key = ?').get(key) as typeof row;
    } catch (cause) {
      throw this.corrupt(`cannot read "${key}" (${(cause as Error).message})`, cause);
    }
    if (row === undefined) return undefined;
    if (crc32(row.value) !== row.crc) throw this.corrupt(`checksum mismatch in stored "${key}"`);
    try {
      return JSON.parse(row.value) as T;
    } catch (cause) {
      throw this.corrupt(`stored "${key}" is not valid JSON`, cause);
    }
  }

  /** Fetches stored text and metadata of documents by (segment, local id). */
  getDocument(segment: number, local: number): StoredDocument | undefined {
    let row: { id: string; content: string | null; metadata: string | null; crc: number } | undefined;
    try {
      row = this.db.prepare('SELECT id, content, metadata, crc FROM documents WHERE segment = ? AND local = ?').get(segment, local) as typeof row;
    } catch (cause) {
      throw this.corrupt(`cannot read document (${(cause as Error).message})`, cause);
    }
    if (row === undefined) return undefined;
    if (rowCrc(row.id, row.content, row.metadata) !== row.crc) throw this.corrupt(`checksum mismatch in document ${JSON.stringify(row.id)}`);
    const out: StoredDocument = { id: row.id };
    if (row.content !== null) out.content = row.content;
    if (row.metadata !== null) out.metadata = JSON.parse(row.metadata) as Record<string, unknown>;
    return out;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  corrupt(message: string, cause?: unknown): SpladexError {
    return new SpladexError('E_CORRUPT', `${message}; restore or rebuild the index`, { file: this.path, cause });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
