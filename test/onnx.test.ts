// Tests the ONNX encoder, decoder and text printer against hand-built models, onnxruntime and files written by onnx itself.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import protobuf from 'protobufjs/light.js';
import { describe, expect, it } from 'vitest';
import { decodeModel, decodeTensor } from '../src/onnx/decode.js';
import { encodeModel } from '../src/onnx/encode.js';
import { TensorProtoType } from '../src/onnx/schema.js';
import { formatModel } from '../src/onnx/text.js';
import { DataType } from '../src/onnx/types.js';
import type { ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../src/onnx/types.js';

const oracles = new URL('./oracles/onnx-node-tests/', import.meta.url);

function floatValue(name: string, dims: readonly (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      elemType: DataType.FLOAT,
      shape: dims.map((dim) =>
        typeof dim === 'number' ? { kind: 'value', value: dim } : { kind: 'param', name: dim },
      ),
    },
  };
}

function floatTensor(name: string, dims: number[], values: number[]): TensorProto {
  return { name, dataType: DataType.FLOAT, dims, floatData: Float32Array.from(values) };
}

/**
 * y = 2 * Gather(Transpose(x @ W + b), rows), with rows = [1, 0] swapping the two rows. For
 * x = [[1,2,3],[4,5,6],[7,8,9]], W = [[1,0],[0,1],[1,1]] and b = [0.5,-1]:
 * x @ W = [[4,5],[10,11],[16,17]]; + b = [[4.5,4],[10.5,10],[16.5,16]];
 * transposed = [[4.5,10.5,16.5],[4,10,16]]; gathered = [[4,10,16],[4.5,10.5,16.5]];
 * y = [[8,20,32],[9,21,33]].
 */
function tinyModel(): ModelProto {
  const nodes: NodeProto[] = [
    {
      name: 'fc/MatMul',
      opType: 'MatMul',
      inputs: ['x', 'fc.weight'],
      outputs: ['h0'],
      attributes: [],
      docString: 'tiny.seq:2:3',
    },
    { name: 'fc/Add', opType: 'Add', inputs: ['h0', 'fc.bias'], outputs: ['h'], attributes: [] },
    {
      name: 'swap/Transpose',
      opType: 'Transpose',
      inputs: ['h'],
      outputs: ['ht'],
      attributes: [{ name: 'perm', kind: 'ints', value: [1, 0] }],
    },
    {
      name: 'pick/Gather',
      opType: 'Gather',
      inputs: ['ht', 'rows'],
      outputs: ['g'],
      attributes: [{ name: 'axis', kind: 'int', value: 0 }],
    },
    {
      name: 'scale/Constant',
      opType: 'Constant',
      inputs: [],
      outputs: ['two'],
      attributes: [{ name: 'value', kind: 'tensor', value: floatTensor('', [], [2]) }],
    },
    { name: 'scale/Mul', opType: 'Mul', inputs: ['g', 'two'], outputs: ['y'], attributes: [], domain: '' },
  ];
  return {
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }],
    producerName: 'seqc',
    producerVersion: '0.1.0',
    docString: 'A tiny model.',
    graph: {
      name: 'tiny',
      nodes,
      initializers: [
        floatTensor('fc.weight', [3, 2], [1, 0, 0, 1, 1, 1]),
        floatTensor('fc.bias', [2], [0.5, -1]),
        { name: 'rows', dataType: DataType.INT64, dims: [2], int64Data: BigInt64Array.from([1n, 0n]) },
      ],
      inputs: [floatValue('x', ['batch', 3])],
      outputs: [floatValue('y', [2, 'batch'])],
      valueInfo: [floatValue('h', ['batch', 2])],
      docString: 'Built by hand.',
    },
    metadataProps: [{ key: 'seqc.spec', value: 'tiny.seq' }],
  };
}

describe('encodeModel and decodeModel', () => {
  it('round-trips a model and always writes the same bytes', () => {
    const model = tinyModel();
    const bytes = encodeModel(model);
    expect(decodeModel(bytes)).toEqual(model);
    expect(encodeModel(tinyModel())).toEqual(bytes);
    expect(encodeModel(decodeModel(bytes))).toEqual(bytes);
  });

  it('round-trips every attribute kind, unknown dimensions and unknown ranks', () => {
    const inner = tinyModel().graph;
    const node: NodeProto = {
      name: 'all',
      opType: 'Custom',
      domain: 'com.example',
      inputs: ['a', ''],
      outputs: ['', 'b'],
      attributes: [
        { name: 'f', kind: 'float', value: 0.25 },
        { name: 'i', kind: 'int', value: -3 },
        { name: 'big', kind: 'int', value: 2 ** 40 },
        { name: 's', kind: 'string', value: 'héllo "world"' },
        {
          name: 't',
          kind: 'tensor',
          value: { name: 't', dataType: DataType.INT32, dims: [2], int32Data: Int32Array.from([-1, 7]) },
        },
        { name: 'g', kind: 'graph', value: inner },
        { name: 'fs', kind: 'floats', value: [1.5, -2] },
        { name: 'is', kind: 'ints', value: [0, -1, 2 ** 53 - 1] },
        { name: 'ss', kind: 'strings', value: ['forward', 'reverse'] },
      ],
      docString: 'line one\nline two',
    };
    const model: ModelProto = {
      ...tinyModel(),
      domain: 'org.example',
      modelVersion: 3,
      graph: {
        name: 'attributes',
        nodes: [node],
        initializers: [{ name: 'bytes', dataType: DataType.UINT8, dims: [3], rawData: Uint8Array.from([1, 2, 255]) }],
        inputs: [
          {
            name: 'a',
            type: { elemType: DataType.FLOAT, shape: [{ kind: 'param', name: '' }] },
            docString: 'any length',
          },
        ],
        outputs: [{ name: 'b', type: { elemType: DataType.FLOAT } }],
        valueInfo: [{ name: 'scalar', type: { elemType: DataType.INT64, shape: [] } }],
      },
    };
    const bytes = encodeModel(model);
    expect(decodeModel(bytes)).toEqual(model);
    expect(encodeModel(decodeModel(bytes))).toEqual(bytes);
  });

  it('writes float, int64 and int32 data as raw_data and normalizes it back', () => {
    const bytes = encodeModel(tinyModel());
    // raw_data (field 9, wire type 2) holds the six weights as 24 little-endian bytes: 0x4a 0x18.
    const weights = new Uint8Array(Float32Array.from([1, 0, 0, 1, 1, 1]).buffer);
    expect(indexOf(bytes, [0x4a, 0x18, ...weights])).toBeGreaterThan(0);

    const asRaw: TensorProto = {
      name: 'w',
      dataType: DataType.FLOAT,
      dims: [2],
      rawData: new Uint8Array(Float32Array.from([3, 4]).buffer),
    };
    const model = { ...tinyModel(), graph: { ...tinyModel().graph, initializers: [asRaw] } };
    expect(decodeModel(encodeModel(model)).graph.initializers[0]).toEqual(floatTensor('w', [2], [3, 4]));
  });

  it('clamps int64 attributes beyond the int64 range', () => {
    const node: NodeProto = {
      name: '',
      opType: 'Slice',
      inputs: ['x'],
      outputs: ['y'],
      attributes: [{ name: 'ends', kind: 'ints', value: [2 ** 63, -(2 ** 64)] }],
    };
    const model = { ...tinyModel(), graph: { ...tinyModel().graph, nodes: [node] } };
    const decoded = decodeModel(encodeModel(model)).graph.nodes[0]!.attributes[0]!;
    expect(decoded).toEqual({ name: 'ends', kind: 'ints', value: [2 ** 63, -(2 ** 63)] });
  });

  it('accepts tensors stored in float_data, int64_data and int32_data', () => {
    const writeTensor = (tensor: object) => TensorProtoType.encode(tensor, new protobuf.Writer()).finish();
    expect(decodeTensor(writeTensor({ name: 'f', data_type: 1, dims: [2], float_data: [1.5, -2] }))).toEqual(
      floatTensor('f', [2], [1.5, -2]),
    );
    expect(decodeTensor(writeTensor({ name: 'l', data_type: 7, dims: [2], int64_data: [-5, 2 ** 40] }))).toEqual({
      name: 'l',
      dataType: DataType.INT64,
      dims: [2],
      int64Data: BigInt64Array.from([-5n, 2n ** 40n]),
    });
    expect(decodeTensor(writeTensor({ name: 'b', data_type: 9, dims: [3], int32_data: [1, 0, 1] }))).toEqual({
      name: 'b',
      dataType: DataType.BOOL,
      dims: [3],
      rawData: Uint8Array.from([1, 0, 1]),
    });
  });

  it('encodes tens of megabytes of weights quickly', () => {
    const count = 8_000_000;
    const weights = new Float32Array(count).map((_, i) => i * 0.5);
    const model = { ...tinyModel(), graph: { ...tinyModel().graph, initializers: [floatTensor('big', [count], [])] } };
    const big = {
      ...model,
      graph: { ...model.graph, initializers: [{ ...model.graph.initializers[0]!, floatData: weights }] },
    };
    const start = performance.now();
    const bytes = encodeModel(big);
    const encodeMs = performance.now() - start;
    expect(bytes.length).toBeGreaterThan(count * 4);
    const decoded = decodeModel(bytes).graph.initializers[0]!.floatData!;
    expect(
      Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength).equals(Buffer.from(weights.buffer)),
    ).toBe(true);
    expect(encodeMs).toBeLessThan(2000);
  });
});

describe('onnxruntime', () => {
  it('runs the hand-built model and gives the numbers worked out by hand', async () => {
    const session = await ort.InferenceSession.create(encodeModel(tinyModel()));
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [3, 3]);
    const { y } = await session.run({ x });
    expect(y!.dims).toEqual([2, 3]);
    expect(Array.from(y!.data as Float32Array)).toEqual([8, 20, 32, 9, 21, 33]);
    await session.release();
  });
});

describe('files written by onnx', () => {
  it('decodes the onnx backend test test_lstm_defaults', () => {
    const model = decodeModel(readFileSync(new URL('test_lstm_defaults/model.onnx', oracles)));
    expect(model.producerName).toBe('backend-test');
    expect(model.graph.name).toBe('test_lstm_defaults');
    expect(model.graph.nodes).toHaveLength(1);
    const lstm = model.graph.nodes[0]!;
    expect(lstm.opType).toBe('LSTM');
    expect(lstm.inputs).toEqual(['X', 'W', 'R']);
    expect(lstm.outputs).toEqual(['', 'Y_h']);
    expect(lstm.attributes).toEqual([{ name: 'hidden_size', kind: 'int', value: 3 }]);
    expect(model.graph.inputs.map((input) => input.name)).toEqual(['X', 'W', 'R']);
    expect(model.graph.inputs[1]!.type).toEqual({
      elemType: DataType.FLOAT,
      shape: [
        { kind: 'value', value: 1 },
        { kind: 'value', value: 12 },
        { kind: 'value', value: 2 },
      ],
    });
  });

  it('re-encodes every backend test model byte for byte', () => {
    const folders = readdirSync(oracles).filter((folder) => existsSync(new URL(`${folder}/model.onnx`, oracles)));
    expect(folders.length).toBeGreaterThan(10);
    for (const folder of folders) {
      const original = new Uint8Array(readFileSync(new URL(`${folder}/model.onnx`, oracles)));
      expect(encodeModel(decodeModel(original)), folder).toEqual(original);
    }
  });

  it('decodes its test-data tensors to the values onnx recorded', () => {
    const recorded = JSON.parse(
      readFileSync(new URL('test_lstm_defaults/test_data_set_0.json', oracles), 'utf8'),
    ) as Record<string, { name: string; shape: number[]; data: number[] }>;
    for (const file of ['input_0.pb', 'input_1.pb', 'output_0.pb']) {
      const tensor = decodeTensor(readFileSync(new URL(`test_lstm_defaults/test_data_set_0/${file}`, oracles)));
      const expected = recorded[file]!;
      expect(tensor.name).toBe(expected.name);
      expect(tensor.dims).toEqual(expected.shape);
      expect(Array.from(tensor.floatData!)).toEqual(expected.data);
    }
  });
});

describe('formatModel', () => {
  it('prints the header, signature, elided initializers and one node per line', () => {
    const text = formatModel(tinyModel());
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      '<ir_version: 8, opset_import: ["" : 17], producer_name: "seqc", producer_version: "0.1.0", doc_string: "A tiny model.">',
    );
    expect(lines).toContain('# metadata_props: "seqc.spec": "tiny.seq"');
    expect(lines).toContain('tiny (float[batch,3] x) => (float[2,batch] y)');
    expect(lines[lines.indexOf('tiny (float[batch,3] x) => (float[2,batch] y)') + 1]).toBe('# Built by hand.');
    expect(lines.filter((line) => line.includes('fc.weight'))).toEqual([
      `   float[3,2] "fc.weight" /* fnv1a ${fnv1aOfFloats([1, 0, 0, 1, 1, 1])} */,`,
      '   ["fc/MatMul"] h0 = MatMul (x, "fc.weight")',
    ]);
    expect(lines).toContain('   float[batch,2] h');
    expect(lines).toContain('   # tiny.seq:2:3');
    expect(lines).toContain('   ["swap/Transpose"] ht = Transpose <perm = [1, 0]> (h)');
    expect(lines).toContain('   ["pick/Gather"] g = Gather <axis = 0> (ht, rows)');
    expect(lines).toContain('   ["scale/Constant"] two = Constant <value = float {2}> ()');
    expect(lines).toContain('   ["scale/Mul"] y = Mul (g, two)');
    expect(text.endsWith('}\n')).toBe(true);
    expect(formatModel(decodeModel(encodeModel(tinyModel())))).toBe(text);
  });

  it('shows a weight change as a changed checksum', () => {
    const changed = tinyModel();
    const weights = changed.graph.initializers[0]!.floatData as Float32Array;
    weights[0] = 1.0001;
    const before = formatModel(tinyModel()).split('\n');
    const after = formatModel(changed).split('\n');
    const differing = before.filter((line, i) => line !== after[i]);
    expect(differing).toHaveLength(1);
    expect(differing[0]).toContain('"fc.weight"');
  });

  it('prints strings, floats, nested graphs and large tensor attributes', () => {
    const lstm: NodeProto = {
      name: 'lstm/l0/reverse/LSTM',
      opType: 'LSTM',
      inputs: ['x', 'w', 'r', '', '', 'h0'],
      outputs: ['', 'h'],
      attributes: [
        { name: 'direction', kind: 'string', value: 'reverse' },
        { name: 'activations', kind: 'strings', value: ['Sigmoid', 'Tanh', 'Tanh'] },
        { name: 'activation_alpha', kind: 'floats', value: [1, 0.1] },
        { name: 'clip', kind: 'float', value: 3 },
        { name: 'big', kind: 'tensor', value: floatTensor('', [17], new Array<number>(17).fill(0)) },
      ],
    };
    const branch = { ...tinyModel().graph, name: 'then', initializers: [], valueInfo: [], docString: undefined };
    const ifNode: NodeProto = {
      name: 'if',
      opType: 'If',
      inputs: ['cond'],
      outputs: ['z'],
      attributes: [{ name: 'then_branch', kind: 'graph', value: { ...branch, nodes: branch.nodes.slice(0, 1) } }],
    };
    const model = { ...tinyModel(), graph: { ...tinyModel().graph, nodes: [lstm, ifNode] } };
    const lines = formatModel(model).split('\n');
    const zeros = new Uint8Array(17 * 4);
    expect(lines).toContain(
      '   ["lstm/l0/reverse/LSTM"] "", h = LSTM <direction = "reverse", activations = ["Sigmoid", "Tanh", "Tanh"], ' +
        `activation_alpha = [1.0, 0.1], clip = 3.0, big = float[17] /* fnv1a ${fnv1aOf(zeros)} */> (x, w, r, "", "", h0)`,
    );
    expect(lines).toContain('   [if] z = If (cond) <then_branch = then (float[batch,3] x) => (float[2,batch] y)');
    expect(lines).toContain('      {');
    expect(lines).toContain('         # tiny.seq:2:3');
    expect(lines).toContain('         ["fc/MatMul"] h0 = MatMul (x, "fc.weight")');
    expect(lines).toContain('      }>');
  });
});

function indexOf(haystack: Uint8Array, needle: readonly number[]): number {
  outer: for (let start = 0; start + needle.length <= haystack.length; start++) {
    for (let i = 0; i < needle.length; i++) {
      if (haystack[start + i] !== needle[i]) continue outer;
    }
    return start;
  }
  return -1;
}

// An independent FNV-1a (offset basis 2166136261, prime 16777619) with BigInt arithmetic.
function fnv1aOf(bytes: Uint8Array): string {
  let hash = 2166136261n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 16777619n) % 2n ** 32n;
  return hash.toString(16).padStart(8, '0');
}

function fnv1aOfFloats(values: number[]): string {
  return fnv1aOf(new Uint8Array(Float32Array.from(values).buffer));
}
