// `seqc compile`: one spec into an ONNX model, or a decoder model into its bundle.

import { basename, dirname, extname, join } from 'node:path';
import { type ParsedArgs } from './args.js';
import { writeBundle } from './bundle.js';
import { compileFromArgs, ExitCode, onePositional, report, writeFileAtomically, type Io } from './io.js';

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
  // No output may replace what was read: the spec or the weights, by any path or link.
  const options = { inputs: compiled.inputs };
  if (bundle !== undefined) {
    const written = await writeBundle(out, bundle, [], options);
    report(written.diagnostics, compiled.sources, io);
    if (written.written === undefined) return ExitCode.diagnostics;
    io.out(`wrote ${written.written.join(', ')}: ${summary.name}, ${summary.totalParameters.toLocaleString('en-US')} parameters\n`);
    return ExitCode.ok;
  }
  const failures = await writeFileAtomically(out, model, options);
  if (failures.length > 0) {
    report(failures, compiled.sources, io);
    return ExitCode.diagnostics;
  }
  io.out(`wrote ${out}: ${summary.name}, ${summary.totalParameters.toLocaleString('en-US')} parameters, ${model.length.toLocaleString('en-US')} bytes\n`);
  return ExitCode.ok;
}
