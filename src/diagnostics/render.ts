// Renders diagnostics for people (source line, caret, hint; rustc/Elm style) and as JSON for tools.

import type { Diagnostic } from './diagnostic.js';

export interface RenderOptions {
  /** ANSI colors; the CLI turns them on only when writing to a terminal. */
  readonly color: boolean;
}

const ansi = { red: '\x1b[31;1m', yellow: '\x1b[33;1m', blue: '\x1b[34;1m', bold: '\x1b[1m', reset: '\x1b[0m' };

/** `sources` maps a span's source name to its text, so the offending line can be shown. */
export function renderDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, string>, options: RenderOptions): string {
  const paint = (style: keyof typeof ansi, text: string): string => (options.color ? `${ansi[style]}${text}${ansi.reset}` : text);
  const severityStyle = d.severity === 'error' ? 'red' : 'yellow';
  const [headline, ...details] = d.message.split('\n');
  const lines = [`${paint(severityStyle, `${d.severity}[${d.code}]`)}${paint('bold', `: ${headline}`)}`];
  const excerpt = codeExcerpt(d.span, sources, (t) => paint(severityStyle, t), (t) => paint('blue', t));
  lines.push(...excerpt);
  for (const detail of details) lines.push(`   ${detail}`);
  for (const r of d.related ?? []) {
    lines.push(`${paint('blue', '   = note')}: ${r.message} (${location(r.span)})`);
  }
  if (d.hint !== undefined) lines.push(`${paint('blue', '   = hint')}: ${d.hint}`);
  return lines.join('\n');
}

export function renderDiagnostics(ds: readonly Diagnostic[], sources: ReadonlyMap<string, string>, options: RenderOptions): string {
  const errors = ds.filter((d) => d.severity === 'error').length;
  const warnings = ds.length - errors;
  const parts = ds.map((d) => renderDiagnostic(d, sources, options));
  if (errors > 0 || warnings > 0) {
    const count = [errors > 0 ? `${errors} error${errors === 1 ? '' : 's'}` : '', warnings > 0 ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '']
      .filter((s) => s !== '')
      .join(', ');
    parts.push(count);
  }
  return `${parts.join('\n\n')}\n`;
}

export function diagnosticsToJson(ds: readonly Diagnostic[]): string {
  return `${JSON.stringify(ds, null, 2)}\n`;
}

function location(span: Diagnostic['span']): string {
  return span.start.line === 0 ? span.source : `${span.source}:${span.start.line}:${span.start.column}`;
}

function codeExcerpt(
  span: Diagnostic['span'],
  sources: ReadonlyMap<string, string>,
  mark: (t: string) => string,
  gutter: (t: string) => string,
): string[] {
  const text = sources.get(span.source);
  if (span.start.line === 0 || text === undefined) return [`${gutter('  -->')} ${location(span)}`];
  const sourceLines = text.split(/\r\n|\r|\n/);
  const line = sourceLines[span.start.line - 1] ?? '';
  const number = String(span.start.line);
  const pad = ' '.repeat(number.length);
  const endColumn = span.end.line === span.start.line ? span.end.column : line.length + 1;
  const width = Math.max(1, endColumn - span.start.column);
  return [
    `${pad}${gutter('--> ')}${location(span)}`,
    `${pad} ${gutter('|')}`,
    `${gutter(`${number} |`)} ${line}`,
    // Tabs stay tabs under the line, so the caret lines up however wide the terminal draws them.
    `${pad} ${gutter('|')} ${line.slice(0, Math.max(0, span.start.column - 1)).replace(/[^\t]/g, ' ')}${mark('^'.repeat(width))}`,
  ];
}
