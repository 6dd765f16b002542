// Smaller models (`--quantize int8|int8-weights`, `--precision fp16`): the bytes they save, the nodes they become, and outputs within quantization error of float32 on onnxruntime-node and onnxruntime-web.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions, type CompileResult } from '../src/index.js';
import { main } from '../src/cli/main.js';
import { decodeModel } from '../src/onnx/decode.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto } from '../src/onnx/types.js';
import { float16Bytes, precisionMetadataKey } from '../src/lower/quantize.js';
import { loadBundle } from '../src/runtime/node.js';
import { pythonPath } from './torch/python.js';

const forms = {
  int8: { quantize: 'int8' },
  'int8-weights': { quantize: 'int8-weights' },
  fp16: { precision: 'fp16' },
} as const satisfies Record<string, Pick<CompileOptions, 'quantize' | 'precision'>>;
type Form = keyof typeof forms;

const cache = new Map<string, CompileResult>();
function compiled(spec: string, form: Form | 'float32'): CompileResult {
  const key = `${spec}:${form}`;
  let result = cache.get(key);
  if (result === undefined) {
    const source = readFileSync(join('specs', `${spec}.seq`), 'utf8');
    result = compile(source, { sourceName: `${spec}.seq`, seed: 0, ...(form === 'float32' ? {} : forms[form]) });
    expect(result.diagnostics).toEqual([]);
    cache.set(key, result);
  }
  return result;
}

function allNodes(graph: GraphProto): NodeProto[] {
  return graph.nodes.flatMap((n) => [n, ...n.attributes.flatMap((a) => (a.kind === 'graph' ? allNodes(a.value) : []))]);
}

const opTypes = (model: ModelProto): string[] => allNodes(model.graph).map((n) => n.opType);
const count = (list: readonly string[], item: string): number => list.filter((x) => x === item).length;

/** A padded batch of token ids with lengths 7, 4 and 1. */
function tokenFeeds<T>(
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => T,
  vocab: number,
): Record<string, T> {
  const [batch, time] = [3, 7];
  const ids = BigInt64Array.from({ length: batch * time }, (_, i) => BigInt(1 + ((i * 7919) % (vocab - 1))));
  return {
    tokens: new Tensor('int64', ids, [batch, time]),
    lengths: new Tensor('int64', BigInt64Array.from([7n, 4n, 1n]), [batch]),
  };
}

async function runNode(
  model: Uint8Array,
  vocab: number,
  options: ortNode.InferenceSession.SessionOptions = {},
): Promise<Float32Array> {
  const session = await ortNode.InferenceSession.create(model, { executionProviders: ['cpu'], ...options });
  const result = await session.run(tokenFeeds(ortNode.Tensor, vocab));
  await session.release();
  return result[session.outputNames[0]!]!.data as Float32Array;
}

function maxDelta(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Of the rows of `last` values, the fraction whose argmax is the same in both. */
function argmaxAgreement(a: Float32Array, b: Float32Array, last: number): number {
  const argmax = (v: Float32Array, start: number): number => {
    let best = start;
    for (let i = start; i < start + last; i++) if (v[i]! > v[best]!) best = i;
    return best - start;
  };
  let same = 0;
  for (let r = 0; r < a.length / last; r++) if (argmax(a, r * last) === argmax(b, r * last)) same++;
  return same / (a.length / last);
}

describe('the bytes each form stores', () => {
  it('int8 stores at most 0.3× of float32, fp16 about half, for a classifier, a tagger and a bundle', () => {
    for (const spec of ['sentiment', 'tagger']) {
      const base = compiled(spec, 'float32').model!.byteLength;
      expect(compiled(spec, 'int8').model!.byteLength / base).toBeLessThanOrEqual(0.3);
      expect(compiled(spec, 'int8-weights').model!.byteLength / base).toBeLessThanOrEqual(0.3);
      expect(compiled(spec, 'fp16').model!.byteLength / base).toBeGreaterThan(0.45);
      expect(compiled(spec, 'fp16').model!.byteLength / base).toBeLessThanOrEqual(0.52);
    }
    const weights = (form: Form | 'float32') => compiled('translator', form).bundle!.weights.bytes.byteLength;
    expect(weights('int8') / weights('float32')).toBeLessThanOrEqual(0.3);
    expect(weights('fp16') / weights('float32')).toBeLessThanOrEqual(0.52);
  });

  it('records the form in the metadata of every graph and in a bundle manifest; float32 records none', () => {
    const precision = (model: ModelProto) => model.metadataProps.find((p) => p.key === precisionMetadataKey)?.value;
    expect(precision(compiled('tagger', 'float32').proto!)).toBeUndefined();
    expect(precision(compiled('tagger', 'int8').proto!)).toBe('int8');
    const bundle = compiled('translator', 'fp16').bundle!;
    expect(bundle.manifest.precision).toBe('fp16');
    expect(bundle.files.map((f) => precision(f.proto))).toEqual(bundle.files.map(() => 'fp16'));
    expect(compiled('translator', 'float32').bundle!.manifest.precision).toBeUndefined();
  });
});

describe('the nodes each form becomes', () => {
  it('int8: LSTMs become DynamicQuantizeLSTM, Linear layers DynamicQuantizeMatMul, the embedding an int8 Gather', () => {
    const model = compiled('sentiment', 'int8').proto!;
    const ops = opTypes(model);
    // BiLSTM with 2 layers: one node per layer and direction.
    expect(count(ops, 'DynamicQuantizeLSTM')).toBe(4);
    expect(count(ops, 'LSTM')).toBe(0);
    expect(count(ops, 'DynamicQuantizeMatMul')).toBe(1);
    expect(count(ops, 'Gemm')).toBe(0);
    expect(model.opsetImports).toContainEqual({ domain: 'com.microsoft', version: 1 });
    const lstm = allNodes(model.graph).find((n) => n.opType === 'DynamicQuantizeLSTM')!;
    expect(lstm.domain).toBe('com.microsoft');
    expect(lstm.inputs).toHaveLength(12);
    const init = (name: string) => model.graph.initializers.find((t) => t.name === name)!;
    // W [D, 4H, in] = [1, 1024, 128] is stored transposed as DynamicQuantizeLSTM reads it: int8 [1, 128, 1024].
    expect(init(lstm.inputs[1]!)).toMatchObject({ dataType: DataType.INT8, dims: [1, 128, 1024] });
    expect(init(lstm.inputs[8]!)).toMatchObject({ dataType: DataType.FLOAT, dims: [1, 1024] });
    const gather = allNodes(model.graph).find((n) => n.opType === 'Gather' && n.name.startsWith('embedding'))!;
    expect(init(gather.inputs[0]!).dataType).toBe(DataType.INT8);
    // No float copy of a quantized weight is left behind.
    const floats = model.graph.initializers.filter((t) => t.dataType === DataType.FLOAT);
    expect(floats.map((t) => t.name).filter((n) => /weight/.test(n) && !/scale/.test(n))).toEqual([]);
  });

  it('int8 on GRUs (no ONNX Runtime kernel): weight-only int8 with a per-gate-row DequantizeLinear before the GRU', () => {
    const model = compiled('tagger', 'int8').proto!;
    const nodes = allNodes(model.graph);
    const gru = nodes.find((n) => n.opType === 'GRU')!;
    const dequantize = nodes.find((n) => n.outputs[0] === gru.inputs[1])!;
    expect(dequantize.opType).toBe('DequantizeLinear');
    expect(dequantize.attributes).toEqual([{ name: 'axis', kind: 'int', value: 1 }]);
    expect(count(opTypes(model), 'DynamicQuantizeMatMul')).toBe(1);
  });

  it('int8-weights: only standard ONNX operators, every weight int8 behind a DequantizeLinear', () => {
    for (const spec of ['sentiment', 'translator']) {
      const result = compiled(spec, 'int8-weights');
      const protos = result.bundle?.files.map((f) => f.proto) ?? [result.proto!];
      for (const model of protos) {
        expect(model.opsetImports.map((o) => o.domain)).toEqual(['']);
        expect(allNodes(model.graph).every((n) => (n.domain ?? '') === '')).toBe(true);
        expect(count(opTypes(model), 'DequantizeLinear')).toBeGreaterThan(0);
      }
    }
  });

  it('int8-weights on the webgpu target: tables dequantized whole, since the WebGPU provider has no int8 Gather', () => {
    const source = readFileSync(join('specs', 'tagger.seq'), 'utf8');
    const webgpu = compile(source, { sourceName: 'tagger.seq', target: 'webgpu', quantize: 'int8-weights' }).proto!;
    const int8 = new Set(webgpu.graph.initializers.filter((t) => t.dataType === DataType.INT8).map((t) => t.name));
    const gathers = allNodes(webgpu.graph).filter((n) => n.opType === 'Gather');
    expect(gathers.length).toBeGreaterThan(0);
    expect(gathers.filter((n) => int8.has(n.inputs[0]!))).toEqual([]);
    const table = webgpu.graph.nodes.find((n) => n.outputs[0] === 'embedding.weight')!;
    expect(table.opType).toBe('DequantizeLinear');
    // The generic target gathers the int8 rows and dequantizes only those.
    const generic = compiled('tagger', 'int8-weights').proto!;
    expect(
      allNodes(generic.graph).some((n) => n.opType === 'Gather' && n.inputs[0] === 'embedding.weight/int8_table'),
    ).toBe(true);
  });

  it('fp16: float16 initializers, each read through a Cast to float32', () => {
    const model = compiled('tagger', 'fp16').proto!;
    const halves = model.graph.initializers.filter((t) => t.dataType === DataType.FLOAT16);
    expect(halves.length).toBeGreaterThan(3);
    const casts = model.graph.nodes.filter((n) => n.opType === 'Cast');
    for (const t of halves) expect(casts.some((c) => c.inputs[0] === t.name)).toBe(true);
  });

  it('rounds float32 to float16 to nearest, ties to even, with subnormals, infinities and overflow', () => {
    const halves = (values: number[]) => [...new Uint16Array(float16Bytes(Float32Array.from(values)).buffer)];
    expect(halves([0, -0, 1, -2, 65504, 65520, Infinity, 2 ** -24, 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11])).toEqual([
      0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0x7c00, 0x0001, 0x0000, 0x3c00, 0x3c02,
    ]);
  });
});

describe('outputs against float32 on onnxruntime-node', () => {
  // Bounds a little above what was measured (README "Smaller models"): int8 errors are about 1% of a logit's scale.
  const cases = [
    { spec: 'sentiment', vocab: 20000, last: 2, bounds: { int8: 5e-3, 'int8-weights': 5e-3, fp16: 1e-4 } },
    { spec: 'tagger', vocab: 5000, last: 17, bounds: { int8: 3e-2, 'int8-weights': 3e-2, fp16: 1e-3 } },
  ];
  for (const { spec, vocab, last, bounds } of cases) {
    it(`${spec}: max |Δ| within the bound of each form, argmax the same`, async () => {
      const reference = await runNode(compiled(spec, 'float32').model!, vocab);
      for (const form of Object.keys(forms) as Form[]) {
        const outputs = await runNode(compiled(spec, form).model!, vocab);
        const delta = maxDelta(reference, outputs);
        expect(delta, `${spec} ${form}`).toBeLessThan(bounds[form]);
        // Not equal either: the pass did change the weights.
        expect(delta, `${spec} ${form}`).toBeGreaterThan(0);
        expect(argmaxAgreement(reference, outputs, last), `${spec} ${form}`).toBeGreaterThanOrEqual(
          form === 'fp16' ? 1 : 0.95,
        );
      }
    });
  }

  it('Conv1d, a projected LSTM (a Loop of MatMuls), CRF and RNN layers run in every form, close to float32', async () => {
    const spec = `model Mixed {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=50, dim=16, padding_idx=0)
    -> conv: Conv1d(out=16, kernel=3, padding=1) -> relu
    -> rnn: BiLSTM(hidden=32, proj=16) -> emissions: Linear(5)
    -> crf: CRF(tags=5, score=true)
    -> output tags
  emissions -> output em
  tokens -> emb2: Embedding(vocab=50, dim=8) -> r2: RNN(hidden=8) -> output r
}`;
    const feeds = {
      tokens: new ortNode.Tensor(
        'int64',
        BigInt64Array.from({ length: 18 }, (_, i) => BigInt(1 + ((i * 7) % 49))),
        [3, 6],
      ),
      lengths: new ortNode.Tensor('int64', BigInt64Array.from([6n, 3n, 1n]), [3]),
    };
    const run = async (options: CompileOptions) => {
      const result = compile(spec, { sourceName: 'mixed.seq', seed: 1, ...options });
      expect(result.diagnostics).toEqual([]);
      const session = await ortNode.InferenceSession.create(result.model!);
      const out = await session.run(feeds);
      await session.release();
      return { out, ops: opTypes(result.proto!) };
    };
    const reference = (await run({})).out;
    for (const [form, options] of Object.entries(forms)) {
      const { out, ops } = await run(options);
      if (form === 'int8') expect(ops).toContain('DynamicQuantizeMatMul');
      const em = maxDelta(reference['em']!.data as Float32Array, out['em']!.data as Float32Array);
      const r = maxDelta(reference['r']!.data as Float32Array, out['r']!.data as Float32Array);
      expect(em, form).toBeLessThan(form === 'fp16' ? 1e-4 : 5e-3);
      expect(r, form).toBeLessThan(form === 'fp16' ? 1e-3 : 3e-2);
      const tags = Array.from(out['tags']!.data as BigInt64Array);
      const same = Array.from(reference['tags']!.data as BigInt64Array).filter((t, i) => t === tags[i]).length;
      expect(same / tags.length, form).toBeGreaterThanOrEqual(0.8);
    }
  });

  it('translator bundle: the int8 Loop graph, host greedy and teacher-forced logits agree with each other and with float32', async () => {
    const sources = [
      [5, 17, 300, 4000, 12, 9],
      [7, 7, 8],
    ];
    const open = async (form: Form | 'float32') => {
      const bundle = compiled('translator', form).bundle!;
      const files = Object.fromEntries(bundle.files.map((f) => [f.file, f.bytes]));
      const { bundle: seq, diagnostics } = await loadBundle({ manifest: bundle.manifest, files });
      expect(diagnostics).toEqual([]);
      return seq!;
    };
    const int8 = await open('int8');
    const loop = await int8.runGreedyGraph(sources);
    const host = await int8.generate(sources, { strategy: 'greedy' });
    // The step graph and the Loop graph run the same quantized kernels on the same weights.
    expect(host.rows!.map((r) => r.hypotheses[0]!.tokens)).toEqual(loop.rows);
    await int8.release();

    // Teacher-forced scoring logits against float32 (random weights: logits are small and close together).
    const scoring = async (form: Form | 'float32') => {
      const file = compiled('translator', form).bundle!.files.find((f) => f.role === 'scoring')!;
      const session = await ortNode.InferenceSession.create(file.bytes);
      const feeds: Record<string, ortNode.Tensor> = {};
      for (const name of session.inputNames) {
        if (name === 'src')
          feeds[name] = new ortNode.Tensor('int64', BigInt64Array.from([5n, 17n, 300n, 4000n]), [1, 4]);
        else if (name === 'src_lengths') feeds[name] = new ortNode.Tensor('int64', BigInt64Array.from([4n]), [1]);
        else feeds[name] = new ortNode.Tensor('int64', BigInt64Array.from([1n, 9n, 99n]), [1, 3]);
      }
      const out = await session.run(feeds);
      await session.release();
      return out[session.outputNames[0]!]!.data as Float32Array;
    };
    const reference = await scoring('float32');
    expect(maxDelta(reference, await scoring('int8'))).toBeLessThan(5e-3);
    expect(maxDelta(reference, await scoring('int8-weights'))).toBeLessThan(5e-3);
    expect(maxDelta(reference, await scoring('fp16'))).toBeLessThan(2e-4);
  });
});

describe('onnxruntime-web (wasm) runs the web forms', () => {
  // onnxruntime-node's optimizer fuses a weight's DequantizeLinear into an int8 MatMul (activations
  // quantized too), which wasm does not: the same graph unfused is the one to compare with.
  it('int8-weights and fp16 give the same outputs on wasm as the unfused graph on onnxruntime-node', async () => {
    for (const form of ['int8-weights', 'fp16'] as const) {
      const model = compiled('tagger', form).model!;
      const session = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'] });
      const result = await session.run(tokenFeeds(ortWeb.Tensor, 5000));
      const web = result[session.outputNames[0]!]!.data as Float32Array;
      await session.release();
      const unfused = await runNode(model, 5000, { graphOptimizationLevel: 'disabled' });
      expect(maxDelta(web, unfused), form).toBeLessThan(1e-5);
      // And within the form's quantization error of float32.
      const reference = await runNode(compiled('tagger', 'float32').model!, 5000);
      expect(maxDelta(web, reference), form).toBeLessThan(form === 'fp16' ? 1e-3 : 3e-2);
    }
  });
});

const onnxAvailable = spawnSync(pythonPath, ['-c', 'import onnx'], { encoding: 'utf8', timeout: 60_000 }).status === 0;

describe.skipIf(!onnxAvailable)("ONNX's checker", () => {
  it('accepts every graph of every form (full check, with shape inference)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqc-quantize-'));
    const paths: string[] = [];
    for (const form of Object.keys(forms) as Form[]) {
      for (const spec of ['tagger', 'translator']) {
        const result = compiled(spec, form);
        const files = result.bundle?.files.map((f) => ({ name: f.file, bytes: f.bytes })) ?? [
          { name: `${spec}.onnx`, bytes: result.model! },
        ];
        for (const f of files) {
          const path = join(dir, `${form}-${f.name}`);
          writeFileSync(path, f.bytes);
          paths.push(path);
        }
      }
    }
    const script = `import json, sys, onnx
failures = []
for path in json.load(sys.stdin):
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    except Exception as e:
        failures.append(path + ': ' + str(e)[:300])
print(json.dumps(failures))`;
    const result = spawnSync(pythonPath, ['-c', script], { input: JSON.stringify(paths), encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([]);
    expect(paths).toHaveLength(3 * (1 + 4));
  });
});

describe('seqc compile --quantize / --precision', () => {
  async function seqc(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
    return { code, out, err };
  }
  const dir = mkdtempSync(join(tmpdir(), 'seqc-quantize-cli-'));

  it('writes an int8 bundle whose manifest records the precision', async () => {
    const out = join(dir, 'translator.onnx');
    const r = await seqc('compile', 'specs/translator.seq', '--quantize', 'int8', '-o', out);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'translator.manifest.json'), 'utf8')) as { precision?: string };
    expect(manifest.precision).toBe('int8');
    const step = decodeModel(new Uint8Array(readFileSync(join(dir, 'translator.step.onnx'))));
    expect(opTypes(step)).toContain('DynamicQuantizeLSTM');
  });

  it('writes an fp16 model', async () => {
    const out = join(dir, 'tagger.onnx');
    const r = await seqc('compile', 'specs/tagger.seq', '--precision', 'fp16', '-o', out);
    expect(r.code).toBe(0);
    const model = decodeModel(new Uint8Array(readFileSync(out)));
    expect(model.graph.initializers.some((t) => t.dataType === DataType.FLOAT16)).toBe(true);
  });

  it('refuses unknown values (SEQ201), int8 for webgpu (SEQ104), and int8 with fp16 (SEQ105)', async () => {
    const codes = async (...argv: string[]) => {
      const r = await seqc(...argv, '--json');
      const report = JSON.parse(r.out) as { diagnostics: { code: string; facts?: unknown }[] };
      return { code: r.code, codes: report.diagnostics.map((d) => d.code), facts: report.diagnostics[0]?.facts };
    };
    expect(await codes('compile', 'specs/tagger.seq', '--quantize', 'int4')).toMatchObject({
      code: 2,
      codes: ['SEQ201'],
      facts: { flag: '--quantize', value: 'int4' },
    });
    expect(await codes('compile', 'specs/tagger.seq', '--precision', 'bf16')).toMatchObject({
      code: 2,
      codes: ['SEQ201'],
    });
    expect(await codes('compile', 'specs/tagger.seq', '--target', 'webgpu', '--quantize', 'int8')).toMatchObject({
      code: 1,
      codes: ['SEQ104'],
      facts: { flag: '--quantize', value: 'int8', expected: 'int8-weights' },
    });
    expect(await codes('compile', 'specs/tagger.seq', '--quantize', 'int8', '--precision', 'fp16')).toMatchObject({
      code: 1,
      codes: ['SEQ105'],
    });
  });
});
