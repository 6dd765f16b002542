// The language of nested modules and merges: dotted labels, `concat(…)`/`add(…)` chains, what the checker and summary say, and layouts.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { checkSource, compile, type Diagnostic } from '../src/index.js';
import { formatIr } from '../src/ir/print.js';
import { parse } from '../src/syntax/parse.js';
import { formatSummary } from '../src/summary/summary.js';

function spec(...lines: string[]): string {
  return ['model M {', ...lines.map((l) => `  ${l}`), '}', ''].join('\n');
}

function errors(source: string): Diagnostic[] {
  return checkSource(source).diagnostics.filter((d) => d.severity === 'error');
}

function codesOf(source: string): string[] {
  return checkSource(source).diagnostics.map((d) => d.code);
}

describe('dotted labels name nested modules', () => {
  it('own parameters under the whole path, and chains continue from them', () => {
    const result = checkSource(
      spec(
        'input tokens: int64[batch, time]',
        'tokens -> encoder.embedding: Embedding(vocab=10, dim=4) -> encoder.rnn: GRU(hidden=3)',
        'encoder.rnn -> encoder.pool: max -> decoder.head.fc: Linear(2) -> output y',
      ),
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.ir!.parameters.map((p) => p.name)).toEqual([
      'encoder.embedding.weight',
      'encoder.rnn.weight_ih_l0',
      'encoder.rnn.weight_hh_l0',
      'encoder.rnn.bias_ih_l0',
      'encoder.rnn.bias_hh_l0',
      'decoder.head.fc.weight',
      'decoder.head.fc.bias',
    ]);
    const summary = formatSummary(result.summary!);
    expect(summary).toMatch(/encoder\.rnn\s+GRU\(hidden=3\)/);
    expect(summary).toMatch(/decoder\.head\.fc\s+Linear\(2\)/);
  });

  it('a stateful layer under a dotted label has inputs and outputs `L.h0` … `L.cn` on the whole path', () => {
    const result = checkSource(
      spec(
        'input x: float32[batch, time, 5]',
        'x -> enc.rnn: LSTM(hidden=3, stateful=true) -> last -> head: Linear(2) -> output y',
      ),
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.ir!.inputs.map((i) => i.name)).toEqual(['x', 'enc.rnn.h0', 'enc.rnn.c0']);
    expect(result.ir!.outputs.map((o) => o.name)).toEqual(['enc.rnn.hn', 'enc.rnn.cn', 'y']);
  });

  it('node and tensor names stay unique in the graph when labels hold dots, on both targets', () => {
    const source = spec(
      'input tokens: int64[batch, time]',
      'input lengths: lengths(tokens)',
      'tokens -> a.e: Embedding(vocab=10, dim=4) -> a.rnn: LSTM(hidden=3, stateful=true) -> output a',
      'a.rnn -> a.rnn_last: last -> a.b: Linear(3) -> output b',
      'a.rnn -> a.pool: max',
      'concat(a.pool, a.b) -> a.out: Linear(2) -> output c',
      'concat(a.pool, a.rnn_last) -> output d',
    );
    for (const target of ['generic', 'webgpu'] as const) {
      const graph = compile(source, { sourceName: 'm.seq', target }).proto!.graph;
      const nodeNames = graph.nodes.map((n) => n.name);
      expect(new Set(nodeNames).size).toBe(nodeNames.length);
      const tensors = [
        ...graph.inputs.map((i) => i.name),
        ...graph.initializers.map((i) => i.name),
        ...graph.nodes.flatMap((n) => n.outputs.filter((o) => o !== '')),
      ];
      expect(new Set(tensors).size).toBe(tensors.length);
      expect(nodeNames).toContain('a.rnn/l0/forward/LSTM');
      expect(graph.inputs.map((i) => i.name)).toEqual(['tokens', 'lengths', 'a.rnn.h0', 'a.rnn.c0']);
    }
  });

  it('a label cannot also be the module that holds another label, explicit or derived (SEQ060)', () => {
    const explicit = errors(
      spec(
        'input x: float32[batch, time, 8]',
        'x -> encoder.rnn: LSTM(hidden=4) -> last -> encoder: Linear(2) -> output y',
      ),
    );
    expect(explicit.map((d) => [d.code, d.facts?.names])).toEqual([['SEQ060', ['encoder.rnn', 'encoder']]]);
    expect(explicit[0]!.related?.[0]?.message).toBe('`encoder` is defined here');
    // `LSTM` unlabeled is `lstm`, so `lstm.fc` would sit inside it.
    expect(
      codesOf(spec('input x: float32[batch, time, 8]', 'x -> LSTM(4) -> last -> lstm.fc: Linear(2) -> output y')),
    ).toEqual(['SEQ060']);
    // Siblings and deeper paths under a parent that is no layer are fine.
    expect(
      codesOf(
        spec(
          'input x: float32[batch, time, 8]',
          'x -> a.b.c: LSTM(4) -> last -> a.b.d: Linear(3) -> a.e: Linear(2) -> output y',
        ),
      ),
    ).toEqual([]);
  });

  it('duplicates are SEQ012 and a dotted name used as a step says how to start a chain from it', () => {
    expect(
      codesOf(spec('input x: float32[batch, 8]', 'x -> enc.fc: Linear(4) -> enc.fc: Linear(2) -> output y')),
    ).toEqual(['SEQ012']);
    const step = errors(
      spec('input x: float32[batch, 8]', 'x -> enc.fc: Linear(2) -> output y', 'x -> enc.fc -> output z'),
    );
    expect(step.map((d) => d.code)).toEqual(['SEQ010']);
    expect(step[0]!.hint).toBe('`enc.fc` is a label; a chain starts from it on a line of its own: `enc.fc -> …`');
  });

  it('malformed dotted labels are parse errors that say what a dotted label is', () => {
    for (const label of ['encoder.', 'encoder..fc']) {
      const [d] = errors(spec('input x: float32[batch, 8]', `x -> ${label}: Linear(2) -> output y`));
      expect(d!.code).toBe('SEQ002');
      expect(d!.hint).toMatch(/one name per part: `encoder\.rnn/);
    }
    const [numbered] = errors(spec('input x: float32[batch, 8]', 'x -> encoder.0: Linear(2) -> output y'));
    expect([numbered!.code, numbered!.message]).toEqual([
      'SEQ002',
      '`.0` cannot be part of a label: each part of a dotted label is a name',
    ]);
  });

  it('an encoder–decoder bundle takes dotted labels in both blocks, and a merge in the encoder', () => {
    const source = [
      'model T {',
      '  input src: int64[batch, src_time]',
      '  input src_lengths: lengths(src)',
      '  encoder {',
      '    src -> enc.embedding: Embedding(vocab=12, dim=4) -> enc.fwd: LSTM(hidden=4)',
      '    enc.fwd -> enc.second: LSTM(hidden=4)',
      '    add(enc.fwd, enc.second) -> enc.top: LSTM(hidden=6)',
      '  }',
      '  decoder(bos=1, eos=2, max_length=5) {',
      '    -> dec.embedding: Embedding(vocab=12, dim=4) -> dec.rnn: LSTM(hidden=6) -> dec.attention: Attention(score=general) -> dec.out: Linear(12)',
      '  }',
      '}',
      '',
    ].join('\n');
    const result = compile(source, { sourceName: 't.seq' });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const names = result.ir!.parameters.map((p) => p.name);
    expect(names).toContain('enc.top.weight_ih_l0');
    expect(names).toContain('dec.rnn.weight_hh_l0');
    expect(names.some((n) => n.startsWith('dec.attention.'))).toBe(true);
    expect(result.bundle).toBeDefined();
    const webgpu = compile(source, { sourceName: 't.seq', target: 'webgpu' });
    expect(webgpu.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(webgpu.bundle).toBeDefined();
  });
});

describe('the normative examples of issue 10', () => {
  it('the NerTagger parses as written; its dotted labels wait only for the Conv1d, proj and CRF layers', () => {
    const nerTagger = [
      'model NerTagger {',
      '  input tokens: int64[batch, time]',
      '  input lengths: lengths(tokens)',
      '',
      '  tokens',
      '    -> encoder.embedding: Embedding(vocab=20000, dim=128, padding_idx=0)',
      '    -> encoder.conv: Conv1d(out=128, kernel=3, padding=1)',
      '    -> relu',
      '    -> encoder.rnn: BiLSTM(hidden=256, layers=2, proj=128)',
      '    -> emissions: Linear(9)',
      '    -> crf: CRF(tags=9)',
      "    -> output tags                 # int64[batch, time]: the Viterbi path, 0 past each row's length",
      '}',
      '',
    ].join('\n');
    const parsed = parse(nerTagger, 'ner.seq');
    expect(parsed.diagnostics).toEqual([]);
    const chain = parsed.ast!.members[2]!;
    expect(
      chain.kind === 'chain' && chain.steps.map((s) => (s.kind === 'callStep' ? s.label?.text : s.name.text)),
    ).toEqual(['encoder.embedding', 'encoder.conv', undefined, 'encoder.rnn', 'emissions', 'crf', 'tags']);
  });
});

describe('merges start chains', () => {
  it('concat joins last axes, add keeps them; both keep the lengths, and the IR and summary show them', () => {
    const result = checkSource(
      spec(
        'input tokens: int64[batch, time]',
        'input lengths: lengths(tokens)',
        'tokens -> e: Embedding(vocab=10, dim=4) -> r: LSTM(hidden=3)',
        'concat(e, r, e) -> s: LSTM(hidden=2)',
        'add(s, s, s) -> output y',
      ),
    );
    expect(result.diagnostics).toEqual([]);
    const ir = formatIr(result.ir!);
    expect(ir).toContain('concat = concat(e, r, e) lengths=lengths: float32[batch, time, 11]');
    expect(ir).toContain('add = add(s, s, s) lengths=lengths: float32[batch, time, 2]');
    expect(formatSummary(result.summary!)).toMatch(/concat\s+concat\(e, r, e\)\s+float32\[batch, time, 11\]/);
  });

  it('names what is wrong with each malformed merge (SEQ061) and with mismatched operands (SEQ062–SEQ066)', () => {
    const vectors = ['input x: float32[batch, 8]', 'x -> a: Linear(4)', 'x -> b: Linear(6)'];
    const message = (source: string): [string, string] => {
      const [d] = errors(source);
      return [d!.code, d!.message];
    };
    expect(message(spec(...vectors, 'concat(a) -> output y'))).toEqual([
      'SEQ061',
      '`concat` merges two or more values, found 1',
    ]);
    expect(message(spec(...vectors, 'concat(a, 3) -> output y'))).toEqual([
      'SEQ061',
      'the operands of `concat` are inputs or labels, found `3`',
    ]);
    expect(message(spec(...vectors, 'mul(a, b) -> output y'))).toEqual([
      'SEQ061',
      '`mul(…)` cannot start a chain: the merges are `concat` and `add`',
    ]);
    expect(errors(spec(...vectors, 'cat(a, b) -> output y'))[0]!.hint).toBe('did you mean `concat(…)`?');
    expect(message(spec(...vectors, 'add(a, b) -> output y'))).toEqual([
      'SEQ066',
      '`add` needs the same feature size, but `a` float32[batch, 4] and `b` float32[batch, 6] differ',
    ]);
    expect(errors(spec(...vectors, 'concat(a, b) -> output y'))).toEqual([]);
    expect(
      message(spec('input x: float32[batch, time, 8]', 'input v: float32[batch, 8]', 'concat(x, v) -> output y')),
    ).toEqual([
      'SEQ063',
      '`concat` cannot merge the sequence `x` float32[batch, time, 8] with `v` float32[batch, 8], which has no time axis',
    ]);
    expect(message(spec('input x: float32[batch, 8]', 'input z: float32[rows, 8]', 'add(x, z) -> output y'))).toEqual([
      'SEQ064',
      '`add` needs the same batch axis, but `x` float32[batch, 8] and `z` float32[rows, 8] differ there',
    ]);
    expect(message(spec('input x: float32[batch, time, f]', 'concat(x, x) -> output y'))).toEqual([
      'SEQ066',
      '`concat` needs fixed feature sizes, but `x` float32[batch, time, f] ends in the symbolic `f`',
    ]);
  });

  it('a missing `->` before a merge-like call is the missing arrow, and a labeled merge says to label the next step', () => {
    const [arrow] = errors(spec('input x: float32[batch, 8]', 'x -> a: Linear(2) concat(a, x) -> output y'));
    expect([arrow!.code, arrow!.message]).toEqual(['SEQ002', 'expected `->` before `concat`']);
    const [labeled] = errors(spec('input x: float32[batch, 8]', 'x -> a: Linear(2)', 'both: concat(a, x) -> output y'));
    expect([labeled!.code, labeled!.message]).toEqual(['SEQ002', 'a merge takes no label: `both: concat(…)`']);
    // What the hint suggests compiles.
    expect(
      errors(spec('input x: float32[batch, 8]', 'x -> a: Linear(2)', 'concat(a, x) -> both: Dropout(0) -> output y')),
    ).toEqual([]);
  });

  it.each(['generic', 'webgpu'] as const)(
    'operands in different layouts inside the graph are brought to one, and padded steps stay zero (%s)',
    async (target) => {
      // `e` is batch-major in the graph and `r` time-major; the merged output must hold both side by side.
      const source = spec(
        'input tokens: int64[batch, time]',
        'input lengths: lengths(tokens)',
        'tokens -> e: Embedding(vocab=10, dim=4) -> output embedded',
        'e -> r: LSTM(hidden=3) -> output states',
        'concat(e, r) -> output both',
        'add(r, r) -> output twice',
      );
      const result = compile(source, { sourceName: 'm.seq', target });
      expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const session = await ort.InferenceSession.create(result.model!);
      const [batch, time] = [2, 5];
      const ids = [1, 2, 3, 4, 5, 6, 7, 8, 0, 0];
      const out = await session.run({
        tokens: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [batch, time]),
        lengths: new ort.Tensor('int64', BigInt64Array.from([5n, 3n]), [batch]),
      });
      const embedded = out.embedded!.data as Float32Array;
      const states = out.states!.data as Float32Array;
      const both = out.both!.data as Float32Array;
      const twice = out.twice!.data as Float32Array;
      expect(out.both!.dims).toEqual([batch, time, 7]);
      for (let row = 0; row < batch; row++) {
        for (let t = 0; t < time; t++) {
          const at = row * time + t;
          const valid = t < (row === 0 ? 5 : 3);
          for (let f = 0; f < 4; f++) expect(both[at * 7 + f]).toBe(valid ? embedded[at * 4 + f] : 0);
          for (let f = 0; f < 3; f++) {
            expect(both[at * 7 + 4 + f]).toBe(valid ? states[at * 3 + f] : 0);
            expect(twice[at * 3 + f]).toBe(2 * states[at * 3 + f]!);
          }
        }
      }
      expect(embedded.some((v) => v !== 0)).toBe(true);
    },
  );
});
