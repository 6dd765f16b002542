// The webgpu target (README, "WebGPU target"): graphs compiled with `target: 'webgpu'` give the generic
// graphs' outputs on onnxruntime-node, and use only operators and element types that onnxruntime-web
// 1.30's WebGPU provider runs.
//
// For every spec in specs/ and a matrix of small specs (every recurrent cell and option, lengths,
// pools, LayerNorm, activations, stateful layers, encoder–decoder variants and language models), both
// targets are compiled with the same weights and run on the same inputs; every output must agree within
// 1e-5, token outputs exactly, and most outputs bit for bit. Each webgpu graph is also checked
// statically against the kernel table that scripts/webgpu-probe.ts measured in Chromium, so the matrix
// is covered beyond the graphs that test/browser/webgpu.test.ts places on a real WebGPU provider.

import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { compile, type CompileResult, type CompileTarget, type ModelSignature } from '../src/index.js';
import { DataType, type ModelProto } from '../src/onnx/types.js';

/**
 * Where the two targets compute the same thing with float additions in another order: an RNN layer
 * run as a GRU, log_softmax written out, Luong attention batched over the target steps. Everything
 * else must agree bit for bit.
 */
const SAME = 1e-5;

const sessions: ort.InferenceSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
});

async function open(bytes: Uint8Array): Promise<ort.InferenceSession> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  sessions.push(session);
  return session;
}

function compiled(spec: string, target: CompileTarget, opset?: number): CompileResult {
  const result = compile(spec, { sourceName: 'case.seq', seed: 3, target, ...(opset === undefined ? {} : { opset }) });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0)
    throw new Error(`${target} did not compile:\n${errors.map((d) => `${d.code} ${d.message}`).join('\n')}\n${spec}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// What the WebGPU provider runs: the kernel table measured by the browser probe (op × element type of
// its data input), and the one way it reads int64: as Gather indices.

type Elem = 'float' | 'int32' | 'int64' | 'bool';
const F: Elem = 'float';
const I: Elem = 'int32';
const B: Elem = 'bool';

const webgpuKernels: Readonly<Record<string, readonly Elem[]>> = {
  Transpose: [F, I],
  Unsqueeze: [F, I, B],
  Squeeze: [F, I],
  Concat: [F, I],
  Identity: [F, I],
  Reshape: [F, I, B],
  Expand: [F, I, B],
  Slice: [F],
  Gather: [F, I, B],
  GatherElements: [F],
  Where: [F, I],
  Add: [F, I],
  Sub: [F, I],
  Mul: [F, I],
  Div: [F],
  Less: [F, I],
  LessOrEqual: [F, I],
  Greater: [F, I],
  Equal: [F, I],
  CumSum: [F, I],
  ReduceSum: [F, I],
  ReduceMax: [F, I],
  ReduceMean: [F],
  ArgMax: [F, I],
  Cast: [F, I, B],
  Not: [B],
  And: [B],
  Tanh: [F],
  Relu: [F],
  Sigmoid: [F],
  Exp: [F],
  Log: [F],
  Sqrt: [F],
  Max: [F],
  Min: [F],
  Softmax: [F],
  MatMul: [F],
  Gemm: [F],
  LayerNormalization: [F],
  LSTM: [F],
  GRU: [F],
  Pad: [F],
};

/** Inputs the kernels read on the CPU (shapes, axes, pads): they must be initializers, never computed. */
const cpuInputs: Readonly<Record<string, readonly number[]>> = {
  Unsqueeze: [1],
  Squeeze: [1],
  Reshape: [1],
  Expand: [1],
  Slice: [1, 2, 3, 4],
  ReduceSum: [1],
  ReduceMax: [1],
  ReduceMean: [1],
  CumSum: [1],
  Pad: [1, 2, 3],
};

const elemOf: Readonly<Record<number, Elem>> = {
  [DataType.FLOAT]: F,
  [DataType.INT32]: I,
  [DataType.INT64]: 'int64',
  [DataType.BOOL]: B,
};

/** Every node of a graph that the WebGPU provider would not run, as sentences; empty when all run there. */
function webgpuProblems(model: ModelProto): string[] {
  const g = model.graph;
  const types = new Map<string, Elem>();
  const initializers = new Set(g.initializers.map((t) => t.name));
  for (const t of g.initializers) types.set(t.name, elemOf[t.dataType]!);
  for (const i of g.inputs) types.set(i.name, elemOf[i.type.elemType]!);
  const problems: string[] = [];
  for (const node of g.nodes) {
    const at = `${node.opType} ${node.name}`;
    const allowed = webgpuKernels[node.opType];
    if (allowed === undefined) {
      problems.push(`${at}: no WebGPU kernel`);
    } else {
      const data = node.opType === 'Where' ? 1 : 0;
      const dtype = types.get(node.inputs[data]!);
      if (dtype === undefined) problems.push(`${at}: input ${node.inputs[data]} has no known type`);
      else if (!allowed.includes(dtype)) problems.push(`${at}: no WebGPU kernel for ${dtype}`);
    }
    node.inputs.forEach((input, index) => {
      if (input === '') return;
      const cpu = cpuInputs[node.opType]?.includes(index) === true;
      if (cpu && !initializers.has(input))
        problems.push(`${at}: input ${index} (${input}) is read on the CPU but computed`);
      const indices = (node.opType === 'Gather' || node.opType === 'GatherElements') && index === 1;
      if (types.get(input) === 'int64' && !cpu && !indices && !(node.opType === 'Where' && index === 0))
        problems.push(`${at}: reads int64 ${input}`);
    });
    const first = types.get(node.inputs[node.opType === 'Where' ? 1 : 0]!) ?? F;
    const out: Elem =
      node.opType === 'Cast'
        ? elemOf[node.attributes.find((a) => a.name === 'to')!.value as number]!
        : node.opType === 'ArgMax'
          ? 'int64'
          : ['Less', 'LessOrEqual', 'Greater', 'Equal', 'Not', 'And'].includes(node.opType)
            ? B
            : node.opType === 'Gather' || node.opType === 'GatherElements'
              ? first
              : first;
    for (const o of node.outputs) if (o !== '') types.set(o, out);
  }
  const names = g.nodes.map((n) => n.name);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length > 0) problems.push(`node names repeat: ${[...new Set(repeated)].slice(0, 5).join(', ')}`);
  return problems;
}

describe('the static check of WebGPU kernels', () => {
  it('finds what the browser finds on the generic Tagger graph: int64 Transpose and Cast, the Shape-derived mask', () => {
    const generic = compile(readFileSync('specs/tagger.seq', 'utf8'), { sourceName: 'specs/tagger.seq' });
    expect(webgpuProblems(generic.proto!)).toEqual(
      expect.arrayContaining([
        'Transpose tokens/to_time_major/Transpose: no WebGPU kernel for int64',
        'Cast lengths/Cast: no WebGPU kernel for int64',
        'Shape lengths/mask/Shape: no WebGPU kernel',
        'Range lengths/mask/Range: no WebGPU kernel',
      ]),
    );
  });

  it('finds the Loop, RNN and LogSoftmax nodes of generic graphs', () => {
    const spec = `model Lm {
  decoder(bos=1, eos=2, max_length=4) {
    -> emb: Embedding(vocab=6, dim=3)
    -> rec: RNN(hidden=4)
    -> out: Linear(6)
    -> log_softmax
  }
}
`;
    const problems = compile(spec).bundle!.files.flatMap((f) => webgpuProblems(f.proto));
    for (const op of ['Loop', 'RNN', 'LogSoftmax', 'Shape', 'ConstantOfShape'])
      expect(
        problems.some((p) => p.startsWith(`${op} `)),
        op,
      ).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Inputs from a model's signature, and comparisons.

const BATCH = 3;
const TIME = 5;
const LENGTHS = [5, 2, 3];

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

function sizeOf(dim: string | number, batch: number, time: number): number {
  if (typeof dim === 'number') return dim;
  return dim === 'batch' ? batch : time;
}

/** Random inputs for a classifier-style model: token ids below the vocabulary, lengths, floats, states. */
function feedsFor(signature: ModelSignature, seed: number): Record<string, ort.Tensor> {
  const random = seeded(seed);
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of signature.inputs) {
    const dims = input.dims.map((d) => sizeOf(d, BATCH, TIME));
    const count = dims.reduce((a, b) => a * b, 1);
    if (input.role === 'lengths')
      feeds[input.name] = new ort.Tensor('int64', BigInt64Array.from(LENGTHS.map(BigInt)), dims);
    else if (input.dtype === 'int64')
      feeds[input.name] = new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: count }, () => BigInt(Math.floor(random() * (input.vocab ?? 10)))),
        dims,
      );
    else
      feeds[input.name] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: count }, () => 2 * random() - 1),
        dims,
      );
  }
  return feeds;
}

interface Agreement {
  readonly output: string;
  readonly error: number;
  readonly identical: boolean;
}

const report: string[] = [];
afterAll(() => {
  if (process.env.SEQC_NUMERIC_REPORT === '1') console.log(`webgpu vs generic:\n${report.join('\n')}`);
});

/**
 * Runs both graphs on the same feeds and checks every output: the same dims and type, and the same
 * values bit for bit, except the outputs `mayDiffer` names ('all' for every float output), which must
 * agree within SAME. Token ids must always be identical.
 */
/** The step graph's TopK outputs (docs/seq2seq.md), which only the generic target has (with its `top_k` input). */
const topKOutputs = ['top_tokens', 'top_log_probs', 'top_logits'];

async function expectSameOutputs(
  title: string,
  generic: Uint8Array,
  webgpu: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  mayDiffer: 'all' | readonly string[] = [],
): Promise<Agreement[]> {
  const [a, b] = [await open(generic), await open(webgpu)];
  const pick = (s: ort.InferenceSession) => Object.fromEntries(s.inputNames.map((n) => [n, feeds[n]!]));
  const [expected, actual] = [await a.run(pick(a)), await b.run(pick(b))];
  // The webgpu step graph has no TopK outputs (WebGPU has no TopK kernel); every other output is the same.
  expect(b.outputNames).toEqual(a.outputNames.filter((n) => b.outputNames.includes(n) || !topKOutputs.includes(n)));
  const agreements: Agreement[] = [];
  for (const name of b.outputNames) {
    const e = expected[name]!;
    const g = actual[name]!;
    expect([...g.dims], `${title}: ${name} dims`).toEqual([...e.dims]);
    expect(g.type, `${title}: ${name} type`).toBe(e.type);
    const x = Array.from(e.data as ArrayLike<number | bigint>, Number);
    const y = Array.from(g.data as ArrayLike<number | bigint>, Number);
    if (e.type === 'int64') {
      expect(y, `${title}: ${name}`).toEqual(x);
      agreements.push({ output: name, error: 0, identical: true });
      continue;
    }
    let error = 0;
    for (let i = 0; i < x.length; i++) error = Math.max(error, Math.abs(x[i]! - y[i]!));
    expect(y.every(Number.isFinite), `${title}: ${name} is finite`).toBe(x.every(Number.isFinite));
    expect(error, `${title}: ${name}`).toBeLessThanOrEqual(SAME);
    const identical = x.every((v, i) => Object.is(v, y[i]));
    if (mayDiffer !== 'all' && !mayDiffer.includes(name))
      expect(identical, `${title}: ${name} is bit for bit the generic output (max |Δ| ${error})`).toBe(true);
    agreements.push({ output: name, error, identical });
  }
  report.push(
    `  ${title.padEnd(72)} ${agreements.map((r) => `${r.output} ${r.identical ? 'identical' : r.error.toExponential(1)}`).join(', ')}`,
  );
  return agreements;
}

// ---------------------------------------------------------------------------------------------
// Classifiers, taggers and feature models.

const recurrentLayers: readonly [string, string][] = [
  ['RNN tanh', 'RNN(hidden=4)'],
  ['RNN relu', 'RNN(hidden=4, nonlinearity=relu)'],
  ['RNN bias=false', 'RNN(hidden=4, bias=false)'],
  ['BiRNN, 2 layers', 'BiRNN(hidden=4, layers=2)'],
  ['LSTM', 'LSTM(hidden=4)'],
  ['LSTM bias=false', 'LSTM(hidden=4, bias=false)'],
  ['BiLSTM, 2 layers', 'BiLSTM(hidden=4, layers=2)'],
  ['GRU', 'GRU(hidden=4)'],
  ['GRU reset_after=false', 'GRU(hidden=4, reset_after=false)'],
  ['BiGRU reset_after=false, 3 layers', 'BiGRU(hidden=4, layers=3, reset_after=false)'],
];

describe('classifiers, taggers and feature models: webgpu graphs give the generic outputs', () => {
  for (const [title, layer] of recurrentLayers) {
    for (const padding of ['full', 'lengths', 'stateful'] as const) {
      it(`${title}, ${padding}: per-token outputs, last, first, mean and max`, async () => {
        const stateful = padding === 'stateful' ? layer.replace(/\)$/, ', stateful=true)') : layer;
        const spec = `model Case {
  input x: float32[batch, time, 3]
  ${padding === 'full' ? '' : 'input lengths: lengths(x)'}
  x -> rec: ${stateful} -> output seq
  rec -> last -> output last
  rec -> first -> output first
  rec -> mean -> output mean
  rec -> max -> output max
}
`;
        const generic = compiled(spec, 'generic');
        const webgpu = compiled(spec, 'webgpu');
        expect(webgpuProblems(webgpu.proto!)).toEqual([]);
        await expectSameOutputs(
          `${title}, ${padding}`,
          generic.model!,
          webgpu.model!,
          feedsFor(generic.signature!, 1),
          layer.includes('RNN') ? 'all' : [],
        );
      });
    }
  }

  it('a token tagger with embedding, a linear head over time, LayerNorm, every activation and every pool after a Linear', async () => {
    const spec = `model Rich {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=12, dim=5, padding_idx=0) -> gru: BiGRU(hidden=4) -> fc: Linear(6) -> ln: LayerNorm -> output y
  ln -> relu -> a: Linear(3) -> log_softmax -> output logp
  ln -> tanh -> last -> output l
  fc -> sigmoid -> first -> output f
  fc -> mean -> s: Linear(4) -> softmax -> output m
  fc -> max -> output mx
}
`;
    for (const opset of [14, 17, 18, 21]) {
      const generic = compiled(spec, 'generic', opset);
      const webgpu = compiled(spec, 'webgpu', opset);
      expect(webgpuProblems(webgpu.proto!), `opset ${opset}`).toEqual([]);
      await expectSameOutputs(
        `rich tagger, opset ${opset}`,
        generic.model!,
        webgpu.model!,
        feedsFor(generic.signature!, 2),
        ['logp'],
      );
    }
  });

  it('a feature sequence passed straight to an output, masked by lengths, and a plain vector input', async () => {
    const spec = `model Plain {
  input x: float32[batch, time, 2]
  input lengths: lengths(x)
  input v: float32[batch, 3]
  x -> output y
  v -> fc: Linear(2) -> log_softmax -> output z
}
`;
    const generic = compiled(spec, 'generic');
    const webgpu = compiled(spec, 'webgpu');
    expect(webgpuProblems(webgpu.proto!)).toEqual([]);
    await expectSameOutputs('plain', generic.model!, webgpu.model!, feedsFor(generic.signature!, 3), ['z']);
  });

  it('different recurrent kinds stacked, with lengths: BiLSTM -> stateful GRU -> RNN -> last', async () => {
    const spec = `model Mixed {
  input x: float32[batch, time, 3]
  input lengths: lengths(x)
  x -> a: BiLSTM(hidden=3) -> b: GRU(hidden=4, layers=2, stateful=true) -> c: BiRNN(hidden=2, nonlinearity=relu) -> last -> output y
}
`;
    const generic = compiled(spec, 'generic');
    const webgpu = compiled(spec, 'webgpu');
    expect(webgpuProblems(webgpu.proto!)).toEqual([]);
    await expectSameOutputs('mixed stack', generic.model!, webgpu.model!, feedsFor(generic.signature!, 4), ['y']);
  });
});

describe('what the webgpu target refuses (SEQ050)', () => {
  for (const cell of ['LSTM', 'GRU', 'BiGRU']) {
    it(`${cell} with recurrent_activation=hard_sigmoid: the WebGPU kernels have no HardSigmoid`, () => {
      const spec = `model Keras {
  input x: float32[batch, time, 3]
  x -> rec: ${cell}(hidden=4, recurrent_activation=hard_sigmoid) -> last -> output y
}
`;
      expect(compile(spec, { target: 'generic' }).diagnostics).toEqual([]);
      const result = compile(spec, { target: 'webgpu' });
      expect(result.diagnostics.map((d) => d.code)).toEqual(['SEQ050']);
      expect(result.diagnostics[0]!.message).toMatch(/hard_sigmoid/);
      expect(result.diagnostics[0]!.hint).toMatch(/generic target/);
      expect(result.model).toBeUndefined();
    });
  }

  it('an int64 output: the WebGPU provider computes nothing in int64', () => {
    const spec = `model Ids {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> output ids
}
`;
    expect(compile(spec, { target: 'generic' }).diagnostics).toEqual([]);
    const result = compile(spec, { target: 'webgpu' });
    expect(result.diagnostics.map((d) => d.code)).toEqual(['SEQ050']);
    expect(result.diagnostics[0]!.message).toMatch(/`ids` holds int64/);
  });

  it('a decoder with hard sigmoid gates', () => {
    const spec = `model Lm {
  decoder(bos=1, eos=2, max_length=4) {
    -> emb: Embedding(vocab=6, dim=3)
    -> rec: GRU(hidden=4, recurrent_activation=hard_sigmoid)
    -> out: Linear(6)
  }
}
`;
    expect(compile(spec, { target: 'webgpu' }).diagnostics.map((d) => d.code)).toEqual(['SEQ050']);
  });
});

// ---------------------------------------------------------------------------------------------
// Encoder–decoder models and language models: every graph of the bundle.

interface DecoderCase {
  readonly title: string;
  readonly cell: string;
  readonly attention?: string;
  readonly placement?: 'luong' | 'bahdanau';
  readonly encoder?: string;
  readonly bridge?: boolean;
  readonly lengths?: boolean;
  readonly head?: string;
}

const MAX_LENGTH = 6;
const VOCAB = 9;
const HIDDEN = 4;

function decoderSpec(c: DecoderCase): string {
  const lines = ['model Case {'];
  if (c.encoder !== undefined) {
    lines.push('  input src: int64[batch, src_time]');
    if (c.lengths !== false) lines.push('  input src_lengths: lengths(src)');
    lines.push(
      '  encoder {',
      '    src',
      '      -> src_embedding: Embedding(vocab=11, dim=3, padding_idx=0)',
      `      -> encoder: ${c.encoder}`,
      '  }',
    );
  }
  lines.push(`  decoder(bos=1, eos=2, max_length=${MAX_LENGTH}${c.bridge === true ? ', bridge=linear' : ''}) {`);
  lines.push(`    -> tgt_embedding: Embedding(vocab=${VOCAB}, dim=3)`);
  if (c.attention !== undefined && c.placement === 'bahdanau')
    lines.push(`    -> attention: Attention(${c.attention})`);
  lines.push(`    -> decoder: ${c.cell}`);
  if (c.attention !== undefined && c.placement !== 'bahdanau')
    lines.push(`    -> attention: Attention(${c.attention})`);
  lines.push(`    ${c.head ?? `-> generator: Linear(${VOCAB})`}`, '  }', '}', '');
  return lines.join('\n');
}

const decoderCases: DecoderCase[] = [];
for (const [cellTitle, cell] of [
  ['LSTM', `LSTM(hidden=${HIDDEN})`],
  ['GRU', `GRU(hidden=${HIDDEN})`],
  ['GRU(reset_after=false)', `GRU(hidden=${HIDDEN}, reset_after=false)`],
  ['RNN, 2 layers', `RNN(hidden=${HIDDEN}, layers=2)`],
] as const) {
  const encoder = cell.includes('layers=2') ? 'BiLSTM(hidden=2, layers=2)' : 'BiLSTM(hidden=2)';
  decoderCases.push({ title: `${cellTitle}, no attention`, cell, encoder });
  for (const score of ['dot', 'general', 'additive']) {
    decoderCases.push({ title: `${cellTitle}, Luong ${score}`, cell, encoder, attention: `score=${score}` });
    decoderCases.push({
      title: `${cellTitle}, Luong ${score}, input feed`,
      cell,
      encoder,
      attention: `score=${score}, input_feed=true`,
    });
    decoderCases.push({
      title: `${cellTitle}, Bahdanau ${score}`,
      cell,
      encoder,
      attention: `score=${score}`,
      placement: 'bahdanau',
    });
  }
}
decoderCases.push(
  {
    title: 'LSTM decoder from a GRU encoder through a bridge, 2 layers',
    cell: `LSTM(hidden=${HIDDEN}, layers=2)`,
    encoder: 'GRU(hidden=3)',
    bridge: true,
    attention: 'score=general',
  },
  {
    title: 'LSTM decoder, no source lengths, log_softmax head',
    cell: `LSTM(hidden=${HIDDEN})`,
    encoder: 'BiLSTM(hidden=2)',
    lengths: false,
    attention: 'score=dot',
    head: `-> generator: Linear(${VOCAB}) -> log_softmax`,
  },
  {
    title: 'language model, LSTM, 2 layers, LayerNorm head',
    cell: `LSTM(hidden=${HIDDEN}, layers=2)`,
    head: `-> ln: LayerNorm -> generator: Linear(${VOCAB})`,
  },
  { title: 'language model, GRU', cell: `GRU(hidden=${HIDDEN})` },
  { title: 'language model, RNN relu', cell: `RNN(hidden=${HIDDEN}, nonlinearity=relu)` },
);

function ids(rows: number[][]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]?.length ?? 0]);
}

function randomIds(random: () => number, rows: number, time: number, from: number, to: number): number[][] {
  return Array.from({ length: rows }, () =>
    Array.from({ length: time }, () => from + Math.floor(random() * (to - from))),
  );
}

describe('encoder–decoder models and language models: every graph of the webgpu bundle gives the generic outputs', () => {
  for (const c of decoderCases) {
    it(c.title, async () => {
      const spec = decoderSpec(c);
      const generic = compiled(spec, 'generic').bundle!;
      const webgpu = compiled(spec, 'webgpu').bundle!;
      const genericStep = generic.manifest.files.step;
      const step = {
        ...genericStep,
        inputs: genericStep.inputs.filter((n) => n !== 'top_k'),
        outputs: genericStep.outputs.filter((n) => !topKOutputs.includes(n)),
      };
      expect(webgpu.manifest).toEqual({
        ...generic.manifest,
        target: 'webgpu',
        files: { ...generic.manifest.files, step },
      });
      const random = seeded(11);
      const src = randomIds(random, BATCH, TIME, 1, 11).map((row, b) => row.map((id, t) => (t < LENGTHS[b]! ? id : 0)));
      const source: Record<string, ort.Tensor> =
        c.encoder === undefined
          ? {}
          : { src: ids(src), src_lengths: new ort.Tensor('int64', BigInt64Array.from(LENGTHS.map(BigInt)), [BATCH]) };
      const fileOf = (bundle: typeof generic, role: string) => bundle.files.find((f) => f.role === role)!;
      for (const file of webgpu.files) expect(webgpuProblems(file.proto), `${c.title}: ${file.role}`).toEqual([]);
      // Teacher forcing: a whole-sequence scoring graph takes any length; an unrolled one exactly max_length.
      const unrolled = c.placement === 'bahdanau' || c.attention?.includes('input_feed') === true;
      const tgtDims = fileOf(webgpu, 'scoring').proto.graph.inputs.find((i) => i.name === 'tgt_in')!.type.shape!;
      expect(tgtDims[1], 'tgt_in columns').toEqual(
        unrolled ? { kind: 'value', value: MAX_LENGTH } : { kind: 'param', name: 'tgt_time' },
      );
      const tgtIn = randomIds(random, BATCH, unrolled ? MAX_LENGTH : 4, 0, VOCAB).map((row) => [1, ...row.slice(1)]);
      // Bit for bit, except where an RNN runs as a GRU, log_softmax is written out, or Luong attention is batched.
      const inexactStep = c.cell.startsWith('RNN') || c.head?.includes('log_softmax') === true;
      const inexactScoring = inexactStep || (c.attention !== undefined && !unrolled);
      await expectSameOutputs(
        `${c.title}: scoring`,
        fileOf(generic, 'scoring').bytes,
        fileOf(webgpu, 'scoring').bytes,
        { ...source, tgt_in: ids(tgtIn) },
        inexactScoring ? 'all' : [],
      );
      if (c.encoder !== undefined) {
        await expectSameOutputs(
          `${c.title}: encoder`,
          fileOf(generic, 'encoder').bytes,
          fileOf(webgpu, 'encoder').bytes,
          source,
        );
        await expectSameOutputs(
          `${c.title}: greedy`,
          fileOf(generic, 'greedy').bytes,
          fileOf(webgpu, 'greedy').bytes,
          source,
        );
      } else {
        for (const prompt of [randomIds(random, BATCH, 3, 0, VOCAB), [[], [], []], [[1], [2], [5]]]) {
          await expectSameOutputs(
            `${c.title}: greedy after ${JSON.stringify(prompt)}`,
            fileOf(generic, 'greedy').bytes,
            fileOf(webgpu, 'greedy').bytes,
            { prompt: ids(prompt) },
          );
        }
      }
      // One step from a random state.
      const state = (dims: number[]): ort.Tensor =>
        new ort.Tensor(
          'float32',
          Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random() - 0.5),
          dims,
        );
      const layers = generic.manifest.state.layers;
      const stepFeeds: Record<string, ort.Tensor> = {
        tokens: ids([[1, 4, 7]]).reshape([BATCH]),
        h: state([layers, BATCH, HIDDEN]),
        c: state([layers, BATCH, HIDDEN]),
        feed: state([BATCH, HIDDEN]),
        top_k: new ort.Tensor('int64', BigInt64Array.of(3n), [1]),
        ...(c.encoder === undefined
          ? {}
          : { memory: state([BATCH, TIME, generic.manifest.memoryDim!]), src_lengths: source['src_lengths']! }),
      };
      await expectSameOutputs(
        `${c.title}: step`,
        fileOf(generic, 'step').bytes,
        fileOf(webgpu, 'step').bytes,
        stepFeeds,
        // The choice's log-softmax is written out on webgpu (no LogSoftmax kernel), so it may differ in the last bit.
        inexactStep ? 'all' : ['next_log_prob'],
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The specs in specs/, as compiled for the browser.

describe('specs/: the webgpu graphs give the generic outputs', () => {
  const specs = readdirSync('specs')
    .filter((f) => f.endsWith('.seq'))
    .sort();

  for (const file of specs) {
    it(file, async () => {
      const source = readFileSync(`specs/${file}`, 'utf8');
      const generic = compile(source, { sourceName: `specs/${file}` });
      const webgpu = compile(source, { sourceName: `specs/${file}`, target: 'webgpu' });
      expect(webgpu.diagnostics).toEqual([]);
      // The signature the runtimes validate inputs with is the spec's: int64 ids and lengths stay int64.
      expect(webgpu.signature).toEqual(generic.signature);
      if (generic.bundle === undefined) {
        expect(webgpuProblems(webgpu.proto!)).toEqual([]);
        expect(webgpu.proto!.metadataProps).toEqual(generic.proto!.metadataProps);
        await expectSameOutputs(file, generic.model!, webgpu.model!, feedsFor(generic.signature!, 5));
        return;
      }
      const random = seeded(5);
      const src = ids(randomIds(random, 2, 5, 3, 100).map((row, b) => row.map((id, t) => (t < [5, 2][b]! ? id : 0))));
      const lengths = new ort.Tensor('int64', BigInt64Array.of(5n, 2n), [2]);
      const byRole = (bundle: NonNullable<CompileResult['bundle']>, role: string) =>
        bundle.files.find((f) => f.role === role)!;
      for (const f of webgpu.bundle!.files) expect(webgpuProblems(f.proto), f.role).toEqual([]);
      await expectSameOutputs(
        `${file}: encoder`,
        byRole(generic.bundle, 'encoder').bytes,
        byRole(webgpu.bundle!, 'encoder').bytes,
        { src, src_lengths: lengths },
      );
      // Luong attention, batched over the target steps: the only output that may differ in the last bits.
      await expectSameOutputs(
        `${file}: scoring`,
        generic.model!,
        webgpu.model!,
        {
          src,
          src_lengths: lengths,
          tgt_in: ids([
            [1, 5, 6, 7],
            [1, 9, 10, 2],
          ]),
        },
        ['logits'],
      );
      await expectSameOutputs(
        `${file}: greedy`,
        byRole(generic.bundle, 'greedy').bytes,
        byRole(webgpu.bundle!, 'greedy').bytes,
        { src, src_lengths: lengths },
      );
      const manifest = generic.bundle.manifest;
      const state = (dims: number[]): ort.Tensor =>
        new ort.Tensor(
          'float32',
          Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random() - 0.5),
          dims,
        );
      await expectSameOutputs(
        `${file}: step`,
        byRole(generic.bundle, 'step').bytes,
        byRole(webgpu.bundle!, 'step').bytes,
        {
          tokens: ids([[1, 17]]).reshape([2]),
          h: state([manifest.state.layers, 2, manifest.state.hidden]),
          c: state([manifest.state.layers, 2, manifest.state.hidden]),
          memory: state([2, 5, manifest.memoryDim!]),
          src_lengths: lengths,
          top_k: new ort.Tensor('int64', BigInt64Array.of(4n), [1]),
        },
      );
    });
  }
});
