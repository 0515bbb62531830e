/** A real full file system for tests: a small tmpfs (root only) and a filler that takes its last byte. */
import { spawnSync } from 'node:child_process';
import fs, { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** Fills the file system of `dir` to the last byte; returns the filler's path. */
export function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(1 << 16);
  try {
    for (let size = chunk.length; size >= 1; size >>= 1) {
      for (;;) {
        try {
          fs.writeSync(fd, chunk, 0, size);
        } catch {
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

/**
 * Mounts a tmpfs of `size` (e.g. "6m") at `mountPoint` when the tests run as root, unmounted after
 * the file's tests; false (nothing mounted) otherwise.
 */
export function mountSmallTmpfs(mountPoint: string, size: string): boolean {
  if (process.getuid?.() !== 0) return false;
  mkdirSync(mountPoint, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mountPoint]).status === 0;
  if (mounted) afterAll(() => void spawnSync('umount', ['-l', mountPoint]));
  return mounted;
}
