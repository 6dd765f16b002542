// The `seqc` command line: compile, check, summary, run, generate and build, over the compiler API.

import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { checkSource, type BundleFileEntry, type BundleManifest, type CompiledBundle } from '../index.js';
import { error, hasErrors, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { diagnosticsToJson } from '../diagnostics/render.js';
import { formatSummary } from '../summary/summary.js';
import { formatModel } from '../onnx/text.js';
import { formatIr } from '../ir/print.js';
import { seqcVersion } from '../version.js';
import { helpText, parseArgs, type FlagSpec, type ParsedArgs } from './args.js';
import { tensorFromNested, type TensorData } from '../runtime/inputs.js';
import { loadModel, runModel, toNested } from '../runtime/node.js';
import { generateCommand } from './generate.js';
import {
  compactJson,
  compileFromArgs,
  ExitCode,
  fileError,
  help,
  onePositional,
  opsetFlag,
  readBytes,
  readText,
  report,
  seedFlag,
  targetFlag,
  usage,
  weightsFlag,
  writeAtomically,
  type Io,
} from './io.js';

export { ExitCode, type Io } from './io.js';

interface Command {
  readonly usage: string;
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
  readonly run: (args: ParsedArgs, io: Io) => Promise<number>;
}

const commands: Record<string, Command> = {
  compile: {
    usage: 'seqc compile SPEC [-o OUT.onnx] [--weights W.safetensors] [--seed N] [--opset N] [--target webgpu]',
    summary: 'Compile a .seq spec into an ONNX model (default output: SPEC with the extension .onnx).',
    flags: [{ name: 'out', alias: 'o', takesValue: true, description: 'where to write the model' }, weightsFlag, seedFlag, opsetFlag, targetFlag, help],
    run: compileCommand,
  },
  check: {
    usage: 'seqc check SPEC [--json]',
    summary: 'Check a spec and report its diagnostics without writing anything.',
    flags: [{ name: 'json', takesValue: false, description: 'print diagnostics as JSON' }, help],
    run: checkCommand,
  },
  summary: {
    usage: 'seqc summary SPEC',
    summary: 'Print a table of the layers: label, layer, output shape and parameter count.',
    flags: [help],
    run: summaryCommand,
  },
  run: {
    usage: 'seqc run MODEL.onnx|SPEC --input NAME=JSON [--input NAME=@FILE.json …] [--weights W] [--seed N]',
    summary:
      'Run a compiled model (or compile a spec and run it) on onnxruntime-node and print its outputs as JSON.\nA missing lengths input means every row is full length; missing state inputs are zeros.',
    flags: [
      { name: 'input', alias: 'i', takesValue: true, repeatable: true, description: 'NAME=JSON nested list, or NAME=@file.json' },
      weightsFlag,
      seedFlag,
      opsetFlag,
      { name: 'ep', takesValue: true, description: 'execution provider: cpu (default) or cuda' },
      help,
    ],
    run: runCommand,
  },
  generate: {
    usage: 'seqc generate SPEC|BUNDLE.onnx|BUNDLE.manifest.json --src "…" [--src "…" …] [--beam N] [--nbest K] | --prompt "…" [--sample]',
    summary:
      'Decode with a model that has a decoder: greedy (default), beam search or sampling, and print the results as JSON.\nSources and prompts are space-separated token ids, or text with --src-vocab/--tgt-vocab (JSON lists of tokens, index = id).',
    flags: [
      { name: 'src', takesValue: true, repeatable: true, description: 'a source sequence (one per row of the batch)' },
      { name: 'prompt', takesValue: true, repeatable: true, description: 'a prompt for a language model (may be empty)' },
      { name: 'beam', takesValue: true, description: 'beam search with this width' },
      { name: 'nbest', takesValue: true, description: 'hypotheses to return per row (beam search; default 1)' },
      { name: 'length-penalty', takesValue: true, description: 'GNMT length penalty α for beam search (default 0)' },
      { name: 'min-length', takesValue: true, description: 'tokens before eos is allowed (default 0)' },
      { name: 'max-length', takesValue: true, description: "the most tokens generated (default: the decoder's max_length)" },
      { name: 'sample', takesValue: false, description: 'sample instead of searching' },
      { name: 'temperature', takesValue: true, description: 'sampling temperature (default 1)' },
      { name: 'top-k', takesValue: true, description: 'sample among the k most likely tokens' },
      { name: 'top-p', takesValue: true, description: 'sample among the most likely tokens holding probability p' },
      { name: 'sample-seed', takesValue: true, description: 'seed for sampling (default 0)' },
      { name: 'greedy-graph', takesValue: false, description: 'decode with the self-contained ONNX Loop graph instead of the host loop' },
      { name: 'attention', takesValue: false, description: 'include attention weights in the output' },
      { name: 'src-vocab', takesValue: true, description: 'JSON list of source tokens (index = id) to read --src as text' },
      { name: 'tgt-vocab', takesValue: true, description: 'JSON list of target tokens to read --prompt and print results as text' },
      weightsFlag,
      seedFlag,
      opsetFlag,
      help,
    ],
    run: generateCommand,
  },
  build: {
    usage: 'seqc build [DIR=specs] [--out DIR=generated] [--run]',
    summary: 'Compile every .seq in DIR into OUT: NAME.onnx, text dumps NAME.onnx.txt and NAME.ir.txt, and NAME.summary.txt.',
    flags: [
      { name: 'out', alias: 'o', takesValue: true, description: 'output folder (default generated)' },
      seedFlag,
      opsetFlag,
      targetFlag,
      { name: 'run', takesValue: false, description: 'also run each model once on an example batch' },
      help,
    ],
    run: buildCommand,
  },
};

const topHelp = [
  `seqc ${seqcVersion}: compile .seq sequence-model specs into ONNX graphs.`,
  '',
  'Usage: seqc COMMAND [options]',
  '',
  'Commands:',
  ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)}${c.summary.split('\n')[0]}`),
  '',
  'Run `seqc COMMAND --help` for its options. Exit status: 0 success, 1 diagnostics, 2 usage.',
  '',
].join('\n');

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp);
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version') {
    io.out(`${seqcVersion}\n`);
    return ExitCode.ok;
  }
  const command = commands[name];
  if (command === undefined) {
    const names = Object.keys(commands);
    const suggestion = names.find((n) => n.startsWith(name.slice(0, 3)));
    report([error('SEQ200', spanOfWhole('<command line>'), `unknown command \`${name}\``, suggestion !== undefined ? `did you mean \`${suggestion}\`?` : `commands: ${names.join(', ')}`)], new Map(), io);
    return ExitCode.usage;
  }
  const parsed = parseArgs(rest, command.flags, name);
  if (parsed.args === undefined) {
    report(parsed.diagnostics, new Map(), io);
    return ExitCode.usage;
  }
  if (parsed.args.flags.has('help')) {
    io.out(helpText(command.usage, command.summary, command.flags));
    return ExitCode.ok;
  }
  try {
    return await command.run(parsed.args, io);
  } catch (e) {
    // Reaching here is a bug in seqc, not a problem with the user's input.
    io.err(`internal error in seqc ${seqcVersion}: ${(e as Error).stack ?? String(e)}\nPlease report it with the spec that caused it.\n`);
    return 70;
  }
}

async function compileCommand(args: ParsedArgs, io: Io): Promise<number> {
  const specPath = onePositional(args, io, 'compile', 'a .seq file');
  if (specPath === undefined) return ExitCode.usage;
  const compiled = compileFromArgs(specPath, args);
  report(compiled.diagnostics, compiled.sources, io);
  if (compiled.usageProblem) return ExitCode.usage;
  const model = compiled.result?.model;
  if (model === undefined) return ExitCode.diagnostics;
  const out = args.flags.get('out')?.[0] ?? join(dirname(specPath), `${basename(specPath, extname(specPath))}.onnx`);
  const summary = compiled.result!.summary!;
  const bundle = compiled.result!.bundle;
  if (bundle !== undefined) {
    // The bundle's names follow the output's stem; recompile cheaply is not needed: rename the entries.
    const written = writeBundle(out, bundle, (text) => report([text], compiled.sources, io));
    if (written === undefined) return ExitCode.diagnostics;
    io.out(`wrote ${written.join(', ')}: ${summary.name}, ${summary.totalParameters.toLocaleString('en-US')} parameters\n`);
    return ExitCode.ok;
  }
  const failure = writeAtomically(out, model);
  if (failure !== undefined) {
    report([failure], compiled.sources, io);
    return ExitCode.diagnostics;
  }
  io.out(`wrote ${out}: ${summary.name}, ${summary.totalParameters.toLocaleString('en-US')} parameters, ${model.length.toLocaleString('en-US')} bytes\n`);
  return ExitCode.ok;
}

/**
 * Writes a decoder model's bundle next to `out` (`x.onnx`, `x.encoder.onnx`, …, `x.manifest.json`),
 * named after its stem. Either every file is written or none is left behind.
 */
function writeBundle(out: string, bundle: CompiledBundle, fail: (d: Diagnostic) => void, extra: (stem: string) => [string, Uint8Array | string][] = () => []): string[] | undefined {
  const dir = dirname(out);
  const stem = basename(out).replace(/\.onnx$/, '');
  const oldStem = bundle.manifest.files.scoring.path.replace(/\.onnx$/, '');
  const rename = (file: string): string => stem + file.slice(oldStem.length);
  const rewrite = (entry: BundleFileEntry): BundleFileEntry => ({ ...entry, path: rename(entry.path) });
  const m = bundle.manifest;
  const manifest: BundleManifest = {
    ...m,
    files: {
      scoring: rewrite(m.files.scoring),
      ...(m.files.encoder === undefined ? {} : { encoder: rewrite(m.files.encoder) }),
      step: rewrite(m.files.step),
      greedy: rewrite(m.files.greedy),
    },
  };
  const entries: [string, Uint8Array | string][] = [
    ...bundle.files.map((f): [string, Uint8Array] => [join(dir, rename(f.file)), f.bytes]),
    [join(dir, `${stem}.manifest.json`), `${JSON.stringify(manifest, null, 2)}\n`],
    ...extra(join(dir, stem)),
  ];
  const written: string[] = [];
  for (const [path, data] of entries) {
    const failure = writeAtomically(path, data);
    if (failure !== undefined) {
      for (const done of written) {
        try {
          unlinkSync(done);
        } catch {
          // Nothing more can be done; the diagnostic below names the file that failed.
        }
      }
      fail(failure);
      return undefined;
    }
    written.push(path);
  }
  return written;
}

async function checkCommand(args: ParsedArgs, io: Io): Promise<number> {
  const specPath = onePositional(args, io, 'check', 'a .seq file');
  if (specPath === undefined) return ExitCode.usage;
  const spec = readText(specPath);
  const diagnostics = spec.text === undefined ? spec.diagnostics : [...checkSource(spec.text, { sourceName: specPath }).diagnostics];
  if (args.flags.has('json')) io.out(diagnosticsToJson(diagnostics));
  else if (diagnostics.length > 0) report(diagnostics, new Map(spec.text === undefined ? [] : [[specPath, spec.text]]), io);
  else io.out(`${specPath}: no problems\n`);
  return hasErrors(diagnostics) ? ExitCode.diagnostics : ExitCode.ok;
}

async function summaryCommand(args: ParsedArgs, io: Io): Promise<number> {
  const specPath = onePositional(args, io, 'summary', 'a .seq file');
  if (specPath === undefined) return ExitCode.usage;
  const spec = readText(specPath);
  if (spec.text === undefined) {
    report(spec.diagnostics, new Map(), io);
    return ExitCode.diagnostics;
  }
  const checked = checkSource(spec.text, { sourceName: specPath });
  report(checked.diagnostics, new Map([[specPath, spec.text]]), io);
  if (checked.summary === undefined) return ExitCode.diagnostics;
  io.out(formatSummary(checked.summary));
  return ExitCode.ok;
}

async function runCommand(args: ParsedArgs, io: Io): Promise<number> {
  const path = onePositional(args, io, 'run', 'model (.onnx) or spec (.seq)');
  if (path === undefined) return ExitCode.usage;
  const ep = args.flags.get('ep')?.[0] ?? 'cpu';
  if (ep !== 'cpu' && ep !== 'cuda') {
    report([error('SEQ201', spanOfWhole('--ep'), `\`--ep\` must be cpu or cuda, found \`${ep}\``, 'cuda needs onnxruntime-node installed with its CUDA binaries')], new Map(), io);
    return ExitCode.usage;
  }
  let bytes: Uint8Array | undefined;
  let sources = new Map<string, string>();
  if (path.endsWith('.onnx')) {
    const read = readBytes(path);
    report(read.diagnostics, sources, io);
    bytes = read.bytes;
  } else {
    const compiled = compileFromArgs(path, args);
    sources = compiled.sources;
    report(compiled.diagnostics, sources, io);
    if (compiled.usageProblem) return ExitCode.usage;
    bytes = compiled.result?.model;
  }
  if (bytes === undefined) return ExitCode.diagnostics;
  const loaded = await loadModel(bytes, path, { executionProviders: ep === 'cuda' ? ['cuda', 'cpu'] : ['cpu'] });
  if (loaded.model === undefined) {
    report(loaded.diagnostics, sources, io);
    return ExitCode.diagnostics;
  }
  const inputs = new Map<string, TensorData>();
  const problems: Diagnostic[] = [];
  for (const assignment of args.flags.get('input') ?? []) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) {
      problems.push(error('SEQ201', spanOfWhole('--input'), `\`--input ${assignment}\` is not NAME=VALUE`, 'for example --input tokens=[[1,2,3]]'));
      continue;
    }
    const name = assignment.slice(0, eq);
    let text = assignment.slice(eq + 1);
    if (text.startsWith('@')) {
      const file = readText(text.slice(1));
      if (file.text === undefined) {
        problems.push(...file.diagnostics);
        continue;
      }
      text = file.text;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      problems.push(error('SEQ300', spanOfWhole(`input \`${name}\``), `the value of \`${name}\` is not JSON: ${(e as Error).message}`, 'quote it for the shell: --input \'tokens=[[1, 2, 3]]\''));
      continue;
    }
    const declared = loaded.model.signature.inputs.find((i) => i.name === name);
    const converted = tensorFromNested(name, value, declared?.dtype === 'int64' ? 'int64' : 'float32');
    problems.push(...converted.diagnostics);
    if (converted.tensor !== undefined) inputs.set(name, converted.tensor);
  }
  if (problems.length > 0) {
    report(problems, sources, io);
    return ExitCode.diagnostics;
  }
  const result = await runModel(loaded.model, inputs);
  if (result.outputs === undefined) {
    report(result.diagnostics, sources, io);
    return ExitCode.diagnostics;
  }
  const printable: Record<string, unknown> = {};
  for (const [name, t] of result.outputs) printable[name] = { dims: t.dims, data: toNested(t) };
  io.out(`${compactJson(printable)}\n`);
  return ExitCode.ok;
}

async function buildCommand(args: ParsedArgs, io: Io): Promise<number> {
  if (args.positionals.length > 1) return usage(io, `\`seqc build\` takes one folder, found ${args.positionals.length}`, 'build');
  const dir = args.positionals[0] ?? 'specs';
  const out = args.flags.get('out')?.[0] ?? 'generated';
  let files: string[];
  try {
    if (!statSync(dir).isDirectory()) return usage(io, `${dir} is not a folder`, 'build');
    files = readdirSync(dir).filter((f) => f.endsWith('.seq')).sort();
  } catch (e) {
    report([fileError(dir, e)], new Map(), io);
    return ExitCode.diagnostics;
  }
  if (files.length === 0) {
    report([error('SEQ202', spanOfWhole(dir), `${dir} holds no .seq files`)], new Map(), io);
    return ExitCode.diagnostics;
  }
  let failed = 0;
  for (const file of files) {
    const specPath = join(dir, file);
    const compiled = compileFromArgs(specPath, args);
    report(compiled.diagnostics, compiled.sources, io);
    if (compiled.usageProblem) return ExitCode.usage;
    const result = compiled.result;
    if (result?.model === undefined || result.proto === undefined || result.summary === undefined) {
      failed++;
      continue;
    }
    const stem = join(out, basename(file, '.seq'));
    if (result.bundle !== undefined) {
      const bundle = result.bundle;
      const written = writeBundle(`${stem}.onnx`, bundle, (d) => report([d], compiled.sources, io), () => [
        ...bundle.files.map((f): [string, string] => [`${stem}${f.file.slice(bundle.manifest.files.scoring.path.length - 5)}.txt`, formatModel(f.proto)]),
        [`${stem}.summary.txt`, formatSummary(result.summary!)],
        [`${stem}.ir.txt`, formatIr(result.ir!)],
      ]);
      if (written === undefined) {
        failed++;
        continue;
      }
      io.out(`${specPath} -> ${stem}.onnx + ${bundle.files.length - 1} graphs and a manifest (${result.summary.totalParameters.toLocaleString('en-US')} parameters)\n`);
      if (args.flags.has('run')) {
        const ran = await exampleGreedy(bundle, specPath, io);
        if (!ran) failed++;
      }
      continue;
    }
    const problems = [
      writeAtomically(`${stem}.onnx`, result.model),
      writeAtomically(`${stem}.onnx.txt`, formatModel(result.proto)),
      writeAtomically(`${stem}.summary.txt`, formatSummary(result.summary)),
      writeAtomically(`${stem}.ir.txt`, formatIr(result.ir!)),
    ].filter((d): d is Diagnostic => d !== undefined);
    if (problems.length > 0) {
      report(problems, compiled.sources, io);
      failed++;
      continue;
    }
    io.out(`${specPath} -> ${stem}.onnx (${result.summary.totalParameters.toLocaleString('en-US')} parameters)\n`);
    if (args.flags.has('run')) {
      const ran = await exampleRun(result.model, specPath, io);
      if (!ran) failed++;
    }
  }
  io.out(`built ${files.length - failed} of ${files.length} specs into ${out}/\n`);
  return failed > 0 ? ExitCode.diagnostics : ExitCode.ok;
}

/** Runs a model once on a deterministic example batch (2 rows, 6 steps, the second row 4 long). */
async function exampleRun(model: Uint8Array, name: string, io: Io): Promise<boolean> {
  const loaded = await loadModel(model, name);
  if (loaded.model === undefined) {
    report(loaded.diagnostics, new Map(), io);
    return false;
  }
  const inputs = new Map<string, TensorData>();
  for (const input of loaded.model.signature.inputs) {
    if (input.role !== 'data') continue;
    const dims = input.dims.map((d, axis) => (typeof d === 'number' ? d : axis === 0 ? 2 : 6));
    const count = dims.reduce((a, b) => a * b, 1);
    const data =
      input.dtype === 'int64'
        ? BigInt64Array.from({ length: count }, (_, i) => BigInt(1 + ((i * 7919) % Math.max(1, (input.vocab ?? 100) - 1))))
        : Float32Array.from({ length: count }, (_, i) => Math.sin(i));
    inputs.set(input.name, { dtype: input.dtype as 'int64' | 'float32', dims, data });
  }
  for (const input of loaded.model.signature.inputs) {
    if (input.role === 'lengths') inputs.set(input.name, { dtype: 'int64', dims: [2], data: BigInt64Array.from([6n, 4n]) });
  }
  const result = await runModel(loaded.model, inputs);
  if (result.outputs === undefined) {
    report(result.diagnostics, new Map(), io);
    return false;
  }
  for (const [outName, t] of result.outputs) {
    const head = Array.from(t.data as ArrayLike<number>).slice(0, 4).map((v) => Number(v).toFixed(4));
    io.out(`  ran on batch 2 × time 6: ${outName} [${t.dims.join(', ')}] = ${head.join(', ')}${t.data.length > 4 ? ', …' : ''}\n`);
  }
  return true;
}

/** Runs a bundle's greedy graph once on an example batch of two source rows. */
async function exampleGreedy(bundle: CompiledBundle, name: string, io: Io): Promise<boolean> {
  const greedy = bundle.files.find((f) => f.role === 'greedy')!;
  try {
    const session = await ort.InferenceSession.create(greedy.bytes, { logSeverityLevel: 3 });
    const m = bundle.manifest;
    const feeds: Record<string, ort.Tensor> = {};
    const time = 6;
    const ids = BigInt64Array.from({ length: 2 * time }, (_, i) => BigInt(3 + ((i * 7919) % 50)));
    if (m.source !== undefined) {
      feeds[m.source.input] = new ort.Tensor('int64', ids, [2, time]);
      if (m.source.lengths !== undefined) feeds[m.source.lengths] = new ort.Tensor('int64', BigInt64Array.from([6n, 4n]), [2]);
    } else {
      feeds.prompt = new ort.Tensor('int64', BigInt64Array.from([BigInt(m.bos), BigInt(m.bos)]), [2, 1]);
    }
    const out = await session.run(feeds);
    const tokens = Array.from(out.tokens!.data as BigInt64Array, Number);
    const lengths = Array.from(out.lengths!.data as BigInt64Array, Number);
    io.out(`  greedy-decoded a batch of 2: lengths [${lengths.join(', ')}], first tokens ${tokens.slice(0, 6).join(' ')} …\n`);
    return true;
  } catch (e) {
    report([error('SEQ302', spanOfWhole(name), `ONNX Runtime failed on the greedy graph: ${(e as Error).message}`)], new Map(), io);
    return false;
  }
}

/** A vocabulary file: a JSON list of tokens whose index is the id. */
