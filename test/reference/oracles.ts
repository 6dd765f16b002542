// Loaders for the external oracle data in test/oracles (numbers produced by PyTorch and by
// onnx/onnx's own generators, not by anyone here; test/oracles/README.md says where each came from),
// plus a runner that executes one ONNX node in ONNX Runtime's own kernels.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import * as ort from 'onnxruntime-node';

/** A tensor from an oracle file. Integer tensors (sequence_lens) are small and exact in float32. */
export interface OracleTensor {
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly data: Float32Array;
}

/** A value of an ONNX node attribute as the oracle files give it. */
export type OnnxAttributeValue = number | string | readonly number[] | readonly string[];

/** One ONNX node with its inputs and the outputs the ONNX reference implementation produced. */
export interface OnnxNodeCase {
  readonly name: string;
  readonly op: string;
  /** The node's input names in order; '' for an omitted optional input. */
  readonly nodeInputs: readonly string[];
  /** The node's output names in order; '' for an output the case does not check. */
  readonly nodeOutputs: readonly string[];
  readonly attrs: Readonly<Record<string, OnnxAttributeValue>>;
  readonly inputs: Readonly<Record<string, OracleTensor>>;
  readonly outputs: Readonly<Record<string, OracleTensor>>;
}

/** PyTorch's own run of torch.nn.LSTM or torch.nn.RNN (tanh), from candle's ONNX tests. */
export interface CandleCase {
  readonly kind: 'lstm' | 'rnn';
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly batchSize: number;
  readonly sequenceLength: number;
  /** state_dict of a bare one-layer module: `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`. */
  readonly weights: ReadonlyMap<string, OracleTensor>;
  /** Time-major input [time, batch, input] (batch_first=False). */
  readonly input: OracleTensor;
  /** Initial hidden state [1, batch, hidden] (the RNN file calls it `hx`). */
  readonly h0: OracleTensor;
  /** LSTM only: initial cell state [1, batch, hidden]. */
  readonly c0?: OracleTensor;
  /** Time-major output [time, batch, hidden]. */
  readonly output: OracleTensor;
  readonly hn: OracleTensor;
  readonly cn?: OracleTensor;
}

/** Where the oracle data lives: test/oracles, vendored so that the tests read nothing outside the repository. */
export const oraclesRoot: string = fileURLToPath(new URL('../oracles/', import.meta.url));

/** Loads PyTorch's LSTM or RNN case. */
export function loadCandleCase(kind: 'lstm' | 'rnn'): CandleCase {
  const file = path.join(oraclesRoot, 'pytorch-candle', `candle_onnx_${kind}_pytorch_case.json`);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const tensor = (key: string): OracleTensor => toTensor(raw[key] as RawTensor, 'float32', `${file}: ${key}`);
  const weights = new Map<string, OracleTensor>();
  for (const key of Object.keys(raw)) {
    if (/^(weight|bias)_/.test(key)) weights.set(key, tensor(key));
  }
  const common = {
    kind,
    inputSize: raw['input_size'] as number,
    hiddenSize: raw['hidden_size'] as number,
    batchSize: raw['batch_size'] as number,
    sequenceLength: raw['sequence_length'] as number,
    weights,
    input: tensor('input'),
    output: tensor('output'),
    hn: tensor('hn'),
  };
  return kind === 'lstm'
    ? { ...common, h0: tensor('h0'), c0: tensor('c0'), cn: tensor('cn') }
    : { ...common, h0: tensor('hx') };
}

/**
 * Where an ONNX node case comes from: 'regenerated' is onnx-node-tests/regenerated/<name>/case.json
 * (includes reverse and bidirectional); 'backend' is onnx-node-tests/<name>/ with model.onnx and
 * test_data_set_0.json (the node's op and attributes are read from model.onnx).
 */
export type OnnxCaseSource = 'regenerated' | 'backend';

/** The case names available from one source, sorted. */
export function listOnnxNodeCases(source: OnnxCaseSource): string[] {
  const dir = path.join(oraclesRoot, 'onnx-node-tests', ...(source === 'regenerated' ? ['regenerated'] : []));
  return readdirSync(dir)
    .filter((name) => name.startsWith('test_'))
    .filter((name) => existsSync(path.join(dir, name, source === 'regenerated' ? 'case.json' : 'test_data_set_0.json')))
    .sort();
}

/** Loads one ONNX node case, e.g. loadOnnxNodeCase('test_lstm_bidirectional'). */
export function loadOnnxNodeCase(name: string, source: OnnxCaseSource = 'regenerated'): OnnxNodeCase {
  return source === 'regenerated' ? loadRegeneratedCase(name) : loadBackendCase(name);
}

/**
 * Runs one ONNX node (default domain) in onnxruntime-node's CPU kernels: an implementation of
 * LSTM/GRU/RNN written by neither seqc nor PyTorch. Inputs are fed by name; '' skips an input.
 */
export async function runOnnxNode(
  op: string,
  attrs: Readonly<Record<string, OnnxAttributeValue>>,
  nodeInputs: readonly string[],
  nodeOutputs: readonly string[],
  inputs: Readonly<Record<string, OracleTensor>>,
  opset = 14,
): Promise<Record<string, OracleTensor>> {
  const bytes = encodeSingleNodeModel(op, attrs, nodeInputs, nodeOutputs, inputs, opset);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of nodeInputs) {
      if (name === '') continue;
      const t = inputs[name];
      if (!t) throw new Error(`runOnnxNode: no value for input ${name}`);
      const dims = [...t.shape];
      feeds[name] =
        t.dtype === 'int32'
          ? new ort.Tensor('int32', Int32Array.from(t.data), dims)
          : new ort.Tensor('float32', Float32Array.from(t.data), dims);
    }
    const results = await session.run(feeds);
    const out: Record<string, OracleTensor> = {};
    for (const name of nodeOutputs) {
      if (name === '') continue;
      const value = results[name]!;
      out[name] = {
        shape: value.dims.map(Number),
        dtype: 'float32',
        data: Float32Array.from(value.data as Float32Array),
      };
    }
    return out;
  } finally {
    await session.release();
  }
}

// ---------------------------------------------------------------------------------------------
// File formats.

interface RawTensor {
  readonly shape: number[];
  readonly dtype?: string;
  readonly data: number[];
  readonly name?: string;
}

function toTensor(raw: RawTensor, defaultType: string, where: string): OracleTensor {
  if (!raw || !Array.isArray(raw.shape) || !Array.isArray(raw.data)) throw new Error(`${where}: not a tensor`);
  const size = raw.shape.reduce((a, b) => a * b, 1);
  if (size !== raw.data.length) throw new Error(`${where}: shape [${raw.shape}] but ${raw.data.length} values`);
  return { shape: [...raw.shape], dtype: raw.dtype ?? defaultType, data: Float32Array.from(raw.data) };
}

function loadRegeneratedCase(name: string): OnnxNodeCase {
  const file = path.join(oraclesRoot, 'onnx-node-tests', 'regenerated', name, 'case.json');
  const raw = JSON.parse(readFileSync(file, 'utf8')) as {
    node: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, OnnxAttributeValue> };
    inputs: Record<string, RawTensor>;
    outputs: Record<string, RawTensor>;
  };
  const tensors = (group: Record<string, RawTensor>): Record<string, OracleTensor> =>
    Object.fromEntries(Object.entries(group).map(([key, t]) => [key, toTensor(t, 'float32', `${file}: ${key}`)]));
  return {
    name,
    op: raw.node.op,
    nodeInputs: raw.node.inputs,
    nodeOutputs: raw.node.outputs,
    attrs: raw.node.attrs ?? {},
    inputs: tensors(raw.inputs),
    outputs: tensors(raw.outputs),
  };
}

function loadBackendCase(name: string): OnnxNodeCase {
  const dir = path.join(oraclesRoot, 'onnx-node-tests', name);
  const node = decodeSingleNode(readFileSync(path.join(dir, 'model.onnx')));
  const file = path.join(dir, 'test_data_set_0.json');
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, RawTensor>;
  const inputs: Record<string, OracleTensor> = {};
  const outputs: Record<string, OracleTensor> = {};
  for (const [key, t] of Object.entries(raw)) {
    if (!t.name) throw new Error(`${file}: ${key} has no name`);
    const target = key.startsWith('input_') ? inputs : key.startsWith('output_') ? outputs : undefined;
    if (!target) throw new Error(`${file}: unexpected entry ${key}`);
    target[t.name] = toTensor(t, 'float32', `${file}: ${key}`);
  }
  return { name, ...node, inputs, outputs };
}

// ---------------------------------------------------------------------------------------------
// The few parts of onnx.proto needed to read a one-node model.onnx and to write one.

const onnxSchema = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { id: 1, type: 'int64' },
            opsetImport: { id: 8, type: 'OperatorSetIdProto', rule: 'repeated' },
            producerName: { id: 2, type: 'string' },
            graph: { id: 7, type: 'GraphProto' },
          },
        },
        OperatorSetIdProto: { fields: { domain: { id: 1, type: 'string' }, version: { id: 2, type: 'int64' } } },
        GraphProto: {
          fields: {
            node: { id: 1, type: 'NodeProto', rule: 'repeated' },
            name: { id: 2, type: 'string' },
            input: { id: 11, type: 'ValueInfoProto', rule: 'repeated' },
            output: { id: 12, type: 'ValueInfoProto', rule: 'repeated' },
          },
        },
        NodeProto: {
          fields: {
            input: { id: 1, type: 'string', rule: 'repeated' },
            output: { id: 2, type: 'string', rule: 'repeated' },
            name: { id: 3, type: 'string' },
            opType: { id: 4, type: 'string' },
            attribute: { id: 5, type: 'AttributeProto', rule: 'repeated' },
            domain: { id: 7, type: 'string' },
          },
        },
        AttributeProto: {
          fields: {
            name: { id: 1, type: 'string' },
            f: { id: 2, type: 'float' },
            i: { id: 3, type: 'int64' },
            s: { id: 4, type: 'bytes' },
            floats: { id: 7, type: 'float', rule: 'repeated' },
            ints: { id: 8, type: 'int64', rule: 'repeated' },
            strings: { id: 9, type: 'bytes', rule: 'repeated' },
            type: { id: 20, type: 'int32' },
          },
        },
        ValueInfoProto: { fields: { name: { id: 1, type: 'string' }, type: { id: 2, type: 'TypeProto' } } },
        TypeProto: { fields: { tensorType: { id: 1, type: 'TensorTypeProto' } } },
        TensorTypeProto: {
          fields: { elemType: { id: 1, type: 'int32' }, shape: { id: 2, type: 'TensorShapeProto' } },
        },
        TensorShapeProto: { fields: { dim: { id: 1, type: 'Dimension', rule: 'repeated' } } },
        Dimension: { fields: { dimValue: { id: 1, type: 'int64' }, dimParam: { id: 2, type: 'string' } } },
      },
    },
  },
});
const ModelProto = onnxSchema.lookupType('onnx.ModelProto');

/** AttributeProto.AttributeType values. */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

interface DecodedAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

function decodeSingleNode(bytes: Uint8Array): Pick<OnnxNodeCase, 'op' | 'nodeInputs' | 'nodeOutputs' | 'attrs'> {
  const model = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as {
    graph?: { node?: { opType: string; input?: string[]; output?: string[]; attribute?: DecodedAttribute[] }[] };
  };
  const nodes = model.graph?.node ?? [];
  if (nodes.length !== 1) throw new Error(`expected a one-node model, found ${nodes.length} nodes`);
  const node = nodes[0]!;
  const text = new TextDecoder();
  const attrs: Record<string, OnnxAttributeValue> = {};
  for (const a of node.attribute ?? []) {
    switch (a.type) {
      case AttributeType.FLOAT:
        attrs[a.name] = a.f ?? 0;
        break;
      case AttributeType.INT:
        attrs[a.name] = a.i ?? 0;
        break;
      case AttributeType.STRING:
        attrs[a.name] = text.decode(a.s ?? new Uint8Array());
        break;
      case AttributeType.FLOATS:
        attrs[a.name] = a.floats ?? [];
        break;
      case AttributeType.INTS:
        attrs[a.name] = a.ints ?? [];
        break;
      case AttributeType.STRINGS:
        attrs[a.name] = (a.strings ?? []).map((s) => text.decode(s));
        break;
      default:
        throw new Error(`attribute ${a.name}: unsupported type ${a.type}`);
    }
  }
  return { op: node.opType, nodeInputs: node.input ?? [], nodeOutputs: node.output ?? [], attrs };
}

function encodeAttribute(name: string, value: OnnxAttributeValue): DecodedAttribute {
  const text = new TextEncoder();
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: text.encode(value) };
  if (typeof value === 'number') {
    return Number.isInteger(value) && !FLOAT_ATTRIBUTES.has(name)
      ? { name, type: AttributeType.INT, i: value }
      : { name, type: AttributeType.FLOAT, f: value };
  }
  if (value.length > 0 && typeof value[0] === 'string') {
    return { name, type: AttributeType.STRINGS, strings: (value as readonly string[]).map((s) => text.encode(s)) };
  }
  return FLOAT_ATTRIBUTES.has(name)
    ? { name, type: AttributeType.FLOATS, floats: [...(value as readonly number[])] }
    : { name, type: AttributeType.INTS, ints: [...(value as readonly number[])] };
}

/** Attributes of LSTM/GRU/RNN that are floats even when the value happens to be whole. */
const FLOAT_ATTRIBUTES = new Set(['activation_alpha', 'activation_beta', 'clip']);

function encodeSingleNodeModel(
  op: string,
  attrs: Readonly<Record<string, OnnxAttributeValue>>,
  nodeInputs: readonly string[],
  nodeOutputs: readonly string[],
  inputs: Readonly<Record<string, OracleTensor>>,
  opset: number,
): Uint8Array {
  const valueInfo = (name: string, elemType: number, shape: readonly number[] | undefined) => ({
    name,
    type: { tensorType: { elemType, ...(shape ? { shape: { dim: shape.map((d) => ({ dimValue: d })) } } : {}) } },
  });
  const FLOAT = 1;
  const INT32 = 6;
  const model = {
    irVersion: 8,
    producerName: 'seqc-test-oracle',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: op,
      node: [
        {
          input: [...nodeInputs],
          output: [...nodeOutputs],
          name: op,
          opType: op,
          domain: '',
          attribute: Object.entries(attrs).map(([name, value]) => encodeAttribute(name, value)),
        },
      ],
      input: nodeInputs
        .filter((name) => name !== '')
        .map((name) => {
          const t = inputs[name];
          if (!t) throw new Error(`runOnnxNode: no value for input ${name}`);
          return valueInfo(name, t.dtype === 'int32' ? INT32 : FLOAT, t.shape);
        }),
      output: nodeOutputs.filter((name) => name !== '').map((name) => valueInfo(name, FLOAT, undefined)),
    },
  };
  const problem = ModelProto.verify(model);
  if (problem) throw new Error(`runOnnxNode: ${problem}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
