// Running models with hostile inputs, as a user meets them: `seqc run` and `loadModel().run`, each refusal a diagnostic with a code, an exit status and a hint, never a crash.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { renderDiagnostics } from '../src/diagnostics/render.js';
import { compile } from '../src/index.js';
import { decodeModel } from '../src/onnx/decode.js';
import { encodeModel } from '../src/onnx/encode.js';
import type { ModelProto } from '../src/onnx/types.js';
import { loadModel, type LoadedModel, type TensorData } from '../src/runtime/node.js';
import type { OrtModule } from '../src/runtime/ort.js';
import { openModel } from '../src/runtime/session.js';

const dir = mkdtempSync(join(tmpdir(), 'seqc-hardening-'));
const specText = `model Tiny {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=20, dim=4, padding_idx=0) -> gru: BiGRU(hidden=3) -> mean -> fc: Linear(2) -> softmax -> output probs
}
`;
const spec = join(dir, 'tiny.seq');
writeFileSync(spec, specText);
const bytes = compile(specText, { sourceName: spec }).model!;
const modelPath = join(dir, 'tiny.onnx');
writeFileSync(modelPath, bytes);

async function seqc(...argv: string[]): Promise<{ status: number; out: string; err: string; codes: string[] }> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { status, out, err, codes: [...err.matchAll(/(?:error|warning)\[(SEQ\d+)\]/g)].map((m) => m[1]!) };
}

async function tiny(): Promise<LoadedModel> {
  const loaded = await loadModel(bytes, { name: 'tiny.onnx' });
  expect(loaded.diagnostics).toEqual([]);
  return loaded.model!;
}

/** The model with its seqc.signature replaced (or removed, for undefined), written to a file. */
function withSignature(name: string, signature: string | undefined, model: ModelProto = decodeModel(bytes)): string {
  const metadataProps = model.metadataProps.filter((p) => p.key !== 'seqc.signature');
  const edited: ModelProto = {
    ...model,
    metadataProps:
      signature === undefined ? metadataProps : [...metadataProps, { key: 'seqc.signature', value: signature }],
  };
  const path = join(dir, name);
  writeFileSync(path, encodeModel(edited));
  return path;
}

function signatureOf(model: ModelProto): { inputs: Record<string, unknown>[]; outputs: Record<string, unknown>[] } {
  return JSON.parse(model.metadataProps.find((p) => p.key === 'seqc.signature')!.value);
}

/** Renames a graph input or output everywhere it appears: the graph, the nodes and the signature. */
function renamed(model: ModelProto, from: string, to: string): ModelProto {
  const swap = (n: string): string => (n === from ? to : n);
  const signature = signatureOf(model);
  for (const entry of [...signature.inputs, ...signature.outputs]) {
    entry.name = swap(entry.name as string);
    if (entry.of !== undefined) entry.of = swap(entry.of as string);
  }
  return {
    ...model,
    graph: {
      ...model.graph,
      inputs: model.graph.inputs.map((i) => ({ ...i, name: swap(i.name) })),
      outputs: model.graph.outputs.map((o) => ({ ...o, name: swap(o.name) })),
      nodes: model.graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map(swap), outputs: n.outputs.map(swap) })),
    },
    metadataProps: model.metadataProps.map((p) =>
      p.key === 'seqc.signature' ? { key: p.key, value: JSON.stringify(signature) } : p,
    ),
  };
}

describe('ids and lengths that would wrap around in int64', () => {
  it('refuses 2^64 on the command line before it becomes id 0', async () => {
    const run = await seqc('run', modelPath, '--input', 'tokens=[[18446744073709551616, 1]]');
    expect(run.codes).toEqual(['SEQ304']);
    expect(run.status).toBe(1);
    expect(run.err).toContain('tokens[0][0]');
    expect(run.err).toContain('= hint: token ids and lengths are small whole numbers');
    expect(run.out).toBe('');
  });

  it('refuses a length of 2^64 + 1, which would wrap to 1', async () => {
    const run = await seqc('run', modelPath, '--input', 'tokens=[[1, 2]]', '--input', 'lengths=[18446744073709551617]');
    expect(run.codes).toEqual(['SEQ304']);
    expect(run.status).toBe(1);
  });

  it('refuses numbers past 2^53 − 1 and bigints past int64 in library calls, and keeps the largest exact one an ordinary out-of-vocabulary id', async () => {
    const model = await tiny();
    const codes = async (inputs: Parameters<LoadedModel['run']>[0]): Promise<string[]> =>
      (await model.run(inputs)).diagnostics.map((d) => d.code);
    expect(await codes({ tokens: [[2 ** 64]] })).toEqual(['SEQ304']);
    expect(await codes({ tokens: [[-(2 ** 60)]] })).toEqual(['SEQ304']);
    expect(await codes({ tokens: { data: [2n ** 64n + 3n], dims: [1, 1] } })).toEqual(['SEQ304']);
    expect(await codes({ tokens: [[1, 2]], lengths: { data: [2n ** 64n + 1n], dims: [1] } })).toEqual(['SEQ304']);
    expect(await codes({ tokens: [[Number.MAX_SAFE_INTEGER]] })).toEqual(['SEQ301']);
    expect(await codes({ tokens: [[1.5]] })).toEqual(['SEQ301']);
    const hint = (await model.run({ tokens: [[2 ** 64]] })).diagnostics[0]!.hint;
    expect(hint).toMatch(/wrap around into a different id/);
    await model.release();
  });
});

describe('the id guard takes the vocabulary from the graph, not from the signature', () => {
  it('refuses ids past the embedding table when the signature was edited to claim a larger vocabulary', async () => {
    const model = decodeModel(bytes);
    const signature = signatureOf(model);
    signature.inputs[0]!.vocab = 1_000_000;
    const run = await seqc(
      'run',
      withSignature('bigger-vocab.onnx', JSON.stringify(signature), model),
      '--input',
      'tokens=[[1, 25]]',
    );
    expect(run.codes).toEqual(['SEQ301']);
    expect(run.err).toContain('tokens[0][1] is 25, outside the vocabulary [0, 20)');
    expect(run.status).toBe(1);
  });

  it('still bounds ids when the signature lost its vocab field', async () => {
    const model = decodeModel(bytes);
    const signature = signatureOf(model);
    delete signature.inputs[0]!.vocab;
    const loaded = await loadModel(withSignature('no-vocab.onnx', JSON.stringify(signature), model));
    expect(loaded.model!.signature.inputs[0]!.vocab).toBe(20);
    const result = await loaded.model!.run({ tokens: [[1, -1]] });
    expect(result.diagnostics.map((d) => d.message)).toEqual(['tokens[0][1] is -1, outside the vocabulary [0, 20)']);
  });

  it('refuses to run a model whose signature was removed', async () => {
    const run = await seqc('run', withSignature('unsigned.onnx', undefined), '--input', 'tokens=[[1, 25]]');
    expect(run.codes).toEqual(['SEQ310']);
    expect(run.err).toContain('= hint: compile the spec');
    expect(run.status).toBe(1);
  });
});

describe('a seqc.signature that is not what seqc writes', () => {
  const signature = signatureOf(decodeModel(bytes));
  it.each([
    ['null', 'null', 'it is not a JSON object'],
    ['inputs that are a number', '{"name":"Tiny","inputs":5,"outputs":[]}', '`inputs` are not a list'],
    [
      'dims that are not a list',
      JSON.stringify({ ...signature, inputs: [{ ...signature.inputs[0], dims: 'batch' }, signature.inputs[1]] }),
      'the dims of input `tokens` are not a list',
    ],
    [
      'a dim of 10^12',
      JSON.stringify({
        ...signature,
        inputs: [{ ...signature.inputs[0], dims: ['batch', 1e12] }, signature.inputs[1]],
      }),
      'axis 1 of input `tokens` is neither a name nor a size',
    ],
    ['not JSON', '{"name":', 'it is not JSON'],
    [
      'an input the graph does not have',
      JSON.stringify({
        ...signature,
        inputs: [...signature.inputs, { name: 'extra', dtype: 'float32', dims: ['batch', 'time', 2], role: 'data' }],
      }),
      'does not match its graph',
    ],
    [
      'a dtype the graph does not take',
      JSON.stringify({ ...signature, inputs: [{ ...signature.inputs[0], dtype: 'float32' }, signature.inputs[1]] }),
      'the graph takes int64',
    ],
    [
      'a deeply nested document',
      `{"name":"Tiny","inputs":${'['.repeat(100_000)}${']'.repeat(100_000)},"outputs":[]}`,
      'seqc.signature seqc cannot use',
    ],
  ])('%s is SEQ303 on the command line and in loadModel', async (name, text, message) => {
    const path = withSignature(`${name.replace(/\W+/g, '-')}.onnx`, text);
    const run = await seqc('run', path, '--input', 'tokens=[[1]]');
    expect(run.codes).toEqual(['SEQ303']);
    expect(run.status).toBe(1);
    expect(run.err).toContain(message);
    expect(run.err).toContain('= hint: ');
    const loaded = await loadModel(path);
    expect(loaded.model).toBeUndefined();
    expect(loaded.diagnostics.map((d) => d.code)).toEqual(['SEQ303']);
  });
});

describe('library calls with malformed inputs return diagnostics', () => {
  it.each([
    [
      'a Map whose dims disagree with its data',
      new Map([['tokens', { dtype: 'int64', dims: [2, 2], data: new BigInt64Array(3) }]]),
      'SEQ300',
      'which hold 4 values, but its data has 3',
    ],
    [
      'a Map with float data for an int64 input',
      new Map([['tokens', { dtype: 'int64', dims: [1, 2], data: new Float32Array(2) }]]),
      'SEQ300',
      'its data is Float32Array',
    ],
    ['a Map whose value is null', new Map([['tokens', null]]), 'SEQ300', '`tokens` is null'],
    [
      'float data for an int64 input',
      { tokens: { data: new Float32Array([1, 2]), dims: [1, 2] } },
      'SEQ301',
      '`tokens` must be int64, found float32',
    ],
    ['null feeds', null, 'SEQ300', 'the inputs are null'],
    ['a number as feeds', 5, 'SEQ300', 'the inputs are 5'],
    ['a null value', { tokens: null }, 'SEQ300', 'tokens is null, not a finite number'],
    ['an undefined value', { tokens: undefined }, 'SEQ300', 'is missing'],
    ['dims that are not numbers', { tokens: { data: [1, 2], dims: ['a'] } }, 'SEQ300', 'the dims of `tokens`'],
    ['data that is not a list', { tokens: { data: 7, dims: [1, 1] } }, 'SEQ300', 'its data has no values'],
    [
      'NaN in float data for an int64 input',
      { tokens: { data: new Float64Array([1, NaN]), dims: [1, 2] } },
      'SEQ301',
      'is NaN',
    ],
  ])('%s', async (_, inputs, code, message) => {
    const model = await tiny();
    const result = await model.run(inputs as never);
    expect(result.outputs).toBeUndefined();
    expect(result.diagnostics.map((d) => d.code)).toEqual([code]);
    expect(result.diagnostics.map((d) => d.message).join('\n')).toContain(message);
  });

  it('says NaN for NaN in a float32 input', async () => {
    const floatSpec = 'model F {\n  input x: float32[batch, time, 2]\n  x -> fc: Linear(1) -> output y\n}\n';
    const loaded = await loadModel(compile(floatSpec).model!, { name: 'f.onnx' });
    const result = await loaded.model!.run({ x: { data: new Float32Array([1, NaN]), dims: [1, 1, 2] } });
    expect(result.diagnostics.map((d) => d.message)).toEqual([
      '`x` holds float32 values, but item 1 (x[0][0][1]) is NaN',
    ]);
    const big = await loaded.model!.run({ x: [[[1e39, 0]]] });
    expect(big.diagnostics.map((d) => d.code)).toEqual(['SEQ304']);
  });
});

describe('input files', () => {
  it('refuses 100,000 nested lists with a message, not a stack overflow', async () => {
    const file = join(dir, 'deep.json');
    writeFileSync(file, '['.repeat(100_000) + ']'.repeat(100_000));
    const run = await seqc('run', modelPath, '--input', `tokens=@${file}`);
    expect(run.codes).toEqual(['SEQ300']);
    expect(run.err).toContain('nested more than 32 lists deep');
    expect(run.status).toBe(1);
  });

  it('says null for null (JSON has no NaN) and never echoes the file', async () => {
    const file = join(dir, 'nulls.json');
    writeFileSync(file, '[[1, null]]');
    const run = await seqc('run', modelPath, '--input', `tokens=@${file}`);
    expect(run.err).toContain('tokens[0][1] is null, not a finite number');
    const secret = join(dir, 'passwd');
    writeFileSync(secret, 'root:x:0:0:hunter2:/root:/bin/bash\n');
    const leaked = await seqc('run', modelPath, '--input', `tokens=@${secret}`);
    expect(leaked.codes).toEqual(['SEQ300']);
    expect(leaked.status).toBe(1);
    expect(leaked.err).toContain(`${secret} (the value of \`tokens\`) is not JSON`);
    expect(leaked.err).not.toContain('hunter2');
    expect(leaked.err).not.toContain('root:x');
    writeFileSync(secret, '[[1, 2],\n [3, "hunter2"]]');
    const asString = await seqc('run', modelPath, '--input', `tokens=@${secret}`);
    expect(asString.err).toContain('tokens[1][1] is a string');
    expect(asString.err).not.toContain('hunter2');
    writeFileSync(secret, '[[1, 2],\n [3, 4 hunter2]]');
    const positioned = await seqc('run', modelPath, '--input', `tokens=@${secret}`);
    expect(positioned.err).toContain("Expected ',' or ']' after array element at line 2, column 8");
    expect(positioned.err).not.toContain('hunter2');
  });

  it('refuses a file over 256 MiB by its size, before reading it', async () => {
    const file = join(dir, 'huge.json');
    writeFileSync(file, '');
    truncateSync(file, 300 * 1024 * 1024);
    const started = Date.now();
    const run = await seqc('run', modelPath, '--input', `tokens=@${file}`);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(run.codes).toEqual(['SEQ203']);
    expect(run.err).toContain('it is 314,572,800 bytes, and seqc reads at most 256 MiB of a run input');
    expect(run.err).toContain('= hint: set SEQC_MAX_READ_BYTES');
    expect(run.status).toBe(1);
  });

  it('refuses folders and pipes, which are not regular files', async () => {
    const folder = join(dir, 'a-folder');
    mkdirSync(folder, { recursive: true });
    const run = await seqc('run', modelPath, '--input', `tokens=@${folder}`);
    expect(run.codes).toEqual(['SEQ202']);
    expect(run.err).toContain('it is a folder');
    const fifo = join(dir, 'a-pipe');
    execFileSync('mkfifo', [fifo]);
    const piped = await seqc('run', modelPath, '--input', `tokens=@${fifo}`);
    expect(piped.codes).toEqual(['SEQ204']);
    expect(piped.err).toContain('not a regular file');
  });
});

describe('the command line', () => {
  it('refuses the same --input twice instead of keeping the last', async () => {
    const run = await seqc('run', modelPath, '--input', 'tokens=[[1]]', '--input', 'tokens=[[2]]');
    expect(run.codes).toEqual(['SEQ306']);
    expect(run.status).toBe(2);
    expect(run.err).toContain('= hint: give each input once');
  });

  it('suggests an input of the right rank for each missing input, and says which are optional', async () => {
    const run = await seqc('run', modelPath);
    expect(run.codes).toEqual(['SEQ300']);
    expect(run.status).toBe(1);
    expect(run.err).toContain(
      "e.g. --input 'tokens=[[1, 2, 3]]'; --input lengths=[3] (optional: without it every row of `tokens` is full length)",
    );
    expect(run.err).not.toContain('lengths=[[');
  });

  it('validates --ep as a flag: cpu, cuda or a comma list', async () => {
    for (const ep of ['gpu', 'cuda,cuda', '', 'cpu,']) {
      const run = await seqc('run', modelPath, '--input', 'tokens=[[1]]', '--ep', ep);
      expect(run.codes).toEqual(['SEQ201']);
      expect(run.status).toBe(2);
    }
  });

  it('falls back from cuda to cpu with a warning naming the provider used, and without ONNX Runtime log lines', () => {
    const script = `const { main } = await import(${JSON.stringify(new URL('../src/cli/main.ts', import.meta.url).pathname)});
process.exitCode = await main(['run', ${JSON.stringify(modelPath)}, '--input', 'tokens=[[1, 2]]', '--ep', 'cuda,cpu'], { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), color: false });`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout).probs.dims).toEqual([1, 2]);
    // On a machine with onnxruntime-node's CUDA binaries there is nothing to warn about.
    if (child.stderr.includes('SEQ308')) {
      expect(child.stderr).toContain('warning[SEQ308]: execution provider cuda is not available');
      expect(child.stderr).toContain('running on cpu');
      expect(child.stderr).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node');
    }
    expect(child.stderr).not.toContain('[E:onnxruntime');
    expect(child.stderr).not.toContain('\x1b[');
  });

  it('prints { ok, exitCode, diagnostics, result } under --json, with the outputs as result', async () => {
    const good = await seqc('run', modelPath, '--input', 'tokens=[[1, 2]]', '--json');
    const document = JSON.parse(good.out);
    expect(document).toMatchObject({ ok: true, exitCode: 0, diagnostics: [] });
    expect(document.result.probs.dims).toEqual([1, 2]);
    const bad = await seqc('run', modelPath, '--input', 'tokens=[[1, 99]]', '--json');
    const failed = JSON.parse(bad.out);
    expect(failed).toMatchObject({ ok: false, exitCode: 1, result: null });
    expect(failed.diagnostics.map((d: { code: string }) => d.code)).toEqual(['SEQ301']);
    expect(failed.diagnostics[0].hint).toMatch(/vocabulary/);
    expect(bad.err).toBe('');
  });
});

describe('names that are Object properties', () => {
  it('runs an input named __proto__ and an output named constructor', async () => {
    const model = renamed(renamed(decodeModel(bytes), 'tokens', '__proto__'), 'probs', 'constructor');
    const path = join(dir, 'proto.onnx');
    writeFileSync(path, encodeModel(model));
    const run = await seqc('run', path, '--input', '__proto__=[[1, 2]]');
    expect(run.err).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.out).constructor.dims).toEqual([1, 2]);
    const loaded = await loadModel(path);
    const inputs = JSON.parse('{"__proto__": [[1, 2]]}') as Record<string, number[][]>;
    const result = await loaded.model!.run(inputs);
    expect(result.diagnostics).toEqual([]);
    expect(result.outputs!.get('constructor')!.dims).toEqual([1, 2]);
    const missing = await loaded.model!.run({});
    expect(missing.diagnostics.map((d) => d.message)).toEqual(['the input `__proto__` is missing']);
  });

  it('refuses an output named __proto__, which ONNX Runtime cannot return', async () => {
    const path = join(dir, 'proto-out.onnx');
    writeFileSync(path, encodeModel(renamed(decodeModel(bytes), 'probs', '__proto__')));
    const run = await seqc('run', path, '--input', 'tokens=[[1, 2]]');
    expect(run.codes).toEqual(['SEQ307']);
    expect(run.status).toBe(1);
    expect(run.err).toContain('= hint: rename the output');
  });
});

describe('ONNX Runtime errors point at the spec', () => {
  /** An ONNX Runtime whose sessions fail as a real kernel would, naming the node. */
  function failingOrt(message: string): OrtModule {
    return {
      InferenceSession: { create: async () => ({ run: async () => Promise.reject(new Error(message)) }) },
      Tensor: class {
        readonly type: string;
        readonly dims: readonly number[];
        readonly data: unknown;
        constructor(type: string, data: unknown, dims: readonly number[]) {
          this.type = type;
          this.data = data;
          this.dims = dims;
        }
      },
    };
  }

  it("maps the failing node's name to its line in the spec, with a caret", async () => {
    const ort = failingOrt(
      "\x1b[1;31mNon-zero status code returned while running Gather node. Name:'embedding/Gather' Status Message: indices element out of data bounds\x1b[m\n  at native frames",
    );
    const opened = await openModel(ort, bytes, spec, { executionProviders: ['cpu'] });
    const result = await opened.model!.run({ tokens: [[1, 2]] });
    const [d] = result.diagnostics;
    expect(d!.code).toBe('SEQ302');
    // Models record only the spec's file name, so that the same spec gives the same bytes in any folder.
    expect(d!.span.source).toBe('tiny.seq');
    expect(d!.span.start.line).toBe(4);
    expect(d!.message).toContain('node `embedding/Gather`');
    expect(d!.message).not.toContain('\x1b[');
    expect(d!.message).not.toContain('native frames');
    const text = renderDiagnostics(result.diagnostics, new Map([['tiny.seq', specText]]), { color: false });
    expect(text).toContain('4 |   tokens -> embedding: Embedding');
    expect(text).toMatch(/\|\s+\^/);
  });

  it('names the node and its recorded location for a bare .onnx, and the model when no node is named', async () => {
    const opened = await openModel(
      failingOrt(
        "Non-zero status code returned while running GRU node. Name:'gru/l0/forward/GRU' Status Message: boom",
      ),
      bytes,
      'tiny.onnx',
      { executionProviders: ['cpu'] },
    );
    const [d] = (await opened.model!.run({ tokens: [[1, 2]] })).diagnostics;
    expect(d!.message).toMatch(new RegExp(`node \`gru/l0/forward/GRU\` of tiny.onnx \\(from tiny\\.seq:4:\\d+\\)`));
    const vague = await openModel(failingOrt('out of memory'), bytes, 'tiny.onnx', { executionProviders: ['cpu'] });
    const [v] = (await vague.model!.run({ tokens: [[1, 2]] })).diagnostics;
    expect(v!.span.source).toBe('tiny.onnx');
    expect(v!.message).toBe('ONNX Runtime failed while running the model: out of memory');
  });
});

describe('loadModel takes the same parameters on node and on the web', () => {
  it('opens bytes with options, a path, and the older (bytes, name) form', async () => {
    const withOptions = await loadModel(bytes, { name: 'named.onnx', executionProviders: ['cpu'] });
    expect(withOptions.model!.source).toBe('named.onnx');
    const fromPath = await loadModel(modelPath);
    expect(fromPath.model!.source).toBe(modelPath);
    const older = await loadModel(bytes, 'older.onnx', { executionProviders: ['cpu'] });
    expect(older.model!.source).toBe('older.onnx');
    const missing = await loadModel(join(dir, 'missing.onnx'));
    expect(missing.diagnostics.map((d) => d.code)).toEqual(['SEQ311']);
    const tensors = new Map<string, TensorData>([
      ['tokens', { dtype: 'int64', dims: [1, 2], data: BigInt64Array.from([1n, 2n]) }],
    ]);
    expect((await withOptions.model!.run(tensors)).outputs!.get('probs')!.dims).toEqual([1, 2]);
  });
});

describe('a batch shorter than a Conv1d reads at once', () => {
  it('is SEQ302 at the Conv1d, with a hint to pad the batch, and runs once padded', async () => {
    const path = join(dir, 'conv.seq');
    writeFileSync(
      path,
      'model C {\n  input x: float32[batch, time, 2]\n  input n: lengths(x)\n  x -> conv: Conv1d(out=3, kernel=3) -> mean -> output y\n}\n',
    );
    const short = await seqc('run', path, '--input', 'x=[[[1,2],[3,4]]]', '--input', 'n=[2]');
    expect(short.codes).toEqual(['SEQ302']);
    expect(short.err).toContain('conv.seq:4:');
    expect(short.err).toContain('pad the batch with more steps');
    const padded = await seqc('run', path, '--input', 'x=[[[1,2],[3,4],[0,0]]]', '--input', 'n=[2]');
    expect(padded.status, padded.err).toBe(0);
  });
});
