// `seqc run`: a compiled model or a spec on onnxruntime-node, inputs from the command line, outputs as JSON.

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { tensorFromNested, type TensorData } from '../runtime/inputs.js';
import { loadModel, runModel, toNested } from '../runtime/node.js';
import { type ParsedArgs } from './args.js';
import { compactJson, compileFromArgs, ExitCode, onePositional, readBytes, readText, report, type Io } from './io.js';

export async function runCommand(args: ParsedArgs, io: Io): Promise<number> {
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
