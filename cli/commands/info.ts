/** `spladex info <dir>`: what an index holds and how it was built. */
import type { Command } from 'commander';
import { SpladexIndex } from '../../src/spladex-index.js';
import { action, formatBytes, writeLine } from '../util.js';

export function register(program: Command): void {
  program
    .command('info')
    .description('show documents, vocabulary, postings, blocks, bytes per part and build options of an index')
    .argument('<dir>', 'index directory')
    .option('--json', 'print one JSON object', false)
    .action(
      action((dir: string, opts: { json: boolean }) => {
        const index = SpladexIndex.open(dir);
        try {
          const info = index.info();
          if (opts.json) {
            writeLine(JSON.stringify(info));
            return;
          }
          writeLine(`index        ${info.path} (format ${info.formatVersion}, ${info.segments.length} segment${info.segments.length === 1 ? '' : 's'})`);
          writeLine(`documents    ${info.documents}`);
          writeLine(`vocabulary   ${info.vocabularySize} terms`);
          writeLine(`postings     ${info.postings} in the forward index (${(info.postings / Math.max(1, info.documents)).toFixed(1)} per document)`);
          writeLine(`kept         ${info.keptPostings} postings after static pruning, in ${info.blocks} blocks (${info.summaryEntries} summary entries)`);
          writeLine(`memory       ${formatBytes(info.memory.total)} (forward ${formatBytes(info.memory.forward)}, inverted + summaries ${formatBytes(info.memory.inverted)})`);
          writeLine(`disk         ${formatBytes(info.bytes.total)}`);
          for (const [part, bytes] of Object.entries(info.bytes.parts)) writeLine(`  ${part.padEnd(16)} ${formatBytes(bytes)}`);
          writeLine('build options');
          for (const [key, value] of Object.entries(info.build)) writeLine(`  ${key.padEnd(18)} ${String(value)}`);
        } finally {
          index.close();
        }
      }),
    );
}
