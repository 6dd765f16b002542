// The `seqc` command line: compile, check, summary, run, generate and build, over the compiler API.

import { error, spanOfWhole } from '../diagnostics/diagnostic.js';
import { seqcVersion } from '../version.js';
import { helpText, parseArgs, type FlagSpec, type ParsedArgs } from './args.js';
import { buildCommand } from './build.js';
import { tokenizerFlags } from './bundle.js';
import { checkCommand, summaryCommand } from './check.js';
import { compileCommand } from './compile.js';
import { emitCommand } from './emit.js';
import { generateCommand } from './generate.js';
import {
  ExitCode,
  help,
  jsonDocument,
  jsonFlag,
  opsetFlag,
  report,
  seedFlag,
  targetFlag,
  quantizeFlag,
  precisionFlag,
  weightsFlag,
  externalWeightsFlag,
  type Io,
  type JsonReport,
} from './io.js';
import { runCommand } from './run.js';
import { serveCommand, serveFlags } from './serve.js';
import { exportCommand, exportFlags } from './export.js';
import { importCommand, importFlags, importUsage } from './import.js';

export { ExitCode, type Io } from './io.js';

interface Command {
  readonly usage: string;
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
  readonly run: (args: ParsedArgs, io: Io) => Promise<number>;
}

const commands: Record<string, Command> = {
  compile: {
    usage:
      'seqc compile SPEC [-o OUT.onnx] [--weights W.safetensors|W.pt[:KEY]] [--seed N] [--opset N] [--target webgpu] [--external-weights] [--quantize int8|int8-weights] [--precision fp16] [--tokenizer FILE]',
    summary: 'Compile a .seq spec into an ONNX model (default output: SPEC with the extension .onnx).',
    flags: [
      { name: 'out', alias: 'o', takesValue: true, description: 'where to write the model' },
      weightsFlag,
      seedFlag,
      opsetFlag,
      targetFlag,
      externalWeightsFlag,
      quantizeFlag,
      precisionFlag,
      ...tokenizerFlags,
      help,
    ],
    run: compileCommand,
  },
  check: {
    usage: 'seqc check SPEC|DIR … [--json]',
    summary:
      'Check specs, and the .seq files directly inside folders, and report their diagnostics without writing anything.',
    flags: [help],
    run: checkCommand,
  },
  summary: {
    usage: 'seqc summary SPEC',
    summary: 'Print a table of the layers: label, layer, output shape and parameter count.',
    flags: [help],
    run: summaryCommand,
  },
  run: {
    usage:
      'seqc run MODEL.onnx|SPEC --input NAME=JSON [--input NAME=@FILE.json …] [--text [NAME=]TEXT --tokenizer [NAME=]FILE] [--weights W] [--seed N]',
    summary:
      'Run a compiled model (or compile a spec and run it) on onnxruntime-node and print its outputs as JSON.\nA missing lengths input means every row is full length; missing state inputs are zeros.',
    flags: [
      {
        name: 'input',
        alias: 'i',
        takesValue: true,
        repeatable: true,
        description: 'NAME=JSON nested list, or NAME=@file.json',
      },
      {
        name: 'text',
        takesValue: true,
        repeatable: true,
        description: '[NAME=]TEXT: one row of a token-id input as text, read by --tokenizer',
      },
      {
        name: 'tokenizer',
        takesValue: true,
        repeatable: true,
        description: '[NAME=]FILE: a tokenizer.json or JSON list of tokens for the text inputs',
      },
      weightsFlag,
      seedFlag,
      opsetFlag,
      {
        name: 'ep',
        takesValue: true,
        description: 'execution providers in order: cpu (default), cuda, or a list such as cuda,cpu',
      },
      help,
    ],
    run: runCommand,
  },
  generate: {
    usage:
      'seqc generate SPEC|BUNDLE.onnx|BUNDLE.manifest.json --src "…" [--src "…" …] | --text "…" [--beam N] [--nbest K] | --prompt "…" [--sample]',
    summary:
      'Decode with a model that has a decoder: greedy (default), beam search or sampling, and print the results as JSON.\nSources and prompts are space-separated token ids, or text with --src-vocab/--tgt-vocab (tokenizer.json files or JSON lists of tokens).\n--text reads text through the tokenizers a bundle carries (seqc compile --tokenizer), and results then carry text.',
    flags: [
      { name: 'src', takesValue: true, repeatable: true, description: 'a source sequence (one per row of the batch)' },
      {
        name: 'prompt',
        takesValue: true,
        repeatable: true,
        description: 'a prompt for a language model (may be empty)',
      },
      { name: 'beam', takesValue: true, description: 'beam search with this width (1 to 256)' },
      { name: 'nbest', takesValue: true, description: 'hypotheses to return per row (beam search; default 1)' },
      { name: 'length-penalty', takesValue: true, description: 'GNMT length penalty α for beam search (default 0)' },
      { name: 'min-length', takesValue: true, description: 'tokens before eos is allowed (default 0)' },
      {
        name: 'max-length',
        takesValue: true,
        description: "the most tokens generated, 1 to 4096 (default: the decoder's max_length)",
      },
      { name: 'sample', takesValue: false, description: 'sample instead of searching' },
      { name: 'temperature', takesValue: true, description: 'sampling temperature, at least 1e-6 (default 1)' },
      { name: 'top-k', takesValue: true, description: 'sample among the k most likely tokens' },
      { name: 'top-p', takesValue: true, description: 'sample among the most likely tokens holding probability p' },
      { name: 'sample-seed', takesValue: true, description: 'seed for sampling (default 0)' },
      {
        name: 'greedy-graph',
        takesValue: false,
        description: 'decode greedily with the self-contained ONNX Loop graph, to its compiled max_length',
      },
      { name: 'attention', takesValue: false, description: 'include attention weights in the output' },
      {
        name: 'src-vocab',
        takesValue: true,
        description: 'JSON list of source tokens (index = id) to read --src as text',
      },
      {
        name: 'tgt-vocab',
        takesValue: true,
        description: 'JSON list of target tokens to read --prompt and print results as text',
      },
      {
        name: 'text',
        takesValue: true,
        repeatable: true,
        description: 'a source (or a prompt) as text, read by the tokenizer (one per row)',
      },
      {
        name: 'tokenizer',
        takesValue: true,
        description: "a tokenizer.json or JSON list of tokens for both sides, in place of the bundle's",
      },
      weightsFlag,
      seedFlag,
      opsetFlag,
      help,
    ],
    run: generateCommand,
  },
  build: {
    usage: 'seqc build [DIR=specs] [--out DIR=generated] [--run] [--quantize int8|int8-weights] [--precision fp16]',
    summary:
      'Compile every .seq in DIR into OUT: NAME.onnx, text dumps NAME.onnx.txt and NAME.ir.txt, and NAME.summary.txt.\nA bundle takes the tokenizers beside its spec: NAME.tokenizer.json, or NAME.src-tokenizer.json and NAME.tgt-tokenizer.json.',
    flags: [
      { name: 'out', alias: 'o', takesValue: true, description: 'output folder (default generated)' },
      seedFlag,
      opsetFlag,
      targetFlag,
      quantizeFlag,
      precisionFlag,
      { name: 'run', takesValue: false, description: 'also run each model once on an example batch' },
      help,
    ],
    run: buildCommand,
  },
  emit: {
    usage: 'seqc emit pytorch SPEC [-o FILE.py]',
    summary:
      "Write the spec as a PyTorch module (default output: SPEC with the extension .py).\nIts state_dict() keys are the spec's parameters; forward() computes what the compiled graph computes.",
    flags: [{ name: 'out', alias: 'o', takesValue: true, description: 'where to write the Python file' }, help],
    run: emitCommand,
  },
  serve: {
    usage:
      'seqc serve MODEL.onnx|BUNDLE.manifest.json|SPEC|DIR … [--port N] [--host H] [--max-batch N] [--batch-window-ms N]',
    summary:
      'Serve models and bundles over the KServe v2 / Open Inference Protocol (REST): health, metadata, infer with dynamic batching,\nsequences of stateful models, and generation (JSON or server-sent events) for bundles.',
    flags: [...serveFlags, help],
    run: serveCommand,
  },
  export: {
    usage: 'seqc export triton SPEC|MODEL.onnx|BUNDLE.manifest.json --out REPO/ [--max-batch N]',
    summary:
      'Write a Triton Inference Server model repository (ONNX Runtime backend): config.pbtxt and 1/model.onnx per model.',
    flags: [...exportFlags, help],
    run: exportCommand,
  },
  import: {
    usage: importUsage,
    summary:
      'Import a Keras Sequential model (TF.js Layers model.json with its shards, .keras or legacy .h5) as NAME.seq and NAME.safetensors that compile to the same function.\nDefault output: MODEL with the extension .seq. Layers or options seqc cannot express exactly are errors, never approximations.',
    flags: importFlags,
    run: importCommand,
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
    report(
      [
        error(
          'SEQ200',
          spanOfWhole('<command line>'),
          `unknown command \`${name}\``,
          suggestion !== undefined ? `did you mean \`${suggestion}\`?` : `commands: ${names.join(', ')}`,
          { found: name, expected: names },
        ),
      ],
      new Map(),
      io,
    );
    return ExitCode.usage;
  }
  // Every command takes `--json`; it is honoured from the first problem on, usage problems included.
  if (!rest.includes('--json')) return dispatch(command, name, rest, io);
  const json: JsonReport = { diagnostics: [] };
  const exitCode = await dispatch(command, name, rest, { ...io, out: () => {}, json });
  io.out(jsonDocument(json, exitCode));
  return exitCode;
}

async function dispatch(command: Command, name: string, rest: readonly string[], io: Io): Promise<number> {
  const flags = [...command.flags, jsonFlag];
  const parsed = parseArgs(rest, flags, name);
  if (parsed.args === undefined) {
    report(parsed.diagnostics, new Map(), io);
    return ExitCode.usage;
  }
  if (parsed.args.flags.has('help')) {
    io.out(helpText(command.usage, command.summary, flags));
    return ExitCode.ok;
  }
  try {
    return await command.run(parsed.args, io);
  } catch (e) {
    // Reaching here is a bug in seqc, not a problem with the user's input.
    io.err(
      `internal error in seqc ${seqcVersion}: ${(e as Error).stack ?? String(e)}\nPlease report it with the spec that caused it.\n`,
    );
    return 70;
  }
}
