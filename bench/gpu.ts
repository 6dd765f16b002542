// Times seqc's graphs on ONNX Runtime's WebGPU execution provider against its CPU provider, in one run on one machine.
//
// Two steps, because the GPU machine has no network, no Node.js and no repository tools:
//
//   npx tsx bench/gpu.ts pack [--dir .gpu]
//       Here: bundles this script with the seqc CLI into DIR/gpu.mjs (esbuild), copies onnxruntime-node's
//       linux-x64 binding and onnxruntime-common into DIR/node_modules (the 44 MB library gzipped), a
//       stripped, gzipped copy of this machine's node, the Debian package of the Vulkan loader (Dawn, the
//       WebGPU implementation inside onnxruntime-node, runs on Vulkan), and DIR/run.sh, which unpacks all
//       that and runs the measurement. The models are NOT carried: random float weights do not compress
//       and the travelling tree is limited to 64 MiB, so run.sh builds them there with the bundled CLI
//       (`seqc build specs --out … [--target webgpu]`, the same seeded weights as here).
//
//   sh .gpu/run.sh OUTDIR        (on the GPU machine, from the repository root; here too, for a check)
//       = node .gpu/gpu.mjs measure --out OUTDIR [--seconds N] [--quick]
//       Writes OUTDIR/gpu.json (environment and every row) and OUTDIR/gpu.md (the tables).
//
// How it measures:
// - Models: sentiment and tagger (one graph each), the translator's encoder, one decoder step and the
//   greedy Loop graph, each as built for the generic target and for `--target webgpu`.
// - Shapes: batch 1 and 32 at time 64, and batch 1 and 32 at time 256 (padded batches: row i has
//   length time − (i mod time/2)). The decoder step reads the encoder's memory of that shape.
// - Runners in a group (one model, one shape): CPU provider on the generic graph (the reference), CPU
//   provider on the webgpu graph, WebGPU provider on the webgpu graph, WebGPU provider on the generic
//   graph. A runner that cannot be created or run becomes a row saying why.
// - Each runner is warmed up (3 runs), its outputs compared with the reference (max |Δ| over the float
//   outputs, count of differing ids for integer outputs), then the runners take turns round-robin
//   until each has its share of the group's time (at least 3, at most 200 runs). Timed: one
//   `session.run` on prepared tensors, outputs copied back to the CPU (ONNX Runtime's default).
// - Generation: tokens per second of the greedy Loop graph, and of a host loop (encoder once, then
//   one step call per token with the argmax on the host) on each provider, at batch 1 and 32.

import { execFileSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type * as Ort from 'onnxruntime-node';
import { main } from '../src/cli/main.js';

// ---------------------------------------------------------------------------------------------
// Command line

const usageText = `usage: tsx bench/gpu.ts pack [--dir DIR]
       node DIR/gpu.mjs measure --out DIR [--seconds N] [--deadline N] [--quick]`;

async function gpuBench(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  const flags = parseFlags(rest);
  if (flags === undefined) {
    console.error(usageText);
    return 2;
  }
  switch (command) {
    case 'pack':
      pack(flags.get('dir') ?? '.gpu');
      return 0;
    case 'measure': {
      const out = flags.get('out');
      if (out === undefined) {
        console.error(usageText);
        return 2;
      }
      const seconds = Number(flags.get('seconds') ?? '4');
      const deadline = Number(flags.get('deadline') ?? '180');
      if (!(seconds > 0 && deadline > 0)) {
        console.error(`--seconds and --deadline take positive numbers\n${usageText}`);
        return 2;
      }
      return measure({ out, secondsPerGroup: seconds, deadlineSeconds: deadline, quick: flags.has('quick') });
    }
    default:
      console.error(usageText);
      return 2;
  }
}

function parseFlags(args: readonly string[]): Map<string, string> | undefined {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) return undefined;
    const name = arg.slice(2);
    if (name === 'quick') flags.set(name, '');
    else if (i + 1 < args.length) flags.set(name, args[++i]!);
    else return undefined;
  }
  return flags;
}

// ---------------------------------------------------------------------------------------------
// pack: what the GPU machine needs, in one ignored folder

function pack(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync(
    path.join('node_modules', '.bin', 'esbuild'),
    [
      'bench/gpu.ts',
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      '--external:onnxruntime-node',
      '--external:onnxruntime-web',
      '--external:onnxruntime-web/webgpu',
      `--outfile=${path.join(dir, 'gpu.mjs')}`,
    ],
    { stdio: 'inherit' },
  );
  const modules = path.join(dir, 'node_modules');
  const ortNode = path.join('node_modules', 'onnxruntime-node');
  const binDir = path.join('bin', 'napi-v6', 'linux', 'x64');
  copyTree(path.join(ortNode, 'dist'), path.join(modules, 'onnxruntime-node', 'dist'), '.js');
  copyFileSync(path.join(ortNode, 'package.json'), path.join(modules, 'onnxruntime-node', 'package.json'));
  mkdirSync(path.join(modules, 'onnxruntime-node', binDir), { recursive: true });
  copyFileSync(
    path.join(ortNode, binDir, 'onnxruntime_binding.node'),
    path.join(modules, 'onnxruntime-node', binDir, 'onnxruntime_binding.node'),
  );
  writeFileSync(
    path.join(modules, 'onnxruntime-node', binDir, 'libonnxruntime.so.1.gz'),
    gzipSync(readFileSync(path.join(ortNode, binDir, 'libonnxruntime.so.1'))),
  );
  const common = path.join('node_modules', 'onnxruntime-common');
  copyTree(path.join(common, 'dist', 'cjs'), path.join(modules, 'onnxruntime-common', 'dist', 'cjs'), '.js');
  copyTree(path.join(common, 'dist', 'esm'), path.join(modules, 'onnxruntime-common', 'dist', 'esm'), '.js');
  copyFileSync(path.join(common, 'package.json'), path.join(modules, 'onnxruntime-common', 'package.json'));
  const node = path.join(dir, 'node');
  copyFileSync(process.execPath, node);
  execFileSync('strip', [node]);
  writeFileSync(`${node}.gz`, gzipSync(readFileSync(node), { level: 9 }));
  rmSync(node);
  execFileSync('apt-get', ['download', 'libvulkan1'], { cwd: dir, stdio: 'inherit' });
  writeFileSync(path.join(dir, 'run.sh'), runScript(dir));
  console.log(`packed ${dir}: ${packSize(dir)} bytes`);
}

/** Copies the files of a folder tree whose names end with `suffix` (or a package.json). */
function copyTree(from: string, to: string, suffix: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) copyTree(source, path.join(to, entry.name), suffix);
    else if (entry.name.endsWith(suffix) || entry.name === 'package.json') {
      mkdirSync(to, { recursive: true });
      copyFileSync(source, path.join(to, entry.name));
    }
  }
}

function packSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += readFileSync(path.join(entry.parentPath, entry.name)).byteLength;
  }
  return total;
}

/**
 * The device's command: unpack node, the library and the Vulkan loader (into /tmp, never over /),
 * point the loader at NVIDIA's driver when the image's own search finds none, and measure.
 */
function runScript(dir: string): string {
  return `#!/bin/sh
# Made by \`tsx bench/gpu.ts pack\`. Usage, from the repository root: sh ${dir}/run.sh OUTDIR [measure flags]
set -e
out=\${1:?usage: sh ${dir}/run.sh OUTDIR}; shift
mkdir -p "$out" /tmp/seqc-gpu
lib=${dir}/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
[ -f $lib/libonnxruntime.so.1 ] || gunzip -k $lib/libonnxruntime.so.1.gz
if command -v node >/dev/null 2>&1 && node -e 'process.exit(Number(process.versions.node.split(".")[0] < 20))'; then
  node=node
else
  [ -x /tmp/seqc-gpu/node ] || gunzip -c ${dir}/node.gz > /tmp/seqc-gpu/node
  chmod +x /tmp/seqc-gpu/node; node=/tmp/seqc-gpu/node
fi
if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
  for f in ${dir}/*.deb; do dpkg -x "$f" /tmp/seqc-gpu/root; done
  export LD_LIBRARY_PATH=/tmp/seqc-gpu/root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "$VK_DRIVER_FILES" ] && [ -f $nv ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=$nv
fi
echo "node: $node ($($node --version)); VK_DRIVER_FILES=\${VK_DRIVER_FILES:-(default search)}"
exec $node ${dir}/gpu.mjs measure --out "$out" "$@"
`;
}

// ---------------------------------------------------------------------------------------------
// measure: the models, the runners, the table

interface MeasureOptions {
  readonly out: string;
  readonly secondsPerGroup: number;
  /** After this many seconds no new group starts; the rest are listed as not measured. */
  readonly deadlineSeconds: number;
  readonly quick: boolean;
}

type Provider = 'cpu' | 'webgpu';
type Target = 'generic' | 'webgpu';

interface Shape {
  readonly batch: number;
  readonly time: number;
}

/** One model file to time and the inputs it takes for a shape. */
interface ModelCase {
  readonly name: string;
  readonly file: string;
  readonly inputs: (shape: Shape, models: ModelDirs) => Promise<Record<string, Ort.Tensor>>;
}

type ModelDirs = Readonly<Record<Target, string>>;

interface Runner {
  readonly provider: Provider;
  readonly target: Target;
}

/** A table row: a runner's timings and agreement, or why it could not run. */
type Row =
  | {
      readonly kind: 'timed';
      readonly model: string;
      readonly shape: Shape;
      readonly runner: Runner;
      readonly times: readonly number[];
      readonly createMs: number;
      /** Max |Δ| against the reference over float outputs; differing ids for integer outputs. */
      readonly maxAbsDiff: number;
      readonly differingIds: number;
    }
  | {
      readonly kind: 'failed';
      readonly model: string;
      readonly shape: Shape;
      readonly runner: Runner;
      readonly reason: string;
    };

interface GenerationRow {
  readonly method: 'Loop graph' | 'host loop';
  readonly runner: Runner;
  readonly batch: number;
  readonly medianMs: number;
  readonly tokens: number;
  readonly tokensPerSecond: number;
  readonly sameTokens: boolean | undefined;
}

interface Environment {
  readonly date: string;
  readonly node: string;
  readonly onnxruntime: string;
  readonly backends: string;
  readonly cpu: string;
  readonly cores: number;
  readonly loadAverage: string;
  readonly nvidiaSmi: string;
  readonly vulkanDriverFiles: string;
  readonly command: string;
}

const runners: readonly Runner[] = [
  { provider: 'cpu', target: 'generic' },
  { provider: 'cpu', target: 'webgpu' },
  { provider: 'webgpu', target: 'webgpu' },
  { provider: 'webgpu', target: 'generic' },
];

async function measure(options: MeasureOptions): Promise<number> {
  const started = performance.now();
  mkdirSync(options.out, { recursive: true });
  const ort = (await import('onnxruntime-node')) as typeof Ort;
  const environment = describeEnvironment(ort);
  console.log(environment.nvidiaSmi);
  const models = await buildModels();
  try {
    await measureModels(ort, options, environment, models, started);
  } finally {
    rmSync(path.dirname(models.generic), { recursive: true, force: true });
  }
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s; results in ${options.out}`);
  return 0;
}

async function measureModels(
  ort: typeof Ort,
  options: MeasureOptions,
  environment: Environment,
  models: ModelDirs,
  started: number,
): Promise<void> {
  const shapes: readonly Shape[] = options.quick
    ? [
        { batch: 1, time: 16 },
        { batch: 4, time: 16 },
      ]
    : [
        { batch: 1, time: 64 },
        { batch: 32, time: 64 },
        { batch: 1, time: 256 },
        { batch: 32, time: 256 },
      ];
  const rows: Row[] = [];
  const late = (): boolean => performance.now() - started > options.deadlineSeconds * 1000;
  const skipped: string[] = [];
  for (const model of modelCases(ort)) {
    for (const shape of shapes) {
      if (late()) {
        skipped.push(`${model.name} ${shape.batch} × ${shape.time}`);
        continue;
      }
      const group = await timeGroup(ort, model, shape, models, options.secondsPerGroup);
      rows.push(...group);
      for (const row of group) console.log(describeRow(row));
      writeResults(options.out, environment, { rows, generation: [], skipped }, started);
    }
  }
  const generation: GenerationRow[] = [];
  for (const batch of options.quick ? [1, 4] : [1, 32]) {
    if (late()) {
      skipped.push(`greedy generation at batch ${batch}`);
      continue;
    }
    const group = await timeGeneration(ort, models, batch, options.quick ? 1 : 5);
    generation.push(...group);
    for (const row of group) console.log(JSON.stringify(row));
    writeResults(options.out, environment, { rows, generation, skipped }, started);
  }
  writeResults(options.out, environment, { rows, generation, skipped }, started);
}

function describeEnvironment(ort: typeof Ort): Environment {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    onnxruntime: `onnxruntime-node ${ort.env.versions.node ?? '?'} (common ${ort.env.versions.common})`,
    backends: ort
      .listSupportedBackends()
      .map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`)
      .join(', '),
    cpu: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    loadAverage: loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
    nvidiaSmi: commandOutput('nvidia-smi', []),
    vulkanDriverFiles: process.env.VK_DRIVER_FILES ?? '(default search)',
    command: process.argv.slice(1).join(' '),
  };
}

function commandOutput(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 20_000 }).trim();
  } catch (e) {
    return `(${command} failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
}

/** Builds specs/ for both targets with the bundled CLI, into a fresh temporary folder. */
async function buildModels(): Promise<ModelDirs> {
  const root = mkdtempSync(path.join(tmpdir(), 'seqc-gpu-models-'));
  const dirs: ModelDirs = { generic: path.join(root, 'generic'), webgpu: path.join(root, 'webgpu') };
  const io = { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t), color: false };
  for (const target of ['generic', 'webgpu'] as const) {
    const args = ['build', 'specs', '--out', dirs[target], ...(target === 'webgpu' ? ['--target', 'webgpu'] : [])];
    const code = await main(args, io);
    if (code !== 0) throw new Error(`seqc ${args.join(' ')} exited ${code}`);
  }
  return dirs;
}

/** Token ids of a padded batch: row i holds time − (i mod time/2) ids in [3, vocab), zeros after. */
function tokenBatch(ort: typeof Ort, shape: Shape, vocab: number): { tokens: Ort.Tensor; lengths: Ort.Tensor } {
  const ids = new BigInt64Array(shape.batch * shape.time);
  const lengths = new BigInt64Array(shape.batch);
  for (let row = 0; row < shape.batch; row++) {
    const length = shape.time - (row % Math.max(1, shape.time >> 1));
    lengths[row] = BigInt(length);
    for (let t = 0; t < length; t++) ids[row * shape.time + t] = BigInt(3 + ((row * 7919 + t * 104729) % (vocab - 3)));
  }
  return {
    tokens: new ort.Tensor('int64', ids, [shape.batch, shape.time]),
    lengths: new ort.Tensor('int64', lengths, [shape.batch]),
  };
}

function modelCases(ort: typeof Ort): readonly ModelCase[] {
  const classifier = (name: string, vocab: number): ModelCase => ({
    name,
    file: `${name}.onnx`,
    inputs: async (shape) => {
      const batch = tokenBatch(ort, shape, vocab);
      return { tokens: batch.tokens, lengths: batch.lengths };
    },
  });
  const source = (shape: Shape): Record<string, Ort.Tensor> => {
    const batch = tokenBatch(ort, shape, translatorVocab);
    return { src: batch.tokens, src_lengths: batch.lengths };
  };
  return [
    classifier('sentiment', specVocab('sentiment')),
    classifier('tagger', specVocab('tagger')),
    { name: 'translator encoder', file: 'translator.encoder.onnx', inputs: async (shape) => source(shape) },
    {
      name: 'translator step',
      file: 'translator.step.onnx',
      inputs: async (shape, models) => {
        const src = source(shape);
        const encoded = await runOnce(ort, path.join(models.generic, 'translator.encoder.onnx'), src);
        const tokens = new ort.Tensor('int64', new BigInt64Array(shape.batch).fill(1n), [shape.batch]);
        return {
          tokens,
          h: encoded.h0!,
          c: encoded.c0!,
          memory: encoded.memory!,
          src_lengths: src.src_lengths!,
        };
      },
    },
    { name: 'translator greedy (Loop)', file: 'translator.greedy.onnx', inputs: async (shape) => source(shape) },
  ];
}

const translatorVocab = 8000;

/** A spec's (first) vocabulary, read from it so that a change there does not index past the table. */
function specVocab(name: string): number {
  const spec = readFileSync(path.join('specs', `${name}.seq`), 'utf8');
  const match = /vocab\s*=\s*([\d_]+)/.exec(spec);
  return match === null ? 1000 : Number(match[1]!.replaceAll('_', ''));
}

async function runOnce(
  ort: typeof Ort,
  file: string,
  feeds: Record<string, Ort.Tensor>,
): Promise<Record<string, Ort.Tensor>> {
  const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
  try {
    return (await session.run(feeds)) as Record<string, Ort.Tensor>;
  } finally {
    await session.release();
  }
}

function sessionOptions(provider: Provider): Ort.InferenceSession.SessionOptions {
  // Severity 3 (errors only) leaves out the warning that shape operators were placed on the CPU.
  return { executionProviders: [provider], graphOptimizationLevel: 'all', logSeverityLevel: 3 };
}

function runnerName(runner: Runner): string {
  return `${runner.provider === 'cpu' ? 'CPU EP' : 'WebGPU EP'}, ${runner.target} graph`;
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

interface Prepared {
  readonly runner: Runner;
  readonly session: Ort.InferenceSession;
  readonly createMs: number;
  readonly estimateMs: number;
  readonly maxAbsDiff: number;
  readonly differingIds: number;
}

async function timeGroup(
  ort: typeof Ort,
  model: ModelCase,
  shape: Shape,
  models: ModelDirs,
  secondsPerGroup: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  const prepared: Prepared[] = [];
  let feeds: Record<string, Ort.Tensor>;
  try {
    feeds = await model.inputs(shape, models);
  } catch (e) {
    return runners.map((runner) => ({ kind: 'failed', model: model.name, shape, runner, reason: message(e) }));
  }
  let reference: Record<string, Ort.Tensor> | undefined;
  for (const runner of runners) {
    try {
      const createStart = performance.now();
      const session = await ort.InferenceSession.create(
        path.join(models[runner.target], model.file),
        sessionOptions(runner.provider),
      );
      const createMs = performance.now() - createStart;
      let outputs = (await session.run(feeds)) as Record<string, Ort.Tensor>;
      const warmStart = performance.now();
      for (let i = 0; i < 2; i++) outputs = (await session.run(feeds)) as Record<string, Ort.Tensor>;
      const estimateMs = (performance.now() - warmStart) / 2;
      reference ??= outputs;
      const agreement = compareOutputs(reference, outputs);
      prepared.push({ runner, session, createMs, estimateMs, ...agreement });
    } catch (e) {
      rows.push({ kind: 'failed', model: model.name, shape, runner, reason: message(e) });
    }
  }
  const budgetMs = (secondsPerGroup * 1000) / Math.max(1, prepared.length);
  const counts = prepared.map((p) => Math.min(200, Math.max(3, Math.floor(budgetMs / Math.max(p.estimateMs, 0.01)))));
  const rounds = Math.max(0, ...counts);
  const times: number[][] = prepared.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < prepared.length; i++) {
      // Spread a runner's runs evenly over the rounds, so that every runner meets the same machine.
      if (Math.floor(((round + 1) * counts[i]!) / rounds) === Math.floor((round * counts[i]!) / rounds)) continue;
      const start = performance.now();
      await prepared[i]!.session.run(feeds);
      times[i]!.push(performance.now() - start);
    }
  }
  for (let i = 0; i < prepared.length; i++) {
    const p = prepared[i]!;
    rows.push({
      kind: 'timed',
      model: model.name,
      shape,
      runner: p.runner,
      times: times[i]!,
      createMs: p.createMs,
      maxAbsDiff: p.maxAbsDiff,
      differingIds: p.differingIds,
    });
    await p.session.release();
  }
  return rows.sort((a, b) => runners.indexOf(a.runner) - runners.indexOf(b.runner));
}

function compareOutputs(
  reference: Record<string, Ort.Tensor>,
  outputs: Record<string, Ort.Tensor>,
): { maxAbsDiff: number; differingIds: number } {
  let maxAbsDiff = 0;
  let differingIds = 0;
  for (const [name, expected] of Object.entries(reference)) {
    const actual = outputs[name];
    if (actual === undefined || actual.data.length !== expected.data.length) {
      return { maxAbsDiff: Number.POSITIVE_INFINITY, differingIds: Number.POSITIVE_INFINITY };
    }
    if (expected.type === 'float32') {
      const e = expected.data as Float32Array;
      const a = actual.data as Float32Array;
      for (let i = 0; i < e.length; i++) {
        const d = Math.abs(e[i]! - a[i]!);
        maxAbsDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxAbsDiff, d);
      }
    } else {
      const e = expected.data as BigInt64Array;
      const a = actual.data as BigInt64Array;
      for (let i = 0; i < e.length; i++) if (e[i] !== a[i]) differingIds++;
    }
  }
  return { maxAbsDiff, differingIds };
}

/** Greedy generation on each provider: the Loop graph, and a host loop over the step graph. */
async function timeGeneration(
  ort: typeof Ort,
  models: ModelDirs,
  batch: number,
  rounds: number,
): Promise<GenerationRow[]> {
  const rows: GenerationRow[] = [];
  const shape = { batch, time: 20 };
  const batchTokens = tokenBatch(ort, shape, translatorVocab);
  const feeds = { src: batchTokens.tokens, src_lengths: batchTokens.lengths };
  let referenceTokens: string | undefined;
  for (const runner of runners) {
    for (const method of ['Loop graph', 'host loop'] as const) {
      try {
        const generate =
          method === 'Loop graph'
            ? await loopGraphGenerator(ort, path.join(models[runner.target], 'translator.greedy.onnx'), runner, feeds)
            : await hostLoopGenerator(ort, models[runner.target], runner, feeds, batch);
        let result = await generate.run();
        const ms: number[] = [];
        for (let i = 0; i < rounds; i++) {
          const start = performance.now();
          result = await generate.run();
          ms.push(performance.now() - start);
        }
        await generate.release();
        const key = JSON.stringify(result.rows);
        referenceTokens ??= key;
        const medianMs = median(ms);
        rows.push({
          method,
          runner,
          batch,
          medianMs,
          tokens: result.tokens,
          tokensPerSecond: (result.tokens / medianMs) * 1000,
          sameTokens: key === referenceTokens,
        });
      } catch (e) {
        console.error(`generation ${method} ${runnerName(runner)} batch ${batch}: ${message(e)}`);
        rows.push({ method, runner, batch, medianMs: NaN, tokens: 0, tokensPerSecond: NaN, sameTokens: undefined });
      }
    }
  }
  return rows;
}

interface Generator {
  readonly run: () => Promise<{ tokens: number; rows: number[][] }>;
  readonly release: () => Promise<void>;
}

const eos = 2;
const maxLength = 64;

async function loopGraphGenerator(
  ort: typeof Ort,
  file: string,
  runner: Runner,
  feeds: Record<string, Ort.Tensor>,
): Promise<Generator> {
  const session = await ort.InferenceSession.create(file, sessionOptions(runner.provider));
  return {
    run: async () => {
      const out = await session.run(feeds);
      const ids = out.tokens!.data as BigInt64Array;
      const lengths = out.lengths!.data as BigInt64Array;
      const width = ids.length / lengths.length;
      const rows = Array.from(lengths, (length, r) =>
        Array.from(ids.subarray(r * width, r * width + Number(length)), Number),
      );
      return { tokens: rows.reduce((n, row) => n + row.length, 0), rows };
    },
    release: () => session.release(),
  };
}

async function hostLoopGenerator(
  ort: typeof Ort,
  dir: string,
  runner: Runner,
  feeds: Record<string, Ort.Tensor>,
  batch: number,
): Promise<Generator> {
  const encoder = await ort.InferenceSession.create(
    path.join(dir, 'translator.encoder.onnx'),
    sessionOptions(runner.provider),
  );
  const step = await ort.InferenceSession.create(
    path.join(dir, 'translator.step.onnx'),
    sessionOptions(runner.provider),
  );
  return {
    run: async () => {
      const encoded = await encoder.run(feeds);
      let h = encoded.h0!;
      let c = encoded.c0!;
      let tokens = new BigInt64Array(batch).fill(1n);
      const rows: number[][] = Array.from({ length: batch }, () => []);
      const done = new Array<boolean>(batch).fill(false);
      for (let t = 0; t < maxLength && done.includes(false); t++) {
        const out = await step.run({
          tokens: new ort.Tensor('int64', tokens, [batch]),
          h,
          c,
          memory: encoded.memory!,
          src_lengths: feeds.src_lengths!,
          // The generic step graph's TopK count (docs/seq2seq.md); this loop reads the logits.
          ...(step.inputNames.includes('top_k') ? { top_k: new ort.Tensor('int64', BigInt64Array.of(1n), [1]) } : {}),
        });
        h = out.h_out!;
        c = out.c_out!;
        const logits = out.logits!.data as Float32Array;
        const vocab = logits.length / batch;
        tokens = new BigInt64Array(batch);
        for (let r = 0; r < batch; r++) {
          let best = 0;
          for (let v = 1; v < vocab; v++) if (logits[r * vocab + v]! > logits[r * vocab + best]!) best = v;
          tokens[r] = BigInt(best);
          if (!done[r]) {
            if (best === eos) done[r] = true;
            else rows[r]!.push(best);
          }
        }
      }
      return { tokens: rows.reduce((n, row) => n + row.length, 0), rows };
    },
    release: async () => {
      await encoder.release();
      await step.release();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Results

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

function ms(value: number): string {
  if (Number.isNaN(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function describeRow(row: Row): string {
  const where = `${row.model} ${row.shape.batch}×${row.shape.time} ${runnerName(row.runner)}`;
  return row.kind === 'failed'
    ? `${where}: could not run: ${row.reason}`
    : `${where}: median ${ms(median(row.times))} ms, p90 ${ms(percentile(row.times, 0.9))} ms, ` +
        `${row.times.length} runs, max |Δ| ${row.maxAbsDiff.toExponential(1)}`;
}

interface Results {
  readonly rows: readonly Row[];
  readonly generation: readonly GenerationRow[];
  /** The groups left out because the deadline had passed. */
  readonly skipped: readonly string[];
}

/** Rewritten after every group, so that a run stopped at its time limit still leaves its tables. */
function writeResults(out: string, environment: Environment, results: Results, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  writeAtomically(path.join(out, 'gpu.json'), JSON.stringify({ environment, seconds, ...results }, null, 1));
  writeAtomically(path.join(out, 'gpu.md'), formatTables(environment, results, seconds));
}

/** Writes a whole file or nothing: a temporary file beside it, then a rename. */
function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

function formatTables(environment: Environment, results: Results, seconds: number): string {
  const { rows, generation, skipped } = results;
  const lines = [
    `- Date: ${environment.date}; whole run ${seconds.toFixed(0)} s`,
    `- Node ${environment.node}; ${environment.onnxruntime}; execution providers in the package: ${environment.backends}`,
    `- CPU: ${environment.cpu}, ${environment.cores} logical cores; load average ${environment.loadAverage}`,
    `- VK_DRIVER_FILES: ${environment.vulkanDriverFiles}`,
    `- Command: \`${environment.command}\``,
    '',
    '```',
    environment.nvidiaSmi,
    '```',
    '',
    '| model | batch × time | runner | median ms | p90 ms | runs | median ÷ CPU EP | session create ms | max abs diff vs CPU EP |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  let previous = '';
  for (const row of rows) {
    const group = `${row.model}|${row.shape.batch}×${row.shape.time}`;
    const head = group === previous ? '|  |  |' : `| ${row.model} | ${row.shape.batch} × ${row.shape.time} |`;
    previous = group;
    if (row.kind === 'failed') {
      lines.push(`${head} ${runnerName(row.runner)} | could not run: ${row.reason.replaceAll('|', '\\|')} | | | | | |`);
      continue;
    }
    const reference = rows.find(
      (r) => r.kind === 'timed' && r.model === row.model && r.shape === row.shape && r.runner === runners[0],
    );
    const ratio =
      reference?.kind === 'timed' ? `${(median(row.times) / median(reference.times)).toFixed(2)}×` : 'no reference';
    const agreement =
      row.runner === runners[0]
        ? 'reference'
        : row.differingIds > 0
          ? `${row.differingIds} ids differ`
          : row.maxAbsDiff.toExponential(1);
    lines.push(
      `${head} ${runnerName(row.runner)} | ${ms(median(row.times))} | ${ms(percentile(row.times, 0.9))} | ` +
        `${row.times.length} | ${ratio} | ${ms(row.createMs)} | ${agreement} |`,
    );
  }
  if (generation.length > 0) {
    lines.push(
      '',
      'Greedy generation, translator, source length 20 (padded batch), at most 64 tokens a row:',
      '',
      '| method | runner | batch | median ms | tokens | tokens/s | same tokens as the first row |',
      '| --- | --- | ---: | ---: | ---: | ---: | --- |',
    );
    for (const row of generation) {
      lines.push(
        `| ${row.method} | ${runnerName(row.runner)} | ${row.batch} | ${ms(row.medianMs)} | ${row.tokens} | ` +
          `${Number.isNaN(row.tokensPerSecond) ? 'could not run' : row.tokensPerSecond.toFixed(0)} | ` +
          `${row.sameTokens === undefined ? '–' : row.sameTokens ? 'yes' : 'no'} |`,
      );
    }
  }
  if (skipped.length > 0) lines.push('', `Not measured (deadline passed): ${skipped.join('; ')}.`);
  return `${lines.join('\n')}\n`;
}

// Runs only as a script (tsx here, node on the GPU machine), never on import.
if (process.argv[1] !== undefined && /gpu\.(ts|mjs)$/.test(process.argv[1])) {
  try {
    process.exitCode = await gpuBench(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 1;
  }
}
