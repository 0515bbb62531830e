/**
 * The collections of the generalisation suite (scripts/bench-generalisation.ts) and how their data
 * is prepared: synthetic shapes the defaults were not tuned on, real SPLADE query vectors against
 * synthetic documents in the BERT vocabulary, and the shared text collections through the lexical
 * encoder. Generated data is cached in `<data>/gen-<name>/` and reused while its options are
 * unchanged.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVocabFile, writeSynthetic, type SynthOptions } from '../src/bench/index.js';

/** Generator options of a shape; the vocabulary is chosen by `realVocabulary`, not passed here. */
type ShapeOptions = Partial<Omit<SynthOptions, 'vocab'>>;

interface CollectionBase {
  /** Unique name: the `--only` key and the data directory `gen-<name>`. */
  name: string;
  /** What the shape stresses, for the report. */
  description: string;
}

/** Synthetic documents and queries from `writeSynthetic`. */
export interface SyntheticCollectionSpec extends CollectionBase {
  kind: 'synthetic';
  synth: ShapeOptions & { docs: number; queries: number };
}

/** Real SPLADE query vectors against synthetic documents generated with the BERT vocabulary. */
export interface RealQueryCollectionSpec extends CollectionBase {
  kind: 'real-queries';
  synth: ShapeOptions & { docs: number };
  /** Query file under `<shared>/vectors/`. */
  queryFile: string;
  /** Multiplier bringing the file's weights to the model's scale (the MS MARCO file stores ×10). */
  weightScale: number;
  /** The first this many queries of the file. */
  queryLimit: number;
  /**
   * Calibrate on a query log: the first half of the queries is given to `index
   * --calibration-queries`, the second half (never seen by the build) is measured.
   */
  queryLog?: boolean;
}

/** A text collection of `<shared>/collections/`, indexed and queried as text by the lexical encoder. */
export interface TextCollectionSpec extends CollectionBase {
  kind: 'text';
  collection: string;
  /** Documents in the corpus, known in advance so that `--max-docs` can skip without reading it. */
  docs: number;
}

export type CollectionSpec = SyntheticCollectionSpec | RealQueryCollectionSpec | TextCollectionSpec;

/** Documents a collection holds (for `--max-docs` and the run order). */
export const collectionDocs = (spec: CollectionSpec): number => (spec.kind === 'text' ? spec.docs : spec.synth.docs);

/**
 * Queries per synthetic query set: ≈ ±0.01 of 95 % confidence on mean recall near 0.95 at 500;
 * at 1M documents the two exact passes (search --exact and bench's exhaustive baseline) cost
 * ≈ 0.1 s per query each, so fewer.
 */
const QUERIES_SMALL = 500;
const QUERIES_1M = 300;

/**
 * The declared shapes. Seeds are all different from the defaults (42, and 43 of bench-suite's
 * BERT collection) and from each other, so no shape repeats the collections the defaults were
 * tuned on. Defaults of the generator: 120 terms per document, 40 per query, 1,000 topics of 300
 * terms, Zipf exponent 1.0, topicalFraction 0.7, queryDocFraction 0.5 (src/bench/synth-model.ts).
 */
export const COLLECTIONS: readonly CollectionSpec[] = [
  { kind: 'synthetic', name: 'default-10k', description: 'generator defaults, small collection', synth: { docs: 10_000, queries: QUERIES_SMALL, seed: 1001 } },
  {
    kind: 'synthetic',
    name: 'flat-10k',
    description: 'flat: 10 topics (≈1,000 documents per topic), pure topic queries',
    synth: { docs: 10_000, queries: QUERIES_SMALL, seed: 1002, topics: 10, queryDocFraction: 0 },
  },
  { kind: 'synthetic', name: 'short-docs-100k', description: 'short documents (30 terms)', synth: { docs: 100_000, queries: QUERIES_SMALL, seed: 1003, avgDocTerms: 30 } },
  { kind: 'synthetic', name: 'long-docs-100k', description: 'long documents (300 terms)', synth: { docs: 100_000, queries: QUERIES_SMALL, seed: 1004, avgDocTerms: 300 } },
  { kind: 'synthetic', name: 'short-queries-100k', description: 'short queries (5 terms)', synth: { docs: 100_000, queries: QUERIES_SMALL, seed: 1005, avgQueryTerms: 5 } },
  { kind: 'synthetic', name: 'long-queries-100k', description: 'long queries (60 terms)', synth: { docs: 100_000, queries: QUERIES_SMALL, seed: 1006, avgQueryTerms: 60 } },
  {
    kind: 'synthetic',
    name: 'short-docs-long-queries-100k',
    description: 'queries longer than documents (30-term documents, 60-term queries)',
    synth: { docs: 100_000, queries: QUERIES_SMALL, seed: 1007, avgDocTerms: 30, avgQueryTerms: 60 },
  },
  {
    kind: 'synthetic',
    name: 'flat-100k',
    description: 'flat: 100 topics (≈1,000 documents per topic), pure topic queries',
    synth: { docs: 100_000, queries: QUERIES_SMALL, seed: 1008, topics: 100, queryDocFraction: 0 },
  },
  {
    kind: 'synthetic',
    name: 'peaked-100k',
    description: 'peaked: 20,000 topics (≈5 documents per topic), queries mostly from their source document',
    synth: { docs: 100_000, queries: QUERIES_SMALL, seed: 1009, topics: 20_000, queryDocFraction: 0.9 },
  },
  { kind: 'synthetic', name: 'zipf-heavy-100k', description: 'heavy Zipf head (exponent 1.5): many very common terms', synth: { docs: 100_000, queries: QUERIES_SMALL, seed: 1010, zipfExponent: 1.5 } },
  {
    kind: 'synthetic',
    name: 'weak-topics-100k',
    description: 'weak clustering: only 20 % of non-family terms from the document’s topics',
    synth: { docs: 100_000, queries: QUERIES_SMALL, seed: 1011, topicalFraction: 0.2 },
  },
  {
    kind: 'synthetic',
    name: 'flat-1m',
    description: 'held-out hard shape: 1,000 topics at 1M documents (≈1,000 documents per topic), pure topic queries',
    synth: { docs: 1_000_000, queries: QUERIES_1M, seed: 1012, topics: 1000, queryDocFraction: 0 },
  },
  {
    kind: 'synthetic',
    name: 'peaked-1m',
    description: 'peaked at 1M documents: 100,000 topics (≈10 documents per topic), queries mostly from their source document',
    synth: { docs: 1_000_000, queries: QUERIES_1M, seed: 1013, topics: 100_000, queryDocFraction: 0.9 },
  },
  {
    kind: 'real-queries',
    name: 'msmarco-queries-100k',
    description: 'real MS MARCO dev SPLADE++ ED query vectors, synthetic BERT-vocabulary documents',
    synth: { docs: 100_000, seed: 1014 },
    queryFile: 'msmarco-dev-subset.splade-pp-ed.queries.jsonl',
    weightScale: 0.1,
    queryLimit: QUERIES_SMALL,
  },
  {
    kind: 'real-queries',
    name: 'scifact-queries-100k',
    description: 'real SciFact SPLADE++ ED query vectors (long claims, ≈80 terms), synthetic BERT-vocabulary documents',
    synth: { docs: 100_000, seed: 1015 },
    queryFile: 'scifact-test.splade-pp-ed.queries.jsonl',
    weightScale: 1,
    queryLimit: QUERIES_SMALL,
  },
  {
    kind: 'real-queries',
    name: 'scifact-queries-100k-log',
    description: 'the same SciFact query vectors against the same documents, calibrated on a query log: the first 150 queries given to `--calibration-queries`, the other 150 measured',
    synth: { docs: 100_000, seed: 1015 },
    queryFile: 'scifact-test.splade-pp-ed.queries.jsonl',
    weightScale: 1,
    queryLimit: QUERIES_SMALL,
    queryLog: true,
  },

  { kind: 'text', name: 'scifact-lexical', description: 'SciFact text, lexical (BM25) encoder, its test queries as text', collection: 'scifact', docs: 5183 },
  { kind: 'text', name: 'cacm-lexical', description: 'CACM text, lexical (BM25) encoder, its queries as text', collection: 'cacm', docs: 3204 },
  { kind: 'text', name: 'vaswani-lexical', description: 'Vaswani text, lexical (BM25) encoder, its queries as text', collection: 'vaswani', docs: 11_429 },
];

/** Generator options of a shape that differ from the generator's defaults, as `key value` text. */
export function describeShapeOptions(spec: CollectionSpec): string {
  if (spec.kind === 'text') return `\`${spec.collection}/corpus.jsonl\` as text`;
  const { docs: _docs, queries: _queries, ...rest } = spec.synth as ShapeOptions;
  const options = Object.entries(rest).map(([key, value]) => `${key} ${String(value)}`);
  if (spec.kind === 'real-queries') options.push('BERT vocabulary', `\`${spec.queryFile}\`${spec.weightScale !== 1 ? ` ×${spec.weightScale}` : ''}`);
  return options.join(', ');
}

/** Where the inputs of one collection are, once prepared. */
export interface PreparedCollection {
  /** Input of `spladex index`. */
  documents: string;
  input: 'vectors' | 'text';
  /** Query file of `spladex search` and `spladex bench` (vector lines, or text lines for text collections). */
  queries: string;
  /** A query log for `index --calibration-queries` (disjoint from `queries`), when the collection is calibrated on one. */
  calibrationQueries?: string;
  /** Seconds spent generating or copying data (0 when the cache was reused). */
  prepareSeconds: number;
  reused: boolean;
}

export interface PrepareContext {
  /** `../shared/data` of the repository. */
  shared: string;
  /** The collection's own directory, `<data>/gen-<name>`. */
  dir: string;
  log: (message: string) => void;
}

const BERT_VOCAB = 'vocab/bert-base-uncased.vocab.txt';

/** Writes a synthetic collection into `dir` unless one generated with the same options is there. */
async function ensureGenerated(dir: string, synth: ShapeOptions, vocab: readonly string[] | undefined, log: (m: string) => void): Promise<boolean> {
  const stampFile = join(dir, 'synth.json');
  const stamp = JSON.stringify({ ...synth, ...(vocab !== undefined ? { vocabFile: BERT_VOCAB, vocabSize: vocab.length } : {}) });
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && existsSync(join(dir, 'documents.jsonl'))) return true;
  log(`generating ${synth.docs} synthetic documents into ${dir}`);
  await writeSynthetic({ ...synth, ...(vocab !== undefined ? { vocab } : {}), outDir: dir, overwrite: true });
  writeFileSync(stampFile, stamp);
  return false;
}

/** The first `limit` queries of a vector file, weights multiplied by `scale` (a ranking does not change with it, only the scale of scores). */
function writeScaledQueries(source: string, target: string, scale: number, limit: number): void {
  const lines = readFileSync(source, 'utf8').split('\n').filter((line) => line.trim() !== '').slice(0, limit);
  const scaled = lines.map((line) => {
    const { id, vector } = JSON.parse(line) as { id: string; vector: Record<string, number> };
    const out: Record<string, number> = {};
    for (const token in vector) out[token] = vector[token] * scale;
    return JSON.stringify({ id, vector: out });
  });
  writeFileSync(target, scaled.join('\n') + '\n');
}

/** Makes the inputs of one collection exist (generating or reusing them) and says where they are. */
export async function prepareCollection(spec: CollectionSpec, context: PrepareContext): Promise<PreparedCollection> {
  const started = performance.now();
  const { dir, shared, log } = context;
  mkdirSync(dir, { recursive: true });
  const seconds = (): number => (performance.now() - started) / 1000;
  if (spec.kind === 'text') {
    const collection = join(shared, 'collections', spec.collection);
    for (const file of ['corpus.jsonl', 'queries.jsonl']) if (!existsSync(join(collection, file))) throw new Error(`${join(collection, file)} is missing`);
    return { documents: join(collection, 'corpus.jsonl'), input: 'text', queries: join(collection, 'queries.jsonl'), prepareSeconds: 0, reused: true };
  }
  if (spec.kind === 'synthetic') {
    const reused = await ensureGenerated(dir, spec.synth, undefined, log);
    return { documents: join(dir, 'documents.jsonl'), input: 'vectors', queries: join(dir, 'queries.jsonl'), prepareSeconds: reused ? 0 : seconds(), reused };
  }
  const vocabFile = join(shared, BERT_VOCAB);
  const queryFile = join(shared, 'vectors', spec.queryFile);
  for (const file of [vocabFile, queryFile]) if (!existsSync(file)) throw new Error(`${file} is missing`);
  const vocab = await readVocabFile(vocabFile);
  const reused = await ensureGenerated(dir, { ...spec.synth, queries: 0 }, vocab, log);
  // Not `queries.jsonl`: that name is the generator's (empty here) query file.
  const queries = join(dir, 'real-queries.jsonl');
  writeScaledQueries(queryFile, queries, spec.weightScale, spec.queryLimit);
  const prepared: PreparedCollection = { documents: join(dir, 'documents.jsonl'), input: 'vectors', queries, prepareSeconds: reused ? 0 : seconds(), reused };
  if (spec.queryLog === true) {
    // First half: the log the build calibrates on; second half: the measured queries.
    const lines = readFileSync(queries, 'utf8').split('\n').filter((line) => line !== '');
    const half = Math.floor(lines.length / 2);
    prepared.calibrationQueries = join(dir, 'calibration-log.jsonl');
    writeFileSync(prepared.calibrationQueries, lines.slice(0, half).join('\n') + '\n');
    writeFileSync(queries, lines.slice(half).join('\n') + '\n');
  }
  return prepared;
}
