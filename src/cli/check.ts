// `seqc check` and `seqc summary`: the front half of the compiler, nothing written.

import { checkSource } from '../index.js';
import { hasErrors } from '../diagnostics/diagnostic.js';
import { formatSummary } from '../summary/summary.js';
import { type ParsedArgs } from './args.js';
import { emit, ExitCode, onePositional, readText, report, type Io } from './io.js';

export async function checkCommand(args: ParsedArgs, io: Io): Promise<number> {
  const specPath = onePositional(args, io, 'check', 'a .seq file');
  if (specPath === undefined) return ExitCode.usage;
  const spec = readText(specPath, 'spec');
  const diagnostics = spec.text === undefined ? spec.diagnostics : [...checkSource(spec.text, { sourceName: specPath }).diagnostics];
  report(diagnostics, new Map(spec.text === undefined ? [] : [[specPath, spec.text]]), io);
  if (diagnostics.length === 0) emit(io, { file: specPath }, `${specPath}: no problems\n`);
  return hasErrors(diagnostics) ? ExitCode.diagnostics : ExitCode.ok;
}

export async function summaryCommand(args: ParsedArgs, io: Io): Promise<number> {
  const specPath = onePositional(args, io, 'summary', 'a .seq file');
  if (specPath === undefined) return ExitCode.usage;
  const spec = readText(specPath, 'spec');
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
