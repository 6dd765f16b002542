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

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly span: Span;
  readonly message: string;
  readonly hint?: string;
  readonly related?: readonly RelatedInformation[];
}

/** A span for things that have no text position, such as a whole file or a flag. */
export function spanOfWhole(source: string): Span {
  const origin = { offset: 0, line: 0, column: 0 };
  return { source, start: origin, end: origin };
}

export function error(code: DiagnosticCode, span: Span, message: string, hint?: string): Diagnostic {
  return hint === undefined ? { code, severity: 'error', span, message } : { code, severity: 'error', span, message, hint };
}

export function warning(code: DiagnosticCode, span: Span, message: string, hint?: string): Diagnostic {
  return hint === undefined
    ? { code, severity: 'warning', span, message }
    : { code, severity: 'warning', span, message, hint };
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
  const counts = [errors > 0 ? `${errors} error${errors === 1 ? '' : 's'}` : '', warnings > 0 ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '']
    .filter((c) => c !== '')
    .join(' and ');
  const message = `${dropped.length} more diagnostics (${counts}) are not shown; seqc reports at most ${maxDiagnostics}`;
  const hint = 'fix the ones shown and run again; the limit cannot be raised';
  const note = errors > 0 ? error('SEQ005', spanOfWhole(source), message, hint) : warning('SEQ005', spanOfWhole(source), message, hint);
  return [...ds.slice(0, maxDiagnostics), note];
}
