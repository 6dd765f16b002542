// A typed builder for ONNX graphs: nodes with named, typed outputs, initializers and constants.

import {
  DataType,
  type AttributeProto,
  type NodeProto,
  type OnnxDim,
  type TensorProto,
  type ValueInfoProto,
} from '../onnx/types.js';

export interface TensorType {
  readonly elemType: DataType;
  readonly dims: readonly OnnxDim[];
}

export const attr = {
  int: (name: string, value: number): AttributeProto => ({ name, kind: 'int', value }),
  ints: (name: string, value: readonly number[]): AttributeProto => ({ name, kind: 'ints', value }),
  float: (name: string, value: number): AttributeProto => ({ name, kind: 'float', value }),
  string: (name: string, value: string): AttributeProto => ({ name, kind: 'string', value }),
  strings: (name: string, value: readonly string[]): AttributeProto => ({ name, kind: 'strings', value }),
};

export function dimValue(value: number): OnnxDim {
  return { kind: 'value', value };
}

export function dimParam(name: string): OnnxDim {
  return { kind: 'param', name };
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly valueInfo: ValueInfoProto[] = [];
  private readonly names = new Set<string>();

  constructor(readonly opset: number) {}

  /** Reserves a tensor name; a taken one gets a numeric suffix. */
  fresh(name: string): string {
    let candidate = name;
    for (let n = 2; this.names.has(candidate); n++) candidate = `${name}_${n}`;
    this.names.add(candidate);
    return candidate;
  }

  reserve(name: string): void {
    this.names.add(name);
  }

  /**
   * Adds one node. `outputs` are typed tensor names already reserved or to be reserved; the types
   * go into value_info unless the tensor is a graph output (`graphOutputs`).
   */
  node(
    nodeName: string,
    opType: string,
    inputs: readonly string[],
    outputs: readonly { name: string; type?: TensorType }[],
    attributes: readonly AttributeProto[] = [],
    docString?: string,
  ): void {
    for (const o of outputs) {
      if (o.name !== '') this.names.add(o.name);
      if (o.type !== undefined && o.name !== '') this.valueInfo.push({ name: o.name, type: { elemType: o.type.elemType, shape: o.type.dims } });
    }
    this.nodes.push({
      name: nodeName,
      opType,
      inputs,
      outputs: outputs.map((o) => o.name),
      attributes,
      ...(docString === undefined ? {} : { docString }),
    });
  }

  floatInitializer(name: string, dims: readonly number[], data: Float32Array, docString?: string): string {
    this.names.add(name);
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, floatData: data, ...(docString === undefined ? {} : { docString }) });
    return name;
  }

  int64Initializer(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const unique = this.fresh(name);
    this.initializers.push({ name: unique, dataType: DataType.INT64, dims, int64Data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    return unique;
  }

  floatScalar(name: string, value: number): string {
    const unique = this.fresh(name);
    this.initializers.push({ name: unique, dataType: DataType.FLOAT, dims: [], floatData: Float32Array.of(value) });
    return unique;
  }
}
