/**
 * Everything that touches onnxruntime-node lives here (as transformers.js keeps its backend in one
 * place): session creation and options, checking that the graph looks like a Hugging Face masked-LM
 * export, running one padded batch and handing back the raw float output.
 *
 * A session is created once per encoder and reused for every batch; input tensors are backed by
 * buffers that grow as needed and are reused between batches.
 */

import type * as ort from 'onnxruntime-node';
import { SpladexError } from '../errors.js';

/**
 * onnxruntime-node (a native addon) is loaded on the first session, not when this module is
 * imported: importing spladex — to search vectors, or lexical text — never loads it.
 */
let runtime: Promise<typeof ort> | undefined;
function onnxRuntime(): Promise<typeof ort> {
  runtime ??= import('onnxruntime-node').catch((cause: unknown) => {
    runtime = undefined;
    throw new SpladexError('E_MODEL', `cannot load onnxruntime-node: ${firstLine(cause)}; reinstall dependencies (npm install) on this platform`, { cause });
  });
  return runtime;
}

/** Inputs a BERT-like export may declare; each is `[batch, sequence]` int64 (int32 also accepted). */
const MODEL_INPUT_NAMES = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
export type ModelInputName = (typeof MODEL_INPUT_NAMES)[number];

/** What the chosen graph output holds. */
export type ModelOutputKind =
  /** `[batch, sequence, vocab]` MLM logits, pooled by spladex. */
  | 'token-logits'
  /** `[batch, vocab]` already pooled by the graph, used as is. */
  | 'pooled';

export interface OnnxSessionOptions {
  /** Intra-op threads; 0 lets onnxruntime use one per physical core. */
  threads: number;
  /** Output to read; default `logits` when present, else the graph's only output. */
  outputName?: string;
}

export interface ModelSignature {
  inputs: ReadonlyArray<{ name: ModelInputName; type: 'int64' | 'int32' }>;
  outputName: string;
  /** Known from the graph when the output rank is declared; otherwise found on the first run. */
  outputKind: ModelOutputKind | null;
  /** Size of the last output dimension when the graph fixes it, else null. */
  outputVocabSize: number | null;
}

/** One padded batch, row-major `[batchSize, seqLength]`. */
export interface TokenBatch {
  batchSize: number;
  seqLength: number;
  /** Token ids (padding positions hold the pad id). */
  inputIds: Int32Array;
  /** 1 for real tokens (content and special), 0 for padding. */
  attentionMask: Uint8Array;
}

export interface ModelOutput {
  kind: ModelOutputKind;
  /** `[batch, seq, vocab]` or `[batch, vocab]`, row-major. */
  data: Float32Array;
  vocabSize: number;
}

export class OnnxMaskedLmSession {
  readonly signature: ModelSignature;
  private readonly session: ort.InferenceSession;
  private readonly modelPath: string;
  private readonly buffers = new Map<ModelInputName, { int64?: BigInt64Array; int32?: Int32Array }>();

  private constructor(
    /** The loaded onnxruntime-node module. */
    private readonly rt: typeof ort,
    session: ort.InferenceSession,
    signature: ModelSignature,
    modelPath: string,
  ) {
    this.session = session;
    this.signature = signature;
    this.modelPath = modelPath;
  }

  /** Loads `modelPath` and checks its inputs and outputs; E_MODEL explains any mismatch. */
  static async open(modelPath: string, options: OnnxSessionOptions): Promise<OnnxMaskedLmSession> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Batches are independent runs of one graph: inter-op parallelism would only compete with intra-op threads.
      interOpNumThreads: 1,
      logSeverityLevel: 3,
    };
    if (options.threads > 0) sessionOptions.intraOpNumThreads = options.threads;
    const rt = await onnxRuntime();
    let session: ort.InferenceSession;
    try {
      session = await rt.InferenceSession.create(modelPath, sessionOptions);
    } catch (cause) {
      throw new SpladexError('E_MODEL', `onnxruntime cannot load the model: ${firstLine(cause)}. Is it a complete ONNX export (e.g. optimum-cli export onnx --task fill-mask)?`, {
        file: modelPath,
        cause,
      });
    }
    try {
      return new OnnxMaskedLmSession(rt, session, readSignature(session, options.outputName, modelPath), modelPath);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /** Runs one batch and returns the chosen output. */
  async run(batch: TokenBatch): Promise<ModelOutput> {
    const n = batch.batchSize * batch.seqLength;
    if (batch.inputIds.length < n || batch.attentionMask.length < n) throw new Error('batch buffers are smaller than batchSize × seqLength');
    const feeds: Record<string, ort.Tensor> = {};
    const dims = [batch.batchSize, batch.seqLength];
    for (const input of this.signature.inputs) {
      if (input.type === 'int64') {
        const data = this.int64Buffer(input.name, n);
        // Write int64 values through an Int32 view: low word = value, high word = 0 (values are
        // non-negative ids / mask bits, little-endian). Avoids creating one BigInt per element.
        const words = new Int32Array(data.buffer, 0, n * 2);
        if (input.name === 'input_ids') for (let i = 0; i < n; i++) words[2 * i] = batch.inputIds[i];
        else if (input.name === 'attention_mask') for (let i = 0; i < n; i++) words[2 * i] = batch.attentionMask[i];
        // token_type_ids: a single sequence is all segment 0; the buffer is zero-filled and never written.
        feeds[input.name] = new this.rt.Tensor('int64', data, dims);
      } else {
        const data = this.int32Buffer(input.name, n);
        if (input.name === 'input_ids') data.set(batch.inputIds.subarray(0, n));
        else if (input.name === 'attention_mask') for (let i = 0; i < n; i++) data[i] = batch.attentionMask[i];
        feeds[input.name] = new this.rt.Tensor('int32', data, dims);
      }
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(feeds, [this.signature.outputName]);
    } catch (cause) {
      throw new SpladexError('E_MODEL', `the model failed on a batch of ${batch.batchSize}×${batch.seqLength} tokens: ${firstLine(cause)}`, { file: this.modelPath, cause });
    }
    const tensor = results[this.signature.outputName];
    return this.checkOutput(tensor, batch);
  }

  async dispose(): Promise<void> {
    await this.session.release();
    this.buffers.clear();
  }

  private checkOutput(tensor: ort.Tensor, batch: TokenBatch): ModelOutput {
    const name = this.signature.outputName;
    if (tensor.type !== 'float32') {
      throw new SpladexError('E_MODEL', `output ${name} is ${tensor.type}; spladex needs float32 scores (export the model in fp32)`, { file: this.modelPath });
    }
    const d = tensor.dims;
    let kind: ModelOutputKind;
    if (d.length === 3 && d[0] === batch.batchSize && d[1] === batch.seqLength) kind = 'token-logits';
    else if (d.length === 2 && d[0] === batch.batchSize) kind = 'pooled';
    else {
      throw new SpladexError(
        'E_MODEL',
        `output ${name} has shape [${d.join(', ')}] for a batch of ${batch.batchSize}×${batch.seqLength}; expected [batch, sequence, vocab] logits or [batch, vocab] pooled weights`,
        { file: this.modelPath },
      );
    }
    return { kind, data: tensor.data as Float32Array, vocabSize: d[d.length - 1] };
  }

  private int64Buffer(name: ModelInputName, n: number): BigInt64Array {
    const slot = this.slot(name);
    if (slot.int64 === undefined || slot.int64.length < n) slot.int64 = new BigInt64Array(growTo(n));
    // ORT takes the whole typed array as the tensor, so hand it a view of exactly n elements (offset 0).
    return slot.int64.length === n ? slot.int64 : slot.int64.subarray(0, n);
  }

  private int32Buffer(name: ModelInputName, n: number): Int32Array {
    const slot = this.slot(name);
    if (slot.int32 === undefined || slot.int32.length < n) slot.int32 = new Int32Array(growTo(n));
    return slot.int32.length === n ? slot.int32 : slot.int32.subarray(0, n);
  }

  private slot(name: ModelInputName): { int64?: BigInt64Array; int32?: Int32Array } {
    let slot = this.buffers.get(name);
    if (slot === undefined) this.buffers.set(name, (slot = {}));
    return slot;
  }
}

/** Buffer sizes grow by powers of two so a stream of batches reallocates only a few times. */
function growTo(n: number): number {
  let size = 1024;
  while (size < n) size *= 2;
  return size;
}

function readSignature(session: ort.InferenceSession, requestedOutput: string | undefined, modelPath: string): ModelSignature {
  const known = new Set<string>(MODEL_INPUT_NAMES);
  const inputs: Array<{ name: ModelInputName; type: 'int64' | 'int32' }> = [];
  for (const meta of session.inputMetadata) {
    if (!known.has(meta.name)) {
      throw new SpladexError(
        'E_MODEL',
        `the model declares input "${meta.name}", which spladex cannot provide; a text encoder export takes only ${MODEL_INPUT_NAMES.join(', ')} (declared: ${session.inputNames.join(', ')})`,
        { file: modelPath },
      );
    }
    if (!meta.isTensor || (meta.type !== 'int64' && meta.type !== 'int32')) {
      const type = meta.isTensor ? meta.type : 'a non-tensor value';
      throw new SpladexError('E_MODEL', `input ${meta.name} is ${type}; expected an int64 [batch, sequence] tensor`, { file: modelPath });
    }
    if (meta.shape.length !== 0 && meta.shape.length !== 2) {
      throw new SpladexError('E_MODEL', `input ${meta.name} has rank ${meta.shape.length}; expected [batch, sequence]`, { file: modelPath });
    }
    inputs.push({ name: meta.name as ModelInputName, type: meta.type });
  }
  if (!inputs.some((i) => i.name === 'input_ids')) {
    throw new SpladexError('E_MODEL', `the model has no input_ids input (declared: ${session.inputNames.join(', ') || 'none'}); export a text model that takes token ids`, {
      file: modelPath,
    });
  }

  const outputs = session.outputNames;
  let outputName: string;
  if (requestedOutput !== undefined) {
    if (!outputs.includes(requestedOutput)) {
      throw new SpladexError('E_MODEL', `the model has no output "${requestedOutput}" (outputs: ${outputs.join(', ')})`, { file: modelPath });
    }
    outputName = requestedOutput;
  } else if (outputs.includes('logits')) {
    outputName = 'logits';
  } else if (outputs.length === 1) {
    outputName = outputs[0];
  } else {
    throw new SpladexError('E_MODEL', `the model has several outputs (${outputs.join(', ')}) and none is named logits; choose one with the outputName option`, { file: modelPath });
  }
  const meta = session.outputMetadata[outputs.indexOf(outputName)];
  if (!meta.isTensor || meta.type !== 'float32') {
    const type = meta.isTensor ? meta.type : 'a non-tensor value';
    throw new SpladexError('E_MODEL', `output ${outputName} is ${type}; spladex needs float32 MLM logits [batch, sequence, vocab] or pooled weights [batch, vocab]`, {
      file: modelPath,
    });
  }
  let outputKind: ModelOutputKind | null = null;
  if (meta.shape.length === 3) outputKind = 'token-logits';
  else if (meta.shape.length === 2) outputKind = 'pooled';
  else if (meta.shape.length !== 0) {
    throw new SpladexError(
      'E_MODEL',
      `output ${outputName} has rank ${meta.shape.length}; expected [batch, sequence, vocab] MLM logits (e.g. BertForMaskedLM) or [batch, vocab] pooled weights — a plain encoder's last_hidden_state is not enough`,
      { file: modelPath },
    );
  }
  const last = meta.shape.length > 0 ? meta.shape[meta.shape.length - 1] : undefined;
  return { inputs, outputName, outputKind, outputVocabSize: typeof last === 'number' && last > 0 ? last : null };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0];
}
