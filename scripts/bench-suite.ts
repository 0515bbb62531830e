/**
 * `npm run bench`: the standard benchmark suite. Writes docs/BENCHMARKS.md and its plots.
 *
 *  (a) synthetic collection (1M documents by default): build with default options (build time,
 *      index bytes, memory against the forward index), then `spladex bench --sweep`;
 *  (b) the real MS MARCO dev query vectors (SPLADE++ ED) against a synthetic collection generated
 *      with the bert-base-uncased vocabulary, so that their tokens match;
 *  (c) the shared text collections (SciFact, CACM, Vaswani) through the lexical (BM25) encoder:
 *      effectiveness with `spladex eval`, speed and recall with `spladex bench`;
 *  (d) long documents: build time of a small collection holding one document of 10k, 30k or 100k
 *      terms (the per-document limit), which must grow linearly with the document's length.
 *      `--parts long` alone runs only this case and updates its section of an existing report in
 *      place (between its markers), so it can be rerun in seconds;
 *  (e) generalisation (scripts/bench-generalisation.ts): recall@10 at the defaults against exact
 *      search on 17 collections of other shapes (synthetic, real SPLADE queries, the lexical text
 *      collections), spliced into its own section; `--parts generalisation` runs only it;
 *  (f) seismic (scripts/bench-seismic.ts): the original Seismic (`pyseismic-lsr` from PyPI, in a
 *      local virtual environment) against spladex on the 1M collections of (a) and (b) at equal
 *      recall, side by side in one run; skipped with a note where Python is absent;
 *  (g) encoding (scripts/bench-encoding.ts): throughput of a converted BERT-base-sized SPLADE model
 *      (random weights) at 1 and 2 threads, its tokenize / model / pool split and spladex's
 *      overhead over raw ONNX Runtime, spliced into its own section;
 *  (h) serving (scripts/bench-sections.ts → bench-pool.ts, bench-serve.ts): the search pool's
 *      QPS and memory at 1 and 2 threads against the reader, and `spladex serve` under HTTP load
 *      at concurrency 1, 8 and 64 plus a 60 s soak, on the index of (a), spliced into its section;
 *  (i) opensearch (scripts/bench-opensearch.ts): spladex against OpenSearch's exact rank_features
 *      on a real node (scripts/opensearch/), latency, recall and export throughput, in its section.
 *
 * Every measurement runs in its own CLI child process, as a user would run it, so that peak RSS
 * and timings of one step are not polluted by another. Generated data is cached under
 * `bench-data/` and reused when its generation options are unchanged; indexes are rebuilt every
 * run (their build time is a result) unless `--reuse-index` is given. Parts (b) and (c) need
 * `../shared/data` and are skipped, with a note in the report, when it is absent.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { type BenchReport, sweepTableRows, formatSweepTable, describeMachine, formatBytes, formatMachine, type MachineInfo } from '../src/bench/index.js';
import { type EvalReport } from '../src/eval/index.js';
import type { BuildSummary, IndexInfo } from '../src/index.js';
import { runGeneralisationSuite } from './bench-generalisation.js';
import { runEncodingBench } from './bench-encoding.js';
import { seismicPart, servingPart } from './bench-sections.js';
import { openSearchPart } from './bench-opensearch.js';
import { keepSplicedSections } from './report-sections.js';
import { BERT_VOCAB, MSMARCO_QUERIES, SHARED, ensureMsmarcoCollection, ensureSynthetic, log, shown } from './bench-collections.js';
import { longSection, runLongCase, spliceLongSection, type LongResult } from './bench-long.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const TEXT_COLLECTIONS = ['scifact', 'cacm', 'vaswani'] as const;

type Part = 'synthetic' | 'msmarco' | 'text' | 'long' | 'generalisation' | 'seismic' | 'encoding' | 'serving' | 'opensearch';
const PARTS: readonly Part[] = ['synthetic', 'msmarco', 'text', 'long', 'generalisation', 'seismic', 'encoding', 'serving', 'opensearch'];
/** Parts that write their own section of the report (between markers) instead of the report's body. */
const SECTION_PARTS: readonly Part[] = ['generalisation', 'seismic', 'encoding', 'serving', 'opensearch'];


interface SuiteOptions {
  docs: number;
  queries: number;
  seed: number;
  data: string;
  out: string;
  parts: Part[];
  threads?: number;
  reuseIndex: boolean;
  /** Label of the code version in the report; default: the repository's git commit. */
  commit?: string;
}

const SUITE_DEFAULTS = Object.freeze({
  docs: 1_000_000,
  /** Queries per measured query set: ground truth at 1M documents costs ≈ 0.25 s per query. */
  queries: 500,
  seed: 42,
  data: 'bench-data',
  out: 'docs/BENCHMARKS.md',
});

/** The targets of the issue; each row of the report's target table checks one. */
const TARGETS = Object.freeze({
  recallAt10: 0.95,
  speedupOverMaxScoreP50: 20,
  buildSeconds: 300,
  memoryOverForward: 1.5,
});

/** Runs a CLI command; progress goes to our stderr, stdout is returned. Throws on failure. */
function cli(args: string[]): string {
  log(`spladex ${args.map(shown).join(' ')}`);
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`spladex ${args[0]} failed with status ${result.status ?? result.signal}`);
  return result.stdout;
}

const cliJson = <T>(args: string[]): T => JSON.parse(cli([...args, '--json'])) as T;

interface BuiltIndex {
  path: string;
  summary: BuildSummary;
  info: IndexInfo;
}

/** Builds `documents` into `<dir>/index` with default options (or reuses it with --reuse-index). */
function buildDefaultIndex(dir: string, documents: string, reuse: boolean): BuiltIndex {
  const path = join(dir, 'index');
  const summaryFile = join(dir, 'index-build.json');
  let summary: BuildSummary;
  if (reuse && existsSync(path) && existsSync(summaryFile)) {
    log(`reusing ${shown(path)}`);
    summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as BuildSummary;
  } else {
    summary = cliJson<BuildSummary>(['index', documents, '--out', path, '--overwrite', '--quiet']);
    writeFileSync(summaryFile, JSON.stringify(summary));
  }
  return { path, summary, info: cliJson<IndexInfo>(['info', path]) };
}

function bench(index: string, queries: string, extra: string[]): BenchReport {
  return cliJson<BenchReport>(['bench', index, '--queries', queries, ...extra]);
}

// ---------------------------------------------------------------------------------------------
// Results and their Markdown.
// ---------------------------------------------------------------------------------------------

interface CollectionResult {
  title: string;
  description: string;
  built: BuiltIndex;
  report: BenchReport;
  plot?: string;
}

interface TextResult {
  name: string;
  documents: number;
  queries: number;
  approximate: EvalReport;
  exact: EvalReport;
  report: BenchReport;
}

interface SuiteResults {
  started: Date;
  seconds: number;
  machine: MachineInfo;
  loadBefore: number[];
  loadAfter: number[];
  commit: string;
  options: SuiteOptions;
  synthetic?: CollectionResult;
  msmarco?: CollectionResult;
  text: TextResult[];
  long?: LongResult[];
  skipped: string[];
}

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value >= 1 ? value.toFixed(2) : value.toFixed(3));
const ratio = (value: number): string => `${value >= 10 ? value.toFixed(0) : value.toFixed(1)}×`;
const fixed4 = (value: number): string => value.toFixed(4);
const table = (header: string[], rows: string[][], align?: string[]): string =>
  [`| ${header.join(' | ')} |`, `|${(align ?? header.map(() => '---')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

function memoryRatio(info: IndexInfo): number {
  return info.memory.total / info.memory.forward;
}

function gitCommit(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() !== '' ? ' + uncommitted changes' : ''}`;
}

/** The fastest sweep setting (by p50) that reaches the recall target, if any. */
function bestSetting(report: BenchReport): NonNullable<BenchReport['sweep']>[number] | undefined {
  const eligible = (report.sweep ?? []).filter((row) => row.recall_at_k >= TARGETS.recallAt10);
  return eligible.sort((a, b) => a.latency_ms.p50 - b.latency_ms.p50)[0];
}

function buildSection(built: BuiltIndex): string {
  const { summary, info } = built;
  const s = summary.seconds;
  return [
    table(
      ['documents', 'postings', 'kept after pruning', 'blocks', 'build time', 'on disk', 'in memory', 'forward index', 'memory / forward'],
      [
        [
          String(info.documents),
          String(info.postings),
          String(info.keptPostings),
          String(info.blocks),
          `${s.total.toFixed(0)} s (ingest ${s.ingest.toFixed(0)}, prune ${s.prune.toFixed(0)}, blocks ${s.blocks.toFixed(0)}, write ${s.write.toFixed(0)})`,
          formatBytes(info.bytes.total),
          formatBytes(info.memory.total),
          formatBytes(info.memory.forward),
          ratio(memoryRatio(info)),
        ],
      ],
    ),
    '',
    `<details><summary>Bytes per part (disk)</summary>\n\n${table(
      ['part', 'bytes'],
      Object.entries(info.bytes.parts).map(([part, bytes]) => [`\`${part}\``, formatBytes(bytes)]),
      ['---', '---:'],
    )}\n\n</details>`,
  ].join('\n');
}

function speedSection(report: BenchReport): string {
  const l = report.latency_ms;
  const ex = report.baselines.exhaustive.latency_ms;
  const mx = report.baselines.maxscore.latency_ms;
  const row = (name: string, recall: string, x: BenchReport['latency_ms'], speedupP50: string): string[] => [name, recall, ms(x.mean), ms(x.p50), ms(x.p95), ms(x.p99), speedupP50];
  return [
    `${report.queries} queries, k = ${report.k}, single-threaded latency in ms after warm-up; throughput with ${report.threads} worker thread${report.threads === 1 ? '' : 's'}: **${report.qps.toFixed(0)} queries/s**. Peak RSS while serving: ${formatBytes(report.peak_rss_bytes)} (${formatBytes(report.peak_rss_bytes_end)} at the end of the run, with MaxScore's unpruned index and the throughput threads' own copies of the index).`,
    '',
    table(
      ['method', `recall@${report.k}`, 'mean', 'p50', 'p95', 'p99', 'p50 speed-up of approximate'],
      [
        row(`approximate (queryCut ${report.settings.query_cut}, heapFactor ${report.settings.heap_factor}, knn ${report.settings.knn})`, fixed4(report.recall_at_k), l, '—'),
        row('exact: MaxScore', fixed4(report.baselines.maxscore.recall_at_k), mx, ratio(report.speedup.maxscore_p50)),
        row('exact: exhaustive', '1.0000', ex, ratio(report.speedup.exhaustive_p50)),
      ],
      ['---', '---:', '---:', '---:', '---:', '---:', '---:'],
    ),
    '',
    `MaxScore returned exactly the exhaustive results (ids and scores) on ${(report.baselines.maxscore.agreement * 100).toFixed(1)}% of the queries; its unpruned inverted index takes ${formatBytes(report.baselines.maxscore.index_memory_bytes)} and was built by its first query in ${ms(report.baselines.maxscore.first_query_ms)} ms (not in the timings).`,
  ].join('\n');
}

function sweepSection(report: BenchReport, plot: string | undefined): string {
  if (report.sweep === undefined) return '';
  const best = bestSetting(report);
  const bestLine =
    best === undefined
      ? `No setting of the grid reaches recall@${report.k} ≥ ${TARGETS.recallAt10}.`
      : `Fastest setting with recall@${report.k} ≥ ${TARGETS.recallAt10}: queryCut ${best.query_cut}, heapFactor ${best.heap_factor} — recall ${fixed4(best.recall_at_k)}, p50 ${ms(best.latency_ms.p50)} ms, ${ratio(report.baselines.maxscore.latency_ms.p50 / best.latency_ms.p50)} faster than MaxScore at p50.`;
  return [
    '',
    `Sweep (queryCut × heapFactor, knn ${report.settings.knn}, same queries, latency in ms):`,
    '',
    formatSweepTable(sweepTableRows(report), { k: report.k }).trimEnd(),
    '',
    bestLine,
    ...(plot !== undefined ? ['', `![recall vs latency](${plot})`] : []),
  ].join('\n');
}

function targetsSection(results: SuiteResults): string {
  const syn = results.synthetic;
  if (syn === undefined) return 'The synthetic part was not run; no target was measured.';
  const status = (ok: boolean): string => (ok ? '**met**' : '**not met**');
  const r = syn.report;
  const build = syn.built.summary.seconds.total;
  const memory = memoryRatio(syn.built.info);
  const n = syn.built.info.documents.toLocaleString('en-US');
  return table(
    ['target', 'measured', 'status'],
    [
      [`recall@10 ≥ ${TARGETS.recallAt10} against exact search (${n} documents, default settings)`, fixed4(r.recall_at_k), status(r.recall_at_k >= TARGETS.recallAt10)],
      [
        `p50 latency ≥ ${TARGETS.speedupOverMaxScoreP50}× lower than exact MaxScore (same run)`,
        `${ratio(r.speedup.maxscore_p50)} (${ms(r.latency_ms.p50)} ms vs ${ms(r.baselines.maxscore.latency_ms.p50)} ms)`,
        status(r.speedup.maxscore_p50 >= TARGETS.speedupOverMaxScoreP50),
      ],
      [`build ≤ ${TARGETS.buildSeconds / 60} min`, `${(build / 60).toFixed(1)} min (${build.toFixed(0)} s)`, status(build <= TARGETS.buildSeconds)],
      [
        `index memory ≤ ${TARGETS.memoryOverForward}× the compact forward index`,
        `${ratio(memory)} (${formatBytes(syn.built.info.memory.total)} / ${formatBytes(syn.built.info.memory.forward)}; inverted part alone ${ratio(syn.built.info.memory.inverted / syn.built.info.memory.forward)}, κ-NN graph ${ratio(syn.built.info.memory.graph / syn.built.info.memory.forward)})`,
        status(memory <= TARGETS.memoryOverForward),
      ],
    ],
  );
}

function textSection(results: TextResult[]): string {
  const rows = results.map((t) => [
    t.name,
    String(t.documents),
    `${t.queries} (${t.approximate.evaluated} judged)`,
    `${fixed4(t.approximate.ndcg_at_10)} / ${fixed4(t.exact.ndcg_at_10)}`,
    `${fixed4(t.approximate.mrr_at_10)} / ${fixed4(t.exact.mrr_at_10)}`,
    `${fixed4(t.approximate.recall_at_100)} / ${fixed4(t.exact.recall_at_100)}`,
    `${fixed4(t.approximate.recall_at_1000)} / ${fixed4(t.exact.recall_at_1000)}`,
    fixed4(t.report.recall_at_k),
    ms(t.report.latency_ms.p50),
    ms(t.report.baselines.maxscore.latency_ms.p50),
    ms(t.report.baselines.exhaustive.latency_ms.p50),
  ]);
  return table(
    ['collection', 'documents', 'queries', 'nDCG@10 approx / exact', 'MRR@10', 'R@100', 'R@1000', 'recall@10 vs exact', 'p50 ms', 'MaxScore p50', 'exhaustive p50'],
    rows,
    ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
  );
}

function renderMarkdown(results: SuiteResults, docsDir: string): string {
  const o = results.options;
  const plotRef = (file: string | undefined): string | undefined => (file === undefined ? undefined : relative(docsDir, file));
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(', ');
  const kernel = (results.synthetic ?? results.msmarco)?.report.scoring_kernel;
  const out: string[] = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (\`scripts/bench-suite.ts\`) on ${results.started.toISOString().slice(0, 10)} at commit ${results.commit}; the suite took ${(results.seconds / 60).toFixed(0)} min. Do not edit by hand: rerun the suite.`,
    '',
    `**Machine:** ${formatMachine(results.machine)}. Load average (1, 5, 15 min) before the run: ${load(results.loadBefore)}; after: ${load(results.loadAfter)}. Latencies are only comparable between rows of the same run: other work on the machine slows every method alike.${kernel === undefined ? '' : ` Every search mode scored candidates with the ${kernel === 'mixed' ? 'WebAssembly and JavaScript' : kernel === 'webassembly' ? 'WebAssembly' : 'JavaScript'} kernel${kernel === 'mixed' ? 's' : ''} (ARCHITECTURE.md, "The scoring kernels").`}`,
    '',
    '**Definitions.** *recall@k* is the mean over queries of |approximate top k ∩ exact top k| / k, the exact top k coming from exhaustive search (ties at the k-th score broken by document order); *latency* is single-threaded wall time per query after warm-up; *throughput* runs the same queries on worker threads, each with its own copy of the index; *memory / forward* is the in-memory size of the whole index (forward index + inverted index + block summaries) over the forward index alone. Both exact baselines run on the same queries in the same process: *exhaustive* scores every document through the forward index; *MaxScore* is dynamic pruning over an unpruned inverted index built from the forward index (as in PISA and Lucene), and returns bit-identical results.',
    '',
    '## Targets',
    '',
    targetsSection(results),
    '',
  ];
  if (results.synthetic !== undefined) {
    const s = results.synthetic;
    out.push(`## ${s.title}`, '', s.description, '', '### Build (default options)', '', buildSection(s.built), '', '### Search (default settings)', '', speedSection(s.report), sweepSection(s.report, plotRef(s.plot)), '');
    const raw = { ...s.report, index: shown(s.report.index), plot: undefined, sweep: undefined };
    out.push('<details><summary>Raw <code>spladex bench --json</code> output (default settings; sweep rows omitted)</summary>', '', '```json', JSON.stringify(raw, null, 2), '```', '', '</details>', '');
  }
  if (results.msmarco !== undefined) {
    const s = results.msmarco;
    out.push(`## ${s.title}`, '', s.description, '', '### Build (default options)', '', buildSection(s.built), '', '### Search (default settings)', '', speedSection(s.report), sweepSection(s.report, plotRef(s.plot)), '');
  }
  if (results.text.length > 0) {
    out.push(
      '## Text collections with the lexical encoder',
      '',
      'Each collection of `../shared/data/collections` is encoded with the lexical encoder (`openEncoder({ kind: "lexical" })`: BM25 with k1 0.9, b 0.4, English analyzer with Porter stemming and Lucene stop words), so a dot product is a BM25 score; indexes use the default build options and forward values in half precision. Effectiveness is measured by `spladex eval` to depth 1000 with approximate search (default settings) and exact search; recall against exact search and latencies come from `spladex bench` on the same queries. For reference, the published BM25 nDCG@10 on SciFact is ≈ 0.665.',
      '',
      textSection(results.text),
      '',
    );
  }
  if (results.long !== undefined) out.push(longSection(results.long, { ...results, seed: results.options.seed }, table), '');
  if (results.skipped.length > 0) out.push('## Not run', '', ...results.skipped.map((s) => `- ${s}`), '');
  out.push(
    '## Reproduce',
    '',
    '```sh',
    'npm run bench                       # full suite (writes docs/BENCHMARKS.md)',
    `node dist/scripts/bench-suite.js --docs 100000 --queries 200 --out /tmp/BENCHMARKS.md   # quick run`,
    'node dist/scripts/bench-suite.js --parts long   # only the long-document case (updates its section in place)',
    '```',
    '',
    `Options of this run: ${o.docs} synthetic documents, ${o.queries} queries per set, seed ${o.seed}. Generated collections are cached in \`${shown(resolve(ROOT, o.data))}/\` (reused while their options are unchanged); indexes are rebuilt on every run.`,
    '',
  );
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The parts of the suite.
// ---------------------------------------------------------------------------------------------

async function syntheticPart(o: SuiteOptions, dataDir: string, docsDir: string, benchArgs: string[]): Promise<CollectionResult> {
  const dir = join(dataDir, `synthetic-${o.docs}`);
  await ensureSynthetic(dir, { docs: o.docs, queries: o.queries, seed: o.seed });
  const built = buildDefaultIndex(dir, join(dir, 'documents.jsonl'), o.reuseIndex);
  const plot = join(docsDir, 'bench-synthetic.svg');
  const report = bench(built.path, join(dir, 'queries.jsonl'), [...benchArgs, '--sweep', '--plot', plot]);
  return {
    title: `Synthetic collection, ${o.docs.toLocaleString('en-US')} documents`,
    description: `\`spladex synth --docs ${o.docs} --queries ${o.queries} --seed ${o.seed}\`: SPLADE-like vectors (≈120 terms per document, ≈40 per query, weights calibrated on real SPLADE output, topical structure; see \`src/bench/synth.ts\`), synthetic token names.`,
    built,
    report,
    plot,
  };
}

async function msmarcoPart(o: SuiteOptions, dataDir: string, docsDir: string, benchArgs: string[]): Promise<CollectionResult> {
  const { dir, queries, count } = await ensureMsmarcoCollection(o, dataDir);
  const built = buildDefaultIndex(dir, join(dir, 'documents.jsonl'), o.reuseIndex);
  const plot = join(docsDir, 'bench-msmarco.svg');
  const report = bench(built.path, queries, [...benchArgs, '--sweep', '--plot', plot]);
  return {
    title: `MS MARCO query vectors on a synthetic BERT-vocabulary collection, ${o.docs.toLocaleString('en-US')} documents`,
    description: `The first ${count} real MS MARCO dev queries encoded by SPLADE++ EnsembleDistil (\`../shared/data/vectors/msmarco-dev-subset.splade-pp-ed.queries.jsonl\`), searched in a synthetic collection generated with the bert-base-uncased vocabulary (\`spladex synth --docs ${o.docs} --seed ${o.seed + 1} --vocab bert-base-uncased.vocab.txt\`) so that query tokens match document tokens. The file stores weights ×10 relative to the model's output; they are divided by 10 here (scaling a query never changes its ranking, only the scale of scores). Real queries have real term statistics (≈44 terms, many common words) but the collection is not MS MARCO: no relevance judgements apply, only recall against exact search and speed.`,
    built,
    report,
    plot,
  };
}

type EncodeModule = typeof import('../src/encode/index.js');

/** Encodes a collection with the lexical encoder into `{id, vector}` JSONL (cached). */
async function encodeLexical(encode: EncodeModule, collection: string, dir: string): Promise<{ documents: number; queries: number }> {
  const stampFile = join(dir, 'encoded.json');
  if (existsSync(stampFile)) return JSON.parse(readFileSync(stampFile, 'utf8')) as { documents: number; queries: number };
  mkdirSync(dir, { recursive: true });
  const encoder = await encode.openEncoder({ kind: 'lexical' });
  try {
    const records: Array<{ id: string; text: string }> = [];
    for await (const record of encode.readCorpusJsonl(join(collection, 'corpus.jsonl'))) records.push({ id: record.id, text: encode.recordText(record) });
    const CHUNK = 1000;
    for (let i = 0; i < records.length; i += CHUNK) encoder.addCorpusDocuments(records.slice(i, i + CHUNK).map((r) => r.text));
    encoder.finishCorpusStats();
    const documentLines: string[] = [];
    for (let i = 0; i < records.length; i += CHUNK) {
      const chunk = records.slice(i, i + CHUNK);
      const vectors = await encoder.encodeDocuments(chunk.map((r) => r.text));
      chunk.forEach((r, j) => documentLines.push(JSON.stringify({ id: r.id, vector: vectors[j] })));
    }
    writeFileSync(join(dir, 'documents.jsonl'), documentLines.join('\n') + '\n');
    const queryRecords = readFileSync(join(collection, 'queries.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { _id?: string; id?: string; text: string });
    const queryVectors = await encoder.encodeQueries(queryRecords.map((q) => q.text));
    writeFileSync(join(dir, 'queries.jsonl'), queryRecords.map((q, i) => JSON.stringify({ id: String(q._id ?? q.id), vector: queryVectors[i] })).join('\n') + '\n');
    const counts = { documents: records.length, queries: queryRecords.length };
    writeFileSync(stampFile, JSON.stringify(counts));
    return counts;
  } finally {
    await encoder.dispose();
  }
}

async function textPart(o: SuiteOptions, dataDir: string, benchArgs: string[], skipped: string[]): Promise<TextResult[]> {
  let encode: EncodeModule;
  try {
    encode = await import('../src/encode/index.js');
  } catch (error) {
    skipped.push(`Text collections: the encoder module could not be loaded (${(error as Error).message}).`);
    return [];
  }
  const results: TextResult[] = [];
  for (const name of TEXT_COLLECTIONS) {
    const collection = join(SHARED, 'collections', name);
    if (!existsSync(join(collection, 'corpus.jsonl'))) {
      skipped.push(`Text collection ${name}: ${shown(collection)} is missing.`);
      continue;
    }
    const dir = join(dataDir, `text-${name}-lexical`);
    log(`encoding ${name} with the lexical encoder`);
    const counts = await encodeLexical(encode, collection, dir);
    const built = buildDefaultIndex(dir, join(dir, 'documents.jsonl'), o.reuseIndex);
    const queries = join(dir, 'queries.jsonl');
    const qrels = join(collection, 'qrels.txt');
    const approximate = cliJson<EvalReport>(['eval', built.path, '--queries', queries, '--qrels', qrels, '--run', join(dir, 'run.trec')]);
    const exact = cliJson<EvalReport>(['eval', built.path, '--queries', queries, '--qrels', qrels, '--exact']);
    const report = bench(built.path, queries, benchArgs);
    results.push({ name, documents: counts.documents, queries: counts.queries, approximate, exact, report });
  }
  return results;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench-suite')
    .description('the standard spladex benchmark suite; writes docs/BENCHMARKS.md')
    .option('--docs <n>', 'documents of the synthetic collections', (v) => Number.parseInt(v, 10), SUITE_DEFAULTS.docs)
    .option('--queries <n>', 'queries per measured query set', (v) => Number.parseInt(v, 10), SUITE_DEFAULTS.queries)
    .option('--seed <n>', 'seed of the synthetic collections', (v) => Number.parseInt(v, 10), SUITE_DEFAULTS.seed)
    .option('--data <dir>', 'cache of generated data and indexes (relative to the repository)', SUITE_DEFAULTS.data)
    .option('--out <file>', 'report to write (relative to the repository); plots go next to it', SUITE_DEFAULTS.out)
    .option('--parts <list>', `parts to run: ${PARTS.join(',')}`, PARTS.join(','))
    .option('--threads <n>', 'throughput threads (default: cores)', (v) => Number.parseInt(v, 10))
    .option('--reuse-index', 'reuse indexes of an earlier run instead of rebuilding them (build time is then the earlier one)', false)
    .option('--commit <label>', 'code version shown in the report (default: git commit of the repository)')
    .option('--render <results.json>', 'measure nothing: rewrite the report from the raw results of an earlier run (<data>/suite-results.json)');
  program.parse(process.argv);
  const raw = program.opts<{ docs: number; queries: number; seed: number; data: string; out: string; parts: string; threads?: number; reuseIndex: boolean; commit?: string; render?: string }>();
  if (raw.render !== undefined) {
    const outFile = resolve(ROOT, raw.out);
    const saved = JSON.parse(readFileSync(resolve(ROOT, raw.render), 'utf8')) as SuiteResults & { started: string };
    writeFileSync(outFile, renderMarkdown({ ...saved, started: new Date(saved.started) }, resolve(outFile, '..')));
    log(`wrote ${shown(outFile)} from ${shown(resolve(ROOT, raw.render))}`);
    return;
  }
  const parts = raw.parts.split(',').map((p) => p.trim()) as Part[];
  for (const p of parts) if (!PARTS.includes(p)) throw new Error(`unknown part ${p}; choose from ${PARTS.join(', ')}`);
  const o: SuiteOptions = { docs: raw.docs, queries: raw.queries, seed: raw.seed, data: raw.data, out: raw.out, parts, threads: raw.threads, reuseIndex: raw.reuseIndex, commit: raw.commit };
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; run "npm run build" first`);

  const dataDir = resolve(ROOT, o.data);
  const outFile = resolve(ROOT, o.out);
  const docsDir = resolve(outFile, '..');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(docsDir, { recursive: true });
  const benchArgs = ['--limit', String(o.queries), ...(o.threads !== undefined ? ['--threads', String(o.threads)] : [])];
  const results: SuiteResults = { started: new Date(), seconds: 0, machine: describeMachine(), loadBefore: loadavg(), loadAfter: [], commit: o.commit ?? gitCommit(), options: o, text: [], skipped: [] };
  const started = performance.now();
  const hasShared = existsSync(SHARED);

  if (parts.includes('synthetic')) results.synthetic = await syntheticPart(o, dataDir, docsDir, benchArgs);
  if (parts.includes('msmarco')) {
    if (hasShared && existsSync(MSMARCO_QUERIES) && existsSync(BERT_VOCAB)) results.msmarco = await msmarcoPart(o, dataDir, docsDir, benchArgs);
    else results.skipped.push(`MS MARCO queries: ${shown(MSMARCO_QUERIES)} or ${shown(BERT_VOCAB)} is missing (../shared/data is not present).`);
  }
  if (parts.includes('text')) {
    if (hasShared) results.text = await textPart(o, dataDir, benchArgs, results.skipped);
    else results.skipped.push('Text collections: ../shared/data is not present.');
  }
  if (parts.includes('long')) {
    const buildIndex = (file: string, out: string): BuildSummary => cliJson<BuildSummary>(['index', file, '--out', out, '--overwrite', '--quiet']);
    results.long = await runLongCase(o.seed, dataDir, { buildIndex, ensureSynthetic, log });
  }

  const bodyParts = parts.filter((p) => !SECTION_PARTS.includes(p));
  results.seconds = (performance.now() - started) / 1000;
  results.loadAfter = loadavg();
  if (bodyParts.length > 0 && !(bodyParts.length === 1 && bodyParts[0] === 'long' && existsSync(outFile))) {
    writeFileSync(join(dataDir, 'suite-results.json'), JSON.stringify(results, null, 2));
    writeFileSync(outFile, keepSplicedSections(existsSync(outFile) ? readFileSync(outFile, 'utf8') : '', renderMarkdown(results, docsDir)));
    log(`wrote ${shown(outFile)} (raw results in ${shown(join(dataDir, 'suite-results.json'))})`);
  }
  if (bodyParts.length === 1 && bodyParts[0] === 'long' && existsSync(outFile)) {
    // Only the long-document case: update its section of the existing report, keep the rest.
    writeFileSync(join(dataDir, 'suite-results-long.json'), JSON.stringify(results, null, 2));
    writeFileSync(outFile, spliceLongSection(readFileSync(outFile, 'utf8'), longSection(results.long ?? [], { ...results, seed: o.seed }, table)));
    log(`updated the long-document section of ${shown(outFile)}`);
  }
  // The generalisation suite (scripts/bench-generalisation.ts): recall at the defaults on many
  // collection shapes, spliced into its own section of the report.
  if (parts.includes('generalisation')) {
    await runGeneralisationSuite({ out: outFile, data: o.data, commit: results.commit, ...(o.threads === undefined ? {} : { threads: o.threads }), log });
    log(`updated the generalisation section of ${shown(outFile)}`);
  }
  if (parts.includes('seismic')) {
    await ensureSynthetic(join(dataDir, `synthetic-${o.docs}`), { docs: o.docs, queries: o.queries, seed: o.seed });
    // The yardstick compares on both 1M collections; the MS MARCO one is generated here when part (b) did not run.
    if (hasShared && existsSync(MSMARCO_QUERIES) && existsSync(BERT_VOCAB)) await ensureMsmarcoCollection(o, dataDir);
    else log(`Seismic yardstick: ${shown(MSMARCO_QUERIES)} or ${shown(BERT_VOCAB)} is missing, so only the synthetic collection is compared`);
    await seismicPart({ docs: o.docs, queries: o.queries, reuseIndex: o.reuseIndex }, dataDir, outFile, log);
  }
  // Encoding throughput of a converted BERT-base-sized model (scripts/bench-encoding.ts).
  if (parts.includes('encoding')) {
    await runEncodingBench({ docs: 64, threads: [1, 2], data: join(dataDir, 'encoding'), shared: join(ROOT, '../shared/data'), out: outFile });
    log(`updated the encoding section of ${shown(outFile)}`);
  }
  // The search pool and `spladex serve` under load, on the synthetic index (last: it needs the index built).
  if (parts.includes('serving')) servingPart({ docs: o.docs }, dataDir, outFile, log);
  // spladex beside OpenSearch's exact rank_features on a real node (scripts/bench-opensearch.ts).
  if (parts.includes('opensearch')) {
    await ensureSynthetic(join(dataDir, `synthetic-${o.docs}`), { docs: o.docs, queries: o.queries, seed: o.seed });
    await openSearchPart({ docs: o.docs, queries: Math.min(o.queries, 200) }, dataDir, outFile, log);
  }
}


main().catch((error: unknown) => {
  process.stderr.write(`bench-suite: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
