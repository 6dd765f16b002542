// Diagnostics are data: a code from the catalogue, a span in some source, the facts, and a hint.

import type { DiagnosticCode } from './catalogue.js';

/** A position in a source text; line and column are 1-based, offset is 0-based. */
export interface Position {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/**
 * A half-open range [start, end) in one source. `source` names where it is: a spec path, a
 * weights file, `<command line>`, or an input name. Spans outside a text have line 0.
 */
export interface Span {
  readonly source: string;
  readonly start: Position;
  readonly end: Position;
}

export type Severity = 'error' | 'warning';

export interface RelatedInformation {
  readonly span: Span;
  readonly message: string;
}

/**
 * What a diagnostic found and what was expected, as data beside the message, so that tools and
 * tests need not read the wording. Every key is optional; a code fills the ones that apply.
 */
export interface Facts {
  /** The names involved, most important first: a layer, label, input, output, argument, tensor or flag. */
  readonly names?: readonly string[];
  /** What was expected: a type as seqc prints it (`float32[batch, time, 8]`), a rank, a size, a kind, a form. */
  readonly expected?: string | number | readonly string[];
  /** What was found instead, in the same form as `expected`. */
  readonly found?: string | number;
  /** A bound that was passed (an allowed maximum, a count), where there is one. */
  readonly limit?: number;
  /** An allowed range of numbers, both ends included unless the message says otherwise. */
  readonly range?: readonly [number, number];
  /** A flag of the command line (`--opset`) and the value it was given. */
  readonly flag?: string;
  readonly value?: string;
  /** An input of a model (`seqc run`) and, where one item is at fault, its position by axis. */
  readonly input?: string;
  readonly position?: readonly number[];
  /** SEQ102: the tensors the weights file lacks, those it has that the model does not, and those of the wrong shape. */
  readonly missing?: readonly string[];
  readonly unexpected?: readonly string[];
  readonly misshaped?: readonly {
    readonly name: string;
    readonly expected: readonly number[];
    readonly found: readonly number[];
  }[];
}

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly span: Span;
  readonly message: string;
  readonly hint?: string;
  readonly related?: readonly RelatedInformation[];
  /** What was found and what was expected, as data (see `Facts`); `--json` prints it. */
  readonly facts?: Facts;
}

/** A span for things that have no text position, such as a whole file or a flag. */
export function spanOfWhole(source: string): Span {
  const origin = { offset: 0, line: 0, column: 0 };
  return { source, start: origin, end: origin };
}

export function error(code: DiagnosticCode, span: Span, message: string, hint?: string, facts?: Facts): Diagnostic {
  return diagnostic(code, 'error', span, message, hint, facts);
}

export function warning(code: DiagnosticCode, span: Span, message: string, hint?: string, facts?: Facts): Diagnostic {
  return diagnostic(code, 'warning', span, message, hint, facts);
}

function diagnostic(
  code: DiagnosticCode,
  severity: Severity,
  span: Span,
  message: string,
  hint: string | undefined,
  facts: Facts | undefined,
): Diagnostic {
  return {
    code,
    severity,
    span,
    message,
    ...(hint === undefined ? {} : { hint }),
    ...(facts === undefined ? {} : { facts }),
  };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/**
 * Diagnostics in reading order: grouped by source in the order the sources first appear, then by
 * line and column. The sort is stable, so diagnostics at one place keep the order they were found in.
 */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const sourceOrder = new Map<string, number>();
  for (const d of diagnostics) if (!sourceOrder.has(d.span.source)) sourceOrder.set(d.span.source, sourceOrder.size);
  return [...diagnostics].sort(
    (a, b) =>
      sourceOrder.get(a.span.source)! - sourceOrder.get(b.span.source)! ||
      a.span.start.line - b.span.start.line ||
      a.span.start.column - b.span.start.column,
  );
}

/** The most diagnostics one run reports; past it, one SEQ005 diagnostic counts the rest. */
export const maxDiagnostics = 100;

/**
 * Keeps the first `maxDiagnostics` diagnostics and replaces the others with one that counts them.
 * That one is an error when any it stands for is an error, so a capped list fails exactly when the
 * whole list would. Its span is the whole of `source`.
 */
export function capDiagnostics(ds: readonly Diagnostic[], source: string): readonly Diagnostic[] {
  if (ds.length <= maxDiagnostics) return ds;
  const dropped = ds.slice(maxDiagnostics);
  const errors = dropped.filter((d) => d.severity === 'error').length;
  const warnings = dropped.length - errors;
  const counts = [
    errors > 0 ? `${errors} error${errors === 1 ? '' : 's'}` : '',
    warnings > 0 ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '',
  ]
    .filter((c) => c !== '')
    .join(' and ');
  const message = `${dropped.length} more diagnostics (${counts}) are not shown; seqc reports at most ${maxDiagnostics}`;
  const hint = 'fix the ones shown and run again; the limit cannot be raised';
  const note =
    errors > 0
      ? error('SEQ005', spanOfWhole(source), message, hint)
      : warning('SEQ005', spanOfWhole(source), message, hint);
  return [...ds.slice(0, maxDiagnostics), note];
}

/** Why a file could not be read or written, in words: Node's common error codes named, others as their message. */
export function fileProblem(e: unknown): string {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
}
