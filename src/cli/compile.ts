// `seqc compile`: one spec into an ONNX model, or a decoder model into its bundle.

import { basename, dirname, extname, join } from 'node:path';
import { type ParsedArgs } from './args.js';
import { tokenizersFromArgs, writeBundle } from './bundle.js';
import { compileFromArgs, emit, ExitCode, onePositional, report, writeFilesAtomically, type Io } from './io.js';
import { compileProgress } from './progress.js';

export async function compileCommand(args: ParsedArgs, io: Io): Promise<number> {
  const specPath = onePositional(args, io, 'compile', 'a .seq file');
  if (specPath === undefined) return ExitCode.usage;
  const out = args.flags.get('out')?.[0] ?? join(dirname(specPath), `${basename(specPath, extname(specPath))}.onnx`);
  // The weights file is named after the output, since the graphs record its name.
  const compiled = compileFromArgs(specPath, args, {
    bundleStem: basename(out).replace(/\.onnx$/, ''),
    onProgress: compileProgress(io, specPath),
  });
  report(compiled.diagnostics, compiled.sources, io);
  if (compiled.usageProblem) return ExitCode.usage;
  const model = compiled.result?.model;
  if (model === undefined) return ExitCode.diagnostics;
  const summary = compiled.result!.summary!;
  const bundle = compiled.result!.bundle;
  const tokenizers = tokenizersFromArgs(args, compiled.result!);
  report(tokenizers.diagnostics, compiled.sources, io);
  if (tokenizers.usageProblem) return ExitCode.usage;
  if (tokenizers.diagnostics.some((d) => d.severity === 'error')) return ExitCode.diagnostics;
  // No output may replace what was read: the spec, the weights or a tokenizer, by any path or link.
  const options = { inputs: [...compiled.inputs, ...tokenizers.inputs] };
  if (bundle !== undefined) {
    const written = await writeBundle(out, bundle, [], options, tokenizers.tokenizers);
    report(written.diagnostics, compiled.sources, io);
    if (written.written === undefined) return ExitCode.diagnostics;
    const result = { files: written.written, model: summary.name, parameters: summary.totalParameters };
    emit(
      io,
      result,
      `wrote ${written.written.join(', ')}: ${summary.name}, ${summary.totalParameters.toLocaleString('en-US')} parameters\n`,
    );
    return ExitCode.ok;
  }
  const weights = compiled.result!.weights;
  const weightsPath = weights === undefined ? undefined : join(dirname(out), weights.file);
  // The model and its weights file are written as one unit: both or neither.
  const files = [
    ...(weights === undefined ? [] : [{ path: weightsPath!, data: weights.bytes }]),
    { path: out, data: model },
  ];
  const failures = await writeFilesAtomically(files, options);
  if (failures.length > 0) {
    report(failures, compiled.sources, io);
    return ExitCode.diagnostics;
  }
  const beside =
    weights === undefined
      ? ''
      : ` and ${weightsPath} (${weights.bytes.length.toLocaleString('en-US')} bytes of weights)`;
  const result = {
    files: files.map((f) => f.path),
    model: summary.name,
    parameters: summary.totalParameters,
    bytes: model.length,
  };
  emit(
    io,
    result,
    `wrote ${out}${beside}: ${summary.name}, ${summary.totalParameters.toLocaleString('en-US')} parameters, ${model.length.toLocaleString('en-US')} bytes\n`,
  );
  return ExitCode.ok;
}
