// seqc's graphs beside torch.onnx.export of the same emitted PyTorch modules: whether the export works, file size, onnxruntime CPU latency and outputs on padded batches.

import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { compile, writeSafetensors } from '../src/index.js';
import { emitPytorch, pytorchClassName } from '../src/emit/pytorch.js';
import type { ModelIR } from '../src/ir/ir.js';
import { initializeWeights } from '../src/weights/resolve.js';
import { runPython, torchAvailable } from '../test/torch/python.js';
import { median, ms, packageVersion, parseBenchArguments, ratio } from './common.js';
import { formatLoad, waitForQuiet, withLoad, type GroupLoad } from './quiet.js';

/** One model of the comparison: a spec whose emitted module goes through torch.onnx.export. */
export interface ExportModel {
  readonly name: string;
  /** What the model exercises, for the table. */
  readonly what: string;
  readonly spec: string;
}

/** Small versions of the models users export: every layer kind of issue 10, dims kept modest so the bench stays short. */
export const exportModels: readonly ExportModel[] = [
  {
    name: 'Classifier',
    what: 'Embedding → LSTM → last → Linear',
    spec: `model Classifier {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=2000, dim=64) -> lstm: LSTM(hidden=128) -> last -> fc: Linear(5) -> output logits
}
`,
  },
  {
    name: 'BiTagger',
    what: 'Embedding → BiLSTM → Linear',
    spec: `model BiTagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=2000, dim=64) -> rnn: BiLSTM(hidden=64) -> fc: Linear(9) -> output scores
}
`,
  },
  {
    name: 'PooledClassifier',
    what: 'LSTM, add, BiGRU, mean ‖ max, Linear (issue 10)',
    spec: `model PooledClassifier {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)

  tokens -> embedding: Embedding(vocab=5000, dim=64) -> l1: LSTM(hidden=64)
  l1 -> l2: LSTM(hidden=64)
  add(l1, l2) -> rnn: BiGRU(hidden=64)
  rnn -> avg: mean
  rnn -> top: max
  concat(avg, top) -> fc: Linear(3) -> output logits
}
`,
  },
  {
    name: 'ConvTagger',
    what: 'Embedding → Conv1d → relu → LSTM → Linear',
    spec: `model ConvTagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens
    -> embedding: Embedding(vocab=2000, dim=64)
    -> conv: Conv1d(out=64, kernel=3, padding=1)
    -> relu
    -> rnn: LSTM(hidden=64)
    -> fc: Linear(9)
    -> output scores
}
`,
  },
  {
    name: 'ProjectedTagger',
    what: 'Embedding → LSTM(proj=64) → Linear',
    spec: `model ProjectedTagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=2000, dim=64) -> rnn: LSTM(hidden=128, proj=64) -> fc: Linear(9) -> output scores
}
`,
  },
  {
    name: 'CrfTagger',
    what: 'Embedding → BiLSTM → Linear → CRF',
    spec: `model CrfTagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens
    -> embedding: Embedding(vocab=2000, dim=64)
    -> rnn: BiLSTM(hidden=64)
    -> emissions: Linear(9)
    -> crf: CRF(tags=9, score=true)
    -> output tags
}
`,
  },
  {
    name: 'NerTagger',
    what: 'Conv1d, projected 2-layer BiLSTM, CRF (issue 10, smaller)',
    spec: `model NerTagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)

  tokens
    -> encoder.embedding: Embedding(vocab=2000, dim=64, padding_idx=0)
    -> encoder.conv: Conv1d(out=64, kernel=3, padding=1)
    -> relu
    -> encoder.rnn: BiLSTM(hidden=64, layers=2, proj=32)
    -> emissions: Linear(9)
    -> crf: CRF(tags=9, score=true)
    -> output tags
}
`,
  },
];

/** The shapes of one run: the example torch.onnx.export traces, the accuracy batches, the timed batch. */
export interface Shapes {
  readonly example: { readonly batch: number; readonly time: number };
  readonly accuracy: readonly { readonly batch: number; readonly time: number }[];
  readonly timed: { readonly batch: number; readonly time: number };
  readonly rounds: number;
  readonly warmups: number;
}

export function shapesFor(quick: boolean): Shapes {
  const example = { batch: 3, time: 7 };
  return quick
    ? {
        example,
        accuracy: [
          { batch: 3, time: 9 },
          { batch: 4, time: 9 },
        ],
        timed: { batch: 4, time: 12 },
        rounds: 3,
        warmups: 1,
      }
    : {
        example,
        // The example's own shape, its batch size with a longer time, and another batch size.
        accuracy: [
          { batch: 3, time: 7 },
          { batch: 3, time: 24 },
          { batch: 8, time: 24 },
        ],
        timed: { batch: 16, time: 48 },
        rounds: 40,
        warmups: 3,
      };
}

/** A padded batch: token ids in [1, vocab), lengths from 1 to time with the first row full, 0 past the lengths. */
export interface Batch {
  readonly tokens: { readonly shape: readonly [number, number]; readonly data: readonly number[] };
  readonly lengths: { readonly shape: readonly [number]; readonly data: readonly number[] };
}

/** A deterministic padded batch, the same on every run. */
export function paddedBatch(batch: number, time: number, vocab: number, seed: number): Batch {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const lengths = Array.from({ length: batch }, (_, b) => (b === 0 ? time : 1 + Math.floor(next() * time)));
  const data: number[] = [];
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < time; t++) data.push(t < lengths[b]! ? 1 + Math.floor(next() * (vocab - 1)) : 0);
  return { tokens: { shape: [batch, time], data }, lengths: { shape: [batch], data: lengths } };
}

/** An output as both sides give it: row-major values and a shape. */
export interface Values {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

/** How far one output is from the reference: the largest |Δ|, and the share of elements that differ at all. */
export interface Distance {
  readonly maxAbs: number;
  /** The share of elements that differ; Infinity when the shapes differ. */
  readonly differing: number;
}

/**
 * How far `got` is from `want` where the model defines its outputs: for an output with a time axis
 * (`perToken`, [batch, time, …]) only the steps inside each row's length, since past them the emitted
 * module and seqc give zeros while an export without packing gives whatever it computed on the
 * padding; for [batch, …] outputs everything. Infinity when the shapes differ.
 */
export function insideLengths(
  want: Values,
  got: Values,
  lengths: readonly number[],
  perToken: 'per-token' | 'per-row',
): Distance {
  if (want.shape.join(',') !== got.shape.join(',')) return { maxAbs: Infinity, differing: Infinity };
  const batch = want.shape[0]!;
  const rowSize = want.data.length / batch;
  const time = perToken === 'per-token' ? want.shape[1]! : 1;
  const inner = rowSize / time;
  let maxAbs = 0;
  let differing = 0;
  let counted = 0;
  for (let b = 0; b < batch; b++) {
    const steps = perToken === 'per-token' ? Math.min(lengths[b]!, time) : 1;
    for (let i = 0; i < steps * inner; i++) {
      const k = b * rowSize + i;
      const d = Math.abs(want.data[k]! - got.data[k]!);
      counted++;
      if (d !== 0) differing++;
      if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
    }
  }
  return { maxAbs, differing: differing / Math.max(counted, 1) };
}

/** `packed`: the emitted module as written; `padded`: its recurrent layers run over the padded batch without packing, as a user changes it to make export work. */
export type ExportVariant = 'packed' | 'padded';

/** What torch.onnx.export did with one variant of a model. */
export type ExportAttempt =
  | { readonly variant: ExportVariant; readonly ok: true; readonly file: string }
  | { readonly variant: ExportVariant; readonly ok: false; readonly error: string };

/** What a user reads first of an error: its first line, up to the end of the first sentence. */
export function errorHeadline(text: string): string {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  if (line === undefined) return 'error';
  const sentence = line.search(/\.\s/);
  // onnxruntime's run errors put the reason last: "… running Expand node. Name:'…' Status Message: …".
  const status = /Status Message: (.*)$/.exec(line)?.[1];
  const first = sentence > 20 ? line.slice(0, sentence + 1) : line;
  const head = status === undefined ? first : `${first} ${status}`;
  return head.length > 160 ? `${head.slice(0, 157)}…` : head;
}

/** One accuracy batch's outcome for one graph and output: a distance, or why the graph did not run. */
export interface BatchOutcome {
  readonly batch: number;
  readonly time: number;
  readonly result: number | { readonly error: string };
}

/** The latency of both graphs on one batch, taking turns. */
export interface Timing {
  readonly batch: number;
  readonly time: number;
  readonly seqcMs: number;
  readonly torchMs: number;
}

/** One export variant of a model: the attempt and, where it exported, how its graph did. */
export interface VariantResult {
  readonly attempt: ExportAttempt;
  readonly torchBytes?: number;
  readonly timing?: Timing;
  /** Per output of the model, in the order of ModelResult.outputs: each accuracy batch's outcome. */
  readonly accuracy: readonly (readonly BatchOutcome[])[];
}

/** One model: seqc's graph, its distance from PyTorch, and each export variant. */
export interface ModelResult {
  readonly model: string;
  readonly what: string;
  readonly seqcBytes: number;
  /** seqc's graph alone on the timed batch. */
  readonly seqcMs: number;
  readonly outputs: readonly { readonly name: string; readonly integer: boolean; readonly seqc: number }[];
  readonly variants: readonly VariantResult[];
  readonly load?: GroupLoad;
}

function figure(value: number, integer: boolean): string {
  if (!Number.isFinite(value)) return 'shape differs';
  if (integer) return value === 0 ? 'identical' : `${(value * 100).toFixed(1)}% of tags differ`;
  return value === 0 ? '0' : value.toExponential(1);
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** The tolerance under which a float output counts as right (the project's oracle tolerance). */
export const tolerance = 1e-5;

/**
 * An export's accuracy cell: the worst figure where every batch comes out alike (all right, all wrong
 * or all failing the same way), else each batch's figure (`batch×time: figure`).
 */
export function accuracyCell(outcomes: readonly BatchOutcome[], integer: boolean): string {
  const text = (o: BatchOutcome): string =>
    typeof o.result === 'number' ? figure(o.result, integer) : `fails: ${o.result.error}`;
  const kind = (o: BatchOutcome): string =>
    typeof o.result !== 'number' ? text(o) : integer ? text(o) : o.result <= tolerance ? 'right' : 'wrong';
  if (outcomes.length === 0) return '—';
  if (new Set(outcomes.map(kind)).size === 1) {
    const numbers = outcomes.flatMap((o) => (typeof o.result === 'number' ? [o.result] : []));
    return escapeCell(numbers.length === 0 ? text(outcomes[0]!) : figure(Math.max(...numbers), integer));
  }
  return escapeCell(outcomes.map((o) => `${o.batch}×${o.time}: ${text(o)}`).join('; '));
}

/** The results table of bench/TORCH_EXPORT.md: a line per model, export variant and output. */
export function formatTable(rows: readonly ModelResult[]): string {
  const lines = [
    '| model | export | torch.onnx.export | ONNX size: seqc / export | ORT ms: seqc / export (export ÷ seqc) | output | max \\|Δ\\| vs PyTorch packed: seqc | export | load before → after |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    row.variants.forEach((v, i) => {
      const attempt = v.attempt.ok ? 'exported' : `failed: ${escapeCell(v.attempt.error)}`;
      const size = `${kib(row.seqcBytes)} / ${v.torchBytes === undefined ? '—' : kib(v.torchBytes)}`;
      const latency =
        v.timing === undefined
          ? `${ms(row.seqcMs)} / —`
          : `${ms(v.timing.seqcMs)} / ${ms(v.timing.torchMs)} (${ratio(v.timing.torchMs, v.timing.seqcMs)}) at batch ${v.timing.batch} × time ${v.timing.time}`;
      row.outputs.forEach((output, j) => {
        const model = i === 0 && j === 0 ? `${row.model} (${row.what})` : '';
        const head = j === 0 ? [v.attempt.variant, attempt, size, latency] : ['', '', '', ''];
        const theirs = v.attempt.ok ? accuracyCell(v.accuracy[j] ?? [], output.integer) : '—';
        const load = i === 0 && j === 0 && row.load !== undefined ? formatLoad(row.load) : '';
        lines.push(
          `| ${[model, ...head, output.name, figure(output.seqc, output.integer), theirs, load].join(' | ')} |`,
        );
      });
    });
  }
  return lines.join('\n');
}

/** The Python side: loads the emitted module with seqc's weights, runs the packed forward, and tries torch.onnx.export both ways. */
const exporter = `
import importlib.util, json, sys, warnings, torch
warnings.filterwarnings("ignore")
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
        start, end = entry["data_offsets"]
        raw = bytearray(data[8 + size + start:8 + size + end])
        tensors[name] = torch.frombuffer(raw, dtype=torch.float32).reshape(entry["shape"]).clone()
    return tensors

def batch(b):
    return (torch.tensor(b["tokens"]["data"]).reshape(b["tokens"]["shape"]), torch.tensor(b["lengths"]["data"]))

model = getattr(emitted, request["className"])()
model.load_state_dict(read_safetensors(folder + "/weights.safetensors"), strict=True)
model.eval()
outputs = request["outputs"]

class Positional(torch.nn.Module):
    """forward(tokens, lengths) -> the outputs in the spec's order, as torch.onnx.export needs."""
    def __init__(self, model):
        super().__init__()
        self.model = model
    def forward(self, tokens, lengths):
        result = self.model(tokens=tokens, lengths=lengths)
        return tuple(result[name] for name in outputs)

def unpacked(module, x, lengths, state):
    """What a user writes to make export work: the recurrent layer over the padded batch, no packing."""
    if not isinstance(module, torch.nn.RNNBase):
        return module(x, state, None)
    return module(x, state)

reference = []
with torch.no_grad():
    for b in request["accuracy"]:
        out = model(**dict(zip(["tokens", "lengths"], batch(b))))
        reference.append({k: {"shape": list(v.shape), "data": v.reshape(-1).tolist()} for k, v in out.items()})

attempts = []
for variant in ["packed", "padded"]:
    if variant == "padded":
        emitted.run_recurrent = unpacked
    file = folder + "/" + variant + ".onnx"
    axes = {"tokens": {0: "batch", 1: "time"}, "lengths": {0: "batch"}}
    for name in outputs:
        axes[name] = {0: "batch"}
    try:
        with torch.no_grad():
            torch.onnx.export(Positional(model), batch(request["example"]), file, opset_version=request["opset"],
                              input_names=["tokens", "lengths"], output_names=outputs, dynamic_axes=axes)
        attempts.append({"variant": variant, "ok": True, "file": file})
    except Exception as e:
        lines = [l.strip() for l in str(e).splitlines() if l.strip()] or [type(e).__name__]
        attempts.append({"variant": variant, "ok": False, "error": type(e).__name__ + ": " + lines[0]})
print(json.dumps({"reference": reference, "attempts": attempts}))
`;

interface ExporterResult {
  readonly reference: Record<string, Values>[];
  readonly attempts: ExportAttempt[];
}

function feedsFor(session: ort.InferenceSession, b: Batch): Record<string, ort.Tensor> {
  const all: Record<string, ort.Tensor> = {
    tokens: new ort.Tensor('int64', BigInt64Array.from(b.tokens.data.map(BigInt)), [...b.tokens.shape]),
    lengths: new ort.Tensor('int64', BigInt64Array.from(b.lengths.data.map(BigInt)), [...b.lengths.shape]),
  };
  // torch.onnx.export drops an input the traced graph never reads (lengths, once packing is gone).
  return Object.fromEntries(session.inputNames.map((name) => [name, all[name]!]));
}

async function runSession(session: ort.InferenceSession, b: Batch): Promise<Record<string, Values>> {
  const result = await session.run(feedsFor(session, b));
  return Object.fromEntries(
    Object.entries(result).map(([name, t]) => [
      name,
      { shape: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v)) },
    ]),
  );
}

function vocabOf(ir: ModelIR): number {
  const embedding = ir.ops.find((o) => o.kind === 'embedding');
  return embedding?.kind === 'embedding' ? embedding.vocab : 2;
}

/** The accuracy and timed batches of one model, built from the shapes and the model's vocabulary. */
function batchesFor(shapes: Shapes, vocab: number): { accuracy: Batch[]; timed: Batch[] } {
  return {
    accuracy: shapes.accuracy.map((s, i) => paddedBatch(s.batch, s.time, vocab, 100 + i)),
    // The timed batch, and the example's batch size as a fallback for an export that runs only at it.
    timed: [
      paddedBatch(shapes.timed.batch, shapes.timed.time, vocab, 999),
      paddedBatch(shapes.example.batch, shapes.timed.time, vocab, 998),
    ],
  };
}

async function benchmarkModel(model: ExportModel, shapes: Shapes, folder: string, seed: number): Promise<ModelResult> {
  const compiled = compile(model.spec, { seed, sourceName: `${model.name}.seq` });
  if (compiled.model === undefined || compiled.ir === undefined)
    throw new Error(`${model.name}: ${compiled.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  const ir = compiled.ir;
  const dir = path.join(folder, model.name);
  mkdirSync(dir, { recursive: true });
  const seqcFile = path.join(dir, 'seqc.onnx');
  writeFileSync(seqcFile, compiled.model);
  writeFileSync(path.join(dir, 'model.py'), emitPytorch(ir, { sourceText: model.spec }));
  writeFileSync(path.join(dir, 'weights.safetensors'), writeSafetensors(initializeWeights(ir.parameters, seed)));
  const vocab = vocabOf(ir);
  const batches = batchesFor(shapes, vocab);
  console.log(`${model.name}: torch.onnx.export …`);
  const python = runPython<ExporterResult>(exporter, {
    folder: dir,
    className: pytorchClassName(ir),
    outputs: ir.outputs.map((o) => o.name),
    opset: 14,
    example: paddedBatch(shapes.example.batch, shapes.example.time, vocab, 7),
    accuracy: batches.accuracy,
  });
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const seqcSession = await ort.InferenceSession.create(seqcFile, options);

  // How far a graph's outputs are from PyTorch's packed forward, per output and accuracy batch.
  const distances = async (session: ort.InferenceSession): Promise<BatchOutcome[][]> => {
    const perOutput: BatchOutcome[][] = ir.outputs.map(() => []);
    for (let i = 0; i < batches.accuracy.length; i++) {
      const b = batches.accuracy[i]!;
      const [batch, time] = b.tokens.shape;
      let got: Record<string, Values> | { error: string };
      try {
        got = await runSession(session, b);
      } catch (error) {
        got = { error: errorHeadline(error instanceof Error ? error.message : String(error)) };
      }
      ir.outputs.forEach((output, j) => {
        if ('error' in got) {
          perOutput[j]!.push({ batch, time, result: { error: got.error as string } });
          return;
        }
        const d = insideLengths(
          python.reference[i]![output.name]!,
          got[output.name]!,
          b.lengths.data,
          output.type.hasTime ? 'per-token' : 'per-row',
        );
        perOutput[j]!.push({ batch, time, result: output.type.dtype === 'int64' ? d.differing : d.maxAbs });
      });
    }
    return perOutput;
  };

  const ours = await distances(seqcSession);
  const outputs = ir.outputs.map((o, j) => ({
    name: o.name,
    integer: o.type.dtype === 'int64',
    seqc: Math.max(...ours[j]!.map((d) => (typeof d.result === 'number' ? d.result : Infinity))),
  }));
  const { result, load } = await withLoad(async () => {
    const seqcMs = median(await timeRuns([seqcSession], batches.timed[0]!, shapes).then((t) => t[0]!));
    const variants: VariantResult[] = [];
    for (const attempt of python.attempts)
      variants.push(await variantResult(attempt, batches, shapes, seqcSession, distances));
    return { seqcMs, variants };
  });
  await seqcSession.release();
  return {
    model: model.name,
    what: model.what,
    seqcBytes: statSync(seqcFile).size,
    seqcMs: result.seqcMs,
    outputs,
    variants: result.variants,
    load,
  };
}

/** Loads an exported graph, measures its distances, and times it against seqc's at the first timed batch it runs at. */
async function variantResult(
  attempt: ExportAttempt,
  batches: { accuracy: Batch[]; timed: Batch[] },
  shapes: Shapes,
  seqcSession: ort.InferenceSession,
  distances: (session: ort.InferenceSession) => Promise<BatchOutcome[][]>,
): Promise<VariantResult> {
  if (!attempt.ok) return { attempt: { ...attempt, error: errorHeadline(attempt.error) }, accuracy: [] };
  const torchBytes = statSync(attempt.file).size;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(attempt.file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (error) {
    const message = `exported, but onnxruntime cannot load it: ${errorHeadline(String(error))}`;
    return { attempt: { variant: attempt.variant, ok: false, error: message }, torchBytes, accuracy: [] };
  }
  const accuracy = await distances(session);
  let timing: Timing | undefined;
  for (const b of batches.timed) {
    if (!(await runsAt(session, b))) continue;
    const [seqcTimes, torchTimes] = await timeRuns([seqcSession, session], b, shapes);
    const [batch, time] = b.tokens.shape;
    timing = { batch, time, seqcMs: median(seqcTimes!), torchMs: median(torchTimes!) };
    break;
  }
  await session.release();
  return { attempt, torchBytes, accuracy, ...(timing === undefined ? {} : { timing }) };
}

async function runsAt(session: ort.InferenceSession, b: Batch): Promise<boolean> {
  try {
    await session.run(feedsFor(session, b));
    return true;
  } catch {
    return false;
  }
}

/** Runs the sessions in turn on the same batch, warm-ups first; returns each session's timed milliseconds. */
async function timeRuns(sessions: readonly ort.InferenceSession[], b: Batch, shapes: Shapes): Promise<number[][]> {
  const times = sessions.map((): number[] => []);
  const feeds = sessions.map((s) => feedsFor(s, b));
  for (let round = 0; round < shapes.warmups + shapes.rounds; round++) {
    for (let i = 0; i < sessions.length; i++) {
      const start = performance.now();
      await sessions[i]!.run(feeds[i]!);
      if (round >= shapes.warmups) times[i]!.push(performance.now() - start);
    }
  }
  return times;
}

function torchVersion(): string {
  return runPython<string>(
    'import json, torch, onnx; print(json.dumps(torch.__version__ + ", onnx " + onnx.__version__))',
  );
}

function formatReport(rows: readonly ModelResult[], shapes: Shapes, allowLoad: boolean, seconds: number): string {
  const cpus = os.cpus();
  const shape = (s: { batch: number; time: number }): string => `batch ${s.batch} × time ${s.time}`;
  return [
    '# torch.onnx.export beside seqc',
    '',
    `The latest \`npx tsx bench/torch-export.ts\`, ${new Date().toISOString().slice(0, 10)}. For each model, the module`,
    "`seqc emit pytorch` writes for the spec, with the same weights as seqc's graph, goes through",
    '`torch.onnx.export` (opset 14, dynamic axes batch and time) twice: as written (`packed`: packed',
    'sequences), and with its recurrent layers run over the padded batch without packing (`padded`), which',
    'is what a user changes to make the export work. Every graph then runs in onnxruntime-node.',
    '',
    `- Machine: ${cpus[0]?.model ?? 'unknown CPU'} (${cpus.length} logical cores), ${os.platform()} ${os.arch()}; ${allowLoad ? '**recorded with --allow-load on a busy machine**: the milliseconds are noisy; read the ratio (both graphs taking turns in the same run)' : 'each model started on a quiet machine (bench/quiet.ts)'}. The last column is the load average before and after each model.`,
    `- PyTorch ${torchVersion()} (/usr/bin/python3); onnxruntime-node ${packageVersion('onnxruntime-node')}, CPU execution provider, one intra-op thread for every graph.`,
    `- Export example (what torch.onnx.export traces): ${shape(shapes.example)}, lengths varied.`,
    `- Accuracy batches: ${shapes.accuracy.map(shape).join(' and ')}, lengths from 1 to time (first row full), token 0 past the lengths. The figure is the largest |Δ| from the emitted module's PyTorch forward (packed sequences: the reference), **inside each row's length** for per-token outputs (past it seqc and PyTorch give zeros; an unpacked export gives whatever it computed on the padding, which a user would mask anyway); for CRF tags, the share of valid tags that differ.`,
    `- Latency: ${shape(shapes.timed)} (or the export example's batch size where the export runs only at it, as the cell says), the median of ${shapes.rounds} runs of each graph, taking turns, after ${shapes.warmups} warm-up runs each.`,
    `- Whole bench: ${seconds.toFixed(0)} s.`,
    '',
    '## Results',
    '',
    formatTable(rows),
    '',
    '## Reading it',
    '',
    ...whyNotes(shapes),
    '',
    'Per model, from the figures above:',
    '',
    readingNotes(rows),
    '',
    '## Specs',
    '',
    ...exportModels.flatMap((m) => ['```seq', m.spec.trimEnd(), '```', '']),
  ].join('\n');
}

/** What the figures come from, found by reading the exported graphs while writing this bench (torch 1.13). */
function whyNotes(shapes: Shapes): string[] {
  const { example, timed } = shapes;
  return [
    "- **Packed (as written) exports, but runs only at the example's batch size.** For a PackedSequence,",
    '  nn.LSTM/GRU make their zero initial state with the traced batch size, and the exported graph expands',
    `  that constant ([layers × directions, ${example.batch}, hidden]): onnxruntime refuses any other batch size`,
    '  ("invalid expand shape"), whatever `dynamic_axes` says. At the traced batch size it is right, at any time.',
    '- **Padded (no packing) exports with dynamic axes, and is wrong inside the lengths** wherever a',
    "  layer reads past a row's end: the reverse direction of a bidirectional layer starts on the padding",
    "  (BiTagger, PooledClassifier's BiGRU), and `last` takes the final state at the padded end",
    '  (Classifier). A unidirectional tagger (ConvTagger) stays right inside the lengths.',
    `- **CRF: the Viterbi loop over time is unrolled by tracing** to the example's ${example.time} steps. At time ${example.time} the`,
    `  tags match; at any other time they come back ${example.time} steps long ("shape differs") and the scores are wrong.`,
    `  Its latency is not comparable either: the exported graph decodes ${example.time} steps where seqc's decodes ${timed.time}.`,
    '- **LSTM with `proj_size` does not export at all**, packed or not (ProjectedTagger, NerTagger): the',
    '  NerTagger of issue 10 has no torch.onnx.export path in torch 1.13; seqc compiles it.',
  ];
}

/** The notes under the table, one per model, from the figures of this run. */
export function readingNotes(rows: readonly ModelResult[]): string {
  const notes: string[] = [];
  for (const row of rows) {
    const parts = row.variants.map((v) => {
      if (!v.attempt.ok) return `${v.attempt.variant}: ${v.attempt.error}`;
      const cells = row.outputs.map((o, j) => `${o.name} ${accuracyCell(v.accuracy[j] ?? [], o.integer)}`);
      return `${v.attempt.variant}: exported; ${cells.join(', ')}`;
    });
    const seqc = row.outputs.map((o) => `${o.name} ${figure(o.seqc, o.integer)}`).join(', ');
    notes.push(`- **${row.model}**: ${parts.join(' — ')} — seqc: ${seqc}`);
  }
  return notes.join('\n');
}

async function main(): Promise<void> {
  const args = parseBenchArguments(process.argv.slice(2), 'bench/torch-export.ts', 'TORCH_EXPORT.md');
  if (!torchAvailable()) {
    console.error('error: this bench needs PyTorch at /usr/bin/python3 (apt-get install python3-torch python3-onnx)');
    process.exit(2);
  }
  const shapes = shapesFor(args.quick);
  const folder = mkdtempSync(path.join(os.tmpdir(), 'seqc-torch-export-'));
  const started = performance.now();
  const rows: ModelResult[] = [];
  try {
    for (const model of exportModels) {
      await waitForQuiet(args.load);
      rows.push(await benchmarkModel(model, shapes, folder, 0));
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n${formatTable(rows)}\n\n${readingNotes(rows)}\n\n(${seconds.toFixed(0)} s in all)`);
  if (args.out !== undefined) {
    writeFileSync(args.out, formatReport(rows, shapes, args.load.allowLoad, seconds));
    console.log(`wrote ${args.out}`);
  }
  const seqcWorst = Math.max(...rows.flatMap((r) => r.outputs.map((o) => o.seqc)));
  if (seqcWorst > tolerance) {
    console.error(`error: seqc's graph is ${seqcWorst} from PyTorch's packed forward`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
