// The runtime core shared by onnxruntime-node and onnxruntime-web: open a compiled model on an injected ONNX Runtime, read its signature, and run it on validated inputs.

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { ModelSignature } from '../lower/lower.js';
import { decodeModel } from '../onnx/decode.js';
import { tensorFromValue, validateInputs, type InputValue, type TensorData } from './inputs.js';
import type { OrtModule, OrtSession, OrtTensor } from './ort.js';

export interface OpenModelOptions {
  /** ONNX Runtime execution providers in order of preference, such as ['cpu'], ['cuda', 'cpu'], ['wasm'] or ['webgpu']. */
  readonly executionProviders: readonly string[];
  /** ONNX Runtime's session log severity, 0 (verbose) to 4 (fatal); default ONNX Runtime's. */
  readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** The weights files the model's external-data initializers name (`path`: the name the model records; `data`: bytes, or a file path on Node). */
  readonly externalData?: readonly { readonly path: string; readonly data: Uint8Array | string }[];
  /** onnxruntime-node only: open the model from this file (the same bytes), so ONNX Runtime reads its external weights itself. */
  readonly modelPath?: string;
}

/** Inputs by name: nested lists or flat data with dims (see `InputValue`), or tensors already built. */
export type ModelInputs = Readonly<Record<string, InputValue>> | ReadonlyMap<string, TensorData>;

/** Milliseconds spent checking the inputs and inside ONNX Runtime's `run`. */
export interface RunTiming {
  readonly validateMs: number;
  readonly runMs: number;
}

export interface RunResult {
  /** The model's outputs by name, in the signature's order; absent when there are diagnostics. */
  readonly outputs?: Map<string, TensorData>;
  readonly diagnostics: readonly Diagnostic[];
  /** Present when ONNX Runtime ran. */
  readonly timing?: RunTiming;
}

/** A compiled seqc model, open on one ONNX Runtime. */
export interface LoadedModel {
  /** Names the model in diagnostics: a path, a URL or `<model>`. */
  readonly source: string;
  /** The signature seqc stored in the model's metadata: inputs with roles and vocabularies, outputs. */
  readonly signature: ModelSignature;
  readonly executionProviders: readonly string[];
  readonly session: OrtSession;
  /** Checks the inputs against the signature and, only when every check passes, runs the model. */
  run(inputs: ModelInputs): Promise<RunResult>;
  release(): Promise<void>;
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

/** Reads the model's signature and opens an ONNX Runtime session on it. */
export async function openModel(ort: OrtModule, bytes: Uint8Array, source: string, options: OpenModelOptions): Promise<{ model?: LoadedModel; diagnostics: Diagnostic[] }> {
  const { signature, diagnostics } = readSignature(bytes, source);
  if (signature === undefined) return { diagnostics };
  let session: OrtSession;
  try {
    const logging = options.logSeverityLevel === undefined ? {} : { logSeverityLevel: options.logSeverityLevel };
    const external = options.externalData === undefined ? {} : { externalData: options.externalData };
    const settings = { executionProviders: [...options.executionProviders], ...logging, ...external };
    // onnxruntime-node also takes a file path, which OrtModule leaves out so that test doubles need not.
    const fromPath = ort.InferenceSession.create as unknown as (path: string, o: typeof settings) => Promise<OrtSession>;
    session = options.modelPath === undefined ? await ort.InferenceSession.create(bytes, settings) : await fromPath.call(ort.InferenceSession, options.modelPath, settings);
  } catch (e) {
    return { diagnostics: [error('SEQ302', spanOfWhole(source), `ONNX Runtime could not load ${source} on ${options.executionProviders.join(', ')}: ${(e as Error).message}`)] };
  }
  const model: LoadedModel = {
    source,
    signature,
    executionProviders: options.executionProviders,
    session,
    run: (inputs) => runChecked(ort, model, inputs),
    release: async () => {
      await session.release?.();
    },
  };
  return { model, diagnostics: [] };
}

/** The same as `model.run(inputs)`. */
export async function runModel(model: LoadedModel, inputs: ModelInputs): Promise<RunResult> {
  return model.run(inputs);
}

/**
 * Turns each input into a tensor of the dtype the signature declares for it. Names the model does
 * not have are kept (as float32), so that validation reports them with the model's real inputs.
 */
export function tensorsFromInputs(signature: ModelSignature, inputs: ModelInputs): { tensors?: Map<string, TensorData>; diagnostics: Diagnostic[] } {
  if (inputs instanceof Map) return { tensors: new Map(inputs), diagnostics: [] };
  const tensors = new Map<string, TensorData>();
  const diagnostics: Diagnostic[] = [];
  for (const [name, value] of Object.entries(inputs as Readonly<Record<string, InputValue>>)) {
    const declared = signature.inputs.find((i) => i.name === name)?.dtype;
    const converted = tensorFromValue(name, value, declared === 'int64' ? 'int64' : 'float32');
    diagnostics.push(...converted.diagnostics);
    if (converted.tensor !== undefined) tensors.set(name, converted.tensor);
  }
  return diagnostics.length > 0 ? { diagnostics } : { tensors, diagnostics };
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

// Internals.

async function runChecked(ort: OrtModule, model: LoadedModel, inputs: ModelInputs): Promise<RunResult> {
  const started = now();
  const converted = tensorsFromInputs(model.signature, inputs);
  if (converted.tensors === undefined) return { diagnostics: converted.diagnostics };
  const checked = validateInputs(model.signature, converted.tensors);
  if (checked.feeds === undefined) return { diagnostics: checked.diagnostics };
  const feeds: Record<string, OrtTensor> = {};
  for (const [name, t] of checked.feeds) feeds[name] = new ort.Tensor(t.dtype, t.data, [...t.dims]);
  const validated = now();
  let results: Record<string, OrtTensor>;
  try {
    results = await model.session.run(feeds);
  } catch (e) {
    // Node names follow the spec (`lstm/l0/forward/LSTM`), so ONNX Runtime's message points at the layer.
    return { diagnostics: [error('SEQ302', spanOfWhole(model.signature.name), `ONNX Runtime failed while running the model: ${(e as Error).message}`)] };
  }
  const ran = now();
  const outputs = new Map<string, TensorData>();
  for (const o of model.signature.outputs) {
    const t = results[o.name];
    if (t === undefined) return { diagnostics: [error('SEQ302', spanOfWhole(model.signature.name), `ONNX Runtime returned no \`${o.name}\`, which the model's signature lists`)] };
    outputs.set(o.name, { dtype: t.type === 'int64' ? 'int64' : 'float32', dims: [...t.dims], data: t.data as Float32Array | BigInt64Array });
  }
  return { outputs, diagnostics: [], timing: { validateMs: validated - started, runMs: ran - validated } };
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}
