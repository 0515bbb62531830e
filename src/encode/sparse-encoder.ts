/**
 * The encoder `openEncoder` returns: one class for the three kinds (splade, inference-free,
 * lexical), holding the tokenizer, the model (opened lazily when a reopened index first needs it),
 * the IDF table and corpus statistics, and the time spent in each stage.
 */
import { basename, relative } from 'node:path';
import { SpladexError } from '../errors.js';
import type { SparseVectorInput } from '../types.js';
import type { Encoder, EncoderStats, LoadedModel, Resolved } from './encoder-options.js';
import type { IdfTable } from './idf.js';
import { bm25DocumentVector, CorpusStatsBuilder, idfQueryVector, type CorpusStats, type TermCounter } from './lexical.js';
import type { ModelSparseEncoder, StageTimes } from './model-encoder.js';
import { setWeight } from './pooling.js';
import { ENCODER_SPEC_FORMAT, ENCODER_SPEC_VERSION, type EncoderKind, type EncoderSpec } from './spec.js';
import type { TextTokenizer, TokenizerSpec } from './tokenizer.js';

export interface SparseEncoderParts {
  kind: EncoderKind;
  settings: Resolved;
  tokenizerSpec: TokenizerSpec;
  tokenizer: TextTokenizer | null;
  counter: TermCounter | null;
  /** The open model, or null for lexical and for a lazily loaded model not needed yet. */
  model: LoadedModel | null;
  /** Opens the model on first document encoding (reopened inference-free encoders). */
  loadModel: (() => Promise<LoadedModel>) | null;
  /** The model as described by the spec being reopened, used by `spec` until the model is loaded. */
  storedModel: EncoderSpec['model'];
  idf: IdfTable | null;
  idfSource: EncoderSpec['query']['idfSource'];
  corpusStats: CorpusStats | null;
  reopened: boolean;
}

export class SparseEncoder implements Encoder {
  readonly kind: EncoderKind;
  readonly label: string;
  private readonly parts: SparseEncoderParts;
  private statsBuilder: CorpusStatsBuilder | null = null;
  private corpusStats: CorpusStats | null;
  private idf: IdfTable | null;
  private closed = false;
  /** Calls run one at a time: they share batch buffers and accumulators. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly times: StageTimes = { tokenizeMs: 0, modelMs: 0, poolMs: 0, sequences: 0, tokens: 0, paddedTokens: 0 };
  private documents = 0;
  private queries = 0;
  private totalMs = 0;
  private documentMs = 0;

  constructor(parts: SparseEncoderParts) {
    this.parts = parts;
    this.kind = parts.kind;
    this.corpusStats = parts.corpusStats;
    this.idf = parts.idf;
    const modelDir = parts.model?.dir ?? parts.storedModel?.dir;
    // A Hub snapshot's directory is named by its commit: the repo id says which model it is.
    const hub = parts.model?.hub ?? parts.storedModel?.hub ?? null;
    const modelName = hub !== null ? hub.repo : modelDir === undefined ? '' : basename(modelDir);
    this.label =
      parts.kind === 'splade'
        ? `SPLADE learned sparse (model ${modelName})`
        : parts.kind === 'inference-free'
          ? modelDir === undefined
            ? 'inference-free learned sparse (queries only: tokenizer + IDF, no document model)'
            : `inference-free learned sparse (documents by model ${modelName}; queries by tokenizer + IDF)`
          : 'lexical (BM25), not a learned model';
    if (parts.kind === 'lexical' && parts.reopened && this.corpusStats === null) {
      throw new SpladexError('E_CORRUPT', 'the stored lexical encoder spec has no corpus statistics; rebuild the index');
    }
    if (parts.reopened && parts.kind !== 'splade' && this.idf === null) {
      throw new SpladexError('E_OPTION', `reopening a ${parts.kind} encoder needs the IDF table stored with the index (option idf)`);
    }
  }

  get needsCorpusStats(): boolean {
    if (this.kind === 'lexical') return this.corpusStats === null;
    if (this.kind === 'inference-free') return this.idf === null;
    return false;
  }

  get spec(): EncoderSpec {
    const { parts } = this;
    const s = parts.settings;
    const model = parts.model;
    const modelSpec: EncoderSpec['model'] =
      model === null
        ? parts.storedModel
        : {
            dir: model.dir,
            file: relative(model.dir, model.file),
            sha256: model.sha256,
            outputName: model.outputName,
            output: model.encoder.outputKind,
            vocabSize: model.encoder.outputVocabSize,
            ...(model.hub === null ? {} : { hub: model.hub }),
          };
    return {
      format: ENCODER_SPEC_FORMAT,
      version: ENCODER_SPEC_VERSION,
      kind: this.kind,
      label: this.label,
      model: modelSpec,
      tokenizer: parts.tokenizerSpec,
      maxLength: s.maxLength,
      longDocuments: s.longDocuments,
      windowOverlap: s.windowOverlap,
      pooling: modelSpec === null ? null : { activation: modelSpec.output === 'pooled' ? 'identity' : s.activation, specialTokenPositions: s.specialTokenPositions },
      documentPruning: { topK: s.topK, minWeight: s.minWeight },
      query: {
        weighting: this.kind === 'splade' ? 'model' : this.kind === 'inference-free' ? 'idf' : 'bm25-idf',
        countRepeats: this.kind === 'lexical',
        idfSource: parts.idfSource,
      },
      bm25: this.kind === 'lexical' ? { k1: s.bm25K1, b: s.bm25B } : null,
      corpusStats: this.corpusStats,
    };
  }

  get stats(): EncoderStats {
    return {
      documents: this.documents,
      queries: this.queries,
      ...this.times,
      totalMs: this.totalMs,
      documentsPerSecond: this.documentMs > 0 ? (this.documents * 1000) / this.documentMs : 0,
    };
  }

  addCorpusDocuments(texts: readonly string[]): void {
    this.assertOpen();
    if (!this.needsCorpusStats) {
      throw new SpladexError('E_OPTION', `the ${this.kind} encoder does not need corpus statistics${this.kind === 'splade' ? '' : ' (they are already set)'}; encode directly`);
    }
    const counter = this.parts.counter as TermCounter;
    this.statsBuilder ??= new CorpusStatsBuilder();
    const t = performance.now();
    for (const text of texts) this.statsBuilder.add(counter.count(text));
    this.times.tokenizeMs += performance.now() - t;
  }

  finishCorpusStats(): CorpusStats {
    this.assertOpen();
    if (this.statsBuilder === null) {
      if (this.corpusStats !== null) return this.corpusStats;
      throw new SpladexError('E_OPTION', 'no corpus documents were added: call addCorpusDocuments() over the whole corpus first');
    }
    const stats = this.statsBuilder.stats();
    if (this.kind === 'lexical') this.corpusStats = stats;
    if (this.idf === null || this.kind === 'lexical') this.idf = this.statsBuilder.idfTable();
    if (this.kind === 'inference-free') this.corpusStats = stats;
    this.statsBuilder = null;
    return stats;
  }

  encodeDocuments(texts: readonly string[]): Promise<SparseVectorInput[]> {
    return this.serialize(async () => {
      const t = performance.now();
      let vectors: SparseVectorInput[];
      if (this.kind === 'lexical') {
        const stats = this.requireCorpusStats();
        const { settings, counter } = this.parts;
        const t0 = performance.now();
        const counted = texts.map((text) => (counter as TermCounter).count(text));
        const t1 = performance.now();
        vectors = counted.map((c) => prune(bm25DocumentVector(c, { k1: settings.bm25K1, b: settings.bm25B }, stats.averageLength), settings.topK, settings.minWeight));
        this.times.tokenizeMs += t1 - t0;
        this.times.poolMs += performance.now() - t1;
      } else {
        const s = this.parts.settings;
        vectors = await (await this.modelEncoder()).encode(
          texts,
          { longDocuments: s.longDocuments, windowOverlap: s.windowOverlap, topK: s.topK, minWeight: s.minWeight },
          this.times,
        );
      }
      const elapsed = performance.now() - t;
      this.documents += texts.length;
      this.documentMs += elapsed;
      this.totalMs += elapsed;
      return vectors;
    });
  }

  encodeQueries(texts: readonly string[]): Promise<SparseVectorInput[]> {
    return this.serialize(async () => {
      const t = performance.now();
      let vectors: SparseVectorInput[];
      if (this.kind === 'splade') {
        vectors = await (await this.modelEncoder()).encode(
          texts,
          { longDocuments: 'truncate', windowOverlap: 0, topK: 0, minWeight: 0 },
          this.times,
        );
      } else {
        if (this.kind === 'lexical') this.requireCorpusStats();
        const idf = this.idf;
        if (idf === null) {
          throw new SpladexError('E_OPTION', 'inference-free queries need IDF weights: the model has no idf.json, so pass idf or make a first pass with addCorpusDocuments()/finishCorpusStats()');
        }
        const counter = this.parts.counter as TermCounter;
        const t0 = performance.now();
        const counted = texts.map((text) => counter.count(text));
        const t1 = performance.now();
        vectors = counted.map((c) => idfQueryVector(c, idf, this.kind === 'lexical'));
        this.times.tokenizeMs += t1 - t0;
        this.times.poolMs += performance.now() - t1;
      }
      this.queries += texts.length;
      this.totalMs += performance.now() - t;
      return vectors;
    });
  }

  idfTable(): IdfTable | null {
    return this.idf;
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.parts.model?.encoder.dispose();
  }

  private async modelEncoder(): Promise<ModelSparseEncoder> {
    const parts = this.parts;
    if (parts.model === null) {
      if (parts.loadModel === null) throw new Error('this encoder kind has no model');
      parts.model = await parts.loadModel();
    }
    return parts.model.encoder;
  }

  private requireCorpusStats(): CorpusStats {
    if (this.corpusStats === null) {
      throw new SpladexError('E_OPTION', 'the lexical encoder needs corpus statistics first: call addCorpusDocuments() over the whole corpus, then finishCorpusStats()');
    }
    return this.corpusStats;
  }

  private assertOpen(): void {
    if (this.closed) throw new SpladexError('E_CLOSED', 'the encoder was disposed; open a new one');
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    // Errors, including "closed", always arrive as rejections, never as synchronous throws.
    if (this.closed) return Promise.reject(new SpladexError('E_CLOSED', 'the encoder was disposed; open a new one'));
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Applies top-k / min-weight pruning to a finished vector (lexical documents). */
function prune(vector: SparseVectorInput, topK: number, minWeight: number): SparseVectorInput {
  let entries = Object.entries(vector);
  const before = entries.length;
  if (minWeight > 0) entries = entries.filter(([, w]) => w >= minWeight);
  if (topK > 0 && entries.length > topK) entries = entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, topK);
  if (entries.length === before) return vector;
  const out: SparseVectorInput = {};
  for (const [term, weight] of entries) setWeight(out, term, weight);
  return out;
}
