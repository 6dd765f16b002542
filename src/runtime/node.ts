// Runs compiled seqc models on onnxruntime-node (CPU, or CUDA where it is installed), with inputs validated against the model's signature.

import { loadOrtNode } from './node-ort.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { loadBundle as loadBundleOn, type BundleSource, type LoadBundleOptions, type SeqBundle } from './generate.js';
import { openModel, type LoadedModel } from './session.js';

export interface NodeModelOptions {
  /** ONNX Runtime execution providers in order of preference; default ['cpu']. Use ['cuda', 'cpu'] with a CUDA build. */
  readonly executionProviders?: readonly string[];
}

/** Opens a compiled model; `source` names it in diagnostics (a path, usually). */
export async function loadModel(bytes: Uint8Array, source: string, options: NodeModelOptions = {}): Promise<{ model?: LoadedModel; diagnostics: Diagnostic[] }> {
  const { ort, diagnostics } = await loadOrtNode();
  if (ort === undefined) return { diagnostics };
  return openModel(ort, bytes, source, { executionProviders: options.executionProviders ?? ['cpu'] });
}

/** Opens a decoder bundle for `generate` (src/runtime/generate.ts) on onnxruntime-node. */
export async function loadBundle(source: BundleSource, options: LoadBundleOptions = {}): Promise<{ bundle?: SeqBundle; diagnostics: Diagnostic[] }> {
  const { ort, diagnostics } = await loadOrtNode();
  if (ort === undefined) return { diagnostics };
  return loadBundleOn(ort, source, options);
}

export { readSignature, runModel, toNested, tensorsFromInputs } from './session.js';
export type { LoadedModel, ModelInputs, RunResult, RunTiming } from './session.js';
export { tensorFromNested, tensorFromValue, validateInputs } from './inputs.js';
export type { FlatInput, InputValue, NestedNumbers, TensorData } from './inputs.js';
export type { BundleSource, GenerateOptions, GenerateResult, LoadBundleOptions, SeqBundle } from './generate.js';
