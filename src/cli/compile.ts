// `seqc compile`: one spec into an ONNX model, or a decoder model into its bundle.

import { basename, dirname, extname, join } from 'node:path';
import { type ParsedArgs } from './args.js';
import { writeBundle } from './bundle.js';
import { compileFromArgs, ExitCode, onePositional, report, writeAtomically, type Io } from './io.js';

export async function compileCommand(args: ParsedArgs, io: Io): Promise<number> {
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
