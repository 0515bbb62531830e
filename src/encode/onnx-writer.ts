/**
 * A minimal writer for ONNX `ModelProto` files.
 *
 * It exists so tests and the tiny-model generator can produce real ONNX graphs without Python: only
 * the handful of proto features those graphs need are exposed (typed inputs/outputs with symbolic
 * dimensions, nodes with int/float attributes, float32/int64 initializers stored as raw data).
 */

import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Element types the writer can declare (ONNX `TensorProto.DataType` subset). */
export type OnnxElementType = 'float32' | 'int64' | 'int32';

const DATA_TYPE: Record<OnnxElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
};

/** A graph input or output: name, element type, and shape (numbers are fixed, strings symbolic). */
export interface OnnxValueInfo {
  name: string;
  type: OnnxElementType;
  shape: ReadonlyArray<number | string>;
}

export type OnnxAttribute =
  | { type: 'int'; value: number }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'float'; value: number };

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Record<string, OnnxAttribute>;
}

/** A constant tensor baked into the graph. */
export type OnnxInitializer =
  | { name: string; type: 'float32'; dims: readonly number[]; data: Float32Array }
  | { name: string; type: 'int64'; dims: readonly number[]; data: BigInt64Array };

export interface OnnxGraphDescription {
  name: string;
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  /** Default-domain opset version. Default 13 (ReduceSum/Unsqueeze take axes as inputs). */
  opset?: number;
  /** Free-form metadata written to `ModelProto.metadata_props`. */
  metadata?: Record<string, string>;
}

function valueInfo(value: OnnxValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: value.name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[value.type],
        shape: { dim: value.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, attr: OnnxAttribute): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (attr.type) {
    case 'int':
      return { name, type: T.INT, i: attr.value };
    case 'ints':
      return { name, type: T.INTS, ints: [...attr.value] };
    case 'float':
      return { name, type: T.FLOAT, f: attr.value };
  }
}

function initializer(init: OnnxInitializer): onnxProto.onnx.ITensorProto {
  const expected = init.dims.reduce((a, b) => a * b, 1);
  if (init.data.length !== expected) {
    throw new Error(`initializer ${init.name}: ${init.data.length} values for dims [${init.dims.join(', ')}]`);
  }
  // ONNX raw_data is little-endian; every platform onnxruntime-node ships for is little-endian.
  const raw = new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength);
  return { name: init.name, dataType: init.type === 'float32' ? DATA_TYPE.float32 : DATA_TYPE.int64, dims: [...init.dims], rawData: raw };
}

/** Serialises a graph description to the bytes of an `.onnx` file. */
export function encodeOnnxModel(graph: OnnxGraphDescription): Uint8Array {
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'spladex',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: graph.opset ?? 13 }],
    metadataProps: Object.entries(graph.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: graph.initializers.map(initializer),
      node: graph.nodes.map((node, i) => ({
        name: `${node.op}_${i}`,
        opType: node.op,
        input: [...node.inputs],
        output: [...node.outputs],
        attribute: Object.entries(node.attributes ?? {}).map(([name, attr]) => attribute(name, attr)),
      })),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
