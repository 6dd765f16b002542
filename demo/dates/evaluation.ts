// Evaluates the trained dates demo: compiles model.seq with the committed weights, decodes the held-out set with seqc's bundle, and checks it against the TensorFlow.js model.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { compile, type CompiledBundle } from '../../src/index.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { loadBundle, type SeqBundle } from '../../src/runtime/node.js';
import {
  bos,
  decodeTarget,
  makeSplits,
  sourceVocabulary,
  targetVocabulary,
  vocabularyFiles,
  type Example,
} from './data.js';
import {
  decodeTeacherForced,
  demoSizes,
  encode,
  exactMatch,
  greedyDecode,
  parametersFromWeights,
  sourceBatch,
  useBackend,
  type Parameters,
} from './network.js';

/** The folder of the demo's files. */
export const demoFolder = dirname(fileURLToPath(import.meta.url));

export interface EvaluationOptions {
  /** Evaluate on the first `limit` held-out examples; default all of them. */
  readonly limit?: number;
  /** The beam width; default 4. */
  readonly beamWidth?: number;
  /** The tfjs backend for the reference model; default wasm. */
  readonly backend?: string;
  /** How many held-out examples the logits comparison uses; default 64. */
  readonly agreementExamples?: number;
}

/** One decoding method's result on the held-out examples. */
export interface MethodResult {
  readonly method: string;
  /** Exact-match accuracy: the generated ids equal the target, `eos` included. */
  readonly accuracy: number;
  readonly milliseconds: number;
  /** Per example, the generated ISO text. */
  readonly outputs: readonly string[];
}

export interface Evaluation {
  readonly examples: readonly Example[];
  readonly compileMilliseconds: number;
  /** tfjs greedy, seqc's greedy Loop graph, and beam search over seqc's step graph. */
  readonly methods: readonly MethodResult[];
  /** The largest |tfjs − seqc| over valid positions: teacher-forced logits, the encoder's memory, and h0. */
  readonly agreement: {
    readonly examples: number;
    readonly logits: number;
    readonly memory: number;
    readonly h0: number;
  };
  /** The fraction of examples on which seqc's greedy graph and tfjs's greedy decoding give the same tokens. */
  readonly greedySame: number;
}

/** The agreement that counts as the same computation in float32. */
export const agreementTolerance = 1e-4;

/** Compiles the spec with the committed weights and evaluates it; throws when the demo's files do not fit together. */
export async function evaluateDates(
  options: EvaluationOptions = {},
): Promise<{ evaluation: Evaluation; bundle: CompiledBundle }> {
  checkVocabulary(vocabularyFiles.source, sourceVocabulary);
  checkVocabulary(vocabularyFiles.target, targetVocabulary);
  const weightsBytes = readFileSync(join(demoFolder, 'weights.safetensors'));
  const spec = readFileSync(join(demoFolder, 'model.seq'), 'utf8');

  let started = performance.now();
  const compiled = compile(spec, {
    sourceName: 'model.seq',
    weights: { bytes: weightsBytes, name: 'weights.safetensors' },
    bundleStem: 'dates',
  });
  const compileMilliseconds = performance.now() - started;
  if (compiled.bundle === undefined) {
    throw new Error(
      `model.seq did not compile: ${compiled.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`,
    );
  }
  const bundle = compiled.bundle;

  const examples = makeSplits().heldOut.slice(0, options.limit);
  const rows = examples.map((e) => e.src);
  const score = (method: string, generated: readonly (readonly number[])[], milliseconds: number): MethodResult => ({
    method,
    accuracy: exactMatch(generated, examples),
    milliseconds,
    outputs: generated.map((ids) => decodeTarget(ids)),
  });

  await useBackend(options.backend ?? 'wasm');
  const parameters = loadParameters(weightsBytes);
  started = performance.now();
  const tfjsGreedy = chunked(rows, 500, (chunk) => greedyDecode(parameters, chunk, demoSizes.maxLength));
  const tfjsResult = score('tfjs greedy (reference)', tfjsGreedy, performance.now() - started);

  const seq = await openBundle(bundle);
  try {
    started = performance.now();
    const greedyGraph = await seq.runGreedyGraph(rows);
    if (greedyGraph.rows === undefined)
      throw new Error(`the greedy graph failed: ${greedyGraph.diagnostics.map((d) => d.message).join('; ')}`);
    const greedyResult = score('seqc greedy (ONNX Loop graph)', greedyGraph.rows, performance.now() - started);

    const width = options.beamWidth ?? 4;
    started = performance.now();
    const beamRows: number[][] = [];
    for (let i = 0; i < rows.length; i += 250) {
      const generated = await seq.generate(rows.slice(i, i + 250), { strategy: 'beam', beam: { width } });
      if (generated.rows === undefined)
        throw new Error(`beam search failed: ${generated.diagnostics.map((d) => d.message).join('; ')}`);
      beamRows.push(...generated.rows.map((r) => [...r.hypotheses[0]!.tokens]));
    }
    const beamResult = score(`seqc beam search, width ${width} (step graph)`, beamRows, performance.now() - started);

    const greedySame = greedyGraph.rows.filter((ids, i) => ids.join() === tfjsGreedy[i]!.join()).length / rows.length;
    const agreement = await compareWithTfjs(bundle, parameters, examples.slice(0, options.agreementExamples ?? 64));
    return {
      evaluation: {
        examples,
        compileMilliseconds,
        methods: [tfjsResult, greedyResult, beamResult],
        agreement,
        greedySame,
      },
      bundle,
    };
  } finally {
    await seq.release();
    parameters.forEach((v) => v.dispose());
  }
}

/** The committed vocabulary files, written by train.ts, must be the vocabularies that data.ts builds. */
function checkVocabulary(file: string, expected: readonly string[]): void {
  const tokens = JSON.parse(readFileSync(join(demoFolder, file), 'utf8')) as unknown;
  if (!Array.isArray(tokens) || tokens.join('\n') !== expected.join('\n')) {
    throw new Error(`${file} differs from the vocabulary in data.ts; retrain with \`npx tsx demo/dates/train.ts\``);
  }
}

function loadParameters(bytes: Uint8Array): Parameters {
  const file = readSafetensors(bytes, 'weights.safetensors');
  if (file.tensors === undefined) throw new Error(file.diagnostics.map((d) => d.message).join('; '));
  return parametersFromWeights(demoSizes, file.tensors);
}

/** Opens the bundle with seqc's onnxruntime-node runtime, from memory. */
async function openBundle(bundle: CompiledBundle): Promise<SeqBundle> {
  const files = Object.fromEntries(bundle.files.map((f) => [f.file, f.bytes]));
  const { bundle: seq, diagnostics } = await loadBundle(
    { manifest: bundle.manifest, files },
    { executionProviders: ['cpu'] },
  );
  if (seq === undefined)
    throw new Error(`seqc's runtime could not load the bundle: ${diagnostics.map((d) => d.message).join('; ')}`);
  return seq;
}

/**
 * Runs the same padded batch through tfjs and through the bundle's scoring and encoder graphs,
 * and returns the largest absolute differences over valid positions.
 */
async function compareWithTfjs(
  bundle: CompiledBundle,
  parameters: Parameters,
  examples: readonly Example[],
): Promise<Evaluation['agreement']> {
  const batch = examples.length;
  const srcTime = Math.max(...examples.map((e) => e.src.length));
  const tgtTime = Math.max(...examples.map((e) => e.tgt.length));
  const src = new BigInt64Array(batch * srcTime);
  const tgtIn = new BigInt64Array(batch * tgtTime);
  examples.forEach((e, b) => {
    e.src.forEach((id, t) => (src[b * srcTime + t] = BigInt(id)));
    e.tgt.forEach((_, t) => (tgtIn[b * tgtTime + t] = BigInt(t === 0 ? bos : e.tgt[t - 1]!)));
  });
  const lengths = BigInt64Array.from(examples, (e) => BigInt(e.src.length));
  const feeds = {
    src: new ort.Tensor('int64', src, [batch, srcTime]),
    src_lengths: new ort.Tensor('int64', lengths, [batch]),
  };
  const session = async (role: string): Promise<ort.InferenceSession> =>
    ort.InferenceSession.create(bundle.files.find((f) => f.role === role)!.bytes);
  const scoring = await session('scoring');
  const encoder = await session('encoder');
  const seqcLogits = (await scoring.run({ ...feeds, tgt_in: new ort.Tensor('int64', tgtIn, [batch, tgtTime]) }))[
    'logits'
  ]!.data as Float32Array;
  const encoded = await encoder.run(feeds);
  const seqcMemory = encoded['memory']!.data as Float32Array;
  const seqcH0 = encoded['h0']!.data as Float32Array;
  await scoring.release();
  await encoder.release();

  const [tfjsLogits, tfjsMemory, tfjsH0] = tf.tidy(() => {
    const source = sourceBatch(examples.map((e) => e.src));
    const enc = encode(parameters, source);
    const logits = decodeTeacherForced(
      parameters,
      enc,
      tf.tensor2d(Int32Array.from(tgtIn, Number), [batch, tgtTime], 'int32'),
    );
    return [logits.dataSync(), enc.memory.dataSync(), enc.h0.dataSync()] as const;
  });

  const vocab = targetVocabulary.length;
  // Every position of the memory counts: past a row's length both should be exactly zero.
  const logitsValid = (i: number): boolean =>
    Math.floor(i / vocab) % tgtTime < examples[Math.floor(i / (vocab * tgtTime))]!.tgt.length;
  return {
    examples: batch,
    logits: maxAbsDifference(seqcLogits, tfjsLogits, logitsValid),
    memory: maxAbsDifference(seqcMemory, tfjsMemory, () => true),
    h0: maxAbsDifference(seqcH0, tfjsH0, () => true),
  };
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>, counts: (i: number) => boolean): number {
  if (a.length !== b.length) throw new Error(`cannot compare ${a.length} values with ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) if (counts(i)) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function chunked<T, R>(items: readonly T[], size: number, run: (chunk: readonly T[]) => R[]): R[] {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...run(items.slice(i, i + size)));
  return out;
}
