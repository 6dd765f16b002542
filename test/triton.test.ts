// `seqc export triton`: every config.pbtxt it writes parses with Triton's own model_config.proto (protoc + python3-protobuf), and each model.onnx beside it is the compiled graph.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { compile } from '../src/index.js';
import { loadModel } from '../src/runtime/node.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const python = '/usr/bin/python3';
const workspace = mkdtempSync(join(tmpdir(), 'seqc-triton-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** Whether protoc and python3-protobuf are here; a loud skip locally, a failure in CI (.ci/run installs both). */
function protobufTools(): boolean {
  const protoc = spawnSync('protoc', ['--version'], { encoding: 'utf8' }).status === 0;
  const pythonProtobuf =
    existsSync(python) && spawnSync(python, ['-c', 'import google.protobuf'], { encoding: 'utf8' }).status === 0;
  if (protoc && pythonProtobuf) return true;
  const missing = [protoc ? '' : 'protoc (protobuf-compiler)', pythonProtobuf ? '' : 'python3-protobuf'].filter(
    Boolean,
  );
  if (process.env.CI !== undefined)
    throw new Error(`${missing.join(' and ')} missing, and CI must validate Triton configs: .ci/run installs them`);
  console.warn(
    `\n!!! TRITON CONFIG TESTS SKIPPED: ${missing.join(' and ')} missing. \`apt-get install protobuf-compiler python3-protobuf\` runs them. !!!\n`,
  );
  return false;
}

const available = protobufTools();

/** Parses config.pbtxt files with Triton's ModelConfig message and returns each as JSON (proto field names). */
function parseConfigs(paths: readonly string[]): unknown[] {
  const out = mkdtempSync(join(workspace, 'pb-'));
  const compiled = spawnSync(
    'protoc',
    [`--python_out=${out}`, '-I', join(root, 'test/fixtures/triton'), 'model_config.proto'],
    { encoding: 'utf8' },
  );
  if (compiled.status !== 0) throw new Error(`protoc failed: ${compiled.stderr}`);
  const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(out)})
import model_config_pb2
from google.protobuf import text_format, json_format
results = []
for path in json.load(sys.stdin):
    config = model_config_pb2.ModelConfig()
    text_format.Parse(open(path).read(), config)
    results.append(json_format.MessageToDict(config, preserving_proto_field_name=True))
print(json.dumps(results))
`;
  const run = spawnSync(python, ['-c', script], { input: JSON.stringify(paths), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`text_format.Parse failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as unknown[];
}

async function seqc(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { status, out, err };
}

const specs: Record<string, string> = {
  'tagger.seq': `model Tagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=30, dim=4, padding_idx=0) -> gru: BiGRU(hidden=5) -> tags: Linear(3) -> output scores
}
`,
  'streamer.seq': `model Streamer {
  input x: float32[batch, time, 3]
  x -> lstm: LSTM(hidden=4, layers=2, stateful=true) -> fc: Linear(2) -> output y
}
`,
  'translator.seq': `model Translator {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=20, dim=4, padding_idx=0) -> encoder: LSTM(hidden=6)
  }
  decoder(bos=1, eos=2, max_length=5) {
    -> tgt_embedding: Embedding(vocab=20, dim=4, padding_idx=0)
    -> decoder: LSTM(hidden=6)
    -> attention: Attention(score=dot)
    -> generator: Linear(20)
  }
}
`,
};

describe.skipIf(!available)('seqc export triton, checked with Triton’s model_config.proto', () => {
  const repo = join(workspace, 'repo');
  const configs = new Map<string, any>();

  beforeAll(async () => {
    for (const [file, text] of Object.entries(specs)) {
      writeFileSync(join(workspace, file), text);
      const result = await seqc('export', 'triton', join(workspace, file), '--out', repo, '--max-batch', '16');
      expect(result.status, result.err).toBe(0);
    }
    const names = readdirSync(repo).sort();
    const parsed = parseConfigs(names.map((n) => join(repo, n, 'config.pbtxt')));
    names.forEach((n, i) => configs.set(n, parsed[i]));
  });

  it('writes one folder per model: config.pbtxt and 1/model.onnx, the bundle as its greedy, encoder and step graphs', () => {
    expect([...configs.keys()]).toEqual(['streamer', 'tagger', 'translator', 'translator_encoder', 'translator_step']);
    for (const name of configs.keys()) expect(existsSync(join(repo, name, '1', 'model.onnx'))).toBe(true);
  });

  it('states a batching model: ONNX Runtime, max_batch_size, dims without the batch dim, dynamic batching', () => {
    expect(configs.get('tagger')).toEqual({
      name: 'tagger',
      platform: 'onnxruntime_onnx',
      max_batch_size: 16,
      input: [
        { name: 'tokens', data_type: 'TYPE_INT64', dims: ['-1'] },
        { name: 'lengths', data_type: 'TYPE_INT64', dims: ['1'], reshape: {} },
      ],
      output: [{ name: 'scores', data_type: 'TYPE_FP32', dims: ['-1', '3'] }],
      dynamic_batching: { max_queue_delay_microseconds: '2000' },
      instance_group: [{ kind: 'KIND_CPU', count: 1 }],
    });
  });

  it('states a stateful model with implicit state: each L.h0/L.c0 fed from L.hn/L.cn, zeros at a sequence start', () => {
    const config = configs.get('streamer');
    expect(config.max_batch_size ?? 0).toBe(0);
    expect(config.input).toEqual([{ name: 'x', data_type: 'TYPE_FP32', dims: ['-1', '-1', '3'] }]);
    expect(config.output).toEqual([{ name: 'y', data_type: 'TYPE_FP32', dims: ['-1', '-1', '2'] }]);
    expect(config.dynamic_batching).toBeUndefined();
    expect(config.sequence_batching.state).toEqual(
      ['h', 'c'].map((s) => ({
        input_name: `lstm.${s}0`,
        output_name: `lstm.${s}n`,
        data_type: 'TYPE_FP32',
        dims: ['2', '-1', '4'],
        initial_state: [{ data_type: 'TYPE_FP32', dims: ['2', '1', '4'], zero_data: true, name: 'zeros' }],
      })),
    );
  });

  it("states the bundle's greedy Loop graph as the generation model", () => {
    const config = configs.get('translator');
    expect(config.input.map((i: { name: string }) => i.name)).toEqual(['src', 'src_lengths']);
    expect(config.output).toContainEqual({ name: 'tokens', data_type: 'TYPE_INT64', dims: ['5'] });
    expect(config.max_batch_size).toBe(16);
  });

  it('writes the compiled graph itself: the exported tagger gives the outputs of the compiled one', async () => {
    const compiled = compile(specs['tagger.seq']!, { sourceName: 'tagger.seq' });
    const exported = readFileSync(join(repo, 'tagger', '1', 'model.onnx'));
    const a = (await loadModel(compiled.model!, { logSeverityLevel: 4 })).model!;
    const b = (await loadModel(new Uint8Array(exported), { logSeverityLevel: 4 })).model!;
    const inputs = { tokens: [[1, 2, 3]] };
    const [ra, rb] = [await a.run(inputs), await b.run(inputs)];
    expect(Array.from(rb.outputs!.get('scores')!.data as Float32Array)).toEqual(
      Array.from(ra.outputs!.get('scores')!.data as Float32Array),
    );
    await a.release();
    await b.release();
  });

  it('rejects a misspelt field: the parse is a real check', () => {
    const bad = join(workspace, 'bad.pbtxt');
    writeFileSync(
      bad,
      readFileSync(join(repo, 'tagger', 'config.pbtxt'), 'utf8').replace('max_batch_size', 'max_batchsize'),
    );
    expect(() => parseConfigs([bad])).toThrow(/max_batchsize/);
  });
});

describe('seqc export triton on the command line', () => {
  it('needs the format, a model and --out', async () => {
    expect((await seqc('export', 'tensorrt', 'x.seq', '--out', 'r')).status).toBe(2);
    expect((await seqc('export', 'triton', 'x.seq')).status).toBe(2);
  });

  it('refuses a model whose output lost its shape with SEQ509, writing nothing', async () => {
    const dir = mkdtempSync(join(workspace, 'noshape-'));
    const compiled = compile(specs['tagger.seq']!, { sourceName: 'tagger.seq' });
    const { decodeModel } = await import('../src/onnx/decode.js');
    const { encodeModel } = await import('../src/onnx/encode.js');
    const model = decodeModel(compiled.model!);
    const edited = encodeModel({
      ...model,
      graph: {
        ...model.graph,
        outputs: model.graph.outputs.map((o) => ({ ...o, type: { elemType: o.type.elemType } })),
      },
    });
    writeFileSync(join(dir, 'tagger.onnx'), edited);
    const result = await seqc('export', 'triton', join(dir, 'tagger.onnx'), '--out', join(dir, 'repo'), '--json');
    expect(result.status).toBe(1);
    expect(JSON.parse(result.out).diagnostics.map((d: { code: string }) => d.code)).toEqual(['SEQ509']);
    expect(existsSync(join(dir, 'repo'))).toBe(false);
  });
});
