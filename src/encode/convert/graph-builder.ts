/**
 * Builds ONNX graphs node by node with generated value names, plus the transformer building blocks
 * BERT-like encoders share (linear layers, LayerNorm, exact GELU, multi-head self-attention), each
 * written as the standard ONNX ops a PyTorch export produces, so onnxruntime's graph optimiser
 * recognises and fuses them (LayerNormalization, Gelu from Erf, MatMul + Add).
 */

import type { OnnxAttribute, OnnxInitializer, OnnxNode } from '../onnx-writer.js';

/** A PyTorch `nn.Linear`: weight [out, in], bias [out]. */
export interface LinearWeights {
  weight: Float32Array;
  bias: Float32Array;
  out: number;
  in: number;
}

/** A LayerNorm: scale and shift [hidden]. */
export interface NormWeights {
  weight: Float32Array;
  bias: Float32Array;
}

const int = (value: number): OnnxAttribute => ({ type: 'int', value });
const ints = (value: readonly number[]): OnnxAttribute => ({ type: 'ints', value });

/** ONNX TensorProto.FLOAT, the `to` of Cast. */
const FLOAT = 1;

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();

  /** Bytes of all initializers so far (what dominates the size of the model file). */
  get initializerBytes(): number {
    return this.initializers.reduce((sum, i) => sum + i.data.byteLength, 0);
  }

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  node(op: string, inputs: readonly string[], attributes?: Record<string, OnnxAttribute>, output?: string): string {
    const out = output ?? this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], attributes });
    return out;
  }

  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push({ name, type: 'float32', dims, data });
    return name;
  }

  /** A small constant, shared between uses. */
  floats(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant('f', values, dims, () => ({ type: 'float32', data: Float32Array.from(values) }));
  }

  int64s(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant('i', values, dims, () => ({ type: 'int64', data: BigInt64Array.from(values.map(BigInt)) }));
  }

  private constant(kind: string, values: readonly number[], dims: readonly number[], make: () => Pick<OnnxInitializer, 'type' | 'data'>): string {
    const key = `${kind}:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = `const_${this.constants.size}`;
      this.constants.set(key, name);
      this.initializers.push({ name, dims, ...make() } as OnnxInitializer);
    }
    return name;
  }

  /** y = x · Wᵀ + b, with Wᵀ stored pre-transposed ([in, out]) as a PyTorch export stores it. */
  linear(x: string, w: LinearWeights, name: string): string {
    const t = new Float32Array(w.in * w.out);
    for (let o = 0; o < w.out; o++) for (let i = 0; i < w.in; i++) t[i * w.out + o] = w.weight[o * w.in + i];
    const weight = this.weight(`${name}.weight_t`, [w.in, w.out], t);
    const bias = this.weight(`${name}.bias`, [w.out], w.bias);
    return this.node('Add', [this.node('MatMul', [x, weight]), bias]);
  }

  layerNorm(x: string, w: NormWeights, eps: number, name: string): string {
    const scale = this.weight(`${name}.weight`, [w.weight.length], w.weight);
    const bias = this.weight(`${name}.bias`, [w.bias.length], w.bias);
    return this.node('LayerNormalization', [x, scale, bias], { axis: int(-1), epsilon: { type: 'float', value: eps } });
  }

  /** Exact GELU, x · ½ · (1 + erf(x / √2)), as BERT's "gelu" (onnxruntime fuses it into one Gelu). */
  gelu(x: string): string {
    const erf = this.node('Erf', [this.node('Div', [x, this.floats([Math.SQRT2], [])])]);
    return this.node('Mul', [this.node('Mul', [x, this.node('Add', [erf, this.floats([1], [])])]), this.floats([0.5], [])]);
  }

  /** [batch, sequence] 0/1 mask → [batch, 1, 1, sequence] additive mask: 0 where attended, float32 min where padding. */
  additiveMask(mask: string): string {
    const m = this.node('Cast', [mask], { to: int(FLOAT) });
    const inverted = this.node('Sub', [this.floats([1], []), m]);
    // What transformers adds: torch.finfo(torch.float32).min, so exp() of a masked score is exactly 0.
    const scaled = this.node('Mul', [inverted, this.floats([-3.4028234663852886e38], [])]);
    return this.node('Unsqueeze', [scaled, this.int64s([1, 2])]);
  }

  /** Multi-head self-attention over x [batch, sequence, hidden], before the output projection. */
  selfAttention(x: string, mask: string, q: LinearWeights, k: LinearWeights, v: LinearWeights, heads: number, name: string): string {
    const hidden = q.out;
    const headSize = hidden / heads;
    const split = this.int64s([0, 0, heads, headSize]);
    const project = (w: LinearWeights, part: string, perm: number[]): string =>
      this.node('Transpose', [this.node('Reshape', [this.linear(x, w, `${name}.${part}`), split])], { perm: ints(perm) });
    const qh = project(q, 'query', [0, 2, 1, 3]); // [b, heads, s, d]
    const kh = project(k, 'key', [0, 2, 3, 1]); // [b, heads, d, s]
    const vh = project(v, 'value', [0, 2, 1, 3]);
    const scores = this.node('Add', [this.node('Mul', [this.node('MatMul', [qh, kh]), this.floats([1 / Math.sqrt(headSize)], [])]), mask]);
    const probs = this.node('Softmax', [scores], { axis: int(-1) });
    const context = this.node('Transpose', [this.node('MatMul', [probs, vh])], { perm: ints([0, 2, 1, 3]) });
    return this.node('Reshape', [context, this.int64s([0, 0, hidden])]);
  }

  /**
   * logits = h · Eᵀ + b for h [batch, sequence, hidden] and E [vocab, hidden], through Gemm with
   * transB so a decoder tied to the word embeddings shares their initializer instead of a copy.
   */
  decoder(h: string, ids: string, embedding: string, hidden: number, vocab: number, bias: string, output: string): string {
    const flat = this.node('Reshape', [h, this.int64s([-1, hidden])]);
    const scores = this.node('Gemm', [flat, embedding, bias], { transB: int(1) });
    const shape = this.node('Concat', [this.node('Shape', [ids]), this.int64s([vocab])], { axis: int(0) });
    return this.node('Reshape', [scores, shape], undefined, output);
  }

  /** x[:, :S] of a [positions, hidden] table, S the sequence length of `ids`. */
  positions(table: string, ids: string): string {
    const length = this.node('Shape', [ids], { start: int(1), end: int(2) });
    return this.node('Slice', [table, this.int64s([0]), length, this.int64s([0])]);
  }
}
