/** `spladex delete <dir> --ids <file | list>`: marks documents deleted by external id. */
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { SpladexError, readLines, SpladexIndex } from '../../src/index.js';
import { recalibrationLine } from '../calibration-lines.js';
import { action, writeLine } from '../util.js';
import { plural } from '../plural.js';

/**
 * `--ids` is a file of one id per line when it names an existing file ("-": stdin), otherwise a
 * comma-separated list. Surrounding whitespace is not part of an id.
 *
 * Ids read here are always well-formed text: a file goes through `readLines`' fatal UTF-8 decoder
 * (a surrogate encoded as bytes, as in CESU-8 or WTF-8, is `E_INPUT_ENCODING` naming its line) and
 * Node decodes argv replacing invalid bytes. Ids from any other caller are checked by
 * `SpladexIndex.delete` itself (`checkStorableString`), so nothing needs checking twice here.
 */
export async function readIds(value: string): Promise<string[]> {
  const ids: string[] = [];
  if (value === '-' || (existsSync(value) && statSync(value).isFile())) {
    for await (const line of readLines(value)) {
      const id = line.text.trim();
      if (id.length > 0) ids.push(id);
    }
  } else {
    for (const part of value.split(',')) {
      const id = part.trim();
      if (id.length > 0) ids.push(id);
    }
  }
  if (ids.length === 0) throw new SpladexError('E_OPTION', '--ids names no document: give a file with one id per line or a comma-separated list');
  return ids;
}

export function register(program: Command): void {
  program
    .command('delete')
    .description('mark documents deleted; they disappear from results at once and from disk at the next "spladex compact"')
    .argument('<dir>', 'index directory')
    .requiredOption('--ids <file|list>', 'file with one document id per line ("-" reads stdin), or a comma-separated list of ids')
    .option('--json', 'print the summary as one JSON object', false)
    .action(
      action(async (dir: string, opts: { ids: string; json: boolean }) => {
        const ids = await readIds(opts.ids);
        const index = SpladexIndex.openWriter(dir, { writerName: 'spladex delete' });
        try {
          const summary = await index.delete(ids);
          if (opts.json) {
            writeLine(JSON.stringify(summary));
            return;
          }
          writeLine(`deleted ${plural(summary.deleted, 'document')} from ${summary.path}; ${plural(summary.liveDocuments, 'live document')} remain${summary.liveDocuments === 1 ? 's' : ''}`);
          const recalibrated = recalibrationLine(summary.recalibrated);
          if (recalibrated !== undefined) writeLine(recalibrated);
          if (summary.notFound.length > 0) {
            const shown = summary.notFound.slice(0, 10).map((id) => JSON.stringify(id)).join(', ');
            writeLine(`  ${plural(summary.notFound.length, 'id')} not found (unknown or already deleted): ${shown}${summary.notFound.length > 10 ? ', …' : ''}`);
          }
        } finally {
          index.close();
        }
      }),
    );
}
