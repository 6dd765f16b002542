// Encoder–decoder models and language models, compiled by seqc into bundles (docs/seq2seq.md) and
// run in onnxruntime-node against the float64 reference decoder in ./reference/seq2seq.ts.
//
// A matrix of tiny models (attention none/dot/general/additive × Luong/Bahdanau placement × input
// feeding × LSTM/GRU/GRU(reset_after=false)/RNN decoder cells × 1 or 2 layers × uni- or
// bidirectional encoders × with or without `bridge=linear`, plus language models) gets random
// weights under PyTorch names; every graph of its bundle (encoder, step, scoring, greedy) is checked
// against the reference, then the graphs against each other, and padding and batching invariances on
// top. The checker's decoder diagnostics (SEQ023, SEQ040–SEQ049) and the Translator spec's bundle
// close the file. Set SEQC_NUMERIC_REPORT=1 to print the largest error seen per kind of comparison.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { compile } from '../src/index.js';
import type { BundleRole, CompileResult, Diagnostic } from '../src/index.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { checkManifest } from '../src/runtime/manifest.js';
import { flatten, maxAbsDiff, nest, seededRandom } from './reference/float64.js';
import type { NestedArray, RecurrentKind, ReferenceTensor } from './reference/float64.js';
import {
  argmax,
  decoderStep,
  encode,
  greedy,
  memorySize,
  randomSeq2seqWeights,
  startState,
  teacherForced,
  zeroState,
} from './reference/seq2seq.js';
import type {
  AttentionConfig,
  DecoderConfig,
  DecoderState,
  EncoderConfig,
  EncoderRecurrentConfig,
  HeadStep,
  RecurrentLayerConfig,
} from './reference/seq2seq.js';

/** The step graph's choice outputs (docs/seq2seq.md), after its state outputs. */
const choiceOutputs = ['next_token', 'next_log_prob', 'top_tokens', 'top_log_probs', 'top_logits'];

/** What the float32 graphs must reach against the float64 reference (measured errors are near 1e-6). */
const TOLERANCE = 1e-4;
/** Where two float32 graphs of one bundle compute the same thing in slightly different ways. */
const SAME_GRAPHS = 1e-5;

// Source: three rows of five steps, unsorted lengths, the padding id 0 past each length.
const SRC_VOCAB = 11;
const SRC_LENGTHS = [4, 5, 2];
const SRC_TIME = 5;
// Target: nine ids, bos 1, eos 2, six generated tokens at most, five teacher-forced steps.
const TGT_VOCAB = 9;
const BOS = 1;
const EOS = 2;
const MAX_LENGTH = 6;
const TGT_TIME = 5;
/** The decoder's hidden size H in every seq2seq case (dot attention needs the memory to match it). */
const HIDDEN = 4;

// ---------------------------------------------------------------------------------------------
// Error bookkeeping: every comparison records its error under a kind, and the report prints the worst.

const worst = new Map<string, number>();

function record(kind: string, error: number): void {
  worst.set(kind, Math.max(worst.get(kind) ?? 0, error));
}

afterAll(() => {
  if (process.env.SEQC_NUMERIC_REPORT !== '1') return;
  const rows = [...worst.entries()].sort(([a], [b]) => a.localeCompare(b));
  console.log(
    `largest errors per comparison:\n${rows.map(([kind, e]) => `  ${kind.padEnd(44)} ${e.toExponential(2)}`).join('\n')}`,
  );
});

/** Asserts that a graph output has the reference's shape and values within `tolerance`, and records the error. */
function expectMatches(
  kind: string,
  actual: ort.Tensor | undefined,
  expected: NestedArray,
  tolerance = TOLERANCE,
): void {
  expect(actual, `${kind}: missing output`).toBeDefined();
  expect([...actual!.dims]).toEqual(shapeOf(expected));
  const error = maxAbsDiff(floatsOf(actual!), expected);
  record(kind, error);
  expect(error, kind).toBeLessThan(tolerance);
}

/** Asserts two graph outputs are the same bit for bit. */
function expectIdentical(kind: string, actual: ort.Tensor | undefined, expected: ort.Tensor | undefined): void {
  expect(actual).toBeDefined();
  expect(expected).toBeDefined();
  expect([...actual!.dims]).toEqual([...expected!.dims]);
  expect(Array.from(actual!.data as ArrayLike<number | bigint>), kind).toEqual(
    Array.from(expected!.data as ArrayLike<number | bigint>),
  );
}

// ---------------------------------------------------------------------------------------------
// Tensors between nested arrays and onnxruntime.

function shapeOf(x: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray | number = x;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedArray | number;
  }
  return shape;
}

function floatTensor(x: NestedArray): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(flatten(x)), shapeOf(x));
}

function idsTensor(ids: readonly number[] | readonly number[][]): ort.Tensor {
  const flat = (ids as readonly (number | readonly number[])[]).flat() as number[];
  return new ort.Tensor('int64', BigInt64Array.from(flat.map((id) => BigInt(id))), shapeOf(ids as NestedArray));
}

function floatsOf(t: ort.Tensor): NestedArray {
  return nest(t.dims, t.data as Float32Array);
}

function idsOf(t: ort.Tensor): number[][] {
  return nest(t.dims, Array.from(t.data as BigInt64Array, Number)) as number[][];
}

function vectorOf(t: ort.Tensor): number[] {
  return Array.from(t.data as BigInt64Array, Number);
}

// ---------------------------------------------------------------------------------------------
// Models: a reference configuration, the spec text written from it, and the compiled bundle.

interface ModelCase {
  readonly title: string;
  /** Undefined for a language model. */
  readonly enc?: EncoderConfig;
  readonly dec: DecoderConfig;
  readonly seed: number;
}

const cellNames: Readonly<Record<RecurrentKind, string>> = { lstm: 'LSTM', gru: 'GRU', rnn: 'RNN' };

function recurrentText(layer: RecurrentLayerConfig, bidirectional: boolean): string {
  const args = [`hidden=${layer.hidden}`, `layers=${layer.layers}`];
  if (layer.resetAfter === false) args.push('reset_after=false');
  return `${layer.prefix}: ${bidirectional ? 'Bi' : ''}${cellNames[layer.cell]}(${args.join(', ')})`;
}

function headText(step: HeadStep): string {
  switch (step.kind) {
    case 'linear':
      return `${step.prefix}: Linear(${step.out})`;
    case 'activation':
      return step.fn;
    case 'layerNorm':
      return `${step.prefix}: LayerNorm`;
    case 'dropout':
      return 'Dropout(0.1)';
  }
}

/** The `.seq` text of a case: the same layers, names and sizes as its reference configuration. */
function specOf(c: ModelCase): string {
  const { enc, dec } = c;
  const lines = ['model Case {'];
  if (enc) {
    lines.push('  input src: int64[batch, src_time]', '  input src_lengths: lengths(src)', '  encoder {', '    src');
    lines.push(
      `      -> ${enc.embedding.prefix}: Embedding(vocab=${enc.embedding.vocab}, dim=${enc.embedding.dim}, padding_idx=0)`,
    );
    for (const layer of enc.recurrent) lines.push(`      -> ${recurrentText(layer, layer.bidirectional)}`);
    lines.push('  }');
  }
  const bridge = enc?.bridge ? ', bridge=linear' : '';
  lines.push(`  decoder(bos=${dec.bos}, eos=${dec.eos}, max_length=${dec.maxLength}${bridge}) {`);
  lines.push(`    -> ${dec.embedding.prefix}: Embedding(vocab=${dec.embedding.vocab}, dim=${dec.embedding.dim})`);
  const attention = dec.attention
    ? `    -> ${dec.attention.prefix}: Attention(score=${dec.attention.score}${dec.attention.inputFeed ? ', input_feed=true' : ''})`
    : undefined;
  if (attention && dec.attention?.placement === 'bahdanau') lines.push(attention);
  lines.push(`    -> ${recurrentText(dec.recurrent, false)}`);
  if (attention && dec.attention?.placement === 'luong') lines.push(attention);
  for (const step of dec.head) lines.push(`    -> ${headText(step)}`);
  lines.push('  }', '}', '');
  return lines.join('\n');
}

interface Compiled {
  readonly result: CompileResult;
  readonly sessions: Partial<Record<BundleRole, ort.InferenceSession>>;
}

const openSessions: ort.InferenceSession[] = [];

afterAll(async () => {
  for (const session of openSessions) await session.release();
});

async function compileCase(
  c: ModelCase,
  weights: ReadonlyMap<string, ReferenceTensor>,
  opset?: number,
): Promise<Compiled> {
  const bytes = writeSafetensors(weights);
  const result = compile(specOf(c), {
    sourceName: 'case.seq',
    weights: { bytes, name: 'case.safetensors' },
    ...(opset === undefined ? {} : { opset }),
  });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || !result.bundle) {
    throw new Error(
      `${c.title} did not compile:\n${errors.map((d) => `${d.code} ${d.message}`).join('\n')}\n${specOf(c)}`,
    );
  }
  // Every manifest seqc writes must pass the schema its own readers check (the runtime refuses the rest).
  const issues = checkManifest(JSON.parse(JSON.stringify(result.bundle.manifest))).issues;
  if (issues.length > 0)
    throw new Error(
      `${c.title}: seqc's own manifest fails its schema: ${issues.map((i) => `${i.key} ${i.problem}`).join('; ')}`,
    );
  const sessions: Partial<Record<BundleRole, ort.InferenceSession>> = {};
  for (const file of result.bundle.files) {
    const session = await ort.InferenceSession.create(file.bytes, { logSeverityLevel: 3 });
    openSessions.push(session);
    sessions[file.role] = session;
  }
  return { result, sessions };
}

// ---------------------------------------------------------------------------------------------
// Running the graphs.

type Outputs = Record<string, ort.Tensor>;

async function run(session: ort.InferenceSession | undefined, feeds: Record<string, ort.Tensor>): Promise<Outputs> {
  if (!session) throw new Error('the bundle has no such graph');
  return (await session.run(feeds)) as Outputs;
}

/** The state a step graph takes and gives back, under its input names. */
interface GraphState {
  readonly h: ort.Tensor;
  readonly c?: ort.Tensor;
  readonly feed?: ort.Tensor;
}

/** The encoder side of a step: the memory and its lengths, absent for a language model. */
interface GraphSource {
  readonly memory: ort.Tensor;
  readonly lengths: ort.Tensor;
}

function graphStateOf(state: DecoderState): GraphState {
  return {
    h: floatTensor(state.h),
    ...(state.c ? { c: floatTensor(state.c) } : {}),
    ...(state.feed ? { feed: floatTensor(state.feed) } : {}),
  };
}

async function runStep(
  step: ort.InferenceSession | undefined,
  tokens: readonly number[],
  state: GraphState,
  source: GraphSource | undefined,
): Promise<{ out: Outputs; state: GraphState }> {
  const feeds: Record<string, ort.Tensor> = { tokens: idsTensor(tokens), h: state.h };
  if (state.c) feeds.c = state.c;
  if (state.feed) feeds.feed = state.feed;
  if (source) {
    feeds.memory = source.memory;
    feeds.src_lengths = source.lengths;
  }
  // The step graph's TopK returns `top_k` candidates per row; this decoding reads only the first.
  if (step?.inputNames.includes('top_k')) feeds.top_k = new ort.Tensor('int64', BigInt64Array.of(1n), [1]);
  const out = await run(step, feeds);
  const next: GraphState = {
    h: out.h_out!,
    ...(out.c_out ? { c: out.c_out } : {}),
    ...(out.feed_out ? { feed: out.feed_out } : {}),
  };
  return { out, state: next };
}

/** Greedy decoding written out over the step graph, as docs/seq2seq.md defines it: feed `lead`, then argmax. */
async function greedyBySteps(
  step: ort.InferenceSession | undefined,
  dec: DecoderConfig,
  lead: readonly number[][],
  start: GraphState,
  source: GraphSource | undefined,
): Promise<{ tokens: number[][]; lengths: number[] }> {
  let state = start;
  let logits: number[][] = [];
  for (let t = 0; t < lead[0]!.length; t++) {
    const stepped = await runStep(
      step,
      lead.map((row) => row[t]!),
      state,
      source,
    );
    state = stepped.state;
    logits = floatsOf(stepped.out.logits!) as number[][];
  }
  const tokens: number[][] = lead.map(() => []);
  const lengths = lead.map(() => dec.maxLength);
  const finished = lead.map(() => false);
  for (let t = 0; t < dec.maxLength; t++) {
    const next = logits.map((row, b) => (finished[b] ? dec.eos : argmax(row)));
    next.forEach((token, b) => {
      tokens[b]!.push(token);
      if (!finished[b] && token === dec.eos) {
        finished[b] = true;
        lengths[b] = t + 1;
      }
    });
    if (t + 1 < dec.maxLength) {
      const stepped = await runStep(step, next, state, source);
      state = stepped.state;
      logits = floatsOf(stepped.out.logits!) as number[][];
    }
  }
  return { tokens, lengths };
}

function zeroFeed(dec: DecoderConfig, batch: number): ort.Tensor | undefined {
  if (!dec.attention?.inputFeed) return undefined;
  return floatTensor(Array.from({ length: batch }, () => new Array<number>(dec.recurrent.hidden).fill(0)));
}

// ---------------------------------------------------------------------------------------------
// Inputs.

function randomIds(random: () => number, rows: number, time: number, from: number, to: number): number[][] {
  return Array.from({ length: rows }, () =>
    Array.from({ length: time }, () => from + Math.floor(random() * (to - from))),
  );
}

/** Source ids 1..SRC_VOCAB−1, the padding id 0 past each row's length. */
function sourceFor(random: () => number): number[][] {
  return randomIds(random, SRC_LENGTHS.length, SRC_TIME, 1, SRC_VOCAB).map((row, b) =>
    row.map((id, t) => (t < SRC_LENGTHS[b]! ? id : 0)),
  );
}

/** The same source with other (non-zero) ids past each row's length. */
function withOtherPadding(random: () => number, src: number[][]): number[][] {
  return src.map((row, b) =>
    row.map((id, t) => (t < SRC_LENGTHS[b]! ? id : 1 + Math.floor(random() * (SRC_VOCAB - 1)))),
  );
}

/** Teacher-forced inputs: bos, then any ids (eos included, the graph does not stop at it). */
function targetFor(random: () => number, rows: number): number[][] {
  return randomIds(random, rows, TGT_TIME, 0, TGT_VOCAB).map((row) => [BOS, ...row.slice(1)]);
}

/**
 * docs/seq2seq.md: a language model's greedy graph is fed bos, then the prompt (which may be empty).
 * The reference's greedy() feeds a non-empty prompt as is (its doc comment predates that rule), so
 * it is handed the tokens actually fed: bos followed by the prompt.
 */
function fedForPrompt(prompt: readonly number[][]): number[][] {
  return prompt.map((row) => [BOS, ...row]);
}

/** Greedy choices the reference makes by less than this would be a coin toss for float32 graphs. */
const GREEDY_MARGIN = 1e-3;

/** A case's random weights and inputs. */
interface Drawn {
  readonly seed: number;
  readonly weights: ReadonlyMap<string, ReferenceTensor>;
  /** Seq2seq only: source ids [3][SRC_TIME] with lengths SRC_LENGTHS. */
  readonly src?: number[][];
  /** Teacher-forced inputs [3][TGT_TIME], starting with bos. */
  readonly tgtIn: number[][];
  /** Language models only: greedy prompts, one empty. */
  readonly prompts: readonly number[][][];
}

const drawnCases = new Map<ModelCase, Drawn>();

/**
 * Draws weights and inputs from the case's seed, moving to the next seed while any greedy choice
 * of the reference is a near-tie (top two logits closer than GREEDY_MARGIN), so that the greedy
 * comparisons below test decoding rather than float32 rounding.
 */
function draw(c: ModelCase): Drawn {
  const known = drawnCases.get(c);
  if (known) return known;
  for (let attempt = 0; attempt < 20; attempt++) {
    const seed = c.seed + 1000 * attempt;
    const random = seededRandom(seed);
    const weights = randomSeq2seqWeights(random, c.enc, c.dec);
    const src = c.enc ? sourceFor(random) : undefined;
    const tgtIn = targetFor(random, SRC_LENGTHS.length);
    const prompts = c.enc
      ? []
      : [
          randomIds(random, 3, 3, 0, TGT_VOCAB),
          [[], [], []],
          [[BOS], [EOS], [5]],
          randomIds(random, 2, 2, 3, TGT_VOCAB),
        ];
    const drawn: Drawn = { seed, weights, ...(src ? { src } : {}), tgtIn, prompts };
    if (greedyMargin(c, drawn) >= GREEDY_MARGIN) {
      drawnCases.set(c, drawn);
      return drawn;
    }
  }
  throw new Error(`${c.title}: no seed without near-ties in greedy decoding`);
}

/** The smallest gap between the best and second-best reference logits over every greedy choice. */
function greedyMargin(c: ModelCase, d: Drawn): number {
  const lengths = c.enc ? SRC_LENGTHS : undefined;
  const leads = c.enc ? [d.src!.map(() => [BOS])] : d.prompts.map(fedForPrompt);
  let margin = Infinity;
  for (const lead of leads) {
    const decoded = greedy(d.weights, c.enc, c.dec, d.src, lengths, c.enc ? undefined : lead);
    const fed = lead.map((row, b) => [...row, ...decoded.tokens[b]!.slice(0, -1)]);
    const logits = teacherForced(d.weights, c.enc, c.dec, d.src, lengths, fed);
    const P = lead[0]!.length;
    decoded.lengths.forEach((length, b) => {
      for (let t = 0; t < length; t++) {
        const [best, second] = [...logits[b]![P - 1 + t]!].sort((x, y) => y - x);
        margin = Math.min(margin, best! - second!);
      }
    });
  }
  return margin;
}

// ---------------------------------------------------------------------------------------------
// The seq2seq matrix.

type AttentionVariant = Omit<AttentionConfig, 'prefix'>;

const decoderCells: readonly { readonly title: string; readonly cell: RecurrentKind; readonly resetAfter?: boolean }[] =
  [
    { title: 'LSTM', cell: 'lstm' },
    { title: 'GRU', cell: 'gru' },
    { title: 'GRU(reset_after=false)', cell: 'gru', resetAfter: false },
    { title: 'RNN', cell: 'rnn' },
  ];

const attentionVariants: readonly (AttentionVariant | undefined)[] = [
  undefined,
  { score: 'dot', placement: 'luong', inputFeed: false },
  { score: 'general', placement: 'luong', inputFeed: false },
  { score: 'additive', placement: 'luong', inputFeed: false },
  { score: 'dot', placement: 'luong', inputFeed: true },
  { score: 'general', placement: 'luong', inputFeed: true },
  { score: 'additive', placement: 'luong', inputFeed: true },
  { score: 'dot', placement: 'bahdanau', inputFeed: false },
  { score: 'general', placement: 'bahdanau', inputFeed: false },
  { score: 'additive', placement: 'bahdanau', inputFeed: false },
];

const heads: readonly (readonly HeadStep[])[] = [
  [{ kind: 'linear', prefix: 'generator', out: TGT_VOCAB }],
  [
    { kind: 'linear', prefix: 'generator', out: TGT_VOCAB },
    { kind: 'activation', fn: 'log_softmax' },
  ],
  [
    { kind: 'linear', prefix: 'proj', out: 5 },
    { kind: 'activation', fn: 'tanh' },
    { kind: 'layerNorm', prefix: 'norm' },
    { kind: 'dropout' },
    { kind: 'linear', prefix: 'generator', out: TGT_VOCAB },
  ],
];

interface Shape {
  readonly decoderLayers: number;
  readonly bidirectional: boolean;
  readonly bridge: boolean;
  readonly encoderCell: RecurrentKind;
}

function attentionTitle(a: AttentionVariant | undefined): string {
  if (!a) return 'no attention';
  return `${a.score} ${a.placement}${a.inputFeed ? ' input_feed' : ''}`;
}

function decoderOf(
  cell: (typeof decoderCells)[number],
  layers: number,
  attention: AttentionVariant | undefined,
  head: readonly HeadStep[],
): DecoderConfig {
  return {
    embedding: { prefix: 'tgt_embedding', vocab: TGT_VOCAB, dim: 3 },
    ...(attention ? { attention: { prefix: 'attention', ...attention } } : {}),
    recurrent: {
      prefix: 'decoder',
      cell: cell.cell,
      hidden: HIDDEN,
      layers,
      ...(cell.resetAfter === false ? { resetAfter: false } : {}),
    },
    head,
    bos: BOS,
    eos: EOS,
    maxLength: MAX_LENGTH,
  };
}

/**
 * The encoder for a decoder of `layers` × HIDDEN. Without a bridge its final state must fit exactly
 * (same layers, dirs·H_enc = H); with a bridge it has the other number of layers and, unless dot
 * attention needs D = H, another memory size too.
 */
function encoderOf(shape: Shape, dot: boolean, extraLayers: readonly EncoderRecurrentConfig[] = []): EncoderConfig {
  const dirs = shape.bidirectional ? 2 : 1;
  const layers = shape.bridge ? 3 - shape.decoderLayers : shape.decoderLayers;
  const hidden = shape.bridge && !dot ? (shape.bidirectional ? 3 : 5) : HIDDEN / dirs;
  return {
    embedding: { prefix: 'src_embedding', vocab: SRC_VOCAB, dim: 3, paddingIdx: 0 },
    recurrent: [
      ...extraLayers,
      { prefix: 'encoder', cell: shape.encoderCell, hidden, layers, bidirectional: shape.bidirectional },
    ],
    ...(shape.bridge ? { bridge: { prefix: 'bridge' } } : {}),
  };
}

function seq2seqCase(
  title: string,
  shape: Shape,
  cell: (typeof decoderCells)[number],
  attention: AttentionVariant | undefined,
  head: readonly HeadStep[],
  seed: number,
  extra: readonly EncoderRecurrentConfig[] = [],
): ModelCase {
  return {
    title,
    enc: encoderOf(shape, attention?.score === 'dot', extra),
    dec: decoderOf(cell, shape.decoderLayers, attention, head),
    seed,
  };
}

/**
 * Every attention variant crossed with every decoder cell; the structure (decoder layers, encoder
 * directions, bridge) walks through its 8 combinations so that each cell meets all of them and each
 * attention variant meets both values of each; the encoder cell rotates through LSTM, GRU and RNN.
 */
function matrixCases(): ModelCase[] {
  const cases: ModelCase[] = [];
  const encoderCells: readonly RecurrentKind[] = ['lstm', 'gru', 'rnn'];
  attentionVariants.forEach((attention, a) => {
    decoderCells.forEach((cell, c) => {
      const s = (a + 3 * c) % 8;
      const shape: Shape = {
        decoderLayers: 1 + (s & 1),
        bidirectional: (s & 2) !== 0,
        bridge: (s & 4) !== 0,
        encoderCell: encoderCells[(a + c) % 3]!,
      };
      const index = a * decoderCells.length + c;
      const title = [
        `${shape.bidirectional ? 'Bi' : ''}${cellNames[shape.encoderCell]} encoder`,
        `${cell.title}×${shape.decoderLayers} decoder`,
        attentionTitle(attention),
        shape.bridge ? 'bridge=linear' : 'no bridge',
        `head ${index % heads.length}`,
      ].join(', ');
      cases.push(seq2seqCase(title, shape, cell, attention, heads[index % heads.length]!, 100 + index));
    });
  });
  return cases;
}

const lstm = decoderCells[0]!;
const gru = decoderCells[1]!;
const general: AttentionVariant = { score: 'general', placement: 'luong', inputFeed: false };

const extraCases: readonly ModelCase[] = [
  seq2seqCase(
    'GRU encoder into an LSTM decoder, no bridge: c0 is zeros',
    { decoderLayers: 2, bidirectional: false, bridge: false, encoderCell: 'gru' },
    lstm,
    general,
    heads[0]!,
    200,
  ),
  seq2seqCase(
    'BiRNN encoder into an LSTM decoder through bridge=linear: c0 is zeros',
    { decoderLayers: 2, bidirectional: true, bridge: true, encoderCell: 'rnn' },
    lstm,
    general,
    heads[0]!,
    201,
  ),
  seq2seqCase(
    "BiLSTM encoder into a GRU decoder (the encoder's c is dropped)",
    { decoderLayers: 2, bidirectional: true, bridge: false, encoderCell: 'lstm' },
    gru,
    { score: 'additive', placement: 'bahdanau', inputFeed: false },
    heads[1]!,
    202,
  ),
  seq2seqCase(
    'two-stage encoder (GRU then BiLSTM): the last recurrent layer gives the state',
    { decoderLayers: 2, bidirectional: true, bridge: false, encoderCell: 'lstm' },
    lstm,
    { score: 'dot', placement: 'luong', inputFeed: true },
    heads[2]!,
    203,
    [{ prefix: 'pre', cell: 'gru', hidden: 3, layers: 1, bidirectional: false }],
  ),
];

const seq2seqCases: readonly ModelCase[] = [...matrixCases(), ...extraCases];

describe('the seq2seq matrix', () => {
  it('covers every cell with every structure and every attention variant with both values of each structural choice', () => {
    const matrix = seq2seqCases.slice(0, attentionVariants.length * decoderCells.length);
    const keyOf = (c: ModelCase) =>
      `${c.dec.recurrent.layers}/${c.enc!.recurrent.at(-1)!.bidirectional}/${c.enc!.bridge !== undefined}`;
    for (const cell of decoderCells) {
      const ofCell = matrix.filter(
        (c) => c.dec.recurrent.cell === cell.cell && c.dec.recurrent.resetAfter === cell.resetAfter,
      );
      expect(new Set(ofCell.map(keyOf)).size).toBe(8);
    }
    for (const attention of attentionVariants) {
      const ofVariant = matrix.filter((c) => attentionTitle(c.dec.attention) === attentionTitle(attention));
      expect(new Set(ofVariant.map((c) => c.dec.recurrent.layers)).size).toBe(2);
      expect(new Set(ofVariant.map((c) => c.enc!.recurrent.at(-1)!.bidirectional)).size).toBe(2);
      expect(new Set(ofVariant.map((c) => c.enc!.bridge !== undefined)).size).toBe(2);
    }
    const mixed = seq2seqCases.filter(
      (c) => c.dec.recurrent.cell === 'lstm' && c.enc!.recurrent.at(-1)!.cell !== 'lstm',
    );
    expect(mixed.some((c) => c.enc!.bridge)).toBe(true);
    expect(mixed.some((c) => !c.enc!.bridge)).toBe(true);
  });
});

/** What every greedy reference produced, so that the last test can show both endings were exercised. */
const greedyEndings = { eos: 0, maxLength: 0 };

for (const c of seq2seqCases) {
  describe(`seq2seq: ${c.title}`, () => {
    const enc = c.enc!;
    const dec = c.dec;
    const { seed, weights, src: drawnSrc, tgtIn } = draw(c);
    const src = drawnSrc!;
    const encoded = encode(weights, enc, dec, src, SRC_LENGTHS);
    const reference = greedy(weights, enc, dec, src, SRC_LENGTHS);
    const isLstm = dec.recurrent.cell === 'lstm';
    const D = memorySize(enc);
    let model: Compiled;

    beforeAll(async () => {
      model = await compileCase(c, weights);
    });

    const sourceFeeds = (rows = src, lengths = SRC_LENGTHS) => ({
      src: idsTensor(rows),
      src_lengths: idsTensor(lengths),
    });

    it('has the four graphs with the inputs and outputs of docs/seq2seq.md', () => {
      const { manifest, files } = model.result.bundle!;
      expect(files.map((f) => [f.role, f.file])).toEqual([
        ['scoring', 'case.onnx'],
        ['encoder', 'case.encoder.onnx'],
        ['step', 'case.step.onnx'],
        ['greedy', 'case.greedy.onnx'],
      ]);
      const feed = dec.attention?.inputFeed === true;
      expect(manifest.files.scoring).toEqual({
        path: 'case.onnx',
        inputs: ['src', 'src_lengths', 'tgt_in'],
        outputs: ['logits'],
      });
      expect(manifest.files.encoder).toEqual({
        path: 'case.encoder.onnx',
        inputs: ['src', 'src_lengths'],
        outputs: ['memory', 'h0', ...(isLstm ? ['c0'] : [])],
      });
      expect(manifest.files.step).toEqual({
        path: 'case.step.onnx',
        inputs: ['tokens', 'h', ...(isLstm ? ['c'] : []), 'memory', 'src_lengths', ...(feed ? ['feed'] : []), 'top_k'],
        outputs: [
          'logits',
          'h_out',
          ...(isLstm ? ['c_out'] : []),
          ...(dec.attention ? ['attention'] : []),
          ...(feed ? ['feed_out'] : []),
          ...choiceOutputs,
        ],
      });
      expect(manifest.files.greedy).toEqual({
        path: 'case.greedy.onnx',
        inputs: ['src', 'src_lengths'],
        outputs: ['tokens', 'lengths'],
      });
      expect(manifest).toMatchObject({
        kind: 'seq2seq',
        bos: BOS,
        eos: EOS,
        maxLength: MAX_LENGTH,
        vocab: TGT_VOCAB,
        targetVocab: TGT_VOCAB,
        state: { cell: dec.recurrent.cell, layers: dec.recurrent.layers, hidden: HIDDEN },
        inputFeed: feed,
        memoryDim: D,
        source: { input: 'src', lengths: 'src_lengths' },
      });
      expect(manifest.attention).toEqual(
        dec.attention ? { score: dec.attention.score, placement: dec.attention.placement } : undefined,
      );
      for (const f of files) {
        const session = model.sessions[f.role]!;
        const entry = manifest.files[f.role]!;
        expect([...session.inputNames]).toEqual(entry.inputs);
        expect([...session.outputNames]).toEqual(entry.outputs);
      }
    });

    it('encoder graph: memory (zero past the lengths), h0 and c0 match the reference', async () => {
      const out = await run(model.sessions.encoder, sourceFeeds());
      expectMatches('encoder memory', out.memory, encoded.memory);
      expectMatches('encoder h0', out.h0, encoded.h0);
      if (isLstm) expectMatches('encoder c0', out.c0, encoded.c0!);
      else expect(out.c0).toBeUndefined();
      const memory = floatsOf(out.memory!) as number[][][];
      memory.forEach((row, b) =>
        row.slice(SRC_LENGTHS[b]).forEach((step) => expect(step.every((v) => v === 0)).toBe(true)),
      );
      if (isLstm && enc.recurrent.at(-1)!.cell !== 'lstm') {
        expect(flatten(floatsOf(out.c0!)).every((v) => v === 0)).toBe(true);
      }
    });

    it('step graph: fed its own state for several steps from the reference start state, matches the reference at every step', async () => {
      const source = { memory: floatTensor(encoded.memory), lengths: idsTensor(SRC_LENGTHS) };
      let refState: DecoderState = startState(dec, encoded);
      let state = graphStateOf(refState);
      for (let t = 0; t < TGT_TIME; t++) {
        const tokens = tgtIn.map((row) => row[t]!);
        const expected = decoderStep(weights, dec, refState, tokens, encoded.memory, SRC_LENGTHS);
        const stepped = await runStep(model.sessions.step, tokens, state, source);
        const { out } = stepped;
        expectMatches('step logits', out.logits, expected.logits);
        expectMatches('step h_out', out.h_out, expected.h);
        if (isLstm) expectMatches('step c_out', out.c_out, expected.c!);
        else expect(out.c_out).toBeUndefined();
        if (dec.attention) {
          expectMatches('step attention', out.attention, expected.attention!);
          const alpha = floatsOf(out.attention!) as number[][];
          alpha.forEach((row, b) => {
            const total = row.reduce((s, a) => s + a, 0);
            record('step attention sum − 1', Math.abs(total - 1));
            expect(Math.abs(total - 1)).toBeLessThan(1e-5);
            expect(row.slice(SRC_LENGTHS[b]).every((a) => a === 0)).toBe(true);
          });
        } else {
          expect(out.attention).toBeUndefined();
        }
        if (dec.attention?.inputFeed) expectMatches('step feed_out', out.feed_out, expected.feed!);
        else expect(out.feed_out).toBeUndefined();
        refState = expected;
        state = stepped.state;
      }
    });

    it('scoring graph: logits for a tgt_in batch match teacherForced', async () => {
      const out = await run(model.sessions.scoring, { ...sourceFeeds(), tgt_in: idsTensor(tgtIn) });
      expectMatches('scoring logits', out.logits, teacherForced(weights, enc, dec, src, SRC_LENGTHS, tgtIn));
    });

    it('greedy graph: tokens and lengths match the reference greedy decoder', async () => {
      const out = await run(model.sessions.greedy, sourceFeeds());
      expect(out.tokens!.type).toBe('int64');
      expect(idsOf(out.tokens!)).toEqual(reference.tokens);
      expect(vectorOf(out.lengths!)).toEqual(reference.lengths);
      for (const length of reference.lengths) greedyEndings[length < MAX_LENGTH ? 'eos' : 'maxLength']++;
    });

    it('the step loop, the scoring graph and the greedy graph agree with each other', async () => {
      const encoderOut = await run(model.sessions.encoder, sourceFeeds());
      const source = { memory: encoderOut.memory!, lengths: idsTensor(SRC_LENGTHS) };
      const feed = zeroFeed(dec, src.length);
      const start: GraphState = {
        h: encoderOut.h0!,
        ...(encoderOut.c0 ? { c: encoderOut.c0 } : {}),
        ...(feed ? { feed } : {}),
      };

      // Teacher forcing through the step graph is the scoring graph.
      let state = start;
      const perStep: NestedArray[] = [];
      for (let t = 0; t < TGT_TIME; t++) {
        const stepped = await runStep(
          model.sessions.step,
          tgtIn.map((row) => row[t]!),
          state,
          source,
        );
        perStep.push(floatsOf(stepped.out.logits!));
        state = stepped.state;
      }
      const scored = await run(model.sessions.scoring, { ...sourceFeeds(), tgt_in: idsTensor(tgtIn) });
      const stepLogits = tgtIn.map((_, b) => perStep.map((logits) => (logits as number[][])[b]!));
      expectMatches('step loop vs scoring', scored.logits, stepLogits, SAME_GRAPHS);

      // Greedy through the step graph is the greedy graph.
      const byStep = await greedyBySteps(
        model.sessions.step,
        dec,
        src.map(() => [BOS]),
        start,
        source,
      );
      const greedyOut = await run(model.sessions.greedy, sourceFeeds());
      const tokens = idsOf(greedyOut.tokens!);
      const lengths = vectorOf(greedyOut.lengths!);
      expect(byStep.tokens).toEqual(tokens);
      expect(byStep.lengths).toEqual(lengths);

      // Scoring the greedy output picks the same tokens at every generated position.
      const followed = tokens.map((row) => [BOS, ...row.slice(0, -1)]);
      const rescored = floatsOf(
        (await run(model.sessions.scoring, { ...sourceFeeds(), tgt_in: idsTensor(followed) })).logits!,
      ) as number[][][];
      tokens.forEach((row, b) =>
        row.slice(0, lengths[b]).forEach((token, t) => expect(argmax(rescored[b]![t]!)).toBe(token)),
      );
    });

    it('source ids past src_lengths, and extra padding steps, do not change any output', async () => {
      const other = withOtherPadding(seededRandom(seed + 1), src);
      expect(other).not.toEqual(src);
      const [a, b] = [
        await run(model.sessions.encoder, sourceFeeds(src)),
        await run(model.sessions.encoder, sourceFeeds(other)),
      ];
      for (const name of model.sessions.encoder!.outputNames) expectIdentical(`encoder ${name}`, b[name], a[name]);
      const scoredA = await run(model.sessions.scoring, { ...sourceFeeds(src), tgt_in: idsTensor(tgtIn) });
      const scoredB = await run(model.sessions.scoring, { ...sourceFeeds(other), tgt_in: idsTensor(tgtIn) });
      expectIdentical('scoring logits', scoredB.logits, scoredA.logits);
      const greedyA = await run(model.sessions.greedy, sourceFeeds(src));
      const greedyB = await run(model.sessions.greedy, sourceFeeds(other));
      expectIdentical('greedy tokens', greedyB.tokens, greedyA.tokens);
      expectIdentical('greedy lengths', greedyB.lengths, greedyA.lengths);

      // One more source step that is padding in every row changes nothing either.
      const wider = src.map((row) => [...row, 0]);
      const widened = await run(model.sessions.encoder, sourceFeeds(wider));
      const memory = floatsOf(a.memory!) as number[][][];
      expectMatches(
        'wider source: memory',
        widened.memory,
        memory.map((row) => [...row, new Array<number>(D).fill(0)]),
        SAME_GRAPHS,
      );
      expectMatches('wider source: h0', widened.h0, floatsOf(a.h0!), SAME_GRAPHS);
      const scoredWide = await run(model.sessions.scoring, { ...sourceFeeds(wider), tgt_in: idsTensor(tgtIn) });
      expectMatches('wider source: scoring logits', scoredWide.logits, floatsOf(scoredA.logits!), SAME_GRAPHS);
      const greedyWide = await run(model.sessions.greedy, sourceFeeds(wider));
      expectIdentical('wider source: greedy tokens', greedyWide.tokens, greedyA.tokens);
    });

    it('a batch gives what its rows give alone, each cut to its own source length', async () => {
      const batchEncoded = await run(model.sessions.encoder, sourceFeeds());
      const batchScored = await run(model.sessions.scoring, { ...sourceFeeds(), tgt_in: idsTensor(tgtIn) });
      const batchGreedy = await run(model.sessions.greedy, sourceFeeds());
      const memory = floatsOf(batchEncoded.memory!) as number[][][];
      const h0 = floatsOf(batchEncoded.h0!) as number[][][];
      const logits = floatsOf(batchScored.logits!) as number[][][];
      const tokens = idsOf(batchGreedy.tokens!);
      const lengths = vectorOf(batchGreedy.lengths!);
      for (let b = 0; b < src.length; b++) {
        const length = SRC_LENGTHS[b]!;
        const alone = sourceFeeds([src[b]!.slice(0, length)], [length]);
        const encodedAlone = await run(model.sessions.encoder, alone);
        expectMatches('row alone: memory', encodedAlone.memory, [memory[b]!.slice(0, length)], SAME_GRAPHS);
        expectMatches(
          'row alone: h0',
          encodedAlone.h0,
          h0.map((layer) => [layer[b]!]),
          SAME_GRAPHS,
        );
        const scoredAlone = await run(model.sessions.scoring, { ...alone, tgt_in: idsTensor([tgtIn[b]!]) });
        expectMatches('row alone: scoring logits', scoredAlone.logits, [logits[b]!], SAME_GRAPHS);
        const greedyAlone = await run(model.sessions.greedy, alone);
        expect(idsOf(greedyAlone.tokens!)).toEqual([tokens[b]]);
        expect(vectorOf(greedyAlone.lengths!)).toEqual([lengths[b]]);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Language models: no encoder, a zero start state, and a prompt for greedy decoding.

const languageModelCases: readonly ModelCase[] = decoderCells.flatMap((cell, c) =>
  [1, 2].map((layers, l) => {
    const index = c * 2 + l;
    return {
      title: `${cell.title}×${layers}, head ${index % heads.length}`,
      dec: {
        ...decoderOf(cell, layers, undefined, heads[index % heads.length]!),
        recurrent: { ...decoderOf(cell, layers, undefined, []).recurrent, hidden: 3 + l },
      },
      seed: 300 + index,
    };
  }),
);

for (const c of languageModelCases) {
  describe(`language model: ${c.title}`, () => {
    const dec = c.dec;
    const { weights, tgtIn, prompts } = draw(c);
    const isLstm = dec.recurrent.cell === 'lstm';
    let model: Compiled;

    beforeAll(async () => {
      model = await compileCase(c, weights);
    });

    it('has scoring, step and greedy graphs without source inputs', () => {
      const { manifest, files } = model.result.bundle!;
      expect(files.map((f) => f.role)).toEqual(['scoring', 'step', 'greedy']);
      expect(manifest.kind).toBe('lm');
      expect(manifest.files.encoder).toBeUndefined();
      expect(manifest.files.scoring).toEqual({ path: 'case.onnx', inputs: ['tgt_in'], outputs: ['logits'] });
      expect(manifest.files.step).toEqual({
        path: 'case.step.onnx',
        inputs: ['tokens', 'h', ...(isLstm ? ['c'] : []), 'top_k'],
        outputs: ['logits', 'h_out', ...(isLstm ? ['c_out'] : []), ...choiceOutputs],
      });
      expect(manifest.files.greedy).toEqual({
        path: 'case.greedy.onnx',
        inputs: ['prompt'],
        outputs: ['tokens', 'lengths'],
      });
      expect(manifest).toMatchObject({ bos: BOS, eos: EOS, maxLength: MAX_LENGTH, vocab: TGT_VOCAB, inputFeed: false });
      expect(manifest.memoryDim).toBeUndefined();
      expect(manifest.attention).toBeUndefined();
      expect(manifest.source).toBeUndefined();
    });

    it('step graph: from the zero state, fed its own state, matches the reference at every step', async () => {
      let refState = zeroState(dec, tgtIn.length);
      let state = graphStateOf(refState);
      for (let t = 0; t < TGT_TIME; t++) {
        const tokens = tgtIn.map((row) => row[t]!);
        const expected = decoderStep(weights, dec, refState, tokens);
        const stepped = await runStep(model.sessions.step, tokens, state, undefined);
        expectMatches('LM step logits', stepped.out.logits, expected.logits);
        expectMatches('LM step h_out', stepped.out.h_out, expected.h);
        if (isLstm) expectMatches('LM step c_out', stepped.out.c_out, expected.c!);
        refState = expected;
        state = stepped.state;
      }
    });

    it('scoring graph matches teacherForced from the zero state', async () => {
      const out = await run(model.sessions.scoring, { tgt_in: idsTensor(tgtIn) });
      expectMatches(
        'LM scoring logits',
        out.logits,
        teacherForced(weights, undefined, dec, undefined, undefined, tgtIn),
      );
    });

    it('greedy graph: fed bos and then the prompt (empty or not), generation follows its last token as in the reference', async () => {
      for (const prompt of prompts) {
        const expected = greedy(weights, undefined, dec, undefined, undefined, fedForPrompt(prompt));
        const out = await run(model.sessions.greedy, { prompt: idsTensor(prompt) });
        expect(idsOf(out.tokens!)).toEqual(expected.tokens);
        expect(vectorOf(out.lengths!)).toEqual(expected.lengths);
        for (const length of expected.lengths) greedyEndings[length < MAX_LENGTH ? 'eos' : 'maxLength']++;
      }
    });

    it('the step loop, the scoring graph and the greedy graph agree, and a batch equals its rows alone', async () => {
      const start = graphStateOf(zeroState(dec, tgtIn.length));
      let state = start;
      const perStep: number[][][] = [];
      for (let t = 0; t < TGT_TIME; t++) {
        const stepped = await runStep(
          model.sessions.step,
          tgtIn.map((row) => row[t]!),
          state,
          undefined,
        );
        perStep.push(floatsOf(stepped.out.logits!) as number[][]);
        state = stepped.state;
      }
      const scored = await run(model.sessions.scoring, { tgt_in: idsTensor(tgtIn) });
      expectMatches(
        'LM step loop vs scoring',
        scored.logits,
        tgtIn.map((_, b) => perStep.map((l) => l[b]!)),
        SAME_GRAPHS,
      );

      const prompt = prompts[0]!;
      const greedyOut = await run(model.sessions.greedy, { prompt: idsTensor(prompt) });
      const tokens = idsOf(greedyOut.tokens!);
      const lengths = vectorOf(greedyOut.lengths!);
      const byStep = await greedyBySteps(
        model.sessions.step,
        dec,
        fedForPrompt(prompt),
        graphStateOf(zeroState(dec, prompt.length)),
        undefined,
      );
      expect(byStep).toEqual({ tokens, lengths });
      const followed = fedForPrompt(prompt).map((row, b) => [...row, ...tokens[b]!.slice(0, -1)]);
      const rescored = floatsOf(
        (await run(model.sessions.scoring, { tgt_in: idsTensor(followed) })).logits!,
      ) as number[][][];
      const P = prompt[0]!.length;
      tokens.forEach((row, b) =>
        row.slice(0, lengths[b]).forEach((token, t) => expect(argmax(rescored[b]![P + t]!)).toBe(token)),
      );

      const logits = floatsOf(scored.logits!) as number[][][];
      for (let b = 0; b < prompt.length; b++) {
        const alone = await run(model.sessions.greedy, { prompt: idsTensor([prompt[b]!]) });
        expect(idsOf(alone.tokens!)).toEqual([tokens[b]]);
        expect(vectorOf(alone.lengths!)).toEqual([lengths[b]]);
        const scoredAlone = await run(model.sessions.scoring, { tgt_in: idsTensor([tgtIn[b]!]) });
        expectMatches('LM row alone: scoring logits', scoredAlone.logits, [logits[b]!], SAME_GRAPHS);
      }
    });
  });
}

describe('greedy references', () => {
  it('exercised both endings: rows that generated eos and rows that reached max_length', () => {
    expect(greedyEndings.eos).toBeGreaterThan(0);
    expect(greedyEndings.maxLength).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Opsets: the same bundles run and match the reference at opsets 14, 17 and 21.

describe('opsets 14, 17 and 21', () => {
  const picked = [
    seq2seqCases.find((c) => c.dec.attention?.inputFeed && c.dec.recurrent.cell === 'lstm' && c.enc!.bridge)!,
    seq2seqCases.find(
      (c) =>
        c.dec.attention?.placement === 'bahdanau' &&
        c.dec.attention.score === 'additive' &&
        c.dec.recurrent.cell === 'gru',
    )!,
    seq2seqCases.find((c) => !c.dec.attention && c.dec.recurrent.cell === 'rnn')!,
    languageModelCases.find((c) => c.dec.recurrent.cell === 'lstm' && c.dec.recurrent.layers === 2)!,
  ];
  for (const c of picked) {
    for (const opset of [14, 17, 21]) {
      it(`opset ${opset}: ${c.enc ? 'seq2seq' : 'language model'} ${c.title}`, async () => {
        const enc = c.enc;
        const dec = c.dec;
        const { weights, src: drawnSrc, tgtIn, prompts } = draw(c);
        const model = await compileCase(c, weights, opset);
        for (const file of model.result.bundle!.files) {
          expect(file.proto.opsetImports).toEqual([{ domain: '', version: opset }]);
        }
        if (enc) {
          const src = drawnSrc!;
          const feeds = { src: idsTensor(src), src_lengths: idsTensor(SRC_LENGTHS) };
          const encoded = encode(weights, enc, dec, src, SRC_LENGTHS);
          const encoderOut = await run(model.sessions.encoder, feeds);
          expectMatches(`opset ${opset} encoder memory`, encoderOut.memory, encoded.memory);
          expectMatches(`opset ${opset} encoder h0`, encoderOut.h0, encoded.h0);
          const start = startState(dec, encoded);
          const stepped = await runStep(
            model.sessions.step,
            tgtIn.map((row) => row[0]!),
            graphStateOf(start),
            { memory: floatTensor(encoded.memory), lengths: idsTensor(SRC_LENGTHS) },
          );
          expectMatches(
            `opset ${opset} step logits`,
            stepped.out.logits,
            decoderStep(
              weights,
              dec,
              start,
              tgtIn.map((row) => row[0]!),
              encoded.memory,
              SRC_LENGTHS,
            ).logits,
          );
          const scored = await run(model.sessions.scoring, { ...feeds, tgt_in: idsTensor(tgtIn) });
          expectMatches(
            `opset ${opset} scoring logits`,
            scored.logits,
            teacherForced(weights, enc, dec, src, SRC_LENGTHS, tgtIn),
          );
          const greedyOut = await run(model.sessions.greedy, feeds);
          const expected = greedy(weights, enc, dec, src, SRC_LENGTHS);
          expect(idsOf(greedyOut.tokens!)).toEqual(expected.tokens);
          expect(vectorOf(greedyOut.lengths!)).toEqual(expected.lengths);
        } else {
          const scored = await run(model.sessions.scoring, { tgt_in: idsTensor(tgtIn) });
          expectMatches(
            `opset ${opset} LM scoring logits`,
            scored.logits,
            teacherForced(weights, undefined, dec, undefined, undefined, tgtIn),
          );
          const stepped = await runStep(
            model.sessions.step,
            tgtIn.map((row) => row[0]!),
            graphStateOf(zeroState(dec, 3)),
            undefined,
          );
          expectMatches(
            `opset ${opset} LM step logits`,
            stepped.out.logits,
            decoderStep(
              weights,
              dec,
              zeroState(dec, 3),
              tgtIn.map((row) => row[0]!),
            ).logits,
          );
          const prompt = prompts[0]!;
          const greedyOut = await run(model.sessions.greedy, { prompt: idsTensor(prompt) });
          const expected = greedy(weights, undefined, dec, undefined, undefined, fedForPrompt(prompt));
          expect(idsOf(greedyOut.tokens!)).toEqual(expected.tokens);
          expect(vectorOf(greedyOut.lengths!)).toEqual(expected.lengths);
        }
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// The checker's decoder diagnostics: code, the token the span points at, and a hint.

/** A small translator whose encoder's final state (2 layers of 2 × 2 = 4) fits an LSTM(hidden=4, layers=2). */
const translatorLines = [
  'model T {',
  '  input src: int64[batch, src_time]',
  '  input src_lengths: lengths(src)',
  '  encoder {',
  '    src -> src_embedding: Embedding(vocab=11, dim=6, padding_idx=0) -> encoder: BiLSTM(hidden=2, layers=2)',
  '  }',
  '  decoder(bos=1, eos=2, max_length=7) {',
  '    -> tgt_embedding: Embedding(vocab=13, dim=5)',
  '    -> decoder: LSTM(hidden=4, layers=2)',
  '    -> attention: Attention(score=general)',
  '    -> generator: Linear(13)',
  '  }',
  '}',
];

/** The translator with line `index` (0-based) replaced, removed (replacement undefined) or extended. */
function edited(lines: readonly string[], edits: Record<number, string | readonly string[] | undefined>): string[] {
  return lines.flatMap((line, i) => {
    if (!(i in edits)) return [line];
    const replacement = edits[i];
    return replacement === undefined ? [] : typeof replacement === 'string' ? [replacement] : [...replacement];
  });
}

function errorsOf(lines: readonly string[]): Diagnostic[] {
  return compile(lines.join('\n'), { sourceName: 'spec.seq' }).diagnostics.filter((d) => d.severity === 'error');
}

/** The 1-based line and column where the `nth` occurrence of `needle` starts. */
function positionOf(lines: readonly string[], needle: string, nth = 0): { line: number; column: number } {
  let seen = 0;
  for (const [index, line] of lines.entries()) {
    let from = 0;
    for (;;) {
      const column = line.indexOf(needle, from);
      if (column < 0) break;
      if (seen++ === nth) return { line: index + 1, column: column + 1 };
      from = column + 1;
    }
  }
  throw new Error(`"${needle}" is not in the spec`);
}

/** Asserts that the first error has `code`, a span that starts at `needle` and covers it, and a hint. */
function expectFirstError(lines: readonly string[], code: string, needle: string, nth = 0): Diagnostic {
  const errors = errorsOf(lines);
  expect(errors.length).toBeGreaterThan(0);
  const d = errors[0]!;
  expect(d.code).toBe(code);
  const at = positionOf(lines, needle, nth);
  expect({ line: d.span.start.line, column: d.span.start.column }).toEqual(at);
  expect(d.span.source).toBe('spec.seq');
  const covered = lines[d.span.start.line - 1]!.slice(
    d.span.start.column - 1,
    d.span.end.line === d.span.start.line ? d.span.end.column - 1 : undefined,
  );
  expect(covered.startsWith(needle) || needle.startsWith(covered)).toBe(true);
  expect(d.hint, `${code} has a hint`).toBeTruthy();
  return d;
}

/** Asserts exactly one error, as expectFirstError describes it. */
function expectOneError(lines: readonly string[], code: string, needle: string, nth = 0): Diagnostic {
  expect(errorsOf(lines).map((d) => `${d.code}: ${d.message}`)).toHaveLength(1);
  return expectFirstError(lines, code, needle, nth);
}

describe('decoder diagnostics', () => {
  it('the baseline translator compiles without errors', () => {
    expect(errorsOf(translatorLines)).toEqual([]);
  });

  it('SEQ040: a decoder state that does not fit the encoder names both fixes', () => {
    const lines = edited(translatorLines, { 8: '    -> decoder: LSTM(hidden=8, layers=2)' });
    const d = expectOneError(lines, 'SEQ040', 'decoder: LSTM');
    const text = `${d.message} ${d.hint}`;
    expect(text).toMatch(/hidden=4/);
    expect(text).toMatch(/bridge=linear/);
    expect(d.message).toMatch(/2 × 2/);
    expect(d.message).toMatch(/8/);
    expect(d.related?.[0]?.span.start).toMatchObject(positionOf(lines, 'encoder: BiLSTM'));
  });

  it('SEQ040: layer counts that differ too', () => {
    const lines = edited(translatorLines, { 8: '    -> decoder: LSTM(hidden=4, layers=1)' });
    const d = expectOneError(lines, 'SEQ040', 'decoder: LSTM');
    expect(`${d.message} ${d.hint}`).toMatch(/bridge=linear/);
  });

  it('SEQ040 goes away with bridge=linear', () => {
    const lines = edited(translatorLines, {
      6: '  decoder(bos=1, eos=2, max_length=7, bridge=linear) {',
      8: '    -> decoder: LSTM(hidden=8, layers=1)',
    });
    expect(errorsOf(lines)).toEqual([]);
  });

  it('SEQ041: a decoder must start with an Embedding', () => {
    const lines = edited(translatorLines, { 7: undefined });
    expectOneError(lines, 'SEQ041', 'LSTM(hidden=4');
  });

  it('SEQ049: a decoder has one recurrent layer', () => {
    const lines = edited(translatorLines, {
      8: ['    -> decoder: LSTM(hidden=4, layers=2)', '    -> second: GRU(hidden=4)'],
    });
    const d = expectOneError(lines, 'SEQ049', 'GRU');
    expect(d.related?.[0]?.span.start).toMatchObject(positionOf(lines, 'decoder: LSTM'));
  });

  it('SEQ049: a decoder cannot be bidirectional (or stateful)', () => {
    expectFirstError(
      edited(translatorLines, { 8: '    -> decoder: BiLSTM(hidden=2, layers=2)' }),
      'SEQ049',
      'BiLSTM',
      1,
    );
    expectFirstError(
      edited(translatorLines, { 8: '    -> decoder: LSTM(hidden=4, layers=2, bidirectional=true)' }),
      'SEQ049',
      'LSTM(hidden=4, layers=2, bidirectional',
    );
    expectFirstError(
      edited(translatorLines, { 8: '    -> decoder: LSTM(hidden=4, layers=2, stateful=true)' }),
      'SEQ049',
      'LSTM(hidden=4, layers=2, stateful',
    );
  });

  // A rejected recurrent layer used to leave the steps after it checked as if they stood before it
  // (a spurious "only an Attention may stand …, found Linear" on the generator, and a spurious
  // input_feed error on a Luong Attention). One mistake gives one error.
  const rejectedRecurrent: readonly [string, string][] = [
    ['bidirectional', '    -> decoder: BiLSTM(hidden=2, layers=2)'],
    ['stateful', '    -> decoder: LSTM(hidden=4, layers=2, stateful=true)'],
    ['misspelt', '    -> decoder: LSTM(hiden=4, layers=2)'],
  ];
  for (const [what, line] of rejectedRecurrent) {
    it(`a ${what} decoder recurrent layer gives one error, none on the steps after it`, () => {
      const lines = edited(translatorLines, {
        8: line,
        9: '    -> attention: Attention(score=general, input_feed=true)',
      });
      const errors = errorsOf(lines);
      expect(errors.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.column} ${d.message}`)).toHaveLength(1);
      expect(errors[0]!.span.start.line).toBe(9);
    });
  }

  it('SEQ048: a language model has no Attention', () => {
    const lines = [
      'model LM {',
      '  decoder(bos=1, eos=2, max_length=7) {',
      '    -> tgt_embedding: Embedding(vocab=13, dim=5)',
      '    -> decoder: LSTM(hidden=4)',
      '    -> attention: Attention(score=general)',
      '    -> generator: Linear(13)',
      '  }',
      '}',
    ];
    expectOneError(lines, 'SEQ048', 'Attention');
    expect(errorsOf(edited(lines, { 4: undefined }))).toEqual([]);
  });

  it('SEQ048: input_feed only with Luong placement', () => {
    const lines = edited(translatorLines, {
      7: [
        '    -> tgt_embedding: Embedding(vocab=13, dim=5)',
        '    -> attention: Attention(score=general, input_feed=true)',
      ],
      9: undefined,
    });
    expectOneError(lines, 'SEQ048', 'input_feed=true');
    const luong = edited(translatorLines, { 9: '    -> attention: Attention(score=general, input_feed=true)' });
    expect(errorsOf(luong)).toEqual([]);
  });

  it('SEQ045: no top-level chain in a model with a decoder', () => {
    const lines = edited(translatorLines, { 5: ['  }', '  src -> extra: Embedding(vocab=11, dim=2)'] });
    expectOneError(lines, 'SEQ045', 'src -> extra', 0);
  });

  it('SEQ041: no `output` step in a decoder', () => {
    const lines = edited(translatorLines, { 10: ['    -> generator: Linear(13)', '    -> output logits'] });
    expectOneError(lines, 'SEQ041', 'output logits');
  });

  it('SEQ042: dot attention needs the hidden size to equal the memory size', () => {
    const lines = edited(translatorLines, {
      6: '  decoder(bos=1, eos=2, max_length=7, bridge=linear) {',
      8: '    -> decoder: LSTM(hidden=6, layers=2)',
      9: '    -> attention: Attention(score=dot)',
    });
    const d = expectOneError(lines, 'SEQ042', 'Attention');
    expect(d.message).toMatch(/6/);
    expect(d.message).toMatch(/4/);
  });

  it('SEQ023: bos and eos must be token ids of the decoder', () => {
    const bos = expectOneError(
      edited(translatorLines, { 6: '  decoder(bos=13, eos=2, max_length=7) {' }),
      'SEQ023',
      '13, eos',
    );
    expect(bos.message).toMatch(/bos=13/);
    const eos = edited(translatorLines, { 6: '  decoder(bos=1, eos=40, max_length=7) {' });
    expect(expectOneError(eos, 'SEQ023', '40').message).toMatch(/eos=40/);
    // The generator's size bounds the ids too, not only the embedding's.
    const smallGenerator = edited(translatorLines, {
      6: '  decoder(bos=1, eos=10, max_length=7) {',
      10: '    -> generator: Linear(10)',
    });
    expectOneError(smallGenerator, 'SEQ023', '10, max');
  });
});

// ---------------------------------------------------------------------------------------------
// The Translator spec: a four-file bundle whose manifest follows docs/seq2seq.md, built reproducibly.

describe('specs/translator.seq', () => {
  const source = readFileSync(new URL('../specs/translator.seq', import.meta.url), 'utf8');
  let first: CompileResult;

  beforeAll(() => {
    first = compile(source, { sourceName: 'specs/translator.seq', seed: 7 });
  });

  it('compiles to scoring, encoder, step and greedy graphs named after the spec', () => {
    expect(first.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const bundle = first.bundle!;
    expect(bundle.files.map((f) => [f.role, f.file])).toEqual([
      ['scoring', 'translator.onnx'],
      ['encoder', 'translator.encoder.onnx'],
      ['step', 'translator.step.onnx'],
      ['greedy', 'translator.greedy.onnx'],
    ]);
    expect(first.model).toBe(bundle.files[0]!.bytes);
    for (const f of bundle.files) {
      expect(f.proto.metadataProps.find((p) => p.key === 'seqc.bundle_role')?.value).toBe(f.role);
      const entry = bundle.manifest.files[f.role]!;
      expect(entry.path).toBe(f.file);
      expect(f.proto.graph.inputs.map((i) => i.name)).toEqual(entry.inputs);
      expect(f.proto.graph.outputs.map((o) => o.name)).toEqual(entry.outputs);
    }
  });

  it('has the manifest of docs/seq2seq.md', () => {
    expect(first.bundle!.manifest).toEqual({
      format: 'seqc-bundle',
      version: 1,
      name: 'Translator',
      kind: 'seq2seq',
      bos: 1,
      eos: 2,
      maxLength: 64,
      vocab: 8000,
      targetVocab: 8000,
      state: { cell: 'lstm', layers: 2, hidden: 512 },
      inputFeed: false,
      memoryDim: 512,
      attention: { score: 'general', placement: 'luong' },
      source: { input: 'src', lengths: 'src_lengths' },
      files: {
        scoring: { path: 'translator.onnx', inputs: ['src', 'src_lengths', 'tgt_in'], outputs: ['logits'] },
        encoder: { path: 'translator.encoder.onnx', inputs: ['src', 'src_lengths'], outputs: ['memory', 'h0', 'c0'] },
        step: {
          path: 'translator.step.onnx',
          inputs: ['tokens', 'h', 'c', 'memory', 'src_lengths', 'top_k'],
          outputs: ['logits', 'h_out', 'c_out', 'attention', ...choiceOutputs],
        },
        greedy: { path: 'translator.greedy.onnx', inputs: ['src', 'src_lengths'], outputs: ['tokens', 'lengths'] },
      },
      weights: { path: 'translator.weights.bin', bytes: 61177088 },
    });
  });

  it('the same spec and seed give a byte-identical bundle', () => {
    const second = compile(source, { sourceName: 'specs/translator.seq', seed: 7 });
    const files = second.bundle!.files;
    expect(files.map((f) => f.file)).toEqual(first.bundle!.files.map((f) => f.file));
    files.forEach((f, i) =>
      expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(first.bundle!.files[i]!.bytes))).toBe(0),
    );
    expect(JSON.stringify(second.bundle!.manifest)).toBe(JSON.stringify(first.bundle!.manifest));
  });

  it('its encoder runs on a tiny batch: memory [2, 3, 512] zero past the lengths, h0 and c0 [2, 2, 512]', async () => {
    const file = first.bundle!.files.find((f) => f.role === 'encoder')!;
    const session = await ort.InferenceSession.create(file.bytes, { logSeverityLevel: 3 });
    try {
      const out = (await session.run({
        src: idsTensor([
          [5, 17, 4000],
          [9, 0, 0],
        ]),
        src_lengths: idsTensor([3, 1]),
      })) as Outputs;
      expect([...out.memory!.dims]).toEqual([2, 3, 512]);
      expect([...out.h0!.dims]).toEqual([2, 2, 512]);
      expect([...out.c0!.dims]).toEqual([2, 2, 512]);
      const memory = floatsOf(out.memory!) as number[][][];
      expect(
        memory[1]!
          .slice(1)
          .flat()
          .every((v) => v === 0),
      ).toBe(true);
      expect(flatten(floatsOf(out.h0!)).every(Number.isFinite)).toBe(true);
    } finally {
      await session.release();
    }
  });
});
