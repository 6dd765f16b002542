// Lowers an encoder–decoder or language model into its bundle: scoring, encoder, step and greedy graphs (docs/seq2seq.md).

import type { DecoderIR, Dim, ModelIR, RecurrentOp, ValueType } from '../ir/ir.js';
import { DataType, type GraphProto, type ModelProto, type OnnxDim, type ValueInfoProto } from '../onnx/types.js';
import type { WeightMap } from '../weights/types.js';
import { dimParam, dimValue, GraphBuilder, type TensorType } from './builder.js';
import * as onnx from './ops.js';
import { modelProto } from './model.js';
import type { ModelSignature } from '../contracts/signature.js';
import { emitRecurrentNode, Lowering, onnxDim, recordedPlace, type LowerOptions } from './lower.js';
import { targetFor, type Target } from './target.js';
import { transpose2d } from './pack.js';
import type { BundleManifest, BundleRole } from '../contracts/manifest.js';
import { batchFilled, floatIdsAsInt32, idsAsFloat, prefixNodeNames, zerosLike } from './webgpu.js';

export interface BundleFile {
  readonly role: BundleRole;
  /** Added to the output's stem: '' for the scoring graph, '.encoder', '.step', '.greedy'. */
  readonly suffix: string;
  readonly proto: ModelProto;
}

export interface Bundle {
  readonly files: readonly BundleFile[];
  readonly manifest: BundleManifest;
}

const float = (dims: readonly OnnxDim[]): TensorType => ({ elemType: DataType.FLOAT, dims });
const int64 = (dims: readonly OnnxDim[]): TensorType => ({ elemType: DataType.INT64, dims });
const bool = (dims: readonly OnnxDim[]): TensorType => ({ elemType: DataType.BOOL, dims });
const info = (name: string, type: TensorType): ValueInfoProto => ({ name, type: { elemType: type.elemType, shape: type.dims } });

/** The symbolic and fixed sizes every graph of the bundle uses. */
interface Sizes {
  readonly batch: OnnxDim;
  readonly srcTime: OnnxDim;
  readonly layers: number;
  readonly hidden: number;
  readonly memoryDim: number;
  readonly vocab: number;
}

/** Tensor names of a decoder state inside one graph. */
interface StepState {
  readonly h: string;
  readonly c?: string;
  readonly feed?: string;
}

interface StepOutputs extends StepState {
  readonly logits: string;
  readonly attention?: string;
}

/** The encoder side as seen from a graph: memory [batch, src_time, D], its mask, and the initial state. */
interface EncoderValues {
  readonly memory?: string;
  readonly valid?: string;
  readonly lengths?: string;
}

export function lowerSeq2seq(ir: ModelIR, weights: WeightMap, options: LowerOptions, stem: string): Bundle {
  const decoder = ir.decoder!;
  const kind = ir.encoder === undefined ? 'lm' : 'seq2seq';
  const memoryType = ir.encoder?.memoryType;
  const sizes: Sizes = {
    batch: memoryType === undefined ? dimParam('batch') : onnxDim(memoryType.dims[0]!),
    srcTime: memoryType === undefined ? dimParam('src_time') : onnxDim(memoryType.dims[1]!),
    layers: decoder.recurrent.layers,
    hidden: decoder.recurrent.hidden,
    memoryDim: decoder.attention?.memoryDim ?? (memoryType === undefined ? 0 : (memoryType.dims[2] as { size: number }).size),
    vocab: decoder.vocab,
  };
  const emitter = new Seq2seqEmitter(ir, decoder, weights, options, sizes);
  const files: BundleFile[] = [];
  const model = (graph: GraphProto, role: BundleRole): ModelProto =>
    modelProto(graph, options, `${ir.name} (${role})`, '', [
      { key: 'seqc.bundle_role', value: role },
      { key: 'seqc.signature', value: JSON.stringify(bundleSignature(ir, graph, role)) },
    ]);
  const target = targetFor(options.target);
  files.push({ role: 'scoring', suffix: '', proto: model(target.bundleScoringGraph(emitter), 'scoring') });
  if (kind === 'seq2seq') files.push({ role: 'encoder', suffix: '.encoder', proto: model(emitter.encoderGraph(), 'encoder') });
  files.push({ role: 'step', suffix: '.step', proto: model(emitter.stepGraph(), 'step') });
  files.push({ role: 'greedy', suffix: '.greedy', proto: model(target.bundleGreedyGraph(emitter), 'greedy') });
  const entry = (f: BundleFile) => ({
    path: `${stem}${f.suffix}.onnx`,
    inputs: f.proto.graph.inputs.map((i) => i.name),
    outputs: f.proto.graph.outputs.map((o) => o.name),
  });
  const byRole = (role: BundleRole) => files.find((f) => f.role === role);
  const sourceInput = ir.inputs.find((i) => i.role.kind === 'data');
  const lengthsInput = ir.inputs.find((i) => i.role.kind === 'lengths');
  const att = decoder.attention;
  const manifest: BundleManifest = {
    format: 'seqc-bundle',
    version: 1,
    ...target.manifestFields,
    name: ir.name,
    kind,
    bos: decoder.bos,
    eos: decoder.eos,
    maxLength: decoder.maxLength,
    vocab: decoder.vocab,
    targetVocab: decoder.embedding.vocab,
    state: { cell: decoder.recurrent.cell, layers: sizes.layers, hidden: sizes.hidden },
    inputFeed: att?.inputFeed === true,
    ...(kind === 'seq2seq' ? { memoryDim: sizes.memoryDim } : {}),
    ...(att === undefined ? {} : { attention: { score: att.score, placement: att.placement } }),
    ...(sourceInput === undefined ? {} : { source: { input: sourceInput.name, ...(lengthsInput === undefined ? {} : { lengths: lengthsInput.name }) } }),
    files: {
      scoring: entry(byRole('scoring')!),
      ...(kind === 'seq2seq' ? { encoder: entry(byRole('encoder')!) } : {}),
      step: entry(byRole('step')!),
      greedy: entry(byRole('greedy')!),
    },
  };
  return { files, manifest };
}

class Seq2seqEmitter {
  constructor(
    private readonly ir: ModelIR,
    private readonly decoder: DecoderIR,
    private readonly weights: WeightMap,
    private readonly options: LowerOptions,
    private readonly sizes: Sizes,
  ) {
    this.target = targetFor(options.target);
  }

  /** Every generic-vs-webgpu decision (./target.ts): for webgpu, no Loop, no Shape, no int64 arithmetic, no RNN node. */
  private readonly target: Target;

  private get isLstm(): boolean {
    return this.decoder.recurrent.cell === 'lstm';
  }

  private get stateType(): TensorType {
    return float([dimValue(this.sizes.layers), this.sizes.batch, dimValue(this.sizes.hidden)]);
  }

  private graph(b: GraphBuilder, name: string, inputs: ValueInfoProto[], outputs: ValueInfoProto[], doc: string): GraphProto {
    return { name, nodes: b.nodes, initializers: b.initializers, inputs, outputs, valueInfo: b.valueInfo, docString: doc };
  }

  private weight(name: string): Float32Array {
    const w = this.weights.get(name);
    if (w === undefined) throw new Error(`weight ${name} is missing after weights were resolved`);
    return w.data;
  }

  /** `src`, `src_lengths` → `memory`, `h0`, `c0`. */
  encoderGraph(): GraphProto {
    const b = new GraphBuilder(this.options.opset);
    for (const name of ['memory', 'h0', 'c0']) b.reserve(name);
    const { inputs, memory, h0, c0 } = this.encoder(b, 'memory');
    const outputs = [info('memory', float([this.sizes.batch, this.sizes.srcTime, dimValue(this.sizes.memoryDim)]))];
    onnx.identity(b, 'output/h0/Identity', [h0], { name: 'h0' });
    outputs.push(info('h0', this.stateType));
    if (c0 !== undefined) {
      onnx.identity(b, 'output/c0/Identity', [c0], { name: 'c0' });
      outputs.push(info('c0', this.stateType));
    }
    void memory;
    return this.graph(b, `${this.ir.name}_encoder`, inputs, outputs, 'The encoder: memory and the decoder\'s initial state (docs/seq2seq.md).');
  }

  /** `tokens`, `h`, `c`, `memory`, lengths, `feed` → `logits`, `h_out`, `c_out`, `attention`, `feed_out`. */
  stepGraph(): GraphProto {
    const b = new GraphBuilder(this.options.opset);
    const { batch, srcTime } = this.sizes;
    const inputs: ValueInfoProto[] = [info('tokens', int64([batch])), info('h', this.stateType)];
    if (this.isLstm) inputs.push(info('c', this.stateType));
    let enc: EncoderValues = {};
    if (this.ir.encoder !== undefined) {
      inputs.push(info('memory', float([batch, srcTime, dimValue(this.sizes.memoryDim)])));
      const lengths = this.ir.inputs.find((i) => i.role.kind === 'lengths')?.name;
      if (lengths !== undefined) inputs.push(info(lengths, int64([batch])));
      enc = { memory: 'memory', ...(lengths === undefined ? {} : { lengths, valid: this.sourceMask(b, 'memory', lengths) }) };
    }
    const feedDim = dimValue(this.sizes.hidden);
    if (this.decoder.attention?.inputFeed === true) inputs.push(info('feed', float([batch, feedDim])));
    for (const i of inputs) b.reserve(i.name);
    for (const name of ['logits', 'h_out', 'c_out', 'attention', 'feed_out']) b.reserve(name);
    const state: StepState = { h: 'h', ...(this.isLstm ? { c: 'c' } : {}), ...(this.decoder.attention?.inputFeed === true ? { feed: 'feed' } : {}) };
    const out = this.step(b, 'tokens', state, enc);
    const outputs: ValueInfoProto[] = [];
    const expose = (internal: string | undefined, name: string, type: TensorType): void => {
      if (internal === undefined) return;
      onnx.identity(b, `output/${name}/Identity`, [internal], { name });
      outputs.push(info(name, type));
    };
    expose(out.logits, 'logits', float([batch, dimValue(this.sizes.vocab)]));
    expose(out.h, 'h_out', this.stateType);
    expose(out.c, 'c_out', this.stateType);
    expose(out.attention, 'attention', float([batch, srcTime]));
    expose(out.feed, 'feed_out', float([batch, feedDim]));
    return this.graph(b, `${this.ir.name}_step`, inputs, outputs, 'One decoder step (docs/seq2seq.md).');
  }

  /** Teacher forcing: (`src`, `src_lengths`,) `tgt_in` → `logits` [batch, tgt_time, vocab], through a Loop over the step. */
  scoringGraph(): GraphProto {
    const b = new GraphBuilder(this.options.opset);
    b.reserve('tgt_in');
    b.reserve('logits');
    const { inputs, state, enc } = this.start(b, 'tgt_in');
    inputs.push(info('tgt_in', int64([this.sizes.batch, dimParam('tgt_time')])));
    const tgtTime = this.axisSize(b, 'tgt_in', 1, 'decoder/tgt_time');
    const targets = b.fresh('decoder/tgt_time_major');
    onnx.transpose(b, 'decoder/tgt_in/Transpose', ['tgt_in'], { name: targets, type: int64([dimParam('tgt_time'), this.sizes.batch]) }, { perm: [1, 0] });
    const loop = this.loop(b, 'decoder/teacher_forcing', tgtTime, state, [], (body, iteration, current) => {
      const tokens = body.fresh('decoder/teacher_forcing/tokens');
      onnx.gather(body, 'decoder/teacher_forcing/tokens/Gather', [targets, iteration], { name: tokens, type: int64([this.sizes.batch]) }, { axis: 0 });
      const out = this.step(body, tokens, current, enc);
      return { state: out, carried: [], scans: [{ name: out.logits, type: float([this.sizes.batch, dimValue(this.sizes.vocab)]) }] };
    });
    onnx.transpose(b, 'output/logits/Transpose', [loop.scans[0]!], { name: 'logits' }, { perm: [1, 0, 2] });
    const outputs = [info('logits', float([this.sizes.batch, dimParam('tgt_time'), dimValue(this.sizes.vocab)]))];
    return this.graph(b, this.ir.name, inputs, outputs, 'Teacher-forced scoring: tgt_in starts with bos; logits for every step (docs/seq2seq.md).');
  }

  /** Greedy decoding as one ONNX Loop: → `tokens` [batch, max_length], `lengths` [batch]. */
  greedyGraph(): GraphProto {
    const b = new GraphBuilder(this.options.opset);
    b.reserve('tokens');
    b.reserve('lengths');
    const lm = this.ir.encoder === undefined;
    if (lm) b.reserve('prompt');
    const { inputs, state: initial, enc } = this.start(b, lm ? 'prompt' : undefined);
    const { batch } = this.sizes;
    let state = initial;
    let firstTokens: string;
    if (lm) {
      inputs.push(info('prompt', int64([batch, dimParam('prompt_time')])));
      // bos, then the prompt (which may be empty): all but the last token warm the state, and
      // generation starts from the last one.
      const promptShape = b.fresh('decoder/prompt_shape');
      onnx.shape(b, 'decoder/prompt_shape/Shape', ['prompt'], { name: promptShape });
      const sliceStart = b.int64Initializer('decoder/batch_slice_start', [0]);
      const sliceEnd = b.int64Initializer('decoder/batch_slice_end', [1]);
      const batchOnly = b.fresh('decoder/prompt_batch');
      onnx.slice(b, 'decoder/prompt_batch/Slice', [promptShape, sliceStart, sliceEnd], { name: batchOnly });
      const oneColumn = b.int64Initializer('decoder/one_column', [1]);
      const columnShape = b.fresh('decoder/bos_column_shape');
      onnx.concat(b, 'decoder/bos_column_shape/Concat', [batchOnly, oneColumn], { name: columnShape }, { axis: 0 });
      const bosColumn = b.fresh('decoder/bos_column');
      onnx.constantOfShape(b, 'decoder/bos_column/ConstantOfShape', [columnShape], { name: bosColumn, type: int64([batch, dimValue(1)]) }, { int64Value: this.decoder.bos });
      const fed = b.fresh('decoder/fed');
      onnx.concat(b, 'decoder/fed/Concat', [bosColumn, 'prompt'], { name: fed, type: int64([batch, dimParam('fed_time')]) }, { axis: 1 });
      const promptTime = this.axisSize(b, fed, 1, 'decoder/prompt_time');
      const one = b.int64Initializer('decoder/one', [1], []);
      const warmSteps = b.fresh('decoder/warm_steps');
      onnx.sub(b, 'decoder/warm_steps/Sub', [promptTime, one], { name: warmSteps, type: int64([]) });
      const prompt = b.fresh('decoder/prompt_time_major');
      onnx.transpose(b, 'decoder/prompt/Transpose', [fed], { name: prompt, type: int64([dimParam('fed_time'), batch]) }, { perm: [1, 0] });
      const warm = this.loop(b, 'decoder/prompt', warmSteps, state, [], (body, iteration, current) => {
        const tokens = body.fresh('decoder/prompt/tokens');
        onnx.gather(body, 'decoder/prompt/tokens/Gather', [prompt, iteration], { name: tokens, type: int64([batch]) }, { axis: 0 });
        return { state: this.step(body, tokens, current, enc), carried: [], scans: [] };
      });
      state = warm.state;
      const minusOne = b.int64Initializer('decoder/last_index', [-1], []);
      firstTokens = b.fresh('decoder/first_tokens');
      onnx.gather(b, 'decoder/first_tokens/Gather', [prompt, minusOne], { name: firstTokens, type: int64([batch]) }, { axis: 0 });
    } else {
      firstTokens = this.filled(b, 'decoder/bos_tokens', this.batchVector(b, enc), this.decoder.bos);
    }
    const notFinished = b.fresh('decoder/finished0');
    const zeros = this.filled(b, 'decoder/zeros_int', this.batchVector(b, enc, firstTokens), 0);
    onnx.cast(b, 'decoder/finished0/Cast', [zeros], { name: notFinished, type: bool([batch]) }, { to: DataType.BOOL });
    const maxLength = b.int64Initializer('decoder/max_length', [this.decoder.maxLength], []);
    const eos = b.int64Initializer('decoder/eos', [this.decoder.eos], []);
    const loop = this.loop(
      b,
      'decoder/greedy',
      maxLength,
      state,
      [
        { name: firstTokens, type: int64([batch]) },
        { name: notFinished, type: bool([batch]) },
      ],
      (body, _iteration, current, carried) => {
        const [tokens, finished] = carried as [string, string];
        const out = this.step(body, tokens, current, enc);
        const best = body.fresh('decoder/greedy/argmax');
        onnx.argMax(body, 'decoder/greedy/ArgMax', [out.logits], { name: best, type: int64([batch]) }, { axis: 1, keepdims: 0 });
        const next = body.fresh('decoder/greedy/next');
        onnx.where(body, 'decoder/greedy/Where', [finished, eos, best], { name: next, type: int64([batch]) });
        const isEos = body.fresh('decoder/greedy/is_eos');
        onnx.equal(body, 'decoder/greedy/Equal', [next, eos], { name: isEos, type: bool([batch]) });
        const nowFinished = body.fresh('decoder/greedy/finished');
        onnx.or(body, 'decoder/greedy/Or', [finished, isEos], { name: nowFinished, type: bool([batch]) });
        const live = body.fresh('decoder/greedy/live');
        onnx.not(body, 'decoder/greedy/Not', [finished], { name: live, type: bool([batch]) });
        const counted = body.fresh('decoder/greedy/counted');
        onnx.cast(body, 'decoder/greedy/Cast', [live], { name: counted, type: int64([batch]) }, { to: DataType.INT64 });
        return {
          state: out,
          carried: [next, nowFinished],
          scans: [
            { name: next, type: int64([batch]) },
            { name: counted, type: int64([batch]) },
          ],
        };
      },
    );
    onnx.transpose(b, 'output/tokens/Transpose', [loop.scans[0]!], { name: 'tokens' }, { perm: [1, 0] });
    const axis0 = b.int64Initializer('decoder/axis0', [0]);
    onnx.reduceSum(b, 'output/lengths/ReduceSum', [loop.scans[1]!, axis0], { name: 'lengths' }, { keepdims: 0 });
    const outputs = [info('tokens', int64([batch, dimValue(this.decoder.maxLength)])), info('lengths', int64([batch]))];
    return this.graph(b, `${this.ir.name}_greedy`, inputs, outputs, 'Greedy decoding in one Loop: tokens after bos, eos-filled after eos; lengths count up to and including eos.');
  }

  // ---------------------------------------------------------------------------------------------
  // The webgpu target's scoring and greedy graphs: the WebGPU provider has no Loop (./webgpu.ts).

  /**
   * Teacher forcing without Loop. When the recurrent layer's input does not depend on attention (no
   * attention, or Luong attention without input feeding), the recurrent layer runs over the whole of
   * `tgt_in` at once and attention is batched over the target steps: `tgt_time` stays symbolic. Bahdanau
   * attention and input feeding make each step's input depend on the last one, so the step is written
   * out `max_length` times and `tgt_in` has exactly `max_length` columns.
   */
  scoringGraphWithoutLoop(): GraphProto {
    const b = new GraphBuilder(this.options.opset);
    b.reserve('tgt_in');
    b.reserve('logits');
    const att = this.decoder.attention;
    const lm = this.ir.encoder === undefined;
    const { inputs, state, enc } = lm ? { inputs: [] as ValueInfoProto[], state: undefined, enc: {} as EncoderValues } : this.start(b);
    const { batch, vocab } = this.sizes;
    if (att?.placement === 'bahdanau' || att?.inputFeed === true) {
      const steps = this.decoder.maxLength;
      inputs.push(info('tgt_in', int64([batch, dimValue(steps)])));
      const ids = floatIdsAsInt32(b, idsAsFloat(b, 'tgt_in', this.decoder.embedding.vocab, float([batch, dimValue(steps)]), 'decoder/tgt_ids'), [batch, dimValue(steps)], 'decoder/tgt_ids_int32');
      let current = state!;
      const columns: string[] = [];
      for (let t = 0; t < steps; t++) {
        const tokens = b.fresh(`decoder/t${t}/tokens`);
        onnx.gather(b, `decoder/t${t}/tokens/Gather`, [ids, b.int64Initializer(`decoder/t${t}/index`, [t], [])], { name: tokens, type: { elemType: DataType.INT32, dims: [batch] } }, { axis: 1 });
        const first = b.nodes.length;
        const out = this.step(b, tokens, current, enc);
        prefixNodeNames(b, first, `decoder/t${t}`);
        current = out;
        const column = b.fresh(`decoder/t${t}/logits`);
        onnx.unsqueeze(b, `decoder/t${t}/logits/Unsqueeze`, [out.logits, b.int64Initializer(`decoder/t${t}/axis1`, [1])], { name: column, type: float([batch, dimValue(1), dimValue(vocab)]) });
        columns.push(column);
      }
      onnx.concat(b, 'output/logits/Concat', columns, { name: 'logits' }, { axis: 1 });
      const outputs = [info('logits', float([batch, dimValue(steps), dimValue(vocab)]))];
      return this.graph(b, this.ir.name, inputs, outputs, `Teacher-forced scoring for WebGPU: tgt_in has max_length (${steps}) columns and starts with bos; the step is written out once per column (docs/seq2seq.md).`);
    }
    const tgtTime = dimParam('tgt_time');
    inputs.push(info('tgt_in', int64([batch, tgtTime])));
    const embedded = this.embedSequence(b, 'tgt_in', tgtTime);
    const run = this.recurrentOverSequence(b, embedded, tgtTime, state);
    const top = b.fresh(`${this.decoder.recurrent.label}/output_batch_major`);
    onnx.transpose(b, `${this.decoder.recurrent.label}/output/Transpose`, [run.top], { name: top, type: float([batch, tgtTime, dimValue(this.sizes.hidden)]) }, { perm: [1, 0, 2] });
    const output = att?.placement === 'luong' ? this.attentionalSequence(b, top, tgtTime, enc) : top;
    const logits = this.headOverSequence(b, output, tgtTime);
    onnx.identity(b, 'output/logits/Identity', [logits], { name: 'logits' });
    const outputs = [info('logits', float([batch, tgtTime, dimValue(vocab)]))];
    return this.graph(b, this.ir.name, inputs, outputs, 'Teacher-forced scoring for WebGPU: the recurrent layer runs over all of tgt_in (which starts with bos) at once (docs/seq2seq.md).');
  }

  /**
   * Greedy decoding without Loop: the step written out `max_length` times, with token ids carried as
   * floats (the WebGPU provider reads int64 only as Gather indices) and cast to int64 at the end. A
   * language model reads bos and the prompt in one pass of the recurrent layer.
   */
  greedyGraphUnrolled(): GraphProto {
    const b = new GraphBuilder(this.options.opset);
    b.reserve('tokens');
    b.reserve('lengths');
    const { batch, vocab, layers } = this.sizes;
    const steps = this.decoder.maxLength;
    let inputs: ValueInfoProto[];
    let state: StepState;
    let enc: EncoderValues = {};
    let logits: string;
    if (this.ir.encoder === undefined) {
      b.reserve('prompt');
      const promptTime = dimParam('prompt_time');
      const fedTime = dimParam('fed_time');
      inputs = [info('prompt', int64([batch, promptTime]))];
      // bos, then the prompt (which may be empty), all through the recurrent layer at once.
      const prompt = idsAsFloat(b, 'prompt', this.decoder.embedding.vocab, float([batch, promptTime]), 'decoder/prompt_ids');
      const fed = b.fresh('decoder/fed_ids');
      const pads = b.int64Initializer('decoder/bos_pads', [0, 1, 0, 0]);
      onnx.pad(b, 'decoder/fed/Pad', [prompt, pads, b.floatScalar('decoder/bos_value', this.decoder.bos)], { name: fed, type: float([batch, fedTime]) });
      const embedded = this.embedSequence(b, floatIdsAsInt32(b, fed, [batch, fedTime], 'decoder/fed_ids_int32'), fedTime);
      const run = this.recurrentOverSequence(b, embedded, fedTime, undefined);
      state = { h: run.h, ...(run.c === undefined ? {} : { c: run.c }) };
      const last = b.fresh('decoder/prompt_output');
      onnx.gather(b, 'decoder/prompt_output/Gather', [run.h, b.int64Initializer('decoder/top_layer', [layers - 1], [])], { name: last, type: float([batch, dimValue(this.sizes.hidden)]) }, { axis: 0 });
      logits = this.head(b, last);
    } else {
      const started = this.start(b);
      inputs = started.inputs;
      enc = started.enc;
      const bos = floatIdsAsInt32(b, batchFilled(b, enc.memory!, 3, batch, this.decoder.bos, 'decoder/bos'), [batch], 'decoder/bos_int32');
      const first = b.nodes.length;
      const out = this.step(b, bos, started.state, enc);
      prefixNodeNames(b, first, 'decoder/t0');
      state = out;
      logits = out.logits;
    }
    const eos = b.floatScalar('decoder/eos', this.decoder.eos);
    const one = b.floatScalar('decoder/one', 1);
    const axis1 = b.int64Initializer('decoder/axis1', [1]);
    const picked: string[] = [];
    const counted: string[] = [];
    let finished: string | undefined;
    for (let t = 0; t < steps; t++) {
      const path = `decoder/t${t}`;
      const argmax = b.fresh(`${path}/argmax`);
      onnx.argMax(b, `${path}/ArgMax`, [logits], { name: argmax, type: int64([batch]) }, { axis: 1, keepdims: 0 });
      const best = idsAsFloat(b, argmax, vocab, float([batch]), `${path}/best`);
      let next = best;
      let count: string;
      if (finished === undefined) {
        count = b.fresh(`${path}/counted`);
        onnx.add(b, `${path}/counted/Add`, [zerosLike(b, best, float([batch]), `${path}/zeros`), one], { name: count, type: float([batch]) });
      } else {
        const done = b.fresh(`${path}/finished_bool`);
        onnx.cast(b, `${path}/finished/Cast`, [finished], { name: done, type: bool([batch]) }, { to: DataType.BOOL });
        next = b.fresh(`${path}/next`);
        onnx.where(b, `${path}/Where`, [done, eos, best], { name: next, type: float([batch]) });
        count = b.fresh(`${path}/counted`);
        onnx.sub(b, `${path}/counted/Sub`, [one, finished], { name: count, type: float([batch]) });
      }
      for (const [list, value, label] of [[picked, next, 'token'], [counted, count, 'count']] as const) {
        const column = b.fresh(`${path}/${label}_column`);
        onnx.unsqueeze(b, `${path}/${label}/Unsqueeze`, [value, axis1], { name: column, type: float([batch, dimValue(1)]) });
        list.push(column);
      }
      const isEos = b.fresh(`${path}/is_eos`);
      onnx.equal(b, `${path}/Equal`, [next, eos], { name: isEos, type: bool([batch]) });
      const isEosFloat = b.fresh(`${path}/is_eos_float`);
      onnx.cast(b, `${path}/is_eos/Cast`, [isEos], { name: isEosFloat, type: float([batch]) }, { to: DataType.FLOAT });
      if (finished === undefined) {
        finished = isEosFloat;
      } else {
        const nowFinished = b.fresh(`${path}/finished`);
        onnx.max(b, `${path}/finished/Max`, [finished, isEosFloat], { name: nowFinished, type: float([batch]) });
        finished = nowFinished;
      }
      if (t + 1 === steps) break;
      const tokens = floatIdsAsInt32(b, next, [batch], `${path}/next_int32`);
      const first = b.nodes.length;
      const out = this.step(b, tokens, state, enc);
      prefixNodeNames(b, first, `decoder/t${t + 1}`);
      state = out;
      logits = out.logits;
    }
    const joinedTokens = b.fresh('output/tokens/float');
    onnx.concat(b, 'output/tokens/Concat', picked, { name: joinedTokens, type: float([batch, dimValue(steps)]) }, { axis: 1 });
    onnx.cast(b, 'output/tokens/Cast', [joinedTokens], { name: 'tokens' }, { to: DataType.INT64 });
    const joinedCounts = b.fresh('output/lengths/counts');
    onnx.concat(b, 'output/lengths/Concat', counted, { name: joinedCounts, type: float([batch, dimValue(steps)]) }, { axis: 1 });
    const lengths = b.fresh('output/lengths/float');
    onnx.reduceSum(b, 'output/lengths/ReduceSum', [joinedCounts, axis1], { name: lengths, type: float([batch]) }, { keepdims: 0 });
    onnx.cast(b, 'output/lengths/Cast', [lengths], { name: 'lengths' }, { to: DataType.INT64 });
    const outputs = [info('tokens', int64([batch, dimValue(steps)])), info('lengths', int64([batch]))];
    return this.graph(b, `${this.ir.name}_greedy`, inputs, outputs, `Greedy decoding for WebGPU, the step written out max_length (${steps}) times: tokens after bos, eos-filled after eos; lengths count up to and including eos.`);
  }

  /** Token ids [batch, time] (int64, or int32 from a float) → the decoder's embedding, time-major [time, batch, E]. */
  private embedSequence(b: GraphBuilder, ids: string, time: OnnxDim): string {
    const { batch } = this.sizes;
    const emb = this.decoder.embedding;
    const table = b.floatInitializer(`${emb.label}.weight`, [emb.vocab, emb.dim], this.weight(`${emb.label}.weight`));
    const gathered = b.fresh(`${emb.label}/output`);
    onnx.gather(b, `${emb.label}/Gather`, [table, ids], { name: gathered, type: float([batch, time, dimValue(emb.dim)]) }, { axis: 0 }, this.where(emb.span));
    const out = b.fresh(`${emb.label}/time_major`);
    onnx.transpose(b, `${emb.label}/to_time_major/Transpose`, [gathered], { name: out, type: float([time, batch, dimValue(emb.dim)]) }, { perm: [1, 0, 2] });
    return out;
  }

  /**
   * The stacked recurrent layer over a time-major sequence [time, batch, input], from `state` or from
   * zeros: the same nodes and weights as the step's, with a longer input. Returns the top layer's outputs
   * [time, batch, H] and the final state [L, batch, H].
   */
  private recurrentOverSequence(b: GraphBuilder, x: string, time: OnnxDim, state: StepState | undefined): { top: string; h: string; c?: string } {
    const op = this.decoder.recurrent;
    const { batch, hidden } = this.sizes;
    const hs: string[] = [];
    const cs: string[] = [];
    let input = x;
    let inputSize = op.inputSize;
    const stateType = float([dimValue(1), batch, dimValue(hidden)]);
    for (let layer = 0; layer < op.layers; layer++) {
      const path = `${op.label}/l${layer}`;
      const initial = (which: 'h' | 'c', from: string | undefined): string | undefined => {
        if (from === undefined) return undefined;
        const out = b.fresh(`${path}/${which}`);
        onnx.gather(b, `${path}/${which}/Gather`, [from, b.int64Initializer(`${path}/state_index`, [layer])], { name: out, type: stateType }, { axis: 0 });
        return out;
      };
      const initialH = initial('h', state?.h);
      const y = b.fresh(`${path}/Y`);
      const yh = b.fresh(`${path}/Y_h`);
      let initialC: string | undefined;
      let yc: string | undefined;
      if (op.cell === 'lstm') {
        initialC = initial('c', state?.c);
        yc = b.fresh(`${path}/Y_c`);
        cs.push(yc);
      }
      const outputs = { y: { name: y, type: float([time, dimValue(1), batch, dimValue(hidden)]) }, yH: { name: yh, type: stateType }, yC: yc === undefined ? undefined : { name: yc, type: stateType } };
      const place = { layer, direction: 0 as const, inputSize, initializerPath: `${path}/forward`, nodePath: path, rnnAsGru: true, docString: this.where() };
      emitRecurrentNode(b, (n) => this.weight(n), op, place, { x: input, initialH, initialC }, outputs);
      hs.push(yh);
      const next = b.fresh(`${path}/output`);
      onnx.squeeze(b, `${path}/Squeeze`, [y, b.int64Initializer(`${path}/direction_axis`, [1])], { name: next, type: float([time, batch, dimValue(hidden)]) });
      input = next;
      inputSize = hidden;
    }
    const h = b.fresh(`${op.label}/h_out`);
    onnx.concat(b, `${op.label}/h_out/Concat`, hs, { name: h, type: this.stateType }, { axis: 0 });
    let c: string | undefined;
    if (cs.length > 0) {
      c = b.fresh(`${op.label}/c_out`);
      onnx.concat(b, `${op.label}/c_out/Concat`, cs, { name: c, type: this.stateType }, { axis: 0 });
    }
    return { top: input, h, ...(c === undefined ? {} : { c }) };
  }

  /**
   * Luong attention for every target step at once: queries [batch, T, Q] against the memory, the same
   * scores, mask, softmax and linear_out as `attend` and `attentionalVector`, as batched MatMuls.
   */
  private attentionalSequence(b: GraphBuilder, queries: string, time: OnnxDim, enc: EncoderValues): string {
    const att = this.decoder.attention!;
    const { batch, srcTime, memoryDim } = this.sizes;
    const q = att.queryDim;
    const memory = enc.memory!;
    const path = att.label;
    const where = this.where(att.span);
    const seq = (features: OnnxDim): TensorType => float([batch, time, features]);
    const matmul = (name: string, left: string, right: string, type: TensorType): string => {
      const out = b.fresh(`${path}/${name}`);
      onnx.matMul(b, `${path}/${name}/MatMul`, [left, right], { name: out, type }, where);
      return out;
    };
    // For webgpu, the step graph's Gemms read these weights in PyTorch's layout: the scoring graph transposes the same tensors.
    const transposed = (parameter: string, rows: number, columns: number): string =>
      this.target.matMulWeight(b, `${att.label}.${parameter}.weight`, `${att.label}/${parameter}_T`, rows, columns, this.weight(`${att.label}.${parameter}.weight`), where);
    let scores: string;
    if (att.score === 'additive') {
      let projected = matmul('query_projected', queries, transposed('linear_query', memoryDim, q), seq(dimValue(memoryDim)));
      const biased = b.fresh(`${path}/query_biased`);
      onnx.add(b, `${path}/linear_query/Add`, [projected, b.floatInitializer(`${att.label}.linear_query.bias`, [memoryDim], this.weight(`${att.label}.linear_query.bias`))], { name: biased, type: seq(dimValue(memoryDim)) }, where);
      projected = biased;
      const queryRows = b.fresh(`${path}/query_rows`);
      onnx.unsqueeze(b, `${path}/query/Unsqueeze`, [projected, b.int64Initializer(`${path}/axis2`, [2])], { name: queryRows, type: float([batch, time, dimValue(1), dimValue(memoryDim)]) }, where);
      const context = matmul('context_projected', memory, transposed('linear_context', memoryDim, memoryDim), float([batch, srcTime, dimValue(memoryDim)]));
      const contextRows = b.fresh(`${path}/context_rows`);
      onnx.unsqueeze(b, `${path}/context/Unsqueeze`, [context, b.int64Initializer(`${path}/axis1`, [1])], { name: contextRows, type: float([batch, dimValue(1), srcTime, dimValue(memoryDim)]) }, where);
      const pairs = float([batch, time, srcTime, dimValue(memoryDim)]);
      const summed = b.fresh(`${path}/summed`);
      onnx.add(b, `${path}/Add`, [contextRows, queryRows], { name: summed, type: pairs }, where);
      const activated = b.fresh(`${path}/tanh`);
      onnx.tanh(b, `${path}/Tanh`, [summed], { name: activated, type: pairs }, where);
      const vT = b.floatInitializer(`${att.label}/v_T`, [memoryDim, 1], this.weight(`${att.label}.v.weight`), `${att.label}.v.weight transposed`);
      const scores4 = matmul('scores4', activated, vT, float([batch, time, srcTime, dimValue(1)]));
      scores = b.fresh(`${path}/scores`);
      onnx.squeeze(b, `${path}/scores/Squeeze`, [scores4, b.int64Initializer(`${path}/axis3`, [3])], { name: scores, type: seq(srcTime) }, where);
    } else {
      const projected = att.score === 'general' ? matmul('query_projected', queries, transposed('linear_in', memoryDim, q), seq(dimValue(memoryDim))) : queries;
      const memoryT = b.fresh(`${path}/memory_T`);
      onnx.transpose(b, `${path}/memory/Transpose`, [memory], { name: memoryT, type: float([batch, dimValue(memoryDim), srcTime]) }, { perm: [0, 2, 1] }, where);
      scores = matmul('scores', projected, memoryT, seq(srcTime));
    }
    if (enc.valid !== undefined) {
      const valid = b.fresh(`${path}/valid_rows`);
      onnx.unsqueeze(b, `${path}/mask/Unsqueeze`, [enc.valid, b.int64Initializer(`${path}/mask_axis`, [1])], { name: valid, type: bool([batch, dimValue(1), srcTime]) }, where);
      const masked = b.fresh(`${path}/masked_scores`);
      onnx.where(b, `${path}/mask/Where`, [valid, scores, b.floatScalar(`${path}/lowest`, -3.4028234663852886e38)], { name: masked, type: seq(srcTime) }, where);
      scores = masked;
    }
    const weights = b.fresh(`${path}/weights`);
    onnx.softmax(b, `${path}/Softmax`, [scores], { name: weights, type: seq(srcTime) }, { axis: -1 }, where);
    const context = matmul('context', weights, memory, seq(dimValue(memoryDim)));
    const joined = b.fresh(`${path}/context_query`);
    onnx.concat(b, `${path}/Concat`, [context, queries], { name: joined, type: seq(dimValue(memoryDim + q)) }, { axis: 2 }, where);
    let out = matmul('linear_out', joined, transposed('linear_out', q, memoryDim + q), seq(dimValue(q)));
    if (att.score === 'additive') {
      const biased = b.fresh(`${path}/linear_out_biased`);
      onnx.add(b, `${path}/linear_out/Add`, [out, b.floatInitializer(`${att.label}.linear_out.bias`, [q], this.weight(`${att.label}.linear_out.bias`))], { name: biased, type: seq(dimValue(q)) }, where);
      return biased;
    }
    const activated = b.fresh(`${path}/attentional`);
    onnx.tanh(b, `${path}/Tanh`, [out], { name: activated, type: seq(dimValue(q)) }, where);
    out = activated;
    return out;
  }

  /** The decoder's head (the steps after the recurrent layer and attention) on one step's output [batch, F]. */
  private head(b: GraphBuilder, output: string): string {
    const d = this.decoder;
    const lowering = new Lowering(this.ir, this.weights, this.options, b);
    lowering.bind(d.recurrent.label, output, { dtype: 'float32', dims: [], hasTime: false }, false);
    for (const op of d.head) lowering.op(op);
    return lowering.lookup(d.head.length === 0 ? d.recurrent.label : d.head[d.head.length - 1]!.output.id).name;
  }

  /** The head on a batch-major sequence [batch, T, F]: each step's type gains the T axis, as plain batched values. */
  private headOverSequence(b: GraphBuilder, output: string, time: OnnxDim): string {
    const d = this.decoder;
    const timeDim: Dim = time.kind === 'param' ? { kind: 'symbol', name: time.name } : { kind: 'fixed', size: time.value };
    const lowering = new Lowering(this.ir, this.weights, this.options, b);
    lowering.bind(d.recurrent.label, output, { dtype: 'float32', dims: [], hasTime: false }, false);
    for (const op of d.head) {
      const type = op.output.type;
      lowering.op({ ...op, output: { ...op.output, type: { ...type, dims: [type.dims[0]!, timeDim, ...type.dims.slice(1)] } } });
    }
    return lowering.lookup(d.head.length === 0 ? d.recurrent.label : d.head[d.head.length - 1]!.output.id).name;
  }

  /** Graph inputs and the decoder's initial state: from the encoder, or zeros for a language model. */
  private start(b: GraphBuilder, batchSource?: string): { inputs: ValueInfoProto[]; state: StepState; enc: EncoderValues } {
    if (this.ir.encoder !== undefined) {
      const { inputs, memory, h0, c0, lengths } = this.encoder(b, b.fresh('encoder/memory'));
      const valid = lengths === undefined ? undefined : this.sourceMask(b, memory, lengths);
      const enc: EncoderValues = { memory, ...(lengths === undefined ? {} : { lengths }), ...(valid === undefined ? {} : { valid }) };
      let feed: string | undefined;
      if (this.decoder.attention?.inputFeed === true) feed = this.target.feedZeros(b, 'decoder/feed0', h0, () => this.batchVector(b, enc), this.sizes.batch, this.sizes.hidden);
      return { inputs, state: { h: h0, ...(c0 === undefined ? {} : { c: c0 }), ...(feed === undefined ? {} : { feed }) }, enc };
    }
    const batchScalar = this.axisSize(b, batchSource!, 0, 'decoder/batch');
    const h = this.zerosState(b, 'decoder/h0', batchScalar);
    const c = this.isLstm ? this.zerosState(b, 'decoder/c0', batchScalar) : undefined;
    return { inputs: [], state: { h, ...(c === undefined ? {} : { c }) }, enc: {} };
  }

  /** Lowers the encoder ops; returns the graph inputs, the memory (batch-major, masked) and the initial state. */
  private encoder(b: GraphBuilder, memoryName: string): { inputs: ValueInfoProto[]; memory: string; h0: string; c0?: string; lengths?: string } {
    const encoderIr = this.ir.encoder!;
    const final = this.ir.ops.find((o): o is RecurrentOp => o.kind === 'recurrent' && o.label === encoderIr.finalState)!;
    const cells = this.isLstm && final.cell === 'lstm' ? new Set([final.label]) : new Set<string>();
    const lowering = new Lowering(this.ir, this.weights, this.options, b, cells);
    const inputs = lowering.declareInputs();
    for (const op of this.ir.ops) lowering.op(op);
    lowering.output(memoryName, encoderIr.memory, encoderIr.memoryType, final.span);
    const directions = final.bidirectional ? 2 : 1;
    const h0 = this.initialState(b, 'h', lowering.finalStates.get(final.label)!, final, directions);
    let c0: string | undefined;
    if (this.isLstm) {
      c0 = final.cell === 'lstm' ? this.initialState(b, 'c', lowering.finalCells.get(final.label)!, final, directions) : this.target.zerosLike(b, h0, this.stateType, 'decoder/c0');
    }
    return { inputs, memory: memoryName, h0, ...(c0 === undefined ? {} : { c0 }), ...(encoderIr.memoryType.lengths === undefined ? {} : { lengths: encoderIr.memoryType.lengths }) };
  }

  /** Per-layer final states [1, B, H_enc] (directions in order) → [L, B, H]: concatenated, or through the bridge. */
  private initialState(b: GraphBuilder, which: 'h' | 'c', states: readonly string[], final: RecurrentOp, directions: number): string {
    const { batch, layers, hidden } = this.sizes;
    const joinedSize = final.hidden * directions;
    const perLayer: string[] = [];
    for (let layer = 0; layer < final.layers; layer++) {
      const parts = states.slice(layer * directions, (layer + 1) * directions);
      if (parts.length === 1) {
        perLayer.push(parts[0]!);
        continue;
      }
      const joined = b.fresh(`decoder/${which}0/l${layer}`);
      onnx.concat(b, `decoder/${which}0/l${layer}/Concat`, parts, { name: joined, type: float([dimValue(1), batch, dimValue(joinedSize)]) }, { axis: 2 });
      perLayer.push(joined);
    }
    const stacked = b.fresh(`decoder/${which}0/encoder_final`);
    onnx.concat(b, `decoder/${which}0/Concat`, perLayer, { name: stacked, type: float([dimValue(final.layers), batch, dimValue(joinedSize)]) }, { axis: 0 });
    if (!this.decoder.bridge) return stacked;
    // bridge: tanh(W · [h_enc[0] ; … ; h_enc[L_enc−1]] + b), reshaped to [L, B, H].
    const path = `bridge/${which}`;
    const batchMajor = b.fresh(`${path}/batch_major`);
    onnx.transpose(b, `${path}/Transpose`, [stacked], { name: batchMajor, type: float([batch, dimValue(final.layers), dimValue(joinedSize)]) }, { perm: [1, 0, 2] });
    const flat = b.fresh(`${path}/flat`);
    const flatShape = b.int64Initializer(`${path}/flat_shape`, [0, -1]);
    onnx.reshape(b, `${path}/Flatten`, [batchMajor, flatShape], { name: flat, type: float([batch, dimValue(final.layers * joinedSize)]) });
    const projected = b.fresh(`${path}/projected`);
    const w = b.floatInitializer(`bridge.${which}.weight`, [layers * hidden, final.layers * joinedSize], this.weight(`bridge.${which}.weight`));
    const bias = b.floatInitializer(`bridge.${which}.bias`, [layers * hidden], this.weight(`bridge.${which}.bias`));
    onnx.gemm(b, `${path}/Gemm`, [flat, w, bias], { name: projected, type: float([batch, dimValue(layers * hidden)]) }, { transB: 1 });
    const activated = b.fresh(`${path}/tanh`);
    onnx.tanh(b, `${path}/Tanh`, [projected], { name: activated, type: float([batch, dimValue(layers * hidden)]) });
    const shaped = b.fresh(`${path}/per_layer`);
    const layerShape = b.int64Initializer(`${path}/layer_shape`, [0, layers, hidden]);
    onnx.reshape(b, `${path}/Reshape`, [activated, layerShape], { name: shaped, type: float([batch, dimValue(layers), dimValue(hidden)]) });
    const out = b.fresh(`${path}/initial`);
    onnx.transpose(b, `${path}/ToLayers`, [shaped], { name: out, type: this.stateType }, { perm: [1, 0, 2] });
    return out;
  }

  /** valid [B, S]: true at source steps inside each row's length. */
  private sourceMask(b: GraphBuilder, memory: string, lengths: string): string {
    const { batch, srcTime } = this.sizes;
    return this.target.lengths(b, () => [batch]).batchMajorMask(lengths, memory, 3, srcTime, batch, 'decoder/source_mask');
  }

  /** One decoder step (docs/seq2seq.md) emitted into `b`, which may be a Loop body. */
  private step(b: GraphBuilder, tokens: string, state: StepState, enc: EncoderValues): StepOutputs {
    const d = this.decoder;
    const { batch, hidden, layers } = this.sizes;
    const lowering = new Lowering(this.ir, this.weights, this.options, b);
    lowering.bind('tokens', tokens, { dtype: 'int64', dims: [], hasTime: false }, false);
    lowering.op({ ...d.embedding, input: 'tokens' });
    const embedded = lowering.lookup(d.embedding.label).name;
    const att = d.attention;
    const parts = [embedded];
    let attention: string | undefined;
    if (att?.placement === 'bahdanau') {
      const top = b.fresh(`${d.recurrent.label}/previous_top`);
      const index = b.int64Initializer(`${d.recurrent.label}/top_index`, [layers - 1], []);
      onnx.gather(b, `${att.label}/query/Gather`, [state.h, index], { name: top, type: float([batch, dimValue(hidden)]) }, { axis: 0 });
      const attended = this.attend(b, top, enc);
      parts.push(attended.context);
      attention = attended.weights;
    }
    if (att?.inputFeed === true) parts.push(state.feed!);
    let x = embedded;
    if (parts.length > 1) {
      x = b.fresh(`${d.recurrent.label}/input`);
      onnx.concat(b, `${d.recurrent.label}/input/Concat`, parts, { name: x, type: float([batch, dimValue(d.recurrent.inputSize)]) }, { axis: 1 });
    }
    const { h, c, top } = this.cellStep(b, x, state);
    let output = top;
    let feed: string | undefined;
    if (att?.placement === 'luong') {
      const attended = this.attend(b, top, enc);
      attention = attended.weights;
      output = this.attentionalVector(b, attended.context, top);
      if (att.inputFeed) feed = output;
    }
    lowering.bind(d.recurrent.label, output, { dtype: 'float32', dims: [], hasTime: false }, false);
    for (const op of d.head) lowering.op(op);
    const last = d.head.length === 0 ? d.recurrent.label : d.head[d.head.length - 1]!.output.id;
    const logits = lowering.lookup(last).name;
    return { logits, h, ...(c === undefined ? {} : { c }), ...(feed === undefined ? {} : { feed }), ...(attention === undefined ? {} : { attention }) };
  }

  /** The stacked recurrent layer for one token: each layer is a one-step ONNX recurrent node. */
  private cellStep(b: GraphBuilder, x: string, state: StepState): { h: string; c?: string; top: string } {
    const op = this.decoder.recurrent;
    const { batch, hidden } = this.sizes;
    const hs: string[] = [];
    const cs: string[] = [];
    let input = x;
    let inputSize = op.inputSize;
    const axis0 = b.int64Initializer(`${op.label}/axis0`, [0]);
    for (let layer = 0; layer < op.layers; layer++) {
      const path = `${op.label}/l${layer}`;
      const sequence = b.fresh(`${path}/step_input`);
      onnx.unsqueeze(b, `${path}/Unsqueeze`, [input, axis0], { name: sequence, type: float([dimValue(1), batch, dimValue(inputSize)]) });
      const index = b.int64Initializer(`${path}/state_index`, [layer]);
      const h0 = b.fresh(`${path}/h`);
      onnx.gather(b, `${path}/h/Gather`, [state.h, index], { name: h0, type: float([dimValue(1), batch, dimValue(hidden)]) }, { axis: 0 });
      const yh = b.fresh(`${path}/Y_h`);
      let c0: string | undefined;
      let yc: string | undefined;
      if (state.c !== undefined) {
        c0 = b.fresh(`${path}/c`);
        onnx.gather(b, `${path}/c/Gather`, [state.c, index], { name: c0, type: float([dimValue(1), batch, dimValue(hidden)]) }, { axis: 0 });
        yc = b.fresh(`${path}/Y_c`);
        cs.push(yc);
      }
      const outputs = { yH: { name: yh, type: float([dimValue(1), batch, dimValue(hidden)]) }, yC: yc === undefined ? undefined : { name: yc, type: float([dimValue(1), batch, dimValue(hidden)]) } };
      const place = { layer, direction: 0 as const, inputSize, initializerPath: `${path}/forward`, nodePath: path, rnnAsGru: this.target.rnnAsGru, docString: this.where() };
      emitRecurrentNode(b, (n) => this.weight(n), op, place, { x: sequence, initialH: h0, initialC: c0 }, outputs);
      hs.push(yh);
      const next = b.fresh(`${path}/output`);
      onnx.squeeze(b, `${path}/Squeeze`, [yh, axis0], { name: next, type: float([batch, dimValue(hidden)]) });
      input = next;
      inputSize = hidden;
    }
    const h = b.fresh(`${op.label}/h_out`);
    onnx.concat(b, `${op.label}/h_out/Concat`, hs, { name: h, type: this.stateType }, { axis: 0 });
    let c: string | undefined;
    if (state.c !== undefined) {
      c = b.fresh(`${op.label}/c_out`);
      onnx.concat(b, `${op.label}/c_out/Concat`, cs, { name: c, type: this.stateType }, { axis: 0 });
    }
    return { h, ...(c === undefined ? {} : { c }), top: input };
  }

  /** attend(q, M): scores by the layer's score function, masked softmax over source steps, context. */
  private attend(b: GraphBuilder, query: string, enc: EncoderValues): { context: string; weights: string } {
    const att = this.decoder.attention!;
    const { batch, srcTime, memoryDim } = this.sizes;
    const memory = enc.memory!;
    const path = att.label;
    const where = this.where(att.span);
    const axis1 = b.int64Initializer(`${path}/axis1`, [1]);
    const axis2 = b.int64Initializer(`${path}/axis2`, [2]);
    let scores3: string;
    if (att.score === 'additive') {
      const queryProjected = b.fresh(`${path}/query_projected`);
      const wq = b.floatInitializer(`${att.label}.linear_query.weight`, [memoryDim, att.queryDim], this.weight(`${att.label}.linear_query.weight`));
      const bq = b.floatInitializer(`${att.label}.linear_query.bias`, [memoryDim], this.weight(`${att.label}.linear_query.bias`));
      onnx.gemm(b, `${path}/linear_query/Gemm`, [query, wq, bq], { name: queryProjected, type: float([batch, dimValue(memoryDim)]) }, { transB: 1 }, where);
      const queryRow = b.fresh(`${path}/query_row`);
      onnx.unsqueeze(b, `${path}/query/Unsqueeze`, [queryProjected, axis1], { name: queryRow, type: float([batch, dimValue(1), dimValue(memoryDim)]) }, where);
      const wcT = b.floatInitializer(`${att.label}/linear_context_T`, [memoryDim, memoryDim], transpose2d(this.weight(`${att.label}.linear_context.weight`), memoryDim, memoryDim), `${att.label}.linear_context.weight transposed`);
      const contextProjected = b.fresh(`${path}/context_projected`);
      onnx.matMul(b, `${path}/linear_context/MatMul`, [memory, wcT], { name: contextProjected, type: float([batch, srcTime, dimValue(memoryDim)]) }, where);
      const summed = b.fresh(`${path}/summed`);
      onnx.add(b, `${path}/Add`, [contextProjected, queryRow], { name: summed, type: float([batch, srcTime, dimValue(memoryDim)]) }, where);
      const activated = b.fresh(`${path}/tanh`);
      onnx.tanh(b, `${path}/Tanh`, [summed], { name: activated, type: float([batch, srcTime, dimValue(memoryDim)]) }, where);
      const vT = b.floatInitializer(`${att.label}/v_T`, [memoryDim, 1], this.weight(`${att.label}.v.weight`), `${att.label}.v.weight transposed`);
      scores3 = b.fresh(`${path}/scores3`);
      onnx.matMul(b, `${path}/v/MatMul`, [activated, vT], { name: scores3, type: float([batch, srcTime, dimValue(1)]) }, where);
    } else {
      let projected = query;
      if (att.score === 'general') {
        projected = b.fresh(`${path}/query_projected`);
        const w = b.floatInitializer(`${att.label}.linear_in.weight`, [memoryDim, att.queryDim], this.weight(`${att.label}.linear_in.weight`));
        onnx.gemm(b, `${path}/linear_in/Gemm`, [query, w], { name: projected, type: float([batch, dimValue(memoryDim)]) }, { transB: 1 }, where);
      }
      const column = b.fresh(`${path}/query_column`);
      onnx.unsqueeze(b, `${path}/query/Unsqueeze`, [projected, axis2], { name: column, type: float([batch, dimValue(memoryDim), dimValue(1)]) }, where);
      scores3 = b.fresh(`${path}/scores3`);
      onnx.matMul(b, `${path}/scores/MatMul`, [memory, column], { name: scores3, type: float([batch, srcTime, dimValue(1)]) }, where);
    }
    let scores = b.fresh(`${path}/scores`);
    onnx.squeeze(b, `${path}/scores/Squeeze`, [scores3, axis2], { name: scores, type: float([batch, srcTime]) }, where);
    if (enc.valid !== undefined) {
      // The lowest float rather than −∞, so a row can never turn into NaN.
      const lowest = b.floatScalar(`${path}/lowest`, -3.4028234663852886e38);
      const masked = b.fresh(`${path}/masked_scores`);
      onnx.where(b, `${path}/mask/Where`, [enc.valid, scores, lowest], { name: masked, type: float([batch, srcTime]) }, where);
      scores = masked;
    }
    const weights = b.fresh(`${path}/weights`);
    onnx.softmax(b, `${path}/Softmax`, [scores], { name: weights, type: float([batch, srcTime]) }, { axis: 1 }, where);
    const weightsRow = b.fresh(`${path}/weights_row`);
    onnx.unsqueeze(b, `${path}/weights/Unsqueeze`, [weights, axis1], { name: weightsRow, type: float([batch, dimValue(1), srcTime]) }, where);
    const context3 = b.fresh(`${path}/context3`);
    onnx.matMul(b, `${path}/context/MatMul`, [weightsRow, memory], { name: context3, type: float([batch, dimValue(1), dimValue(memoryDim)]) }, where);
    const context = b.fresh(`${path}/context`);
    onnx.squeeze(b, `${path}/context/Squeeze`, [context3, axis1], { name: context, type: float([batch, dimValue(memoryDim)]) }, where);
    return { context, weights };
  }

  /** Luong's attentional vector: linear_out([context ; query]), then tanh for dot and general. */
  private attentionalVector(b: GraphBuilder, context: string, query: string): string {
    const att = this.decoder.attention!;
    const { batch, memoryDim } = this.sizes;
    const q = att.queryDim;
    const path = att.label;
    const where = this.where(att.span);
    const joined = b.fresh(`${path}/context_query`);
    onnx.concat(b, `${path}/Concat`, [context, query], { name: joined, type: float([batch, dimValue(memoryDim + q)]) }, { axis: 1 }, where);
    const weight = b.floatInitializer(`${att.label}.linear_out.weight`, [q, memoryDim + q], this.weight(`${att.label}.linear_out.weight`));
    const bias = att.score === 'additive' ? b.floatInitializer(`${att.label}.linear_out.bias`, [q], this.weight(`${att.label}.linear_out.bias`)) : undefined;
    const projected = b.fresh(`${path}/linear_out`);
    onnx.gemm(b, `${path}/linear_out/Gemm`, [joined, weight, bias], { name: projected, type: float([batch, dimValue(q)]) }, { transB: 1 }, where);
    if (att.score === 'additive') return projected;
    const out = b.fresh(`${path}/attentional`);
    onnx.tanh(b, `${path}/Tanh`, [projected], { name: out, type: float([batch, dimValue(q)]) }, where);
    return out;
  }

  /**
   * An ONNX Loop whose body runs `body` once per iteration, carrying the decoder state and `extra`
   * values; returns the final state and the scan outputs stacked over iterations.
   */
  private loop(
    b: GraphBuilder,
    path: string,
    tripCount: string,
    state: StepState,
    extra: readonly { name: string; type: TensorType }[],
    body: (
      body: GraphBuilder,
      iteration: string,
      state: StepState,
      carried: readonly string[],
    ) => { state: StepState; carried: readonly string[]; scans: readonly { name: string; type: TensorType }[] },
  ): { state: StepState; scans: string[] } {
    const bb = b.subgraph();
    const iteration = bb.fresh(`${path}/iteration`);
    const condIn = bb.fresh(`${path}/cond_in`);
    const stateKeys = (['h', 'c', 'feed'] as const).filter((k) => state[k] !== undefined);
    const stateTypes: Record<'h' | 'c' | 'feed', TensorType> = { h: this.stateType, c: this.stateType, feed: float([this.sizes.batch, dimValue(this.sizes.hidden)]) };
    const stateIn = Object.fromEntries(stateKeys.map((k) => [k, bb.fresh(`${path}/${k}_in`)])) as unknown as StepState;
    const extraIn = extra.map((e) => bb.fresh(`${e.name}_in`));
    const result = body(bb, iteration, stateIn, extraIn);
    const condOut = bb.fresh(`${path}/cond_out`);
    onnx.identity(bb, `${path}/cond/Identity`, [condIn], { name: condOut, type: bool([]) });
    // Loop outputs must be distinct tensors made inside the body.
    const passOut = (name: string, label: string, type: TensorType): string => {
      const out = bb.fresh(`${path}/${label}_out`);
      onnx.identity(bb, `${path}/${label}_out/Identity`, [name], { name: out, type });
      return out;
    };
    const bodyInputs = [info(iteration, int64([])), info(condIn, bool([])), ...stateKeys.map((k) => info(stateIn[k]!, stateTypes[k])), ...extra.map((e, i) => info(extraIn[i]!, e.type))];
    const bodyOutputs = [
      info(condOut, bool([])),
      ...stateKeys.map((k) => info(passOut(result.state[k]!, k, stateTypes[k]), stateTypes[k])),
      ...extra.map((e, i) => info(passOut(result.carried[i]!, `extra${i}`, e.type), e.type)),
      ...result.scans.map((s, i) => info(passOut(s.name, `scan${i}`, s.type), s.type)),
    ];
    const graph: GraphProto = { name: path.replace(/\//g, '_'), nodes: bb.nodes, initializers: [], inputs: bodyInputs, outputs: bodyOutputs, valueInfo: bb.valueInfo };
    const cond = b.boolScalar(`${path}/cond`, true);
    const finalState = Object.fromEntries(stateKeys.map((k) => [k, b.fresh(`${path}/final_${k}`)])) as unknown as StepState;
    const finalExtra = extra.map((e) => b.fresh(`${e.name}_final`));
    const scans = result.scans.map((_, i) => b.fresh(`${path}/scan${i}`));
    const outputs = [...stateKeys.map((k) => ({ name: finalState[k]! })), ...finalExtra.map((name) => ({ name })), ...scans.map((name) => ({ name }))];
    const carried = [...stateKeys.map((k) => state[k]!), ...extra.map((e) => e.name)];
    onnx.loop(b, `${path}/Loop`, { tripCount, condition: cond, carried }, outputs, { body: graph }, this.where(this.decoder.span));
    return { state: finalState, scans };
  }

  private where(span = this.decoder.recurrent.span): string {
    return recordedPlace(span);
  }

  /** A scalar int64 tensor: the size of `axis` of `tensor`. */
  private axisSize(b: GraphBuilder, tensor: string, axis: number, name: string): string {
    const shape = b.fresh(`${name}/shape`);
    onnx.shape(b, `${name}/Shape`, [tensor], { name: shape });
    const index = b.int64Initializer(`${name}/index`, [axis], []);
    const out = b.fresh(name);
    onnx.gather(b, `${name}/Gather`, [shape, index], { name: out, type: int64([]) }, { axis: 0 });
    return out;
  }

  /** A [batch] tensor in the graph, for shaping things per row: the source lengths or a batch of tokens. */
  private batchVector(b: GraphBuilder, enc: EncoderValues, fallback?: string): string {
    if (enc.lengths !== undefined) return enc.lengths;
    if (fallback !== undefined) return fallback;
    const source = this.ir.inputs.find((i) => i.role.kind === 'data')!.name;
    const batch = this.axisSize(b, source, 0, 'decoder/batch');
    const axis0 = b.int64Initializer('decoder/batch_axis', [0]);
    const vector = b.fresh('decoder/batch_vector');
    onnx.unsqueeze(b, 'decoder/batch_vector/Unsqueeze', [batch, axis0], { name: vector, type: int64([dimValue(1)]) });
    const zeros = b.fresh('decoder/batch_zeros');
    onnx.constantOfShape(b, 'decoder/batch_zeros/ConstantOfShape', [vector], { name: zeros, type: int64([this.sizes.batch]) }, { int64Value: 0n });
    return zeros;
  }

  /** An int64 [batch] tensor of one value, shaped like `like`. */
  private filled(b: GraphBuilder, name: string, like: string, value: number): string {
    const shape = b.fresh(`${name}/shape`);
    onnx.shape(b, `${name}/Shape`, [like], { name: shape });
    const out = b.fresh(name);
    onnx.constantOfShape(b, `${name}/ConstantOfShape`, [shape], { name: out, type: int64([this.sizes.batch]) }, { int64Value: value });
    return out;
  }

  /** Float zeros [layers, batch, hidden] for a batch size given as a scalar. */
  private zerosState(b: GraphBuilder, name: string, batchScalar: string): string {
    const axis0 = b.int64Initializer(`${name}/axis0`, [0]);
    const batch = b.fresh(`${name}/batch`);
    onnx.unsqueeze(b, `${name}/Unsqueeze`, [batchScalar, axis0], { name: batch });
    const layers = b.int64Initializer(`${name}/layers`, [this.sizes.layers]);
    const hidden = b.int64Initializer(`${name}/hidden`, [this.sizes.hidden]);
    const shape = b.fresh(`${name}/shape`);
    onnx.concat(b, `${name}/Concat`, [layers, batch, hidden], { name: shape }, { axis: 0 });
    const out = b.fresh(name);
    onnx.constantOfShape(b, `${name}/ConstantOfShape`, [shape], { name: out, type: this.stateType }, {});
    return out;
  }
}

/** The ValueType of a [batch, features] decoder value, for summaries and signatures. */
export function decoderValueType(features: number): ValueType {
  return { dtype: 'float32', dims: [{ kind: 'symbol', name: 'batch' }, { kind: 'fixed', size: features }], hasTime: false };
}

/**
 * The signature of one bundle graph, as `seqc.signature` metadata, so runtimes validate its inputs:
 * token inputs carry their vocabulary, the source lengths their role.
 */
function bundleSignature(ir: ModelIR, graph: GraphProto, role: BundleRole): ModelSignature {
  const decoder = ir.decoder!;
  const lengths = ir.inputs.find((i) => i.role.kind === 'lengths');
  const source = ir.inputs.find((i) => i.role.kind === 'data');
  const sourceVocab = ir.ops.find((o) => o.kind === 'embedding' && o.input === source?.name);
  const dtypeOf = (t: DataType): string => (t === DataType.INT64 ? 'int64' : t === DataType.FLOAT ? 'float32' : t === DataType.BOOL ? 'bool' : String(t));
  const dims = (v: ValueInfoProto): (string | number)[] => (v.type.shape ?? []).map((d) => (d.kind === 'param' ? d.name : d.value));
  return {
    name: `${ir.name} (${role})`,
    inputs: graph.inputs.map((i) => {
      const base = { name: i.name, dtype: dtypeOf(i.type.elemType), dims: dims(i) };
      if (lengths !== undefined && i.name === lengths.name) {
        // The step graph has no source input; there the lengths mask the memory's time axis (axis 1 as well).
        const of = graph.inputs.some((g) => g.name === source?.name) ? source!.name : 'memory';
        return { ...base, role: 'lengths', of };
      }
      if (source !== undefined && i.name === source.name) return { ...base, role: 'data', ...(sourceVocab?.kind === 'embedding' ? { vocab: sourceVocab.vocab } : {}) };
      if (['tgt_in', 'tokens', 'prompt'].includes(i.name)) return { ...base, role: 'data', vocab: decoder.embedding.vocab };
      return { ...base, role: i.type.elemType === DataType.FLOAT ? 'state' : 'data' };
    }),
    outputs: graph.outputs.map((o) => ({ name: o.name, dtype: dtypeOf(o.type.elemType), dims: dims(o) })),
  };
}
