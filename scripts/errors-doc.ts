// Generates docs/errors.md from the catalogue of codes: each code with a real example, compiled or run as the page is built.
//
// `npx tsx scripts/errors-doc.ts` writes the page; `--check` only compares and fails when the
// committed page differs. Spec codes are shown with their fixtures from test/fixtures/diagnostics;
// the others with a command run through the real CLI in a temporary folder, whose path is removed
// from the output so the page is the same on every machine.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  catalogue,
  compile,
  diagnosticCodes,
  writeSafetensors,
  type DiagnosticCode,
  type WeightTensor,
} from '../src/index.js';
import { renderDiagnostics } from '../src/diagnostics/render.js';
import { main } from '../src/cli/main.js';
import { pretendOrtNodeIsMissing } from '../src/runtime/node-ort.js';
import { pretendFastifyIsMissing } from '../src/serve/fastify.js';
import { pretendH5wasmIsMissing } from '../src/cli/keras-files.js';
import { decodeModel } from '../src/onnx/decode.js';
import { encodeModel } from '../src/onnx/encode.js';
import { DataType } from '../src/onnx/types.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtureFolder = 'test/fixtures/diagnostics';
const docPath = 'docs/errors.md';

/** A command that shows a code no spec can: its files are written into a fresh folder first. */
export interface CommandExample {
  readonly code: DiagnosticCode;
  /** What the example does, as a sentence. */
  readonly situation: string;
  readonly files: Readonly<Record<string, string | Uint8Array>>;
  /** Commands run before the example, which must succeed; their output is not shown. */
  readonly setup?: readonly (readonly string[])[];
  /** The arguments after `seqc`; any that names a file in the folder is a path relative to it. */
  readonly argv: readonly string[];
  /** Runs the example as if onnxruntime-node were not installed. */
  readonly withoutOrtNode?: boolean;
  /** Runs the example as if fastify (which `seqc serve` needs) were not installed. */
  readonly withoutFastify?: boolean;
  /** Runs the example as if h5wasm were not installed (SEQ609). */
  readonly withoutH5wasm?: boolean;
  /** The command line as the page shows it, where an argument is too long to print (already quoted for the shell). */
  readonly shownArgv?: readonly string[];
  /** Show only this many lines at the end of the output, after a `…` line. */
  readonly lastLines?: number;
}

/** The spec every command example uses. */
export const exampleSpec = `model Tagger {
  input tokens: int64[batch, time]
  tokens -> embedding: Embedding(vocab=100, dim=8) -> fc: Linear(3) -> output scores
}
`;

/** A language model for the examples of `seqc generate`. */
const exampleLanguageModel = `model Lm {
  decoder(bos=1, eos=2, max_length=8) {
    -> embedding: Embedding(vocab=10, dim=4)
    -> lstm: LSTM(hidden=8)
    -> generator: Linear(10)
  }
}
`;

/** A PyTorch checkpoint from test/fixtures/pt (see its README for how each was made). */
function ptFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(root, 'test/fixtures/pt', name)));
}

function zeros(shape: number[]): WeightTensor {
  return { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

const goodWeights: [string, WeightTensor][] = [
  ['embedding.weight', zeros([100, 8])],
  ['fc.bias', zeros([3])],
  ['fc.weight', zeros([3, 8])],
];

/** A well-formed file whose first tensor is I32: the same size as F32, so only the dtype is wrong. */
function int32Weights(): Uint8Array {
  const text = Buffer.from(writeSafetensors(goodWeights)).toString('latin1').replace('"dtype":"F32"', '"dtype":"I32"');
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

const compiled: readonly (readonly string[])[] = [['compile', 'tagger.seq', '-o', 'tagger.onnx']];

/** A tiny translator, for the examples of bundles. */
const tinyTranslator = `model Tiny {
  input src: int64[batch, src_time]
  encoder {
    src -> src_embedding: Embedding(vocab=20, dim=4) -> encoder: GRU(hidden=4)
  }
  decoder(bos=1, eos=2, max_length=8) {
    -> tgt_embedding: Embedding(vocab=20, dim=4) -> decoder: GRU(hidden=4) -> generator: Linear(20)
  }
}
`;

/** A tiny translator's manifest, valid but for a step graph named by a path into another folder. */
function escapingManifest(): string {
  const manifest = compile(tinyTranslator, { sourceName: 'tiny.seq' }).bundle!.manifest;
  return `${JSON.stringify({ ...manifest, files: { ...manifest.files, step: { ...manifest.files.step, path: '../elsewhere/tiny.step.onnx' } } }, null, 2)}\n`;
}

/**
 * The tiny translator, given the source lengths, as `seqc compile` writes its bundle, its manifest as `tiny.manifest.json`;
 * `edit` may replace a graph's bytes, given the files by role.
 */
function tinyBundle(
  edit: (
    graphs: ReadonlyMap<string, { readonly file: string; readonly bytes: Uint8Array }>,
  ) => Record<string, Uint8Array>,
): Record<string, string | Uint8Array> {
  const spec = tinyTranslator.replace('  encoder {', '  input src_lengths: lengths(src)\n  encoder {');
  const bundle = compile(spec, { sourceName: 'tiny.seq' }).bundle!;
  const graphs = new Map(bundle.files.map((f) => [f.role as string, { file: f.file, bytes: f.sharedBytes }]));
  return {
    'tiny.manifest.json': `${JSON.stringify(bundle.manifest, null, 2)}\n`,
    [bundle.weights.file]: bundle.weights.bytes,
    ...Object.fromEntries(bundle.files.map((f) => [f.file, f.sharedBytes])),
    ...edit(graphs),
  };
}

/** The example model with its weights kept in `tagger.weights.bin`, which is not written beside it. */
function taggerWithoutItsWeights(): Uint8Array {
  return compile(exampleSpec, { sourceName: 'tagger.seq', externalWeights: 'always' }).model!;
}

/**
 * The example model with a Reshape appended that no input can satisfy: ONNX Runtime opens it, and
 * fails only when it runs, as a model edited by another tool might.
 */
function failingTagger(): Uint8Array {
  const model = decodeModel(compile(exampleSpec, { sourceName: 'tagger.seq' }).model!);
  const rename = (n: string): string => (n === 'scores' ? 'scores_before' : n);
  const shape = {
    name: 'broken_shape',
    dataType: DataType.INT64,
    dims: [3],
    int64Data: BigInt64Array.from([-1n, 7n, 3n]),
  };
  const reshape = {
    name: 'broken/Reshape',
    opType: 'Reshape',
    inputs: ['scores_before', 'broken_shape'],
    outputs: ['scores'],
    attributes: [],
  };
  return encodeModel({
    ...model,
    graph: {
      ...model.graph,
      initializers: [...model.graph.initializers, shape],
      nodes: [...model.graph.nodes.map((n) => ({ ...n, outputs: n.outputs.map(rename) })), reshape],
    },
  });
}

/** Weights whose head holds a NaN, as a diverged training run leaves them. */
function nanWeights(): Uint8Array {
  const head = zeros([3, 8]);
  head.data[10] = Number.NaN;
  return writeSafetensors([
    ['embedding.weight', zeros([100, 8])],
    ['fc.bias', zeros([3])],
    ['fc.weight', head],
  ]);
}

/** The example model compiled, then edited as a file might be after seqc wrote it: its signature text replaced, or an output renamed. */
/** The example tagger with its output's shape removed, as another tool might leave it: Triton's config cannot state it. */
function taggerWithoutOutputShape(): Uint8Array {
  const model = decodeModel(compile(exampleSpec, { sourceName: 'tagger.seq' }).model!);
  return encodeModel({
    ...model,
    graph: {
      ...model.graph,
      outputs: model.graph.outputs.map((o) => ({ ...o, type: { elemType: o.type.elemType } })),
    },
  });
}

/** A stateful model for the examples of `seqc serve` sequences. */
const exampleStreamer = `model Streamer {
  input x: float32[batch, time, 2]
  x -> lstm: LSTM(hidden=4, stateful=true) -> fc: Linear(2) -> output y
}
`;

const infer = (model: string): string => `POST /v2/models/${model}/infer`;

function editedTagger(edit: {
  readonly signature?: (text: string) => string;
  readonly renameOutput?: string;
  readonly dropSignature?: true;
}): Uint8Array {
  const model = decodeModel(compile(exampleSpec, { sourceName: 'tagger.seq' }).model!);
  const rename = (n: string): string => (edit.renameOutput !== undefined && n === 'scores' ? edit.renameOutput : n);
  const signature = (text: string): string => {
    const edited = edit.signature?.(text) ?? text;
    return edit.renameOutput === undefined
      ? edited
      : edited.replace('"name":"scores"', `"name":${JSON.stringify(edit.renameOutput)}`);
  };
  return encodeModel({
    ...model,
    graph: {
      ...model.graph,
      outputs: model.graph.outputs.map((o) => ({ ...o, name: rename(o.name) })),
      nodes: model.graph.nodes.map((n) => ({ ...n, outputs: n.outputs.map(rename) })),
    },
    metadataProps: model.metadataProps
      .filter((p) => edit.dropSignature !== true || p.key !== 'seqc.signature')
      .map((p) => (p.key === 'seqc.signature' ? { key: p.key, value: signature(p.value) } : p)),
  });
}

export const commandExamples: readonly CommandExample[] = [
  {
    code: 'SEQ004',
    situation: 'A file of 1.2 million characters is not a spec, whatever its name.',
    files: { 'huge.seq': `${exampleSpec}${'# padding\n'.repeat(120_000)}` },
    argv: ['check', 'huge.seq'],
  },
  {
    code: 'SEQ005',
    situation: 'A spec with 120 misspelled layers: the first 100 are shown (the last of them here), the rest counted.',
    files: {
      'typos.seq': `model Typos {\n  input x: float32[batch, time, 8]\n${Array.from({ length: 120 }, (_, i) => `  x -> Lsstm${i}(8) -> output y${i}\n`).join('')}}\n`,
    },
    argv: ['check', 'typos.seq'],
    lastLines: 9,
  },
  {
    code: 'SEQ006',
    situation: 'A label of 300 characters; the excerpt is cut to 120 columns around it.',
    files: { 'long.seq': exampleSpec.replace('fc: Linear', `${'f'.repeat(300)}: Linear`) },
    argv: ['check', 'long.seq'],
  },
  {
    code: 'SEQ007',
    situation: 'A generated spec with 70,000 steps.',
    files: {
      'deep.seq': `model Deep {\n  input x: float32[batch, time, 8]\n  x${' -> relu'.repeat(70_000)} -> output y\n}\n`,
    },
    argv: ['check', 'deep.seq'],
  },
  {
    code: 'SEQ103',
    situation: 'Weights from a training run that diverged: one value of the head is NaN. The model still compiles.',
    files: { 'tagger.seq': exampleSpec, 'weights.safetensors': nanWeights() },
    argv: ['compile', 'tagger.seq', '--weights', 'weights.safetensors', '-o', 'tagger.onnx'],
  },
  {
    code: 'SEQ210',
    situation: 'A text file named like a PyTorch checkpoint.',
    files: { 'tagger.seq': exampleSpec, 'tagger.pt': 'embedding.weight = [[0.1, 0.2]]\n' },
    argv: ['compile', 'tagger.seq', '--weights', 'tagger.pt'],
  },
  {
    code: 'SEQ211',
    situation:
      'A checkpoint whose pickle would call `os.system` when Python loads it; seqc reads it and stops at the global.',
    files: { 'tagger.seq': exampleSpec, 'tagger.pt': ptFixture('os-system.pt') },
    argv: ['compile', 'tagger.seq', '--weights', 'tagger.pt'],
  },
  {
    code: 'SEQ212',
    situation: 'A checkpoint whose pickle was cut short.',
    files: { 'tagger.seq': exampleSpec, 'tagger.pt': ptFixture('truncated-pickle.pt') },
    argv: ['compile', 'tagger.seq', '--weights', 'tagger.pt'],
  },
  {
    code: 'SEQ213',
    situation: "A training checkpoint `{'model': state_dict, 'epoch': 3, …}` with the key misspelled after the `:`.",
    files: { 'tagger.seq': exampleSpec, 'checkpoint.pt': ptFixture('checkpoint.pt') },
    argv: ['compile', 'tagger.seq', '--weights', 'checkpoint.pt:modle'],
  },
  {
    code: 'SEQ214',
    situation: 'A checkpoint saved with `torch.save(..., _use_new_zipfile_serialization=False)`.',
    files: { 'tagger.seq': exampleSpec, 'legacy.pt': ptFixture('legacy.pt') },
    argv: ['compile', 'tagger.seq', '--weights', 'legacy.pt'],
  },
  {
    code: 'SEQ100',
    situation: 'The weights file is a text file, not safetensors.',
    files: { 'tagger.seq': exampleSpec, 'weights.safetensors': 'embedding.weight = [[0.1, 0.2]]\n' },
    argv: ['compile', 'tagger.seq', '--weights', 'weights.safetensors'],
  },
  {
    code: 'SEQ101',
    situation: "One tensor was saved as 32-bit integers instead of floats (PyTorch's `tensor.int()`).",
    files: { 'tagger.seq': exampleSpec, 'weights.safetensors': int32Weights() },
    argv: ['compile', 'tagger.seq', '--weights', 'weights.safetensors'],
  },
  {
    code: 'SEQ102',
    situation: 'The weights were trained with a transposed head and without its bias.',
    files: {
      'tagger.seq': exampleSpec,
      'weights.safetensors': writeSafetensors([
        ['embedding.weight', zeros([100, 8])],
        ['fc.weight', zeros([8, 3])],
      ]),
    },
    argv: ['compile', 'tagger.seq', '--weights', 'weights.safetensors'],
  },
  {
    code: 'SEQ104',
    situation: 'Dynamic int8 asked for the webgpu target.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['compile', 'tagger.seq', '--target', 'webgpu', '--quantize', 'int8'],
  },
  {
    code: 'SEQ105',
    situation: 'Both int8 and float16 weights asked for.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['compile', 'tagger.seq', '--quantize', 'int8', '--precision', 'fp16'],
  },
  {
    code: 'SEQ200',
    situation: 'A misspelled command.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['compiel', 'tagger.seq'],
  },
  {
    code: 'SEQ200',
    situation: 'A misspelled flag.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['compile', 'tagger.seq', '--outt', 'tagger.onnx'],
  },
  {
    code: 'SEQ201',
    situation: 'An opset older than seqc supports.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['compile', 'tagger.seq', '--opset', '12'],
  },
  {
    code: 'SEQ202',
    situation: 'A spec that does not exist.',
    files: {},
    argv: ['compile', 'tagger.seq'],
  },
  {
    code: 'SEQ203',
    situation: 'A spec of more than 8 MiB (here a generated one), which seqc refuses before reading it.',
    files: { 'huge.seq': `${exampleSpec}${' '.repeat(8 * 1024 * 1024)}` },
    argv: ['compile', 'huge.seq'],
  },
  {
    code: 'SEQ204',
    situation: 'A device given as the weights file: seqc reads only regular files.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['compile', 'tagger.seq', '--weights', '/dev/zero'],
  },
  {
    code: 'SEQ205',
    situation: 'An output path that is a folder.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['compile', 'tagger.seq', '-o', '/tmp'],
  },
  {
    code: 'SEQ206',
    situation: 'The spec given as its own output.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['compile', 'tagger.seq', '-o', 'tagger.seq'],
  },
  {
    code: 'SEQ240',
    situation: 'A tokenizer file cut short, so not JSON.',
    files: { 'lm.seq': exampleLanguageModel, 'tokenizer.json': '{"model": ' },
    argv: ['compile', 'lm.seq', '--tokenizer', 'tokenizer.json'],
  },
  {
    code: 'SEQ241',
    situation: 'A tokenizer.json whose model is WordLevel, which seqc does not read.',
    files: {
      'lm.seq': exampleLanguageModel,
      'tokenizer.json': '{"model": {"type": "WordLevel", "vocab": {"a": 0}}, "added_tokens": []}\n',
    },
    argv: ['compile', 'lm.seq', '--tokenizer', 'tokenizer.json'],
  },
  {
    code: 'SEQ242',
    situation: 'A vocabulary of 12 tokens for a decoder whose Embedding has 10 rows.',
    files: {
      'lm.seq': exampleLanguageModel,
      'vocab.json': `${JSON.stringify(['<pad>', '<s>', '</s>', ...'abcdefghi'])}\n`,
    },
    argv: ['compile', 'lm.seq', '--tokenizer', 'vocab.json'],
  },
  {
    code: 'SEQ243',
    situation: 'A tokenizer.json that gives a token the id -1.',
    files: {
      'lm.seq': exampleLanguageModel,
      'tokenizer.json': '{"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}, "added_tokens": []}\n',
    },
    argv: ['compile', 'lm.seq', '--tokenizer', 'tokenizer.json'],
  },
  {
    code: 'SEQ244',
    situation: 'A vocabulary of 8 tokens for a decoder that predicts 10 ids (a warning: the bundle is written).',
    files: {
      'lm.seq': exampleLanguageModel,
      'vocab.json': `${JSON.stringify(['<pad>', '<s>', '</s>', ...'abcde'])}\n`,
    },
    argv: ['compile', 'lm.seq', '--tokenizer', 'vocab.json'],
  },
  {
    code: 'SEQ245',
    situation: 'A tokenizer whose `<s>` is id 0 and `</s>` id 2, for a decoder with bos=1.',
    files: {
      'lm.seq': exampleLanguageModel,
      'vocab.json': `${JSON.stringify(['<s>', '<pad>', '</s>', ...'abcdefg'])}\n`,
    },
    argv: ['compile', 'lm.seq', '--tokenizer', 'vocab.json'],
  },
  {
    code: 'SEQ246',
    situation: 'A tokenizer whose `<pad>` is id 0, for an Embedding with padding_idx=3 (a warning).',
    files: {
      'lm.seq': exampleLanguageModel.replace('Embedding(vocab=10, dim=4)', 'Embedding(vocab=10, dim=4, padding_idx=3)'),
      'vocab.json': `${JSON.stringify(['<pad>', '<s>', '</s>', ...'abcdefg'])}\n`,
    },
    argv: ['compile', 'lm.seq', '--tokenizer', 'vocab.json'],
  },
  {
    code: 'SEQ247',
    situation: 'A prompt of 70,000 characters, more than seqc tokenizes at once.',
    files: {
      'lm.seq': exampleLanguageModel,
      'vocab.json': `${JSON.stringify(['<pad>', '<s>', '</s>', ...'abcdefg'])}\n`,
    },
    setup: [['compile', 'lm.seq', '--tokenizer', 'vocab.json']],
    argv: ['generate', 'lm.manifest.json', '--text', 'a'.repeat(70_000)],
    shownArgv: ['generate', 'lm.manifest.json', '--text', '"$(head -c 70000 /dev/zero | tr \'\\0\' a)"'],
  },
  {
    code: 'SEQ248',
    situation: 'Text for a bundle that carries no tokenizer.',
    files: { 'lm.seq': exampleLanguageModel },
    argv: ['generate', 'lm.seq', '--text', 'abc'],
  },
  {
    code: 'SEQ400',
    situation: '`seqc emit` asked for a language it does not write.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['emit', 'tensorflow', 'tagger.seq'],
  },
  {
    code: 'SEQ090',
    situation: '`seqc emit pytorch` of a spec with Keras masking, which PyTorch modules do not compute.',
    files: {
      'masked.seq':
        'model Masked {\n  input tokens: int64[batch, time]\n  tokens -> emb: Embedding(vocab=10, dim=4, mask_zero=true) -> lstm: LSTM(hidden=4) -> last -> output y\n}\n',
    },
    argv: ['emit', 'pytorch', 'masked.seq'],
  },
  {
    code: 'SEQ320',
    situation: 'A manifest that holds `null`.',
    files: { 'model.manifest.json': 'null\n' },
    argv: ['generate', 'model.manifest.json', '--src', '3 4 5'],
  },
  {
    code: 'SEQ321',
    situation: 'A manifest whose step graph is in another folder.',
    files: { 'model.manifest.json': escapingManifest() },
    argv: ['generate', 'model.manifest.json', '--src', '3 4 5'],
  },
  {
    code: 'SEQ300',
    situation: 'Running a model without its input.',
    files: { 'tagger.seq': exampleSpec },
    setup: compiled,
    argv: ['run', 'tagger.onnx'],
  },
  {
    code: 'SEQ300',
    situation: 'A misspelled input name: the input the model has is then missing too.',
    files: { 'tagger.seq': exampleSpec },
    setup: compiled,
    argv: ['run', 'tagger.onnx', '--input', 'token=[[1,2,3]]'],
  },
  {
    code: 'SEQ301',
    situation: 'A token id outside the vocabulary of 100.',
    files: { 'tagger.seq': exampleSpec },
    setup: compiled,
    argv: ['run', 'tagger.onnx', '--input', 'tokens=[[1,99999]]'],
  },
  {
    code: 'SEQ303',
    situation: "A model whose seqc.signature was edited after compiling: its input's dims are no longer a list.",
    files: {
      'tagger.onnx': editedTagger({ signature: (text) => text.replace('"dims":["batch","time"]', '"dims":"batch"') }),
    },
    argv: ['run', 'tagger.onnx', '--input', 'tokens=[[1,2,3]]'],
  },
  {
    code: 'SEQ304',
    situation: 'A token id of 2^64, which int64 would wrap around to 0.',
    files: { 'tagger.seq': exampleSpec },
    setup: compiled,
    argv: ['run', 'tagger.onnx', '--input', 'tokens=[[1,18446744073709551616]]'],
  },
  {
    code: 'SEQ306',
    situation: 'The same input given twice.',
    files: { 'tagger.seq': exampleSpec },
    setup: compiled,
    argv: ['run', 'tagger.onnx', '--input', 'tokens=[[1,2]]', '--input', 'tokens=[[3,4]]'],
  },
  {
    code: 'SEQ307',
    situation: 'A model whose output is named `__proto__`.',
    files: { 'tagger.onnx': editedTagger({ renameOutput: '__proto__' }) },
    argv: ['run', 'tagger.onnx', '--input', 'tokens=[[1,2,3]]'],
  },
  {
    code: 'SEQ308',
    situation:
      "Running on CUDA where onnxruntime-node's CUDA binaries are not installed (as on the machine that generated this page).",
    files: { 'tagger.seq': exampleSpec },
    setup: compiled,
    argv: ['run', 'tagger.onnx', '--input', 'tokens=[[1,2,3]]', '--ep', 'cuda'],
  },
  {
    code: 'SEQ050',
    situation: 'A GRU with Keras-style hard sigmoid gates, compiled for WebGPU.',
    files: {
      'keras.seq': `model Keras {
  input x: float32[batch, time, 8]
  x -> gru: GRU(hidden=16, recurrent_activation=hard_sigmoid) -> last -> output y
}
`,
    },
    argv: ['compile', 'keras.seq', '--target', 'webgpu'],
  },
  {
    code: 'SEQ051',
    situation:
      'An embedding of 600 million ids of 1,000 floats each: 2.2 TiB of weights. `seqc check` and `seqc summary` accept it; compiling refuses it before allocating anything.',
    files: {
      'huge.seq': `model Huge {
  input tokens: int64[batch, time]
  tokens -> embedding: Embedding(vocab=600000000, dim=1000) -> mean -> output y
}
`,
    },
    argv: ['compile', 'huge.seq'],
  },
  {
    code: 'SEQ330',
    situation: 'Two prompts, each with the widest beam to the longest length: more work than one call may do.',
    files: { 'lm.seq': exampleLanguageModel },
    argv: ['generate', 'lm.seq', '--prompt', '3', '--prompt', '4', '--beam', '256', '--max-length', '4096'],
  },
  {
    code: 'SEQ331',
    situation: 'A sampling flag without `--sample`, which greedy decoding would ignore.',
    files: { 'lm.seq': exampleLanguageModel },
    argv: ['generate', 'lm.seq', '--prompt', '3', '--top-k', '5'],
  },
  {
    code: 'SEQ302',
    situation:
      'A model edited after compiling so that its last node, a Reshape, fails on any input: ONNX Runtime opens it and fails while running it.',
    files: { 'tagger.onnx': failingTagger() },
    argv: ['run', 'tagger.onnx', '--input', 'tokens=[[1,2,3]]'],
  },
  {
    code: 'SEQ309',
    situation: 'A file named .onnx that is not an ONNX model.',
    files: { 'broken.onnx': 'not a model\n' },
    argv: ['run', 'broken.onnx', '--input', 'tokens=[[1]]'],
  },
  {
    code: 'SEQ310',
    situation:
      'An ONNX model without the seqc.signature metadata that `seqc compile` writes, as another exporter makes it.',
    files: { 'tagger.onnx': editedTagger({ dropSignature: true }) },
    argv: ['run', 'tagger.onnx', '--input', 'tokens=[[1,2,3]]'],
  },
  {
    code: 'SEQ311',
    situation: 'A model that keeps its weights in `tagger.weights.bin`, copied without that file.',
    files: { 'tagger.onnx': taggerWithoutItsWeights() },
    argv: ['run', 'tagger.onnx', '--input', 'tokens=[[1,2,3]]'],
  },
  {
    code: 'SEQ312',
    situation: 'A bundle whose step graph was cut short by an interrupted copy.',
    files: tinyBundle((graphs) => ({ [graphs.get('step')!.file]: graphs.get('step')!.bytes.subarray(0, 100) })),
    argv: ['generate', 'tiny.manifest.json', '--src', '3 4 5'],
  },
  {
    code: 'SEQ313',
    situation: 'A bundle whose step graph was overwritten with its encoder graph.',
    files: tinyBundle((graphs) => ({ [graphs.get('step')!.file]: graphs.get('encoder')!.bytes })),
    argv: ['generate', 'tiny.manifest.json', '--src', '3 4 5'],
  },
  {
    code: 'SEQ340',
    situation: 'Running a model where seqc was installed without onnxruntime-node (compiling needs no ONNX Runtime).',
    files: { 'tagger.seq': exampleSpec },
    setup: compiled,
    argv: ['run', 'tagger.onnx', '--input', 'tokens=[[1,2,3]]'],
    withoutOrtNode: true,
  },
  {
    code: 'SEQ500',
    situation:
      'A request to `seqc serve` whose body is cut short, so not JSON (`--request` answers one request and exits).',
    files: { 'tagger.seq': exampleSpec },
    argv: ['serve', 'tagger.seq', '--request', infer('tagger'), '--body', '{"inputs": ['],
  },
  {
    code: 'SEQ501',
    situation: 'A request for a model the server does not serve: HTTP 404.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['serve', 'tagger.seq', '--request', 'GET /v2/models/tager'],
  },
  {
    code: 'SEQ502',
    situation: 'Token ids sent as FP32 to a model that takes INT64.',
    files: { 'tagger.seq': exampleSpec },
    argv: [
      'serve',
      'tagger.seq',
      '--request',
      infer('tagger'),
      '--body',
      '{"inputs": [{"name": "tokens", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}',
    ],
  },
  {
    code: 'SEQ503',
    situation:
      'A server whose queue is full (here `--max-queue 0`, which refuses every request): HTTP 503 with Retry-After.',
    files: { 'tagger.seq': exampleSpec },
    argv: [
      'serve',
      'tagger.seq',
      '--max-queue',
      '0',
      '--request',
      infer('tagger'),
      '--body',
      '{"inputs": [{"name": "tokens", "shape": [1, 2], "datatype": "INT64", "data": [1, 2]}]}',
    ],
  },
  {
    code: 'SEQ504',
    situation: 'A request body past `--max-body-bytes`: HTTP 413.',
    files: { 'tagger.seq': exampleSpec },
    argv: [
      'serve',
      'tagger.seq',
      '--max-body-bytes',
      '64',
      '--request',
      infer('tagger'),
      '--body',
      '{"inputs": [{"name": "tokens", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]}]}',
    ],
  },
  {
    code: 'SEQ505',
    situation: 'A request that continues a sequence of a stateful model that was never started.',
    files: { 'streamer.seq': exampleStreamer },
    argv: [
      'serve',
      'streamer.seq',
      '--request',
      infer('streamer'),
      '--body',
      '{"inputs": [{"name": "x", "shape": [1, 1, 2], "datatype": "FP32", "data": [0.5, 1]}], "parameters": {"sequence_id": 7}}',
    ],
  },
  {
    code: 'SEQ506',
    situation: 'A generation request to a model without a decoder.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['serve', 'tagger.seq', '--request', 'POST /v2/models/tagger/generate', '--body', '{"prompt": [[1, 2]]}'],
  },
  {
    code: 'SEQ507',
    situation: 'A file to serve that is neither a model, a bundle, a spec nor a folder.',
    files: { 'notes.txt': 'not a model\n' },
    argv: ['serve', 'notes.txt'],
  },
  {
    code: 'SEQ508',
    situation: 'An address to listen on that this machine does not have (203.0.113.1 is reserved for documentation).',
    files: { 'tagger.seq': exampleSpec },
    argv: ['serve', 'tagger.seq', '--host', '203.0.113.1', '--port', '8000'],
  },
  {
    code: 'SEQ509',
    situation: "A model whose output has lost its shape (edited by another tool), which Triton's config must state.",
    files: { 'tagger.onnx': taggerWithoutOutputShape() },
    argv: ['export', 'triton', 'tagger.onnx', '--out', 'repository'],
  },
  {
    code: 'SEQ510',
    situation:
      'Serving where seqc was installed without fastify, an optional peer dependency that only `seqc serve` needs.',
    files: { 'tagger.seq': exampleSpec },
    argv: ['serve', 'tagger.seq', '--port', '0'],
    withoutFastify: true,
  },
  {
    code: 'SEQ600',
    situation: 'A model.json cut short while it was copied.',
    files: { 'model.json': tfjsFiles()['model.json'].slice(0, 60) },
    argv: ['import', 'model.json', '-o', 'imported.seq'],
  },
  {
    code: 'SEQ601',
    situation: 'A weight shard that is shorter than the weights the manifest lists.',
    files: { ...tfjsFiles(), 'group1-shard1of1.bin': new Uint8Array(20) },
    argv: ['import', 'model.json', '-o', 'imported.seq'],
  },
  {
    code: 'SEQ602',
    situation: 'A model with a convolution, a layer class seqc does not import.',
    files: tfjsFiles({ class_name: 'Conv1D', config: { name: 'conv', filters: 4, kernel_size: 3 } }),
    argv: ['import', 'model.json', '-o', 'imported.seq'],
  },
  {
    code: 'SEQ603',
    situation: 'A Dense layer with the `elu` activation, which seqc has no builtin for.',
    files: tfjsFiles(undefined, 'elu'),
    argv: ['import', 'model.json', '-o', 'imported.seq'],
  },
  {
    code: 'SEQ604',
    situation: 'A Sequential model whose input has four axes, [batch, 4, 3, 2], where seqc reads two or three.',
    files: {
      ...tfjsFiles(),
      'model.json': tfjsFiles()['model.json'].replace(
        /"batch_input_shape": \[[^\]]*\]/,
        '"batch_input_shape": [null, 4, 3, 2]',
      ),
    },
    argv: ['import', 'model.json', '-o', 'imported.seq'],
  },
  {
    code: 'SEQ605',
    situation: 'Importing into a spec that an earlier import wrote, without `--force`.',
    files: tfjsFiles(),
    setup: [['import', 'model.json', '-o', 'imported.seq']],
    argv: ['import', 'model.json', '-o', 'imported.seq'],
  },
  {
    code: 'SEQ606',
    situation: 'A `--map` flag that names no builtin.',
    files: tfjsFiles(),
    argv: ['import', 'model.json', '-o', 'imported.seq', '--map', 'GetLastTimestepLayer=final'],
  },
  {
    code: 'SEQ607',
    situation:
      "A TF.js model whose Embedding has `mask_zero`, pooled by GlobalAveragePooling1D: TF.js averages every step, seqc's `mean` the valid ones.",
    files: {
      ...tfjsFiles(),
      'model.json': tfjsFiles()['model.json'].replace('"output_dim": 2', '"output_dim": 2,\n"mask_zero": true'),
    },
    argv: ['import', 'model.json', '-o', 'imported.seq'],
  },
  {
    code: 'SEQ608',
    situation: 'A Keras 2 `.h5` of a masked LSTM with `zero_output_for_mask=true` that returns only its last output.',
    files: { 'model.h5': await maskedLstmH5({ zero_output_for_mask: true }) },
    argv: ['import', 'model.h5', '-o', 'imported.seq'],
  },
  {
    code: 'SEQ609',
    situation:
      'Importing a Keras 2 `.h5` where seqc was installed without h5wasm (its optional peer dependency for HDF5).',
    files: { 'model.h5': await maskedLstmH5({}) },
    argv: ['import', 'model.h5', '-o', 'imported.seq'],
    withoutH5wasm: true,
  },
  {
    code: 'SEQ613',
    situation:
      'A functional attention model whose context `Dot` has axes [2, 2] where the Luong recipe has [2, 1] (it would multiply the attention by the encoder outputs the wrong way).',
    files: tfjsSeq2seqFiles((layer) => {
      if (layer.name === 'context') layer.config['axes'] = [2, 2];
    }),
    argv: ['import', 'model.json', '-o', 'translator.seq', '--bos', '1', '--eos', '2', '--max-length', '10'],
  },
  {
    code: 'SEQ614',
    situation:
      'An encoder–decoder imported without the start and end tokens and the longest output, which Keras does not record.',
    files: tfjsSeq2seqFiles(),
    argv: ['import', 'model.json', '-o', 'translator.seq'],
  },
  {
    code: 'SEQ615',
    situation:
      "An encoder–decoder whose target Embedding has `mask_zero`: imported, with a warning, since seqc's decoder reads every fed token.",
    files: tfjsSeq2seqFiles((layer) => {
      if (layer.name === 'tgt_embedding') layer.config['mask_zero'] = true;
    }),
    argv: ['import', 'model.json', '-o', 'translator.seq', '--bos', '1', '--eos', '2', '--max-length', '10'],
  },
];

/**
 * A legacy Keras 2 `.h5` (Keras's layout: `model_config` and `keras_version` on the root, each layer's
 * `weight_names` under `model_weights`, as src/cli/keras-files.ts reads it) of Embedding(3, 2,
 * mask_zero) → LSTM(1) with `options` → Dense(1), for the examples of recurrent options `seqc import` refuses.
 */
async function maskedLstmH5(options: Readonly<Record<string, unknown>>): Promise<Uint8Array> {
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  const layers = [
    { class_name: 'InputLayer', config: { name: 'tokens', batch_input_shape: [null, 4], dtype: 'float32' } },
    { class_name: 'Embedding', config: { name: 'embed', input_dim: 3, output_dim: 2, mask_zero: true } },
    { class_name: 'LSTM', config: { name: 'lstm', units: 1, return_sequences: false, ...options } },
    { class_name: 'Dense', config: { name: 'score', units: 1, activation: 'sigmoid' } },
  ];
  const weights: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>> = {
    embed: { embeddings: [3, 2] },
    lstm: { kernel: [2, 4], recurrent_kernel: [1, 4], bias: [4] },
    score: { kernel: [1, 1], bias: [1] },
  };
  const folder = mkdtempSync(join(tmpdir(), 'seqc-errors-h5-'));
  try {
    const path = join(folder, 'model.h5');
    const file = new h5wasm.File(path, 'w');
    file.create_attribute(
      'model_config',
      JSON.stringify({ class_name: 'Sequential', config: { name: 'tagger', layers } }),
    );
    file.create_attribute('keras_version', '2.15.0');
    const root = file.create_group('model_weights');
    root.create_attribute('layer_names', Object.keys(weights));
    for (const [layer, tensors] of Object.entries(weights)) {
      const group = root.create_group(layer);
      group.create_attribute(
        'weight_names',
        Object.keys(tensors).map((name) => `${layer}/${name}:0`),
      );
      const inner = group.create_group(layer);
      for (const [name, shape] of Object.entries(tensors)) {
        const size = shape.reduce((a, b) => a * b, 1);
        const data = Float32Array.from({ length: size }, (_, i) => Math.sin(i + 1) / 2);
        inner.create_dataset({ name: `${name}:0`, data, shape: [...shape], dtype: '<f' });
      }
    }
    file.close();
    return new Uint8Array(readFileSync(path));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * A TF.js Layers model.json of the Keras Luong-attention recipe (vocabularies of 3, embeddings and
 * LSTMs of 2) and its shard, for the examples of `seqc import` of encoder–decoders; `edit` changes a layer.
 */
function tfjsSeq2seqFiles(edit?: (layer: { name: string; config: Record<string, unknown> }) => void): {
  'model.json': string;
  'group1-shard1of1.bin': Uint8Array;
} {
  const ref = (name: string, tensor = 0) => [name, 0, tensor, {}];
  const layer = (className: string, name: string, config: Record<string, unknown>, inputs: unknown[][]) => {
    const entry = {
      name,
      class_name: className,
      config: { name, ...config },
      inbound_nodes: inputs.length === 0 ? [] : [inputs],
    };
    edit?.(entry);
    return entry;
  };
  const dense = (units: number, activation: string) => ({
    class_name: 'Dense',
    config: { units, activation, use_bias: true },
  });
  const lstm = (extra: Record<string, unknown>) => ({
    units: 2,
    activation: 'tanh',
    recurrent_activation: 'sigmoid',
    use_bias: true,
    return_sequences: true,
    ...extra,
  });
  const layers = [
    layer('InputLayer', 'src', { batch_input_shape: [null, null], dtype: 'int32' }, []),
    layer('InputLayer', 'tgt', { batch_input_shape: [null, null], dtype: 'int32' }, []),
    layer('Embedding', 'src_embedding', { input_dim: 3, output_dim: 2, mask_zero: true }, [ref('src')]),
    layer('Embedding', 'tgt_embedding', { input_dim: 3, output_dim: 2 }, [ref('tgt')]),
    layer('LSTM', 'encoder', lstm({ return_state: true }), [ref('src_embedding')]),
    layer('LSTM', 'decoder', lstm({}), [ref('tgt_embedding'), ref('encoder', 1), ref('encoder', 2)]),
    layer('Dot', 'scores', { axes: [2, 2], normalize: false }, [ref('decoder'), ref('encoder')]),
    layer('Activation', 'weights', { activation: 'softmax' }, [ref('scores')]),
    layer('Dot', 'context', { axes: [2, 1], normalize: false }, [ref('weights'), ref('encoder')]),
    layer('Concatenate', 'joined', { axis: -1 }, [ref('context'), ref('decoder')]),
    layer('TimeDistributed', 'attentional', { layer: dense(2, 'tanh') }, [ref('joined')]),
    layer('TimeDistributed', 'generator', { layer: dense(3, 'softmax') }, [ref('attentional')]),
  ];
  const weights: [string, number[]][] = [
    ['src_embedding/embeddings', [3, 2]],
    ['tgt_embedding/embeddings', [3, 2]],
    ['encoder/kernel', [2, 8]],
    ['encoder/recurrent_kernel', [2, 8]],
    ['encoder/bias', [8]],
    ['decoder/kernel', [2, 8]],
    ['decoder/recurrent_kernel', [2, 8]],
    ['decoder/bias', [8]],
    ['attentional/kernel', [4, 2]],
    ['attentional/bias', [2]],
    ['generator/kernel', [2, 3]],
    ['generator/bias', [3]],
  ];
  const model = {
    format: 'layers-model',
    modelTopology: {
      class_name: 'Model',
      config: {
        name: 'translator',
        layers,
        input_layers: [
          ['src', 0, 0],
          ['tgt', 0, 0],
        ],
        output_layers: [['generator', 0, 0]],
      },
      keras_version: 'tfjs-layers 4.22.0',
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: weights.map(([name, shape]) => ({ name, shape, dtype: 'float32' })),
      },
    ],
  };
  const count = weights.reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
  const values = Float32Array.from({ length: count }, (_, i) => ((i * 37) % 19) / 19 - 0.5);
  return {
    'model.json': `${JSON.stringify(model, null, 2)}\n`,
    'group1-shard1of1.bin': new Uint8Array(values.buffer),
  };
}

/**
 * A TF.js Layers model.json (Embedding(3, 2) → [extra layer] → Dense(1, activation)) and its shard,
 * as `model.save()` lays them out, for the examples of `seqc import`.
 */
function tfjsFiles(
  extra?: unknown,
  activation = 'sigmoid',
): { 'model.json': string; 'group1-shard1of1.bin': Uint8Array } {
  const layers = [
    { class_name: 'InputLayer', config: { name: 'tokens', batch_input_shape: [null, 4], dtype: 'float32' } },
    { class_name: 'Embedding', config: { name: 'embed', input_dim: 3, output_dim: 2 } },
    { class_name: 'GlobalAveragePooling1D', config: { name: 'pool' } },
    ...(extra === undefined ? [] : [extra]),
    { class_name: 'Dense', config: { name: 'score', units: 1, activation } },
  ];
  const model = {
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 'tagger', layers },
      keras_version: 'tfjs-layers 4.22.0',
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'embed/embeddings', shape: [3, 2], dtype: 'float32' },
          { name: 'score/kernel', shape: [2, 1], dtype: 'float32' },
          { name: 'score/bias', shape: [1], dtype: 'float32' },
        ],
      },
    ],
  };
  const weights = new Float32Array([0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.05]);
  return {
    'model.json': `${JSON.stringify(model, null, 2)}\n`,
    'group1-shard1of1.bin': new Uint8Array(weights.buffer),
  };
}

const stageTitles: Readonly<Record<string, string>> = {
  syntax: 'Syntax',
  limits: 'Limits',
  check: 'Checking a spec',
  weights: 'Weights files',
  target: 'Compile targets',
  cli: 'Command line',
  runtime: 'Running a model',
  serve: 'Serving',
  import: 'Importing Keras and TensorFlow.js models',
};

/** The whole page, built from the catalogue, the fixtures and the command examples. */
export async function errorsDoc(): Promise<string> {
  const fixtures = readdirSync(join(root, fixtureFolder))
    .filter((f) => f.endsWith('.seq'))
    .sort();
  const stages = [...new Set(diagnosticCodes.map((c) => catalogue[c].stage as string))];
  const parts: string[] = [
    '# seqc diagnostics',
    '',
    '<!-- Generated by `npm run docs` (scripts/errors-doc.ts) from src/diagnostics/catalogue.ts and',
    '     test/fixtures/diagnostics. Do not edit by hand; a test fails when this page is stale. -->',
    '',
    'Every problem seqc reports has a code, a severity, a place and a message, and most have a hint.',
    'Errors stop compilation; warnings do not. `seqc check SPEC --json` prints the same diagnostics as',
    'JSON. The command line exits with status 0 on success, 1 when it reported errors and 2 for a',
    'usage problem (an unknown command or flag, or a flag value of the wrong form).',
    '',
    "Under `--json` (and in the API's `Diagnostic`) a diagnostic may also carry `facts`: what it found",
    'and what was expected, as data, so that tools need not read the message. The keys, each present',
    'only where it applies: `names` (the layers, labels, inputs, arguments or files involved, most',
    'important first), `expected` and `found` (a type as seqc prints it, a rank, a size, a kind, or the',
    'list of allowed names), `limit` (a bound that was passed), `range` (the allowed `[min, max]`),',
    '`flag` and `value` (a command-line flag and what it was given), `input` and `position` (a model',
    'input and the index of the offending item, one number per axis), and for SEQ102 `missing`,',
    '`unexpected` and `misshaped` (tensor names, the last with `expected` and `found` shapes).',
    '',
    'Each code below has an example that was compiled or run when this page was generated. A spec',
    'example is a fixture from `test/fixtures/diagnostics`; its `#` comments mark where each',
    'diagnostic is expected (the carets sit under the span), and the test suite checks that seqc',
    'reports exactly those.',
    '',
    '| Code | Stage | Meaning |',
    '| --- | --- | --- |',
    ...diagnosticCodes.map(
      (c) =>
        `| [${c}](#${c.toLowerCase()}) | ${stageTitles[catalogue[c].stage] ?? catalogue[c].stage} | ${catalogue[c].title} |`,
    ),
    '',
  ];
  for (const stage of stages) {
    parts.push(`## ${stageTitles[stage] ?? stage}`, '');
    const codes = diagnosticCodes.filter((c) => catalogue[c].stage === stage);
    if (stage === 'weights') {
      parts.push(
        'The examples in the rest of this page use this spec, `tagger.seq`:',
        '',
        '```seq',
        exampleSpec.trimEnd(),
        '```',
        '',
      );
    }
    for (const code of codes) {
      parts.push(`### ${code}`, '', catalogue[code].title, '');
      const specExamples = fixtures.filter((f) => f.startsWith(`${code}-`));
      const runExamples = commandExamples.filter((e) => e.code === code);
      for (const file of specExamples) parts.push(...fixtureSection(`${fixtureFolder}/${file}`));
      for (const example of runExamples) parts.push(...(await commandSection(example)));
      if (specExamples.length === 0 && runExamples.length === 0) parts.push('*No example yet.*', '');
    }
  }
  return `${parts.join('\n').trimEnd()}\n`;
}

function fixtureSection(path: string): string[] {
  const text = readFileSync(join(root, path), 'utf8');
  const rendered = renderDiagnostics(compile(text, { sourceName: path }).diagnostics, new Map([[path, text]]), {
    color: false,
  });
  return [
    `\`${path}\`:`,
    '',
    '```seq',
    text.trimEnd(),
    '```',
    '',
    '```console',
    `$ seqc check ${path}`,
    rendered.trimEnd(),
    '```',
    '',
  ];
}

async function commandSection(example: CommandExample): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'seqc-errors-doc-'));
  try {
    for (const [name, content] of Object.entries(example.files)) writeFileSync(join(dir, name), content);
    const inFolder = (arg: string): string =>
      /^[\w.-]+\.(seq|onnx|safetensors|json|pt|h5|keras)(:\w+)?$/.test(arg) ? join(dir, arg) : arg;
    for (const step of example.setup ?? []) {
      const ran = await runSeqc(step.map(inFolder));
      if (ran.status !== 0) throw new Error(`setup \`seqc ${step.join(' ')}\` for ${example.code} failed:\n${ran.err}`);
    }
    const restore = example.withoutOrtNode === true ? pretendOrtNodeIsMissing() : undefined;
    const restoreFastify = example.withoutFastify === true ? pretendFastifyIsMissing() : undefined;
    const restoreH5wasm = example.withoutH5wasm === true ? pretendH5wasmIsMissing() : undefined;
    const ran = await runSeqc(example.argv.map(inFolder)).finally(() => {
      restore?.();
      restoreFastify?.();
      restoreH5wasm?.();
    });
    const full = `${ran.err}${ran.out}`.split(`${dir}/`).join('').trimEnd();
    const output =
      example.lastLines === undefined ? full : ['…', ...full.split('\n').slice(-example.lastLines)].join('\n');
    if (!output.includes(`[${example.code}]`)) {
      throw new Error(
        `the example for ${example.code} (\`seqc ${example.argv.join(' ')}\`) does not report it:\n${output}`,
      );
    }
    return [
      example.situation,
      '',
      '```console',
      `$ seqc ${(example.shownArgv ?? example.argv.map(shellQuote)).join(' ')}`,
      output,
      `$ echo $?`,
      String(ran.status),
      '```',
      '',
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runSeqc(argv: readonly string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { status, out, err };
}

function shellQuote(arg: string): string {
  return /^[\w./=@:,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

async function run(): Promise<number> {
  const page = await errorsDoc();
  const path = join(root, docPath);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (process.argv.includes('--check')) {
    if (current === page) return 0;
    process.stderr.write(`${docPath} is stale; run \`npm run docs\`\n`);
    return 1;
  }
  if (current !== page) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, page);
    process.stdout.write(`wrote ${docPath}\n`);
  } else {
    process.stdout.write(`${docPath} is up to date\n`);
  }
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await run();
}
