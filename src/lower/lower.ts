// The lower stage: IR + weights → ONNX ModelProto, one small function per IR op kind.

import { assertNever } from '../contracts/assert.js';
import { parameterCount, type ModelIR, type Op, type PoolOp, type RecurrentOp, type ValueType } from '../ir/ir.js';
import type { ModelProto, OnnxDim, ValueInfoProto } from '../onnx/types.js';
import type { Span } from '../diagnostics/diagnostic.js';
import type { WeightMap } from '../weights/types.js';
import { dimValue, GraphBuilder } from './builder.js';
import * as onnx from './ops.js';
import type { Lengths } from './lengths.js';
import { modelProto } from './model.js';
import { modelSignature } from './signature.js';
import { lowerPool, type PoolContext } from './pool.js';
import { lowerEmbedding } from './embedding.js';
import { lowerLinear } from './linear.js';
import { lowerLayerNorm } from './norm.js';
import { lowerActivation } from './activation.js';
import { lowerMerge } from './merge.js';
import { lowerConv1d } from './conv1d.js';
import { lowerProjected } from './projected.js';
import { lowerCrf } from './crf.js';
import { hasKerasOptions, lowerKerasRecurrent, lowerMasking, tokenMask, type KerasRecurrentContext } from './mask.js';
import type { LayerContext, LayerOutput } from './layer.js';
import { lowerRecurrent, stateSlice, type RecurrentContext } from './recurrent.js';
import { lowerOutput, type OutputContext } from './output.js';
import { lowerRepeat } from './repeat.js';
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
  /** Keras masks by the label of the op that made them: time-major bool [time, batch] (./mask.ts). */
  private readonly masks = new Map<string, string>();

  constructor(
    private readonly ir: ModelIR,
    private readonly weights: WeightMap,
    options: LowerOptions,
    builder?: GraphBuilder,
    private readonly cellStatesOf: ReadonlySet<string> = new Set(),
  ) {
    this.b = builder ?? new GraphBuilder(options.opset);
    this.target = targetFor(options.target);
    this.lengths = this.target.lengths(this.b, (lengths) => lengthsDims(this.ir, lengths));
    // A Conv1d's derived lengths tensor takes the name the IR gives it, which no other tensor may take.
    for (const op of ir.ops)
      if (op.kind === 'conv1d' && op.outputLengths !== undefined) this.b.reserve(op.outputLengths);
    for (const op of ir.ops) if (!(op.kind === 'pool' && op.finalStateOf !== undefined)) this.consumed.add(op.input);
    for (const op of ir.ops) if (op.kind === 'merge') for (const id of op.operands) this.consumed.add(id);
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
      case 'repeat':
        return this.setLayer(op, lowerRepeat(this.layerContext, op));
      case 'merge':
        return this.setLayer(op, lowerMerge(this.layerContext, op));
      case 'conv1d':
        return this.setLayer(op, lowerConv1d(this.layerContext, this.lengths, op));
      case 'crf':
        return this.setLayer(op, lowerCrf(this.layerContext, this.lengths, op));
      case 'masking': {
        const output = lowerMasking(this.layerContext, op);
        this.masks.set(op.label, output.mask);
        return this.setLayer(op, output);
      }
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
    if (op.proj !== undefined) return this.projected(op);
    const context: RecurrentContext = {
      ...this.layerContext,
      sequenceLens: (lengths, reference) => this.sequenceLens(lengths, reference),
      isRead: (id) => this.consumed.has(id),
      keepsCells: (label) => this.cellStatesOf.has(label),
    };
    const output = hasKerasOptions(op)
      ? lowerKerasRecurrent({ ...context, mask: (label) => this.mask(label) } satisfies KerasRecurrentContext, op)
      : lowerRecurrent(context, op);
    this.finalStates.set(op.label, [...output.states]);
    this.finalCells.set(op.label, [...output.cells]);
    this.setLayer(op, output);
  }

  /** The Keras mask made by the op `label`; an Embedding's (mask_zero) is computed from its ids on first use. */
  private mask(label: string): string {
    const known = this.masks.get(label);
    if (known !== undefined) return known;
    const embedding = this.ir.ops.find((o) => o.kind === 'embedding' && o.label === label)!;
    const tokens = this.timeMajor(embedding.input, embedding.span);
    const [time, batch] = internalType(tokens.type, true).dims as [OnnxDim, OnnxDim];
    const mask = tokenMask(this.b, label, tokens.name, time, batch);
    this.masks.set(label, mask);
    return mask;
  }

  /** An LSTM with a projection, as ONNX Loops (./projected.ts). */
  private projected(op: RecurrentOp): void {
    const x = this.timeMajor(op.input, op.span);
    const [time, batch] = internalType(op.output.type, true).dims as [OnnxDim, OnnxDim];
    const where = this.where(op.span);
    const context = {
      b: this.b,
      weight: (name: string) => this.weight(name),
      stateSlice: (input: string, index: number, path: string, what: string, width: number) =>
        stateSlice(this.b, input, index, path, what, batch, dimValue(width)),
      where,
    };
    const { output, states, cells } = lowerProjected(context, op, x.name, time, batch);
    this.finalStates.set(op.label, states);
    this.finalCells.set(op.label, cells);
    if (op.state !== undefined) {
      onnx.concat(this.b, `${op.label}/hn/Concat`, states, { name: op.state.hn }, { axis: 0 }, where);
      if (op.state.cn !== undefined)
        onnx.concat(this.b, `${op.label}/cn/Concat`, cells, { name: op.state.cn }, { axis: 0 }, where);
    }
    this.set(op, output, true);
  }

  private pool(op: PoolOp): void {
    const context: PoolContext = {
      b: this.b,
      lengths: this.lengths,
      finalStates: (label) => this.finalStates.get(label)!,
      recurrentOp: (label) => this.ir.ops.find((o): o is RecurrentOp => o.kind === 'recurrent' && o.label === label)!,
      timeMajor: (id, span) => this.timeMajor(id, span),
      mask: (label) => this.mask(label),
    };
    this.set(op, lowerPool(context, op), false);
  }

  /** The final-state outputs of stateful layers, found once (a lookup per output made many outputs quadratic). */
  private stateOutputs: Set<string> | undefined;

  /** Emits `name` as the batch-major, length-masked form of a value (./output.ts); returns its value info. */
  output(name: string, valueId: string, type: ValueType, span: Span): ValueInfoProto {
    const context: OutputContext = {
      b: this.b,
      lengths: this.lengths,
      value: (id) => this.value(id),
      timeMajor: (id, s) => this.timeMajor(id, s),
      isStateOutput: (output) => {
        this.stateOutputs ??= new Set(
          this.ir.ops.flatMap((o) =>
            o.kind === 'recurrent' && o.state !== undefined
              ? [o.state.hn, o.state.cn ?? o.state.hn]
              : o.kind === 'crf' && o.scoreOutput !== undefined
                ? [o.scoreOutput]
                : [],
          ),
        );
        return this.stateOutputs.has(output);
      },
    };
    return lowerOutput(context, name, valueId, type, span);
  }
}

/** The dims of the lengths `name`: a lengths input's, or [batch] of the Conv1d output whose lengths it derives. */
function lengthsDims(ir: ModelIR, name: string): OnnxDim[] {
  const input = ir.inputs.find((i) => i.name === name);
  if (input !== undefined) return input.type.dims.map(onnxDim);
  const conv = ir.ops.find((o) => o.kind === 'conv1d' && o.outputLengths === name);
  if (conv === undefined) throw new Error(`the lengths ${name} are neither an input nor derived by a Conv1d`);
  return [onnxDim(conv.output.type.dims[0]!)];
}
