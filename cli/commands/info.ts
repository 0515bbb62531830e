/** `spladex info <dir>`: what an index holds, how it was built, its FLOPS and postings per document. */
import type { Command } from 'commander';
import { loadQueries } from '../../src/eval/index.js';
import { SpladexIndex } from '../../src/index.js';
import { textQueryEncoder } from '../query-encoder.js';
import { calibrationLines } from '../calibration-lines.js';
import { action, formatBytes, writeLine } from '../util.js';
import { plural } from '../plural.js';

interface InfoCliOptions {
  json: boolean;
  queries?: string;
  model?: string;
}

export function register(program: Command): void {
  program
    .command('info')
    .description(
      'show documents, vocabulary, postings, blocks, bytes per part, build options and encoder of an index, its FLOPS ' +
        '(expected multiply-adds per query of an exact search, Σ_t p_q(t)·p_d(t)) and postings per document',
    )
    .argument('<dir>', 'index directory')
    .option('--queries <file>', 'query sample for the FLOPS (p_q): vector lines, or text lines on an index built from text (default: the documents\' own distribution, p_q = p_d)')
    .option('--model <dir>', "where the index's model directory is now (text queries; its checksum must match the build)")
    .option('--json', 'print one JSON object', false)
    .action(
      action(async (dir: string, opts: InfoCliOptions) => {
        const index = SpladexIndex.open(dir);
        try {
          let queries;
          if (opts.queries !== undefined) {
            const encoder = textQueryEncoder(dir, opts.model);
            queries = (await loadQueries(opts.queries, { encoder: encoder.open }).finally(encoder.dispose)).map((q) => q.vector);
          }
          const info = index.info();
          const flops = index.flops(queries === undefined ? {} : { queries });
          if (opts.json) {
            writeLine(JSON.stringify({ ...info, flops: { ...flops, ...(opts.queries === undefined ? {} : { queriesFile: opts.queries }) } }));
            return;
          }
          writeLine(`index        ${info.path} (format ${info.formatVersion}, ${plural(info.segments.length, 'segment')})`);
          writeLine(`documents    ${info.documents}`);
          writeLine(`encoder      ${info.encoder === null ? 'none: built from sparse vectors (search with query vectors)' : info.encoder.label}`);
          writeLine(`term space   ${info.termSpace}${info.termSpace === 'custom' ? ' (not checked: queries and added vectors of any space are accepted)' : ' (query vectors and added documents of another space are refused)'}`);
          if (info.idf !== null) writeLine(`idf          ${plural(info.idf.terms, 'term')}, from ${info.idf.source === 'corpus' ? 'the corpus (BM25)' : info.idf.source === 'file' ? 'an idf.json' : 'a table'}`);
          writeLine(`vocabulary   ${plural(info.vocabularySize, 'term')}`);
          writeLine(`postings     ${info.postings} in the forward index (${(info.postings / Math.max(1, info.documents)).toFixed(1)} per document)`);
          const p = flops.postingsPerDocument;
          writeLine(`per document mean ${p.mean.toFixed(1)}, p50 ${p.p50}, p99 ${p.p99}, max ${plural(p.max, 'posting')}`);
          const sample = flops.distribution === 'queries' ? `with the ${plural(flops.queries, 'query', 'queries')} of ${opts.queries} as p_q` : "with the documents' own distribution as p_q (p_q = p_d)";
          writeLine(`FLOPS        ${flops.flops.toFixed(4)} expected multiply-adds per query ${sample}`);
          if (flops.distribution === 'queries') writeLine(`             ${flops.documentFlops.toFixed(4)} with p_q = p_d`);
          if (info.postingPruning !== null) {
            const o = info.postingPruning;
            writeLine(`pruned       at build: FLOPS budget ${o.flopsBudget || 'none'}, max terms per document ${o.maxTermsPerDoc || 'none'}, min weight ${o.minWeight || 'none'}`);
          }
          writeLine(`kept         ${plural(info.keptPostings, 'posting')} after static pruning, in ${plural(info.blocks, 'block')} (${plural(info.summaryEntries, 'summary entry', 'summary entries')})`);
          writeLine(`scoring      ${info.scoringKernel} kernel`);
          if (info.calibration === null) writeLine('calibration  none: search uses the fixed defaults (rebuild to calibrate)');
          else for (const line of calibrationLines(info.calibration, { frontier: true })) writeLine(line.startsWith('calibration ') ? `calibration  ${line.slice(12)}` : `             ${line.trimStart()}`);
          writeLine(`memory       ${formatBytes(info.memory.total)} (forward ${formatBytes(info.memory.forward)}, inverted + summaries ${formatBytes(info.memory.inverted)}, κ-NN graph ${formatBytes(info.memory.graph)})`);
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
