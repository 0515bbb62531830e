/** `spladex index <input.jsonl> --out <dir>`: builds an index from sparse-vector JSONL. */
import type { Command } from 'commander';
import { readDocuments, type SkippedLine } from '../../src/io/documents.js';
import { buildIndex, type BuildSummary } from '../../src/spladex-index.js';
import { addBuildOptions, buildOptionsFrom } from '../build-options.js';
import { action, countingStream, formatBytes, progressBar, writeLine } from '../util.js';

export function printBuildSummary(summary: BuildSummary, skippedLines: SkippedLine[], json: boolean): void {
  if (json) {
    writeLine(JSON.stringify({ ...summary, skippedLines }));
    return;
  }
  for (const s of skippedLines.slice(0, 20)) process.stderr.write(`skipped line ${s.line}: [${s.code}] ${s.message}\n`);
  if (skippedLines.length > 20) process.stderr.write(`… and ${skippedLines.length - 20} more skipped lines\n`);
  writeLine(`indexed ${summary.documents} documents (${summary.emptyDocuments} empty, ${summary.skipped} skipped) into ${summary.path}`);
  writeLine(`  vocabulary ${summary.vocabularySize} terms, ${summary.postings} postings, ${summary.keptPostings} kept after static pruning, ${summary.blocks} blocks`);
  writeLine(`  size ${formatBytes(summary.bytes.total)} on disk`);
  const s = summary.seconds;
  writeLine(`  time ${s.total.toFixed(2)} s (ingest ${s.ingest.toFixed(2)}, prune ${s.prune.toFixed(2)}, blocks ${s.blocks.toFixed(2)}, write ${s.write.toFixed(2)})`);
}

export function register(program: Command): void {
  const command = program
    .command('index')
    .description('build an index from a JSONL file of sparse vectors ({"id", "vector": {token: weight}, "content"?, "metadata"?}); "-" reads stdin')
    .argument('<input>', 'JSONL file of documents')
    .requiredOption('--out <dir>', 'index directory to create')
    .option('--skip-invalid', 'skip invalid lines and report them instead of stopping at the first', false)
    .option('--overwrite', 'replace an existing index at --out', false)
    .option('--json', 'print the build summary as one JSON object', false)
    .option('--quiet', 'no progress bar', false);
  addBuildOptions(command).action(
    action(async (input: string, opts: Record<string, unknown>) => {
      const source = countingStream(input);
      const bar = progressBar(Boolean(opts.quiet), '{bar} {percentage}% | {docs} docs | {phase}');
      bar?.start(Math.max(1, source.size), 0, { docs: 0, phase: 'ingest' });
      const skippedLines: SkippedLine[] = [];
      const onSkip = (s: SkippedLine): void => {
        skippedLines.push(s);
      };
      try {
        const summary = await buildIndex(readDocuments(source.stream, { skipInvalid: Boolean(opts.skipInvalid), onSkip, label: input }), opts.out as string, {
          ...buildOptionsFrom(opts),
          overwrite: Boolean(opts.overwrite),
          skipInvalid: Boolean(opts.skipInvalid),
          onSkip,
          sourceLabel: input,
          onProgress: (p) => bar?.update(source.size > 0 ? source.bytesRead() : 0, { docs: p.documents, phase: p.phase }),
        });
        bar?.stop();
        // Lines rejected while parsing never reach the builder: count every skip here.
        summary.skipped = skippedLines.length;
        printBuildSummary(summary, skippedLines, Boolean(opts.json));
      } finally {
        bar?.stop();
      }
    }),
  );
}
