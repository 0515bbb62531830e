/** `spladex add <dir> <input.jsonl>`: adds documents to an existing index as one new segment. */
import type { Command } from 'commander';
import { readDocuments, type SkippedLine } from '../../src/io/documents.js';
import { SpladexIndex, WRITE_DEFAULTS, type AddSummary } from '../../src/spladex-index.js';
import { action, countingStream, parseInteger, progressBar, writeLine } from '../util.js';

function printAddSummary(summary: AddSummary, skippedLines: SkippedLine[], json: boolean): void {
  if (json) {
    writeLine(JSON.stringify({ ...summary, skippedLines }));
    return;
  }
  for (const s of skippedLines.slice(0, 20)) process.stderr.write(`skipped line ${s.line}: [${s.code}] ${s.message}\n`);
  if (skippedLines.length > 20) process.stderr.write(`… and ${skippedLines.length - 20} more skipped lines\n`);
  if (summary.segment === undefined) {
    writeLine(`added no documents to ${summary.path} (${summary.skipped} skipped); the index is unchanged`);
    return;
  }
  const layout = summary.segment.layout === 'flat' ? 'small, searched exhaustively' : 'Seismic index';
  writeLine(`added ${summary.documents} documents (${summary.replaced} replaced, ${summary.emptyDocuments} empty, ${summary.skipped} skipped) to ${summary.path} as ${summary.segment.file} (${layout})`);
  writeLine(`  the index now holds ${summary.liveDocuments} live documents; time ${summary.seconds.total.toFixed(2)} s`);
}

export function register(program: Command): void {
  program
    .command('add')
    .description('add documents from a JSONL file to an existing index as a new segment; a document whose id is already in the index replaces it ("-" reads stdin)')
    .argument('<dir>', 'index directory')
    .argument('<input>', 'JSONL file of documents, same format as "spladex index"')
    .option('--small-segment <n>', 'a new segment with fewer documents is stored without an inverted index and searched exhaustively', parseInteger, WRITE_DEFAULTS.smallSegmentDocs)
    .option('--threads <n>', 'build threads', parseInteger, WRITE_DEFAULTS.threads)
    .option('--skip-invalid', 'skip invalid lines and report them instead of stopping at the first', false)
    .option('--json', 'print the summary as one JSON object', false)
    .option('--quiet', 'no progress bar', false)
    .action(
      action(async (dir: string, input: string, opts: Record<string, unknown>) => {
        const index = SpladexIndex.open(dir, { readonly: false, writerName: `spladex add ${input}` });
        const source = countingStream(input);
        const bar = progressBar(Boolean(opts.quiet), '{bar} {percentage}% | {docs} docs | {phase}');
        bar?.start(Math.max(1, source.size), 0, { docs: 0, phase: 'ingest' });
        const skippedLines: SkippedLine[] = [];
        const onSkip = (s: SkippedLine): void => {
          skippedLines.push(s);
        };
        try {
          const summary = await index.add(readDocuments(source.stream, { skipInvalid: Boolean(opts.skipInvalid), onSkip, label: input }), {
            smallSegmentDocs: opts.smallSegment as number,
            threads: opts.threads as number,
            skipInvalid: Boolean(opts.skipInvalid),
            onSkip,
            sourceLabel: input,
            onProgress: (p) => bar?.update(source.size > 0 ? source.bytesRead() : 0, { docs: p.documents, phase: p.phase }),
          });
          bar?.stop();
          // Lines rejected while parsing never reach the builder: count every skip here.
          summary.skipped = skippedLines.length;
          printAddSummary(summary, skippedLines, Boolean(opts.json));
        } finally {
          bar?.stop();
          index.close();
        }
      }),
    );
}
