/** `spladex compact <dir>`: merges all segments into one and drops deleted documents. */
import type { Command } from 'commander';
import { SpladexIndex, WRITE_OPTIONS } from '../../src/index.js';
import { addTableOptions, tableOptionsFrom } from '../table-options.js';
import { recalibrationLine } from '../calibration-lines.js';
import { action, writeLine } from '../util.js';
import { plural } from '../plural.js';

export function register(program: Command): void {
  const command = program
    .command('compact')
    .description('merge all segments into one, rebuilt from the stored vectors with the index\'s build options, dropping deleted documents')
    .argument('<dir>', 'index directory')
    .option('--json', 'print the summary as one JSON object', false);
  addTableOptions(command, WRITE_OPTIONS, {
    help: { smallSegmentDocs: 'if fewer documents remain, the merged segment is stored without an inverted index and searched exhaustively (0 = always indexed)' },
  });
  command.action(
    action(async (dir: string, opts: { json: boolean }) => {
      const index = SpladexIndex.openWriter(dir, { writerName: 'spladex compact' });
      try {
        const summary = await index.compact(tableOptionsFrom(command, WRITE_OPTIONS));
        if (opts.json) {
          writeLine(JSON.stringify(summary));
          return;
        }
        if (summary.segmentsBefore === summary.segmentsAfter && summary.dropped === 0) {
          writeLine(`${summary.path} is already compact (${plural(summary.segmentsAfter, 'segment')}, no deleted documents)`);
          return;
        }
        writeLine(
          `compacted ${summary.path}: ${plural(summary.segmentsBefore, 'segment')} → ${summary.segmentsAfter}, ${plural(summary.documents, 'document')} kept, ${plural(summary.dropped, 'deleted document')} dropped (${summary.seconds.total.toFixed(2)} s)`,
        );
          const recalibrated = recalibrationLine(summary.recalibrated);
          if (recalibrated !== undefined) writeLine(recalibrated);
      } finally {
        index.close();
      }
    }),
  );
}
