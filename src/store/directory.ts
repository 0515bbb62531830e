/**
 * Publishing a finished index directory and cleaning up after builds that died: the fresh-build
 * half of the durability rules (the writer half is commit-record.ts). A build works in
 * `<dir>.tmp-<pid>-<time>` and renames it into place, so an interrupted build never leaves a
 * directory that opens as an index.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SpladexError } from '../errors.js';
import { deadProcessEntries, fsyncPath } from '../util/fs.js';
import { STORE_FILE } from './store.js';

/** Moves a finished temporary directory to `out`, replacing an old directory only if asked to. */
export function publishDirectory(temporary: string, out: string, overwrite: boolean): void {
  if (existsSync(out)) {
    const entries = statSync(out).isDirectory() ? readdirSync(out) : ['(file)'];
    if (entries.length > 0) {
      if (!overwrite) throw new SpladexError('E_INDEX_EXISTS', `${out} already exists; choose another --out or pass --overwrite`, { file: out });
      if (!existsSync(join(out, STORE_FILE))) {
        throw new SpladexError('E_INDEX_EXISTS', `${out} exists and is not a spladex index; refusing to overwrite it`, { file: out });
      }
      const old = `${out}.old-${process.pid}-${Date.now()}`;
      renameSync(out, old);
      renameSync(temporary, out);
      rmSync(old, { recursive: true, force: true });
      fsyncPath(dirname(out));
      return;
    }
    rmSync(out, { recursive: true, force: true });
  }
  try {
    renameSync(temporary, out);
  } catch (error) {
    // Another process published the same directory first.
    if (['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) {
      throw new SpladexError('E_INDEX_EXISTS', `${out} was created by another process meanwhile; choose another --out or pass --overwrite`, { file: out });
    }
    throw error;
  }
  fsyncPath(dirname(out));
}

export function temporarySibling(out: string): string {
  const path = `${out}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(path, { recursive: true });
  return path;
}

/** Removes `<dir>.tmp-<pid>-<t>` and `<dir>.old-<pid>-<t>` left by builds whose process died. */
export function removeStaleSiblings(dir: string): void {
  const prefix = basename(dir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const path of deadProcessEntries(dirname(dir), new RegExp(`^${prefix}\\.(?:tmp|old)-(\\d+)-\\d+$`))) rmSync(path, { recursive: true, force: true });
}
