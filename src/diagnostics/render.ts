// Renders diagnostics for people (source line, caret, hint; rustc/Elm style) and as JSON for tools.

import type { Diagnostic } from './diagnostic.js';

export interface RenderOptions {
  /** ANSI colors; the CLI turns them on only when writing to a terminal. */
  readonly color: boolean;
}

/** Excerpt lines longer than this many characters are cut to a window around the span, marked with `…`. */
export const excerptWidth = 120;

const ansi = { red: '\x1b[31;1m', yellow: '\x1b[33;1m', blue: '\x1b[34;1m', bold: '\x1b[1m', reset: '\x1b[0m' };

/** `sources` maps a span's source name to its text, so the offending line can be shown. */
export function renderDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, string>, options: RenderOptions): string {
  const paint = (style: keyof typeof ansi, text: string): string =>
    options.color ? `${ansi[style]}${text}${ansi.reset}` : text;
  const severityStyle = d.severity === 'error' ? 'red' : 'yellow';
  const [headline, ...details] = d.message.split('\n').map(escapeControls);
  const lines = [`${paint(severityStyle, `${d.severity}[${d.code}]`)}${paint('bold', `: ${headline}`)}`];
  const excerpt = codeExcerpt(
    d.span,
    sources,
    (t) => paint(severityStyle, t),
    (t) => paint('blue', t),
  );
  lines.push(...excerpt);
  for (const detail of details) lines.push(`   ${detail}`);
  for (const r of d.related ?? []) {
    lines.push(`${paint('blue', '   = note')}: ${escapeControls(r.message)} (${escapeControls(location(r.span))})`);
  }
  if (d.hint !== undefined)
    lines.push(`${paint('blue', '   = hint')}: ${d.hint.split('\n').map(escapeControls).join('\n')}`);
  return lines.join('\n');
}

/**
 * Makes text from a spec safe to print: a control character (an escape that would recolor or
 * move the terminal's cursor, a NUL, a bell) becomes its visible picture (`␛`, `␀`), and invisible
 * or direction-changing format characters become `�`. Each stays one character, so carets still
 * line up; tabs stay tabs.
 */
export function escapeControls(text: string): string {
  return text.replace(unsafeCharacters, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return '\u2421';
    return '\ufffd';
  });
}

// C0 controls but tab, DEL, C1 controls, zero-width and bidirectional format characters, line and
// paragraph separators, and the byte-order mark.
const unsafeCharacters = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

export function renderDiagnostics(
  ds: readonly Diagnostic[],
  sources: ReadonlyMap<string, string>,
  options: RenderOptions,
): string {
  const errors = ds.filter((d) => d.severity === 'error').length;
  const warnings = ds.length - errors;
  const parts = ds.map((d) => renderDiagnostic(d, sources, options));
  if (errors > 0 || warnings > 0) {
    const count = [
      errors > 0 ? `${errors} error${errors === 1 ? '' : 's'}` : '',
      warnings > 0 ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '',
    ]
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
  if (span.start.line === 0 || text === undefined) return [`${gutter('  -->')} ${escapeControls(location(span))}`];
  let line = sourceLine(text, span.start.line);
  let startColumn = span.start.column;
  let endColumn = span.end.line === span.start.line ? span.end.column : line.length + 1;
  // A byte-order mark is counted in columns but drawn as nothing; leave it out of both lines.
  if (span.start.line === 1 && line.startsWith('\ufeff')) {
    line = line.slice(1);
    startColumn = Math.max(1, startColumn - 1);
    endColumn = Math.max(startColumn, endColumn - 1);
  }
  const window = excerptWindow(line, startColumn, endColumn);
  const number = String(span.start.line);
  const pad = ' '.repeat(number.length);
  const shown = escapeControls(window.text);
  const width = Math.max(1, Math.min(endColumn, window.lastColumn + 1) - startColumn);
  const before = shown.slice(0, Math.max(0, startColumn - window.firstColumn + window.prefix.length));
  return [
    `${pad}${gutter('--> ')}${escapeControls(location(span))}`,
    `${pad} ${gutter('|')}`,
    `${gutter(`${number} |`)} ${shown}`,
    // Tabs stay tabs under the line, so the caret lines up however wide the terminal draws them.
    `${pad} ${gutter('|')} ${before.replace(/[^\t]/g, ' ')}${mark('^'.repeat(width))}`,
  ];
}

/**
 * The part of a line to show: the whole line when it is short, otherwise `excerptWidth`
 * characters starting a little before the span, with `…` where text was cut. `firstColumn` and
 * `lastColumn` are the line's columns the window shows; `prefix` is what stands before them.
 */
function excerptWindow(
  line: string,
  startColumn: number,
  endColumn: number,
): { text: string; prefix: string; firstColumn: number; lastColumn: number } {
  if (line.length <= excerptWidth) return { text: line, prefix: '', firstColumn: 1, lastColumn: line.length };
  const lead = Math.min(40, Math.max(0, excerptWidth - (endColumn - startColumn)));
  const firstColumn = Math.max(1, Math.min(startColumn - lead, line.length - excerptWidth + 1));
  const lastColumn = Math.min(line.length, firstColumn + excerptWidth - 1);
  const prefix = firstColumn > 1 ? '…' : '';
  const suffix = lastColumn < line.length ? '…' : '';
  return { text: `${prefix}${line.slice(firstColumn - 1, lastColumn)}${suffix}`, prefix, firstColumn, lastColumn };
}

/**
 * Line `number` (1-based) of `text`, where \r\n, \r and \n end lines. The text's line starts are
 * found once and kept for the next call, so rendering many diagnostics of one text is linear.
 */
function sourceLine(text: string, number: number): string {
  if (lineCache?.text !== text) lineCache = { text, starts: lineStarts(text) };
  const starts = lineCache.starts;
  if (number < 1 || number > starts.length) return '';
  const start = starts[number - 1]!;
  let end = number < starts.length ? starts[number]! - 1 : text.length;
  if (number < starts.length && text[end] === '\n' && text[end - 1] === '\r' && end - 1 >= start) end--;
  return text.slice(start, end);
}

let lineCache: { readonly text: string; readonly starts: readonly number[] } | undefined;

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    }
  }
  return starts;
}
