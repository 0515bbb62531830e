/**
 * The ONNX graph of a masked LM (config.ts) from a checkpoint's tensors, with the signature of a
 * Hugging Face `fill-mask` export — inputs `input_ids`, `attention_mask` [, `token_type_ids`],
 * int64 [batch, sequence]; output `logits` float32 [batch, sequence, vocab] — so the encoder runs a
 * converted model exactly like an Optimum export.
 */

import { SpladexError } from '../../errors.js';
import { encodeOnnxModel } from '../onnx-writer.js';
import type { TransformerConfig } from './config.js';
import { GraphBuilder, type LinearWeights, type NormWeights } from './graph-builder.js';
import type { TensorSource } from './tensors.js';

/** protobuf cannot serialise a message of 2 GiB or more, and onnxruntime cannot parse one. */
const ONNX_SIZE_LIMIT = 2 ** 31 - 1;

/** Weight names of one family, relative to the encoder's prefix (`bert.`, `distilbert.` or none). */
interface Names {
  word: string;
  position: string;
  tokenType: string | null;
  embeddingsNorm: string;
  layer(i: number): { q: string; k: string; v: string; o: string; norm1: string; ffn1: string; ffn2: string; norm2: string };
  headDense: string;
  headNorm: string;
  /** Absent when tied to the word embeddings. */
  decoderWeight: string;
  decoderBias: readonly string[];
  family: string;
}

const BERT: Names = {
  family: 'bert',
  word: 'embeddings.word_embeddings.weight',
  position: 'embeddings.position_embeddings.weight',
  tokenType: 'embeddings.token_type_embeddings.weight',
  embeddingsNorm: 'embeddings.LayerNorm',
  layer: (i) => {
    const l = `encoder.layer.${i}.`;
    return {
      q: `${l}attention.self.query`,
      k: `${l}attention.self.key`,
      v: `${l}attention.self.value`,
      o: `${l}attention.output.dense`,
      norm1: `${l}attention.output.LayerNorm`,
      ffn1: `${l}intermediate.dense`,
      ffn2: `${l}output.dense`,
      norm2: `${l}output.LayerNorm`,
    };
  },
  headDense: 'cls.predictions.transform.dense',
  headNorm: 'cls.predictions.transform.LayerNorm',
  decoderWeight: 'cls.predictions.decoder.weight',
  decoderBias: ['cls.predictions.bias', 'cls.predictions.decoder.bias'],
};

const DISTILBERT: Names = {
  family: 'distilbert',
  word: 'embeddings.word_embeddings.weight',
  position: 'embeddings.position_embeddings.weight',
  tokenType: null,
  embeddingsNorm: 'embeddings.LayerNorm',
  layer: (i) => {
    const l = `transformer.layer.${i}.`;
    return {
      q: `${l}attention.q_lin`,
      k: `${l}attention.k_lin`,
      v: `${l}attention.v_lin`,
      o: `${l}attention.out_lin`,
      norm1: `${l}sa_layer_norm`,
      ffn1: `${l}ffn.lin1`,
      ffn2: `${l}ffn.lin2`,
      norm2: `${l}output_layer_norm`,
    };
  },
  headDense: 'vocab_transform',
  headNorm: 'vocab_layer_norm',
  decoderWeight: 'vocab_projector.weight',
  decoderBias: ['vocab_projector.bias'],
};

/** Finds tensors under the prefixes checkpoints use, checking each shape against the config. */
class WeightReader {
  private readonly encoderPrefix: string;
  private readonly headPrefixes: string[];

  constructor(
    private readonly source: TensorSource,
    private readonly names: Names,
  ) {
    // `bert.embeddings.word_embeddings.weight` (transformers), bare names (a BertModel saved alone),
    // or a wrapper's prefix such as `model.bert.`: wherever the word embeddings are.
    const key = [...source.tensors.keys()].find((k) => k === names.word || k.endsWith(`.${names.word}`));
    if (key === undefined) {
      throw new SpladexError('E_MODEL', `the checkpoint has no ${names.family}.${names.word}; it is not a ${names.family} checkpoint (tensors: ${[...source.tensors.keys()].slice(0, 5).join(', ')}, …)`, {
        file: source.file,
      });
    }
    this.encoderPrefix = key.slice(0, key.length - names.word.length);
    const outer = this.encoderPrefix.endsWith(`${names.family}.`) ? this.encoderPrefix.slice(0, -names.family.length - 1) : this.encoderPrefix;
    this.headPrefixes = [...new Set([outer, '', this.encoderPrefix])];
  }

  has(name: string, head = false): boolean {
    return this.resolve(name, head) !== undefined;
  }

  private resolve(name: string, head: boolean): string | undefined {
    const candidates = head ? this.headPrefixes.map((p) => p + name) : [this.encoderPrefix + name];
    // Checkpoints converted from TensorFlow name LayerNorm parameters gamma and beta.
    const aliases = candidates.flatMap((c) => [c, c.replace(/\.weight$/, '.gamma'), c.replace(/\.bias$/, '.beta')]);
    return aliases.find((c) => this.source.tensors.has(c));
  }

  async tensor(name: string, shape: readonly number[], head = false): Promise<Float32Array> {
    const key = this.resolve(name, head);
    if (key === undefined) {
      throw new SpladexError('E_MODEL', `the checkpoint has no ${head ? name : this.encoderPrefix + name}; it does not hold a complete ${this.names.family} masked-LM`, { file: this.source.file });
    }
    const info = this.source.tensors.get(key);
    if (info === undefined || info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new SpladexError('E_MODEL', `tensor ${key} has shape [${info?.shape.join(', ')}], config.json implies [${shape.join(', ')}]; config.json does not describe this checkpoint`, {
        file: this.source.file,
      });
    }
    return (await this.source.read(key)).data;
  }

  async linear(name: string, out: number, inp: number, head = false): Promise<LinearWeights> {
    return { weight: await this.tensor(`${name}.weight`, [out, inp], head), bias: await this.tensor(`${name}.bias`, [out], head), out, in: inp };
  }

  async norm(name: string, size: number, head = false): Promise<NormWeights> {
    return { weight: await this.tensor(`${name}.weight`, [size], head), bias: await this.tensor(`${name}.bias`, [size], head) };
  }
}

/**
 * The ONNX bytes of the masked LM in `source`. E_MODEL when a weight is missing or mis-shaped, or
 * when the graph would pass the 2 GB protobuf limit.
 */
export async function buildMaskedLmOnnx(config: TransformerConfig, source: TensorSource, metadata: Record<string, string>): Promise<Uint8Array> {
  // Refused before a byte is read: converting 2 GB of weights only to fail at serialisation wastes minutes.
  checkSize(weightBytes(config), source.file);
  const names = config.architecture === 'BertForMaskedLM' ? BERT : DISTILBERT;
  const w = new WeightReader(source, names);
  const { hidden: H, vocabSize: V, heads, intermediate: I, eps } = config;
  const g = new GraphBuilder();
  const ids = 'input_ids';
  const inputs = [ids, 'attention_mask', ...(names.tokenType === null ? [] : ['token_type_ids'])];

  const word = g.weight('word_embeddings', [V, H], await w.tensor(names.word, [V, H]));
  let x = g.node('Gather', [word, ids]);
  const positions = g.weight('position_embeddings', [config.maxPositions, H], await w.tensor(names.position, [config.maxPositions, H]));
  x = g.node('Add', [x, g.positions(positions, ids)]);
  if (names.tokenType !== null) {
    const types = g.weight('token_type_embeddings', [config.typeVocabSize, H], await w.tensor(names.tokenType, [config.typeVocabSize, H]));
    x = g.node('Add', [x, g.node('Gather', [types, 'token_type_ids'])]);
  }
  x = g.layerNorm(x, await w.norm(names.embeddingsNorm, H), eps, 'embeddings.norm');
  const mask = g.additiveMask('attention_mask');

  for (let i = 0; i < config.layers; i++) {
    const n = names.layer(i);
    const p = `layer.${i}`;
    const attention = g.selfAttention(x, mask, await w.linear(n.q, H, H), await w.linear(n.k, H, H), await w.linear(n.v, H, H), heads, `${p}.attention`);
    x = g.layerNorm(g.node('Add', [g.linear(attention, await w.linear(n.o, H, H), `${p}.attention.output`), x]), await w.norm(n.norm1, H), eps, `${p}.attention.norm`);
    const ffn = g.linear(g.gelu(g.linear(x, await w.linear(n.ffn1, I, H), `${p}.ffn.in`)), await w.linear(n.ffn2, H, I), `${p}.ffn.out`);
    x = g.layerNorm(g.node('Add', [ffn, x]), await w.norm(n.norm2, H), eps, `${p}.ffn.norm`);
  }

  const transformed = g.layerNorm(g.gelu(g.linear(x, await w.linear(names.headDense, H, H, true), 'head.dense')), await w.norm(names.headNorm, H, true), eps, 'head.norm');
  // A tied decoder is absent from save_pretrained files; a plain state dict repeats it (same storage).
  const decoder = w.has(names.decoderWeight, true) ? g.weight('decoder.weight', [V, H], await w.tensor(names.decoderWeight, [V, H], true)) : word;
  // An absent bias fails in tensor(): transformers would start it at zeros, which invents weights.
  const biasName = names.decoderBias.find((b) => w.has(b, true)) ?? names.decoderBias[0];
  const bias = g.weight('decoder.bias', [V], await w.tensor(biasName, [V], true));
  g.decoder(transformed, ids, decoder, H, V, bias, 'logits');
  checkSize(g.initializerBytes, source.file);

  return encodeOnnxModel({
    name: `spladex_${names.family}_masked_lm`,
    inputs: inputs.map((name) => ({ name, type: 'int64', shape: ['batch_size', 'sequence_length'] })),
    outputs: [{ name: 'logits', type: 'float32', shape: ['batch_size', 'sequence_length', V] }],
    nodes: g.nodes,
    initializers: g.initializers,
    opset: 17,
    metadata,
  });
}

/** fp32 bytes of the weights `config` implies (an untied decoder adds V × H more, checked after the build). */
function weightBytes(c: TransformerConfig): number {
  const { vocabSize: V, hidden: H, intermediate: I, layers: L, maxPositions: P, typeVocabSize: T } = c;
  const layer = 4 * (H * H + H) + 2 * H * I + I + H + 4 * H;
  return 4 * ((V + P + T) * H + 2 * H + L * layer + H * H + 3 * H + V);
}

function checkSize(bytes: number, file: string): void {
  // The graph's own bytes are a few kilobytes; the initializers are the file.
  if (bytes >= ONNX_SIZE_LIMIT - 16 * 1024 * 1024) {
    throw new SpladexError(
      'E_MODEL',
      `the converted model would hold ${(bytes / 2 ** 30).toFixed(1)} GiB of fp32 weights, over ONNX's 2 GB single-file limit; spladex does not write external-data ONNX files yet: export this model with optimum-cli export onnx --task fill-mask`,
      { file },
    );
  }
}
