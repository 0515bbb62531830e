/** Scratch space of one test file: a temporary directory removed after its tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A fresh temporary directory (removed after the file's tests) and `file(name, body)`, which writes a file in it and returns its path. */
export function scratchDirectory(prefix: string): { dir: string; file: (name: string, body: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, body: string): string => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };
  return { dir, file };
}
