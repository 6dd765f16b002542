// `seqc import` of functional Keras models of the Luong-attention recipe: built with TF.js Layers' functional API, imported by the CLI into an encoder–decoder bundle, and compared with tfjs on teacher-forced probabilities and greedy decodes.

import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { checkSource, compile } from '../src/index.js';
import { emitPytorch } from '../src/emit/pytorch.js';
import { decodeTfjsWeights, parseTfjsModel } from '../src/import/tfjs.js';
import { saveTfjs as saveTfjsIn, writeLegacyH5 as writeKerasH5 } from './keras/files.js';

const workspace = mkdtempSync(join(tmpdir(), 'seqc-import-seq2seq-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));
beforeAll(async () => {
  await h5wasm.ready;
});

let folders = 0;

async function seqc(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { status, out, err };
}

/** Saves a tfjs model as model.json + one shard in a new folder, `edit` changing its topology; returns model.json's path. */
function saveTfjs(model: tf.LayersModel, edit?: (topology: Record<string, unknown>) => void): Promise<string> {
  return saveTfjsIn(model, join(workspace, `m${folders++}`), (json) => edit?.(json.modelTopology));
}

/**
 * A saved TF.js model as Keras 2 writes a legacy .h5: `model_config` (class Functional) and
 * `keras_version` on the root, each layer's weights under model_weights/<layer>/ by `weight_names`.
 */
function writeLegacyH5(modelJson: string, path: string): void {
  const parsed = parseTfjsModel(readFileSync(modelJson, 'utf8'), modelJson);
  const shard = readFileSync(join(modelJson, '..', 'group1-shard1of1.bin'));
  const weights = decodeTfjsWeights(parsed.model!, new Map([['group1-shard1of1.bin', new Uint8Array(shard)]]), 'm')
    .model!.weights;
  const topology = { ...(parsed.model!.topology as Record<string, unknown>), class_name: 'Functional' };
  // The layers that own weights (h5wasm writes no empty `weight_names` list for the others).
  const layers = [...new Set([...weights.keys()].map((n) => n.split('/')[0]!))];
  writeKerasH5(path, topology, weights, layers);
}

/** The saved model as TF.js loads it again: the reference, since it is the file that was imported. */
async function loadTfjs(modelJson: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(modelJson, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
  };
  const shard = readFileSync(join(modelJson, '..', 'group1-shard1of1.bin'));
  const weightData = shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData }),
  );
}

interface Recipe {
  readonly cell: 'lstm' | 'gru';
  /** The decoder's initial_state: the encoder's [h, c], or [h, h] (an LSTM decoder), or [h] (GRU). */
  readonly states: 'hc' | 'hh' | 'h';
  readonly srcMask: boolean;
  readonly tgtMask?: boolean;
  /** Dense layers inside TimeDistributed, as the classic Keras example writes them. */
  readonly timeDistributed: boolean;
  /** Concatenate([decoder, context]) instead of [context, decoder]. */
  readonly decoderFirst: boolean;
  /** A Dropout after the decoder (the identity at inference). */
  readonly dropout?: boolean;
  /** The recurrent layers' gate activation (TF.js's LSTM default is hard_sigmoid). */
  readonly gate?: 'sigmoid' | 'hardSigmoid';
}

const sizes = { srcVocab: 13, tgtVocab: 11, dim: 5, hidden: 6 };
const bos = 1;
const eos = 2;

/**
 * The reference: the same layers (so the same weights) as an encoder model and a decoder model that
 * takes the encoder's outputs as inputs. TF.js cannot run the whole model once its encoder has a mask
 * (its executor shares one kwargs object between layers, so the masked encoder's `mask` reaches the
 * decoder LSTM, whose initial states then clash with it), and the split computes the same function:
 * the states and memory carry no mask into the decoder, and Keras's Dot ignores masks.
 */
interface Reference {
  readonly encoder: tf.LayersModel;
  readonly decoder: tf.LayersModel;
}

/** The Keras Luong-attention translator, with seeded weights large enough to make decodes vary. */
function buildRecipe(r: Recipe, seed: number): { model: tf.LayersModel; reference: () => Reference } {
  const layers = {
    srcEmbedding: tf.layers.embedding({
      inputDim: sizes.srcVocab,
      outputDim: sizes.dim,
      maskZero: r.srcMask,
      name: 'src_embedding',
    }),
    tgtEmbedding: tf.layers.embedding({
      inputDim: sizes.tgtVocab,
      outputDim: sizes.dim,
      maskZero: r.tgtMask === true,
      name: 'tgt_embedding',
    }),
    encoder: (r.cell === 'lstm' ? tf.layers.lstm : tf.layers.gru)({
      units: sizes.hidden,
      returnSequences: true,
      returnState: true,
      name: 'encoder',
      recurrentActivation: r.gate ?? 'hardSigmoid',
    }),
    decoder: (r.states === 'h' && r.cell === 'gru' ? tf.layers.gru : tf.layers.lstm)({
      units: sizes.hidden,
      returnSequences: true,
      name: 'decoder',
      recurrentActivation: r.gate ?? 'hardSigmoid',
    }),
    dropout: tf.layers.dropout({ rate: 0.3, name: 'decoder_dropout' }),
    scores: tf.layers.dot({ axes: [2, 2], name: 'scores' }),
    attention: tf.layers.activation({ activation: 'softmax', name: 'attention' }),
    context: tf.layers.dot({ axes: [2, 1], name: 'context' }),
    joined: tf.layers.concatenate({ name: 'joined' }),
    attentional: dense(r, sizes.hidden, 'tanh', 'attentional'),
    generator: dense(r, sizes.tgtVocab, 'softmax', 'generator'),
  };
  const sym = (layer: tf.layers.Layer, input: tf.SymbolicTensor | tf.SymbolicTensor[], kwargs?: object) =>
    layer.apply(input, kwargs) as tf.SymbolicTensor;
  /** The decoder side on target tokens, from the encoder's outputs and final states. */
  const decode = (tgt: tf.SymbolicTensor, memory: tf.SymbolicTensor, h: tf.SymbolicTensor, c?: tf.SymbolicTensor) => {
    const initialState = r.states === 'hc' ? [h, c!] : r.states === 'hh' ? [h, h] : [h];
    let dec = sym(layers.decoder, sym(layers.tgtEmbedding, tgt), { initialState });
    if (r.dropout === true) dec = sym(layers.dropout, dec);
    const weights = sym(layers.attention, sym(layers.scores, [dec, memory]));
    const context = sym(layers.context, [weights, memory]);
    const joined = sym(layers.joined, r.decoderFirst ? [dec, context] : [context, dec]);
    return sym(layers.generator, sym(layers.attentional, joined));
  };
  const src = tf.input({ shape: [null], name: 'source', dtype: 'int32' });
  const tgt = tf.input({ shape: [null], name: 'target', dtype: 'int32' });
  const [memory, h, c] = layers.encoder.apply(sym(layers.srcEmbedding, src)) as tf.SymbolicTensor[];
  const model = tf.model({ inputs: [src, tgt], outputs: decode(tgt, memory!, h!, c) });
  let n = seed;
  model.setWeights(model.getWeights().map((w) => tf.randomNormal(w.shape, 0, 0.7, 'float32', n++)));
  const reference = (): Reference => {
    const states = r.cell === 'lstm' ? [h!, c!] : [h!];
    const encoder = tf.model({ inputs: src, outputs: [memory!, ...states] });
    const tgtIn = tf.input({ shape: [null], dtype: 'int32' });
    const memoryIn = tf.input({ shape: [null, sizes.hidden] });
    const statesIn = states.map(() => tf.input({ shape: [sizes.hidden] }));
    const decoder = tf.model({
      inputs: [tgtIn, memoryIn, ...statesIn],
      outputs: decode(tgtIn, memoryIn, statesIn[0]!, statesIn[1]),
    });
    return { encoder, decoder };
  };
  return { model, reference };
}

function dense(r: Recipe, units: number, activation: 'tanh' | 'softmax', name: string): tf.layers.Layer {
  return r.timeDistributed
    ? tf.layers.timeDistributed({ layer: tf.layers.dense({ units, activation }), name })
    : tf.layers.dense({ units, activation, name });
}

/** The reference's probabilities [batch, tgt_time, vocab] for source and target-input rows. */
function referenceProbabilities(reference: Reference, src: number[][], tgtIn: number[][]): tf.Tensor {
  const encoded = reference.encoder.predict(tf.tensor2d(src, undefined, 'int32')) as tf.Tensor[];
  const [memory, ...states] = encoded;
  return reference.decoder.predict([tf.tensor2d(tgtIn, undefined, 'int32'), memory!, ...states]) as tf.Tensor;
}

/** Imports with the CLI, then compiles the spec to a bundle; returns the spec and the bundle's manifest path. */
async function importBundle(modelJson: string): Promise<{ spec: string; manifest: string; scoring: string }> {
  const dir = join(modelJson, '..', 'out');
  const seq = join(dir, 'translator.seq');
  const imported = await seqc(
    'import',
    modelJson,
    '-o',
    seq,
    '--bos',
    String(bos),
    '--eos',
    String(eos),
    '--max-length',
    '8',
  );
  expect(imported.err).toBe('');
  expect(imported.status).toBe(0);
  const compiled = await seqc(
    'compile',
    seq,
    '--weights',
    join(dir, 'translator.safetensors'),
    '-o',
    join(dir, 'bundle', 'translator.onnx'),
  );
  expect(compiled.err).toBe('');
  expect(compiled.status).toBe(0);
  return {
    spec: readFileSync(seq, 'utf8'),
    manifest: join(dir, 'bundle', 'translator.manifest.json'),
    scoring: join(dir, 'bundle', 'translator.onnx'),
  };
}

const ids = (rows: number[][]) =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);

function softmax(row: Float32Array): number[] {
  const max = Math.max(...row);
  const exp = [...row].map((v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((e) => e / sum);
}

/** max |softmax(seqc's scoring logits) − tfjs's probabilities| over a teacher-forced batch. */
async function teacherForcedGap(reference: Reference, scoring: string, src: number[][], tgtIn: number[][]) {
  const session = await ort.InferenceSession.create(scoring);
  const out = await session.run({ src: ids(src), tgt_in: ids(tgtIn) });
  const logits = out['logits']!;
  const vocab = sizes.tgtVocab;
  expect(logits.dims).toEqual([src.length, tgtIn[0]!.length, vocab]);
  const expected = referenceProbabilities(reference, src, tgtIn).dataSync();
  const data = logits.data as Float32Array;
  let gap = 0;
  for (let i = 0; i < data.length / vocab; i++) {
    const p = softmax(data.subarray(i * vocab, (i + 1) * vocab));
    p.forEach((v, k) => (gap = Math.max(gap, Math.abs(v - expected[i * vocab + k]!))));
  }
  return gap;
}

/** Greedy decoding with tfjs: feed bos and every token so far, take the argmax of the last step, stop after eos. */
function tfjsGreedy(reference: Reference, src: number[], maxLength: number): number[] {
  const tokens: number[] = [];
  while (tokens.length < maxLength) {
    const prefix = [bos, ...tokens];
    const probs = referenceProbabilities(reference, [src], [prefix]);
    const last = probs.slice([0, prefix.length - 1, 0], [1, 1, sizes.tgtVocab]).dataSync();
    let best = 0;
    for (let k = 1; k < last.length; k++) if (last[k]! > last[best]!) best = k;
    tokens.push(best);
    if (best === eos) break;
  }
  return tokens;
}

async function seqcGreedy(manifest: string, sources: number[][], ...flags: string[]): Promise<number[][]> {
  const args = sources.flatMap((s) => ['--src', s.join(' ')]);
  const run = await seqc('generate', manifest, ...args, ...flags);
  expect(run.err).toBe('');
  expect(run.status).toBe(0);
  const rows = JSON.parse(run.out) as { hypotheses: { tokens: number[] }[] }[];
  return rows.map((r) => r.hypotheses[0]!.tokens);
}

// Pre-padded (Keras's pad_sequences), a full row, and a row with a gap: 0 is the padding id under mask_zero.
const sources = [
  [0, 0, 3, 4, 5, 6],
  [7, 8, 9, 10, 11, 12],
  [0, 3, 0, 5, 9, 4],
  [0, 0, 0, 0, 8, 3],
];
const targets = [
  [bos, 3, 4, 5, 6],
  [bos, 7, 8, 9, 10],
  [bos, 5, 2, 3, 3],
  [bos, 4, 4, 4, 4],
];

const recipes: [string, Recipe][] = [
  [
    'LSTM, initial_state=[h, c], mask_zero source, TimeDistributed Dense, Concatenate([context, decoder])',
    { cell: 'lstm', states: 'hc', srcMask: true, timeDistributed: true, decoderFirst: false },
  ],
  [
    'LSTM, initial_state=[h, h], plain Dense, Concatenate([decoder, context]), a Dropout, sigmoid gates',
    {
      cell: 'lstm',
      states: 'hh',
      srcMask: false,
      timeDistributed: false,
      decoderFirst: true,
      dropout: true,
      gate: 'sigmoid',
    },
  ],
  [
    'GRU (reset_after=false, as TF.js has it), initial_state=[h], mask_zero source',
    { cell: 'gru', states: 'h', srcMask: true, timeDistributed: true, decoderFirst: false },
  ],
];

describe('seqc import: the Keras Luong-attention recipe as an encoder–decoder bundle', () => {
  it.each(recipes)('%s: teacher-forced probabilities and greedy decodes match tfjs', async (_, recipe) => {
    const { model, reference } = buildRecipe(recipe, 11);
    const path = await saveTfjs(model);
    const tfjs = reference();
    const { spec, manifest, scoring } = await importBundle(path);
    expect(spec).toContain(`Attention(score=dot, bias=true)`);
    expect(spec.includes('c0=h')).toBe(recipe.states === 'hh');
    expect(spec.includes('mask_zero=true')).toBe(recipe.srcMask);
    if (!recipe.srcMask) {
      // Without a mask TF.js runs the whole saved model: the split reference is the same function.
      const whole = (await loadTfjs(path)).predict([
        tf.tensor2d(sources, undefined, 'int32'),
        tf.tensor2d(targets, undefined, 'int32'),
      ]) as tf.Tensor;
      const split = referenceProbabilities(tfjs, sources, targets);
      expect(tf.max(tf.abs(tf.sub(whole, split))).dataSync()[0]).toBeLessThan(1e-6);
    }
    const gap = await teacherForcedGap(tfjs, scoring, sources, targets);
    console.log(`max |Δ| of probabilities, ${recipe.cell} ${recipe.states}: ${gap.toExponential(2)}`);
    expect(gap).toBeLessThan(1e-5);
    const expected = sources.map((s) => tfjsGreedy(tfjs, s, 8));
    expect(await seqcGreedy(manifest, sources)).toEqual(expected);
    expect(await seqcGreedy(manifest, sources, '--greedy-graph')).toEqual(expected);
    // The decodes are not all the same sequence, so the comparison says something.
    expect(new Set(expected.map((t) => t.join(' '))).size).toBeGreaterThan(1);
  });

  it('a legacy Keras 2 .h5 of the recipe (class Functional) imports to the same function', async () => {
    const { model, reference } = buildRecipe(recipes[0]![1], 13);
    const modelJson = await saveTfjs(model);
    const h5 = join(modelJson, '..', 'translator.h5');
    writeLegacyH5(modelJson, h5);
    const { scoring } = await importBundle(h5);
    const gap = await teacherForcedGap(reference(), scoring, sources, targets);
    console.log(`max |Δ| of probabilities, legacy .h5: ${gap.toExponential(2)}`);
    expect(gap).toBeLessThan(1e-5);
  });

  it('writes a spec that says where each step came from', async () => {
    const model = buildRecipe(recipes[0]![1], 3).model;
    const { spec } = await importBundle(await saveTfjs(model));
    expect(spec).toMatch(/# from Keras source \(InputLayer\)\n  input src: int64\[batch, src_time\]/);
    expect(spec).toMatch(/decoder\(bos=1, eos=2, max_length=8\)/);
    expect(spec).toMatch(/# from Keras decoder \(LSTM\), initial_state=\[h, c\] of encoder/);
    expect(spec).toMatch(
      /# from Keras scores \(Dot\), attention \(Activation\), context \(Dot\), joined \(Concatenate\)/,
    );
    expect(spec).toMatch(/-> generator: Linear\(11\)/);
  });
});

describe('seqc import: what is not the recipe', () => {
  async function importCodes(modelJson: string, ...flags: string[]) {
    const out = join(modelJson, '..', 'out', 'translator.seq');
    const run = await seqc('import', modelJson, '-o', out, '--json', ...flags);
    const report = JSON.parse(run.out) as {
      diagnostics: { code: string; severity: string; message: string; facts?: unknown }[];
    };
    return { status: run.status, diagnostics: report.diagnostics };
  }
  const flags = ['--bos', '1', '--eos', '2', '--max-length', '8'];
  const base: Recipe = { cell: 'lstm', states: 'hc', srcMask: true, timeDistributed: true, decoderFirst: false };

  it('SEQ614: an encoder–decoder needs --bos, --eos and --max-length, ids within the target vocabulary', async () => {
    const path = await saveTfjs(buildRecipe(base, 5).model);
    const missing = await importCodes(path, '--bos', '1');
    expect(missing.status).toBe(1);
    expect(missing.diagnostics.map((d) => d.code)).toEqual(['SEQ614']);
    expect(missing.diagnostics[0]!.facts).toMatchObject({ names: ['--eos', '--max-length'] });
    const outside = await importCodes(path, '--bos', '1', '--eos', '11', '--max-length', '8');
    expect(outside.diagnostics.map((d) => d.code)).toEqual(['SEQ614']);
    expect(outside.diagnostics[0]!.facts).toMatchObject({ flag: '--eos', range: [0, 10] });
    const malformed = await importCodes(path, '--bos', 'one', '--eos', '2', '--max-length', '8');
    expect(malformed.status).toBe(2);
  });

  it('--json names the scoring graph’s inputs and outputs; the flags on a Sequential model are a SEQ614 warning', async () => {
    const path = await saveTfjs(buildRecipe(base, 5).model);
    const run = await seqc('import', path, '-o', join(path, '..', 'json', 't.seq'), '--json', ...flags);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.out).result).toMatchObject({ inputs: ['src', 'tgt_in'], outputs: ['logits'] });
    const input = tf.input({ shape: [3, 4] });
    const sequential = tf.model({
      inputs: input,
      outputs: tf.layers.lstm({ units: 2 }).apply(input) as tf.SymbolicTensor,
    });
    const seqPath = await saveTfjs(sequential, (topology) => {
      // The same layers as a Sequential model: InputLayer, then the LSTM.
      const config = topology['config'] as { layers: unknown[] };
      topology['class_name'] = 'Sequential';
      topology['config'] = { name: 's', layers: config.layers };
    });
    const plain = await importCodes(seqPath, '--bos', '1');
    expect(plain.status).toBe(0);
    expect(plain.diagnostics.map((d) => [d.code, d.severity])).toEqual([['SEQ614', 'warning']]);
  });

  it('SEQ613 names the layer: a context Dot with the wrong axes', async () => {
    const path = await saveTfjs(buildRecipe(base, 5).model, (topology) => {
      const layers = (topology['config'] as { layers: { name: string; config: Record<string, unknown> }[] }).layers;
      layers.find((l) => l.name === 'context')!.config['axes'] = [2, 2];
    });
    const { status, diagnostics } = await importCodes(path, ...flags);
    expect(status).toBe(1);
    expect(diagnostics.map((d) => d.code)).toEqual(['SEQ613']);
    expect(diagnostics[0]!.facts).toMatchObject({ names: ['context', 'Dot'], found: 'Dot(axes=[2, 2])' });
  });

  it('SEQ613: a decoder whose initial state is not taken from the encoder as the recipe wires it', async () => {
    const path = await saveTfjs(buildRecipe(base, 5).model, (topology) => {
      const layers = (topology['config'] as { layers: { name: string; inbound_nodes: unknown[][][] }[] }).layers;
      const decoder = layers.find((l) => l.name === 'decoder')!;
      // initial_state=[c, h]
      decoder.inbound_nodes = [[decoder.inbound_nodes[0]![0]!, ['encoder', 0, 2, {}], ['encoder', 0, 1, {}]]];
    });
    const { diagnostics } = await importCodes(path, ...flags);
    expect(diagnostics.map((d) => d.code)).toEqual(['SEQ613']);
    expect(diagnostics[0]!.facts).toMatchObject({ names: ['decoder', 'LSTM'], found: 'initial_state=[c, h]' });
  });

  it('SEQ613: an attentional Dense whose size is not the decoder’s', async () => {
    const path = await saveTfjs(buildRecipe(base, 5).model, (topology) => {
      const layers = (
        topology['config'] as { layers: { name: string; config: { layer: { config: Record<string, unknown> } } }[] }
      ).layers;
      layers.find((l) => l.name === 'attentional')!.config.layer.config['units'] = 7;
    });
    const { diagnostics } = await importCodes(path, ...flags);
    expect(diagnostics.map((d) => d.code)).toEqual(['SEQ613']);
    expect(diagnostics[0]!.facts).toMatchObject({ names: ['attentional', 'TimeDistributed'], found: '7 units' });
  });

  it('SEQ613: a functional model that is not an encoder–decoder at all', async () => {
    const input = tf.input({ shape: [4] });
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor });
    const { diagnostics } = await importCodes(await saveTfjs(model), ...flags);
    expect(diagnostics.map((d) => d.code)).toEqual(['SEQ613']);
  });

  it('SEQ615: a target Embedding with mask_zero imports with a warning, and agrees on prefixes without id 0', async () => {
    const { model, reference } = buildRecipe({ ...base, tgtMask: true }, 7);
    const path = await saveTfjs(model);
    const out = join(path, '..', 'out', 'translator.seq');
    const run = await seqc('import', path, '-o', out, ...flags);
    expect(run.status).toBe(0);
    expect(run.err).toMatch(/warning\[SEQ615\]/);
    const spec = readFileSync(out, 'utf8');
    expect(spec).toMatch(/-> tgt_embedding: Embedding\(11, 5\)\n/);
    const bundle = join(path, '..', 'out', 'bundle', 'translator.onnx');
    const compiled = await seqc(
      'compile',
      out,
      '--weights',
      join(path, '..', 'out', 'translator.safetensors'),
      '-o',
      bundle,
    );
    expect(compiled.status).toBe(0);
    // The targets hold no id 0, so Keras's decoder mask skips nothing.
    expect(await teacherForcedGap(reference(), bundle, sources, targets)).toBeLessThan(1e-5);
  });
});

describe('the language: Attention(bias=true) and decoder(c0=h)', () => {
  const spec = (decoderArgs: string, attention: string, cell = 'LSTM') => `model M {
  input src: int64[batch, src_time]
  encoder {
    src -> se: Embedding(9, 4) -> enc: LSTM(6)
  }
  decoder(bos=1, eos=2, max_length=5${decoderArgs}) {
    -> te: Embedding(9, 4)
    -> dec: ${cell}(6)
    -> att: ${attention}
    -> fc: Linear(9)
  }
}
`;

  it('bias=true gives a dot attention linear_out.bias; the default has none, as before', () => {
    const names = (source: string) => compile(source).ir!.parameters.map((p) => p.name);
    expect(names(spec('', 'Attention(score=dot, bias=true)'))).toContain('att.linear_out.bias');
    expect(names(spec('', 'Attention(score=dot)'))).not.toContain('att.linear_out.bias');
    expect(names(spec('', 'Attention(score=additive)'))).toContain('att.linear_out.bias');
    expect(names(spec('', 'Attention(score=additive, bias=false)'))).not.toContain('att.linear_out.bias');
  });

  it('refuses bias=true on an Attention before the recurrent layer (SEQ048) and c0=h on a GRU decoder (SEQ040)', () => {
    const bahdanau = `model M {
  input src: int64[batch, src_time]
  encoder {
    src -> se: Embedding(9, 4) -> enc: LSTM(6)
  }
  decoder(bos=1, eos=2, max_length=5) {
    -> te: Embedding(9, 4)
    -> att: Attention(score=dot, bias=true)
    -> dec: LSTM(6)
    -> fc: Linear(9)
  }
}
`;
    expect(checkSource(bahdanau).diagnostics.map((d) => d.code)).toEqual(['SEQ048']);
    expect(checkSource(spec(', c0=h', 'Attention(score=dot)', 'GRU')).diagnostics.map((d) => d.code)).toEqual([
      'SEQ040',
    ]);
    expect(checkSource(spec(', c0=h, bridge=linear', 'Attention(score=dot)')).diagnostics.map((d) => d.code)).toEqual([
      'SEQ040',
    ]);
  });

  it('c0=h feeds the encoder h as c0: the encoder graph gives c0 equal to h0', async () => {
    const { bundle } = compile(spec(', c0=h', 'Attention(score=dot, bias=true)'), { seed: 3 });
    const file = bundle!.files.find((f) => f.role === 'encoder')!;
    const session = await ort.InferenceSession.create(file.bytes);
    const out = await session.run({
      src: ids([
        [3, 4, 5],
        [6, 7, 8],
      ]),
    });
    expect([...(out['c0']!.data as Float32Array)]).toEqual([...(out['h0']!.data as Float32Array)]);
    expect(Math.max(...[...(out['h0']!.data as Float32Array)].map(Math.abs))).toBeGreaterThan(0);
  });

  it('the webgpu target, which runs the attention over all target steps at once, gives the same logits', async () => {
    const source = spec(', c0=h', 'Attention(score=dot, bias=true)');
    const logits = async (target: 'generic' | 'webgpu') => {
      const { bundle, diagnostics } = compile(source, { seed: 5, target });
      expect(diagnostics).toEqual([]);
      const scoring = bundle!.files.find((f) => f.role === 'scoring')!;
      const session = await ort.InferenceSession.create(scoring.bytes);
      const out = await session.run({
        src: ids([
          [3, 4, 5],
          [6, 7, 8],
        ]),
        tgt_in: ids([
          [1, 4, 6, 2],
          [1, 3, 3, 5],
        ]),
      });
      return [...(out['logits']!.data as Float32Array)];
    };
    const generic = await logits('generic');
    const webgpu = await logits('webgpu');
    expect(Math.max(...generic.map((v, i) => Math.abs(v - webgpu[i]!)))).toBeLessThan(1e-5);
  });

  it('seqc emit pytorch writes linear_out with the bias and c0 = h0', () => {
    const ir = compile(spec(', c0=h', 'Attention(score=dot, bias=true)')).ir!;
    const python = emitPytorch(ir);
    expect(python).toMatch(/self\.att\.linear_out = nn\.Linear\(12, 6, bias=True\)/);
    expect(python).toMatch(/c0 = h0\n/);
  });
});
