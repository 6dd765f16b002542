// Times seqc's SimpleLSTM in Chromium: onnxruntime-web on its wasm and WebGPU providers against
// TensorFlow.js Layers (cpu, wasm and, where it starts, webgl backends), all in one page, with the
// same weights, and writes the table to a file. Then the same for imported models: Keras-style TF.js
// Layers models saved as model.json, imported with `seqc import` (bench/imported.ts), and timed on
// onnxruntime-web against the original model.json loaded in the same page with `tf.loadLayersModel`.
//
// Usage: `tsx bench/browser.ts [--quick] [--out FILE]`.
//   --quick      a smoke test: the correctness run and one to three timed runs per row; writes a
//                file only with --out.
//   --out FILE   where to write the table (default bench/BROWSER.md for a full run).
//
// How it measures (as bench/bench.ts does in Node):
// - The weights are generated here (deterministic random, PyTorch state_dict names and layout) and
//   given to seqc as a safetensors file, which compiles them twice: the generic graph for the wasm
//   provider and `target: 'webgpu'` for the WebGPU provider (every node on it). The same numbers go
//   to the page converted to tfjs kernels the way test/reference/tfjs.ts documents.
// - An imported model's weights are seeded in TF.js; seqc gets them only through `seqc import`, and
//   tfjs runs the saved model.json itself. A masked model has no webgpu graph (seqc refuses masks
//   on that target, SEQ050), so its group has no WebGPU row.
// - The page (bench/browser/index.html) builds every runtime once; only the call is timed, inside the
//   page with performance.now(): `session.run` (its output read back to the CPU) for onnxruntime-web,
//   `model.predict` plus `dataSync()` for tfjs.
// - Before timing, every runtime's output is compared with onnxruntime-web wasm's; they must agree to 1e-4.
// - The runtimes take turns round-robin, so machine noise falls on all of them alike; a slow row gets
//   fewer runs, spread evenly over the rounds. The ratio is a row's median over onnxruntime-web
//   wasm's median in the same group. Every CPU runtime runs on one thread.
// - Chromium's WebGPU here is SwiftShader, a software Vulkan on the CPU (test/browser/harness.ts), and
//   its WebGL is ANGLE on SwiftShader too: their absolute times say nothing about a real GPU.

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
import { transpose2d } from '../src/lower/pack.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { compile } from '../src/index.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import type { WeightMap, WeightTensor } from '../src/weights/types.js';
import type { IrParameter } from '../src/ir/ir.js';
import { seededRandom } from '../test/reference/float64.js';
import { chromiumPath, launchBrowser, openPage, serveStatic } from '../test/browser/harness.js';
import { formatLoad, waitForQuiet, withLoad, type GroupLoad, type LoadSettings } from './quiet.js';
import { buildAndImport, type ImportedModel, type ImportedModelSpec } from './imported.js';

interface Shape {
  readonly batch: number;
  readonly time: number;
}

/** A group's model: its label, the page's key prefix for its runners, and its input. */
interface Workload {
  readonly model: string;
  /** Page runner key → the runner's name in the table. */
  readonly key: (runner: string) => string;
  readonly shape: Shape;
  readonly vocab: number;
  /** Rows end in padding (id 0): row r of B keeps time · (1 − r / 2B) valid steps, from all of them down to just over half. */
  readonly padded: boolean;
}

/** A table row: a runner's timings, or why it could not run. */
type Row =
  | {
      readonly kind: 'timed';
      readonly runner: string;
      /** Wall-clock milliseconds per run, measured in the page. */
      readonly times: readonly number[];
      readonly maxDiff?: number;
    }
  | { readonly kind: 'unavailable'; readonly runner: string; readonly reason: string };

interface Group {
  readonly workload: Workload;
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

/** What the page reports once it has built every runtime. */
interface PageSetup {
  readonly available: readonly string[];
  readonly unavailable: readonly { readonly name: string; readonly reason: string }[];
  readonly info: {
    readonly userAgent: string;
    readonly crossOriginIsolated: boolean;
    readonly ort?: string;
    readonly tfjs: string;
    readonly webgpuAdapter?: string;
    readonly tfjsWasm?: string;
    readonly webglRenderer?: string;
  };
}

/** One page call: the page's own wall-clock time for it, and the output. */
interface PageRun {
  readonly ms: number;
  readonly output: number[];
}

declare const window: {
  benchSetup(manifest: unknown): Promise<PageSetup>;
  benchSetupImported(manifest: unknown): Promise<Pick<PageSetup, 'available' | 'unavailable'>>;
  benchRun(name: string, shape: { key: string; batch: number; time: number; tokens: number[] }): Promise<PageRun>;
};

const tolerance = 1e-4;
const weightSeed = 0;
const inputSeed = 1;
const hidden = 256;
const vocab = 10000;
const sourceName = 'bench/simple_lstm.seq';
// DESIGN.md's classic, the same as specs/simple_lstm.seq and bench/bench.ts's first model.
const spec = [
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
].join('\n');

/**
 * Keras-style models for the imported groups: the usual first Keras text classifier, and the same with
 * `mask_zero=True`, timed on post-padded rows.
 */
const importedSpecs: readonly ImportedModelSpec[] = [
  { name: 'keras_lstm', vocab: 5000, dim: 64, units: 64, classes: 2, maskZero: false, weightSeed: 2 },
  { name: 'keras_lstm_masked', vocab: 5000, dim: 64, units: 64, classes: 2, maskZero: true, weightSeed: 3 },
];
/** The imported models' shapes: both at 1×64 and 8×64, except the masked one only at 8×64, padded. */
function importedShapes(spec: ImportedModelSpec): readonly Shape[] {
  return spec.maskZero ? [shapes[1]!] : shapes;
}

/**
 * 1×64 and 8×64. At 32×128 tfjs's cpu backend takes about 11 s a run (bench/RESULTS.md) and
 * SwiftShader's WebGPU is slow as well, which would not fit the browser bench in its ~4 minutes.
 */
const shapes: readonly Shape[] = [
  { batch: 1, time: 64 },
  { batch: 8, time: 64 },
];

const names = {
  ortWasm: 'onnxruntime-web, wasm, 1 thread',
  ortWebgpu: 'onnxruntime-web, WebGPU (SwiftShader)',
  tfjsCpu: 'tfjs Layers, cpu backend',
  tfjsWasm: 'tfjs Layers, wasm backend, 1 thread',
  tfjsWebgl: 'tfjs Layers, webgl backend (SwiftShader)',
} as const;
const runnerOrder: readonly string[] = [names.ortWasm, names.ortWebgpu, names.tfjsCpu, names.tfjsWasm, names.tfjsWebgl];

/** Where the page fetches the in-memory files from; the bench answers these requests itself. */
const dataPath = '/bench-data';
const simpleLstmKey = (runner: string): string => runner;

await main();

async function main(): Promise<void> {
  const settings = parseArguments(process.argv.slice(2));
  const loadAtStart = os.loadavg()[0]!;
  const started = performance.now();

  const weights = randomWeights();
  const safetensors = { bytes: writeSafetensors(weights), name: 'bench.safetensors' };
  const generic = compileOrThrow({ sourceName, weights: safetensors });
  const webgpu = compileOrThrow({ sourceName, weights: safetensors, target: 'webgpu' });
  const tfjs = tfjsWeights(weights);
  const files = new Map<string, Uint8Array>([
    [`${dataPath}/generic.onnx`, generic],
    [`${dataPath}/webgpu.onnx`, webgpu],
    [`${dataPath}/tfjs.bin`, tfjs.bytes],
  ]);
  const importFolder = mkdtempSync(path.join(os.tmpdir(), 'seqc-bench-import-'));
  const imported: ImportedModel[] = [];
  try {
    for (const spec of importedSpecs) imported.push(await buildAndImport(spec, importFolder));
  } finally {
    rmSync(importFolder, { recursive: true, force: true });
  }
  for (const m of imported) {
    const base = `${dataPath}/${m.spec.name}`;
    files.set(`${base}/generic.onnx`, m.generic);
    if ('model' in m.webgpu) files.set(`${base}/webgpu.onnx`, m.webgpu.model);
    for (const [name, bytes] of m.tfjsFiles) files.set(`${base}/tfjs/${name}`, bytes);
  }

  const server = await serveStatic(repositoryRoot());
  const browser = await launchBrowser();
  try {
    const { page, console: log } = await openPage(browser, `${server.url}/bench/browser/index.html`);
    await page.route(`**${dataPath}/**`, (route) => {
      const file = new URL(route.request().url()).pathname;
      const body = files.get(file);
      const contentType = file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
      return body === undefined
        ? route.fulfill({ status: 404 })
        : route.fulfill({ status: 200, contentType, body: Buffer.from(body) });
    });
    await page
      .waitForFunction(() => 'benchSetup' in window, null, { timeout: 60_000 })
      .catch(() => {
        throw new Error(`the bench page did not load:\n${log.join('\n')}`);
      });
    const setup = await page.evaluate((manifest) => window.benchSetup(manifest), {
      genericModel: `${dataPath}/generic.onnx`,
      webgpuModel: `${dataPath}/webgpu.onnx`,
      tfjsWeights: `${dataPath}/tfjs.bin`,
      tfjsTensors: tfjs.tensors,
      hidden,
      names,
    });
    if (!setup.available.includes(names.ortWasm)) {
      throw new Error(
        `onnxruntime-web wasm, the baseline, did not start: ${setup.unavailable.map((u) => `${u.name}: ${u.reason}`).join('; ')}`,
      );
    }
    for (const u of setup.unavailable) console.log(`unavailable: ${u.name}: ${u.reason}`);
    const chromium = browser.version();
    console.log(
      `Chromium ${chromium}; WebGPU adapter: ${setup.info.webgpuAdapter ?? 'none'}; WebGL: ${setup.info.webglRenderer ?? 'none'}`,
    );

    const plans: { workload: Workload; setup: Pick<PageSetup, 'available' | 'unavailable'> }[] = shapes.map(
      (shape) => ({
        workload: { model: 'SimpleLSTM', key: simpleLstmKey, shape, vocab, padded: false },
        setup,
      }),
    );
    for (const m of imported) {
      const base = `${dataPath}/${m.spec.name}`;
      const importedSetup = await page.evaluate((manifest) => window.benchSetupImported(manifest), {
        model: m.spec.name,
        genericModel: `${base}/generic.onnx`,
        ...('model' in m.webgpu ? { webgpuModel: `${base}/webgpu.onnx` } : { webgpuRefused: m.webgpu.refused }),
        modelJson: `${base}/tfjs/model.json`,
        names,
      });
      for (const u of importedSetup.unavailable) console.log(`unavailable for ${m.spec.name}: ${u.name}: ${u.reason}`);
      const key = (runner: string): string => `${m.spec.name}|${runner}`;
      for (const shape of importedShapes(m.spec))
        plans.push({
          workload: { model: m.spec.name, key, shape, vocab: m.spec.vocab, padded: m.spec.maskZero },
          setup: importedSetup,
        });
    }

    const groups: Group[] = [];
    for (const { workload, setup: groupSetup } of plans) {
      console.log(`${workload.model}, batch ${workload.shape.batch} × time ${workload.shape.time}`);
      const runners = runnerOrder.filter((name) => groupSetup.available.includes(name));
      await waitForQuiet(settings.load);
      const { result: rows, load } = await withLoad(() => measure(page, runners, workload, settings));
      const unavailable: Row[] = groupSetup.unavailable.map((u) => ({
        kind: 'unavailable',
        runner: u.name,
        reason: u.reason,
      }));
      groups.push({ workload, rows: [...rows, ...unavailable], load });
    }

    const seconds = (performance.now() - started) / 1000;
    const table = formatTable(groups);
    console.log(`\n${table}\n\n(${seconds.toFixed(0)} s in all)`);
    if (settings.out !== undefined) {
      writeFileSync(settings.out, formatReport(groups, imported, settings, setup, chromium, seconds, loadAtStart));
      console.log(`wrote ${settings.out}`);
    }
    if (groups.some((g) => g.rows.some((r) => r.kind === 'timed' && (r.maxDiff ?? 0) > tolerance))) {
      console.error(`error: some runtimes disagree with onnxruntime-web wasm by more than ${tolerance}`);
      process.exitCode = 1;
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Settings

function parseArguments(args: readonly string[]): Settings {
  const common = parseBenchArguments(args, 'bench/browser.ts', 'BROWSER.md');
  const quick = common.quick;
  return quick
    ? { ...common, warmups: 0, slowRunMs: 0, groupBudgetMs: 1_000, minRuns: 1, maxRuns: 3 }
    : { ...common, warmups: 3, slowRunMs: 1_000, groupBudgetMs: 12_000, minRuns: 5, maxRuns: 200 };
}

function compileOrThrow(options: Parameters<typeof compile>[1]): Uint8Array {
  const compiled = compile(spec, options);
  if (compiled.model === undefined) {
    const messages = compiled.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n');
    throw new Error(`seqc could not compile ${sourceName}:\n${messages}`);
  }
  return compiled.model;
}

// ---------------------------------------------------------------------------------------------
// Measuring

/**
 * Checks every runner against the first, warms them up, then runs them round-robin. A runner that
 * takes t ms gets about budget / (runners · t) runs, spread evenly over the rounds.
 */
async function measure(page: Page, runners: readonly string[], workload: Workload, settings: Settings): Promise<Row[]> {
  const { shape } = workload;
  const input = {
    key: `${workload.model}:${shape.batch}x${shape.time}`,
    batch: shape.batch,
    time: shape.time,
    tokens: Array.from(randomTokens(workload)),
  };
  const runOnce = (name: string): Promise<PageRun> =>
    page.evaluate(([n, s]) => window.benchRun(n, s), [workload.key(name), input] as const);
  const reference = await runOnce(runners[0]!);
  console.log(
    `  ${reference.output.length} outputs, largest magnitude ${maxAbsDiff(
      reference.output,
      reference.output.map(() => 0),
    ).toFixed(3)}`,
  );
  const maxDiffs: number[] = [];
  const fastestTimes: number[] = [];
  for (const runner of runners) {
    const { output, ms } = await runOnce(runner);
    maxDiffs.push(maxAbsDiff(output, reference.output));
    // The fastest untimed run estimates the cost; a single run can be hit by noise many times over.
    // The first run is not counted: on WebGPU and WebGL it compiles the shaders, which takes seconds.
    let fastest = Infinity;
    for (let i = 0; i < settings.warmups && (i === 0 || fastest < settings.slowRunMs); i++)
      fastest = Math.min(fastest, (await runOnce(runner)).ms);
    if (fastest === Infinity) fastest = ms;
    fastestTimes.push(fastest);
    console.log(
      `  ${runner}: ${fastest.toFixed(2)} ms at best untimed, max |diff| ${maxDiffs.at(-1)!.toExponential(1)}`,
    );
  }

  const share = settings.groupBudgetMs / runners.length;
  const runCounts = fastestTimes.map((ms) =>
    clamp(Math.round(share / Math.max(ms, 1e-3)), settings.minRuns, settings.maxRuns),
  );
  const rounds = Math.max(...runCounts);
  const times: number[][] = runners.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < runners.length; k++) {
      // Rotate who goes first, so that no runner always follows the same one.
      const i = (round + k) % runners.length;
      const count = runCounts[i]!;
      if (Math.floor(((round + 1) * count) / rounds) === Math.floor((round * count) / rounds)) continue;
      times[i]!.push((await runOnce(runners[i]!)).ms);
    }
  }
  return runners.map((runner, i) => ({
    kind: 'timed',
    runner,
    times: times[i]!,
    ...(i === 0 ? {} : { maxDiff: maxDiffs[i]! }),
  }));
}

// ---------------------------------------------------------------------------------------------
// Weights and inputs (as bench/bench.ts makes them)

/**
 * One deterministic random tensor per parameter the spec declares, named and shaped as PyTorch's
 * state_dict, drawn from the distribution PyTorch initializes it with (as seqc's IR records it).
 */
function randomWeights(): WeightMap {
  const checked = compile(spec, { sourceName });
  if (checked.ir === undefined) throw new Error(`seqc could not check ${sourceName}`);
  return initializeWeights(checked.ir.parameters, weightSeed);
}

/** Token ids in [1, vocab), row-major [batch, time]; padded workloads end rows in id 0. */
function randomTokens(workload: Workload): Int32Array {
  const { batch, time } = workload.shape;
  const random = seededRandom(inputSeed);
  const tokens = new Int32Array(batch * time);
  for (let i = 0; i < tokens.length; i++) tokens[i] = 1 + Math.floor(random() * (workload.vocab - 1));
  if (workload.padded)
    for (let row = 0; row < batch; row++) {
      const valid = Math.max(1, Math.round(time * (1 - row / (2 * batch))));
      tokens.fill(0, row * time + valid, (row + 1) * time);
    }
  return tokens;
}

/**
 * The weights in tfjs layout, in the order the page's layers take them, packed into one float32
 * buffer: the embedding table as it is; LSTM kernel = weight_ih^T, recurrent kernel = weight_hh^T and
 * bias = bias_ih + bias_hh (PyTorch's gates i,f,g,o are Keras's i,f,c,o, so no reordering); Dense
 * kernel = weight^T and its bias.
 */
function tfjsWeights(weights: WeightMap): {
  bytes: Uint8Array;
  tensors: { shape: number[]; offset: number; length: number }[];
} {
  const bih = parameter(weights, 'lstm.bias_ih_l0');
  const bhh = parameter(weights, 'lstm.bias_hh_l0');
  const ordered: WeightTensor[] = [
    parameter(weights, 'embedding.weight'),
    transposed(parameter(weights, 'lstm.weight_ih_l0')),
    transposed(parameter(weights, 'lstm.weight_hh_l0')),
    { shape: bih.shape, data: bih.data.map((v, i) => v + bhh.data[i]!) },
    transposed(parameter(weights, 'fc.weight')),
    parameter(weights, 'fc.bias'),
  ];
  const total = ordered.reduce((n, t) => n + t.data.length, 0);
  const packed = new Float32Array(total);
  const tensors: { shape: number[]; offset: number; length: number }[] = [];
  let offset = 0;
  for (const t of ordered) {
    packed.set(t.data, offset);
    tensors.push({ shape: [...t.shape], offset, length: t.data.length });
    offset += t.data.length;
  }
  return { bytes: new Uint8Array(packed.buffer), tensors };
}

/** A PyTorch [rows, cols] matrix as [cols, rows]. */
function transposed(t: WeightTensor): WeightTensor {
  const [rows, cols] = t.shape as [number, number];
  return { shape: [cols, rows], data: transpose2d(t.data, rows, cols) };
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

function formatTable(groups: readonly Group[]): string {
  const lines = [
    '| model | batch × time | load before → after | runtime | median ms | p90 ms | runs | median ÷ ORT-web wasm | max abs diff vs ORT-web wasm |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const group of groups) {
    const first = group.rows[0]!;
    const baseline = first.kind === 'timed' ? median(first.times) : NaN;
    group.rows.forEach((row, i) => {
      const model = i === 0 ? group.workload.model : '';
      const { shape: s, padded } = group.workload;
      const shape = i === 0 ? `${s.batch} × ${s.time}${padded ? ', padded' : ''}` : '';
      const load = i === 0 ? formatLoad(group.load) : '';
      if (row.kind === 'unavailable') {
        lines.push(
          `| ${model} | ${shape} | ${load} | ${row.runner} | unavailable: ${row.reason.replaceAll('|', '\\|')} | | | | |`,
        );
        return;
      }
      const m = median(row.times);
      const diff =
        row.maxDiff === undefined
          ? 'reference'
          : `${row.maxDiff.toExponential(1)}${row.maxDiff > tolerance ? ' ✗' : ''}`;
      lines.push(
        `| ${model} | ${shape} | ${load} | ${row.runner} | ${ms(m)} | ${ms(percentile(row.times, 0.9))} | ${row.times.length} | ${ratio(m, baseline)} | ${diff} |`,
      );
    });
  }
  return lines.join('\n');
}

function formatReport(
  groups: readonly Group[],
  imported: readonly ImportedModel[],
  settings: Settings,
  setup: PageSetup,
  chromium: string,
  seconds: number,
  loadAtStart: number,
): string {
  const cpus = os.cpus();
  const info = setup.info;
  return [
    '# Browser benchmark: seqc on onnxruntime-web vs TensorFlow.js, in Chromium',
    '',
    `The latest \`npm run bench${settings.quick ? ' -- --quick' : ''}\` (bench/browser.ts), ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '**The claim is the ratios within one run, not the absolute times.** All rows of a group were measured',
    'in the same page in the same run, taking turns round-robin, so machine load falls on them alike.',
    'Each runtime computes the same function with the same weights, and its output was checked against',
    `onnxruntime-web wasm's before timing (tolerance ${tolerance.toExponential()}).`,
    '',
    "**WebGPU here is SwiftShader**, Chromium's software Vulkan, running on the CPU (headless Chromium",
    "with the flags in test/browser/harness.ts); tfjs's WebGL is ANGLE on SwiftShader too. Their absolute",
    "numbers, and their ratios to the wasm rows, say nothing about a real GPU. They show that seqc's",
    '`--target webgpu` graph runs end to end on the WebGPU provider and gives the same answer.',
    '',
    `- Machine: ${cpus[0]?.model ?? 'unknown CPU'} (${cpus.length} logical cores), ${os.platform()} ${os.arch()}; load average ${loadAtStart.toFixed(1)} at the start; ${settings.load.allowLoad ? 'recorded with --allow-load, so groups may have run on a busy machine' : 'each group started on a quiet machine (one-minute load average ≤ 0.25 per core, bench/quiet.ts)'}, and the table gives the load average before and after each group`,
    `- Chromium ${chromium} (Debian, ${chromiumPath}), headless, through playwright-core ${packageVersion('playwright-core')}; page cross-origin isolated: ${info.crossOriginIsolated ? 'yes' : 'no'}`,
    `- WebGPU adapter: ${info.webgpuAdapter ?? 'none'}; WebGL renderer: ${info.webglRenderer ?? 'none'}`,
    `- onnxruntime-web ${packageVersion('onnxruntime-web')}, its WebGPU build (\`ort.webgpu.min.mjs\`): the wasm provider running seqc's generic graph, and the WebGPU provider running the \`target: 'webgpu'\` graph (every node on WebGPU; test/browser/webgpu.test.ts checks the placement). \`env.wasm.numThreads = 1\`.`,
    `- @tensorflow/tfjs ${packageVersion('@tensorflow/tfjs')} (Layers, browser bundle), @tensorflow/tfjs-backend-wasm ${packageVersion('@tensorflow/tfjs-backend-wasm')} (${info.tfjsWasm ?? 'unavailable'}; threads switched off so that it runs on one thread like the others)`,
    `- Iterations: the \`runs\` column, after ${settings.warmups === 0 ? 'the one untimed correctness run' : `${1 + settings.warmups} untimed runs each (2 for a runtime slower than ${settings.slowRunMs / 1000} s a run; the first, which compiles the GPU shaders, does not count towards the cost estimate)`}; each group's runtimes share about ${(settings.groupBudgetMs / 1000).toFixed(0)} s of timed runs equally (each row at least ${settings.minRuns}, at most ${settings.maxRuns}). Whole bench, browser start and model builds included: ${seconds.toFixed(0)} s.`,
    '- Timed in the page with `performance.now()`: one call on a prepared input, `session.run` with the output read back to the CPU for onnxruntime-web, `model.predict` + `dataSync()` for tfjs.',
    '- Ratios divide by onnxruntime-web on wasm with one thread.',
    "- SwiftShader runs its work on the same CPU cores as everything else, so the WebGPU and WebGL rows also compete with the page's own thread.",
    "- Shapes: batch 1 × 64 steps and 8 × 64. bench/bench.ts's 32 × 128 is left out here: tfjs's cpu backend takes about 11 s a run there (bench/RESULTS.md, in Node; 8 × 64 already takes about 1 s here), which does not fit a browser bench of about 4 minutes (five groups of about 12 s of timed runs each, since the imported models joined SimpleLSTM).",
    `- Weights: deterministic random (seed ${weightSeed}) in PyTorch layout, given to seqc as safetensors and converted to tfjs kernels (kernel = weight_ih^T, recurrent kernel = weight_hh^T, bias = bias_ih + bias_hh, gate activation sigmoid; Dense kernel = weight^T); token ids uniform random (seed ${inputSeed}).`,
    '',
    '### Imported models',
    '',
    `The groups ${imported.map((m) => `\`${m.spec.name}\``).join(' and ')} are Keras-style TF.js Layers models, the way a user brings one to seqc:`,
    '',
    "- Built in Node with @tensorflow/tfjs (`tf.sequential`: Embedding → LSTM with `returnSequences: false` → Dense; the LSTM's `recurrentActivation` set to Keras's default sigmoid, since TF.js's default hard sigmoid is refused by the webgpu target), every weight replaced by seeded uniform noise, and saved with `model.save(tf.io.withSaveHandler(…))` as model.json and one shard (bench/imported.ts).",
    "- Imported with `seqc import model.json -o DIR/NAME.seq` (through the function `bin/seqc.js` calls), and the written spec compiled with the written safetensors, for the generic target (the wasm row) and `target: 'webgpu'` (the WebGPU row).",
    "- The tfjs rows run the original: the page loads the same model.json and shard with `tf.loadLayersModel`, once per backend. Nothing is converted by the bench; the seqc rows' agreement with them (the last column) is the import's.",
    `- \`keras_lstm_masked\` has \`mask_zero=True\` and runs on rows padded at the end with id 0 (row r of 8 keeps 64 · (1 − r/16) steps: 64 down to 36). **It has no WebGPU row:** seqc refuses masks on the webgpu target (SEQ050), so a masked model runs only on the wasm provider. It is timed at 8 × 64 only.`,
    '',
    '## Results',
    '',
    formatTable(groups),
    '',
    '## Specs',
    '',
    `\`${sourceName}\`:`,
    '',
    '```',
    spec.trimEnd(),
    '```',
    '',
    ...imported.flatMap((m) => [
      `\`${m.spec.name}.seq\`, as \`seqc import\` wrote it:`,
      '',
      '```',
      m.seqText.trimEnd(),
      '```',
      '',
    ]),
  ].join('\n');
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
