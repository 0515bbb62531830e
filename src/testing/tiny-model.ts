/**
 * A tiny, deterministic BERT-like masked-LM written as a real ONNX file, for tests and demos: no
 * pretrained weights are needed and nothing is downloaded, yet the encoder runs its production code
 * path (directory loading, tokenizer.json, onnxruntime session, pooling).
 *
 * The graph has exactly the signature of a Hugging Face BERT MLM export — inputs `input_ids`,
 * `attention_mask`, `token_type_ids` (int64 [batch, sequence], symbolic dims) and output `logits`
 * (float32 [batch, sequence, vocab]) — and computes, per batch row b and position t:
 *
 *   e[t]   = word[input_ids[t]] + position[t] + type[token_type_ids[t]]
 *   c      = Σ_t mask[t]·e[t] / max(1, Σ_t mask[t])          (masked mean: padding has no influence)
 *   h[t]   = ReLU((e[t] + c) · W1 + b1)
 *   logits = h[t] · W2 + b2
 *
 * The `pooled` variant appends log(1 + ReLU(logits)) · mask and a max over the sequence, giving a
 * `[batch, vocab]` output named `sparse_embedding`.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeOnnxModel, type OnnxInitializer, type OnnxNode, type OnnxValueInfo } from '../encode/onnx-writer.js';
import { Rng, uniformFloats } from '../util/rng.js';

/** The default vocabulary: BERT special tokens, ASCII punctuation, letters, digits, pieces and words. */
export const TINY_VOCABULARY: readonly string[] = (() => {
  const tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    if (!/[a-zA-Z0-9]/.test(ch)) tokens.push(ch);
  }
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (const ch of letters) tokens.push(ch);
  for (const ch of '0123456789') tokens.push(ch);
  for (const ch of letters) tokens.push(`##${ch}`);
  for (const ch of '0123456789') tokens.push(`##${ch}`);
  tokens.push('##s', '##ing', '##ed', '##er', '##ly', '##tion', '##al');
  tokens.push(
    ...'the a an of and in to is for on with as by that this are was be at from or it not no'.split(' '),
    ...'cell cells protein gene genes cancer patient patients study results human brain white matter development'.split(' '),
    ...'model models sparse search retrieval vector query document index learn neural network cafe hello world'.split(' '),
    ...'data science sleep memory blood heart water light energy fast slow red green blue'.split(' '),
    '中',
    '文',
    '日',
    '本',
  );
  return [...new Set(tokens)];
})();

export interface TinyMaskedLmOptions {
  /** Seed of the weights. Default 42. */
  seed?: number;
  /** Vocabulary, in id order; must contain [PAD] [UNK] [CLS] [SEP] [MASK]. Default TINY_VOCABULARY. */
  vocabulary?: readonly string[];
  /** Embedding width. Default 16. */
  hiddenSize?: number;
  /** Width of the feed-forward layer. Default 32. */
  ffnSize?: number;
  /** Size of the position table = longest sequence the model accepts. Default 64. */
  maxPositions?: number;
  /** 'token-logits' (HF export) or 'pooled' ([batch, vocab] output). Default 'token-logits'. */
  output?: 'token-logits' | 'pooled';
  /** Inputs the graph declares (input_ids is required). Default all three. */
  inputs?: ReadonlyArray<'input_ids' | 'attention_mask' | 'token_type_ids'>;
  /** Also write vocab.txt / tokenizer.json / config.json / tokenizer_config.json. Default true. */
  writeTokenizer?: boolean;
}

/** All weights, row-major, so an independent implementation can recompute the forward pass. */
export interface TinyMaskedLmWeights {
  vocabSize: number;
  hiddenSize: number;
  ffnSize: number;
  maxPositions: number;
  /** [vocab, hidden] */
  word: Float32Array;
  /** [maxPositions, hidden] */
  position: Float32Array;
  /** [2, hidden] */
  tokenType: Float32Array;
  /** [hidden, ffn] */
  w1: Float32Array;
  /** [ffn] */
  b1: Float32Array;
  /** [ffn, vocab] */
  w2: Float32Array;
  /** [vocab] */
  b2: Float32Array;
}

export interface TinyMaskedLm {
  dir: string;
  modelFile: string;
  vocabulary: readonly string[];
  weights: TinyMaskedLmWeights;
  options: Required<Omit<TinyMaskedLmOptions, 'vocabulary'>>;
}

/** Deterministic weights for a seed. Output biases lean negative so ReLU leaves the logits sparse. */
function tinyMaskedLmWeights(seed: number, vocabSize: number, hiddenSize: number, ffnSize: number, maxPositions: number): TinyMaskedLmWeights {
  const random = new Rng(seed);
  const word = uniformFloats(random, vocabSize * hiddenSize, 1);
  const position = uniformFloats(random, maxPositions * hiddenSize, 0.5);
  const tokenType = uniformFloats(random, 2 * hiddenSize, 0.5);
  const w1 = uniformFloats(random, hiddenSize * ffnSize, 1 / Math.sqrt(hiddenSize));
  const b1 = uniformFloats(random, ffnSize, 0.1);
  const w2 = uniformFloats(random, ffnSize * vocabSize, 1 / Math.sqrt(ffnSize));
  const b2 = uniformFloats(random, vocabSize, 0.5);
  for (let v = 0; v < vocabSize; v++) b2[v] -= 0.6;
  return { vocabSize, hiddenSize, ffnSize, maxPositions, word, position, tokenType, w1, b1, w2, b2 };
}

/** Writes the model (and by default its tokenizer files) into `dir`, creating it if needed. */
export async function writeTinyMaskedLm(dir: string, options: TinyMaskedLmOptions = {}): Promise<TinyMaskedLm> {
  const resolved = {
    seed: options.seed ?? 42,
    hiddenSize: options.hiddenSize ?? 16,
    ffnSize: options.ffnSize ?? 32,
    maxPositions: options.maxPositions ?? 64,
    output: options.output ?? 'token-logits',
    inputs: options.inputs ?? (['input_ids', 'attention_mask', 'token_type_ids'] as const),
    writeTokenizer: options.writeTokenizer ?? true,
  };
  const vocabulary = options.vocabulary ?? TINY_VOCABULARY;
  for (const special of ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']) {
    if (!vocabulary.includes(special)) throw new Error(`the vocabulary needs ${special}`);
  }
  if (!resolved.inputs.includes('input_ids')) throw new Error('the inputs must include input_ids');
  const weights = tinyMaskedLmWeights(resolved.seed, vocabulary.length, resolved.hiddenSize, resolved.ffnSize, resolved.maxPositions);
  await mkdir(dir, { recursive: true });
  const modelFile = join(dir, 'model.onnx');
  await writeFile(modelFile, tinyMaskedLmOnnx(weights, resolved.output, resolved.inputs));
  if (resolved.writeTokenizer) {
    await writeFile(join(dir, 'vocab.txt'), vocabulary.join('\n') + '\n');
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJson(vocabulary), null, 2));
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify(
        {
          architectures: ['BertForMaskedLM'],
          model_type: 'bert',
          vocab_size: vocabulary.length,
          hidden_size: resolved.hiddenSize,
          intermediate_size: resolved.ffnSize,
          max_position_embeddings: resolved.maxPositions,
          type_vocab_size: 2,
          _spladex_note: `tiny deterministic test model, seed ${resolved.seed}; not a trained model`,
        },
        null,
        2,
      ),
    );
    await writeFile(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ do_lower_case: true, model_max_length: resolved.maxPositions, tokenizer_class: 'BertTokenizer', unk_token: '[UNK]', pad_token: '[PAD]', cls_token: '[CLS]', sep_token: '[SEP]', mask_token: '[MASK]' }, null, 2),
    );
  }
  return { dir, modelFile, vocabulary, weights, options: resolved };
}

/** The ONNX bytes of the graph described in the module comment. */
function tinyMaskedLmOnnx(
  w: TinyMaskedLmWeights,
  output: 'token-logits' | 'pooled',
  inputs: ReadonlyArray<'input_ids' | 'attention_mask' | 'token_type_ids'>,
): Uint8Array {
  const hasMask = inputs.includes('attention_mask');
  const hasTypes = inputs.includes('token_type_ids');
  const f32 = (name: string, dims: number[], data: Float32Array): OnnxInitializer => ({ name, type: 'float32', dims, data });
  const i64 = (name: string, dims: number[], values: number[]): OnnxInitializer => ({ name, type: 'int64', dims, data: BigInt64Array.from(values.map(BigInt)) });
  const initializers: OnnxInitializer[] = [
    f32('word_embeddings', [w.vocabSize, w.hiddenSize], w.word),
    f32('position_embeddings', [w.maxPositions, w.hiddenSize], w.position),
    f32('w1', [w.hiddenSize, w.ffnSize], w.w1),
    f32('b1', [w.ffnSize], w.b1),
    f32('w2', [w.ffnSize, w.vocabSize], w.w2),
    f32('b2', [w.vocabSize], w.b2),
    f32('one_f', [], Float32Array.of(1)),
    i64('zero_i', [], [0]),
    i64('one_i', [], [1]),
    i64('axis_1', [1], [1]),
    i64('axis_2', [1], [2]),
  ];
  const nodes: OnnxNode[] = [
    { op: 'Gather', inputs: ['word_embeddings', 'input_ids'], outputs: ['word'] },
    { op: 'Shape', inputs: ['input_ids'], outputs: ['ids_shape'] },
    { op: 'Gather', inputs: ['ids_shape', 'one_i'], outputs: ['seq_len'], attributes: { axis: { type: 'int', value: 0 } } },
    { op: 'Range', inputs: ['zero_i', 'seq_len', 'one_i'], outputs: ['positions'] },
    { op: 'Gather', inputs: ['position_embeddings', 'positions'], outputs: ['position'] },
    { op: 'Add', inputs: ['word', 'position'], outputs: ['word_position'] },
  ];
  let embeddings = 'word_position';
  if (hasTypes) {
    initializers.push(f32('token_type_embeddings', [2, w.hiddenSize], w.tokenType));
    nodes.push({ op: 'Gather', inputs: ['token_type_embeddings', 'token_type_ids'], outputs: ['token_type'] });
    nodes.push({ op: 'Add', inputs: ['word_position', 'token_type'], outputs: ['embeddings'] });
    embeddings = 'embeddings';
  }
  // The mask is all ones when the graph does not take one (as for a model exported without it).
  if (hasMask) {
    nodes.push({ op: 'Cast', inputs: ['attention_mask'], outputs: ['mask_f'], attributes: { to: { type: 'int', value: 1 } } });
  } else {
    nodes.push({ op: 'Cast', inputs: ['input_ids'], outputs: ['ids_f'], attributes: { to: { type: 'int', value: 1 } } });
    nodes.push({ op: 'Mul', inputs: ['ids_f', 'zero_f'], outputs: ['zeros_f'] });
    nodes.push({ op: 'Add', inputs: ['zeros_f', 'one_f'], outputs: ['mask_f'] });
    initializers.push(f32('zero_f', [], Float32Array.of(0)));
  }
  nodes.push(
    { op: 'Unsqueeze', inputs: ['mask_f', 'axis_2'], outputs: ['mask3'] },
    { op: 'Mul', inputs: [embeddings, 'mask3'], outputs: ['masked'] },
    { op: 'ReduceSum', inputs: ['masked', 'axis_1'], outputs: ['masked_sum'], attributes: { keepdims: { type: 'int', value: 1 } } },
    { op: 'ReduceSum', inputs: ['mask3', 'axis_1'], outputs: ['mask_count'], attributes: { keepdims: { type: 'int', value: 1 } } },
    { op: 'Max', inputs: ['mask_count', 'one_f'], outputs: ['mask_count_safe'] },
    { op: 'Div', inputs: ['masked_sum', 'mask_count_safe'], outputs: ['context'] },
    { op: 'Add', inputs: [embeddings, 'context'], outputs: ['hidden_in'] },
    { op: 'MatMul', inputs: ['hidden_in', 'w1'], outputs: ['ffn_mm'] },
    { op: 'Add', inputs: ['ffn_mm', 'b1'], outputs: ['ffn_pre'] },
    { op: 'Relu', inputs: ['ffn_pre'], outputs: ['ffn'] },
    { op: 'MatMul', inputs: ['ffn', 'w2'], outputs: ['logits_mm'] },
    { op: 'Add', inputs: ['logits_mm', 'b2'], outputs: ['logits'] },
  );
  const graphInputs: OnnxValueInfo[] = inputs.map((name) => ({ name, type: 'int64', shape: ['batch_size', 'sequence_length'] }));
  let graphOutputs: OnnxValueInfo[];
  if (output === 'token-logits') {
    graphOutputs = [{ name: 'logits', type: 'float32', shape: ['batch_size', 'sequence_length', w.vocabSize] }];
  } else {
    nodes.push(
      { op: 'Relu', inputs: ['logits'], outputs: ['logits_relu'] },
      { op: 'Add', inputs: ['logits_relu', 'one_f'], outputs: ['logits_1p'] },
      { op: 'Log', inputs: ['logits_1p'], outputs: ['token_weights'] },
      { op: 'Mul', inputs: ['token_weights', 'mask3'], outputs: ['token_weights_masked'] },
      { op: 'ReduceMax', inputs: ['token_weights_masked'], outputs: ['sparse_embedding'], attributes: { axes: { type: 'ints', value: [1] }, keepdims: { type: 'int', value: 0 } } },
    );
    graphOutputs = [{ name: 'sparse_embedding', type: 'float32', shape: ['batch_size', w.vocabSize] }];
  }
  return encodeOnnxModel({ name: 'spladex_tiny_masked_lm', inputs: graphInputs, outputs: graphOutputs, nodes, initializers, opset: 13 });
}

/** A Hugging Face `tokenizer.json` for a BERT uncased WordPiece tokenizer over `vocabulary`. */
export function bertTokenizerJson(vocabulary: readonly string[]): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  vocabulary.forEach((token, id) => (vocab[token] = id));
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map((content) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}
