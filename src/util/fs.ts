/** Small file-system helpers shared by the CLI and the library. */
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
