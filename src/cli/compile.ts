// `seqc compile`: one spec into an ONNX model, or a decoder model into its bundle.

import { unlinkSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { type ParsedArgs } from './args.js';
import { writeBundle } from './bundle.js';
import { compileFromArgs, ExitCode, onePositional, report, writeAtomically, type Io } from './io.js';
import { compileProgress } from './progress.js';

export async function compileCommand(args: ParsedArgs, io: Io): Promise<number> {
  const specPath = onePositional(args, io, 'compile', 'a .seq file');
  if (specPath === undefined) return ExitCode.usage;
  const out = args.flags.get('out')?.[0] ?? join(dirname(specPath), `${basename(specPath, extname(specPath))}.onnx`);
  // The weights file is named after the output, since the graphs record its name.
  const compiled = compileFromArgs(specPath, args, { bundleStem: basename(out).replace(/\.onnx$/, ''), onProgress: compileProgress(io, specPath) });
  report(compiled.diagnostics, compiled.sources, io);
  if (compiled.usageProblem) return ExitCode.usage;
  const model = compiled.result?.model;
  if (model === undefined) return ExitCode.diagnostics;
  const summary = compiled.result!.summary!;
  const bundle = compiled.result!.bundle;
  if (bundle !== undefined) {
    // The bundle's names follow the output's stem; recompile cheaply is not needed: rename the entries.
    const written = writeBundle(out, bundle, (text) => report([text], compiled.sources, io));
    if (written === undefined) return ExitCode.diagnostics;
    io.out(`wrote ${written.join(', ')}: ${summary.name}, ${summary.totalParameters.toLocaleString('en-US')} parameters\n`);
    return ExitCode.ok;
  }
  const weights = compiled.result!.weights;
  const weightsPath = weights === undefined ? undefined : join(dirname(out), weights.file);
  const failure = (weights === undefined ? undefined : writeAtomically(weightsPath!, weights.bytes)) ?? writeAtomically(out, model);
  if (failure !== undefined) {
    if (weightsPath !== undefined && !failure.message.includes(weightsPath)) removeQuietly(weightsPath);
    report([failure], compiled.sources, io);
    return ExitCode.diagnostics;
  }
  const beside = weights === undefined ? '' : ` and ${weightsPath} (${weights.bytes.length.toLocaleString('en-US')} bytes of weights)`;
  io.out(`wrote ${out}${beside}: ${summary.name}, ${summary.totalParameters.toLocaleString('en-US')} parameters, ${model.length.toLocaleString('en-US')} bytes\n`);
  return ExitCode.ok;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // The write failure reported beside this says what went wrong.
  }
}
