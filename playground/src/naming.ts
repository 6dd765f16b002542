// Names the page derives from the spec being edited: the model's name, the file stem of its downloads, and whether the text is still a shipped example.

/** The name after `model` in a spec (comments skipped), or undefined when there is none yet. */
export function modelName(source: string): string | undefined {
  const code = source.replace(/#[^\n]*/g, '');
  return /\bmodel\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(code)?.[1];
}

/**
 * A model name as a file stem: snake case, as the shipped examples are named (`Sentiment` →
 * `sentiment`, `SimpleLSTM` → `simple_lstm`, `TinyTranslator` → `tiny_translator`).
 */
export function fileStem(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** The stem of the downloads for a spec: its model's name, or `fallback` while the spec names no model. */
export function stemOfSource(source: string, fallback: string): string {
  const name = modelName(source);
  return name === undefined ? fallback : fileStem(name);
}

/** Whether the editor's text is still the example's (trailing blank lines and CRLF aside). */
export function isExampleText(text: string, example: string): boolean {
  const normal = (s: string): string => s.replace(/\r\n?/g, '\n').replace(/\s+$/, '');
  return normal(text) === normal(example);
}
