// A typed builder for ONNX graphs: nodes with named, typed outputs, initializers and constants.

import {
  DataType,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type OnnxDim,
  type TensorProto,
  type ValueInfoProto,
} from '../onnx/types.js';

export interface TensorType {
  readonly elemType: DataType;
  readonly dims: readonly OnnxDim[];
}

/** Tensor types by element type, and a graph's value info of a typed name. */
export const float = (dims: readonly OnnxDim[]): TensorType => ({ elemType: DataType.FLOAT, dims });
export const int64 = (dims: readonly OnnxDim[]): TensorType => ({ elemType: DataType.INT64, dims });
export const bool = (dims: readonly OnnxDim[]): TensorType => ({ elemType: DataType.BOOL, dims });
export const info = (name: string, type: TensorType): ValueInfoProto => ({
  name,
  type: { elemType: type.elemType, shape: type.dims },
});

export const attr = {
  int: (name: string, value: number): AttributeProto => ({ name, kind: 'int', value }),
  ints: (name: string, value: readonly number[]): AttributeProto => ({ name, kind: 'ints', value }),
  float: (name: string, value: number): AttributeProto => ({ name, kind: 'float', value }),
  floats: (name: string, value: readonly number[]): AttributeProto => ({ name, kind: 'floats', value }),
  string: (name: string, value: string): AttributeProto => ({ name, kind: 'string', value }),
  strings: (name: string, value: readonly string[]): AttributeProto => ({ name, kind: 'strings', value }),
  graph: (name: string, value: GraphProto): AttributeProto => ({ name, kind: 'graph', value }),
};

export function dimValue(value: number): OnnxDim {
  return { kind: 'value', value };
}

export function dimParam(name: string): OnnxDim {
  return { kind: 'param', name };
}

/**
 * Builds one graph. A builder made with a parent builds a subgraph (a Loop body): it shares the
 * parent's tensor names, so names stay unique across scopes, and its initializers go to the root
 * graph, whose values a subgraph may read.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly valueInfo: ValueInfoProto[] = [];
  private readonly names: Set<string>;
  /** For each name asked of `fresh`, the next suffix to try, so that reserving n names costs O(n). */
  private readonly nextSuffix: Map<string, number>;
  /** The root graph's initializer names, for a lookup that does not scan the list. */
  private readonly initializerNames: Set<string>;
  private readonly root: GraphBuilder;

  constructor(
    readonly opset: number,
    parent?: GraphBuilder,
  ) {
    this.root = parent?.root ?? this;
    this.names = parent?.names ?? new Set<string>();
    this.nextSuffix = parent?.nextSuffix ?? new Map<string, number>();
    this.initializerNames = parent?.initializerNames ?? new Set<string>();
  }

  /** A builder for a subgraph of this graph. */
  subgraph(): GraphBuilder {
    return new GraphBuilder(this.opset, this);
  }

  /** Reserves a tensor name; a taken one gets a numeric suffix. */
  fresh(name: string): string {
    // Suffixes below `nextSuffix` were all taken when last asked, and names are never released,
    // so starting there gives the same name as counting up from 2.
    let n = this.nextSuffix.get(name) ?? 2;
    let candidate = name;
    if (this.names.has(candidate)) {
      do candidate = `${name}_${n++}`;
      while (this.names.has(candidate));
      this.nextSuffix.set(name, n);
    }
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
      if (o.type !== undefined && o.name !== '')
        this.valueInfo.push({ name: o.name, type: { elemType: o.type.elemType, shape: o.type.dims } });
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

  /** A named float initializer; asking again for the same name (a Loop body reusing weights) returns it. */
  floatInitializer(name: string, dims: readonly number[], data: Float32Array, docString?: string): string {
    if (this.initializerNames.has(name)) return name;
    this.names.add(name);
    this.addInitializer({
      name,
      dataType: DataType.FLOAT,
      dims,
      floatData: data,
      ...(docString === undefined ? {} : { docString }),
    });
    return name;
  }

  int64Initializer(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const unique = this.fresh(name);
    this.addInitializer({
      name: unique,
      dataType: DataType.INT64,
      dims,
      int64Data: BigInt64Array.from(values.map((v) => BigInt(v))),
    });
    return unique;
  }

  floatScalar(name: string, value: number): string {
    const unique = this.fresh(name);
    this.addInitializer({ name: unique, dataType: DataType.FLOAT, dims: [], floatData: Float32Array.of(value) });
    return unique;
  }

  boolScalar(name: string, value: boolean): string {
    const unique = this.fresh(name);
    this.addInitializer({ name: unique, dataType: DataType.BOOL, dims: [], rawData: Uint8Array.of(value ? 1 : 0) });
    return unique;
  }

  private addInitializer(tensor: TensorProto): void {
    this.initializerNames.add(tensor.name);
    this.root.initializers.push(tensor);
  }
}
