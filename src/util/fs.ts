/** Small file-system helpers shared by the CLI and the library. */
import { closeSync, fsyncSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
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

/** The names in `dir`, or none when it cannot be listed (gone, or not a directory): for best-effort scans. */
export function entriesOrNone(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Whether a process with this pid runs on this host (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Paths of the entries of `dir` whose name matches `pattern` and names, in its first capture
 * group, a pid that no longer runs: leftovers of a process that died (temporary build
 * directories, lock staging files). An unreadable directory has none.
 */
export function deadProcessEntries(dir: string, pattern: RegExp): string[] {
  return entriesOrNone(dir).filter((name) => {
    const match = pattern.exec(name);
    return match !== null && !processAlive(Number(match[1]));
  }).map((name) => join(dir, name));
}
