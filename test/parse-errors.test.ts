// Parse errors are worded by seqc's error message provider and carry what was expected and found as facts.

import { describe, expect, it } from 'vitest';
import { checkSource } from '../src/index.js';

/** The diagnostics of a spec, which must all be parse errors. */
function parseErrors(source: string) {
  const { diagnostics } = checkSource(source);
  expect(diagnostics.map((d) => d.code)).toEqual(diagnostics.map(() => 'SEQ002'));
  return diagnostics;
}

describe('parse errors through the error message provider', () => {
  it('names the one token a rule required, and the token found, as message and facts', () => {
    const [d] = parseErrors('model M {\n  input x: int64[batch time]\n}\n');
    expect(d!.message).toBe("expected ']', found the name `time`");
    expect(d!.hint).toBe('separate dimensions with commas: `int64[batch, time]`');
    expect(d!.facts).toEqual({ expected: ["']'"], found: 'time' });
  });

  it('lists the start of every alternative when none fits, each once', () => {
    const [d] = parseErrors('model M {\n  x -> }\n');
    expect(d!.message).toBe("expected 'output' or a name, found `}`");
    expect(d!.facts).toEqual({ expected: ["'output'", 'a name'], found: '}' });
  });

  it('says the text ended, and expects nothing after the last model', () => {
    expect(parseErrors('model M {\n').map((d) => [d.message, d.facts])).toEqual([
      ["expected '}', found the end of the file", { expected: ["'}'"], found: 'end of file' }],
    ]);
    expect(parseErrors('model M {}\n}\n').map((d) => [d.message, d.facts])).toEqual([
      ['unexpected `}`', { expected: [], found: '}' }],
    ]);
  });

  it('never shows Chevrotain’s own wording', () => {
    const broken = [
      'model M { input x: int64[a b] }',
      'model M { x -> y(a=) }',
      'model M { 3 }',
      'model',
      'model M { x -> y z }',
      'model M {} }',
    ];
    for (const source of broken) {
      for (const d of checkSource(source).diagnostics)
        expect(d.message).not.toMatch(/Expecting|-->|<--|Token sequences|Redundant input/);
    }
  });
});
