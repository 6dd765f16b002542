// The lower stage: IR + weights → ONNX ModelProto, one small function per IR op kind.

import { assertNever } from '../contracts/assert.js';
import { parameterCount, type ModelIR, type Op, type PoolOp, type RecurrentOp, type ValueType } from '../ir/ir.js';
import { DataType, type ModelProto, type OnnxDim, type ValueInfoProto } from '../onnx/types.js';
import type { Span } from '../diagnostics/diagnostic.js';
import type { WeightMap } from '../weights/types.js';
import { dimValue, GraphBuilder, type TensorType } from './builder.js';
import * as onnx from './ops.js';
import type { Lengths } from './lengths.js';
import { modelProto } from './model.js';
import { modelSignature } from './signature.js';
import { lowerPool, type PoolContext } from './pool.js';
import { lowerEmbedding } from './embedding.js';
import { lowerLinear } from './linear.js';
import { lowerLayerNorm } from './norm.js';
import { lowerActivation } from './activation.js';
import { lowerCrf } from './crf.js';
import type { LayerContext, LayerOutput } from './layer.js';
import { emitRecurrentNode } from './recurrent.js';
import { targetFor, type CompileTarget, type Target } from './target.js';
import { batchMajorPerm, elemType, internalType, onnxDim, recordedPlace, type Lowered } from './values.js';

export { elemType, internalType, onnxDim, recordedPlace, type Lowered } from './values.js';
export { modelSignature, type ModelSignature } from './signature.js';
export {
  emitRecurrentNode,
  recurrentActivations,
  recurrentInitializers,
  type RecurrentNodePlace,
} from './recurrent.js';

export interface LowerOptions {
  readonly opset: number;
  readonly irVersion: number;
  readonly producerVersion: string;
  /**
   * The spec's text and where it came from, recorded in the model's metadata. Only the file name of
   * `sourceName` is recorded (see `recordedName`), so the bytes do not depend on the folder.
   */
  readonly sourceText: string;
  readonly sourceName: string;
  /** The compile target; `targetFor` turns it into the Target object the lowering asks (./target.ts). */
  readonly target: CompileTarget;
}

export type { CompileTarget } from './target.js';

export function lower(ir: ModelIR, weights: WeightMap, options: LowerOptions): ModelProto {
  const lowering = new Lowering(ir, weights, options);
  const graph = lowering.run();
  const signature = modelSignature(ir);
  const count = parameterCount(ir);
  return modelProto(graph, options, ir.name, `: ${count.toLocaleString('en-US')} parameters`, [
    { key: 'seqc.parameters', value: String(count) },
    { key: 'seqc.signature', value: JSON.stringify(signature) },
  ]);
}

/** Lowers IR ops into one graph builder; the classifier graph, the encoder and the decoder step all use it. */
export class Lowering {
  readonly b: GraphBuilder;
  private readonly values = new Map<string, Lowered>();
  /** Final states per recurrent label: one [1, batch, hidden] tensor per layer and direction, in PyTorch's h_n order. */
  readonly finalStates = new Map<string, string[]>();
  /** The same for LSTM cell states, for the layers listed in `cellStatesOf`. */
  readonly finalCells = new Map<string, string[]>();
  /** Values read by some op or output, other than a `last` that uses final states. */
  private readonly consumed = new Set<string>();
  /** Every generic-vs-webgpu decision (./target.ts). */
  private readonly target: Target;
  /** Sequence lengths and masks, in the target's form (./lengths.ts). */
  private readonly lengths: Lengths;

  constructor(
    private readonly ir: ModelIR,
    private readonly weights: WeightMap,
    options: LowerOptions,
    builder?: GraphBuilder,
    private readonly cellStatesOf: ReadonlySet<string> = new Set(),
  ) {
    this.b = builder ?? new GraphBuilder(options.opset);
    this.target = targetFor(options.target);
    this.lengths = this.target.lengths(this.b, (lengths) =>
      this.ir.inputs.find((i) => i.name === lengths)!.type.dims.map(onnxDim),
    );
    for (const op of ir.ops) if (!(op.kind === 'pool' && op.finalStateOf !== undefined)) this.consumed.add(op.input);
    for (const out of ir.outputs) this.consumed.add(out.value);
    if (ir.encoder !== undefined) this.consumed.add(ir.encoder.memory);
  }

  /** Declares the graph inputs of `ir.inputs` and binds the data inputs as values. */
  declareInputs(): ValueInfoProto[] {
    return this.ir.inputs.map((i) => {
      this.b.reserve(i.name);
      if (i.role.kind === 'data') this.values.set(i.name, { name: i.name, type: i.type, timeMajor: false });
      return { name: i.name, type: { elemType: elemType(i.type), shape: i.type.dims.map(onnxDim) } };
    });
  }

  /** Makes an existing tensor the value `id`. */
  bind(id: string, name: string, type: ValueType, timeMajor: boolean): void {
    this.values.set(id, { name, type, timeMajor });
  }

  lookup(id: string): Lowered {
    return this.value(id);
  }

  /** A value as a time-major tensor, transposed on first use. */
  timeMajorValue(id: string, span: Span): Lowered {
    return this.timeMajor(id, span);
  }

  run() {
    const inputs = this.declareInputs();
    for (const o of this.ir.outputs) this.b.reserve(o.name);
    for (const op of this.ir.ops) this.op(op);
    const outputs = this.ir.outputs.map((o) => this.output(o.name, o.value, o.type, o.span));
    return {
      name: this.ir.name,
      nodes: this.b.nodes,
      initializers: this.b.initializers,
      inputs,
      outputs,
      valueInfo: this.b.valueInfo,
      docString: `Inputs and outputs are batch-major; sequences are time-major inside the graph.`,
    };
  }

  where(span: Span): string {
    return recordedPlace(span);
  }

  op(op: Op): void {
    switch (op.kind) {
      case 'embedding':
        return this.setLayer(op, lowerEmbedding(this.layerContext, op));
      case 'recurrent':
        return this.recurrent(op);
      case 'linear':
        return this.setLayer(op, lowerLinear(this.layerContext, op));
      case 'layerNorm':
        return this.setLayer(op, lowerLayerNorm(this.layerContext, op));
      case 'dropout':
        // Dropout is the identity at inference: the label names the same tensor.
        this.values.set(op.output.id, this.value(op.input));
        return;
      case 'pool':
        return this.pool(op);
      case 'activation':
        return this.setLayer(op, lowerActivation(this.layerContext, op));
      case 'crf':
        return this.setLayer(op, lowerCrf(this.layerContext, op));
      default:
        return assertNever(op);
    }
  }

  private value(id: string): Lowered {
    const v = this.values.get(id);
    if (v === undefined) throw new Error(`value ${id} was not lowered before use`);
    return v;
  }

  /** Sequences become time-major the first time a layer reads them. */
  private timeMajor(id: string, span: Span): Lowered {
    const v = this.value(id);
    if (v.timeMajor || !v.type.hasTime) return v;
    const name = this.b.fresh(`${id}/time_major`);
    onnx.transpose(
      this.b,
      `${id}/to_time_major/Transpose`,
      [v.name],
      { name, type: internalType(v.type, true) },
      { perm: batchMajorPerm(v.type.dims.length) },
      this.where(span),
    );
    const lowered = { name, type: v.type, timeMajor: true };
    this.values.set(id, lowered);
    return lowered;
  }

  private set(op: Op, name: string, timeMajor: boolean): void {
    this.values.set(op.output.id, { name, type: op.output.type, timeMajor });
  }

  private setLayer(op: Op, output: LayerOutput): void {
    this.set(op, output.name, output.timeMajor);
  }

  /** What the per-kind lowerings (./embedding.ts, ./linear.ts, ./norm.ts, ./activation.ts) read from this graph. */
  private get layerContext(): LayerContext {
    return {
      b: this.b,
      target: this.target,
      weight: (name) => this.weight(name),
      value: (id) => this.value(id),
      timeMajor: (id, span) => this.timeMajor(id, span),
    };
  }

  weight(name: string): Float32Array {
    const w = this.weights.get(name);
    if (w === undefined) throw new Error(`weight ${name} is missing after weights were resolved`);
    return w.data;
  }

  /** The int32 `sequence_lens` of a recurrent layer reading the time-major `reference`. */
  sequenceLens(lengths: string, reference: Lowered): string {
    const [time, batch] = internalType(reference.type, true).dims as [OnnxDim, OnnxDim];
    return this.lengths.int32(lengths, reference.name, reference.type.dims.length, time, batch);
  }

  private recurrent(op: RecurrentOp): void {
    const x = this.timeMajor(op.input, op.span);
    const directions = op.bidirectional ? ['forward', 'reverse'] : ['forward'];
    const [time, batch] = internalType(op.output.type, true).dims as [OnnxDim, OnnxDim];
    const h = dimValue(op.hidden);
    const seqLens = op.lengths === undefined ? undefined : this.sequenceLens(op.lengths, x);
    const states: string[] = [];
    const cells: string[] = [];
    let input = x.name;
    let inputSize = op.inputSize;
    for (let layer = 0; layer < op.layers; layer++) {
      const top = layer === op.layers - 1;
      const ys: string[] = [];
      for (const [d, direction] of directions.entries()) {
        const path = `${op.label}/l${layer}/${direction}`;
        const stateIndex = layer * directions.length + d;
        const initialH =
          op.state === undefined ? undefined : this.stateSlice(op.state.h0, stateIndex, path, 'h0', batch, h);
        const initialC =
          op.state?.c0 === undefined ? undefined : this.stateSlice(op.state.c0, stateIndex, path, 'c0', batch, h);
        const needY = !top || this.consumed.has(op.output.id);
        const y = needY ? this.b.fresh(`${path}/Y`) : undefined;
        const yh = this.b.fresh(`${path}/Y_h`);
        const stateType = { elemType: DataType.FLOAT, dims: [dimValue(1), batch, h] };
        let yc: string | undefined;
        if (op.cell === 'lstm' && (op.state?.cn !== undefined || this.cellStatesOf.has(op.label))) {
          yc = this.b.fresh(`${path}/Y_c`);
          cells.push(yc);
        }
        const outputs = {
          y:
            y === undefined
              ? undefined
              : { name: y, type: { elemType: DataType.FLOAT, dims: [time, dimValue(1), batch, h] } },
          yH: { name: yh, type: stateType },
          yC: yc === undefined ? undefined : { name: yc, type: stateType },
        };
        const place = {
          layer,
          direction: d as 0 | 1,
          inputSize,
          initializerPath: path,
          nodePath: path,
          target: this.target,
          docString: this.where(op.span),
        };
        emitRecurrentNode(
          this.b,
          (n) => this.weight(n),
          op,
          place,
          { x: input, sequenceLens: seqLens, initialH, initialC },
          outputs,
        );
        if (y !== undefined) ys.push(y);
        states.push(yh);
      }
      if (ys.length === 0) break;
      input = this.mergeDirections(ys, `${op.label}/l${layer}`, time, batch, op.hidden);
      inputSize = op.hidden * directions.length;
    }
    this.finalStates.set(op.label, states);
    this.finalCells.set(op.label, cells);
    if (op.state !== undefined) {
      onnx.concat(this.b, `${op.label}/hn/Concat`, states, { name: op.state.hn }, { axis: 0 }, this.where(op.span));
      if (op.state.cn !== undefined)
        onnx.concat(this.b, `${op.label}/cn/Concat`, cells, { name: op.state.cn }, { axis: 0 }, this.where(op.span));
    }
    this.set(op, input, true);
  }

  /** Row `index` of a [layers·directions, batch, hidden] state input, kept as [1, batch, hidden]. */
  private stateSlice(input: string, index: number, path: string, what: string, batch: OnnxDim, h: OnnxDim): string {
    const indices = this.b.int64Initializer(`${path}/${what}_index`, [index]);
    const name = this.b.fresh(`${path}/${what}`);
    onnx.gather(
      this.b,
      `${path}/${what}/Gather`,
      [input, indices],
      { name, type: { elemType: DataType.FLOAT, dims: [dimValue(1), batch, h] } },
      { axis: 0 },
    );
    return name;
  }

  /** [time, 1, batch, hidden] per direction → [time, batch, hidden·directions]. */
  private mergeDirections(ys: readonly string[], path: string, time: OnnxDim, batch: OnnxDim, hidden: number): string {
    const axes = this.b.int64Initializer(`${path}/direction_axis`, [1]);
    let joined = ys[0]!;
    if (ys.length > 1) {
      joined = this.b.fresh(`${path}/Y_concat`);
      onnx.concat(
        this.b,
        `${path}/Concat`,
        ys,
        {
          name: joined,
          type: { elemType: DataType.FLOAT, dims: [time, dimValue(1), batch, dimValue(hidden * ys.length)] },
        },
        { axis: 3 },
      );
    }
    const out = this.b.fresh(`${path}/output`);
    onnx.squeeze(this.b, `${path}/Squeeze`, [joined, axes], {
      name: out,
      type: { elemType: DataType.FLOAT, dims: [time, batch, dimValue(hidden * ys.length)] },
    });
    return out;
  }

  private pool(op: PoolOp): void {
    const context: PoolContext = {
      b: this.b,
      lengths: this.lengths,
      finalStates: (label) => this.finalStates.get(label)!,
      recurrentOp: (label) => this.ir.ops.find((o): o is RecurrentOp => o.kind === 'recurrent' && o.label === label)!,
      timeMajor: (id, span) => this.timeMajor(id, span),
    };
    this.set(op, lowerPool(context, op), false);
  }

  /** The final-state outputs of stateful layers, found once (a lookup per output made many outputs quadratic). */
  private stateOutputs: Set<string> | undefined;

  /** Graph outputs are batch-major; steps past a row's length are zero. */
  /** Emits `name` as the batch-major, length-masked form of a value; returns its value info for graph outputs. */
  output(name: string, valueId: string, type: ValueType, span: Span): ValueInfoProto {
    const info: ValueInfoProto = { name, type: { elemType: elemType(type), shape: type.dims.map(onnxDim) } };
    this.stateOutputs ??= new Set(
      this.ir.ops.flatMap((o) =>
        o.kind === 'recurrent' && o.state !== undefined
          ? [o.state.hn, o.state.cn ?? o.state.hn]
          : o.kind === 'crf' && o.scoreOutput !== undefined
            ? [o.scoreOutput]
            : [],
      ),
    );
    if (this.stateOutputs.has(name)) return info;
    // A masked sequence that no layer made time-major yet goes through the same masking path.
    const v = type.lengths !== undefined && type.hasTime ? this.timeMajor(valueId, span) : this.value(valueId);
    const where = this.where(span);
    let source = v.name;
    if (v.timeMajor) {
      if (type.lengths !== undefined) {
        const t = internalType(type, true);
        const valid = this.lengths.outputMask(type.lengths, v.name, type.dims.length, t.dims[0]!, t.dims[1]!);
        const zero =
          type.dtype === 'int64'
            ? this.b.int64Initializer(`output/${name}/zero`, [0], [])
            : this.b.floatScalar(`output/${name}/zero`, 0);
        const validForRank = valid.rank === type.dims.length ? valid.mask : this.squeezeMask(valid.mask, name, t);
        const masked = this.b.fresh(`output/${name}/masked`);
        onnx.where(this.b, `output/${name}/Where`, [validForRank, v.name, zero], { name: masked, type: t }, where);
        source = masked;
      }
      onnx.transpose(
        this.b,
        `output/${name}/Transpose`,
        [source],
        { name },
        { perm: batchMajorPerm(type.dims.length) },
        where,
      );
    } else {
      onnx.identity(this.b, `output/${name}/Identity`, [source], { name }, where);
    }
    return info;
  }

  private squeezeMask(valid: string, name: string, t: TensorType): string {
    const axes = this.b.int64Initializer(`output/${name}/mask_axis`, [2]);
    const out = this.b.fresh(`output/${name}/valid`);
    onnx.squeeze(this.b, `output/${name}/SqueezeMask`, [valid, axes], {
      name: out,
      type: { elemType: DataType.BOOL, dims: t.dims.slice(0, 2) },
    });
    return out;
  }
}
