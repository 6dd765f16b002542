// Runs compiled seqc models on onnxruntime-node (CPU, or CUDA where it is installed), with inputs validated against the model's signature.

import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { externalLocations } from '../onnx/external.js';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { loadBundle as loadBundleOn, type BundleSource, type LoadBundleOptions, type SeqBundle } from './generate.js';
import { openModel, type LoadedModel } from './session.js';

export interface NodeModelOptions {
  /** ONNX Runtime execution providers in order of preference; default ['cpu']. Use ['cuda', 'cpu'] with a CUDA build. */
  readonly executionProviders?: readonly string[];
}

/**
 * Opens a compiled model; `source` names it in diagnostics (a path, usually). A model that keeps its
 * weights in a file beside it (`seqc compile --external-weights`, or past 2 GiB) has them read from
 * `source`'s folder.
 */
export async function loadModel(bytes: Uint8Array, source: string, options: NodeModelOptions = {}): Promise<{ model?: LoadedModel; diagnostics: Diagnostic[] }> {
  const executionProviders = options.executionProviders ?? ['cpu'];
  const locations = externalLocations(bytes);
  if (locations.length === 0) return openModel(ort, bytes, source, { executionProviders });
  // ONNX Runtime maps the weights from the file itself: quick, and past its 2 GiB limit on a tensor given in memory.
  const missing = locations.filter((location) => !existsSync(join(dirname(source), location)));
  if (missing.length > 0) {
    return { diagnostics: [error('SEQ302', spanOfWhole(source), `${source} keeps its weights in ${missing.join(', ')}, which is not beside it`, `keep ${missing.join(', ')} in the folder of ${source}`)] };
  }
  return openModel(ort, bytes, source, { executionProviders, modelPath: source });
}

/** Reads a whole file, also one past the 2 GiB that `readFileSync` stops at, in 1 GiB pieces. */
export function readLargeFile(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const read = readSync(fd, bytes, done, Math.min(2 ** 30, size - done), done);
      if (read === 0) throw new Error(`${path} ended after ${done} of ${size} bytes`);
      done += read;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Opens a decoder bundle for `generate` (src/runtime/generate.ts) on onnxruntime-node. */
export async function loadBundle(source: BundleSource, options: LoadBundleOptions = {}): Promise<{ bundle?: SeqBundle; diagnostics: Diagnostic[] }> {
  return loadBundleOn(ort, source, options);
}

export { readSignature, runModel, toNested, tensorsFromInputs } from './session.js';
export type { LoadedModel, ModelInputs, RunResult, RunTiming } from './session.js';
export { tensorFromNested, tensorFromValue, validateInputs } from './inputs.js';
export type { FlatInput, InputValue, NestedNumbers, TensorData } from './inputs.js';
export type { BundleSource, GenerateOptions, GenerateResult, LoadBundleOptions, SeqBundle } from './generate.js';
