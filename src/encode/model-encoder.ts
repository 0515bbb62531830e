/**
 * Texts → sparse vectors through an ONNX masked-LM: tokenize, plan sequences (truncate or window),
 * batch by length, run the model, max-pool, sparsify. Used for SPLADE documents and queries and for
 * inference-free documents.
 */

import { SpladexError } from '../errors.js';
import type { SparseVectorInput } from '../types.js';
import { BatchPacker, planBatches, planSequences } from './batching.js';
import type { ModelOutputKind, OnnxMaskedLmSession } from './onnx-backend.js';
import {
  extractPositive,
  maxPoolPooledRow,
  maxPoolTokenLogits,
  mergeSparse,
  sparsify,
  type PoolingActivation,
  type SparseAccumulator,
} from './pooling.js';
import type { TextTokenizer } from './tokenizer.js';

export interface ModelEncoderSettings {
  maxLength: number;
  batchSize: number;
  maxBatchTokens: number;
  activation: PoolingActivation;
  poolSpecialPositions: boolean;
}

export interface EncodeCallOptions {
  longDocuments: 'truncate' | 'window';
  windowOverlap: number;
  topK: number;
  minWeight: number;
}

/** Milliseconds spent per stage, accumulated over calls. */
export interface StageTimes {
  tokenizeMs: number;
  modelMs: number;
  poolMs: number;
  sequences: number;
  tokens: number;
  paddedTokens: number;
}

export class ModelSparseEncoder {
  /** Output layout and size, known after `probe()`. */
  outputKind: ModelOutputKind;
  outputVocabSize: number;
  private readonly packer: BatchPacker;
  private accumulator: Float32Array;
  private merged: Float32Array;

  private constructor(
    private readonly session: OnnxMaskedLmSession,
    private readonly tokenizer: TextTokenizer,
    private readonly settings: ModelEncoderSettings,
    outputKind: ModelOutputKind,
    outputVocabSize: number,
  ) {
    this.outputKind = outputKind;
    this.outputVocabSize = outputVocabSize;
    this.packer = new BatchPacker(tokenizer.prefixIds, tokenizer.suffixIds, tokenizer.padId, settings.poolSpecialPositions);
    this.accumulator = new Float32Array(outputVocabSize);
    this.merged = new Float32Array(outputVocabSize);
  }

  /**
   * Binds a session to a tokenizer. When the graph does not declare its output rank or vocabulary
   * size, one tiny batch finds them, so a mismatch with the tokenizer is reported before any work.
   */
  static async create(session: OnnxMaskedLmSession, tokenizer: TextTokenizer, settings: ModelEncoderSettings, modelFile: string): Promise<ModelSparseEncoder> {
    let kind = session.signature.outputKind;
    let vocabSize = session.signature.outputVocabSize;
    if (kind === null || vocabSize === null) {
      const packer = new BatchPacker(tokenizer.prefixIds, tokenizer.suffixIds, tokenizer.padId, false);
      const plan = planSequences([0], 1, 'truncate', 0);
      const output = await session.run(packer.pack(Uint32Array.of(0), plan, [new Int32Array(0)]));
      kind = output.kind;
      vocabSize = output.vocabSize;
    }
    if (vocabSize < tokenizer.vocabSize) {
      throw new SpladexError(
        'E_MODEL',
        `the model scores ${vocabSize} tokens but the tokenizer has ${tokenizer.vocabSize}; the tokenizer does not belong to this model (or the output is not MLM logits)`,
        { file: modelFile },
      );
    }
    return new ModelSparseEncoder(session, tokenizer, settings, kind, vocabSize);
  }

  async encode(texts: readonly string[], call: EncodeCallOptions, times: StageTimes): Promise<SparseVectorInput[]> {
    const { tokenizer, settings } = this;
    let t = performance.now();
    const contents = texts.map((text) => tokenizer.encode(text));
    const specials = tokenizer.prefixIds.length + tokenizer.suffixIds.length;
    const plan = planSequences(
      contents.map((c) => c.length),
      settings.maxLength - specials,
      call.longDocuments,
      call.windowOverlap,
    );
    const batches = planBatches(plan, specials, settings.batchSize, settings.maxBatchTokens);
    times.tokenizeMs += performance.now() - t;

    const activation: PoolingActivation = this.outputKind === 'pooled' ? 'identity' : settings.activation;
    const sparsifyOptions = { activation, vocabulary: tokenizer.vocabulary, isSpecial: tokenizer.isSpecial, topK: call.topK, minWeight: call.minWeight };
    const results: SparseVectorInput[] = new Array(texts.length);
    // Partial (per-window) results of texts split into several sequences, until all windows are in.
    const partials = new Map<number, SparseAccumulator[]>();

    for (const batch of batches) {
      const packed = this.packer.pack(batch, plan, contents);
      times.sequences += batch.length;
      for (const s of batch) times.tokens += plan.end[s] - plan.start[s] + specials;
      times.paddedTokens += packed.batchSize * packed.seqLength;

      t = performance.now();
      const output = await this.session.run(packed);
      times.modelMs += performance.now() - t;
      if (output.vocabSize !== this.outputVocabSize || output.kind !== this.outputKind) {
        throw new SpladexError('E_MODEL', `the model output changed shape between batches (now ${output.kind}, ${output.vocabSize} scores)`);
      }

      t = performance.now();
      const V = this.outputVocabSize;
      const acc = this.accumulator;
      for (let row = 0; row < batch.length; row++) {
        acc.fill(0);
        if (output.kind === 'token-logits') maxPoolTokenLogits(output.data, row, packed.seqLength, V, packed.pooled, row * packed.seqLength, acc);
        else maxPoolPooledRow(output.data, row, V, acc);
        const text = plan.text[batch[row]];
        const windows = plan.sequencesPerText[text];
        if (windows === 1) {
          results[text] = sparsify(acc, V, sparsifyOptions);
          continue;
        }
        let parts = partials.get(text);
        if (parts === undefined) partials.set(text, (parts = []));
        parts.push(extractPositive(acc, V));
        if (parts.length === windows) {
          const merged = this.merged;
          merged.fill(0);
          for (const part of parts) mergeSparse(part, merged);
          results[text] = sparsify(merged, V, sparsifyOptions);
          partials.delete(text);
        }
      }
      times.poolMs += performance.now() - t;
    }
    return results;
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
