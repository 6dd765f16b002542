// An LSTM with a projection (PyTorch's proj_size), which ONNX's LSTM lacks: one ONNX Loop over time per layer and direction.
//
// Per layer and direction: x·W_ihᵀ + b for all steps at once outside the loop, one gate at a time
// (PyTorch's row blocks i, f, g, o); inside, h·W_hhᵀ per gate, c' = f·c + i·g, h' = (o·tanh c')·W_hrᵀ.
// With lengths, a row's state is frozen past its length and its outputs there are zero (packed
// sequences); the reverse direction reads each row's valid steps reversed (ReverseSequence) and its
// outputs are reversed back. Runs on ONNX Runtime CPU and wasm; the webgpu target refuses it (SEQ050).

import type { RecurrentOp } from '../ir/ir.js';
import { recurrentParameterName } from '../ir/parameters.js';
import { DataType, type OnnxDim } from '../onnx/types.js';
import { attr, bool, dimValue, float, info, int64, type GraphBuilder, type TensorType } from './builder.js';
import { loopCondition, loopOutput } from './loop-body.js';
import * as onnx from './ops.js';

/** What the projected lowering reads from the graph around it. */
export interface ProjectedContext {
  readonly b: GraphBuilder;
  weight(name: string): Float32Array;
  /** Row `index` of a [layers·directions, batch, width] state input, as [1, batch, width]. */
  stateSlice(input: string, index: number, path: string, what: string, width: number): string;
  readonly where: string;
}

/** The output [time, batch, proj·directions] and the final states ([1, batch, proj] and [1, batch, hidden]) in h_n order. */
export interface ProjectedResult {
  readonly output: string;
  readonly states: string[];
  readonly cells: string[];
}

/** Transposes a PyTorch [rows, cols] block to [cols, rows]. */
function transposed(data: Float32Array, rows: number, cols: number, rowOffset: number, count: number): Float32Array {
  const out = new Float32Array(cols * count);
  for (let r = 0; r < count; r++) for (let c = 0; c < cols; c++) out[c * count + r] = data[(rowOffset + r) * cols + c]!;
  return out;
}

/** Lowers the projected LSTM `op` reading the time-major `x` [time, batch, inputSize]. */
export function lowerProjected(
  ctx: ProjectedContext,
  op: RecurrentOp,
  x: string,
  time: OnnxDim,
  batch: OnnxDim,
): ProjectedResult {
  const { b, where } = ctx;
  const H = op.hidden;
  const P = op.proj!;
  const directions = op.bidirectional ? 2 : 1;
  const lengths = op.lengths;
  const axis0 = b.int64Initializer(`${op.label}/axis0`, [0]);
  const axis1 = b.int64Initializer(`${op.label}/axis1`, [1]);
  const zero = b.floatScalar(`${op.label}/zero`, 0);
  // The trip count: the time axis of x.
  const shape = b.fresh(`${op.label}/shape`);
  onnx.shape(b, `${op.label}/Shape`, [x], { name: shape }, where);
  const timeIndex = b.int64Initializer(`${op.label}/time_index`, [0], []);
  const steps = b.fresh(`${op.label}/steps`);
  onnx.gather(b, `${op.label}/steps/Gather`, [shape, timeIndex], { name: steps }, { axis: 0 }, where);
  const batchSlice = b.fresh(`${op.label}/batch_shape`);
  onnx.slice(b, `${op.label}/batch_shape/Slice`, [shape, axis1, b.int64Initializer(`${op.label}/two`, [2]), axis0], {
    name: batchSlice,
  });
  const zeros = (width: number, what: string): string => {
    const dims = b.fresh(`${op.label}/${what}_shape`);
    onnx.concat(
      b,
      `${op.label}/${what}_shape/Concat`,
      [batchSlice, b.int64Initializer(`${op.label}/${what}_width`, [width])],
      { name: dims },
      { axis: 0 },
    );
    const out = b.fresh(`${op.label}/${what}_zeros`);
    b.node(
      `${op.label}/${what}/ConstantOfShape`,
      'ConstantOfShape',
      [dims],
      [{ name: out, type: float([batch, dimValue(width)]) }],
      [],
      where,
    );
    return out;
  };
  const reverse = (input: string, width: number, path: string): string => {
    const out = b.fresh(`${path}/reversed`);
    const type = float([time, batch, dimValue(width)]);
    if (lengths !== undefined) {
      b.node(
        `${path}/ReverseSequence`,
        'ReverseSequence',
        [input, lengths],
        [{ name: out, type }],
        [attr.int('batch_axis', 1), attr.int('time_axis', 0)],
        where,
      );
    } else {
      const start = b.int64Initializer(`${path}/reverse_start`, [-1]);
      const end = b.int64Initializer(`${path}/reverse_end`, [-(2 ** 53)]);
      const step = b.int64Initializer(`${path}/reverse_step`, [-1]);
      onnx.slice(b, `${path}/Reverse/Slice`, [input, start, end, axis0, step], { name: out, type });
    }
    return out;
  };
  const states: string[] = [];
  const cells: string[] = [];
  let input = x;
  let inputSize = op.inputSize;
  for (let layer = 0; layer < op.layers; layer++) {
    const ys: string[] = [];
    for (let d = 0; d < directions; d++) {
      const path = `${op.label}/l${layer}/${d === 1 ? 'reverse' : 'forward'}`;
      const name = (w: 'weight_ih' | 'weight_hh' | 'weight_hr' | 'bias_ih' | 'bias_hh'): string =>
        recurrentParameterName(op.label, w, layer, d);
      const wih = ctx.weight(name('weight_ih'));
      const whh = ctx.weight(name('weight_hh'));
      const whr = ctx.weight(name('weight_hr'));
      const xs = d === 1 ? reverse(input, inputSize, `${path}/input`) : input;
      // Per gate g (i, f, g, o): x·W_ih[g]ᵀ + b_ih[g] + b_hh[g] for all steps, [time, batch, H].
      const pre: string[] = [];
      const rec: string[] = [];
      for (let g = 0; g < 4; g++) {
        const wName = b.floatInitializer(
          `${path}/W_ih_T/${g}`,
          [inputSize, H],
          transposed(wih, 4 * H, inputSize, g * H, H),
        );
        const product = b.fresh(`${path}/x_gate${g}`);
        onnx.matMul(
          b,
          `${path}/x_gate${g}/MatMul`,
          [xs, wName],
          { name: product, type: float([time, batch, dimValue(H)]) },
          where,
        );
        let gate = product;
        if (op.bias) {
          const bih = ctx.weight(name('bias_ih'));
          const bhh = ctx.weight(name('bias_hh'));
          const sum = new Float32Array(H);
          for (let i = 0; i < H; i++) sum[i] = bih[g * H + i]! + bhh[g * H + i]!;
          gate = b.fresh(`${path}/x_gate${g}_biased`);
          onnx.add(
            b,
            `${path}/x_gate${g}/Add`,
            [product, b.floatInitializer(`${path}/B/${g}`, [H], sum)],
            { name: gate, type: float([time, batch, dimValue(H)]) },
            where,
          );
        }
        pre.push(gate);
        rec.push(b.floatInitializer(`${path}/W_hh_T/${g}`, [P, H], transposed(whh, 4 * H, P, g * H, H)));
      }
      const whrT = b.floatInitializer(`${path}/W_hr_T`, [H, P], transposed(whr, P, H, 0, P));
      const index = layer * directions + d;
      const h0 =
        op.state === undefined
          ? zeros(P, `${path}/h0`)
          : squeezed(b, ctx.stateSlice(op.state.h0, index, path, 'h0', P), axis0, P, batch, `${path}/h0`);
      const c0 =
        op.state?.c0 === undefined
          ? zeros(H, `${path}/c0`)
          : squeezed(b, ctx.stateSlice(op.state.c0, index, path, 'c0', H), axis0, H, batch, `${path}/c0`);
      // The loop body.
      const bb = b.subgraph();
      const iteration = bb.fresh(`${path}/iteration`);
      const condIn = bb.fresh(`${path}/cond_in`);
      const hIn = bb.fresh(`${path}/h_in`);
      const cIn = bb.fresh(`${path}/c_in`);
      const hType = float([batch, dimValue(P)]);
      const cType = float([batch, dimValue(H)]);
      const gates: string[] = [];
      for (let g = 0; g < 4; g++) {
        const xt = bb.fresh(`${path}/gate${g}_x`);
        onnx.gather(bb, `${path}/gate${g}/Gather`, [pre[g]!, iteration], { name: xt, type: cType }, { axis: 0 });
        const ht = bb.fresh(`${path}/gate${g}_h`);
        onnx.matMul(bb, `${path}/gate${g}/MatMul`, [hIn, rec[g]!], { name: ht, type: cType });
        const sum = bb.fresh(`${path}/gate${g}_sum`);
        onnx.add(bb, `${path}/gate${g}/Add`, [xt, ht], { name: sum, type: cType });
        const act = bb.fresh(`${path}/gate${g}`);
        (g === 2 ? onnx.tanh : onnx.sigmoid)(bb, `${path}/gate${g}/${g === 2 ? 'Tanh' : 'Sigmoid'}`, [sum], {
          name: act,
          type: cType,
        });
        gates.push(act);
      }
      const [gi, gf, gg, go] = gates as [string, string, string, string];
      const fc = bb.fresh(`${path}/f_c`);
      onnx.mul(bb, `${path}/f_c/Mul`, [gf, cIn], { name: fc, type: cType });
      const ig = bb.fresh(`${path}/i_g`);
      onnx.mul(bb, `${path}/i_g/Mul`, [gi, gg], { name: ig, type: cType });
      const cNew = bb.fresh(`${path}/c_new`);
      onnx.add(bb, `${path}/c_new/Add`, [fc, ig], { name: cNew, type: cType });
      const tc = bb.fresh(`${path}/tanh_c`);
      onnx.tanh(bb, `${path}/tanh_c/Tanh`, [cNew], { name: tc, type: cType });
      const hFull = bb.fresh(`${path}/h_full`);
      onnx.mul(bb, `${path}/h_full/Mul`, [go, tc], { name: hFull, type: cType });
      const hNew = bb.fresh(`${path}/h_new`);
      onnx.matMul(bb, `${path}/h_new/MatMul`, [hFull, whrT], { name: hNew, type: hType });
      let hOut = hNew;
      let cOut = cNew;
      let yOut = hNew;
      if (lengths !== undefined) {
        const inside = bb.fresh(`${path}/inside`);
        onnx.less(bb, `${path}/inside/Less`, [iteration, lengths], {
          name: inside,
          type: { elemType: DataType.BOOL, dims: [batch] },
        });
        const valid = bb.fresh(`${path}/valid`);
        onnx.unsqueeze(bb, `${path}/valid/Unsqueeze`, [inside, axis1], {
          name: valid,
          type: { elemType: DataType.BOOL, dims: [batch, dimValue(1)] },
        });
        hOut = bb.fresh(`${path}/h_kept`);
        onnx.where(bb, `${path}/h_kept/Where`, [valid, hNew, hIn], { name: hOut, type: hType });
        cOut = bb.fresh(`${path}/c_kept`);
        onnx.where(bb, `${path}/c_kept/Where`, [valid, cNew, cIn], { name: cOut, type: cType });
        yOut = bb.fresh(`${path}/y_masked`);
        onnx.where(bb, `${path}/y_masked/Where`, [valid, hNew, zero], { name: yOut, type: hType });
      }
      const passOut = (value: string, what: string, type: TensorType): string =>
        loopOutput(bb, path, value, what, type);
      const condOut = loopCondition(bb, path, condIn);
      const body = {
        name: path.replace(/\//g, '_'),
        nodes: bb.nodes,
        initializers: [],
        inputs: [info(iteration, int64([])), info(condIn, bool([])), info(hIn, hType), info(cIn, cType)],
        outputs: [
          info(condOut, bool([])),
          info(passOut(hOut, 'h', hType), hType),
          info(passOut(cOut, 'c', cType), cType),
          info(passOut(yOut, 'y', hType), hType),
        ],
        valueInfo: bb.valueInfo,
      };
      const hLast = b.fresh(`${path}/h_last`);
      const cLast = b.fresh(`${path}/c_last`);
      const y = b.fresh(`${path}/Y`);
      onnx.loop(
        b,
        `${path}/Loop`,
        { tripCount: steps, condition: b.boolScalar(`${path}/cond`, true), carried: [h0, c0] },
        [{ name: hLast }, { name: cLast }, { name: y }],
        { body },
        where,
      );
      const hState = b.fresh(`${path}/Y_h`);
      onnx.unsqueeze(b, `${path}/Y_h/Unsqueeze`, [hLast, axis0], {
        name: hState,
        type: float([dimValue(1), batch, dimValue(P)]),
      });
      const cState = b.fresh(`${path}/Y_c`);
      onnx.unsqueeze(b, `${path}/Y_c/Unsqueeze`, [cLast, axis0], {
        name: cState,
        type: float([dimValue(1), batch, dimValue(H)]),
      });
      states.push(hState);
      cells.push(cState);
      ys.push(d === 1 ? reverse(y, P, `${path}/output`) : y);
    }
    if (ys.length === 1) input = ys[0]!;
    else {
      input = b.fresh(`${op.label}/l${layer}/output`);
      onnx.concat(
        b,
        `${op.label}/l${layer}/Concat`,
        ys,
        { name: input, type: float([time, batch, dimValue(2 * P)]) },
        { axis: 2 },
      );
    }
    inputSize = P * directions;
  }
  return { output: input, states, cells };
}

/** A [1, batch, width] state slice as [batch, width]. */
function squeezed(b: GraphBuilder, slice: string, axis0: string, width: number, batch: OnnxDim, path: string): string {
  const out = b.fresh(`${path}/squeezed`);
  onnx.squeeze(b, `${path}/Squeeze`, [slice, axis0], { name: out, type: float([batch, dimValue(width)]) });
  return out;
}
