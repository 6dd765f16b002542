// The spec editor: a plain textarea over two aligned layers that wrap long lines as it does, one with the TextMate colours and one with a squiggle under each diagnostic's span, whose message shows on hover.

import type { Diagnostic, Span } from '../../src/index.js';
import { scopeClass, type Token } from './highlight.js';

export interface Editor {
  readonly textarea: HTMLTextAreaElement;
  text(): string;
  setText(text: string): void;
  setDiagnostics(diagnostics: readonly Diagnostic[]): void;
  /** Selects a span's text and scrolls it into view. */
  reveal(span: Span): void;
  onChange(listener: (text: string) => void): void;
}

/** Builds the editor inside `host`. */
export function createEditor(host: HTMLElement, tokenize: (text: string) => Token[]): Editor {
  host.classList.add('editor');
  host.innerHTML =
    '<div class="editor-layers" aria-hidden="true"><pre class="editor-highlight"></pre><pre class="editor-squiggles"></pre></div><textarea class="editor-input" spellcheck="false" autocapitalize="off" autocomplete="off" wrap="soft" aria-label="spec"></textarea><div class="editor-tooltip" role="tooltip" hidden></div>';
  const textarea = host.querySelector<HTMLTextAreaElement>('.editor-input')!;
  const highlightLayer = host.querySelector<HTMLPreElement>('.editor-highlight')!;
  const squiggleLayer = host.querySelector<HTMLPreElement>('.editor-squiggles')!;
  const tooltip = host.querySelector<HTMLDivElement>('.editor-tooltip')!;
  const listeners: ((text: string) => void)[] = [];
  let diagnostics: readonly Diagnostic[] = [];

  const renderHighlight = (): void => {
    highlightLayer.innerHTML = highlightHtml(textarea.value, tokenize(textarea.value));
    // A vertical scrollbar that comes or goes with the text changes the width lines wrap at.
    syncWidth();
  };
  const renderSquiggles = (): void => {
    squiggleLayer.innerHTML = squiggleHtml(textarea.value, diagnostics);
  };
  // The layers wrap lines as the textarea does: same width as its content box, same font and wrapping rules.
  const syncWidth = (): void => {
    const width = `${textarea.clientWidth}px`;
    highlightLayer.style.width = width;
    squiggleLayer.style.width = width;
  };
  new ResizeObserver(syncWidth).observe(textarea);
  const syncScroll = (): void => {
    const shift = `translate(${-textarea.scrollLeft}px, ${-textarea.scrollTop}px)`;
    highlightLayer.style.transform = shift;
    squiggleLayer.style.transform = shift;
  };

  textarea.addEventListener('input', () => {
    renderHighlight();
    // Old squiggles would point at moved text; the next check draws new ones.
    diagnostics = [];
    renderSquiggles();
    syncScroll();
    for (const listener of listeners) listener(textarea.value);
  });
  textarea.addEventListener('scroll', syncScroll);
  textarea.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab' || event.shiftKey || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    textarea.setRangeText('  ', textarea.selectionStart, textarea.selectionEnd, 'end');
    textarea.dispatchEvent(new Event('input'));
  });
  textarea.addEventListener('mousemove', (event) => showTooltip(event.clientX, event.clientY));
  textarea.addEventListener('mouseleave', () => {
    tooltip.hidden = true;
  });

  /** Shows the messages of the squiggles under the pointer, if any. */
  const showTooltip = (x: number, y: number): void => {
    const hits = new Set<number>();
    for (const element of Array.from(squiggleLayer.querySelectorAll<HTMLElement>('.squiggle'))) {
      const inside = Array.from(element.getClientRects()).some(
        (r) => x >= r.left - 1 && x <= r.right + 1 && y >= r.top - 2 && y <= r.bottom + 3,
      );
      if (inside) for (const index of element.dataset['diagnostics']!.split(' ')) hits.add(Number(index));
    }
    if (hits.size === 0) {
      tooltip.hidden = true;
      return;
    }
    tooltip.innerHTML = [...hits].map((i) => diagnosticHtml(diagnostics[i]!)).join('');
    const box = host.getBoundingClientRect();
    tooltip.style.left = `${Math.max(0, x - box.left + 8)}px`;
    tooltip.style.top = `${y - box.top + 16}px`;
    tooltip.hidden = false;
  };

  renderHighlight();
  return {
    textarea,
    text: () => textarea.value,
    setText: (text) => {
      textarea.value = text;
      textarea.scrollTop = 0;
      textarea.scrollLeft = 0;
      textarea.dispatchEvent(new Event('input'));
    },
    setDiagnostics: (next) => {
      diagnostics = next;
      renderSquiggles();
      syncScroll();
    },
    reveal: (span) => {
      textarea.focus();
      textarea.setSelectionRange(span.start.offset, Math.max(span.end.offset, span.start.offset));
      const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
      textarea.scrollTop = Math.max(0, (span.start.line - 3) * lineHeight);
      syncScroll();
    },
    onChange: (listener) => {
      listeners.push(listener);
    },
  };
}

/** One diagnostic as the tooltip and the list show it: `error[SEQ020]: message`, then the hint. */
export function diagnosticHtml(d: Diagnostic): string {
  const where =
    d.span.start.line > 0 ? ` <span class="diagnostic-where">${d.span.start.line}:${d.span.start.column}</span>` : '';
  const hint = d.hint === undefined ? '' : `<div class="diagnostic-hint">hint: ${escapeHtml(d.hint)}</div>`;
  const related = (d.related ?? [])
    .map(
      (r) =>
        `<div class="diagnostic-related">${r.span.start.line}:${r.span.start.column}: ${escapeHtml(r.message)}</div>`,
    )
    .join('');
  return `<div class="diagnostic diagnostic-${d.severity}"><span class="diagnostic-code">${d.severity}[${d.code}]</span>${where}: <span class="diagnostic-message">${escapeHtml(d.message)}</span>${hint}${related}</div>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// Internals.

function highlightHtml(text: string, tokens: readonly Token[]): string {
  let html = '';
  let at = 0;
  for (const t of tokens) {
    if (t.start < at) continue;
    html += escapeHtml(text.slice(at, t.start));
    html += `<span class="${scopeClass(t.scope)}">${escapeHtml(text.slice(t.start, t.end))}</span>`;
    at = t.end;
  }
  // A trailing newline needs a character after it, or the last line has no height.
  return `${html}${escapeHtml(text.slice(at))}\n`;
}

/**
 * The text again, invisible, with each diagnostic's span wrapped in a squiggle element that carries
 * the diagnostic's code and position. Overlapping spans are cut at every boundary; an empty span (an
 * error at the end of a line) becomes a small mark of its own.
 */
function squiggleHtml(text: string, diagnostics: readonly Diagnostic[]): string {
  const ranges = diagnostics.flatMap((d, index) => {
    if (d.span.start.line < 1) return [];
    const start = Math.min(d.span.start.offset, text.length);
    let end = Math.min(Math.max(d.span.end.offset, start), text.length);
    // Underlining a newline shows nothing: stop the span before trailing line ends.
    while (end > start && text[end - 1] === '\n') end--;
    if (end === start && start < text.length && text[start] !== '\n') end = start + 1;
    return [{ index, start, end }];
  });
  const cuts = [...new Set([0, text.length, ...ranges.flatMap((r) => [r.start, r.end])])].sort((a, b) => a - b);
  let html = '';
  for (let i = 0; i < cuts.length; i++) {
    const at = cuts[i]!;
    for (const point of ranges.filter((r) => r.start === at && r.end === at))
      html += squiggleElement([point.index], diagnostics, '', true);
    const next = cuts[i + 1];
    if (next === undefined) break;
    const covering = ranges.filter((r) => r.start <= at && r.end >= next && r.end > r.start).map((r) => r.index);
    const piece = text.slice(at, next);
    html += covering.length === 0 ? escapeHtml(piece) : squiggleElement(covering, diagnostics, piece, false);
  }
  return `${html}\n`;
}

function squiggleElement(
  indices: readonly number[],
  diagnostics: readonly Diagnostic[],
  piece: string,
  point: boolean,
): string {
  const first = diagnostics[indices[0]!]!;
  const severity = indices.some((i) => diagnostics[i]!.severity === 'error') ? 'error' : 'warning';
  const attributes = [
    `class="squiggle squiggle-${severity}${point ? ' squiggle-point' : ''}"`,
    `data-diagnostics="${indices.join(' ')}"`,
    `data-code="${first.code}"`,
    `data-line="${first.span.start.line}"`,
    `data-column="${first.span.start.column}"`,
    `data-end-line="${first.span.end.line}"`,
    `data-end-column="${first.span.end.column}"`,
    `data-message="${escapeHtml(first.message)}"`,
  ].join(' ');
  return `<span ${attributes}>${escapeHtml(piece)}</span>`;
}
