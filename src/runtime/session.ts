// The runtime core shared by onnxruntime-node and onnxruntime-web: open a compiled model on an injected ONNX Runtime, read its signature, and run it on validated inputs.

import { error, spanOfWhole, warning, type Diagnostic, type Span } from '../diagnostics/diagnostic.js';
import type { ModelSignature } from '../contracts/signature.js';
import { decodeModel } from '../onnx/decode.js';
import type { GraphProto, ModelProto } from '../onnx/types.js';
import {
  checkTensorData,
  describeValue,
  tensorFromValue,
  validateInputs,
  type InputValue,
  type TensorData,
} from './inputs.js';
import type { OrtModule, OrtSession, OrtTensor } from './ort.js';
import { checkAgainstGraph, parseSignature } from './signature.js';

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

/**
 * Reads the signature that seqc stores in the model's metadata, checked against a schema and
 * against the graph: a signature that was edited, or that does not describe the graph, is refused,
 * and each token input's vocabulary comes from the graph's embedding tables.
 */
export function readSignature(
  bytes: Uint8Array,
  source: string,
): { signature?: ModelSignature; diagnostics: Diagnostic[] } {
  const inspected = inspectModel(bytes, source);
  return inspected.signature === undefined
    ? { diagnostics: inspected.diagnostics }
    : { signature: inspected.signature, diagnostics: [] };
}

/**
 * Reads the model's signature and opens an ONNX Runtime session on it. The execution providers are
 * tried in order: when one cannot start (CUDA without its libraries, say), the session opens on the
 * next with a warning that names the provider used, and only when none can is it an error.
 */
export async function openModel(
  ort: OrtModule,
  bytes: Uint8Array,
  source: string,
  options: OpenModelOptions,
): Promise<{ model?: LoadedModel; diagnostics: Diagnostic[] }> {
  const inspected = inspectModel(bytes, source);
  const signature = inspected.signature;
  if (signature === undefined) return { diagnostics: inspected.diagnostics };
  const unreturnable = signature.outputs.filter((o) => o.name === '__proto__');
  if (unreturnable.length > 0) {
    return {
      diagnostics: [
        error(
          'SEQ307',
          spanOfWhole(source),
          `${source} has an output named \`__proto__\`, which ONNX Runtime's JavaScript API cannot return`,
          'rename the output in the spec and compile it again',
          { names: ['__proto__'] },
        ),
      ],
    };
  }
  const providers = options.executionProviders.length > 0 ? options.executionProviders : ['cpu'];
  const logging = options.logSeverityLevel === undefined ? {} : { logSeverityLevel: options.logSeverityLevel };
  const external = options.externalData === undefined ? {} : { externalData: options.externalData };
  // onnxruntime-node also takes a file path, which OrtModule leaves out so that test doubles need not.
  const create = (settings: { executionProviders: string[] }): Promise<OrtSession> =>
    options.modelPath === undefined
      ? ort.InferenceSession.create(bytes, settings)
      : (ort.InferenceSession.create as unknown as (path: string, o: typeof settings) => Promise<OrtSession>).call(
          ort.InferenceSession,
          options.modelPath,
          settings,
        );
  const diagnostics: Diagnostic[] = [];
  const failures: string[] = [];
  let session: OrtSession | undefined;
  let used: readonly string[] = [];
  for (let i = 0; i < providers.length && session === undefined; i++) {
    used = providers.slice(i);
    try {
      session = await create({ executionProviders: [...used], ...logging, ...external });
    } catch (e) {
      failures.push(providers.length === 1 ? firstLine(e) : `${providers[i]}: ${firstLine(e)}`);
    }
  }
  if (session === undefined) {
    return {
      diagnostics: [
        error(
          'SEQ308',
          spanOfWhole(source),
          `ONNX Runtime could not open ${source} on ${providers.join(' or ')}: ${failures.join('; ')}`,
          providerHint(providers),
          { names: [source, ...providers], found: failures.join('; ') },
        ),
      ],
    };
  }
  if (failures.length > 0) {
    diagnostics.push(
      warning(
        'SEQ308',
        spanOfWhole(source),
        `execution provider ${providers.slice(0, providers.length - used.length).join(', ')} is not available (${failures.join('; ')}); running on ${used[0]}`,
        providerHint(providers.slice(0, 1)),
        { names: [...providers], expected: providers[0]!, found: used[0]! },
      ),
    );
  }
  const opened = session;
  const model: LoadedModel = {
    source,
    signature,
    executionProviders: used,
    session: opened,
    run: (inputs) => runChecked(ort, model, inputs, inspected.locations),
    release: async () => {
      await opened.release?.();
    },
  };
  return { model, diagnostics };
}

/** The same as `model.run(inputs)`. */
export async function runModel(model: LoadedModel, inputs: ModelInputs): Promise<RunResult> {
  return model.run(inputs);
}

/**
 * Turns each input into a tensor of the dtype the signature declares for it. Names the model does
 * not have are kept (as float32), so that validation reports them with the model's real inputs.
 */
export function tensorsFromInputs(
  signature: ModelSignature,
  inputs: ModelInputs,
): { tensors?: Map<string, TensorData>; diagnostics: Diagnostic[] } {
  const tensors = new Map<string, TensorData>();
  const diagnostics: Diagnostic[] = [];
  if (inputs instanceof Map) {
    for (const [name, value] of inputs as ReadonlyMap<unknown, unknown>) {
      if (typeof name !== 'string') {
        diagnostics.push(
          error(
            'SEQ300',
            spanOfWhole('inputs'),
            `an input is named by ${describeValue(name)}, not a string`,
            undefined,
            { expected: 'a string', found: describeValue(name) },
          ),
        );
        continue;
      }
      const checked = checkTensorData(name, value);
      diagnostics.push(...checked.diagnostics);
      if (checked.tensor !== undefined) tensors.set(name, checked.tensor);
    }
    return diagnostics.length > 0 ? { diagnostics } : { tensors, diagnostics };
  }
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    return {
      diagnostics: [
        error(
          'SEQ300',
          spanOfWhole('inputs'),
          `the inputs are ${describeValue(inputs)}, not an object or a Map of inputs by name`,
          'e.g. model.run({ tokens: [[1, 2, 3]] })',
          { expected: 'an object or a Map of inputs by name', found: describeValue(inputs) },
        ),
      ],
    };
  }
  // Own enumerable keys only, read as data: a key such as `__proto__` or `constructor` is an input name like any other.
  for (const name of Object.keys(inputs)) {
    const value = (Object.getOwnPropertyDescriptor(inputs, name) as PropertyDescriptor).value as unknown;
    const declared = signature.inputs.find((i) => i.name === name)?.dtype;
    const converted = tensorFromValue(name, value as InputValue, declared === 'int64' ? 'int64' : 'float32');
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

async function runChecked(
  ort: OrtModule,
  model: LoadedModel,
  inputs: ModelInputs,
  locations: ReadonlyMap<string, string>,
): Promise<RunResult> {
  const started = now();
  const converted = tensorsFromInputs(model.signature, inputs);
  if (converted.tensors === undefined) return { diagnostics: converted.diagnostics };
  const checked = validateInputs(model.signature, converted.tensors);
  if (checked.feeds === undefined) return { diagnostics: checked.diagnostics };
  // Feeds are an object without a prototype and each name an own property, so that any input name reaches ONNX Runtime.
  const feeds = Object.create(null) as Record<string, OrtTensor>;
  let results: Record<string, OrtTensor>;
  let validated = now();
  try {
    for (const [name, t] of checked.feeds)
      Object.defineProperty(feeds, name, { value: new ort.Tensor(t.dtype, t.data, [...t.dims]), enumerable: true });
    validated = now();
    results = await model.session.run(feeds);
  } catch (e) {
    return { diagnostics: [runtimeFailure(e, model, locations)] };
  }
  const ran = now();
  const outputs = new Map<string, TensorData>();
  for (const o of model.signature.outputs) {
    const t =
      typeof results === 'object' && results !== null && Object.prototype.hasOwnProperty.call(results, o.name)
        ? results[o.name]
        : undefined;
    if (t === undefined)
      return {
        diagnostics: [
          error(
            'SEQ302',
            spanOfWhole(model.source),
            `ONNX Runtime returned no \`${o.name}\`, which the model's signature lists`,
            undefined,
            { names: [o.name] },
          ),
        ],
      };
    outputs.set(o.name, {
      dtype: t.type === 'int64' ? 'int64' : 'float32',
      dims: [...t.dims],
      data: t.data as Float32Array | BigInt64Array,
    });
  }
  return { outputs, diagnostics: [], timing: { validateMs: validated - started, runMs: ran - validated } };
}

/**
 * ONNX Runtime's error, placed where it happened: its messages name the failing node, seqc's node
 * names follow the spec path and each node's doc_string holds the spec location (`spec.seq:3:13`),
 * so the diagnostic's span is that line of the spec. Without a known node it names the model.
 */
function runtimeFailure(e: unknown, model: LoadedModel, locations: ReadonlyMap<string, string>): Diagnostic {
  const message = firstLine(e);
  const named = /Name:\s*'([^']+)'/.exec(message)?.[1];
  const node =
    named !== undefined && locations.has(named) ? named : [...locations.keys()].find((n) => message.includes(`'${n}'`));
  const place = node === undefined ? undefined : locations.get(node);
  const span = place === undefined ? undefined : spanOfLocation(place);
  if (node === undefined)
    return error('SEQ302', spanOfWhole(model.source), `ONNX Runtime failed while running the model: ${message}`);
  const where = place === undefined ? '' : ` (from ${place})`;
  return error(
    'SEQ302',
    span ?? spanOfWhole(model.source),
    `ONNX Runtime failed in node \`${node}\` of ${model.source}${where}: ${message}`,
    /\/Conv$/.test(node) && /Invalid input shape/.test(message)
      ? "the batch's time axis is shorter than this Conv1d reads at once (dilation·(kernel − 1) + 1 − 2·padding steps, counting the layers before it): pad the batch with more steps; lengths keep each row's own"
      : "the inputs passed seqc's checks; please report this with the spec and the inputs",
    { names: [node] },
  );
}

/** A span for a `path:line:column` location, one character wide; the renderer shows that line with a caret. */
function spanOfLocation(place: string): Span | undefined {
  const match = /^(.*):(\d+):(\d+)$/.exec(place);
  if (match === null) return undefined;
  const line = Number(match[2]);
  const column = Number(match[3]);
  if (!Number.isSafeInteger(line) || !Number.isSafeInteger(column) || line < 1 || column < 1) return undefined;
  return { source: match[1]!, start: { offset: 0, line, column }, end: { offset: 0, line, column: column + 1 } };
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  // ONNX Runtime's messages can carry ANSI colours and long native backtraces; keep the first line, plain.
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, '').trim();
  const first = plain.split('\n')[0] ?? '';
  return first.length > 500 ? `${first.slice(0, 500)}…` : first;
}

function providerHint(providers: readonly string[]): string {
  if (providers.includes('cuda')) {
    return "CUDA needs onnxruntime-node's CUDA binaries, which its install script downloads only when allowed and asked: `npm pkg set allowScripts.onnxruntime-node=true --json`, then `ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node` (CUDA 12 and cuDNN 9 on the machine); or list a fallback: `--ep cuda,cpu`, executionProviders ['cuda', 'cpu']";
  }
  if (providers.includes('webgpu'))
    return "WebGPU needs a browser with navigator.gpu; list a fallback as ['webgpu', 'wasm']";
  return 'onnxruntime-node runs on cpu (and cuda where its CUDA binaries are installed); onnxruntime-web on wasm and webgpu';
}

/** Decodes the model once: its checked signature and, for each node, the spec location in its doc_string. */
function inspectModel(
  bytes: Uint8Array,
  source: string,
): { signature?: ModelSignature; locations: Map<string, string>; diagnostics: Diagnostic[] } {
  const locations = new Map<string, string>();
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    return {
      locations,
      diagnostics: [error('SEQ309', spanOfWhole(source), `${source} is not a readable ONNX model: ${firstLine(e)}`)],
    };
  }
  const entry = model.metadataProps.find((p) => p.key === 'seqc.signature');
  if (entry === undefined) {
    return {
      locations,
      diagnostics: [
        error(
          'SEQ310',
          spanOfWhole(source),
          `${source} is an ONNX model, but not one compiled by seqc (it has no seqc.signature metadata)`,
          'compile the spec with `seqc compile`, or pass the .seq file itself',
        ),
      ],
    };
  }
  const parsed = parseSignature(entry.value, source);
  if (parsed.signature === undefined) return { locations, diagnostics: parsed.diagnostics };
  const checked = checkAgainstGraph(parsed.signature, model, source);
  if (checked.signature === undefined) return { locations, diagnostics: checked.diagnostics };
  const graphs: GraphProto[] = [model.graph];
  for (let g = 0; g < graphs.length; g++) {
    for (const node of graphs[g]!.nodes) {
      if (node.name !== '' && node.docString !== undefined) locations.set(node.name, node.docString);
      for (const a of node.attributes) if (a.kind === 'graph') graphs.push(a.value);
    }
  }
  return { signature: checked.signature, locations, diagnostics: [] };
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}
