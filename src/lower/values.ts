// How IR values appear in a graph: their ONNX types, the time-major layout inside, and the spec places recorded in doc strings.

import type { Span } from '../diagnostics/diagnostic.js';
import type { Dim, ValueType } from '../ir/ir.js';
import { DataType, type OnnxDim } from '../onnx/types.js';
import { dimParam, dimValue, type TensorType } from './builder.js';
import { recordedName } from './model.js';

/** An IR value as a tensor in the graph; sequences are time-major inside ([time, batch, …]). */
export interface Lowered {
  readonly name: string;
  readonly type: ValueType;
  readonly timeMajor: boolean;
}

/** A span as a node's doc string records it: `tagger.seq:4:3`. */
export function recordedPlace(span: Span): string {
  return `${recordedName(span.source)}:${span.start.line}:${span.start.column}`;
}

export function onnxDim(d: Dim): OnnxDim {
  return d.kind === 'symbol' ? dimParam(d.name) : dimValue(d.size);
}

export function elemType(t: ValueType): DataType {
  return t.dtype === 'int64' ? DataType.INT64 : DataType.FLOAT;
}

/** The ONNX type of a value in the layout it has inside the graph. */
export function internalType(t: ValueType, timeMajor: boolean): TensorType {
  const dims = t.dims.map(onnxDim);
  if (timeMajor) [dims[0], dims[1]] = [dims[1]!, dims[0]!];
  return { elemType: elemType(t), dims };
}

/** The permutation that makes a time-major tensor of rank `rank` batch-major (and back). */
export function batchMajorPerm(rank: number): number[] {
  return [1, 0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
}
