/** The progress bar of a Hub download (`model pull`, and `--model org/name` on first use), on stderr. */
import type { PullProgress } from '../src/encode/index.js';
import { formatBytes, progressBar } from './util.js';

/**
 * A progress callback for `pullModel` / the encoder's `onDownload`: one line naming what is
 * downloaded (unless quiet), then a bar while bytes arrive (terminals only), gone when done.
 */
export function downloadProgress(quiet: boolean): (progress: PullProgress) => void {
  let bar: ReturnType<typeof progressBar> | null = null;
  let started = false;
  return (p) => {
    if (!started) {
      started = true;
      if (!quiet) process.stderr.write(`downloading ${p.repo} (commit ${p.commit.slice(0, 12)}): ${formatBytes(p.totalBytes)}\n`);
      bar = progressBar(quiet, '{bar} {percentage}% | {done} of {size} | {file}') ?? null;
      bar?.start(Math.max(1, p.totalBytes), 0, { done: formatBytes(0), size: formatBytes(p.totalBytes), file: p.file });
    }
    bar?.update(p.bytes, { done: formatBytes(p.bytes), size: formatBytes(p.totalBytes), file: p.file });
    if (p.done) {
      bar?.stop();
      // A later download (another model, a re-pull) announces itself again.
      started = false;
      bar = null;
    }
  };
}
