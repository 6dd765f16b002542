// Smaller models: a graph-to-graph pass that stores a lowered model's weights as int8 or float16, leaving every layer's lowering untouched.
//
// The pass reads a finished ModelProto and returns a new one computing the same function within
// quantization error; it never looks at the IR, only at which node reads which initializer.
//
// - `int8` (dynamic int8 for ONNX Runtime CPU): an LSTM whose W and R are initializers becomes
//   `com.microsoft` `DynamicQuantizeLSTM` (int8 W [D, in, 4H] and R [D, hidden, 4H], one scale per
//   direction and column); a MatMul (or a Gemm with transB) on an initializer becomes
//   `com.microsoft` `DynamicQuantizeMatMul` (int8 B [in, out], one scale per column, the Gemm's bias
//   as its bias); an embedding's Gather reads an int8 table and a DequantizeLinear follows it. The
//   weights no such kernel takes (GRU and RNN cells, Conv1d, weights the webgpu forms transpose at
//   run time) are stored as in `int8-weights`.
// - `int8-weights` (weight-only int8, for onnxruntime-web's wasm and WebGPU providers): each
//   weight is an int8 initializer with one scale per output row or column, and a DequantizeLinear at
//   the top of the main graph gives back the float tensor under the weight's own name, so every
//   node, Loop bodies included, reads what it read before. On the generic target embedding tables
//   are gathered as int8 and dequantized after the Gather, as in `int8`, so a step reads only the
//   rows it needs; the WebGPU provider has no int8 Gather, so the webgpu target dequantizes a table
//   whole (one scale per row) and gathers float32.
// - `fp16`: every float initializer of 64 elements or more whose values float16 can hold is stored
//   as float16, with a Cast to float32 at the top of the main graph (ONNX Runtime folds it when the
//   session loads, so the compute stays float32).
//
// Quantization is symmetric (zero points 0, values -127 to 127). Biases, scalars, shape constants
// and everything that is not a float initializer stay as they are. The model records what was done
// in its `seqc.precision` metadata entry.

import { assertNever } from '../contracts/assert.js';
import type { ModelPrecision } from '../contracts/manifest.js';
import type { CompileTarget } from './lower.js';
import {
  DataType,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from '../onnx/types.js';

/** The metadata key that records a model's weight precision; absent for float32. */
export const precisionMetadataKey = 'seqc.precision';

/** The domain of ONNX Runtime's contrib operators (`DynamicQuantizeLSTM`, `DynamicQuantizeMatMul`). */
export const microsoftDomain = 'com.microsoft';

/** Float initializers smaller than this keep float32 under `fp16`: scalars, shape constants, small biases. */
export const fp16MinElements = 64;

/** The model with its weights stored as `precision` says; the model itself when there is nothing to change. */
export function convertPrecision(model: ModelProto, precision: ModelPrecision, target: CompileTarget): ModelProto {
  switch (precision) {
    case 'int8':
      return withPrecision(quantizeModel(model, 'dynamic', target), precision);
    case 'int8-weights':
      return withPrecision(quantizeModel(model, 'weights-only', target), precision);
    case 'fp16':
      return withPrecision(float16Model(model), precision);
    default:
      return assertNever(precision);
  }
}

/** The precision a model records in its metadata, or undefined for float32. */
export function recordedPrecision(model: ModelProto): string | undefined {
  return model.metadataProps.find((p) => p.key === precisionMetadataKey)?.value;
}

// ---------------------------------------------------------------------------------------------
// int8

type QuantizeMode = 'dynamic' | 'weights-only';

/** How a weight is read, which decides the axis its scales run along (one scale per output unit). */
type WeightUse =
  | { readonly kind: 'rows' } // a Gemm's transposed B [out, in], a Conv's [out, in, k]: axis 0
  | { readonly kind: 'columns' } // a MatMul's B [in, out]: the last axis
  | { readonly kind: 'gates' } // a recurrent W or R [D, gates·H, in]: axis 1
  | { readonly kind: 'table' }; // an embedding table [vocab, dim], read by a Gather

/** What the pass collects while it rewrites the nodes of every graph of one model. */
interface QuantizeState {
  /** The main graph's float initializers by name: the weights the pass may replace. */
  readonly floats: ReadonlyMap<string, TensorProto>;
  /** Initializers made, by name (so that a weight read by several nodes is quantized once). */
  readonly made: Map<string, TensorProto>;
  /** Nodes that go first in the main graph: the DequantizeLinear (or Cast) of each weight read as float. */
  readonly prologue: NodeProto[];
  usesMicrosoftDomain: boolean;
}

function quantizeModel(model: ModelProto, mode: QuantizeMode, target: CompileTarget): ModelProto {
  const floats = new Map<string, TensorProto>();
  for (const t of model.graph.initializers) if (t.dataType === DataType.FLOAT && hasFloatData(t)) floats.set(t.name, t);
  const state: QuantizeState = { floats, made: new Map(), prologue: [], usesMicrosoftDomain: false };
  const uses = weightUses(model.graph, floats);
  // First the nodes that read int8 directly; then every weight still read as float is dequantized once.
  let graph = mode === 'dynamic' ? mapNodes(model.graph, (n) => dynamicNode(n, state)) : model.graph;
  // The WebGPU provider has no int8 Gather: there a table is dequantized whole, like any other weight.
  if (target === 'generic') graph = mapNodes(graph, (n) => gatherNode(n, state));
  const stillRead = namesRead(graph);
  for (const [name, use] of uses) {
    if (!stillRead.has(name) || use.kind === 'table') continue;
    dequantizedWeight(name, use, state);
  }
  // A table also read by something other than a Gather (a tied generator, say) is dequantized whole.
  for (const [name, use] of uses) {
    if (use.kind === 'table' && stillRead.has(name) && !state.prologue.some((n) => n.outputs[0] === name))
      dequantizedWeight(name, { kind: 'rows' }, state);
  }
  return finishGraph(model, graph, state);
}

/** The weights of `graph` (subgraphs included) and how the first node that reads each uses it. */
function weightUses(graph: GraphProto, floats: ReadonlyMap<string, TensorProto>): Map<string, WeightUse> {
  const uses = new Map<string, WeightUse>();
  const note = (name: string | undefined, use: WeightUse, rank: number): void => {
    if (name === undefined || uses.has(name)) return;
    const t = floats.get(name);
    if (t !== undefined && t.dims.length === rank) uses.set(name, use);
  };
  forEachNode(graph, (node) => {
    if (node.domain !== undefined && node.domain !== '') return;
    switch (node.opType) {
      case 'LSTM':
      case 'GRU':
      case 'RNN':
        note(node.inputs[1], { kind: 'gates' }, 3);
        note(node.inputs[2], { kind: 'gates' }, 3);
        return;
      case 'MatMul':
        note(node.inputs[1], { kind: 'columns' }, 2);
        return;
      case 'Gemm':
        note(node.inputs[1], intAttribute(node, 'transB') === 1 ? { kind: 'rows' } : { kind: 'columns' }, 2);
        return;
      case 'Gather':
        if ((intAttribute(node, 'axis') ?? 0) === 0) note(node.inputs[0], { kind: 'table' }, 2);
        return;
      case 'Conv':
        note(node.inputs[1], { kind: 'rows' }, 3);
        return;
      case 'Transpose':
        note(node.inputs[0], { kind: 'rows' }, 2);
        return;
      default:
        return;
    }
  });
  return uses;
}

/** `int8`: the node on ONNX Runtime's dynamic int8 kernel when it has one and reads its weights from initializers. */
function dynamicNode(node: NodeProto, state: QuantizeState): NodeProto[] {
  if (node.domain !== undefined && node.domain !== '') return [node];
  switch (node.opType) {
    case 'LSTM':
      return dynamicLstm(node, state);
    case 'MatMul':
      return dynamicMatMul(node, state);
    case 'Gemm':
      return dynamicGemm(node, state);
    default:
      return [node];
  }
}

/** LSTM → DynamicQuantizeLSTM: the same inputs, W and R transposed to [D, in, 4H] in int8, then their scales. */
function dynamicLstm(node: NodeProto, state: QuantizeState): NodeProto[] {
  const w = state.floats.get(node.inputs[1] ?? '');
  const r = state.floats.get(node.inputs[2] ?? '');
  const layout = intAttribute(node, 'layout') ?? 0;
  if (w === undefined || r === undefined || w.dims.length !== 3 || r.dims.length !== 3 || layout !== 0) return [node];
  const [wq, wScale, wZero] = lstmWeight(w, state);
  const [rq, rScale, rZero] = lstmWeight(r, state);
  // X, W, R, B, sequence_lens, initial_h, initial_c, P, then the scales and zero points of W and R.
  const inputs = [node.inputs[0]!, wq, rq, ...node.inputs.slice(3)];
  while (inputs.length < 8) inputs.push('');
  state.usesMicrosoftDomain = true;
  return [
    {
      ...node,
      opType: 'DynamicQuantizeLSTM',
      domain: microsoftDomain,
      inputs: [...inputs.slice(0, 8), wScale, wZero, rScale, rZero],
      attributes: node.attributes.filter((a) => a.name !== 'layout'),
    },
  ];
}

/** A recurrent weight [D, 4H, in] as DynamicQuantizeLSTM reads it: int8 [D, in, 4H], scales and zero points [D, 4H]. */
function lstmWeight(t: TensorProto, state: QuantizeState): [string, string, string] {
  const [d, rows, cols] = t.dims as [number, number, number];
  const names = quantizedNames(t.name, 'T');
  if (!state.made.has(names.data)) {
    const values = floatValues(t);
    const q = new Int8Array(d * rows * cols);
    const scales = new Float32Array(d * rows);
    for (let k = 0; k < d; k++) {
      for (let j = 0; j < rows; j++) {
        const base = (k * rows + j) * cols;
        const scale = scaleOf(values, base, 1, cols);
        scales[k * rows + j] = scale;
        // Transposed: element (k, j, i) goes to (k, i, j).
        for (let i = 0; i < cols; i++) q[(k * cols + i) * rows + j] = quantizeValue(values[base + i]!, scale);
      }
    }
    addQuantized(state, names, [d, cols, rows], q, [d, rows], scales);
  }
  return [names.data, names.scale, names.zeroPoint];
}

/** MatMul(A, W) with W [in, out] an initializer → DynamicQuantizeMatMul(A, int8 W, per-column scales). */
function dynamicMatMul(node: NodeProto, state: QuantizeState): NodeProto[] {
  const w = state.floats.get(node.inputs[1] ?? '');
  if (w === undefined || w.dims.length !== 2) return [node];
  const [q, scale, zero] = columnQuantized(w, 'columns', state);
  state.usesMicrosoftDomain = true;
  return [
    { ...node, opType: 'DynamicQuantizeMatMul', domain: microsoftDomain, inputs: [node.inputs[0]!, q, scale, zero] },
  ];
}

/** Gemm(A, W, bias) as seqc writes it (no transA, alpha = beta = 1, a 1-D bias) → DynamicQuantizeMatMul with the bias. */
function dynamicGemm(node: NodeProto, state: QuantizeState): NodeProto[] {
  const w = state.floats.get(node.inputs[1] ?? '');
  const bias = node.inputs[2];
  const plain =
    (intAttribute(node, 'transA') ?? 0) === 0 &&
    (floatAttribute(node, 'alpha') ?? 1) === 1 &&
    (floatAttribute(node, 'beta') ?? 1) === 1;
  const biasOk = bias === undefined || bias === '' || state.floats.get(bias)?.dims.length === 1;
  if (w === undefined || w.dims.length !== 2 || !plain || !biasOk) return [node];
  const layout = intAttribute(node, 'transB') === 1 ? 'rows' : 'columns';
  const [q, scale, zero] = columnQuantized(w, layout, state);
  state.usesMicrosoftDomain = true;
  const inputs = [node.inputs[0]!, q, scale, zero, ...(bias === undefined || bias === '' ? [] : [bias])];
  return [
    {
      ...node,
      opType: 'DynamicQuantizeMatMul',
      domain: microsoftDomain,
      inputs,
      attributes: [],
    },
  ];
}

/**
 * A matrix weight as DynamicQuantizeMatMul's B: int8 [in, out] with one scale per column. `rows`
 * means the float weight is stored [out, in] (PyTorch's layout, read by a Gemm with transB).
 */
function columnQuantized(t: TensorProto, layout: 'rows' | 'columns', state: QuantizeState): [string, string, string] {
  const names = quantizedNames(t.name, layout === 'rows' ? 'T' : 'columns');
  if (!state.made.has(names.data)) {
    const values = floatValues(t);
    const [a, b] = t.dims as [number, number];
    const [inputs, outputs] = layout === 'rows' ? [b, a] : [a, b];
    const q = new Int8Array(inputs * outputs);
    const scales = new Float32Array(outputs);
    for (let j = 0; j < outputs; j++) {
      // Column j of B is row j of a [out, in] weight, or column j of an [in, out] one.
      const [start, stride] = layout === 'rows' ? [j * inputs, 1] : [j, outputs];
      const scale = scaleOf(values, start, stride, inputs);
      scales[j] = scale;
      for (let i = 0; i < inputs; i++) q[i * outputs + j] = quantizeValue(values[start + i * stride]!, scale);
    }
    addQuantized(state, names, [inputs, outputs], q, [outputs], scales);
  }
  return [names.data, names.scale, names.zeroPoint];
}

/** Gather(table, ids) on a float table → Gather(int8 table, ids) then DequantizeLinear with the table's one scale. */
function gatherNode(node: NodeProto, state: QuantizeState): NodeProto[] {
  if ((node.domain ?? '') !== '' || node.opType !== 'Gather' || (intAttribute(node, 'axis') ?? 0) !== 0) return [node];
  const table = state.floats.get(node.inputs[0] ?? '');
  if (table === undefined || table.dims.length !== 2) return [node];
  const names = quantizedNames(table.name, 'table');
  if (!state.made.has(names.data)) {
    const values = floatValues(table);
    const scale = scaleOf(values, 0, 1, values.length);
    const q = new Int8Array(values.length);
    for (let i = 0; i < values.length; i++) q[i] = quantizeValue(values[i]!, scale);
    addQuantized(state, names, table.dims, q, [], Float32Array.of(scale));
  }
  const gathered = `${node.outputs[0]}/int8`;
  return [
    { ...node, inputs: [names.data, ...node.inputs.slice(1)], outputs: [gathered] },
    {
      name: `${node.name}/DequantizeLinear`,
      opType: 'DequantizeLinear',
      inputs: [gathered, names.scale, names.zeroPoint],
      outputs: [node.outputs[0]!],
      attributes: [],
      ...(node.docString === undefined ? {} : { docString: node.docString }),
    },
  ];
}

/** Weight-only: an int8 copy of the weight, one scale per output unit, and a DequantizeLinear that gives the float weight its name back. */
function dequantizedWeight(name: string, use: Exclude<WeightUse, { kind: 'table' }>, state: QuantizeState): void {
  const t = state.floats.get(name)!;
  const axis = use.kind === 'rows' ? 0 : use.kind === 'gates' ? 1 : t.dims.length - 1;
  const names = quantizedNames(name, `axis${axis}`);
  const values = floatValues(t);
  const size = t.dims[axis]!;
  const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = values.length / (size * inner);
  const scales = new Float32Array(size);
  for (let j = 0; j < size; j++) {
    let max = 0;
    for (let o = 0; o < outer; o++) {
      const base = (o * size + j) * inner;
      for (let i = 0; i < inner; i++) max = Math.max(max, Math.abs(values[base + i]!));
    }
    scales[j] = max > 0 ? max / 127 : 1;
  }
  const q = new Int8Array(values.length);
  for (let k = 0; k < values.length; k++) q[k] = quantizeValue(values[k]!, scales[Math.floor(k / inner) % size]!);
  addQuantized(state, names, t.dims, q, [size], scales);
  state.prologue.push({
    name: `${name}/DequantizeLinear`,
    opType: 'DequantizeLinear',
    inputs: [names.data, names.scale, names.zeroPoint],
    outputs: [name],
    attributes: [{ name: 'axis', kind: 'int', value: axis }],
  });
}

interface QuantizedNames {
  readonly data: string;
  readonly scale: string;
  readonly zeroPoint: string;
}

/** `lstm.weight_ih_l0` → `lstm.weight_ih_l0/int8_T`, `…/scale_T`, `…/zero_point_T`. */
function quantizedNames(name: string, form: string): QuantizedNames {
  return { data: `${name}/int8_${form}`, scale: `${name}/scale_${form}`, zeroPoint: `${name}/zero_point_${form}` };
}

function addQuantized(
  state: QuantizeState,
  names: QuantizedNames,
  dims: readonly number[],
  q: Int8Array,
  scaleDims: readonly number[],
  scales: Float32Array,
): void {
  state.made.set(names.data, {
    name: names.data,
    dataType: DataType.INT8,
    dims: [...dims],
    rawData: new Uint8Array(q.buffer, q.byteOffset, q.byteLength),
  });
  state.made.set(names.scale, { name: names.scale, dataType: DataType.FLOAT, dims: [...scaleDims], floatData: scales });
  state.made.set(names.zeroPoint, {
    name: names.zeroPoint,
    dataType: DataType.INT8,
    dims: [...scaleDims],
    rawData: new Uint8Array(scales.length),
  });
}

/** The symmetric scale of `count` values from `start`, `stride` apart: the largest magnitude over 127 (1 for all zeros). */
function scaleOf(values: Float32Array, start: number, stride: number, count: number): number {
  let max = 0;
  for (let i = 0; i < count; i++) max = Math.max(max, Math.abs(values[start + i * stride]!));
  return max > 0 ? Math.fround(max / 127) : 1;
}

/** round(value / scale), ties to even as DynamicQuantizeLinear and QuantizeLinear do, within -127..127. */
function quantizeValue(value: number, scale: number): number {
  const x = value / scale;
  let r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0) r -= 1;
  return Math.max(-127, Math.min(127, r));
}

/** The quantized model: the rewritten graph, the prologue first, the new initializers, the float weights nobody reads dropped. */
function finishGraph(model: ModelProto, graph: GraphProto, state: QuantizeState): ModelProto {
  const nodes = [...state.prologue, ...graph.nodes];
  const read = namesRead({ ...graph, nodes });
  const produced = new Set(state.prologue.flatMap((n) => n.outputs));
  const kept = graph.initializers.filter(
    (t) => !produced.has(t.name) && (read.has(t.name) || !state.floats.has(t.name)),
  );
  const made = [...state.made.values()].filter((t) => read.has(t.name));
  return {
    ...model,
    opsetImports: state.usesMicrosoftDomain
      ? [...model.opsetImports.filter((o) => o.domain !== microsoftDomain), { domain: microsoftDomain, version: 1 }]
      : model.opsetImports,
    graph: { ...graph, nodes, initializers: [...kept, ...made] },
  };
}

// ---------------------------------------------------------------------------------------------
// float16

function float16Model(model: ModelProto): ModelProto {
  const prologue: NodeProto[] = [];
  const initializers = model.graph.initializers.map((t): TensorProto => {
    if (t.dataType !== DataType.FLOAT || !hasFloatData(t)) return t;
    const values = floatValues(t);
    if (values.length < fp16MinElements || !fitsFloat16(values)) return t;
    const name = `${t.name}/fp16`;
    prologue.push({
      name: `${t.name}/Cast`,
      opType: 'Cast',
      inputs: [name],
      outputs: [t.name],
      attributes: [{ name: 'to', kind: 'int', value: DataType.FLOAT }],
    });
    return { name, dataType: DataType.FLOAT16, dims: t.dims, rawData: float16Bytes(values) };
  });
  if (prologue.length === 0) return model;
  return { ...model, graph: { ...model.graph, nodes: [...prologue, ...model.graph.nodes], initializers } };
}

/** Whether float16 holds every value within its range (infinities and NaN are kept as such). */
function fitsFloat16(values: Float32Array): boolean {
  for (const v of values) if (Number.isFinite(v) && Math.abs(v) > 65504) return false;
  return true;
}

/** IEEE half-precision bytes (little-endian) of float32 values, rounded to nearest, ties to even. */
export function float16Bytes(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    out[i] = halfBits(u32[0]!);
  }
  return new Uint8Array(out.buffer);
}

function halfBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa, with its implicit 1, into place and round.
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (rest > midpoint || (rest === midpoint && (half & 1) === 1) ? half + 1 : half);
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // Rounding may carry into the exponent, up to infinity, which is what IEEE rounding gives.
  return sign | (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? half + 1 : half);
}

// ---------------------------------------------------------------------------------------------
// Walking graphs.

function withPrecision(model: ModelProto, precision: ModelPrecision): ModelProto {
  return {
    ...model,
    metadataProps: [
      ...model.metadataProps.filter((p) => p.key !== precisionMetadataKey),
      { key: precisionMetadataKey, value: precision },
    ],
  };
}

/** The graph with each node (and each node of its subgraphs) replaced by what `f` makes of it. */
function mapNodes(graph: GraphProto, f: (node: NodeProto) => NodeProto[]): GraphProto {
  const nodes = graph.nodes.flatMap((node) => f(withSubgraphs(node, (g) => mapNodes(g, f))));
  return { ...graph, nodes };
}

function withSubgraphs(node: NodeProto, f: (graph: GraphProto) => GraphProto): NodeProto {
  if (!node.attributes.some((a) => a.kind === 'graph')) return node;
  const attributes = node.attributes.map((a): AttributeProto =>
    a.kind === 'graph' ? { name: a.name, kind: 'graph', value: f(a.value) } : a,
  );
  return { ...node, attributes };
}

function forEachNode(graph: GraphProto, f: (node: NodeProto) => void): void {
  for (const node of graph.nodes) {
    f(node);
    for (const a of node.attributes) if (a.kind === 'graph') forEachNode(a.value, f);
  }
}

/** Every tensor name a node of the graph or of its subgraphs reads, and the graph's outputs. */
function namesRead(graph: GraphProto): Set<string> {
  const read = new Set<string>();
  const visit = (g: GraphProto): void => {
    for (const o of g.outputs) read.add(o.name);
    forEachNode(g, (node) => {
      for (const i of node.inputs) if (i !== '') read.add(i);
    });
  };
  visit(graph);
  forEachNode(graph, (node) => {
    for (const a of node.attributes) if (a.kind === 'graph') for (const o of a.value.outputs) read.add(o.name);
  });
  return read;
}

function intAttribute(node: NodeProto, name: string): number | undefined {
  const a = node.attributes.find((x) => x.name === name);
  return a?.kind === 'int' ? a.value : undefined;
}

function floatAttribute(node: NodeProto, name: string): number | undefined {
  const a = node.attributes.find((x) => x.name === name);
  return a?.kind === 'float' ? a.value : undefined;
}

function hasFloatData(t: TensorProto): boolean {
  return t.floatData !== undefined || t.rawData !== undefined;
}

/** A float initializer's values, from `floatData` or little-endian `rawData`. */
function floatValues(t: TensorProto): Float32Array {
  if (t.floatData !== undefined) return t.floatData;
  const raw = t.rawData!;
  const copy = raw.slice();
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}
