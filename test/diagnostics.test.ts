// Every diagnostic code, shown to fire: spec fixtures with the expected error written under its span, and the CLI's codes run for real.
//
// A fixture in test/fixtures/diagnostics is a minimal spec named after the code it shows
// (`SEQ010-misspelled-layer.seq`). Its expected diagnostics are written in `#` comments, which
// the language ignores, in one of two forms:
//
//   caret form     `  tokens -> Embeding(vocab=10, dim=4) -> output x`
//                  `  #         ^^^^^^^^ error[SEQ010]`
//                  The carets sit under the span on the nearest line above that is not itself an
//                  annotation: the span starts at the first caret's column and ends just after
//                  the last one. The `#` may stand anywhere left of the carets, so a span that
//                  starts in column 2 is written `#^^^`.
//
//   explicit form  `# at LINE:COL error[SEQ002]`                an empty span, e.g. at the end of the file
//                  `# at LINE:COL-ENDCOL error[SEQ002]`         a span on one line
//                  `# at LINE:COL-ENDLINE:ENDCOL error[SEQ003]` a span over several lines
//                  For what carets cannot show: spans that start in column 1 (where the `#`
//                  must go), empty spans and spans that cover several lines. ENDCOL is exclusive.
//
// Either form may end with `no-hint`: the diagnostic has no hint, and the test checks that it
// has none. Without it, every error of a `check`-stage code must carry a hint. The diagnostics a
// fixture produces must be exactly the annotated ones, no more and no fewer; the few fixtures
// where a known seqc bug adds more are listed in `extraDiagnosticBugs` and say FIXME.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  catalogue,
  compile,
  diagnosticCodes,
  writeSafetensors,
  type Diagnostic,
  type DiagnosticCode,
} from '../src/index.js';
import { main } from '../src/cli/main.js';
import { renderDiagnostics } from '../src/diagnostics/render.js';
import { errorsDoc, commandExamples } from '../scripts/errors-doc.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtureFolder = 'test/fixtures/diagnostics';

interface Expected {
  readonly code: string;
  readonly severity: string;
  readonly startLine: number;
  readonly startColumn: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly noHint: boolean;
}

const caretAnnotation = /^(\s*#\s*)(\^+)\s+(error|warning)\[(SEQ\d{3})\](\s+no-hint)?\s*$/;
const explicitAnnotation =
  /^\s*#\s*at (\d+):(\d+)(?:-(?:(\d+):)?(\d+))? (error|warning)\[(SEQ\d{3})\](\s+no-hint)?\s*$/;

/** Reads the expected diagnostics out of a fixture's annotation comments. */
function expectedDiagnostics(text: string): Expected[] {
  const lines = text.split('\n');
  const expected: Expected[] = [];
  let target: number | undefined;
  lines.forEach((line, index) => {
    const caret = caretAnnotation.exec(line);
    const explicit = explicitAnnotation.exec(line);
    if (caret !== null) {
      if (target === undefined) throw new Error(`line ${index + 1}: carets with no line above them`);
      const startColumn = caret[1]!.length + 1;
      expected.push({
        code: caret[4]!,
        severity: caret[3]!,
        startLine: target,
        startColumn,
        endLine: target,
        endColumn: startColumn + caret[2]!.length,
        noHint: caret[5] !== undefined,
      });
    } else if (explicit !== null) {
      const startLine = Number(explicit[1]);
      const startColumn = Number(explicit[2]);
      expected.push({
        code: explicit[6]!,
        severity: explicit[5]!,
        startLine,
        startColumn,
        endLine: explicit[3] === undefined ? startLine : Number(explicit[3]),
        endColumn: explicit[4] === undefined ? startColumn : Number(explicit[4]),
        noHint: explicit[7] !== undefined,
      });
    } else if (/^\s*#\s*(\^|at \d)/.test(line)) {
      throw new Error(`line ${index + 1} looks like an annotation but is not one: ${JSON.stringify(line)}`);
    } else {
      target = index + 1;
    }
  });
  return expected;
}

/** One diagnostic as a line of text, so a mismatch reads as a diff of annotations. */
function describeSpan(d: {
  code: string;
  severity: string;
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
}): string {
  const end = d.endLine === d.startLine ? `${d.endColumn}` : `${d.endLine}:${d.endColumn}`;
  return `${d.severity}[${d.code}] at ${d.startLine}:${d.startColumn}-${end}`;
}

function actualSpan(d: Diagnostic): string {
  return describeSpan({
    code: d.code,
    severity: d.severity,
    startLine: d.span.start.line,
    startColumn: d.span.start.column,
    endLine: d.span.end.line,
    endColumn: d.span.end.column,
  });
}

const byPosition = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** The items of `a` not matched one-for-one in `b`: a multiset difference, so a duplicate counts. */
function without(a: readonly string[], b: readonly string[]): string[] {
  const rest = [...b];
  return a.filter((item) => {
    const i = rest.indexOf(item);
    if (i < 0) return true;
    rest.splice(i, 1);
    return false;
  });
}

const fixtures = readdirSync(join(root, fixtureFolder))
  .filter((f) => f.endsWith('.seq'))
  .sort();

/**
 * Fixtures whose annotations say what seqc should report, where it reports more. Their "nothing
 * else" test is expected to fail until the bug is fixed; then `it.fails` fails and the entry goes.
 */
const extraDiagnosticBugs: Readonly<Record<string, string>> = {};

function fixture(file: string): { path: string; text: string; expected: string[]; actual: Diagnostic[] } {
  const path = `${fixtureFolder}/${file}`;
  const text = readFileSync(join(root, path), 'utf8');
  return {
    path,
    text,
    expected: expectedDiagnostics(text).map(describeSpan),
    actual: [...compile(text, { sourceName: path }).diagnostics],
  };
}

describe('diagnostic fixtures', () => {
  const known = Object.keys(extraDiagnosticBugs);
  const exact = fixtures.filter((f) => !known.includes(f));

  it.each(exact)('%s reports exactly the annotated diagnostics', (file) => {
    const { path, expected, actual } = fixture(file);
    expect(actual.map(actualSpan).sort(byPosition), `diagnostics of ${path}`).toEqual([...expected].sort(byPosition));
  });

  if (known.length > 0)
    it.each(known)('%s reports every annotated diagnostic', (file) => {
      const { path, expected, actual } = fixture(file);
      expect(without(expected, actual.map(actualSpan)), `missing from ${path}`).toEqual([]);
    });

  // FIXME: seqc bugs, one per entry of extraDiagnosticBugs, which says what is wrong.
  if (known.length > 0)
    it.fails.each(known)('%s reports nothing else (known bug)', (file) => {
      const { path, expected, actual } = fixture(file);
      expect(without(actual.map(actualSpan), expected), `${path}: ${extraDiagnosticBugs[file]}`).toEqual([]);
    });

  it.each(fixtures)('%s is named after a code it reports, and its diagnostics read well', (file) => {
    const { path, text, expected } = fixture(file);
    expect(expected.map((e) => e.slice(e.indexOf('[') + 1, e.indexOf(']')))).toContain(file.slice(0, 6));
    const result = compile(text, { sourceName: path });
    for (const d of result.diagnostics) {
      expect(d.span.source).toBe(path);
      expect(d.message.trim(), `${d.code} has a message`).not.toBe('');
    }
    // A spec that has only warnings still compiles; one with errors does not.
    expect(result.model !== undefined).toBe(!result.diagnostics.some((d) => d.severity === 'error'));
  });

  it.each(fixtures)('%s: every check error has a hint unless annotated no-hint', (file) => {
    const { text, actual } = fixture(file);
    const expected = expectedDiagnostics(text);
    for (const d of actual) {
      const annotation = expected.find((e) => describeSpan(e) === actualSpan(d));
      if (annotation?.noHint === true) {
        expect(d.hint, `${actualSpan(d)} is annotated no-hint but has one`).toBeUndefined();
      } else if (catalogue[d.code].stage === 'check' && d.severity === 'error') {
        expect(d.hint?.trim() ?? '', `${actualSpan(d)}: ${d.message} has no hint`).not.toBe('');
      }
    }
  });

  it('covers every syntax and check code in the catalogue', () => {
    const specCodes = diagnosticCodes.filter((c) => catalogue[c].stage === 'syntax' || catalogue[c].stage === 'check');
    const covered = new Set(fixtures.map((f) => f.slice(0, 6)));
    expect(specCodes.filter((c) => !covered.has(c))).toEqual([]);
  });

  it('names every fixture after a code in the catalogue', () => {
    const malformed = fixtures.filter((f) => !/^SEQ\d{3}-[a-z0-9-]+\.seq$/.test(f) || !(f.slice(0, 6) in catalogue));
    expect(malformed).toEqual([]);
  });

  it('reads both annotation forms', () => {
    const text = [
      'model M {',
      '  x -> y',
      '  #    ^ error[SEQ010]',
      '# at 1:1-2:9 warning[SEQ018] no-hint',
      '# at 3:1 error[SEQ002]',
      '}',
    ].join('\n');
    expect(expectedDiagnostics(text)).toEqual([
      { code: 'SEQ010', severity: 'error', startLine: 2, startColumn: 8, endLine: 2, endColumn: 9, noHint: false },
      { code: 'SEQ018', severity: 'warning', startLine: 1, startColumn: 1, endLine: 2, endColumn: 9, noHint: true },
      { code: 'SEQ002', severity: 'error', startLine: 3, startColumn: 1, endLine: 3, endColumn: 1, noHint: false },
    ]);
  });
});

// Regression tests for bugs that no fixture can show by its annotations alone.
describe('fixed seqc bugs', () => {
  const spec = (...members: string[]): string => ['model M {', ...members.map((m) => `  ${m}`), '}', ''].join('\n');

  it('SEQ034 on float32[batch, time] suggests a feature axis, not that the time axis was pooled away', () => {
    const { diagnostics } = compile(spec('input x: float32[batch, time]', 'x -> LSTM(hidden=4) -> last -> output y'));
    expect(diagnostics.map((d) => d.code)).toEqual(['SEQ034']);
    expect(diagnostics[0]!.hint).not.toMatch(/pooled away/);
    expect(diagnostics[0]!.hint).toMatch(/feature axis/);
  });

  it('SEQ019: a label that is the name of a builtin is refused, as the catalogue says', () => {
    const { diagnostics } = compile(
      spec('input x: float32[batch, time, 8]', 'x -> last -> mean: Linear(2) -> output y'),
    );
    expect(diagnostics.map((d) => d.code)).toEqual(['SEQ019']);
  });

  it('SEQ002 reports one error per unexpected token, and never "expected a name" when it found one', () => {
    const { diagnostics } = compile(
      spec('input tokens = int64[batch, time]', 'tokens -> Embedding(vocab=10, dim=4) -> last -> output x'),
    );
    const places = diagnostics.map((d) => d.span.start.offset);
    expect(new Set(places).size).toBe(places.length);
    for (const d of diagnostics) expect(d.message).not.toMatch(/expected .*a name.*, found the name/);
  });

  it('the caret stands under the span in a line indented with tabs', () => {
    const text = 'model M {\n\tinput x: float32[batch, time, 8]\n\tx ->\tLsstm(4) -> output y\n}\n';
    const rendered = renderDiagnostics(
      compile(text, { sourceName: 'tabs.seq' }).diagnostics,
      new Map([['tabs.seq', text]]),
      { color: false },
    );
    const lines = rendered.split('\n');
    const source = lines.findIndex((l) => l.startsWith('3 | '));
    // A terminal expands tabs to the next multiple of 8; the caret line must line up after that.
    const expandTabs = (line: string): string =>
      line.replace(/[^\t]*\t/g, (run) => run.slice(0, -1).padEnd((Math.floor((run.length - 1) / 8) + 1) * 8));
    expect(expandTabs(lines[source + 1]!).indexOf('^')).toBe(expandTabs(lines[source]!).indexOf('Lsstm'));
  });
});

// The command line and the runtime: every other code, through `main` as a user would meet it.

const workspace = mkdtempSync(join(tmpdir(), 'seqc-diagnostics-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** A fresh folder per test, so each can check that it wrote nothing. */
function folder(): string {
  return mkdtempSync(join(workspace, 'case-'));
}

const tagger = `model Tagger {
  input tokens: int64[batch, time]
  tokens -> embedding: Embedding(vocab=10, dim=4) -> fc: Linear(3) -> output scores
}
`;

interface Run {
  readonly status: number;
  readonly out: string;
  readonly err: string;
  /** The codes in stderr, in order. */
  readonly codes: string[];
}

async function seqc(...argv: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { status, out, err, codes: [...err.matchAll(/(?:error|warning)\[(SEQ\d{3})\]/g)].map((m) => m[1]!) };
}

function writeSpec(dir: string, text = tagger): string {
  const path = join(dir, 'tagger.seq');
  writeFileSync(path, text);
  return path;
}

const f32 = (shape: number[]): { shape: number[]; data: Float32Array } => ({
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});

function taggerWeights(): Map<string, { shape: number[]; data: Float32Array }> {
  return new Map([
    ['embedding.weight', f32([10, 4])],
    ['fc.weight', f32([3, 4])],
    ['fc.bias', f32([3])],
  ]);
}

describe('weights files', () => {
  it('accepts matching weights (the baseline the failures below differ from)', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'w.safetensors'), writeSafetensors(taggerWeights()));
    const run = await seqc(
      'compile',
      writeSpec(dir),
      '--weights',
      join(dir, 'w.safetensors'),
      '-o',
      join(dir, 'out.onnx'),
    );
    expect(run.err).toBe('');
    expect(run.status).toBe(0);
    expect(existsSync(join(dir, 'out.onnx'))).toBe(true);
  });

  it('SEQ100: a file that is not safetensors is rejected and nothing is written', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'w.safetensors'), 'this is not a safetensors file');
    const run = await seqc(
      'compile',
      writeSpec(dir),
      '--weights',
      join(dir, 'w.safetensors'),
      '-o',
      join(dir, 'out.onnx'),
    );
    expect(run.codes).toEqual(['SEQ100']);
    expect(run.status).toBe(1);
    expect(run.out).toBe('');
    expect(readdirSync(dir).sort()).toEqual(['tagger.seq', 'w.safetensors']);
  });

  it('SEQ101: an integer tensor is rejected and nothing is written', async () => {
    const dir = folder();
    // I32 has the size of F32, so renaming the dtype in the header keeps the file well-formed.
    const bytes = writeSafetensors(taggerWeights());
    const header = Buffer.from(bytes).toString('latin1').replace('"dtype":"F32"', '"dtype":"I32"');
    writeFileSync(join(dir, 'w.safetensors'), Buffer.from(header, 'latin1'));
    const run = await seqc(
      'compile',
      writeSpec(dir),
      '--weights',
      join(dir, 'w.safetensors'),
      '-o',
      join(dir, 'out.onnx'),
    );
    expect(run.codes).toEqual(['SEQ101']);
    expect(run.err).toMatch(/element type I32/);
    expect(run.status).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['tagger.seq', 'w.safetensors']);
  });

  it('SEQ102: missing, mis-shaped and unexpected tensors are listed in one diagnostic', async () => {
    const dir = folder();
    const weights = taggerWeights();
    weights.delete('fc.bias');
    weights.set('fc.weight', f32([4, 3]));
    weights.set('head.weight', f32([3, 4]));
    writeFileSync(join(dir, 'w.safetensors'), writeSafetensors(weights));
    const run = await seqc(
      'compile',
      writeSpec(dir),
      '--weights',
      join(dir, 'w.safetensors'),
      '-o',
      join(dir, 'out.onnx'),
    );
    expect(run.codes).toEqual(['SEQ102']);
    expect(run.err).toMatch(/missing\s+fc\.bias: expected \[3\]/);
    expect(run.err).toMatch(/mis-shaped\s+fc\.weight: expected \[3, 4\], found \[4, 3\]/);
    expect(run.err).toMatch(/unexpected\s+head\.weight/);
    expect(run.status).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['tagger.seq', 'w.safetensors']);
  });

  it('reports the same codes through the compile API', () => {
    const garbage = compile(tagger, { weights: { bytes: new Uint8Array([1, 2, 3]), name: 'w.safetensors' } });
    expect(garbage.diagnostics.map((d) => d.code)).toEqual(['SEQ100']);
    expect(garbage.model).toBeUndefined();
    const empty = compile(tagger, { weights: { bytes: writeSafetensors(new Map()), name: 'w.safetensors' } });
    expect(empty.diagnostics.map((d) => d.code)).toEqual(['SEQ102']);
    expect(empty.model).toBeUndefined();
  });
});

describe('command line', () => {
  it('SEQ200: an unknown command exits with status 2', async () => {
    const run = await seqc('compiel', 'x.seq');
    expect(run.codes).toEqual(['SEQ200']);
    expect(run.err).toMatch(/did you mean `compile`\?/);
    expect(run.status).toBe(2);
  });

  it('SEQ200: an unknown flag exits with status 2 and writes nothing', async () => {
    const dir = folder();
    const run = await seqc('compile', writeSpec(dir), '--outt', join(dir, 'out.onnx'));
    expect(run.codes).toEqual(['SEQ200']);
    expect(run.err).toMatch(/did you mean `--out`\?/);
    expect(run.status).toBe(2);
    expect(readdirSync(dir)).toEqual(['tagger.seq']);
  });

  it('SEQ201: a flag without its value exits with status 2', async () => {
    const dir = folder();
    const run = await seqc('compile', writeSpec(dir), '-o');
    expect(run.codes).toEqual(['SEQ201']);
    expect(run.status).toBe(2);
    expect(readdirSync(dir)).toEqual(['tagger.seq']);
  });

  it.each([
    ['--seed', 'abc'],
    ['--seed', '-1'],
    ['--opset', '99'],
  ])('SEQ201: %s %s is refused and nothing is written', async (flag, value) => {
    const dir = folder();
    const run = await seqc('compile', writeSpec(dir), flag, value, '-o', join(dir, 'out.onnx'));
    expect(run.codes).toEqual(['SEQ201']);
    expect(run.status).toBe(2);
    expect(readdirSync(dir)).toEqual(['tagger.seq']);
  });

  it('SEQ202: a spec that does not exist', async () => {
    const dir = folder();
    const run = await seqc('compile', join(dir, 'missing.seq'), '-o', join(dir, 'out.onnx'));
    expect(run.codes).toEqual(['SEQ202']);
    expect(run.err).toMatch(/no such file/);
    expect(run.status).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('SEQ202: an output that cannot be written leaves no partial file', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'blocker'), 'a file where a folder should be');
    const run = await seqc('compile', writeSpec(dir), '-o', join(dir, 'blocker', 'out.onnx'));
    expect(run.codes).toEqual(['SEQ202']);
    expect(run.status).toBe(1);
    expect(run.out).toBe('');
    expect(readdirSync(dir).sort()).toEqual(['blocker', 'tagger.seq']);
  });

  it('a spec with errors exits with status 1 and writes no model', async () => {
    const dir = folder();
    const spec = writeSpec(dir, tagger.replace('Embedding', 'Embeding'));
    const run = await seqc('compile', spec, '-o', join(dir, 'out.onnx'));
    expect(run.codes).toEqual(['SEQ010']);
    expect(run.status).toBe(1);
    expect(readdirSync(dir)).toEqual(['tagger.seq']);
  });
});

describe('running a model', () => {
  /** Compiles the tagger once into a folder of its own and returns the model's path. */
  async function compiledTagger(): Promise<string> {
    const dir = folder();
    const model = join(dir, 'tagger.onnx');
    const run = await seqc('compile', writeSpec(dir), '-o', model);
    expect(run.status).toBe(0);
    return model;
  }

  it('runs when the inputs are right (the baseline)', async () => {
    const run = await seqc('run', await compiledTagger(), '--input', 'tokens=[[1,2,3]]');
    expect(run.err).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.out).scores.dims).toEqual([1, 3, 3]);
  });

  it.each([
    ['a missing input', []],
    ['an unknown input', ['--input', 'tokens=[[1]]', '--input', 'token=[[1]]']],
    ['a value that is not JSON', ['--input', 'tokens=[[1,2']],
    ['a ragged array', ['--input', 'tokens=[[1,2],[3]]']],
  ])('SEQ300: %s', async (_, flags) => {
    const run = await seqc('run', await compiledTagger(), ...flags);
    expect(run.codes).toEqual(['SEQ300']);
    expect(run.status).toBe(1);
    expect(run.out).toBe('');
  });

  it.each([
    [
      'a token id outside the vocabulary',
      'tokens=[[1,99999]]',
      /tokens\[0\]\[1\] is 99999, outside the vocabulary \[0, 10\)/,
    ],
    ['a fractional token id', 'tokens=[[1,2.5]]', /item 1 is 2.5/],
    ['the wrong number of axes', 'tokens=[1,2,3]', /must have 2 axes/],
    ['an empty batch', 'tokens=[[]]', /is empty/],
  ])('SEQ301: %s', async (_, input, message) => {
    const run = await seqc('run', await compiledTagger(), '--input', input);
    expect(run.codes).toEqual(['SEQ301']);
    expect(run.err).toMatch(message);
    expect(run.status).toBe(1);
    expect(run.out).toBe('');
  });

  it('SEQ309: a file that is not an ONNX model', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'model.onnx'), 'not a model');
    const run = await seqc('run', join(dir, 'model.onnx'), '--input', 'tokens=[[1]]');
    expect(run.codes).toEqual(['SEQ309']);
    expect(run.status).toBe(1);
    expect(run.out).toBe('');
  });
});

describe('docs/errors.md', () => {
  it('has a command example for every code that no spec fixture can show', () => {
    const commandCodes = diagnosticCodes.filter(
      (c) => catalogue[c].stage !== 'syntax' && catalogue[c].stage !== 'check',
    );
    const documented = new Set(commandExamples.map((e) => e.code));
    expect(commandCodes.filter((c: DiagnosticCode) => !documented.has(c))).toEqual([]);
  });

  it('is up to date', async () => {
    const committed = existsSync(join(root, 'docs/errors.md'))
      ? readFileSync(join(root, 'docs/errors.md'), 'utf8')
      : '';
    expect(committed, 'docs/errors.md is stale; run `npm run docs`').toBe(await errorsDoc());
  });
});
