// `seqc emit pytorch`: what it writes (a self-contained, documented module), its --json result, and its refusals.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { checkSource } from '../src/index.js';
import { emitPytorch, pythonIdentifier } from '../src/emit/pytorch.js';

async function seqc(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'seqc-emit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const spec = join(dir, 'tiny.seq');
const tiny = `# A tiny classifier.
model Tiny {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=20, dim=4, padding_idx=0) -> gru: BiGRU(hidden=3) -> mean -> fc: Linear(2) -> softmax -> output probs
}
`;
writeFileSync(spec, tiny);

describe('seqc emit pytorch', () => {
  it('writes SPEC.py by default: torch only, the class named after the model, each layer under its spec line', async () => {
    const r = await seqc('emit', 'pytorch', spec);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wrote .*tiny\.py: class Tiny\(torch\.nn\.Module\), 11 parameter tensors/);
    const python = readFileSync(join(dir, 'tiny.py'), 'utf8');
    const imports = python.split('\n').filter((l) => /^(import|from) /.test(l));
    expect(imports.every((l) => /^(import torch|from torch[. ])/.test(l))).toBe(true);
    expect(python).toContain('class Tiny(nn.Module):');
    expect(python).toContain(
      '        # line 5: embedding: Embedding(vocab=20, dim=4, padding_idx=0)\n        self.embedding = nn.Embedding(20, 4, padding_idx=0)',
    );
    expect(python).toContain('self.gru = nn.GRU(4, 3, bidirectional=True, batch_first=True)');
    expect(python).toContain('def forward(self, **inputs):');
    // PEP 8's line length for code, tabs never, no trailing spaces.
    for (const line of python.split('\n')) {
      expect(line).not.toMatch(/\t|\s$/);
      expect(line.length, line).toBeLessThanOrEqual(140);
    }
  });

  it('honours -o and reports the file and parameter names under --json', async () => {
    const out = join(dir, 'nested', 'model.py');
    const r = await seqc('emit', 'pytorch', spec, '-o', out, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { ok: boolean; result: { file: string; model: string; parameters: string[] } };
    expect(report.ok).toBe(true);
    expect(report.result.file).toBe(out);
    expect(report.result.model).toBe('Tiny');
    expect(report.result.parameters).toContain('gru.weight_hh_l0_reverse');
    expect(existsSync(out)).toBe(true);
  });

  it('refuses a target it cannot write with a usage error that lists the targets (SEQ400)', async () => {
    const r = await seqc('emit', 'tensorflow', spec, '--json');
    expect(r.code).toBe(2);
    const report = JSON.parse(r.out) as { diagnostics: { code: string; hint: string; facts: unknown }[] };
    expect(report.diagnostics.map((d) => d.code)).toEqual(['SEQ400']);
    expect(report.diagnostics[0]!.hint).toContain('pytorch');
    expect(report.diagnostics[0]!.facts).toEqual({ found: 'tensorflow', expected: ['pytorch'] });
  });

  it('needs a target and a spec (usage, exit 2)', async () => {
    expect((await seqc('emit')).code).toBe(2);
    expect((await seqc('emit', 'pytorch')).code).toBe(2);
    expect((await seqc('emit', 'pytorch', spec, spec)).code).toBe(2);
  });

  it("reports the spec's errors as diagnostics and writes nothing (exit 1)", async () => {
    const broken = join(dir, 'broken.seq');
    writeFileSync(broken, 'model B {\n  input x: float32[batch, time, 3]\n  x -> Lstm(hidden=2) -> output y\n}\n');
    const r = await seqc('emit', 'pytorch', broken);
    expect(r.code).toBe(1);
    expect(r.err).toContain('SEQ010');
    expect(readdirSync(dir)).not.toContain('broken.py');
  });

  it('never writes over the spec it reads (SEQ206), and a missing spec is a file error', async () => {
    const r = await seqc('emit', 'pytorch', spec, '-o', spec, '--json');
    expect(r.code).toBe(1);
    expect((JSON.parse(r.out) as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code)).toEqual([
      'SEQ206',
    ]);
    expect(readFileSync(spec, 'utf8')).toBe(tiny);
    expect((await seqc('emit', 'pytorch', join(dir, 'missing.seq'))).code).toBe(1);
  });
});

describe('the emitted module source', () => {
  it('builds nested modules from dotted labels, so a label a.b becomes self.a.b and owns a.b.weight', () => {
    expect(pythonIdentifier('encoder.rnn')).toBe('encoder_rnn');
    expect(pythonIdentifier('lambda')).toBe('lambda_');
    expect(pythonIdentifier('2x')).toBe('_2x');
    // Dotted labels are not in the language yet: the IR they will give, made by renaming a label.
    const checked = checkSource(
      'model M {\n  input x: float32[batch, time, 3]\n  x -> myrnn: GRU(hidden=2) -> last -> myfc: Linear(1) -> output y\n}\n',
    ).ir!;
    const renamed = JSON.parse(
      JSON.stringify(checked).replaceAll('"myrnn', '"encoder.rnn').replaceAll('"myfc', '"encoder.head.fc'),
    ) as typeof checked;
    const python = emitPytorch(renamed);
    expect(python).toContain('self.encoder = nn.Module()\n        self.encoder.rnn = nn.GRU(3, 2, batch_first=True)');
    expect(python).toContain('self.encoder.head = nn.Module()\n        self.encoder.head.fc = nn.Linear(2, 1)');
    expect(python).toContain('encoder_rnn, encoder_rnn_h_n = run_recurrent(self.encoder.rnn, x, None, None)');
    expect(python).toContain('encoder_head_fc = self.encoder.head.fc(last)');
  });

  it("keeps values apart from the file's own names: a label `valid` or `run_recurrent` gets a fresh variable", () => {
    const ir = checkSource(
      'model M {\n  input x: float32[batch, 3]\n  x -> valid: Linear(3) -> run_recurrent: Linear(2) -> output y\n}\n',
    ).ir!;
    const python = emitPytorch(ir);
    expect(python).toContain('valid_2 = self.valid(x)');
    expect(python).toContain('run_recurrent_2 = self.run_recurrent(valid_2)');
    expect(python).toContain('"y": run_recurrent_2,');
  });

  it('writes a hand-written cell only for the options PyTorch lacks, documented', () => {
    const ir = (body: string) =>
      checkSource(`model M {\n  input x: float32[batch, time, 3]\n  x -> ${body} -> last -> output y\n}\n`).ir!;
    const keras = emitPytorch(ir('gru: GRU(hidden=2, reset_after=false)'));
    expect(keras).toContain('self.gru = HandWrittenRecurrent("gru", 3, 2, reset_after=False)');
    expect(keras).toContain('reset_after=False is the Keras GRU');
    const hard = emitPytorch(ir('lstm: LSTM(hidden=2, recurrent_activation=hard_sigmoid)'));
    expect(hard).toContain('HandWrittenRecurrent("lstm", 3, 2, recurrent_activation="hard_sigmoid")');
    const plain = emitPytorch(ir('lstm: LSTM(hidden=2)'));
    expect(plain).toContain('self.lstm = nn.LSTM(3, 2, batch_first=True)');
    expect(plain).not.toContain('def hard_sigmoid');
  });
});
