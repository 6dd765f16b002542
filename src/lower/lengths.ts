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

export interface Lengths {
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
  return {
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
      return lengthsFloat;
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
      gatherAlongTime(b, label, x, xType, index3, target, DataType.INT64, out, outType, where);
    },
  };
}

/** Lengths computed from a sequence's float data, without Shape or int64 arithmetic (the webgpu target). */
export function dataLengths(b: GraphBuilder): Lengths {
  const gpu = GpuSequences.of(b);
  return {
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
