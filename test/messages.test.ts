// The wording of diagnostics: each names the mistake that was made, where it was made, and the fix.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSource, compile, type Diagnostic } from '../src/index.js';
import { sortDiagnostics } from '../src/diagnostics/diagnostic.js';
import { main } from '../src/cli/main.js';

const spec = (...members: string[]): string => ['model M {', ...members.map((m) => `  ${m}`), '}', ''].join('\n');

/** The one diagnostic a spec produces, failing the test if there are more or fewer. */
function only(source: string): Diagnostic {
  const { diagnostics } = checkSource(source);
  expect(diagnostics.map((d) => `${d.code} ${d.message}`)).toHaveLength(1);
  return diagnostics[0]!;
}

/** The text a span covers. */
function covered(source: string, d: Diagnostic): string {
  return source.slice(d.span.start.offset, d.span.end.offset);
}

describe('syntax mistakes are named, not the token where the parser gave up', () => {
  it('a missing `->` between two steps: the caret stands where the arrow belongs', () => {
    const source = spec(
      'input tokens: int64[batch, time]',
      'tokens -> Embedding(vocab=10, dim=4) lstm: LSTM(hidden=8) -> last -> output y',
    );
    const d = only(source);
    expect(d.code).toBe('SEQ002');
    expect(d.message).toBe('expected `->` before `lstm`');
    expect(d.message).not.toMatch(/cannot start anything/);
    expect(d.hint).toMatch(/did you forget `->`\?/);
    // The gap between `)` and `lstm`: the arrow goes there.
    expect(covered(source, d)).toBe(' ');
    expect(source.slice(d.span.start.offset - 1, d.span.end.offset + 4)).toBe(') lstm');
  });

  it('a missing `->` before `output`, and before a step the parser took for a new chain', () => {
    expect(only(spec('input x: float32[batch, time, 8]', 'x -> LSTM(4) -> last output y')).hint).toMatch(
      /did you forget `->`\? .*`-> output`/,
    );
    const encoder = [
      'model M {',
      '  input src: int64[batch, time]',
      '  encoder {',
      '    src -> Embedding(vocab=10, dim=4) LSTM(8)',
      '  }',
      '  decoder(bos=1, eos=2, max_length=5) {',
      '    -> Embedding(vocab=10, dim=4) -> LSTM(8) -> Linear(10)',
      '  }',
      '}',
      '',
    ].join('\n');
    const d = only(encoder);
    expect(d.message).toBe('expected `->` before `LSTM`');
    expect(d.span.start.line).toBe(4);
  });

  it('a missing `->` before a layer with arguments, which the parser reads as the head of a block', () => {
    for (const end of [' -> last -> output y', '']) {
      const source = spec(
        'input tokens: int64[batch, time]',
        `tokens -> Embedding(vocab=10, dim=4) LSTM(hidden=8)${end}`,
      );
      const d = only(source);
      expect([d.code, d.message]).toEqual(['SEQ002', 'expected `->` before `LSTM`']);
      expect(source.slice(d.span.start.offset - 1, d.span.end.offset + 4)).toBe(') LSTM');
    }
  });

  it('a missing `->` before a builtin, which starts a second chain on the line', () => {
    const source = spec('input x: float32[batch, time, 8]', 'x -> LSTM(hidden=8) last -> output y');
    const d = only(source);
    expect(d.code).toBe('SEQ011');
    expect(covered(source, d)).toBe('last');
    expect(d.hint).toMatch(/^did you forget `->` before `last`\?/);
  });

  it('a second chain on its own line from an unknown name is not taken for a missing arrow', () => {
    const d = only(
      spec('input x: float32[batch, time, 8]', 'x -> LSTM(hidden=8) -> output states', 'lsmt -> last -> output y'),
    );
    expect(d.code).toBe('SEQ011');
    expect(d.hint).toBe('did you mean `lstm`?');
  });

  it('a missing comma between arguments is not taken for a missing arrow', () => {
    const d = only(
      spec(
        'input x: float32[batch, time, 8]',
        'x -> LSTM(hidden=4, nonlinearity=relu dropout=0.1) -> last -> output y',
      ),
    );
    expect(d.message).not.toMatch(/->/);
    expect(d.hint).toMatch(/separate arguments with commas/);
  });

  it('`imput` suggests `input`, and `modle` suggests `model`', () => {
    const source = spec('imput tokens: int64[batch, time]', 'tokens -> Embedding(vocab=10, dim=4) -> last -> output y');
    const d = only(source);
    expect(covered(source, d)).toBe('imput');
    expect(d.hint).toMatch(/^did you mean `input`\?/);
    expect(only('modle M {\n  input x: float32[batch, time, 8]\n}\n').hint).toMatch(/^did you mean `model`\?/);
  });

  it('`outptu logits` blames `outptu` and suggests `output`', () => {
    const source = spec(
      'input tokens: int64[batch, time]',
      'tokens -> Embedding(vocab=10, dim=4) -> last -> outptu logits',
    );
    const d = only(source);
    expect(covered(source, d)).toBe('outptu');
    expect(d.message).toBe('`outptu logits` is not a step');
    expect(d.hint).toMatch(/^did you mean `output logits`\?/);
  });

  it('a name that is far from every keyword gets no suggestion', () => {
    const d = only(spec('banana tokens: int64[batch, time]'));
    expect(d.hint ?? '').not.toMatch(/did you mean/);
  });
});

describe('diagnostics come in reading order', () => {
  it('checkSource and compile sort them by line and column', () => {
    // The unused input (line 3) is found after the chain's errors (line 4), but comes first.
    const source = spec(
      'input x: float32[batch, time, 8]',
      'input unused: float32[batch, time, 8]',
      'x -> Lsstm(4) -> last -> output y',
    );
    const lines = (ds: readonly Diagnostic[]): number[] => ds.map((d) => d.span.start.line);
    for (const diagnostics of [checkSource(source).diagnostics, compile(source).diagnostics]) {
      expect(diagnostics.map((d) => d.code)).toEqual(['SEQ016', 'SEQ010']);
      expect(lines(diagnostics)).toEqual([3, 4]);
    }
  });

  it('sortDiagnostics keeps the sources in the order they first appear, and ties in the order found', () => {
    const at = (source: string, line: number, column: number, message: string): Diagnostic => ({
      code: 'SEQ010',
      severity: 'error',
      message,
      span: { source, start: { offset: 0, line, column }, end: { offset: 0, line, column } },
    });
    const sorted = sortDiagnostics([
      at('b.seq', 2, 1, 'b2'),
      at('a.seq', 1, 1, 'a1'),
      at('b.seq', 1, 5, 'b1-second'),
      at('b.seq', 1, 5, 'b1-third'),
      at('b.seq', 1, 1, 'b1'),
    ]);
    expect(sorted.map((d) => d.message)).toEqual(['b1', 'b1-second', 'b1-third', 'b2', 'a1']);
  });
});

describe('arguments as PyTorch and Keras users write them', () => {
  it('`Embedding(10, 4)` binds vocab and dim by position, as nn.Embedding(10, 4) does', () => {
    const { diagnostics, ir } = checkSource(
      spec('input tokens: int64[batch, time]', 'tokens -> Embedding(10, 4) -> last -> output x'),
    );
    expect(diagnostics).toEqual([]);
    expect(ir?.parameters.map((p) => [p.name, p.shape])).toEqual([['embedding.weight', [10, 4]]]);
  });

  it.each([
    ['LSTM(hidden_size=128)', '`hidden_size` is `hidden` here: write `hidden=128`'],
    ['LSTM(hidden=8, num_layers=2)', '`num_layers` is `layers` here: write `layers=2`'],
    ['GRU(units=8)', '`units` is `hidden` here: write `hidden=8`'],
    ['RNN(hidden=8, activation=relu)', '`activation` is `nonlinearity` here: write `nonlinearity=relu`'],
  ])('%s names the seqc argument', (step, hint) => {
    const d = only(spec('input x: float32[batch, time, 8]', `x -> ${step} -> last -> output y`));
    expect([d.code, d.hint]).toEqual(['SEQ020', hint]);
  });

  it.each([
    ['Embedding(num_embeddings=10, dim=4)', '`num_embeddings` is `vocab` here: write `vocab=10`'],
    ['Embedding(vocab=10, embedding_dim=4)', '`embedding_dim` is `dim` here: write `dim=4`'],
  ])('%s names the seqc argument', (step, hint) => {
    const d = only(spec('input tokens: int64[batch, time]', `tokens -> ${step} -> last -> output y`));
    expect([d.code, d.hint]).toEqual(['SEQ020', hint]);
  });

  it.each([
    ['LSTM(input_size=8, hidden=4)', /`input_size` is not needed here: seqc infers it/],
    [
      'LSTM(hidden=4, batch_first=true)',
      /`batch_first` is not needed here: sequences are always \[batch, time, features\]/,
    ],
    ['LSTM(hidden=4, return_sequences=true)', /`-> last`/],
    ['last -> Linear(in_features=8, out=2)', /`in_features` is not needed here/],
  ])('%s says why the argument is not needed', (step, hint) => {
    const d = only(spec('input x: float32[batch, time, 8]', `x -> ${step} -> output y`));
    expect(d.code).toBe('SEQ020');
    expect(d.hint).toMatch(hint);
    expect(d.hint).not.toMatch(/takes `hidden`, `layers`/);
  });

  it('`Linear(256, 3)` explains that the input size is inferred', () => {
    const d = only(spec('input x: float32[batch, time, 8]', 'x -> last -> Linear(8, 3) -> output y'));
    expect(d.code).toBe('SEQ024');
    expect(d.hint).toMatch(/seqc infers it from the input: write `Linear\(3\)`/);
  });

  it('`bidirectional=True` offers the Bi form', () => {
    const d = only(
      spec('input x: float32[batch, time, 8]', 'x -> GRU(hidden=4, bidirectional=True) -> last -> output y'),
    );
    expect(d.code).toBe('SEQ022');
    expect(d.hint).toMatch(/`BiGRU\(…\)`/);
  });

  it('a misspelling still gets its did-you-mean', () => {
    expect(only(spec('input x: float32[batch, time, 8]', 'x -> LSTM(hiden=4) -> last -> output y')).hint).toBe(
      'did you mean `hidden`?',
    );
  });
});

describe('hints that are true to what seqc does', () => {
  it.each([
    ['LSTM', 'x'],
    ['BiGRU', 'x'],
    ['Linear', 'x -> last'],
    ['LayerNorm', 'x'],
  ])('SEQ013 for two unlabeled %s layers names a parameter such a layer really has', (kind, from) => {
    const step = kind === 'Linear' ? 'Linear(4)' : kind === 'LayerNorm' ? 'LayerNorm' : `${kind}(hidden=4)`;
    const { diagnostics } = checkSource(
      spec('input x: float32[batch, time, 8]', `${from} -> ${step} -> ${step} -> output y`),
    );
    expect(diagnostics.map((d) => d.code)).toEqual(['SEQ013', 'SEQ013']);
    const named = /`(\w+1\.[\w.]+)`\)$/.exec(diagnostics[0]!.hint!)?.[1];
    expect(named).toBeDefined();
    // Label the two layers as the hint says, and the parameter it named exists.
    const derived = kind.toLowerCase();
    const labeled = checkSource(
      spec('input x: float32[batch, time, 8]', `${from} -> ${derived}1: ${step} -> ${derived}2: ${step} -> output y`),
    );
    expect(labeled.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(labeled.ir!.parameters.map((p) => p.name)).toContain(named);
  });

  it('an unused int64[batch] input beside a sequence is shown how to become its lengths', () => {
    const d = only(
      spec(
        'input tokens: int64[batch, time]',
        'input lengths: int64[batch]',
        'tokens -> Embedding(vocab=10, dim=4) -> LSTM(8) -> last -> output y',
      ),
    );
    expect(d.code).toBe('SEQ016');
    expect(d.hint).toMatch(/declare it as `input lengths: lengths\(tokens\)`/);
    expect(d.hint).not.toMatch(/^start a chain/);
  });

  it('lengths that nothing reads are reported, and the hint says what reads them', () => {
    const d = only(
      spec(
        'input tokens: int64[batch, time]',
        'input lengths: lengths(tokens)',
        'tokens -> Embedding(vocab=10, dim=4) -> first -> Linear(2) -> output y',
      ),
    );
    expect(d.code).toBe('SEQ016');
    expect(d.message).toMatch(/`lengths` is never read/);
    expect(d.hint).toMatch(/recurrent layer, `last`, `mean` or `max`/);
    expect(d.hint).not.toMatch(/start a chain/);
  });

  it.each([
    ['a recurrent layer', 'tokens -> Embedding(vocab=10, dim=4) -> LSTM(8) -> first -> output y'],
    ['a pool that respects padding', 'tokens -> Embedding(vocab=10, dim=4) -> mean -> output y'],
    ['a per-token output', 'tokens -> Embedding(vocab=10, dim=4) -> Linear(2) -> output y'],
  ])('lengths read by %s are not reported', (_, chain) => {
    expect(
      checkSource(spec('input tokens: int64[batch, time]', 'input lengths: lengths(tokens)', chain)).diagnostics,
    ).toEqual([]);
  });

  it('lengths of an unused sequence are not reported twice', () => {
    const { diagnostics } = checkSource(
      spec(
        'input x: float32[batch, time, 8]',
        'input tokens: int64[batch, time]',
        'input lengths: lengths(tokens)',
        'x -> last -> output y',
      ),
    );
    expect(diagnostics.map((d) => [d.code, d.message])).toEqual([['SEQ016', 'the input `tokens` is never used']]);
  });
});

// `seqc check` on many files; `seqc summary --json`.

const workspace = mkdtempSync(join(tmpdir(), 'seqc-messages-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

async function seqc(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { status, out, err };
}

const good = spec('input x: float32[batch, time, 8]', 'x -> LSTM(4) -> last -> output y');
const warns = spec('input x: float32[batch, time, 8]', 'input extra: float32[batch, time, 8]', 'x -> last -> output y');
const bad = spec('input x: float32[batch, time, 8]', 'x -> Lsstm(4) -> last -> output y');

/** A fresh folder holding the given specs, plus a subfolder with one more that is not read. */
function folderOf(files: Record<string, string>): string {
  const dir = mkdtempSync(join(workspace, 'case-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, 'nested'));
  writeFileSync(join(dir, 'nested', 'deeper.seq'), bad);
  writeFileSync(join(dir, 'notes.txt'), 'not a spec');
  return dir;
}

describe('seqc check on many files', () => {
  it('checks several files and exits 1 when any has an error', async () => {
    const dir = folderOf({ 'a.seq': good, 'b.seq': bad });
    const run = await seqc('check', join(dir, 'a.seq'), join(dir, 'b.seq'));
    expect(run.status).toBe(1);
    expect(run.out).toContain(`${join(dir, 'a.seq')}: no problems`);
    expect(run.out).toContain('checked 2 files: 1 with errors');
    expect(run.err).toContain(`${join(dir, 'b.seq')}:3:8`);
    expect(run.err).toContain('error[SEQ010]');
  });

  it('exits 0 when the files have warnings only', async () => {
    const dir = folderOf({ 'a.seq': good, 'w.seq': warns });
    const run = await seqc('check', join(dir, 'a.seq'), join(dir, 'w.seq'));
    expect(run.status).toBe(0);
    expect(run.out).toContain('checked 2 files: 1 with warnings only');
  });

  it('checks the .seq files directly inside a folder, sorted, each once, and lists them per file under --json', async () => {
    const dir = folderOf({ 'z.seq': good, 'b.seq': bad, 'a.seq': warns });
    const run = await seqc('check', dir, join(dir, 'a.seq'), '--json');
    expect(run.status).toBe(1);
    const document = JSON.parse(run.out);
    expect(document.ok).toBe(false);
    const files = document.result.files as {
      file: string;
      errors: number;
      warnings: number;
      diagnostics: Diagnostic[];
    }[];
    expect(files.map((f) => f.file)).toEqual(['a.seq', 'b.seq', 'z.seq'].map((f) => join(dir, f)));
    expect(files.map((f) => [f.errors, f.warnings])).toEqual([
      [0, 1],
      [1, 0],
      [0, 0],
    ]);
    expect(files[1]!.diagnostics.map((d) => [d.code, d.span.source])).toEqual([['SEQ010', join(dir, 'b.seq')]]);
    // The top-level list holds every file's diagnostics, as for every command.
    expect((document.diagnostics as Diagnostic[]).map((d) => d.code)).toEqual(['SEQ016', 'SEQ010']);
  });

  it('a missing file or a folder without specs is an error, and the others are still checked', async () => {
    const dir = folderOf({ 'a.seq': good });
    const empty = mkdtempSync(join(workspace, 'empty-'));
    const run = await seqc('check', join(dir, 'missing.seq'), empty, join(dir, 'a.seq'), '--json');
    expect(run.status).toBe(1);
    const document = JSON.parse(run.out);
    expect((document.diagnostics as Diagnostic[]).map((d) => d.code)).toEqual(['SEQ202', 'SEQ202']);
    expect(document.result.files.map((f: { file: string }) => f.file)).toEqual([
      join(dir, 'missing.seq'),
      join(dir, 'a.seq'),
    ]);
  });

  it('no arguments is a usage problem', async () => {
    const run = await seqc('check');
    expect(run.status).toBe(2);
    expect(run.err).toContain('SEQ200');
  });
});

describe('seqc summary', () => {
  it('--json gives the summary as the result', async () => {
    const dir = folderOf({ 'a.seq': good });
    const run = await seqc('summary', join(dir, 'a.seq'), '--json');
    expect(run.status).toBe(0);
    const { result } = JSON.parse(run.out);
    expect(result.name).toBe('M');
    expect(result.rows.map((r: { label: string }) => r.label)).toEqual(['x', 'lstm', 'last', 'y']);
    expect(result.totalParameters).toBe(4 * 4 * (8 + 4 + 2));
  });

  it('two files: the usage message reads as English', async () => {
    const run = await seqc('summary', 'a.seq', 'b.seq');
    expect(run.status).toBe(2);
    expect(run.err).toContain('`seqc summary` takes one .seq file, found 2 arguments');
  });
});

describe('LayerNorm takes no positional argument', () => {
  it('`LayerNorm(256)`, as nn.LayerNorm(256) is written, is refused rather than read as eps=256', () => {
    const d = only(spec('input x: float32[batch, time, 8]', 'x -> LayerNorm(256) -> last -> output y'));
    expect(d.code).toBe('SEQ024');
    expect(d.hint).toMatch(/infers it from the input: write `LayerNorm`/);
  });

  it('`LayerNorm(eps=0.001)` still sets eps', () => {
    const { diagnostics, ir } = checkSource(
      spec('input x: float32[batch, time, 8]', 'x -> LayerNorm(eps=0.001) -> last -> output y'),
    );
    expect(diagnostics).toEqual([]);
    expect(ir?.ops.find((o) => o.kind === 'layerNorm')).toMatchObject({ eps: 0.001 });
  });
});

describe('layer names from Keras and PyTorch', () => {
  it.each([
    ['Dense(3)', /^`Dense` is `Linear` here/],
    ['SimpleRNN(hidden=4)', /^`SimpleRNN` is `RNN` here/],
    ['Bidirectional', /`BiLSTM\(…\)`/],
    ['GlobalAveragePooling1D', /the builtin `mean`/],
  ])('`%s` names what seqc calls it', (step, hint) => {
    const d = only(spec('input x: float32[batch, time, 8]', `x -> ${step} -> output y`));
    expect(d.code).toBe('SEQ010');
    expect(d.hint).toMatch(hint);
  });
});
