// Fingerprints of the lowering: a matrix of small specs covering every decoder option (and the recurrent
// and output-masking options of plain graphs) compiles, for both targets, to graphs whose sha256 match
// test/decoder-matrix.hashes.json. Refactors of src/lower/ must leave every hash as it is.
//
// Refresh after a change that is meant to alter graphs (and say why in the commit message):
//   SEQC_UPDATE_MATRIX=1 npx vitest run test/decoder-matrix.test.ts

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { encodeModel } from '../src/onnx/encode.js';
import type { ModelProto } from '../src/onnx/types.js';
import { seqcVersion } from '../src/version.js';

const hashFile = 'test/decoder-matrix.hashes.json';
const refresh = 'SEQC_UPDATE_MATRIX=1 npx vitest run test/decoder-matrix.test.ts';
const updating = process.env.SEQC_UPDATE_MATRIX === '1';
const targets = ['generic', 'webgpu'] as const;

interface Case {
  readonly name: string;
  readonly source: string;
}

// ---------------------------------------------------------------------------------------------
// Encoder–decoder and language-model specs.

type Score = 'dot' | 'general' | 'additive';
interface Attention {
  readonly score: Score;
  readonly placement: 'luong' | 'bahdanau';
  readonly inputFeed: boolean;
}

const attentions: readonly (Attention | undefined)[] = [
  undefined,
  ...(['dot', 'general', 'additive'] as const).flatMap((score): Attention[] => [
    { score, placement: 'luong', inputFeed: false },
    { score, placement: 'luong', inputFeed: true },
    { score, placement: 'bahdanau', inputFeed: false },
  ]),
];

/** Decoder layers, each written with `layers=` filled in by the case. */
const decoderCells = [
  { title: 'lstm', layer: 'LSTM(hidden=4, layers=LAYERS)' },
  { title: 'gru', layer: 'GRU(hidden=4, layers=LAYERS)' },
  { title: 'gru-reset-before', layer: 'GRU(hidden=4, layers=LAYERS, reset_after=false)' },
  { title: 'rnn', layer: 'RNN(hidden=4, layers=LAYERS)' },
  { title: 'rnn-relu', layer: 'RNN(hidden=4, layers=LAYERS, nonlinearity=relu, bias=false)' },
  { title: 'lstm-hard-sigmoid', layer: 'LSTM(hidden=4, layers=LAYERS, recurrent_activation=hard_sigmoid)' },
] as const;

const encoderCells = ['LSTM', 'GRU', 'RNN'] as const;

const heads = [
  ['generator: Linear(9)'],
  ['pre: Linear(6)', 'tanh', 'norm: LayerNorm', 'Dropout(0.1)', 'generator: Linear(9)'],
  ['relu', 'generator: Linear(9, bias=false)', 'log_softmax'],
] as const;

interface Shape {
  readonly layers: number;
  readonly bidirectional: boolean;
  readonly bridge: boolean;
  readonly encoderCell: (typeof encoderCells)[number];
}

function seq2seqSource(
  shape: Shape,
  cell: (typeof decoderCells)[number],
  attention: Attention | undefined,
  head: readonly string[],
): string {
  const dirs = shape.bidirectional ? 2 : 1;
  const encoderLayers = shape.bridge ? 3 - shape.layers : shape.layers;
  const encoderHidden = shape.bridge && attention?.score !== 'dot' ? (shape.bidirectional ? 3 : 5) : 4 / dirs;
  const attentionLine =
    attention === undefined
      ? undefined
      : `    -> attention: Attention(score=${attention.score}${attention.inputFeed ? ', input_feed=true' : ''})`;
  return [
    'model Case {',
    '  input src: int64[batch, src_time]',
    '  input src_lengths: lengths(src)',
    '  encoder {',
    '    src',
    '      -> src_embedding: Embedding(vocab=11, dim=3, padding_idx=0)',
    `      -> encoder: ${shape.bidirectional ? 'Bi' : ''}${shape.encoderCell}(hidden=${encoderHidden}, layers=${encoderLayers})`,
    '  }',
    `  decoder(bos=1, eos=2, max_length=6${shape.bridge ? ', bridge=linear' : ''}) {`,
    '    -> tgt_embedding: Embedding(vocab=9, dim=3)',
    ...(attention?.placement === 'bahdanau' ? [attentionLine!] : []),
    `    -> decoder: ${cell.layer.replace('LAYERS', String(shape.layers))}`,
    ...(attention?.placement === 'luong' ? [attentionLine!] : []),
    ...head.map((step) => `    -> ${step}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Every attention variant × every decoder cell; the structure walks its 8 combinations across them. */
function seq2seqCases(): Case[] {
  const cases: Case[] = [];
  attentions.forEach((attention, a) => {
    decoderCells.forEach((cell, c) => {
      const s = (a + 3 * c) % 8;
      const shape: Shape = {
        layers: 1 + (s & 1),
        bidirectional: (s & 2) !== 0,
        bridge: (s & 4) !== 0,
        encoderCell: encoderCells[(a + c) % 3]!,
      };
      const head = heads[(a + c) % heads.length]!;
      const title = attention === undefined ? 'none' : `${attention.score}-${attention.placement}`;
      const name = [
        `${shape.bidirectional ? 'bi' : ''}${shape.encoderCell.toLowerCase()}`,
        `${cell.title}x${shape.layers}`,
        `${title}${attention?.inputFeed ? '-feed' : ''}`,
        shape.bridge ? 'bridge' : 'direct',
        `head${(a + c) % heads.length}`,
      ].join(' ');
      cases.push({ name, source: seq2seqSource(shape, cell, attention, head) });
    });
  });
  // A two-stage encoder: the last recurrent layer gives the state.
  cases.push({
    name: 'two-stage encoder, lstm decoder, general luong',
    source: [
      'model Case {',
      '  input src: int64[batch, src_time]',
      '  input src_lengths: lengths(src)',
      '  encoder {',
      '    src -> src_embedding: Embedding(vocab=11, dim=3) -> pre: GRU(hidden=3) -> encoder: BiLSTM(hidden=2, layers=2)',
      '  }',
      '  decoder(bos=1, eos=2, max_length=6) {',
      '    -> tgt_embedding: Embedding(vocab=9, dim=3)',
      '    -> decoder: LSTM(hidden=4, layers=2)',
      '    -> attention: Attention(score=general)',
      '    -> generator: Linear(9)',
      '  }',
      '}',
      '',
    ].join('\n'),
  });
  // Language models: no encoder, zero initial state.
  for (const cell of decoderCells) {
    for (const layers of [1, 2]) {
      cases.push({
        name: `language model ${cell.title}x${layers}`,
        source: [
          'model Case {',
          '  decoder(bos=1, eos=2, max_length=5) {',
          '    -> embedding: Embedding(vocab=9, dim=3)',
          `    -> decoder: ${cell.layer.replace('LAYERS', String(layers))}`,
          ...heads[layers - 1]!.map((step) => `    -> ${step}`),
          '  }',
          '}',
          '',
        ].join('\n'),
      });
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Plain graphs: recurrent layers, states, pooling and the length masking of outputs.

function plain(name: string, inputs: readonly string[], chain: string): Case {
  return { name, source: ['model Case {', ...inputs.map((i) => `  input ${i}`), `  ${chain}`, '}', ''].join('\n') };
}

const tokens = ['tokens: int64[batch, time]', 'lengths: lengths(tokens)'];
const frames = ['frames: float32[batch, time, 5]', 'lengths: lengths(frames)'];

const plainCases: readonly Case[] = [
  plain(
    'tokens lstm last',
    tokens.slice(0, 1),
    'tokens -> e: Embedding(vocab=7, dim=3) -> r: LSTM(hidden=4) -> last -> output y',
  ),
  plain(
    'masked bilstm x2 last',
    tokens,
    'tokens -> e: Embedding(vocab=7, dim=3, padding_idx=0) -> r: BiLSTM(hidden=4, layers=2) -> last -> f: Linear(2) -> softmax -> output y',
  ),
  plain(
    'masked bigru tagger',
    tokens,
    'tokens -> e: Embedding(vocab=7, dim=3) -> r: BiGRU(hidden=3) -> f: Linear(5) -> output y',
  ),
  plain('masked embedding output', tokens, 'tokens -> e: Embedding(vocab=7, dim=3) -> output y'),
  plain('masked frames rnn mean', frames, 'frames -> r: RNN(hidden=4, nonlinearity=relu) -> mean -> output y'),
  plain('masked frames birnn max', frames, 'frames -> r: BiRNN(hidden=4, layers=2, bias=false) -> max -> output y'),
  plain(
    'masked frames gru reset before, hard sigmoid',
    frames,
    'frames -> r: GRU(hidden=4, reset_after=false, recurrent_activation=hard_sigmoid) -> n: LayerNorm -> output y',
  ),
  plain(
    'frames lstm hard sigmoid per step',
    frames.slice(0, 1),
    'frames -> r: LSTM(hidden=3, recurrent_activation=hard_sigmoid) -> output y',
  ),
  plain(
    'stateful lstm x2',
    frames.slice(0, 1),
    'frames -> r: LSTM(hidden=3, layers=2, stateful=true) -> last -> output y',
  ),
  plain('masked stateful bigru', frames, 'frames -> r: BiGRU(hidden=3, stateful=true) -> output y'),
  plain('masked stateful rnn', frames, 'frames -> r: RNN(hidden=3, stateful=true) -> mean -> output y'),
  plain(
    'stacked layers',
    frames,
    'frames -> a: BiLSTM(hidden=3) -> d: Dropout(0.2) -> b: GRU(hidden=4, layers=2, stateful=true) -> c: BiRNN(hidden=2) -> last -> output y',
  ),
];

// ---------------------------------------------------------------------------------------------

const cases: readonly Case[] = [...plainCases, ...seq2seqCases()];

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A model's bytes with seqc's version written as VERSION, so that a release does not change the hashes. */
function versionFree(proto: ModelProto): Uint8Array {
  const free = (text: string): string => text.split(seqcVersion).join('VERSION');
  return encodeModel({
    ...proto,
    producerVersion: free(proto.producerVersion),
    ...(proto.docString === undefined ? {} : { docString: free(proto.docString) }),
    metadataProps: proto.metadataProps.map((p) => (p.key === 'seqc.version' ? { ...p, value: free(p.value) } : p)),
  });
}

/** What a case compiles to on a target: each graph's hash by role (with its weights inline, seqc's version left out), or its diagnostics. */
function fingerprint(source: string, target: (typeof targets)[number]): Record<string, string> {
  const result = compile(source, { sourceName: 'case.seq', target });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) return { diagnostics: errors.map((d) => d.code).join(' ') };
  if (result.bundle === undefined) return { model: sha256(versionFree(result.proto!)) };
  const hashes: Record<string, string> = {};
  for (const f of result.bundle.files) hashes[f.role] = sha256(versionFree(f.proto));
  hashes.manifest = sha256(JSON.stringify(result.bundle.manifest));
  return hashes;
}

function readHashes(): Record<string, Record<string, Record<string, string>>> {
  try {
    return JSON.parse(readFileSync(hashFile, 'utf8')) as Record<string, Record<string, Record<string, string>>>;
  } catch {
    return {};
  }
}

describe('the lowering fingerprint matrix', () => {
  const committed = readHashes();
  const computed: Record<string, Record<string, Record<string, string>>> = {};

  it('names every case once', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThan(60);
  });

  for (const c of cases) {
    it(`${c.name}: the same graphs on both targets`, () => {
      const entry: Record<string, Record<string, string>> = {};
      for (const target of targets) entry[target] = fingerprint(c.source, target);
      computed[c.name] = entry;
      // The generic target compiles every case (a spec mistake in this file would otherwise hide a case).
      expect(entry.generic!.diagnostics, c.source).toBeUndefined();
      if (updating) return;
      expect(entry, `the graphs changed: review, then refresh with ${refresh}`).toEqual(committed[c.name]);
    });
  }

  it.runIf(updating)('writes the refreshed hashes', () => {
    writeFileSync(hashFile, `${JSON.stringify(computed, null, 2)}\n`);
  });

  it.skipIf(updating)('has no stale entries', () => {
    expect(Object.keys(committed).sort()).toEqual(cases.map((c) => c.name).sort());
  });
});
