// `seqc check` (any number of specs and folders of specs) and `seqc summary`: the front half of the compiler, nothing written.

import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkSource } from '../index.js';
import { error, hasErrors, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formatSummary } from '../summary/summary.js';
import { type ParsedArgs } from './args.js';
import { emit, ExitCode, fileError, onePositional, readText, report, usage, type Io } from './io.js';

/** One checked file in `seqc check --json`'s result. */
export interface CheckedFile {
  readonly file: string;
  readonly errors: number;
  readonly warnings: number;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Checks every spec named, and every `.seq` directly inside each folder named (sorted by name,
 * not recursive), each once. Exit status 1 when any has an error or cannot be read.
 */
export async function checkCommand(args: ParsedArgs, io: Io): Promise<number> {
  if (args.positionals.length === 0) return usage(io, '`seqc check` needs .seq files or folders of them', 'check');
  const listed = specFiles(args.positionals);
  report(listed.diagnostics, new Map(), io);
  const checked: CheckedFile[] = [];
  for (const path of listed.files) {
    const spec = readText(path, 'spec');
    const diagnostics =
      spec.text === undefined ? spec.diagnostics : [...checkSource(spec.text, { sourceName: path }).diagnostics];
    report(diagnostics, new Map(spec.text === undefined ? [] : [[path, spec.text]]), io);
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    checked.push({ file: path, errors, warnings: diagnostics.length - errors, diagnostics });
  }
  emit(io, { files: checked }, checkedText(checked));
  const failed = hasErrors(listed.diagnostics) || checked.some((f) => f.errors > 0);
  return failed ? ExitCode.diagnostics : ExitCode.ok;
}

/** The specs the arguments name, in order and without repeats; a folder gives its `.seq` files sorted by name. */
function specFiles(paths: readonly string[]): { files: string[]; diagnostics: Diagnostic[] } {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  const add = (path: string): void => {
    const key = resolve(path);
    if (seen.has(key)) return;
    seen.add(key);
    files.push(path);
  };
  for (const path of paths) {
    let isFolder = false;
    try {
      isFolder = statSync(path).isDirectory();
    } catch {
      // Reading it reports why it cannot be read, in that file's entry.
    }
    if (!isFolder) {
      add(path);
      continue;
    }
    let specs: string[];
    try {
      specs = readdirSync(path)
        .filter((f) => f.endsWith('.seq'))
        .sort()
        .map((f) => join(path, f));
    } catch (e) {
      diagnostics.push(fileError(path, e));
      continue;
    }
    if (specs.length === 0)
      diagnostics.push(
        error(
          'SEQ202',
          spanOfWhole(path),
          `${path} holds no .seq files`,
          'seqc check reads the .seq files directly inside a folder, not those in its subfolders',
          { names: [path], expected: '.seq files', found: 0 },
        ),
      );
    for (const spec of specs) add(spec);
  }
  return { files, diagnostics };
}

/** A line per file without problems (those with problems have their diagnostics), and a count when there are several. */
function checkedText(checked: readonly CheckedFile[]): string {
  const lines = checked.filter((f) => f.diagnostics.length === 0).map((f) => `${f.file}: no problems`);
  if (checked.length > 1) {
    const withErrors = checked.filter((f) => f.errors > 0).length;
    const withWarnings = checked.filter((f) => f.errors === 0 && f.warnings > 0).length;
    const parts = [
      withErrors > 0 ? `${withErrors} with errors` : '',
      withWarnings > 0 ? `${withWarnings} with warnings only` : '',
    ].filter((p) => p !== '');
    lines.push(`checked ${checked.length} files${parts.length > 0 ? `: ${parts.join(', ')}` : ', no problems'}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
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
  emit(io, checked.summary, formatSummary(checked.summary));
  return ExitCode.ok;
}
