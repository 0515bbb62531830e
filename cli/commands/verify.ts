/**
 * `spladex verify <dir>`: checks every stored part of an index. Exit status 0 when the index is
 * sound, 1 when it is damaged (the first problem is printed with its file and location), 2 when
 * it could not be checked at all (not an index, bad arguments); see cli/exit-codes.ts.
 */
import type { Command } from 'commander';
import { verifyIndex } from '../../src/index.js';import { EXIT } from '../exit-codes.js';
import { action, formatBytes, writeLine } from '../util.js';
import { plural } from '../plural.js';

export function register(program: Command): void {
  program
    .command('verify')
    .description('check every stored part of an index (checksums, SQLite integrity, structure, manifest vs segments); exit status 1 if damaged')
    .argument('<dir>', 'index directory')
    .option('--quick', 'skip re-deriving every block summary from its documents (the slow part); all other checks still run', false)
    .option('--json', 'print the report as one JSON object', false)
    .action(
      action((dir: string, opts: { json: boolean; quick: boolean }) => {
        const report = verifyIndex(dir, { level: opts.quick ? 'quick' : 'full' });
        if (opts.json) {
          writeLine(JSON.stringify(report));
        } else if (report.ok) {
          const c = report.checked;
          writeLine(`ok: ${report.path}: ${plural(c.segments, 'segment')}, ${plural(c.documents, 'live document')} (${c.deletedDocuments} deleted), ${plural(c.rows, 'document row')}, ${formatBytes(c.bytes)} checked in ${report.seconds.toFixed(2)} s`);
        } else {
          const p = report.problem!;
          writeLine(`damaged: ${p.file} (${p.location}): [${p.code}] ${p.message}`);
        }
        if (!opts.json) for (const note of report.notes) writeLine(`note: ${note}`);
        if (!report.ok) process.exitCode = EXIT.damaged;
      }),
    );
}
