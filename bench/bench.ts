// Times seqc's ONNX graphs in onnxruntime-node against the same models, with the same weights, in
// TensorFlow.js Layers on its 'cpu' (pure JS) and 'wasm' backends, and writes the table to a file.
//
// Usage: `npm run bench [-- --quick] [-- --out FILE]`.
//   --quick      a smoke test: the correctness run and one to three timed runs per row (a minute
//                or two, mostly tfjs-cpu runs at 32×128); writes a file only with --out.
//   --out FILE   where to write the table (default bench/RESULTS.md for a full run).
//
// How it measures:
// - The weights are generated here (deterministic random, PyTorch state_dict names and layout),
//   passed to seqc as a safetensors file and converted to tfjs kernels the way test/reference/tfjs.ts
//   documents, so every runtime computes the same function on the same numbers.
// - Each model is built once per runtime; only the call is timed: `session.run` for onnxruntime,
//   `model.predict` plus `dataSync()` for tfjs.
// - Before timing, every runtime's output is compared with onnxruntime's; they must agree to 1e-4.
// - The runtimes take turns round-robin, so machine noise falls on all of them alike. A slow row
//   gets fewer runs, spread evenly over the rounds. Medians and p90s are per row; the ratio is a
//   row's median over the single-threaded onnxruntime median of the same group. tfjs's backends run
//   on one thread here, so that is the like-for-like baseline; onnxruntime with its default thread
//   count is listed as well.
// - Each run is also measured in process CPU time (all threads). On a loaded machine a 1 ms run
//   often fits in one time slice while a 1 s run waits its share, which inflates wall-clock ratios;
//   CPU time does not count the waiting, so its ratio is the steadier one there.

import {
  clamp,
  median,
  ms,
  packageVersion,
  parameter,
  parseBenchArguments,
  percentile,
  ratio,
  repositoryRoot,
} from './common.js';
import { initializeWeights } from '../src/weights/resolve.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { compile } from '../src/index.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import type { WeightMap, WeightTensor } from '../src/weights/types.js';
import type { IrParameter } from '../src/ir/ir.js';
import { seededRandom } from '../test/reference/float64.js';
import type { TfjsLayerSpec } from '../test/reference/tfjs.js';
import { formatLoad, waitForQuiet, withLoad, type GroupLoad, type LoadSettings } from './quiet.js';

/** A model to benchmark: its seqc spec and the same model as a tfjs layer stack. */
interface BenchModel {
  readonly name: string;
  readonly sourceName: string;
  readonly spec: string;
  readonly vocab: number;
  /** The layers in tfjs, reading weights under the same PyTorch names as the spec's parameters. */
  readonly tfjsLayers: readonly TfjsLayerSpec[];
}

interface Shape {
  readonly batch: number;
  readonly time: number;
}

/** One way to run one model on one input: set up (untimed), then run (timed). */
interface Runner {
  readonly name: string;
  readonly prepare: () => Promise<void>;
  readonly run: () => Promise<Float32Array>;
}

/** A table row: a runner's timings, or why it could not run. */
type Row =
  | {
      readonly kind: 'timed';
      readonly runner: string;
      /** Wall-clock milliseconds per run. */
      readonly times: readonly number[];
      /** Milliseconds of the process's CPU time (all threads) per run. */
      readonly cpuTimes: readonly number[];
      readonly maxDiff?: number;
    }
  | { readonly kind: 'unavailable'; readonly runner: string; readonly reason: string };

interface Group {
  readonly model: BenchModel;
  readonly shape: Shape;
  readonly rows: readonly Row[];
  readonly load: GroupLoad;
}

interface Settings {
  readonly quick: boolean;
  readonly out?: string;
  readonly load: LoadSettings;
  /** Untimed runs per runner after the correctness run. */
  readonly warmups: number;
  /** A runner that takes this long has warmed up enough with the correctness run alone. */
  readonly slowRunMs: number;
  /** Wall-clock time one group's timed runs should take, shared equally by its runners. */
  readonly groupBudgetMs: number;
  readonly minRuns: number;
  readonly maxRuns: number;
}

const tolerance = 1e-4;
const weightSeed = 0;
const inputSeed = 1;

const models: readonly BenchModel[] = [
  {
    name: 'SimpleLSTM',
    sourceName: 'bench/simple_lstm.seq',
    // DESIGN.md's classic, the same as specs/simple_lstm.seq.
    spec: [
      'model SimpleLSTM {',
      '  input tokens: int64[batch, time]',
      '',
      '  tokens',
      '    -> embedding: Embedding(vocab=10000, dim=128)',
      '    -> lstm: LSTM(hidden=256)',
      '    -> last',
      '    -> fc: Linear(1)',
      '    -> output logit',
      '}',
      '',
    ].join('\n'),
    vocab: 10000,
    tfjsLayers: [
      { kind: 'embedding', prefix: 'embedding' },
      { kind: 'lstm', prefix: 'lstm', hidden: 256, returnSequences: false },
      { kind: 'linear', prefix: 'fc' },
    ],
  },
  {
    name: 'BiGRUTagger',
    sourceName: 'bench/bigru_tagger.seq',
    // specs/tagger.seq without lengths or padding_idx (tfjs runs unmasked) and with the Keras GRU
    // variant, reset_after=false, the only one tfjs has.
    spec: [
      'model BiGRUTagger {',
      '  input tokens: int64[batch, time]',
      '',
      '  tokens',
      '    -> embedding: Embedding(vocab=5000, dim=100)',
      '    -> gru: BiGRU(hidden=128, reset_after=false)',
      '    -> tags: Linear(17)',
      '    -> output scores',
      '}',
      '',
    ].join('\n'),
    vocab: 5000,
    tfjsLayers: [
      { kind: 'embedding', prefix: 'embedding' },
      { kind: 'gru', prefix: 'gru', hidden: 128, bidirectional: true, returnSequences: true },
      { kind: 'linear', prefix: 'tags' },
    ],
  },
];

const shapes: readonly Shape[] = [
  { batch: 1, time: 64 },
  { batch: 32, time: 128 },
];

const ortSingleThread = 'onnxruntime-node, 1 thread';
const ortDefaultThreads = 'onnxruntime-node, default threads';
const tfjsCpu = 'tfjs Layers, cpu backend';
const tfjsWasm = 'tfjs Layers, wasm backend';

await main();

async function main(): Promise<void> {
  const settings = parseArguments(process.argv.slice(2));
  const loadAtStart = os.loadavg()[0]!;
  const started = performance.now();
  const wasm = await initializeWasm();
  const groups: Group[] = [];
  for (const model of models) {
    groups.push(...(await benchmarkModel(model, wasm, settings)));
  }
  const seconds = (performance.now() - started) / 1000;
  const table = formatTable(groups);
  console.log(`\n${table}\n\n(${seconds.toFixed(0)} s in all)`);
  if (settings.out !== undefined) {
    writeFileSync(settings.out, formatReport(groups, settings, wasm, seconds, loadAtStart));
    console.log(`wrote ${settings.out}`);
  }
  if (groups.some((g) => g.rows.some((r) => r.kind === 'timed' && (r.maxDiff ?? 0) > tolerance))) {
    console.error(`error: some runtimes disagree with onnxruntime by more than ${tolerance}`);
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Settings

function parseArguments(args: readonly string[]): Settings {
  const common = parseBenchArguments(args, 'bench/bench.ts', 'RESULTS.md');
  const quick = common.quick;
  return quick
    ? { ...common, warmups: 0, slowRunMs: 0, groupBudgetMs: 1_000, minRuns: 1, maxRuns: 3 }
    : { ...common, warmups: 3, slowRunMs: 1_000, groupBudgetMs: 10_000, minRuns: 3, maxRuns: 300 };
}

// ---------------------------------------------------------------------------------------------
// One model: compile, build every runtime once, then check and time each input shape

async function benchmarkModel(model: BenchModel, wasm: WasmStatus, settings: Settings): Promise<Group[]> {
  const weights = randomWeights(model);
  const compiled = compile(model.spec, {
    sourceName: model.sourceName,
    weights: { bytes: writeSafetensors(weights), name: 'bench.safetensors' },
  });
  if (compiled.model === undefined) {
    const messages = compiled.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n');
    throw new Error(`seqc could not compile ${model.sourceName}:\n${messages}`);
  }
  const singleThread = await ort.InferenceSession.create(compiled.model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const defaultThreads = await ort.InferenceSession.create(compiled.model);
  const cpuModel = await buildTfjsModel('cpu', model, weights);
  const wasmModel = wasm.available ? await tryBuildTfjsModel('wasm', model, weights) : { reason: wasm.reason };

  const groups: Group[] = [];
  for (const shape of shapes) {
    console.log(`${model.name}, batch ${shape.batch} × time ${shape.time}`);
    const tokens = randomTokens(shape, model.vocab);
    const runners: Runner[] = [
      ortRunner(ortSingleThread, singleThread, shape, tokens),
      ortRunner(ortDefaultThreads, defaultThreads, shape, tokens),
      tfjsRunner(tfjsCpu, 'cpu', cpuModel, shape, tokens),
    ];
    const unavailable: Row[] = [];
    if ('model' in wasmModel) runners.push(tfjsRunner(tfjsWasm, 'wasm', wasmModel.model, shape, tokens));
    else unavailable.push({ kind: 'unavailable', runner: tfjsWasm, reason: wasmModel.reason });
    await waitForQuiet(settings.load);
    const { result: rows, load } = await withLoad(() => measure(runners, settings));
    groups.push({ model, shape, rows: [...rows, ...unavailable], load });
  }

  await singleThread.release();
  await defaultThreads.release();
  await disposeTfjsModel('cpu', cpuModel);
  if ('model' in wasmModel) await disposeTfjsModel('wasm', wasmModel.model);
  return groups;
}

/**
 * Checks every runner against the first, warms them up, then runs them round-robin. A runner that
 * takes t ms gets about budget / (runners · t) runs, spread evenly over the rounds.
 */
async function measure(runners: readonly Runner[], settings: Settings): Promise<Row[]> {
  const reference = await runOnce(runners[0]!);
  const scale = maxAbsDiff(reference.output, new Float32Array(reference.output.length));
  console.log(`  ${reference.output.length} outputs, largest magnitude ${scale.toFixed(3)}`);
  const maxDiffs: number[] = [];
  const fastestTimes: number[] = [];
  for (const runner of runners) {
    const { output, ms } = await runOnce(runner);
    maxDiffs.push(maxAbsDiff(output, reference.output));
    // The fastest untimed run estimates the cost; a single run can be hit by noise many times over.
    let fastest = ms;
    for (let i = 0; i < settings.warmups && fastest < settings.slowRunMs; i++)
      fastest = Math.min(fastest, (await runOnce(runner)).ms);
    fastestTimes.push(fastest);
    console.log(
      `  ${runner.name}: ${fastest.toFixed(2)} ms at best untimed, max |diff| ${maxDiffs.at(-1)!.toExponential(1)}`,
    );
  }

  const share = settings.groupBudgetMs / runners.length;
  const runCounts = fastestTimes.map((ms) =>
    clamp(Math.round(share / Math.max(ms, 1e-3)), settings.minRuns, settings.maxRuns),
  );
  const rounds = Math.max(...runCounts);
  const times: number[][] = runners.map(() => []);
  const cpuTimes: number[][] = runners.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < runners.length; k++) {
      // Rotate who goes first, so that no runner always follows the same one.
      const i = (round + k) % runners.length;
      const count = runCounts[i]!;
      if (Math.floor(((round + 1) * count) / rounds) === Math.floor((round * count) / rounds)) continue;
      const run = await runOnce(runners[i]!);
      times[i]!.push(run.ms);
      cpuTimes[i]!.push(run.cpuMs);
    }
  }
  return runners.map((runner, i) => ({
    kind: 'timed',
    runner: runner.name,
    times: times[i]!,
    cpuTimes: cpuTimes[i]!,
    ...(i === 0 ? {} : { maxDiff: maxDiffs[i]! }),
  }));
}

async function runOnce(runner: Runner): Promise<{ output: Float32Array; ms: number; cpuMs: number }> {
  await runner.prepare();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const output = await runner.run();
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  return { output, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Weights and inputs

/**
 * One deterministic random tensor per parameter the spec declares, named and shaped as PyTorch's
 * state_dict, drawn from the distribution PyTorch initializes it with (as seqc's IR records it).
 */
function randomWeights(model: BenchModel): WeightMap {
  const checked = compile(model.spec, { sourceName: model.sourceName });
  if (checked.ir === undefined) throw new Error(`seqc could not check ${model.sourceName}`);
  return initializeWeights(checked.ir.parameters, weightSeed);
}

function randomTokens(shape: Shape, vocab: number): Int32Array {
  const random = seededRandom(inputSeed);
  const tokens = new Int32Array(shape.batch * shape.time);
  for (let i = 0; i < tokens.length; i++) tokens[i] = 1 + Math.floor(random() * (vocab - 1));
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// onnxruntime-node

function ortRunner(name: string, session: ort.InferenceSession, shape: Shape, tokens: Int32Array): Runner {
  const input = new ort.Tensor(
    'int64',
    BigInt64Array.from(tokens, (t) => BigInt(t)),
    [shape.batch, shape.time],
  );
  const feeds = { [session.inputNames[0]!]: input };
  const outputName = session.outputNames[0]!;
  return {
    name,
    prepare: async () => {},
    run: async () => {
      const results = await session.run(feeds);
      return results[outputName]!.data as Float32Array;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// TensorFlow.js

type TfjsBackend = 'cpu' | 'wasm';

type WasmStatus =
  | { readonly available: true; readonly simd: boolean; readonly threads: boolean }
  | { readonly available: false; readonly reason: string };

/** Registers the wasm backend with its binaries read from node_modules (no network). */
async function initializeWasm(): Promise<WasmStatus> {
  try {
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    setWasmPaths(`${path.dirname(entry)}${path.sep}`);
    if (!(await tf.setBackend('wasm'))) return { available: false, reason: 'tf.setBackend("wasm") returned false' };
    await tf.ready();
    return {
      available: true,
      simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
      threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
    };
  } catch (thrown) {
    return { available: false, reason: thrown instanceof Error ? thrown.message : String(thrown) };
  }
}

async function useBackend(backend: TfjsBackend): Promise<void> {
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
    throw new Error(`tfjs backend ${backend} failed to initialise`);
  }
}

async function tryBuildTfjsModel(
  backend: TfjsBackend,
  model: BenchModel,
  weights: WeightMap,
): Promise<{ model: tf.LayersModel } | { reason: string }> {
  try {
    return { model: await buildTfjsModel(backend, model, weights) };
  } catch (thrown) {
    return { reason: thrown instanceof Error ? thrown.message : String(thrown) };
  }
}

/**
 * Builds the layer stack on `backend`, so that its variables live there: a tensor used on another
 * backend is moved, which the timed runs must never do. The time axis is left open.
 */
async function buildTfjsModel(backend: TfjsBackend, model: BenchModel, weights: WeightMap): Promise<tf.LayersModel> {
  await useBackend(backend);
  const input = tf.input({ shape: [null], dtype: 'int32' });
  let symbolic: tf.SymbolicTensor = input;
  const pending: { layer: tf.layers.Layer; values: tf.Tensor[] }[] = [];
  for (const spec of model.tfjsLayers) {
    const { layer, values } = tfjsLayer(spec, weights);
    symbolic = layer.apply(symbolic) as tf.SymbolicTensor;
    pending.push({ layer, values });
  }
  // Layers get their variables when applied, so the weights can only be set afterwards.
  for (const { layer, values } of pending) {
    layer.setWeights(values);
    tf.dispose(values);
  }
  return tf.model({ inputs: input, outputs: symbolic });
}

async function disposeTfjsModel(backend: TfjsBackend, model: tf.LayersModel): Promise<void> {
  // Disposing on another backend would first move the weights there, so switch back first.
  await useBackend(backend);
  model.dispose();
}

function tfjsRunner(
  name: string,
  backend: TfjsBackend,
  model: tf.LayersModel,
  shape: Shape,
  tokens: Int32Array,
): Runner {
  let input: tf.Tensor2D | undefined;
  return {
    name,
    prepare: async () => {
      await useBackend(backend);
      input ??= tf.tensor2d(tokens, [shape.batch, shape.time], 'int32');
    },
    run: async () => {
      const output = model.predict(input!, { batchSize: shape.batch }) as tf.Tensor;
      const data = output.dataSync() as Float32Array;
      output.dispose();
      return data;
    },
  };
}

/**
 * One tfjs layer with its weights converted from PyTorch layout, as test/reference/tfjs.ts does:
 * kernels are transposed, GRU gate blocks r,z,n become z,r,h, and the two recurrent biases are summed
 * (exact for LSTM, and for GRU with reset_after=false). The gate activation is set to sigmoid
 * explicitly, since tfjs defaults to hard sigmoid.
 */
function tfjsLayer(spec: TfjsLayerSpec, weights: WeightMap): { layer: tf.layers.Layer; values: tf.Tensor[] } {
  switch (spec.kind) {
    case 'embedding': {
      const table = parameter(weights, `${spec.prefix}.weight`);
      const [vocab, dim] = table.shape as [number, number];
      return {
        layer: tf.layers.embedding({ inputDim: vocab, outputDim: dim, embeddingsInitializer: 'zeros' }),
        values: [tf.tensor2d(table.data, [vocab, dim])],
      };
    }
    case 'linear': {
      const weight = parameter(weights, `${spec.prefix}.weight`);
      const bias = parameter(weights, `${spec.prefix}.bias`);
      return {
        layer: tf.layers.dense({ units: weight.shape[0]!, kernelInitializer: 'zeros' }),
        values: [transposed(weight), tf.tensor1d(bias.data)],
      };
    }
    case 'lstm':
    case 'gru': {
      // Zero initializers: the weights are set right after, and tfjs's default orthogonal
      // initializer takes minutes on matrices this size.
      const options = {
        units: spec.hidden,
        returnSequences: spec.returnSequences,
        activation: 'tanh',
        recurrentActivation: 'sigmoid',
        kernelInitializer: 'zeros',
        recurrentInitializer: 'zeros',
      } as const;
      // tfjs's GRU is always the reset_after=false variant.
      const kind = spec.kind === 'lstm' ? 'lstm' : 'gru';
      const cell = kind === 'lstm' ? tf.layers.lstm(options) : tf.layers.gru(options);
      const directions = spec.bidirectional === true ? ['_l0', '_l0_reverse'] : ['_l0'];
      const values = directions.flatMap((suffix) =>
        recurrentValues(kind, spec.hidden, weights, `${spec.prefix}.`, suffix),
      );
      const layer = spec.bidirectional === true ? tf.layers.bidirectional({ layer: cell, mergeMode: 'concat' }) : cell;
      return { layer, values };
    }
    default:
      throw new Error(`the bench does not build tfjs ${spec.kind} layers`);
  }
}

/** [kernel, recurrent_kernel, bias] of one direction in tfjs layout. */
function recurrentValues(
  cell: 'lstm' | 'gru',
  hidden: number,
  weights: WeightMap,
  prefix: string,
  suffix: string,
): tf.Tensor[] {
  const order = cell === 'gru' ? [1, 0, 2] : [0, 1, 2, 3];
  const wih = parameter(weights, `${prefix}weight_ih${suffix}`);
  const whh = parameter(weights, `${prefix}weight_hh${suffix}`);
  const bih = parameter(weights, `${prefix}bias_ih${suffix}`);
  const bhh = parameter(weights, `${prefix}bias_hh${suffix}`);
  const bias = { shape: bih.shape, data: bih.data.map((v, i) => v + bhh.data[i]!) };
  return [
    transposed(reorderGates(wih, order, hidden)),
    transposed(reorderGates(whh, order, hidden)),
    tf.tensor1d(reorderGates(bias, order, hidden).data),
  ];
}

/** Reorders the blocks of `hidden` rows of a PyTorch gate matrix or vector. */
function reorderGates(t: WeightTensor, order: readonly number[], hidden: number): WeightTensor {
  const block = hidden * (t.shape.length === 2 ? t.shape[1]! : 1);
  const data = new Float32Array(t.data.length);
  order.forEach((from, to) => data.set(t.data.subarray(from * block, (from + 1) * block), to * block));
  return { shape: t.shape, data };
}

/** A PyTorch [rows, cols] matrix as a tfjs [cols, rows] tensor. */
function transposed(t: WeightTensor): tf.Tensor2D {
  const [rows, cols] = t.shape as [number, number];
  return tf.tidy(() => tf.transpose(tf.tensor2d(t.data, [rows, cols])) as tf.Tensor2D);
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

function formatTable(groups: readonly Group[]): string {
  const lines = [
    '| model | batch × time | load before → after | runtime | median ms | p90 ms | runs | median ÷ ORT 1-thread | CPU ms, median | CPU ÷ ORT 1-thread | max abs diff vs ORT |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const group of groups) {
    const first = group.rows[0]!;
    const baseline = first.kind === 'timed' ? median(first.times) : NaN;
    const cpuBaseline = first.kind === 'timed' ? median(first.cpuTimes) : NaN;
    group.rows.forEach((row, i) => {
      const model = i === 0 ? group.model.name : '';
      const shape = i === 0 ? `${group.shape.batch} × ${group.shape.time}` : '';
      const load = i === 0 ? formatLoad(group.load) : '';
      if (row.kind === 'unavailable') {
        lines.push(
          `| ${model} | ${shape} | ${load} | ${row.runner} | unavailable: ${row.reason.replaceAll('|', '\\|')} | | | | | | |`,
        );
        return;
      }
      const m = median(row.times);
      const cpu = median(row.cpuTimes);
      const diff =
        row.maxDiff === undefined
          ? 'reference'
          : `${row.maxDiff.toExponential(1)}${row.maxDiff > tolerance ? ' ✗' : ''}`;
      lines.push(
        `| ${model} | ${shape} | ${load} | ${row.runner} | ${ms(m)} | ${ms(percentile(row.times, 0.9))} | ${row.times.length} | ${ratio(m, baseline)} | ${ms(cpu)} | ${ratio(cpu, cpuBaseline)} | ${diff} |`,
      );
    });
  }
  return lines.join('\n');
}

function formatReport(
  groups: readonly Group[],
  settings: Settings,
  wasm: WasmStatus,
  seconds: number,
  loadAtStart: number,
): string {
  const cpus = os.cpus();
  const wasmLine = wasm.available
    ? `SIMD ${wasm.simd ? 'on' : 'off'}, threads ${wasm.threads ? 'on' : 'off'}`
    : `unavailable: ${wasm.reason}`;
  const specs = models.map((m) => `\`${m.sourceName}\`:\n\n\`\`\`\n${m.spec.trimEnd()}\n\`\`\``).join('\n\n');
  return [
    '# Benchmark: seqc on onnxruntime-node vs TensorFlow.js',
    '',
    `The latest \`npm run bench${settings.quick ? ' -- --quick' : ''}\` (bench/bench.ts), ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '**The claim is the ratios, not the absolute times.** All rows of a group were measured in the same',
    'run, taking turns round-robin, so machine load falls on them alike; absolute milliseconds depend on the',
    'machine and on whatever else it was doing. Each runtime computes the same function with the same',
    "weights, and its output was checked against onnxruntime's before timing (tolerance 1e-4).",
    '',
    `- Machine: ${cpus[0]?.model ?? 'unknown CPU'} (${cpus.length} logical cores), ${os.platform()} ${os.arch()}; load average ${loadAtStart.toFixed(1)} at the start; ${settings.load.allowLoad ? 'recorded with --allow-load, so groups may have run on a busy machine' : 'each group started on a quiet machine (one-minute load average ≤ 0.25 per core, bench/quiet.ts)'}, and the table gives the load average before and after each group`,
    `- Node ${process.version}`,
    `- onnxruntime-node ${packageVersion('onnxruntime-node')}, CPU execution provider, running seqc's graph (opset 17)`,
    `- @tensorflow/tfjs ${packageVersion('@tensorflow/tfjs')} (Layers), @tensorflow/tfjs-backend-wasm ${packageVersion('@tensorflow/tfjs-backend-wasm')} (${wasmLine})`,
    `- Iterations: the \`runs\` column, after ${1 + settings.warmups} untimed runs each (1 for a runtime slower than ${settings.slowRunMs / 1000} s a run); each group's runtimes share about ${(settings.groupBudgetMs / 1000).toFixed(0)} s of timed runs equally (each row at least ${settings.minRuns}, at most ${settings.maxRuns}). Whole bench: ${seconds.toFixed(0)} s.`,
    '- Timed: one call on a prepared input: `session.run` for onnxruntime, `model.predict` + `dataSync()` for tfjs.',
    "- Ratios divide by onnxruntime with one intra-op thread, the like-for-like baseline: tfjs's cpu and wasm",
    '  backends each run on one thread here. onnxruntime with its default thread count is listed too.',
    "- CPU ms: the process's CPU time (user + system, all threads) during the call. On a busy machine a",
    '  short run often completes within one time slice while a long one also waits for its share, which',
    '  inflates wall-clock ratios; CPU time leaves the waiting out, so its ratio is the steadier one.',
    "  For onnxruntime with several threads it adds up every thread's work, spinning included.",
    "- Why tfjs's cpu backend is slowest on the GRU: profiled with `tf.profile` while writing this bench,",
    "  nearly all of its time is in `SplitV`, because tfjs's GRUCell splits the recurrent kernel at every",
    '  time step and the pure-JS slice of a non-contiguous block is slow; at batch 1 the matmuls are tiny',
    '  in comparison.',
    `- Weights: deterministic random (seed ${weightSeed}) in PyTorch layout, given to seqc as safetensors and converted to tfjs kernels; token ids uniform random.`,
    '',
    '## Results',
    '',
    formatTable(groups),
    '',
    '## Specs',
    '',
    specs,
    '',
  ].join('\n');
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
