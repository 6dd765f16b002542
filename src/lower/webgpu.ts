// The webgpu target: what onnxruntime-web's WebGPU execution provider cannot run, lowered into what it can.
//
// Measured on onnxruntime-web 1.30 (`import 'onnxruntime-web/webgpu'`, whose 'webgpu' provider is the
// native WebGpuExecutionProvider) with one-node models in Chromium (scripts/webgpu-probe.ts);
// test/browser/webgpu.test.ts checks every spec family's graphs against ONNX Runtime's placement log.
// The default `onnxruntime-web` build's 'webgpu' is the older JS provider, which has no LSTM or GRU.
// - int64 tensors are read only as Gather and GatherElements indices. Every other kernel that reads
//   int64 (Cast from it, Transpose, Squeeze, Concat, Where, Add, Less, Equal, CumSum, ReduceSum, …)
//   is missing, so ONNX Runtime runs it on the CPU. Writing int64 works: Cast to int64, ArgMax.
// - Shape's output lives in CPU memory, and ONNX Runtime moves the nodes that compute on it to the CPU
//   ("shape computations"). So sequence masks are counted from the data instead: a slice of the
//   sequence along its time axis, cast to int32 and multiplied by zero, then cumulatively summed.
// - LSTM and GRU have kernels, with sigmoid, tanh and relu activations; RNN, Loop, Scan and
//   LogSoftmax have none. HardSigmoid recurrent activations make the session fail rather than fall back.
// - Also on the CPU there: Or, Xor, Slice of int32 or bool, Squeeze, Concat, Transpose and Identity of bool.
// The lowering asks this module for each of these pieces when `options.target` is 'webgpu'; the generic
// target never reaches it, so its graphs stay byte-identical.

import { error, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { ModelIR, RecurrentActivation, RecurrentOp } from '../ir/ir.js';
import { recurrentParameterName, type RecurrentWeight } from '../ir/parameters.js';
import { DataType, type OnnxDim } from '../onnx/types.js';
import { bool, dimValue, float, type GraphBuilder, type TensorType } from './builder.js';
import * as onnx from './ops.js';
import { concatFloat } from './pack.js';

const int32 = (dims: readonly OnnxDim[]): TensorType => ({ elemType: DataType.INT32, dims });

/**
 * What the webgpu target refuses: recurrent layers with hard sigmoid gates (the WebGPU LSTM and GRU
 * kernels implement sigmoid, tanh and relu only, and a session that meets HardSigmoid fails instead of
 * falling back), projected LSTMs and CRFs (Loops), Conv1d layers that derive new lengths (int64
 * arithmetic), and int64 outputs, which no WebGPU kernel can compute.
 */
/** The activations the WebGPU LSTM and GRU kernels implement. */
const webgpuActivations: ReadonlySet<RecurrentActivation> = new Set(['sigmoid', 'tanh', 'relu']);

export function webgpuDiagnostics(ir: ModelIR): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const recurrent = [...ir.ops, ...(ir.decoder === undefined ? [] : [ir.decoder.recurrent])].filter(
    (o): o is RecurrentOp => o.kind === 'recurrent',
  );
  for (const op of recurrent) {
    const unsupported = [op.nonlinearity, op.activation].find((a) => !webgpuActivations.has(a));
    if (unsupported === undefined) continue;
    diagnostics.push(
      error(
        'SEQ050',
        op.span,
        `${op.label} uses the activation ${unsupported}, which onnxruntime-web's WebGPU recurrent kernels do not implement`,
        'compile for the generic target and run it on the wasm provider (the WebGPU kernels implement sigmoid, tanh and relu)',
        { names: [op.label], found: unsupported, expected: [...webgpuActivations] },
      ),
    );
  }
  for (const op of recurrent) {
    if (webgpuActivations.has(op.recurrentActivation)) continue;
    diagnostics.push(
      error(
        'SEQ050',
        op.span,
        `${op.label} uses recurrent_activation=${op.recurrentActivation}, which onnxruntime-web's WebGPU ${op.cell === 'lstm' ? 'LSTM' : 'GRU'} kernel does not implement`,
        'compile for the generic target and run it on the wasm provider, or use recurrent_activation=sigmoid (the WebGPU kernels implement sigmoid, tanh and relu)',
      ),
    );
  }
  for (const op of recurrent) {
    if (op.proj === undefined) continue;
    diagnostics.push(
      error(
        'SEQ050',
        op.span,
        `${op.label} is an LSTM with a projection (proj=${op.proj}), which seqc lowers as an ONNX Loop over time, and onnxruntime-web's WebGPU provider has no Loop kernel`,
        'compile for the generic target and run it on the wasm provider, or drop `proj`',
        { names: [op.label] },
      ),
    );
  }
  for (const op of ir.ops) {
    if (op.kind !== 'crf') continue;
    diagnostics.push(
      error(
        'SEQ050',
        op.span,
        `${op.label} decodes with ONNX Loops over int64 back-pointers, which onnxruntime-web's WebGPU provider does not run`,
        'compile for the generic target and run it on the wasm provider, or output the emissions before the CRF and decode on the CPU',
        { names: [op.label] },
      ),
    );
  }
  for (const op of ir.ops) {
    const masked =
      op.kind === 'masking' ||
      (op.kind === 'embedding' && op.maskZero === true) ||
      (op.kind === 'recurrent' && (op.mask !== undefined || op.goBackwards === true)) ||
      (op.kind === 'pool' && op.mask !== undefined);
    if (masked) {
      diagnostics.push(
        error(
          'SEQ050',
          op.span,
          `${op.label} uses Keras masking or go_backwards, which seqc lowers with TopK, CumSum and int64 index arithmetic (or a reversing Slice) that onnxruntime-web's WebGPU provider runs on the CPU or not at all`,
          'compile for the generic target and run it on the wasm provider, or mask with `lengths(…)` instead',
          { names: [op.label] },
        ),
      );
    }
    if (op.kind === 'conv1d' && op.outputLengths !== undefined) {
      diagnostics.push(
        error(
          'SEQ050',
          op.span,
          `${op.label} changes the number of steps of a sequence with lengths, so seqc computes the new lengths in int64 arithmetic, which onnxruntime-web's WebGPU provider does not run`,
          `compile for the generic target and run it on the wasm provider, or use a length-keeping convolution (stride=1, padding=${keepingPadding(op.kernel, op.dilation)})`,
          { names: [op.label, op.lengths!] },
        ),
      );
    }
  }
  for (const output of ir.outputs) {
    if (output.type.dtype !== 'int64') continue;
    diagnostics.push(
      error(
        'SEQ050',
        output.span,
        `the output \`${output.name}\` holds int64 values, which onnxruntime-web's WebGPU provider cannot compute: it reads int64 only as Gather indices`,
        'drop this output, or compile for the generic target',
      ),
    );
  }
  return diagnostics;
}

/** The padding that keeps the number of steps: dilation·(kernel−1)/2, or a description where that is odd. */
function keepingPadding(kernel: number, dilation: number): string {
  const span = dilation * (kernel - 1);
  return span % 2 === 0 ? String(span / 2) : 'dilation·(kernel−1)/2, which needs an even dilation·(kernel−1)';
}

/**
 * Lengths and masks computed on the GPU from a sequence's data, without Shape and without int64
 * arithmetic. Everything masked by one `lengths` input shares its time axis, so each lengths input
 * gets one step counter, from the first sequence that asks.
 */
export class GpuSequences {
  private readonly counters = new Map<string, { steps: string; time: OnnxDim }>();
  private readonly floats = new Map<string, string>();
  private readonly ints = new Map<string, string>();
  private readonly masks = new Map<string, string>();

  private constructor(private readonly b: GraphBuilder) {}

  private static readonly perGraph = new WeakMap<GraphBuilder, GpuSequences>();

  /** The one instance for a graph, so that each lengths input is counted once and node names stay unique. */
  static of(b: GraphBuilder): GpuSequences {
    let known = GpuSequences.perGraph.get(b);
    if (known === undefined) {
      known = new GpuSequences(b);
      GpuSequences.perGraph.set(b, known);
    }
    return known;
  }

  /**
   * Float [time] holding 1, 2, …, time: `reference` (any float tensor of rank `rank`) sliced to its
   * first element on every axis but `axis`, cast to int32 and back (so even NaN or ∞ become finite),
   * times zero, plus one, summed cumulatively.
   */
  steps(lengths: string, reference: string, rank: number, axis: number, time: OnnxDim): string {
    const known = this.counters.get(lengths);
    if (known !== undefined) return known.steps;
    const path = `${lengths}/steps`;
    const b = this.b;
    const starts = b.int64Initializer(`${path}/starts`, new Array<number>(rank).fill(0));
    const ends = b.int64Initializer(
      `${path}/ends`,
      Array.from({ length: rank }, (_, i) => (i === axis ? 2147483647 : 1)),
    );
    const sliced = b.fresh(`${path}/slice`);
    onnx.slice(b, `${path}/Slice`, [reference, starts, ends], {
      name: sliced,
      type: float(Array.from({ length: rank }, (_, i) => (i === axis ? time : dimValue(1)))),
    });
    const flat = b.fresh(`${path}/flat`);
    onnx.reshape(b, `${path}/Reshape`, [sliced, b.int64Initializer(`${path}/flat_shape`, [-1])], {
      name: flat,
      type: float([time]),
    });
    const whole = b.fresh(`${path}/int32`);
    onnx.cast(b, `${path}/ToInt32`, [flat], { name: whole, type: int32([time]) }, { to: DataType.INT32 });
    const finite = b.fresh(`${path}/finite`);
    onnx.cast(b, `${path}/ToFloat`, [whole], { name: finite, type: float([time]) }, { to: DataType.FLOAT });
    const zeros = b.fresh(`${path}/zeros`);
    onnx.mul(b, `${path}/Zero`, [finite, b.floatScalar(`${path}/zero`, 0)], { name: zeros, type: float([time]) });
    const ones = b.fresh(`${path}/ones`);
    onnx.add(b, `${path}/One`, [zeros, b.floatScalar(`${path}/one`, 1)], { name: ones, type: float([time]) });
    const steps = b.fresh(`${path}/counts`);
    onnx.cumSum(b, `${path}/CumSum`, [ones, b.int64Initializer(`${path}/axis`, [0], [])], {
      name: steps,
      type: float([time]),
    });
    this.counters.set(lengths, { steps, time });
    return steps;
  }

  /** The lengths as float [batch]: the step counter with a zero in front, gathered at the int64 lengths. */
  lengthsFloat(lengths: string, reference: string, rank: number, axis: number, time: OnnxDim, batch: OnnxDim): string {
    const known = this.floats.get(lengths);
    if (known !== undefined) return known;
    const steps = this.steps(lengths, reference, rank, axis, time);
    const b = this.b;
    const table = b.fresh(`${lengths}/table`);
    onnx.concat(
      b,
      `${lengths}/table/Concat`,
      [b.floatInitializer(`${lengths}/table_zero`, [1], Float32Array.of(0)), steps],
      { name: table },
      { axis: 0 },
    );
    const out = b.fresh(`${lengths}/float`);
    onnx.gather(b, `${lengths}/Gather`, [table, lengths], { name: out, type: float([batch]) }, { axis: 0 });
    this.floats.set(lengths, out);
    return out;
  }

  /** The lengths as int32 [batch], for `sequence_lens`. */
  lengthsInt32(lengths: string, reference: string, rank: number, axis: number, time: OnnxDim, batch: OnnxDim): string {
    const known = this.ints.get(lengths);
    if (known !== undefined) return known;
    const asFloat = this.lengthsFloat(lengths, reference, rank, axis, time, batch);
    const out = this.b.fresh(`${lengths}/int32`);
    onnx.cast(this.b, `${lengths}/Cast`, [asFloat], { name: out, type: int32([batch]) }, { to: DataType.INT32 });
    this.ints.set(lengths, out);
    return out;
  }

  /**
   * bool valid [time, batch, 1] (or [time, batch] for `maskRank` 2) for a time-major `reference`:
   * step t + 1 ≤ length, compared in float.
   */
  timeMajorMask(
    lengths: string,
    reference: string,
    rank: number,
    time: OnnxDim,
    batch: OnnxDim,
    maskRank: 2 | 3,
  ): string {
    const key = `${lengths}/${maskRank}`;
    const known = this.masks.get(key);
    if (known !== undefined) return known;
    const b = this.b;
    const path = `${lengths}/mask${maskRank}`;
    const steps = this.steps(lengths, reference, rank, 0, time);
    const lengthsFloat = this.lengthsFloat(lengths, reference, rank, 0, time, batch);
    const column = b.fresh(`${path}/steps_column`);
    const columnDims = maskRank === 3 ? [time, dimValue(1), dimValue(1)] : [time, dimValue(1)];
    onnx.reshape(
      b,
      `${path}/Reshape`,
      [steps, b.int64Initializer(`${path}/column_shape`, maskRank === 3 ? [-1, 1, 1] : [-1, 1])],
      { name: column, type: float(columnDims) },
    );
    let row = lengthsFloat;
    if (maskRank === 3) {
      row = b.fresh(`${path}/lengths_column`);
      onnx.unsqueeze(b, `${path}/Unsqueeze`, [lengthsFloat, b.int64Initializer(`${path}/axis1`, [1])], {
        name: row,
        type: float([batch, dimValue(1)]),
      });
    }
    const valid = b.fresh(`${path}/valid`);
    onnx.lessOrEqual(b, `${path}/LessOrEqual`, [column, row], {
      name: valid,
      type: bool(maskRank === 3 ? [time, batch, dimValue(1)] : [time, batch]),
    });
    this.masks.set(key, valid);
    return valid;
  }

  /** bool valid [batch, time] for a batch-major `reference` [batch, time, …]. */
  batchMajorMask(lengths: string, reference: string, rank: number, time: OnnxDim, batch: OnnxDim): string {
    const key = `${lengths}/batch_major`;
    const known = this.masks.get(key);
    if (known !== undefined) return known;
    const b = this.b;
    const path = `${lengths}/batch_major_mask`;
    const steps = this.steps(lengths, reference, rank, 1, time);
    const lengthsFloat = this.lengthsFloat(lengths, reference, rank, 1, time, batch);
    const column = b.fresh(`${path}/lengths_column`);
    onnx.unsqueeze(b, `${path}/Unsqueeze`, [lengthsFloat, b.int64Initializer(`${path}/axis1`, [1])], {
      name: column,
      type: float([batch, dimValue(1)]),
    });
    const valid = b.fresh(`${path}/valid`);
    onnx.lessOrEqual(b, `${path}/LessOrEqual`, [steps, column], { name: valid, type: bool([batch, time]) });
    this.masks.set(key, valid);
    return valid;
  }
}

/** A recurrent layer's initializers and attributes as a GRU node. */
export interface GruForm {
  readonly wName: string;
  readonly rName: string;
  readonly bName: string;
  readonly attributes: { readonly hiddenSize: number; readonly activations: string[]; readonly linearBeforeReset: 1 };
}

/**
 * An ONNX RNN layer as a GRU node, which the WebGPU provider has: W and R get zero blocks for the update
 * and reset gates, and those gates take relu as their activation with biases 0 and 1, so that z = 0 and
 * r = 1 exactly, whatever the input. With linear_before_reset=1 the GRU then computes
 * h' = g(x·Wᵀ + b_ih + h·Rᵀ + b_hh), the RNN's equation; only the order of the float additions differs.
 */
export function rnnAsGru(
  b: GraphBuilder,
  weight: (name: string) => Float32Array,
  op: RecurrentOp,
  layer: number,
  direction: number,
  inputSize: number,
  path: string,
): GruForm {
  const name = (weight: RecurrentWeight): string => recurrentParameterName(op.label, weight, layer, direction);
  const hidden = op.hidden;
  const gatesFirst = (block: Float32Array, columns: number): Float32Array =>
    concatFloat([new Float32Array(2 * hidden * columns), block]);
  const w = gatesFirst(weight(name('weight_ih')), inputSize);
  const r = gatesFirst(weight(name('weight_hh')), hidden);
  const wName = b.floatInitializer(
    `${path}/W`,
    [1, 3 * hidden, inputSize],
    w,
    `${name('weight_ih')} as the h block of a GRU whose z and r blocks are zero`,
  );
  const rName = b.floatInitializer(
    `${path}/R`,
    [1, 3 * hidden, hidden],
    r,
    `${name('weight_hh')} as the h block of a GRU whose z and r blocks are zero`,
  );
  const zeros = new Float32Array(hidden);
  const resetOnes = new Float32Array(hidden).fill(1);
  const biasIh = op.bias ? weight(name('bias_ih')) : zeros;
  const biasHh = op.bias ? weight(name('bias_hh')) : zeros;
  const bias = concatFloat([zeros, resetOnes, biasIh, zeros, zeros, biasHh]);
  const bName = b.floatInitializer(
    `${path}/B`,
    [1, 6 * hidden],
    bias,
    `z bias 0 and r bias 1 (relu gates: z = 0, r = 1), then ${op.label}'s RNN biases`,
  );
  const attributes = {
    hiddenSize: hidden,
    activations: ['Relu', op.nonlinearity === 'relu' ? 'Relu' : op.nonlinearity === 'sigmoid' ? 'Sigmoid' : 'Tanh'],
    linearBeforeReset: 1 as const,
  };
  return { wName, rName, bName, attributes };
}

/**
 * log_softmax over the last axis without the LogSoftmax kernel, which the WebGPU provider lacks:
 * (x − max) − log Σ exp(x − max), as ONNX Runtime's CPU kernel computes it.
 */
export function logSoftmax(
  b: GraphBuilder,
  input: string,
  out: string,
  type: TensorType,
  path: string,
  where: string,
): void {
  const kept = float([...type.dims.slice(0, -1), dimValue(1)]);
  const max = b.fresh(`${path}/max`);
  onnx.reduceMax(
    b,
    `${path}/ReduceMax`,
    input,
    { values: [-1], initializer: `${path}/max_axes` },
    { name: max, type: kept },
    { keepdims: 1 },
    where,
  );
  const shifted = b.fresh(`${path}/shifted`);
  onnx.sub(b, `${path}/Shift`, [input, max], { name: shifted, type }, where);
  const exp = b.fresh(`${path}/exp`);
  onnx.exp(b, `${path}/Exp`, [shifted], { name: exp, type }, where);
  const sum = b.fresh(`${path}/sum`);
  onnx.reduceSum(
    b,
    `${path}/ReduceSum`,
    [exp, b.int64Initializer(`${path}/sum_axes`, [-1])],
    { name: sum, type: kept },
    { keepdims: 1 },
    where,
  );
  const logSum = b.fresh(`${path}/log_sum`);
  onnx.log(b, `${path}/Log`, [sum], { name: logSum, type: kept }, where);
  onnx.sub(b, `${path}/Normalize`, [shifted, logSum], { name: out, type }, where);
}

/** Float zeros shaped like `input`, whatever its values (NaN and ∞ included): cast to int32, times zero, cast back. */
export function zerosLike(b: GraphBuilder, input: string, type: TensorType, path: string): string {
  const whole = b.fresh(`${path}/int32`);
  onnx.cast(b, `${path}/ToInt32`, [input], { name: whole, type: int32(type.dims) }, { to: DataType.INT32 });
  const finite = b.fresh(`${path}/finite`);
  onnx.cast(b, `${path}/ToFloat`, [whole], { name: finite, type: float(type.dims) }, { to: DataType.FLOAT });
  const out = b.fresh(path);
  onnx.mul(b, `${path}/Zero`, [finite, b.floatScalar(`${path}/zero`, 0)], { name: out, type: float(type.dims) });
  return out;
}

/** Float zeros [batch, hidden] named `path`, shaped by layer 0 of a [layers, batch, hidden] state without Shape. */
export function zerosFromState(b: GraphBuilder, path: string, state: string, batch: OnnxDim, hidden: number): string {
  const first = b.fresh(`${path}/h0_l0`);
  onnx.gather(
    b,
    `${path}/Gather`,
    [state, b.int64Initializer(`${path}/index`, [0], [])],
    { name: first, type: float([batch, dimValue(hidden)]) },
    { axis: 0 },
  );
  return zerosLike(b, first, float([batch, dimValue(hidden)]), path);
}

/** Float [batch] of one value, with the batch taken from axis 0 of a float tensor of rank `rank`. */
export function batchFilled(
  b: GraphBuilder,
  reference: string,
  rank: number,
  batch: OnnxDim,
  value: number,
  path: string,
): string {
  let column = reference;
  if (rank > 1) {
    const sliced = b.fresh(`${path}/slice`);
    const starts = b.int64Initializer(`${path}/starts`, new Array<number>(rank - 1).fill(0));
    const ends = b.int64Initializer(`${path}/ends`, new Array<number>(rank - 1).fill(1));
    const axes = b.int64Initializer(
      `${path}/axes`,
      Array.from({ length: rank - 1 }, (_, i) => i + 1),
    );
    onnx.slice(b, `${path}/Slice`, [reference, starts, ends, axes], {
      name: sliced,
      type: float([batch, ...new Array<OnnxDim>(rank - 1).fill(dimValue(1))]),
    });
    column = b.fresh(`${path}/column`);
    onnx.reshape(b, `${path}/Reshape`, [sliced, b.int64Initializer(`${path}/shape`, [-1])], {
      name: column,
      type: float([batch]),
    });
  }
  const zeros = zerosLike(b, column, float([batch]), `${path}/zeros`);
  if (value === 0) return zeros;
  const out = b.fresh(path);
  onnx.add(b, `${path}/Fill`, [zeros, b.floatScalar(`${path}/value`, value)], { name: out, type: float([batch]) });
  return out;
}

/**
 * Token ids as floats: Gather from the table 0, 1, …, size−1 at the int64 ids, the one way the WebGPU
 * provider reads int64. Exact for ids below 2²⁴.
 */
export function idsAsFloat(b: GraphBuilder, ids: string, size: number, type: TensorType, path: string): string {
  const table = b.floatInitializer(
    `ids/table${size}`,
    [size],
    Float32Array.from({ length: size }, (_, i) => i),
    `the ids 0 to ${size - 1}, for reading int64 ids on the WebGPU provider`,
  );
  const out = b.fresh(path);
  onnx.gather(b, `${path}/Gather`, [table, ids], { name: out, type: float(type.dims) }, { axis: 0 });
  return out;
}

/**
 * Prefixes the names of the nodes added since `from`: a step written out several times into one graph
 * (the webgpu target's unrolled decoding) would otherwise repeat its node names, which ONNX Runtime refuses.
 */
export function prefixNodeNames(b: GraphBuilder, from: number, prefix: string): void {
  for (let i = from; i < b.nodes.length; i++) b.nodes[i] = { ...b.nodes[i]!, name: `${prefix}/${b.nodes[i]!.name}` };
}

/** Float ids (exact integers) as int32, for Gather indices. */
export function floatIdsAsInt32(b: GraphBuilder, ids: string, dims: readonly OnnxDim[], path: string): string {
  const out = b.fresh(path);
  onnx.cast(b, `${path}/Cast`, [ids], { name: out, type: int32(dims) }, { to: DataType.INT32 });
  return out;
}
