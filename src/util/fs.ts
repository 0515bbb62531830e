/** Small file-system helpers shared by the CLI and the library. */
import { closeSync, fsyncSync, openSync, unlinkSync } from 'node:fs';
import { access } from 'node:fs/promises';

/** Whether something exists at `path` (file or directory). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** fsync of a file or directory by path (a directory: makes the renames and unlinks in it durable). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Unlinks a file that is not needed any more; a failure leaves it in place (callers treat it as debris). */
export function tryRemove(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone or not removable now.
  }
}
