// How a graph turns a lengths input into what layers need (sequence_lens, masks, float lengths, each row's last step), for each target.
//
// The generic form reads the time axis with Shape and computes in int64; the webgpu form computes
// from a sequence's float data instead (GpuSequences in ./webgpu.ts), as the WebGPU provider has no
// Shape kernel and reads int64 only as Gather indices. Both are caches per graph: each lengths input
// is cast or counted once.

import { DataType, type OnnxDim } from '../onnx/types.js';
import { dimValue, type GraphBuilder, type TensorType } from './builder.js';
import * as onnx from './ops.js';
import { GpuSequences } from './webgpu.js';

/** What of a Conv1d decides how it changes each row's length (nn.Conv1d's output-length formula). */
export interface ConvSteps {
  readonly kernel: number;
  readonly padding: number;
  readonly stride: number;
  readonly dilation: number;
}

export interface Lengths {
  /**
   * Computes the int64 [batch] lengths `derived` of a Conv1d's output from the lengths `source` of its
   * input: max(0, ⌊(L + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1). From then on every
   * method accepts `derived` like a lengths input; a row it leaves without steps (length 0) pools
   * to zeros, with `mean` (whose divisor `float` keeps at least 1), `last` and `max` (`poolInto`)
   * alike. `path` names the nodes.
   */
  derive(derived: string, source: string, conv: ConvSteps, batch: OnnxDim, path: string, where: string): void;
  /**
   * Lets `write` emit a pool's [batch, …] result of type `outType` under the name it is given, and
   * makes it `out`: directly, or for lengths that may leave a row without steps (a Conv1d's), with
   * such rows set to zero. `label` names the extra nodes.
   */
  poolInto(
    lengths: string,
    out: string,
    outType: TensorType,
    label: string,
    where: string,
    write: (name: string) => void,
  ): void;
  /** The int32 [batch] `sequence_lens` of a recurrent layer reading the time-major `reference` of rank `rank`. */
  int32(lengths: string, reference: string, rank: number, time: OnnxDim, batch: OnnxDim): string;
  /** A bool [time, batch, 1] mask, true at steps inside each row's length. */
  timeMajorMask(lengths: string, reference: string, rank: number, time: OnnxDim, batch: OnnxDim): string;
  /** The mask for a graph output of rank `rank`: [time, batch, 1], or [time, batch] where the target cannot squeeze a bool. */
  outputMask(
    lengths: string,
    reference: string,
    rank: number,
    time: OnnxDim,
    batch: OnnxDim,
  ): { readonly mask: string; readonly rank: 2 | 3 };
  /** The lengths as float [batch], for a pool `label`. */
  float(
    lengths: string,
    reference: string,
    rank: number,
    time: OnnxDim,
    batch: OnnxDim,
    label: string,
    where: string,
  ): string;
  /** A bool [batch, time] mask of the batch-major `reference` of rank `rank`; `path` names the generic form's nodes. */
  batchMajorMask(lengths: string, reference: string, rank: number, time: OnnxDim, batch: OnnxDim, path: string): string;
  /** Pool `last` with lengths: each row's step length-1 of the time-major `x`, written to `out`. */
  lastStep(
    label: string,
    x: string,
    xType: TensorType,
    lengths: string,
    out: string,
    outType: TensorType,
    where: string,
  ): void;
}

/** Lengths through Shape, Range and int64 arithmetic; `batchDims` gives a lengths input's dims. */
export function shapeLengths(b: GraphBuilder, batchDims: (lengths: string) => OnnxDim[]): Lengths {
  const int32s = new Map<string, string>();
  const masks = new Map<string, string>();
  /** The derived lengths, which (unlike an input's, which the runtime keeps in [1, time]) may be 0. */
  const derived = new Set<string>();
  const timeMajorMask = (lengths: string, reference: string, _rank: number, time: OnnxDim, batch: OnnxDim): string => {
    const cached = masks.get(lengths);
    if (cached !== undefined) return cached;
    const path = `${lengths}/mask`;
    const shape = b.fresh(`${path}/shape`);
    onnx.shape(b, `${path}/Shape`, [reference], { name: shape });
    const zero = b.int64Initializer(`${path}/zero`, [0], []);
    const one = b.int64Initializer(`${path}/one`, [1], []);
    const timeScalar = b.fresh(`${path}/time`);
    onnx.gather(
      b,
      `${path}/Gather`,
      [shape, zero],
      { name: timeScalar, type: { elemType: DataType.INT64, dims: [] } },
      { axis: 0 },
    );
    const steps = b.fresh(`${path}/steps`);
    onnx.range(b, `${path}/Range`, [zero, timeScalar, one], {
      name: steps,
      type: { elemType: DataType.INT64, dims: [time] },
    });
    const axis1 = b.int64Initializer(`${path}/axis1`, [1]);
    const column = b.fresh(`${path}/steps_column`);
    onnx.unsqueeze(b, `${path}/Unsqueeze`, [steps, axis1], {
      name: column,
      type: { elemType: DataType.INT64, dims: [time, dimValue(1)] },
    });
    const valid = b.fresh(`${path}/valid`);
    onnx.less(b, `${path}/Less`, [column, lengths], {
      name: valid,
      type: { elemType: DataType.BOOL, dims: [time, batch] },
    });
    const axis2 = b.int64Initializer(`${path}/axis2`, [2]);
    const valid3 = b.fresh(`${path}/valid3`);
    onnx.unsqueeze(b, `${path}/Unsqueeze3`, [valid, axis2], {
      name: valid3,
      type: { elemType: DataType.BOOL, dims: [time, batch, dimValue(1)] },
    });
    masks.set(lengths, valid3);
    return valid3;
  };
  const poolInto = (
    lengths: string,
    out: string,
    outType: TensorType,
    label: string,
    where: string,
    write: (name: string) => void,
  ): void => {
    if (!derived.has(lengths)) return write(out);
    const written = b.fresh(`${label}/pooled`);
    write(written);
    const batch = outType.dims[0]!;
    const nonEmpty = b.fresh(`${label}/non_empty`);
    onnx.less(
      b,
      `${label}/NonEmpty`,
      [b.int64Initializer(`${label}/zero`, [0], []), lengths],
      { name: nonEmpty, type: { elemType: DataType.BOOL, dims: [batch] } },
      where,
    );
    const rowAxes = Array.from({ length: outType.dims.length - 1 }, (_, i) => i + 1);
    const column = b.fresh(`${label}/non_empty_column`);
    onnx.unsqueeze(
      b,
      `${label}/UnsqueezeNonEmpty`,
      [nonEmpty, b.int64Initializer(`${label}/row_axes`, rowAxes)],
      { name: column, type: { elemType: DataType.BOOL, dims: [batch, ...rowAxes.map(() => dimValue(1))] } },
      where,
    );
    onnx.where(
      b,
      `${label}/ZeroEmpty/Where`,
      [column, written, b.floatScalar(`${label}/zero_float`, 0)],
      { name: out, type: outType },
      where,
    );
  };
  return {
    poolInto,
    derive(name, source, conv, batch, path, where) {
      // ⌊n / s⌋ + 1 = ⌊(n + s) / s⌋, and where n + s < 0 the length is 0: so Max(n + s, 0), then Div,
      // whose truncation is the floor for a non-negative dividend. The last node writes `name`.
      const type = { elemType: DataType.INT64, dims: [batch] };
      const shift = 2 * conv.padding - conv.dilation * (conv.kernel - 1) - 1 + conv.stride;
      const divides = conv.stride !== 1;
      const clamps = shift < 0;
      let value = source;
      if (shift !== 0) {
        const out = clamps || divides ? b.fresh(`${path}/shifted`) : name;
        onnx.add(
          b,
          `${path}/Add`,
          [value, b.int64Initializer(`${path}/shift`, [shift], [])],
          { name: out, type },
          where,
        );
        value = out;
      }
      if (clamps) {
        const out = divides ? b.fresh(`${path}/clamped`) : name;
        onnx.max(b, `${path}/Max`, [value, b.int64Initializer(`${path}/zero`, [0], [])], { name: out, type }, where);
        value = out;
      }
      if (divides) {
        const stride = b.int64Initializer(`${path}/stride`, [conv.stride], []);
        onnx.div(b, `${path}/Div`, [value, stride], { name, type }, where);
      }
      derived.add(name);
    },
    int32(lengths) {
      let name = int32s.get(lengths);
      if (name === undefined) {
        name = b.fresh(`${lengths}/int32`);
        onnx.cast(
          b,
          `${lengths}/Cast`,
          [lengths],
          { name, type: { elemType: DataType.INT32, dims: batchDims(lengths) } },
          { to: DataType.INT32 },
        );
        int32s.set(lengths, name);
      }
      return name;
    },
    timeMajorMask,
    outputMask: (lengths, reference, rank, time, batch) => ({
      mask: timeMajorMask(lengths, reference, rank, time, batch),
      rank: 3,
    }),
    batchMajorMask(lengths, reference, _rank, time, batch, path) {
      const shape = b.fresh(`${path}/src_time/shape`);
      onnx.shape(b, `${path}/src_time/Shape`, [reference], { name: shape });
      const index = b.int64Initializer(`${path}/src_time/index`, [1], []);
      const timeScalar = b.fresh(`${path}/src_time`);
      onnx.gather(
        b,
        `${path}/src_time/Gather`,
        [shape, index],
        { name: timeScalar, type: { elemType: DataType.INT64, dims: [] } },
        { axis: 0 },
      );
      const zero = b.int64Initializer(`${path}/zero`, [0], []);
      const one = b.int64Initializer(`${path}/one`, [1], []);
      const steps = b.fresh(`${path}/steps`);
      onnx.range(b, `${path}/Range`, [zero, timeScalar, one], {
        name: steps,
        type: { elemType: DataType.INT64, dims: [time] },
      });
      const axis0 = b.int64Initializer(`${path}/axis0`, [0]);
      const row = b.fresh(`${path}/steps_row`);
      onnx.unsqueeze(b, `${path}/UnsqueezeSteps`, [steps, axis0], {
        name: row,
        type: { elemType: DataType.INT64, dims: [dimValue(1), time] },
      });
      const axis1 = b.int64Initializer(`${path}/axis1`, [1]);
      const column = b.fresh(`${path}/lengths_column`);
      onnx.unsqueeze(b, `${path}/UnsqueezeLengths`, [lengths, axis1], {
        name: column,
        type: { elemType: DataType.INT64, dims: [batch, dimValue(1)] },
      });
      const valid = b.fresh(`${path}/valid`);
      onnx.less(b, `${path}/Less`, [row, column], {
        name: valid,
        type: { elemType: DataType.BOOL, dims: [batch, time] },
      });
      return valid;
    },
    float(lengths, _reference, _rank, _time, batch, label, where) {
      const lengthsFloat = b.fresh(`${label}/lengths_float`);
      onnx.cast(
        b,
        `${label}/CastLengths`,
        [lengths],
        { name: lengthsFloat, type: { elemType: DataType.FLOAT, dims: [batch] } },
        { to: DataType.FLOAT },
        where,
      );
      if (!derived.has(lengths)) return lengthsFloat;
      // A derived length may be 0: the divisor of a mean is at least 1, so an empty row's mean is 0.
      const divisor = b.fresh(`${label}/lengths_divisor`);
      onnx.max(
        b,
        `${label}/AtLeastOne`,
        [lengthsFloat, b.floatScalar(`${label}/one`, 1)],
        { name: divisor, type: { elemType: DataType.FLOAT, dims: [batch] } },
        where,
      );
      return divisor;
    },
    lastStep(label, x, xType, lengths, out, outType, where) {
      // Gather each row's step length-1: index [1, batch, features] for GatherElements on axis 0.
      const [, batch] = xType.dims as [OnnxDim, OnnxDim];
      const one = b.int64Initializer(`${label}/one`, [1], []);
      const lastIndex = b.fresh(`${label}/last_index`);
      onnx.sub(
        b,
        `${label}/Sub`,
        [lengths, one],
        { name: lastIndex, type: { elemType: DataType.INT64, dims: [batch] } },
        where,
      );
      const axes = b.int64Initializer(`${label}/axes_0_2`, [0, 2]);
      const index3 = b.fresh(`${label}/last_index3`);
      onnx.unsqueeze(
        b,
        `${label}/Unsqueeze`,
        [lastIndex, axes],
        { name: index3, type: { elemType: DataType.INT64, dims: [dimValue(1), batch, dimValue(1)] } },
        where,
      );
      const shape = b.fresh(`${label}/index_shape`);
      onnx.shape(b, `${label}/Shape`, [x], { name: shape }, where);
      const oneRow = b.int64Initializer(`${label}/one_row`, [1]);
      const start = b.int64Initializer(`${label}/slice_start`, [1]);
      const end = b.int64Initializer(`${label}/slice_end`, [xType.dims.length]);
      const rest = b.fresh(`${label}/rest_shape`);
      onnx.slice(b, `${label}/Slice`, [shape, start, end], { name: rest }, where);
      const target = b.fresh(`${label}/expand_shape`);
      onnx.concat(b, `${label}/ConcatShape`, [oneRow, rest], { name: target }, { axis: 0 }, where);
      // A derived length may be 0, whose index -1 would pick the last padded step: poolInto zeroes such rows.
      poolInto(lengths, out, outType, label, where, (name) =>
        gatherAlongTime(b, label, x, xType, index3, target, DataType.INT64, name, outType, where),
      );
    },
  };
}

/** Lengths computed from a sequence's float data, without Shape or int64 arithmetic (the webgpu target). */
export function dataLengths(b: GraphBuilder): Lengths {
  const gpu = GpuSequences.of(b);
  return {
    // Lengths inputs only: the runtime keeps them at least 1, so no row is empty.
    poolInto: (_lengths, out, _outType, _label, _where, write) => write(out),
    derive(name) {
      // webgpuDiagnostics (./webgpu.ts) refuses such a Conv1d with SEQ050 before lowering.
      throw new Error(`the webgpu target cannot derive the lengths ${name}; SEQ050 should have refused it`);
    },
    int32: (lengths, reference, rank, time, batch) => gpu.lengthsInt32(lengths, reference, rank, 0, time, batch),
    timeMajorMask: (lengths, reference, rank, time, batch) =>
      gpu.timeMajorMask(lengths, reference, rank, time, batch, 3),
    // The WebGPU provider cannot squeeze a bool mask, so the mask is made at the value's rank.
    outputMask: (lengths, reference, rank, time, batch) => ({
      mask: gpu.timeMajorMask(lengths, reference, rank, time, batch, rank === 2 ? 2 : 3),
      rank: rank === 2 ? 2 : 3,
    }),
    batchMajorMask: (lengths, reference, rank, time, batch) =>
      gpu.batchMajorMask(lengths, reference, rank, time, batch),
    float: (lengths, reference, rank, time, batch) => gpu.lengthsFloat(lengths, reference, rank, 0, time, batch),
    lastStep(label, x, xType, lengths, out, outType, where) {
      // The same GatherElements, with an int32 index made from the float lengths and broadcast by
      // Expand against a constant [1, 1, features] instead of Shape.
      const [time, batch] = xType.dims as [OnnxDim, OnnxDim];
      const rank = xType.dims.length;
      const lengthsFloat = gpu.lengthsFloat(lengths, x, rank, 0, time, batch);
      const lastFloat = b.fresh(`${label}/last_index_float`);
      onnx.sub(
        b,
        `${label}/Sub`,
        [lengthsFloat, b.floatScalar(`${label}/one`, 1)],
        { name: lastFloat, type: { elemType: DataType.FLOAT, dims: [batch] } },
        where,
      );
      const lastIndex = b.fresh(`${label}/last_index`);
      onnx.cast(
        b,
        `${label}/Cast`,
        [lastFloat],
        { name: lastIndex, type: { elemType: DataType.INT32, dims: [batch] } },
        { to: DataType.INT32 },
        where,
      );
      const unsqueezed = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== 1);
      const index = b.fresh(`${label}/last_index${rank}`);
      onnx.unsqueeze(
        b,
        `${label}/Unsqueeze`,
        [lastIndex, b.int64Initializer(`${label}/index_axes`, unsqueezed)],
        {
          name: index,
          type: { elemType: DataType.INT32, dims: [dimValue(1), batch, ...xType.dims.slice(2).map(() => dimValue(1))] },
        },
        where,
      );
      const features = xType.dims.slice(2).map((d) => (d.kind === 'value' ? d.value : 1));
      const expandShape = b.int64Initializer(`${label}/expand_shape`, [1, 1, ...features]);
      gatherAlongTime(b, label, x, xType, index, expandShape, DataType.INT32, out, outType, where);
    },
  };
}

/**
 * Picks one step per row of the time-major `x` (`[time, batch, …]`): `index` (`[1, batch, 1…]`, of
 * `indexType`) is broadcast over the features to `expandShape`, gathered along time, and the time
 * axis squeezed away into `out`. Both targets end their last-step pooling this way.
 */
function gatherAlongTime(
  b: GraphBuilder,
  label: string,
  x: string,
  xType: TensorType,
  index: string,
  expandShape: string,
  indexType: DataType,
  out: string,
  outType: TensorType,
  where: string,
): void {
  const steps = [dimValue(1), ...xType.dims.slice(1)];
  const expanded = b.fresh(`${label}/gather_index`);
  onnx.expand(
    b,
    `${label}/Expand`,
    [index, expandShape],
    { name: expanded, type: { elemType: indexType, dims: steps } },
    where,
  );
  const gathered = b.fresh(`${label}/gathered`);
  onnx.gatherElements(
    b,
    `${label}/GatherElements`,
    [x, expanded],
    { name: gathered, type: { elemType: DataType.FLOAT, dims: steps } },
    { axis: 0 },
    where,
  );
  onnx.squeeze(
    b,
    `${label}/Squeeze`,
    [gathered, b.int64Initializer(`${label}/axis0`, [0])],
    { name: out, type: outType },
    where,
  );
}
