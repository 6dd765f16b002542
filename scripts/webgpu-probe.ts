// Measures which operators and element types onnxruntime-web's WebGPU provider runs: one-node models in Chromium, placement from ORT's own log.
//
// `npx tsx scripts/webgpu-probe.ts` prints a table: for each probe (an operator with the element type
// of its data input, or a recurrent op with its attributes), where ONNX Runtime placed the node and
// the largest difference from onnxruntime-node's output. `--build all` probes the default
// `onnxruntime-web` build, whose 'webgpu' is the JavaScript provider. src/lower/webgpu.ts and the
// kernel table in test/webgpu-target.test.ts record the results for onnxruntime-web 1.30; run this
// again when onnxruntime-web changes. Needs Chromium (test/browser/harness.ts).

import * as ort from 'onnxruntime-node';
import { encodeModel } from '../src/onnx/encode.js';
import { DataType, type AttributeProto, type GraphProto, type TensorProto } from '../src/onnx/types.js';
import { launchBrowser, nodePlacements, openPage, serveStatic } from '../test/browser/harness.js';

type Elem = 'float' | 'int32' | 'int64' | 'bool';
const codes: Record<Elem, DataType> = {
  float: DataType.FLOAT,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
};
const feedTypes: Record<Elem, string> = { float: 'float32', int32: 'int32', int64: 'int64', bool: 'bool' };

interface Input {
  readonly name: string;
  readonly elem: Elem;
  readonly dims: readonly number[];
  readonly data?: readonly number[];
  /** An initializer rather than a graph input. */
  readonly constant?: boolean;
}

interface Probe {
  readonly title: string;
  readonly op: string;
  readonly inputs: readonly (Input | '')[];
  readonly outputs: readonly Elem[];
  readonly attributes?: readonly AttributeProto[];
  readonly body?: GraphProto;
}

const a = {
  int: (name: string, value: number): AttributeProto => ({ name, kind: 'int', value }),
  ints: (name: string, value: number[]): AttributeProto => ({ name, kind: 'ints', value }),
  string: (name: string, value: string): AttributeProto => ({ name, kind: 'string', value }),
  strings: (name: string, value: string[]): AttributeProto => ({ name, kind: 'strings', value }),
};

let state = 7;
const random = (): number => {
  state = (state * 16807) % 2147483647;
  return state / 2147483647;
};

function valuesOf(input: Input): number[] {
  if (input.data !== undefined) return [...input.data];
  const count = input.dims.reduce((x, y) => x * (y < 0 ? 3 : y), 1);
  return Array.from({ length: count }, () =>
    input.elem === 'float' ? 2 * random() - 1 : input.elem === 'bool' ? Math.round(random()) : Math.floor(4 * random()),
  );
}

function tensorOf(input: Input, values: number[]): TensorProto {
  const base = { name: input.name, dataType: codes[input.elem], dims: input.dims };
  if (input.elem === 'float') return { ...base, floatData: Float32Array.from(values) };
  if (input.elem === 'int64') return { ...base, int64Data: BigInt64Array.from(values, (v) => BigInt(v)) };
  if (input.elem === 'int32') return { ...base, int32Data: Int32Array.from(values) };
  return { ...base, rawData: Uint8Array.from(values) };
}

const x = (elem: Elem, dims: readonly number[] = [3, 4], name = 'x'): Input => ({ name, elem, dims });
const constant = (name: string, elem: Elem, dims: readonly number[], data: readonly number[]): Input => ({
  name,
  elem,
  dims,
  data,
  constant: true,
});

function probes(): Probe[] {
  const list: Probe[] = [];
  const add = (
    title: string,
    op: string,
    inputs: readonly (Input | '')[],
    outputs: readonly Elem[],
    attributes: readonly AttributeProto[] = [],
  ): void => {
    list.push({ title, op, inputs, outputs, attributes });
  };
  for (const e of ['float', 'int32', 'int64', 'bool'] as const) {
    add(`Transpose ${e}`, 'Transpose', [x(e)], [e], [a.ints('perm', [1, 0])]);
    add(`Unsqueeze ${e}`, 'Unsqueeze', [x(e), constant('axes', 'int64', [1], [1])], [e]);
    add(`Squeeze ${e}`, 'Squeeze', [x(e, [3, 1]), constant('axes', 'int64', [1], [1])], [e]);
    add(`Concat ${e}`, 'Concat', [x(e), x(e, [3, 4], 'y')], [e], [a.int('axis', 0)]);
    add(`Identity ${e}`, 'Identity', [x(e)], [e]);
    add(`Reshape ${e}`, 'Reshape', [x(e), constant('shape', 'int64', [1], [-1])], [e]);
    add(`Expand ${e}`, 'Expand', [x(e, [3, 1]), constant('shape', 'int64', [2], [3, 4])], [e]);
    add(`Slice ${e}`, 'Slice', [x(e), constant('starts', 'int64', [1], [1]), constant('ends', 'int64', [1], [3])], [e]);
    add(
      `Gather ${e} data, int64 indices`,
      'Gather',
      [x(e), { name: 'i', elem: 'int64', dims: [2], data: [2, 0] }],
      [e],
      [a.int('axis', 0)],
    );
    for (const to of ['float', 'int32', 'int64', 'bool'] as const)
      if (to !== e) add(`Cast ${e} → ${to}`, 'Cast', [x(e)], [to], [a.int('to', codes[to])]);
    if (e === 'bool') continue;
    add(`Where ${e}`, 'Where', [x('bool', [3, 4], 'c'), x(e), x(e, [3, 4], 'y')], [e]);
    for (const op of ['Add', 'Sub', 'Mul']) add(`${op} ${e}`, op, [x(e), x(e, [3, 4], 'y')], [e]);
    for (const op of ['Less', 'LessOrEqual', 'Equal']) add(`${op} ${e}`, op, [x(e), x(e, [3, 4], 'y')], ['bool']);
    add(`CumSum ${e}`, 'CumSum', [x(e), constant('axis', 'int64', [], [1])], [e]);
    add(`ReduceSum ${e}`, 'ReduceSum', [x(e), constant('axes', 'int64', [1], [0])], [e], [a.int('keepdims', 0)]);
    add(`ReduceMax ${e}`, 'ReduceMax', [x(e)], [e], [a.ints('axes', [0]), a.int('keepdims', 0)]);
    add(`ArgMax ${e}`, 'ArgMax', [x(e)], ['int64'], [a.int('axis', 1), a.int('keepdims', 0)]);
    add(
      `Range ${e}`,
      'Range',
      [
        { name: 's', elem: e, dims: [], data: [0] },
        { name: 'l', elem: e, dims: [], data: [5] },
        { name: 'd', elem: e, dims: [], data: [1] },
      ],
      [e],
    );
  }
  add(
    'Gather float data, int32 indices',
    'Gather',
    [x('float'), { name: 'i', elem: 'int32', dims: [2], data: [2, 0] }],
    ['float'],
    [a.int('axis', 0)],
  );
  add(
    'GatherElements float, int64 indices',
    'GatherElements',
    [x('float'), { name: 'i', elem: 'int64', dims: [1, 4], data: [2, 0, 1, 1] }],
    ['float'],
    [a.int('axis', 0)],
  );
  add(
    'GatherElements float, int32 indices',
    'GatherElements',
    [x('float'), { name: 'i', elem: 'int32', dims: [1, 4], data: [2, 0, 1, 1] }],
    ['float'],
    [a.int('axis', 0)],
  );
  add('Not bool', 'Not', [x('bool')], ['bool']);
  for (const op of ['And', 'Or', 'Xor']) add(`${op} bool`, op, [x('bool'), x('bool', [3, 4], 'y')], ['bool']);
  add('Shape float (dynamic)', 'Shape', [{ name: 'x', elem: 'float', dims: [-1, 4] }], ['int64']);
  add('ConstantOfShape', 'ConstantOfShape', [{ name: 's', elem: 'int64', dims: [2], data: [2, 3] }], ['float']);
  for (const op of ['Tanh', 'Relu', 'Sigmoid', 'Exp', 'Log', 'Softmax', 'LogSoftmax'])
    add(
      `${op} float`,
      op,
      [op === 'Log' ? { ...x('float'), data: Array.from({ length: 12 }, (_, i) => i + 1) } : x('float')],
      ['float'],
    );
  add('Max float', 'Max', [x('float'), x('float', [3, 4], 'y')], ['float']);
  add(
    'Pad float, empty input',
    'Pad',
    [x('float', [3, 0]), constant('pads', 'int64', [4], [0, 1, 0, 0]), constant('value', 'float', [], [1])],
    ['float'],
  );
  add(
    'LayerNormalization float',
    'LayerNormalization',
    [x('float'), x('float', [4], 'g'), x('float', [4], 'b')],
    ['float'],
    [a.int('axis', -1)],
  );
  // Recurrent ops: time 3, batch 2, input 4, hidden 5.
  const recurrent = (
    title: string,
    op: 'RNN' | 'LSTM' | 'GRU',
    attributes: AttributeProto[],
    lengths = false,
  ): void => {
    const gates = op === 'LSTM' ? 4 : op === 'GRU' ? 3 : 1;
    const inputs: (Input | '')[] = [
      x('float', [3, 2, 4], 'X'),
      { name: 'W', elem: 'float', dims: [1, gates * 5, 4], constant: true },
      { name: 'R', elem: 'float', dims: [1, gates * 5, 5], constant: true },
      { name: 'B', elem: 'float', dims: [1, 2 * gates * 5], constant: true },
    ];
    if (lengths) inputs.push({ name: 'L', elem: 'int32', dims: [2], data: [3, 2] });
    add(title, op, inputs, op === 'LSTM' ? ['float', 'float', 'float'] : ['float', 'float'], [
      a.int('hidden_size', 5),
      ...attributes,
    ]);
  };
  recurrent('RNN tanh', 'RNN', []);
  recurrent('LSTM, int32 sequence_lens', 'LSTM', [], true);
  recurrent('LSTM reverse, sequence_lens', 'LSTM', [a.string('direction', 'reverse')], true);
  recurrent('LSTM HardSigmoid', 'LSTM', [a.strings('activations', ['HardSigmoid', 'Tanh', 'Tanh'])]);
  recurrent('GRU linear_before_reset=1, sequence_lens', 'GRU', [a.int('linear_before_reset', 1)], true);
  recurrent('GRU linear_before_reset=0', 'GRU', [a.int('linear_before_reset', 0)]);
  recurrent('GRU Relu gates', 'GRU', [a.int('linear_before_reset', 1), a.strings('activations', ['Relu', 'Tanh'])]);
  recurrent('GRU HardSigmoid', 'GRU', [
    a.int('linear_before_reset', 1),
    a.strings('activations', ['HardSigmoid', 'Tanh']),
  ]);
  const scalar = (name: string, elem: DataType) => ({ name, type: { elemType: elem, shape: [] } });
  const body: GraphProto = {
    name: 'body',
    nodes: [
      { name: 'add', opType: 'Add', inputs: ['v_in', 'v_in'], outputs: ['v_out'], attributes: [] },
      { name: 'cond', opType: 'Identity', inputs: ['c_in'], outputs: ['c_out'], attributes: [] },
    ],
    initializers: [],
    inputs: [
      scalar('i', DataType.INT64),
      scalar('c_in', DataType.BOOL),
      { name: 'v_in', type: { elemType: DataType.FLOAT } },
    ],
    outputs: [scalar('c_out', DataType.BOOL), { name: 'v_out', type: { elemType: DataType.FLOAT } }],
    valueInfo: [],
  };
  list.push({
    title: 'Loop',
    op: 'Loop',
    inputs: [constant('n', 'int64', [], [3]), constant('c', 'bool', [], [1]), x('float')],
    outputs: ['float'],
    body,
  });
  return list;
}

function modelOf(p: Probe): {
  bytes: Uint8Array;
  feeds: Record<string, { type: string; dims: number[]; data: number[] }>;
} {
  const inputs = p.inputs.filter((i): i is Input => i !== '');
  const values = new Map(inputs.map((i) => [i.name, valuesOf(i)]));
  const outputs = p.outputs.map((e, k) => ({ name: `y${k}`, type: { elemType: codes[e] } }));
  const dims = (i: Input) =>
    i.dims.map((d, k) => (d < 0 ? { kind: 'param' as const, name: `d${k}` } : { kind: 'value' as const, value: d }));
  const bytes = encodeModel({
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }],
    producerName: 'seqc-probe',
    producerVersion: '0',
    metadataProps: [],
    graph: {
      name: 'probe',
      nodes: [
        {
          name: 'probe',
          opType: p.op,
          inputs: p.inputs.map((i) => (i === '' ? '' : i.name)),
          outputs: outputs.map((o) => o.name),
          attributes: [
            ...(p.attributes ?? []),
            ...(p.body ? [{ name: 'body', kind: 'graph' as const, value: p.body }] : []),
          ],
        },
      ],
      initializers: inputs.filter((i) => i.constant).map((i) => tensorOf(i, values.get(i.name)!)),
      inputs: inputs
        .filter((i) => !i.constant)
        .map((i) => ({ name: i.name, type: { elemType: codes[i.elem], shape: dims(i) } })),
      outputs,
      valueInfo: [],
    },
  });
  const feeds = Object.fromEntries(
    inputs
      .filter((i) => !i.constant)
      .map((i) => [
        i.name,
        { type: feedTypes[i.elem], dims: i.dims.map((d) => (d < 0 ? 3 : d)), data: values.get(i.name)! },
      ]),
  );
  return { bytes, feeds };
}

async function onNode(
  bytes: Uint8Array,
  feeds: ReturnType<typeof modelOf>['feeds'],
): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const arrays: Record<string, (d: number[]) => ort.Tensor['data']> = {
    int64: (d) => BigInt64Array.from(d, (v) => BigInt(v)),
    int32: (d) => Int32Array.from(d),
    bool: (d) => Uint8Array.from(d),
    float32: (d) => Float32Array.from(d),
  };
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([n, f]) => [
      n,
      new ort.Tensor(f.type as 'float32', arrays[f.type]!(f.data) as Float32Array, f.dims),
    ]),
  );
  const out = await session.run(tensors);
  await session.release();
  return Object.fromEntries(
    Object.entries(out).map(([n, t]) => [n, Array.from(t.data as ArrayLike<number | bigint>, Number)]),
  );
}

const build = process.argv.includes('--build') ? process.argv[process.argv.indexOf('--build') + 1] : 'webgpu';
const served = await serveStatic('.');
const browser = await launchBrowser();
const { page, console: log } = await openPage(
  browser,
  `${served.url}/test/browser/webgpu.html${build === 'all' ? '?build=all' : ''}`,
);
await page.waitForFunction(() => (window as unknown as { seqcReady?: boolean }).seqcReady !== undefined, null, {
  timeout: 60_000,
});
const { mkdirSync, writeFileSync } = await import('node:fs');
mkdirSync('test-results/webgpu-probe', { recursive: true });
console.log(
  `| probe (onnxruntime-web ${build === 'all' ? 'default build' : '/webgpu build'}) | placed on | max abs difference from onnxruntime-node |`,
);
console.log('| --- | --- | --- |');
for (const [k, p] of probes().entries()) {
  const { bytes, feeds } = modelOf(p);
  writeFileSync(`test-results/webgpu-probe/${k}.onnx`, bytes);
  log.length = 0;
  const marker = `probe:${k}`;
  const result = await page.evaluate(
    ([url, f, m]) =>
      (
        window as unknown as {
          seqcRun: (
            u: string,
            f: unknown,
            m: string,
          ) => Promise<{ error?: string; outputs?: Record<string, { data: number[] }> }>;
        }
      ).seqcRun(url, f, m),
    [`/test-results/webgpu-probe/${k}.onnx`, feeds, marker] as const,
  );
  for (let wait = 0; wait < 100 && !log.includes(`${marker} done`); wait++)
    await new Promise((done) => setTimeout(done, 20));
  const placed = [...nodePlacements(log).keys()].map((ep) => ep.replace('ExecutionProvider', '')).join(', ') || '-';
  let outcome: string;
  if (result.error !== undefined) {
    outcome = `fails: ${result.error.replace(/\s+/g, ' ').slice(0, 120)}`;
  } else {
    const expected = await onNode(bytes, feeds);
    let worst = 0;
    for (const [name, want] of Object.entries(expected)) {
      const got = result.outputs![name]!.data;
      want.forEach((v, i) => {
        if (!(Number.isNaN(v) && Number.isNaN(got[i]!))) worst = Math.max(worst, Math.abs(v - got[i]!));
      });
    }
    outcome = worst.toExponential(1);
  }
  console.log(`| ${p.title} | ${placed} | ${outcome} |`);
}
await browser.close();
await served.close();
