// The command line as a user meets it: every command, its help, its exit codes and what it writes.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { decodeModel } from '../src/onnx/decode.js';

async function seqc(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'seqc-cli-'));
const tinySpec = join(dir, 'tiny.seq');
writeFileSync(
  tinySpec,
  `model Tiny {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=20, dim=4, padding_idx=0) -> gru: BiGRU(hidden=3) -> mean -> fc: Linear(2) -> softmax -> output probs
}
`,
);

describe('seqc compile', () => {
  it('writes the model next to the spec by default and names inputs and outputs as the spec does', async () => {
    const r = await seqc('compile', tinySpec);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wrote .*tiny\.onnx: Tiny, \d+ parameters/);
    const model = decodeModel(new Uint8Array(readFileSync(join(dir, 'tiny.onnx'))));
    expect(model.graph.inputs.map((i) => i.name)).toEqual(['tokens', 'lengths']);
    expect(model.graph.outputs.map((o) => o.name)).toEqual(['probs']);
    expect(model.opsetImports[0]!.version).toBe(17);
    expect(model.irVersion).toBe(8);
    const keys = model.metadataProps.map((p) => p.key);
    expect(keys).toEqual(expect.arrayContaining(['seqc.version', 'seqc.source', 'seqc.signature']));
    expect(model.docString).toMatch(/parameters/);
    expect(model.graph.nodes.map((n) => n.name)).toContain('gru/l0/reverse/GRU');
  });

  it('honours -o, --seed and --opset', async () => {
    const out = join(dir, 'custom.onnx');
    const r = await seqc('compile', tinySpec, '-o', out, '--seed', '3', '--opset', '14');
    expect(r.code).toBe(0);
    expect(decodeModel(new Uint8Array(readFileSync(out))).opsetImports[0]!.version).toBe(14);
  });

  it('reports spec errors with exit 1 and writes nothing', async () => {
    const bad = join(dir, 'bad.seq');
    writeFileSync(
      bad,
      'model Bad {\n  input tokens: int64[batch, time]\n  tokens -> Embedding(vocab=10, dim=4) -> LSTM(hiden=3) -> output y\n}\n',
    );
    const r = await seqc('compile', bad, '-o', join(dir, 'bad.onnx'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('error[SEQ020]: LSTM has no argument `hiden`');
    expect(r.err).toContain('did you mean `hidden`?');
    expect(r.err).toContain('^^^^^');
    expect(existsSync(join(dir, 'bad.onnx'))).toBe(false);
  });

  it('rejects bad flags with exit 2', async () => {
    expect((await seqc('compile', tinySpec, '--opset', '9')).code).toBe(2);
    expect((await seqc('compile', tinySpec, '--sead', '1')).err).toContain('did you mean `--seed`?');
    expect((await seqc('compile')).code).toBe(2);
    expect((await seqc('compiel', tinySpec)).code).toBe(2);
  });
});

describe('seqc check, summary, run, build', () => {
  it('check prints JSON diagnostics with --json', async () => {
    const bad = join(dir, 'warn.seq');
    writeFileSync(
      bad,
      'model W {\n  input tokens: int64[batch, time]\n  input unused: int64[batch, time]\n  tokens -> Embedding(vocab=10, dim=4) -> mean -> output y\n}\n',
    );
    const r = await seqc('check', bad, '--json');
    expect(r.code).toBe(0);
    const { ok, diagnostics } = JSON.parse(r.out);
    expect(ok).toBe(true);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      code: 'SEQ016',
      severity: 'warning',
      span: { start: { line: 3, column: 3 } },
    });
  });

  it('summary prints a Keras-style table with totals', async () => {
    const r = await seqc('summary', 'specs/simple_lstm.seq');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Model: SimpleLSTM');
    expect(r.out).toMatch(/lstm\s+LSTM\(hidden=256\)\s+float32\[batch, time, 256\]\s+395,264/);
    expect(r.out).toContain('Total params: 1,675,521');
  });

  it('run prints outputs for a spec and for a compiled model, filling full lengths when omitted', async () => {
    const fromSpec = await seqc('run', tinySpec, '--input', 'tokens=[[1,2,3],[4,5,0]]', '--input', 'lengths=[3,2]');
    expect(fromSpec.code).toBe(0);
    const probs = JSON.parse(fromSpec.out).probs;
    expect(probs.dims).toEqual([2, 2]);
    for (const row of probs.data as number[][]) expect(row[0]! + row[1]!).toBeCloseTo(1, 5);
    await seqc('compile', tinySpec);
    const fromModel = await seqc('run', join(dir, 'tiny.onnx'), '--input', 'tokens=[[1,2,3],[4,5,6]]');
    expect(fromModel.code).toBe(0);
  });

  it('run rejects out-of-vocabulary ids and bad lengths before they reach ONNX Runtime', async () => {
    const ids = await seqc('run', tinySpec, '--input', 'tokens=[[1,2,30]]');
    expect(ids.code).toBe(1);
    expect(ids.err).toContain('tokens[0][2] is 30, outside the vocabulary [0, 20)');
    const lengths = await seqc('run', tinySpec, '--input', 'tokens=[[1,2,3]]', '--input', 'lengths=[4]');
    expect(lengths.err).toContain('lengths[0] is 4, outside [1, 3]');
    const ragged = await seqc('run', tinySpec, '--input', 'tokens=[[1,2,3],[1]]');
    expect(ragged.err).toContain('SEQ300');
  });

  it('build compiles a folder into models, text dumps and summaries', async () => {
    const out = join(dir, 'generated');
    const r = await seqc('build', 'specs', '--out', out, '--run');
    expect(r.code).toBe(0);
    for (const stem of ['simple_lstm', 'sentiment', 'tagger']) {
      expect(existsSync(join(out, `${stem}.onnx`))).toBe(true);
      expect(readFileSync(join(out, `${stem}.onnx.txt`), 'utf8')).toContain('<ir_version: 8');
      expect(readFileSync(join(out, `${stem}.summary.txt`), 'utf8')).toContain('Total params');
    }
    expect(r.out).toContain('ran on batch 2 × time 6');
  });

  it('every command has --help', async () => {
    for (const command of ['compile', 'check', 'summary', 'run', 'build']) {
      const r = await seqc(command, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: seqc /);
    }
    expect((await seqc('--help')).out).toContain('Commands:');
  });

  it('every command answers --json with one document: its result on success, its diagnostics on failure', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'seqc-json-'));
    writeFileSync(join(folder, 'tiny.seq'), readFileSync(tinySpec));
    const spec = join(folder, 'tiny.seq');
    const lm = join(folder, 'lm.seq');
    writeFileSync(
      lm,
      'model Lm {\n  decoder(bos=1, eos=2, max_length=4) {\n    -> embedding: Embedding(vocab=6, dim=4)\n    -> lstm: LSTM(hidden=4)\n    -> fc: Linear(6)\n  }\n}\n',
    );
    const runs: [string[], (result: any) => void][] = [
      [
        ['compile', spec, '-o', join(folder, 'm.onnx')],
        (r) => expect(r).toMatchObject({ files: [join(folder, 'm.onnx')], model: 'Tiny' }),
      ],
      [['check', spec], (r) => expect(r.files).toHaveLength(1)],
      [['summary', spec], (r) => expect(r).toMatchObject({ name: 'Tiny' })],
      [['run', join(folder, 'm.onnx'), '--input', 'tokens=[[1, 2]]'], (r) => expect(r.probs.dims).toEqual([1, 2])],
      [['generate', lm, '--prompt', '3'], (r) => expect(r[0].hypotheses).toHaveLength(1)],
      [
        ['build', folder, '--out', join(folder, 'built')],
        (r) => expect(r.built.map((b: { spec: string }) => b.spec).sort()).toEqual([lm, spec]),
      ],
    ];
    for (const [argv, check] of runs) {
      const r = await seqc(...argv, '--json');
      expect(r.err).toBe('');
      const document = JSON.parse(r.out);
      expect(document, argv[0]).toMatchObject({ ok: true, exitCode: 0 });
      check(document.result);
    }
    const failed = await seqc('run', join(folder, 'm.onnx'), '--input', 'tokens=[[1, 99]]', '--json');
    expect(failed.code).toBe(1);
    const document = JSON.parse(failed.out);
    expect(document).toMatchObject({ ok: false, exitCode: 1, result: null });
    expect(document.diagnostics[0].code).toBe('SEQ301');
    expect(JSON.parse((await seqc('compile', '--nope', '--json')).out).exitCode).toBe(2);
  });
});

describe('seqc generate', () => {
  const seq2seq = join(dir, 'tiny_s2s.seq');
  writeFileSync(
    seq2seq,
    `model TinyS2S {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=20, dim=8, padding_idx=0) -> encoder: BiGRU(hidden=8)
  }
  decoder(bos=1, eos=2, max_length=6) {
    -> tgt_embedding: Embedding(vocab=12, dim=8)
    -> decoder: GRU(hidden=16)
    -> attention: Attention(score=additive)
    -> generator: Linear(12)
  }
}
`,
  );
  const lm = join(dir, 'lm.seq');
  writeFileSync(
    lm,
    'model TinyLM {\n  decoder(bos=1, eos=2, max_length=5) {\n    -> embedding: Embedding(vocab=9, dim=4)\n    -> lstm: LSTM(hidden=6, layers=2)\n    -> fc: Linear(9)\n  }\n}\n',
  );

  it('compile writes the whole bundle and a manifest', async () => {
    const r = await seqc('compile', seq2seq, '-o', join(dir, 'out', 's2s.onnx'));
    expect(r.code).toBe(0);
    for (const f of ['s2s.onnx', 's2s.encoder.onnx', 's2s.step.onnx', 's2s.greedy.onnx', 's2s.manifest.json'])
      expect(existsSync(join(dir, 'out', f))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 's2s.manifest.json'), 'utf8'));
    expect(manifest.files.step.path).toBe('s2s.step.onnx');
    expect(manifest).toMatchObject({ kind: 'seq2seq', bos: 1, eos: 2, maxLength: 6, vocab: 12 });
  });

  it('greedy search, the greedy Loop graph and beam search of width 1 agree', async () => {
    await seqc('compile', seq2seq, '-o', join(dir, 'out', 's2s.onnx'));
    const manifest = join(dir, 'out', 's2s.manifest.json');
    const host = JSON.parse((await seqc('generate', manifest, '--src', '3 4 5 6', '--src', '7 8')).out);
    const graph = JSON.parse(
      (await seqc('generate', manifest, '--src', '3 4 5 6', '--src', '7 8', '--greedy-graph')).out,
    );
    const beam = JSON.parse((await seqc('generate', manifest, '--src', '3 4 5 6', '--src', '7 8', '--beam', '1')).out);
    expect(host.map((r: { hypotheses: { tokens: number[] }[] }) => r.hypotheses[0]!.tokens)).toEqual(
      graph.map((r: { hypotheses: { tokens: number[] }[] }) => r.hypotheses[0]!.tokens),
    );
    expect(beam.map((r: { hypotheses: { tokens: number[] }[] }) => r.hypotheses[0]!.tokens)).toEqual(
      graph.map((r: { hypotheses: { tokens: number[] }[] }) => r.hypotheses[0]!.tokens),
    );
  });

  it('beam search returns n-best lists sorted by score, with attention when asked', async () => {
    const r = await seqc('generate', seq2seq, '--src', '3 4 5 6', '--beam', '4', '--nbest', '3', '--attention');
    expect(r.code).toBe(0);
    const [row] = JSON.parse(r.out);
    expect(row.hypotheses).toHaveLength(3);
    const scores = row.hypotheses.map((h: { score: number }) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    for (const step of row.hypotheses[0].attention as number[][])
      expect(step.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
  });

  it('samples a language model reproducibly from a prompt', async () => {
    const a = await seqc('generate', lm, '--prompt', '3 4', '--sample', '--top-k', '4', '--sample-seed', '7');
    const b = await seqc('generate', lm, '--prompt', '3 4', '--sample', '--top-k', '4', '--sample-seed', '7');
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
  });

  it('reads and prints text through vocabularies', async () => {
    const srcVocab = join(dir, 'src.json');
    const tgtVocab = join(dir, 'tgt.json');
    writeFileSync(srcVocab, JSON.stringify(['<pad>', '<s>', '</s>', ...'abcdefghijklmnopq']));
    writeFileSync(tgtVocab, JSON.stringify(['<pad>', '<s>', '</s>', ...'0123456789-'].slice(0, 12)));
    const r = await seqc('generate', seq2seq, '--src', 'abc', '--src-vocab', srcVocab, '--tgt-vocab', tgtVocab);
    expect(r.code).toBe(0);
    expect(typeof JSON.parse(r.out)[0].hypotheses[0].text).toBe('string');
    const unknown = await seqc('generate', seq2seq, '--src', 'xyz!', '--src-vocab', srcVocab);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('is not in the vocabulary');
  });

  it("run checks a step graph's source lengths against its memory", async () => {
    await seqc('compile', seq2seq, '-o', join(dir, 'out', 's2s.onnx'));
    const step = join(dir, 'out', 's2s.step.onnx');
    const memory = JSON.stringify([[Array(16).fill(0), Array(16).fill(0)]]);
    const ok = await seqc(
      'run',
      step,
      '--input',
      'tokens=[1]',
      '--input',
      `memory=${memory}`,
      '--input',
      'src_lengths=[2]',
      '--input',
      'top_k=[1]',
    );
    expect(ok.code).toBe(0);
    const tooLong = await seqc(
      'run',
      step,
      '--input',
      'tokens=[1]',
      '--input',
      `memory=${memory}`,
      '--input',
      'src_lengths=[3]',
      '--input',
      'top_k=[1]',
    );
    expect(tooLong.code).toBe(1);
    expect(tooLong.err).toContain('src_lengths[0] is 3, outside [1, 2]');
  });

  it('reports usage errors and models without a decoder', async () => {
    expect((await seqc('generate', seq2seq, '--src', '3', '--beam', '0')).code).toBe(2);
    expect((await seqc('generate', seq2seq, '--src', '3', '--nbest', '3')).code).toBe(2);
    expect((await seqc('generate', seq2seq)).err).toContain('pass at least one --src');
    expect((await seqc('generate', seq2seq, '--src', '3 x')).err).toContain('is not an id');
    expect((await seqc('generate', tinySpec, '--src', '3')).err).toContain('has no decoder block');
  });
});
