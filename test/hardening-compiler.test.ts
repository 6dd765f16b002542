// The compiler under hostile input, as users met it: each stage in time linear in the spec, limits reported with codes, terminal-safe output, names ORT can run, checked options, finite weights.
//
// The time bounds are several times what the fixed code needs on a loaded two-core machine and
// far below what the quadratic code took (the figures in each test's comment), so a regression
// to quadratic time fails while ordinary noise does not.

import { describe, expect, it } from 'vitest';
import { checkSource, compile, writeSafetensors, type Diagnostic } from '../src/index.js';
import { renderDiagnostics } from '../src/diagnostics/render.js';
import { GraphBuilder } from '../src/lower/builder.js';

const spec = (...members: string[]): string => ['model M {', ...members.map((m) => `  ${m}`), '}', ''].join('\n');

/** Runs `f` and returns its result with the seconds it took. */
function timed<T>(f: () => T): { result: T; seconds: number } {
  const start = performance.now();
  const result = f();
  return { result, seconds: (performance.now() - start) / 1000 };
}

const codes = (ds: readonly Diagnostic[]): string[] => ds.map((d) => d.code);
const render = (ds: readonly Diagnostic[], text: string): string =>
  renderDiagnostics(ds, new Map([['<input>', text]]), { color: false });

describe('linear time', () => {
  it('checks 20,000 `-> relu` steps in seconds (auto-names were found by counting up from 2: 16 s)', () => {
    const text = spec('input x: float32[batch, time, 4]', `x${' -> relu'.repeat(20_000)} -> output y`);
    const { result, seconds } = timed(() => checkSource(text));
    expect(codes(result.diagnostics)).toEqual([]);
    expect(result.ir?.ops.length).toBe(20_000);
    expect(new Set(result.ir?.ops.map((o) => o.label)).size).toBe(20_000);
    expect(result.ir?.ops[1]?.label).toBe('relu_2');
    expect(seconds).toBeLessThan(6);
  });

  it('gives fresh graph names in linear time (50,000 of one base name)', () => {
    const b = new GraphBuilder(17);
    b.reserve('x_3');
    const { result, seconds } = timed(() => Array.from({ length: 50_000 }, () => b.fresh('x')));
    // The same names as counting up from 2 each time: x, x_2, x_4 (x_3 was taken), x_5, …
    expect(result.slice(0, 4)).toEqual(['x', 'x_2', 'x_4', 'x_5']);
    expect(new Set(result).size).toBe(50_000);
    expect(seconds).toBeLessThan(2);
  });

  it('looks initializers up by name, not by scanning them (10,000 weights)', () => {
    const b = new GraphBuilder(17);
    const { seconds } = timed(() => {
      for (let i = 0; i < 10_000; i++) b.floatInitializer(`w${i}`, [1], Float32Array.of(i));
      for (let i = 0; i < 10_000; i++) b.floatInitializer(`w${i}`, [1], Float32Array.of(-1));
    });
    expect(b.initializers.length).toBe(10_000);
    expect(b.initializers[7]!.floatData?.[0]).toBe(7);
    expect(seconds).toBeLessThan(2);
  });

  it('reports a megabyte of binary junk in seconds (each error scanned the text from offset 0: 136 s)', () => {
    let state = 12345;
    const junk = Array.from({ length: 1_000_000 }, () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return String.fromCharCode(state >>> 24);
    }).join('');
    const { result, seconds } = timed(() => checkSource(junk));
    expect(result.diagnostics.length).toBeGreaterThan(0);
    expect(result.diagnostics.length).toBeLessThanOrEqual(101);
    expect(result.diagnostics[0]!.hint).toBeDefined();
    expect(seconds).toBeLessThan(20);
  });

  it('reports 20,000 broken statements in seconds (the parser recovered from each, ten times over)', () => {
    const text = `model M {\n${'  x -> ->\n'.repeat(20_000)}}\n`;
    const { result, seconds } = timed(() => checkSource(text));
    expect(result.diagnostics[0]?.code).toBe('SEQ002');
    expect(result.diagnostics[0]?.span.start.line).toBe(2);
    expect(seconds).toBeLessThan(8);
  });

  it('renders 5,000 errors on one long line in bounded time and size (3.4 GB and 489 MB of output before)', () => {
    const text = spec(`${'$ '.repeat(5_000)}`);
    const checked = timed(() => checkSource(text));
    expect(checked.result.diagnostics.length).toBe(101);
    expect(checked.result.diagnostics[100]!.code).toBe('SEQ005');
    expect(checked.result.diagnostics[100]!.message).toMatch(/4900 more diagnostics \(4900 errors\) are not shown/);
    const rendered = timed(() => render(checked.result.diagnostics, text));
    expect(rendered.result.length).toBeLessThan(100_000);
    // Every excerpt line is cut to about 120 columns around its span.
    const excerptLines = rendered.result.split('\n').filter((l) => l.startsWith('2 | '));
    expect(excerptLines.length).toBe(100);
    for (const line of excerptLines) expect(line.length).toBeLessThanOrEqual(4 + 122);
    expect(checked.seconds + rendered.seconds).toBeLessThan(5);
  });

  it('refuses LSTM(hidden=1, layers=10000) at once (it took 37 s to compile): layers are at most 64', () => {
    const { result, seconds } = timed(() =>
      compile(spec('input x: float32[b, t, 1]', 'x -> LSTM(hidden=1, layers=10000) -> output y')),
    );
    expect(codes(result.diagnostics)).toEqual(['SEQ023']);
    expect(result.diagnostics[0]!.message).toMatch(/at most 64/);
    expect(seconds).toBeLessThan(2);
    const deepest = compile(spec('input x: float32[b, t, 1]', 'x -> LSTM(hidden=1, layers=64) -> output y'));
    expect(deepest.model).toBeDefined();
  });
});

describe('limits', () => {
  it('SEQ004: a spec over 1 MiB is refused before it is read', () => {
    const text = spec('input x: float32[b, t, 4]', 'x -> relu -> output y') + '#'.repeat(1_048_576);
    const { result, seconds } = timed(() => compile(text));
    expect(codes(result.diagnostics)).toEqual(['SEQ004']);
    expect(result.diagnostics[0]!.message).toMatch(/1,048,576/);
    expect(result.diagnostics[0]!.hint).toMatch(/cannot be raised/);
    expect(seconds).toBeLessThan(1);
  });

  it('SEQ005: past 100 diagnostics the rest are counted, and the count is an error when any of them is', () => {
    const lines = Array.from({ length: 150 }, (_, i) => `x -> Lsstm${i}(4) -> output y${i}`);
    const { diagnostics } = compile(spec('input x: float32[b, t, 4]', ...lines));
    expect(diagnostics.length).toBe(101);
    expect(diagnostics[100]).toMatchObject({ code: 'SEQ005', severity: 'error' });
    expect(diagnostics[100]!.message).toMatch(/^50 more diagnostics \(50 errors\)/);
    expect(diagnostics[100]!.hint).toBeDefined();
  });

  it('SEQ006: a name over 256 characters', () => {
    const { diagnostics } = compile(
      spec('input x: float32[b, t, 4]', `x -> ${'a'.repeat(257)}: Linear(2) -> output y`),
    );
    expect(codes(diagnostics)).toEqual(['SEQ006']);
    expect(diagnostics[0]!.span.start.column).toBe(8);
    expect(diagnostics[0]!.hint).toMatch(/256/);
    expect(
      codes(compile(spec('input x: float32[b, t, 4]', `x -> ${'a'.repeat(256)}: Linear(2) -> output y`)).diagnostics),
    ).toEqual([]);
  });

  it('SEQ007: more than 65,536 steps', () => {
    const { result, seconds } = timed(() =>
      compile(spec('input x: float32[b, t, 4]', `x${' -> relu'.repeat(70_000)} -> output y`)),
    );
    expect(codes(result.diagnostics)).toEqual(['SEQ007']);
    expect(result.diagnostics[0]!.hint).toMatch(/cannot be raised/);
    expect(seconds).toBeLessThan(6);
  });

  it('SEQ031: a dimension larger than 2^31 - 1', () => {
    const { diagnostics } = compile(spec('input x: float32[b, t, 99999999999]', 'x -> relu -> output y'));
    expect(codes(diagnostics)).toEqual(['SEQ031']);
  });
});

describe('terminal safety', () => {
  it('shows escape sequences and NUL bytes in a string as pictures, in excerpts and messages', () => {
    const text = spec('input x: float32[b, t, 4]', 'x -> RNN(hidden=4, nonlinearity="\x1b[2J\x07\x00") -> output y');
    const rendered = render(compile(text).diagnostics, text);
    expect(rendered).toMatch(/error\[SEQ023\]: .*found `␛\[2J␇␀`/);
    expect(rendered).toContain('nonlinearity="␛[2J␇␀"');
    expect(rendered).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });

  it('shows a stray terminal escape (an OSC that would retitle the window) as pictures', () => {
    const text = spec('input x: float32[b, t, 4]', 'x -> relu -> output y', '\x1b]0;owned\x07\u202e');
    const { diagnostics } = compile(text);
    expect(codes(diagnostics)).toContain('SEQ001');
    const rendered = render(diagnostics, text);
    expect(rendered).toContain('␛]0;owned␇�');
    expect(rendered).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202e]/);
  });

  it('accepts a UTF-8 byte-order mark, and spans still point at the right text', () => {
    const text = `\ufeff${spec('input x: float32[b, t, 4]', 'x -> Lsstm(4) -> output y')}`;
    const { diagnostics } = compile(text);
    expect(codes(diagnostics)).toEqual(['SEQ010']);
    expect(text.slice(diagnostics[0]!.span.start.offset, diagnostics[0]!.span.end.offset)).toBe('Lsstm');
    const lines = render(diagnostics, text).split('\n');
    const source = lines.findIndex((l) => l.startsWith('3 | '));
    expect(lines[source + 1]!.indexOf('^')).toBe(lines[source]!.indexOf('Lsstm'));
    expect(compile(`\ufeff${spec('input x: float32[b, t, 4]', 'x -> relu -> output y')}`).model).toBeDefined();
  });

  it('puts the caret under a span on line 1 after a byte-order mark', () => {
    const text = '\ufeffmodel M { x }\n';
    const { diagnostics } = compile(text);
    expect(diagnostics.length).toBeGreaterThan(0);
    const lines = render(diagnostics, text).split('\n');
    const source = lines.findIndex((l) => l.startsWith('1 | '));
    expect(lines[source]).toBe('1 | model M { x }');
    const caret = lines[source + 1]!.indexOf('^');
    expect(lines[source]![caret]).toBe(text[diagnostics[0]!.span.start.offset]);
  });
});

describe('names ONNX Runtime for JavaScript cannot feed or fetch', () => {
  it('SEQ044: an input or output named __proto__ is refused', () => {
    const input = compile(spec('input __proto__: float32[b, t, 4]', '__proto__ -> relu -> output y'));
    expect(codes(input.diagnostics)).toEqual(['SEQ044']);
    expect(input.diagnostics[0]!.hint).toMatch(/rename/);
    const output = compile(spec('input x: float32[b, t, 4]', 'x -> relu -> output __proto__'));
    expect(codes(output.diagnostics)).toEqual(['SEQ044']);
  });

  it('other names of Object.prototype run, so they stay allowed', () => {
    const { diagnostics, model } = compile(
      spec('input constructor: float32[b, t, 4]', 'constructor -> relu -> output toString'),
    );
    expect(codes(diagnostics)).toEqual([]);
    expect(model).toBeDefined();
  });
});

describe('compile options', () => {
  const good = spec('input x: float32[b, t, 4]', 'x -> fc: Linear(2) -> output y');

  it.each([
    ['seed NaN', { seed: Number.NaN }, '--seed'],
    ['seed -1', { seed: -1 }, '--seed'],
    ['seed 2^32', { seed: 2 ** 32 }, '--seed'],
    ['seed 1.5', { seed: 1.5 }, '--seed'],
    ['seed as a string', { seed: '1' }, '--seed'],
    ['an unknown target', { target: 'cuda' }, '--target'],
    ['opset 13', { opset: 13 }, '--opset'],
    ['weights without bytes', { weights: { name: 'w.safetensors' } }, '--weights'],
    ['weights as a path', { weights: 'w.safetensors' }, '--weights'],
    ['a sourceName that is not a string', { sourceName: 7 }, 'sourceName'],
    ['a bundleStem with a folder', { bundleStem: '../evil' }, 'bundleStem'],
  ])('%s is a SEQ201 diagnostic, not an exception or silence', (_, options, where) => {
    let result;
    expect(() => (result = compile(good, options as never))).not.toThrow();
    expect(codes(result!.diagnostics)).toEqual(['SEQ201']);
    expect(result!.diagnostics[0]!.span.source).toBe(where);
    expect(result!.diagnostics[0]!.hint).toBeDefined();
    expect(result!.model).toBeUndefined();
  });

  it('accepts the edges of every range', () => {
    for (const options of [
      { seed: 0 },
      { seed: 2 ** 32 - 1 },
      { target: 'webgpu' as const },
      { opset: 14 },
      { opset: 21 },
    ]) {
      expect(codes(compile(good, options).diagnostics), JSON.stringify(options)).toEqual([]);
    }
  });

  it('a spec that is not a string is a diagnostic', () => {
    expect(codes(compile(undefined as never).diagnostics)).toEqual(['SEQ201']);
  });
});

describe('weights that are not finite', () => {
  const tagger = spec(
    'input tokens: int64[b, t]',
    'tokens -> embedding: Embedding(vocab=4, dim=2) -> fc: Linear(3) -> output y',
  );
  const f32 = (shape: number[], fill = 0): { shape: number[]; data: Float32Array } => ({
    shape,
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill),
  });

  it('SEQ103 names the tensor and the first bad index, and the model still compiles', () => {
    const head = f32([3, 2]);
    head.data[3] = Number.NaN;
    head.data[5] = Number.POSITIVE_INFINITY;
    const bias = f32([3]);
    bias.data[0] = Number.NEGATIVE_INFINITY;
    const bytes = writeSafetensors([
      ['embedding.weight', f32([4, 2])],
      ['fc.weight', head],
      ['fc.bias', bias],
    ]);
    const { diagnostics, model } = compile(tagger, { weights: { bytes, name: 'w.safetensors' } });
    expect(diagnostics.map((d) => [d.code, d.severity, d.message])).toEqual([
      ['SEQ103', 'warning', 'tensor `fc.weight` holds NaN at index [1, 1] (and 1 more of its 6 values are not finite)'],
      ['SEQ103', 'warning', 'tensor `fc.bias` holds -Infinity at index [0]'],
    ]);
    expect(diagnostics[0]!.hint).toMatch(/diverged/);
    expect(model).toBeDefined();
  });

  it('finite weights give no warning', () => {
    const bytes = writeSafetensors([
      ['embedding.weight', f32([4, 2], 1e30)],
      ['fc.weight', f32([3, 2])],
      ['fc.bias', f32([3])],
    ]);
    expect(codes(compile(tagger, { weights: { bytes, name: 'w.safetensors' } }).diagnostics)).toEqual([]);
  });
});
