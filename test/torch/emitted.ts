// Runs a seqc-emitted PyTorch module with seqc's own weights in real PyTorch, and the same spec's compiled graphs in onnxruntime-node, on the same padded batch.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { compile, writeSafetensors, type CompileResult } from '../../src/index.js';
import { emitPytorch, pytorchClassName } from '../../src/emit/pytorch.js';
import { initializeWeights } from '../../src/weights/resolve.js';
import type { ModelIR, ValueType } from '../../src/ir/ir.js';
import type { WeightMap } from '../../src/weights/types.js';
import { runPython } from './python.js';

/** A tensor as it crosses into Python and back: row-major values and a shape. */
export interface Tensor {
  readonly dtype: 'int64' | 'float32';
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

export type Feeds = Record<string, Tensor>;

/** A call of the emitted module: `forward(**inputs)`, `encode(**inputs)` or `step(**inputs)`. */
export interface ModuleCall {
  readonly method: 'forward' | 'encode' | 'step';
  readonly inputs: Feeds;
}

/** A small deterministic generator (mulberry32), so every run feeds the same batch. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Concrete sizes for symbolic dims: batch 3, time axes 5, anything else 4. */
export function concreteShape(type: ValueType, sizes: Readonly<Record<string, number>> = {}): number[] {
  return type.dims.map((d) => {
    if (d.kind === 'fixed') return d.size;
    return sizes[d.name] ?? (d.name === 'batch' ? 3 : /time/.test(d.name) ? 5 : 4);
  });
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * A padded batch for the model's inputs: token ids below the smallest vocabulary, normal floats,
 * lengths from 1 to the full time with the first row full, and random initial states.
 */
export function randomFeeds(ir: ModelIR, seed: number, sizes: Readonly<Record<string, number>> = {}): Feeds {
  const random = seeded(seed);
  const vocabs = [...ir.ops, ...(ir.decoder === undefined ? [] : [ir.decoder.embedding])]
    .filter((o) => o.kind === 'embedding')
    .map((o) => (o.kind === 'embedding' ? o.vocab : 0));
  const vocab = Math.min(...vocabs, 1000);
  const normal = (): number => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const feeds: Feeds = {};
  for (const input of ir.inputs) {
    const shape = concreteShape(input.type, sizes);
    const n = product(shape);
    if (input.role.kind === 'lengths') {
      const of = ir.inputs.find((i) => i.name === (input.role.kind === 'lengths' ? input.role.of : ''))!;
      const time = concreteShape(of.type, sizes)[1]!;
      feeds[input.name] = {
        dtype: 'int64',
        shape,
        data: Array.from({ length: n }, (_, i) => (i === 0 ? time : 1 + Math.floor(random() * time))),
      };
    } else if (input.type.dtype === 'int64') {
      feeds[input.name] = {
        dtype: 'int64',
        shape,
        data: Array.from({ length: n }, () => Math.floor(random() * vocab)),
      };
    } else {
      feeds[input.name] = { dtype: 'float32', shape, data: Array.from({ length: n }, () => Math.fround(normal())) };
    }
  }
  return feeds;
}

/** Random token ids [batch, time] below `vocab`. */
export function randomIds(seed: number, batch: number, time: number, vocab: number): Tensor {
  const random = seeded(seed);
  return {
    dtype: 'int64',
    shape: [batch, time],
    data: Array.from({ length: batch * time }, () => Math.floor(random() * vocab)),
  };
}

function ortTensor(t: Tensor): ort.Tensor {
  return t.dtype === 'int64'
    ? new ort.Tensor('int64', BigInt64Array.from(t.data.map((v) => BigInt(v))), [...t.shape])
    : new ort.Tensor('float32', Float32Array.from(t.data), [...t.shape]);
}

/** Runs one ONNX graph in onnxruntime-node; returns every output as a Tensor. */
export async function runOnnx(bytes: Uint8Array, feeds: Feeds): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  const inputs: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    const t = feeds[name];
    if (t === undefined) throw new Error(`no feed for graph input ${name}`);
    inputs[name] = ortTensor(t);
  }
  const outputs = await session.run(inputs);
  const result: Record<string, Tensor> = {};
  for (const [name, value] of Object.entries(outputs)) {
    const data = Array.from(value.data as ArrayLike<number | bigint>, (v) => Number(v));
    result[name] = { dtype: value.type === 'int64' ? 'int64' : 'float32', shape: [...value.dims], data };
  }
  await session.release();
  return result;
}

/** The largest |a − b| over two tensors of the same shape; Infinity when the shapes differ. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (a.shape.join(',') !== b.shape.join(',')) return Infinity;
  let max = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

/** A compiled spec with its IR, seqc's seeded weights and the emitted Python. */
export interface Emitted {
  readonly ir: ModelIR;
  readonly compiled: CompileResult;
  readonly weights: WeightMap;
  readonly python: string;
}

export function compileAndEmit(source: string, seed: number): Emitted {
  const compiled = compile(source, { seed, sourceName: 'spec.seq' });
  const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || compiled.ir === undefined)
    throw new Error(`spec does not compile: ${errors.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  const ir = compiled.ir;
  return {
    ir,
    compiled,
    weights: initializeWeights(ir.parameters, seed),
    python: emitPytorch(ir, { sourceText: source, sourceName: 'spec.seq' }),
  };
}

/** Python: load model.py and weights.safetensors from the folder, strictly, then run the calls. */
const moduleRunner = `
import importlib.util, json, sys, torch
request = json.load(sys.stdin)
folder = request["folder"]
spec = importlib.util.spec_from_file_location("emitted", folder + "/model.py")
emitted = importlib.util.module_from_spec(spec)
spec.loader.exec_module(emitted)

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", entry
        start, end = entry["data_offsets"]
        raw = bytearray(data[8 + size + start:8 + size + end])
        tensors[name] = torch.frombuffer(raw, dtype=torch.float32).reshape(entry["shape"]).clone()
    return tensors

def tensor(t):
    dtype = torch.int64 if t["dtype"] == "int64" else torch.float32
    return torch.tensor(t["data"], dtype=dtype).reshape(t["shape"])

def plain(t):
    t = t.detach()
    return {"dtype": "int64" if t.dtype == torch.int64 else "float32", "shape": list(t.shape),
            "data": t.reshape(-1).tolist()}

model = getattr(emitted, request["className"])()
fresh = [[name, list(t.shape)] for name, t in model.state_dict().items()]
model.load_state_dict(read_safetensors(folder + "/weights.safetensors"), strict=True)
model.eval()
results = []
with torch.no_grad():
    for call in request["calls"]:
        inputs = {name: tensor(t) for name, t in call["inputs"].items()}
        out = getattr(model, call["method"])(**inputs)
        results.append({name: plain(t) for name, t in out.items()})
print(json.dumps({"parameters": fresh, "results": results}))
`;

/** What the emitted module gave: its own parameter list (before loading) and each call's outputs. */
export interface TorchRun {
  readonly parameters: [string, number[]][];
  readonly results: Record<string, Tensor>[];
}

/** Writes the emitted module and seqc's weights to a temporary folder and runs the calls in PyTorch. */
export function runEmitted(emitted: Emitted, calls: readonly ModuleCall[]): TorchRun {
  const folder = mkdtempSync(join(tmpdir(), 'seqc-emit-'));
  try {
    writeFileSync(join(folder, 'model.py'), emitted.python);
    writeFileSync(join(folder, 'weights.safetensors'), writeSafetensors(emitted.weights));
    return runPython<TorchRun>(moduleRunner, { folder, className: pytorchClassName(emitted.ir), calls });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
