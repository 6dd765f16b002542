// Runs compiled seqc models on onnxruntime-node, with inputs validated against the model's signature.

import * as ort from 'onnxruntime-node';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { ModelSignature } from '../lower/lower.js';
import { decodeModel } from '../onnx/decode.js';
import { validateInputs, type TensorData } from './inputs.js';

export interface NodeModelOptions {
  /** ONNX Runtime execution providers in order of preference; default ['cpu']. Use ['cuda', 'cpu'] with a CUDA build. */
  readonly executionProviders?: readonly string[];
}

export interface LoadedModel {
  readonly signature: ModelSignature;
  readonly session: ort.InferenceSession;
}

export interface RunResult {
  readonly outputs?: Map<string, TensorData>;
  readonly diagnostics: readonly Diagnostic[];
}

/** Reads the signature that seqc stores in the model's metadata. */
export function readSignature(bytes: Uint8Array, source: string): { signature?: ModelSignature; diagnostics: Diagnostic[] } {
  try {
    const model = decodeModel(bytes);
    const entry = model.metadataProps.find((p) => p.key === 'seqc.signature');
    if (entry === undefined) {
      return { diagnostics: [error('SEQ302', spanOfWhole(source), `${source} is an ONNX model, but not one compiled by seqc (it has no seqc.signature metadata)`, 'compile the spec with `seqc compile`, or pass the .seq file itself')] };
    }
    return { signature: JSON.parse(entry.value) as ModelSignature, diagnostics: [] };
  } catch (e) {
    return { diagnostics: [error('SEQ302', spanOfWhole(source), `${source} is not a readable ONNX model: ${(e as Error).message}`)] };
  }
}

export async function loadModel(bytes: Uint8Array, source: string, options: NodeModelOptions = {}): Promise<{ model?: LoadedModel; diagnostics: Diagnostic[] }> {
  const { signature, diagnostics } = readSignature(bytes, source);
  if (signature === undefined) return { diagnostics };
  try {
    const session = await ort.InferenceSession.create(bytes, { executionProviders: [...(options.executionProviders ?? ['cpu'])] });
    return { model: { signature, session }, diagnostics: [] };
  } catch (e) {
    return { diagnostics: [error('SEQ302', spanOfWhole(source), `ONNX Runtime could not load ${source}: ${(e as Error).message}`)] };
  }
}

export async function runModel(model: LoadedModel, inputs: ReadonlyMap<string, TensorData>): Promise<RunResult> {
  const checked = validateInputs(model.signature, inputs);
  if (checked.feeds === undefined) return { diagnostics: checked.diagnostics };
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of checked.feeds) feeds[name] = new ort.Tensor(t.dtype, t.data, [...t.dims]);
  try {
    const results = await model.session.run(feeds);
    const outputs = new Map<string, TensorData>();
    for (const o of model.signature.outputs) {
      const t = results[o.name]!;
      outputs.set(o.name, { dtype: t.type === 'int64' ? 'int64' : 'float32', dims: [...t.dims], data: t.data as Float32Array | BigInt64Array });
    }
    return { outputs, diagnostics: [] };
  } catch (e) {
    // Node names follow the spec (`lstm/l0/forward/LSTM`), so ONNX Runtime's message points at the layer.
    return { diagnostics: [error('SEQ302', spanOfWhole(model.signature.name), `ONNX Runtime failed while running the model: ${(e as Error).message}`)] };
  }
}

/** Nested arrays for printing: [batch][time][features]. */
export function toNested(t: TensorData): unknown {
  const values = Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));
  const build = (axis: number, offset: number): unknown => {
    if (axis === t.dims.length) return values[offset];
    const stride = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.dims[axis]! }, (_, i) => build(axis + 1, offset + i * stride));
  };
  return build(0, 0);
}
