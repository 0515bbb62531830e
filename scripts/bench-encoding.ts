/**
 * Encoding throughput of a converted BERT-base-sized SPLADE model (docs/ENCODING.md, "Encoding
 * throughput"): a random-weight BertForMaskedLM checkpoint (hidden 768, 12 layers, 12 heads, 3072,
 * the bert-base-uncased vocabulary) is written as safetensors in TypeScript, converted with
 * convertCheckpoint, and encodes real texts at 1 and 2 intra-op threads. Reported per thread count:
 * documents/s and tokens/s of `encodeDocuments`, its tokenize / model / pool split, and spladex's
 * overhead over raw onnxruntime — the same padded batches (same tokenizer, truncation, length
 * sorting and batch limits) fed straight to `InferenceSession.run`.
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/bench-encoding.js [--docs 64] [--threads 1,2]
 *       [--data bench-data/encoding] [--shared ../shared/data] [--json out.json]
 *
 * The checkpoint (440 MB) and its conversion are cached under --data. Texts: the first --docs
 * SciFact documents of <shared>/collections/scifact/corpus.jsonl (title + abstract, ~300 tokens);
 * the vocabulary: <shared>/vocab/bert-base-uncased.vocab.txt.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { describeMachine, formatBytes, formatMachine } from '../src/bench/index.js';
import { convertCheckpoint, ENCODER_DEFAULTS, loadTokenizerJson, openEncoder, type EncoderStats } from '../src/encode/index.js';
import { writeRandomBertCheckpoint } from '../src/testing/index.js';
import { spliceSection, type SectionMarkers } from './report-sections.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAX_LENGTH = 512;

/** Options of one run; the CLI flags below and the suite's `encoding` part (scripts/bench-suite.ts) fill them. */
export interface EncodingBenchOptions {
  /** Documents encoded. */
  docs: number;
  /** Intra-op thread counts measured, in order. */
  threads: number[];
  /** Cache of the random checkpoint and its conversion. */
  data: string;
  /** The shared data directory (SciFact texts). */
  shared: string;
  /** Results as JSON. */
  json?: string;
  /** Markdown report whose encoding section (between markers) is written. */
  out?: string;
}

type Args = EncodingBenchOptions;

const MARKERS: SectionMarkers = { start: '<!-- encoding:start -->', end: '<!-- encoding:end -->' };

/** A file of the shared data, which this benchmark needs (the vocabulary and the SciFact texts). */
function sharedFile(args: Args, path: string): string {
  const file = join(args.shared, path);
  if (!existsSync(file)) throw new Error(`${file} is missing: the encoding benchmark needs the shared data (--shared <dir>)`);
  return file;
}

function loadTexts(args: Args): { texts: string[]; source: string } {
  const records = readFileSync(sharedFile(args, 'collections/scifact/corpus.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { title?: string; text: string });
  const texts = records.slice(0, args.docs).map((r) => (r.title ? `${r.title} ${r.text}` : r.text));
  return { texts, source: `the first ${texts.length} SciFact documents` };
}

interface Row {
  threads: number;
  docsPerSecond: number;
  tokensPerSecond: number;
  seconds: number;
  tokenizeMs: number;
  modelMs: number;
  poolMs: number;
  otherMs: number;
  rawOrtMs: number;
  /** (spladex wall time − raw session.run time) / raw session.run time. */
  overhead: number;
  tokens: number;
  paddedTokens: number;
}

const delta = (after: EncoderStats, before: EncoderStats, key: keyof EncoderStats): number => after[key] - before[key];

/** The batches spladex's encoder runs (batching.ts): truncate, sort longest first, cap sequences and padded tokens. */
function rawBatches(ids: Int32Array[], cls: number, sep: number): Array<{ input: BigInt64Array; mask: BigInt64Array; types: BigInt64Array; dims: [number, number] }> {
  const sequences = ids.map((c) => [cls, ...c.subarray(0, MAX_LENGTH - 2), sep]);
  const order = sequences.map((_, i) => i).sort((a, b) => sequences[b].length - sequences[a].length || a - b);
  const batches = [];
  for (let first = 0; first < order.length; ) {
    const padded = sequences[order[first]].length;
    const size = Math.min(ENCODER_DEFAULTS.batchSize, Math.max(1, Math.floor(ENCODER_DEFAULTS.maxBatchTokens / padded)), order.length - first);
    const input = new BigInt64Array(size * padded);
    const mask = new BigInt64Array(size * padded);
    for (let row = 0; row < size; row++) {
      const s = sequences[order[first + row]];
      for (let t = 0; t < s.length; t++) {
        input[row * padded + t] = BigInt(s[t]);
        mask[row * padded + t] = 1n;
      }
    }
    batches.push({ input, mask, types: new BigInt64Array(size * padded), dims: [size, padded] as [number, number] });
    first += size;
  }
  return batches;
}

async function rawOrtMs(modelFile: string, threads: number, batches: ReturnType<typeof rawBatches>): Promise<number> {
  const session = await ort.InferenceSession.create(modelFile, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    intraOpNumThreads: threads,
    logSeverityLevel: 3,
  });
  const feeds = (b: (typeof batches)[number]): Record<string, ort.Tensor> => ({
    input_ids: new ort.Tensor('int64', b.input, b.dims),
    attention_mask: new ort.Tensor('int64', b.mask, b.dims),
    token_type_ids: new ort.Tensor('int64', b.types, b.dims),
  });
  await session.run(feeds(batches[batches.length - 1])); // warm-up on the shortest batch
  let ms = 0;
  for (const b of batches) {
    const t = performance.now();
    await session.run(feeds(b));
    ms += performance.now() - t;
  }
  await session.release();
  return ms;
}

/** Measures encoding throughput; prints the table, writes the JSON and the report section when asked. */
export async function runEncodingBench(args: EncodingBenchOptions): Promise<void> {
  const machine = describeMachine();
  const loadBefore = loadavg();
  const checkpoint = join(args.data, 'bert-base-random');
  const vocabulary = readFileSync(sharedFile(args, 'vocab/bert-base-uncased.vocab.txt'), 'utf8').split('\n').slice(0, -1);
  let t = performance.now();
  if (!existsSync(join(checkpoint, 'model.safetensors'))) {
    const bytes = await writeRandomBertCheckpoint(checkpoint, { vocabulary, seed: 1 });
    console.error(`wrote ${formatBytes(bytes)} random BERT-base checkpoint in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  t = performance.now();
  const converted = await convertCheckpoint(checkpoint);
  const convertSeconds = (performance.now() - t) / 1000;
  console.error(`${converted.reused ? 'reused' : 'converted'} ${converted.modelFile} (${formatBytes(converted.bytes)}) in ${convertSeconds.toFixed(1)} s`);

  const { texts, source } = loadTexts(args);
  const tokenizer = await loadTokenizerJson(join(converted.dir, 'tokenizer.json'));
  const batches = rawBatches(
    texts.map((text) => tokenizer.encode(text)),
    tokenizer.prefixIds[0],
    tokenizer.suffixIds[0],
  );
  const rows: Row[] = [];
  for (const threads of args.threads) {
    const encoder = await openEncoder({ model: converted.dir, threads });
    await encoder.encodeDocuments(texts.slice(0, 4)); // warm-up
    const before = encoder.stats;
    const start = performance.now();
    await encoder.encodeDocuments(texts);
    const ms = performance.now() - start;
    const after = encoder.stats;
    await encoder.dispose();
    const raw = await rawOrtMs(converted.modelFile, threads, batches);
    const tokens = delta(after, before, 'tokens');
    const [tokenizeMs, modelMs, poolMs] = [delta(after, before, 'tokenizeMs'), delta(after, before, 'modelMs'), delta(after, before, 'poolMs')];
    const row: Row = {
      threads,
      docsPerSecond: texts.length / (ms / 1000),
      tokensPerSecond: tokens / (ms / 1000),
      seconds: ms / 1000,
      tokenizeMs,
      modelMs,
      poolMs,
      otherMs: ms - tokenizeMs - modelMs - poolMs,
      rawOrtMs: raw,
      overhead: (ms - raw) / raw,
      tokens,
      paddedTokens: delta(after, before, 'paddedTokens'),
    };
    rows.push(row);
    console.error(`threads ${threads}: ${row.docsPerSecond.toFixed(2)} docs/s, ${row.tokensPerSecond.toFixed(0)} tokens/s, overhead ${(row.overhead * 100).toFixed(1)} %`);
  }

  const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)} %`;
  const lines = [
    `Machine: ${formatMachine(machine)}; load average before ${loadBefore.map((l) => l.toFixed(2)).join(', ')}, after ${loadavg().map((l) => l.toFixed(2)).join(', ')}.`,
    `Model: random BertForMaskedLM, hidden 768, 12 layers, 12 heads, intermediate 3072, vocab ${vocabulary.length}; ${converted.reused ? 'conversion reused (cached under --data)' : `converted in ${convertSeconds.toFixed(1)} s`}, ${formatBytes(converted.bytes)}. Texts: ${source}, truncated at ${MAX_LENGTH} tokens; ${rows[0]?.tokens ?? 0} tokens (${rows[0]?.paddedTokens ?? 0} with padding). Encoder defaults: batch ${ENCODER_DEFAULTS.batchSize}, max ${ENCODER_DEFAULTS.maxBatchTokens} padded tokens per run.`,
    '',
    '| threads | docs/s | tokens/s | tokenize | model | pool | other | raw ORT run | spladex overhead |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const total = r.seconds * 1000;
      return `| ${r.threads} | ${r.docsPerSecond.toFixed(2)} | ${r.tokensPerSecond.toFixed(0)} | ${r.tokenizeMs.toFixed(0)} ms (${pct(r.tokenizeMs, total)}) | ${(r.modelMs / 1000).toFixed(2)} s (${pct(r.modelMs, total)}) | ${r.poolMs.toFixed(0)} ms (${pct(r.poolMs, total)}) | ${r.otherMs.toFixed(0)} ms | ${(r.rawOrtMs / 1000).toFixed(2)} s | ${(r.overhead * 100).toFixed(1)} % |`;
    }),
  ];
  console.log(lines.join('\n'));
  if (args.out !== undefined) {
    const section = [MARKERS.start, '## Encoding throughput: a converted BERT-base SPLADE model', '', `Generated by \`scripts/bench-encoding.ts\` on ${new Date().toISOString().slice(0, 10)}: a random-weight checkpoint of BERT-base's shape converted by \`spladex model convert\`'s code, encoding real texts through \`encodeDocuments\`; *raw ORT run* is \`InferenceSession.run\` on the same padded batches, so *spladex overhead* is everything spladex adds (tokenizing, batching, pooling, copies).`, '', ...lines, MARKERS.end].join('\n');
    writeFileSync(args.out, spliceSection(existsSync(args.out) ? readFileSync(args.out, 'utf8') : '', MARKERS, section));
  }
  if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ machine, loadBefore, loadAfter: loadavg(), convertSeconds, reused: converted.reused, modelBytes: converted.bytes, source, rows }, null, 2) + '\n');
}

// Standalone run (not when the suite imports this module).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const program = new Command()
    .name('bench-encoding')
    .description('encoding throughput of a converted BERT-base-sized SPLADE model (random weights)')
    .option('--docs <n>', 'documents encoded', (v) => Number.parseInt(v, 10), 64)
    .option('--threads <list>', 'intra-op thread counts, comma-separated', (v) => v.split(',').map(Number), [1, 2])
    .option('--data <dir>', 'cache of the checkpoint and its conversion', join(ROOT, 'bench-data/encoding'))
    .option('--shared <dir>', 'the shared data directory', process.env.SPLADEX_SHARED ?? join(ROOT, '../shared/data'))
    .option('--json <file>', 'results as JSON')
    .option('--out <file.md>', 'Markdown report whose encoding section is written');
  program.parse();
  const o = program.opts<EncodingBenchOptions>();
  await runEncodingBench({ ...o, data: resolve(o.data), shared: resolve(o.shared), json: o.json === undefined ? undefined : resolve(o.json), out: o.out === undefined ? undefined : resolve(o.out) });
}
