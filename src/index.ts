// seqc's compiler API: `compile(source, options)` runs the stages in order and never throws on user input.

import {
  capDiagnostics,
  error,
  hasErrors,
  sortDiagnostics,
  spanOfWhole,
  type Diagnostic,
  type Span,
} from './diagnostics/diagnostic.js';
import { parse } from './syntax/parse.js';
import { check } from './check/check.js';
import { initializeWeights, matchWeights, readWeightsFile } from './weights/resolve.js';
import { lower, modelSignature, type CompileTarget } from './lower/lower.js';
import { lowerSeq2seq } from './lower/seq2seq.js';
import { webgpuDiagnostics } from './lower/webgpu.js';
import type { BundleManifest, BundleRole, ModelPrecision } from './contracts/manifest.js';
import { convertPrecision } from './lower/quantize.js';
import type { ModelSignature } from './contracts/signature.js';
import { encodeModel } from './onnx/encode.js';
import {
  encodeModelInto,
  needsWeightsFile,
  onnxFileLimit,
  startWeightsFile,
  weightsFileBytes,
  weightsFileLimit,
  type WeightsFile,
} from './onnx/external.js';
import type { WeightMap } from './weights/types.js';
import { summarize, type ModelSummary } from './summary/summary.js';
import type { ModelIR } from './ir/ir.js';
import type { ModelProto } from './onnx/types.js';
import { seqcVersion } from './version.js';

export interface CompileOptions {
  /** Names the source in diagnostics and metadata; default `<input>`. */
  readonly sourceName?: string;
  /** Seed for PyTorch-default initialization; default 0. Ignored when `weights` is given. */
  readonly seed?: number;
  /**
   * A safetensors file or a PyTorch checkpoint (`torch.save` zip) keyed by state_dict names; for a
   * checkpoint holding a dict of several things, `key` names the entry that is the state_dict.
   */
  readonly weights?: { readonly bytes: Uint8Array; readonly name: string; readonly key?: string };
  /** ONNX opset, 14 to 21; default 17. */
  readonly opset?: number;
  /** `webgpu` emits graphs whose every node runs on onnxruntime-web's WebGPU provider; default `generic`. */
  readonly target?: CompileTarget;
  /**
   * The stem of the output's file names: a bundle's graphs (`STEM.step.onnx`, …) and the weights
   * file `STEM.weights.bin`, whose name the graphs record. Default: the source's base name.
   */
  readonly bundleStem?: string;
  /**
   * Where a model without a decoder keeps its weights: `auto` (the default) inside the .onnx file
   * unless that would pass ONNX's 2 GiB limit, then in `STEM.weights.bin` beside it; `always` in
   * the weights file. A bundle always shares one weights file among its graphs.
   */
  readonly externalWeights?: 'auto' | 'always';
  /**
   * Called as long work advances, in this order: `weights` (parameters initialized or read, of the
   * model's total), `lower` (0 then 1: building the graphs), `encode` (a bundle: bytes of weights
   * placed, of about the total; a single model: 0 then 1). Each stage ends with `done === total`.
   */
  readonly onProgress?: (stage: string, done: number, total: number) => void;
  /**
   * Store the weights as int8 (README, "Smaller models"): `int8` uses ONNX Runtime CPU's dynamic
   * int8 kernels (`DynamicQuantizeLSTM`, `DynamicQuantizeMatMul`) and weight-only int8 elsewhere;
   * `int8-weights` is weight-only int8 everywhere (int8 initializers and DequantizeLinear), which
   * onnxruntime-web runs on wasm and WebGPU. Default: float32.
   */
  readonly quantize?: 'int8' | 'int8-weights';
  /** `fp16` stores the weights as float16 with a Cast to float32 before use; default `fp32`. */
  readonly precision?: 'fp32' | 'fp16';
}

/** A weights file (ONNX external data) that the compiled graphs read their initializers from. */
export interface CompiledWeights {
  /** Its name, as the graphs' `external_data` `location` records it: write it beside them under this name. */
  readonly file: string;
  readonly bytes: Uint8Array;
}

/** A compiled encoder–decoder or language model: its graphs and its manifest (docs/seq2seq.md). */
export interface CompiledBundle {
  /**
   * The graphs. `sharedBytes` is a graph as a bundle stores it, reading its initializers from
   * `weights` (ONNX external data; what `seqc compile` writes and `fetchBundle` downloads); `bytes`
   * is the same graph holding its own copy of the weights, for opening it alone, encoded on first use.
   */
  readonly files: readonly {
    readonly role: BundleRole;
    readonly file: string;
    readonly bytes: Uint8Array;
    readonly sharedBytes: Uint8Array;
    readonly proto: ModelProto;
  }[];
  readonly manifest: BundleManifest;
  /** The weights every graph reads, stored once; the manifest's `weights` entry names it. */
  readonly weights: CompiledWeights;
}

export interface CompileResult {
  /** The ONNX model's bytes, present when there are no errors. */
  readonly model?: Uint8Array;
  readonly diagnostics: readonly Diagnostic[];
  readonly summary?: ModelSummary;
  readonly signature?: ModelSignature;
  readonly ir?: ModelIR;
  readonly proto?: ModelProto;
  /** For models with a decoder; `model` is then the bundle's scoring graph. */
  readonly bundle?: CompiledBundle;
  /** For a model without a decoder whose weights are kept outside the .onnx file (see `externalWeights`). */
  readonly weights?: CompiledWeights;
}

export const defaultOpset = 17;
export const supportedOpsets = { min: 14, max: 21 } as const;

/** ONNX IR 8 up to opset 18; later opsets need the IR version that introduced them. */
export function irVersionFor(opset: number): number {
  return opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

export interface CheckSourceResult {
  readonly diagnostics: readonly Diagnostic[];
  /** Present when there are no errors. */
  readonly ir?: ModelIR;
  readonly summary?: ModelSummary;
  /** The span of the model's name, where whole-model diagnostics point. */
  readonly modelSpan?: Span;
}

/**
 * The front half of `compile`: parse and check, no weights and no graph. Milliseconds even for
 * large models, so editors and `seqc check` can run it on every change.
 */
export function checkSource(source: string, options: { readonly sourceName?: string } = {}): CheckSourceResult {
  const sourceName = options.sourceName ?? '<input>';
  const parsed = parse(source, sourceName);
  if (parsed.ast === undefined) return { diagnostics: capDiagnostics(sortDiagnostics(parsed.diagnostics), sourceName) };
  const checked = check(parsed.ast);
  const diagnostics = capDiagnostics(sortDiagnostics([...parsed.diagnostics, ...checked.diagnostics]), sourceName);
  const ir = checked.ir;
  if (ir === undefined || hasErrors(diagnostics)) return { diagnostics };
  return { diagnostics, ir, summary: summarize(ir), modelSpan: parsed.ast.name.span };
}

export function compile(source: string, options: CompileOptions = {}): CompileResult {
  const problems = optionProblems(source, options);
  if (problems.length > 0) return { diagnostics: problems };
  const sourceName = options.sourceName ?? '<input>';
  const opset = options.opset ?? defaultOpset;
  const checked = checkSource(source, { sourceName });
  const diagnostics = [...checked.diagnostics];
  const { ir, summary, modelSpan } = checked;
  if (ir === undefined || summary === undefined || modelSpan === undefined) return { diagnostics };
  const signature = modelSignature(ir);

  const stem = options.bundleStem ?? defaultStem(sourceName);
  const tooLarge = weightsTooLarge(4 * summary.totalParameters, ir.name, modelSpan);
  if (tooLarge !== undefined) return { diagnostics: [...diagnostics, tooLarge], summary, signature, ir };

  let weights: WeightMap;
  if (options.weights === undefined) {
    weights = initializeWithProgress(ir.parameters, options.seed ?? 0, options.onProgress);
  } else {
    options.onProgress?.('weights', 0, summary.totalParameters);
    const file = readWeightsFile(options.weights);
    diagnostics.push(...file.diagnostics);
    if (file.tensors === undefined) return { diagnostics, summary, signature, ir };
    const matched = matchWeights(ir.parameters, file.tensors, options.weights.name, modelSpan);
    diagnostics.push(...matched.diagnostics);
    if (matched.weights === undefined) return { diagnostics, summary, signature, ir };
    weights = matched.weights;
    options.onProgress?.('weights', summary.totalParameters, summary.totalParameters);
  }

  if (options.target === 'webgpu') {
    diagnostics.push(...webgpuDiagnostics(ir));
    if (hasErrors(diagnostics)) return { diagnostics, summary, signature, ir };
  }
  const precision = modelPrecision(options);

  const lowerOptions = {
    opset,
    irVersion: irVersionFor(opset),
    producerVersion: seqcVersion,
    sourceText: source,
    sourceName,
    target: options.target ?? 'generic',
  };
  const weightsFile = startWeightsFile(`${stem}.weights.bin`);
  options.onProgress?.('lower', 0, 1);
  if (ir.decoder !== undefined) {
    const lowered = storedAs(lowerSeq2seq(ir, weights, lowerOptions, stem), precision, lowerOptions.target);
    options.onProgress?.('lower', 1, 1);
    const encodeProgress = progressOfEncoding(weightsFile, 4 * summary.totalParameters, options.onProgress);
    const files = lowered.files.map((f): CompiledBundle['files'][number] => {
      const sharedBytes = encodeModelInto(f.proto, weightsFile);
      encodeProgress();
      let inline: Uint8Array | undefined;
      return {
        role: f.role,
        file: `${stem}${f.suffix}.onnx`,
        sharedBytes,
        // Encoded on first use only: writing and fetching a bundle never need the graphs with their own copy of the weights.
        get bytes() {
          inline ??= encodeModel(f.proto);
          return inline;
        },
        proto: f.proto,
      };
    });
    const overflow = weightsTooLarge(weightsFile.size, ir.name, modelSpan);
    if (overflow !== undefined) return { diagnostics: [...diagnostics, overflow], summary, signature, ir };
    const compiledWeights = { file: weightsFile.location, bytes: weightsFileBytes(weightsFile) };
    const manifest: BundleManifest = {
      ...lowered.manifest,
      weights: { path: compiledWeights.file, bytes: compiledWeights.bytes.byteLength },
    };
    const scoring = files.find((f) => f.role === 'scoring')!;
    return {
      get model() {
        return scoring.bytes;
      },
      diagnostics,
      summary,
      signature,
      ir,
      proto: scoring.proto,
      bundle: { files, manifest, weights: compiledWeights },
    };
  }
  const lowered = lower(ir, weights, lowerOptions);
  const proto = precision === undefined ? lowered : convertPrecision(lowered, precision, lowerOptions.target);
  options.onProgress?.('lower', 1, 1);
  // The model without its weights is small and quick to encode; with them it is what the 2 GiB limit applies to.
  options.onProgress?.('encode', 0, 1);
  const external = encodeModelInto(proto, weightsFile);
  if (options.externalWeights !== 'always' && !needsWeightsFile(external.byteLength, weightsFile.size, onnxFileLimit)) {
    const model = encodeModel(proto);
    options.onProgress?.('encode', 1, 1);
    return { model, diagnostics, summary, signature, ir, proto };
  }
  options.onProgress?.('encode', 1, 1);
  const overflow = weightsTooLarge(weightsFile.size, ir.name, modelSpan);
  if (overflow !== undefined) return { diagnostics: [...diagnostics, overflow], summary, signature, ir };
  return {
    model: external,
    diagnostics,
    summary,
    signature,
    ir,
    proto,
    weights: { file: weightsFile.location, bytes: weightsFileBytes(weightsFile) },
  };
}

/** The weights' stored form that `quantize` and `precision` ask for; undefined for float32. */
function modelPrecision(options: CompileOptions): ModelPrecision | undefined {
  if (options.quantize !== undefined) return options.quantize;
  return options.precision === 'fp16' ? 'fp16' : undefined;
}

/** A lowered bundle with its graphs' weights stored as `precision` says, which its manifest records. */
function storedAs<B extends ReturnType<typeof lowerSeq2seq>>(
  bundle: B,
  precision: ModelPrecision | undefined,
  target: CompileTarget,
): B {
  if (precision === undefined) return bundle;
  return {
    ...bundle,
    files: bundle.files.map((f) => ({ ...f, proto: convertPrecision(f.proto, precision, target) })),
    manifest: { ...bundle.manifest, precision },
  };
}

/** SEQ051 when the weights would not fit in one weights file, checked before any of them is allocated. */
function weightsTooLarge(bytes: number, name: string, span: Span): Diagnostic | undefined {
  if (bytes <= weightsFileLimit) return undefined;
  const gib = (bytes / 2 ** 30).toFixed(1);
  const limit = (weightsFileLimit / 2 ** 30).toFixed(1);
  return error(
    'SEQ051',
    span,
    `${name} has ${gib} GiB of float32 weights, more than seqc can hold in one weights file (${limit} GiB)`,
    'make the vocabulary or hidden sizes smaller; `seqc summary` shows where the parameters are',
    { names: [name], limit: weightsFileLimit, found: bytes },
  );
}

/** Seeded initialization, one parameter at a time so that progress can be reported; the same weights as `initializeWeights` on all of them. */
function initializeWithProgress(
  parameters: ModelIR['parameters'],
  seed: number,
  onProgress: CompileOptions['onProgress'],
): WeightMap {
  if (onProgress === undefined) return initializeWeights(parameters, seed);
  const total = parameters.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  const weights = new Map(initializeWeights([], seed));
  let done = 0;
  onProgress('weights', 0, total);
  for (const p of parameters) {
    for (const [name, tensor] of initializeWeights([p], seed)) weights.set(name, tensor);
    done += p.shape.reduce((a, b) => a * b, 1);
    onProgress('weights', done, total);
  }
  return weights;
}

/** Reports the weights file's growth as graphs are encoded (`encode`, bytes of about `total`). */
function progressOfEncoding(file: WeightsFile, total: number, onProgress: CompileOptions['onProgress']): () => void {
  if (onProgress === undefined) return () => {};
  onProgress('encode', 0, total);
  return () => onProgress('encode', Math.min(file.size, total), total);
}

/** The compile targets `options.target` may name. */
const compileTargets: readonly string[] = ['generic', 'webgpu'] satisfies readonly CompileTarget[];

/**
 * Checks every field of `CompileOptions` (and that the spec is a string), for callers from
 * JavaScript, where the types are not checked: each wrong value is one SEQ201 diagnostic, named
 * after the CLI flag that sets it.
 */
function optionProblems(source: unknown, options: CompileOptions): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const problem = (where: string, message: string, hint: string): void => {
    problems.push(error('SEQ201', spanOfWhole(where), message, hint, { names: [where] }));
  };
  if (typeof source !== 'string')
    problem('<input>', `the spec must be a string, found ${describeValue(source)}`, 'pass the text of the .seq file');
  if (typeof options !== 'object' || options === null) {
    problem(
      'options',
      `the options must be an object, found ${describeValue(options)}`,
      'pass `{}` or leave the options out',
    );
    return problems;
  }
  const { sourceName, seed, opset, target, weights, bundleStem, quantize, precision } = options as Record<
    keyof CompileOptions,
    unknown
  >;
  if (sourceName !== undefined && typeof sourceName !== 'string') {
    problem(
      'sourceName',
      `sourceName must be a string, found ${describeValue(sourceName)}`,
      'name the spec, e.g. `model.seq`; the default is `<input>`',
    );
  }
  if (seed !== undefined && !(typeof seed === 'number' && Number.isInteger(seed) && seed >= 0 && seed <= 2 ** 32 - 1)) {
    problem('--seed', `seed must be an integer from 0 to 4294967295, found ${describeValue(seed)}`, 'the default is 0');
  }
  if (
    opset !== undefined &&
    !(
      typeof opset === 'number' &&
      Number.isInteger(opset) &&
      opset >= supportedOpsets.min &&
      opset <= supportedOpsets.max
    )
  ) {
    problem(
      '--opset',
      `opset must be an integer from ${supportedOpsets.min} to ${supportedOpsets.max}, found ${describeValue(opset)}`,
      `the default is ${defaultOpset}`,
    );
  }
  if (target !== undefined && !(typeof target === 'string' && compileTargets.includes(target))) {
    problem(
      '--target',
      `target must be ${compileTargets.map((t) => `\`${t}\``).join(' or ')}, found ${describeValue(target)}`,
      'the default is `generic`',
    );
  }
  if (quantize !== undefined && quantize !== 'int8' && quantize !== 'int8-weights') {
    problem(
      '--quantize',
      `quantize must be \`int8\` or \`int8-weights\`, found ${describeValue(quantize)}`,
      'leave it out for float32 weights',
    );
  }
  if (precision !== undefined && precision !== 'fp32' && precision !== 'fp16') {
    problem(
      '--precision',
      `precision must be \`fp32\` or \`fp16\`, found ${describeValue(precision)}`,
      'the default is `fp32`',
    );
  }
  problems.push(...precisionProblems(quantize, precision, target));
  if (weights !== undefined) {
    const w = weights as { bytes?: unknown; name?: unknown } | null;
    if (typeof w !== 'object' || w === null || !isUint8Array(w.bytes) || typeof w.name !== 'string') {
      problem(
        '--weights',
        `weights must be { bytes: Uint8Array, name: string }, found ${describeValue(weights)}`,
        'read the safetensors file into a Uint8Array and name it, e.g. `{ bytes, name: "model.safetensors" }`',
      );
    }
  }
  if (
    bundleStem !== undefined &&
    !(typeof bundleStem === 'string' && /^[^/\\\0]+$/.test(bundleStem) && bundleStem !== '.' && bundleStem !== '..')
  ) {
    problem(
      'bundleStem',
      `bundleStem must be a file name without folders, found ${describeValue(bundleStem)}`,
      "the default is the spec's base name, e.g. `translator`",
    );
  }
  return problems;
}

/**
 * SEQ104 when dynamic int8 is asked for the webgpu target, whose provider has no int8 kernels;
 * SEQ105 when both `quantize` and `precision: 'fp16'` are given, which are two stored forms of the
 * same weights.
 */
function precisionProblems(quantize: unknown, precision: unknown, target: unknown): Diagnostic[] {
  const problems: Diagnostic[] = [];
  if (quantize === 'int8' && target === 'webgpu') {
    problems.push(
      error(
        'SEQ104',
        spanOfWhole('--quantize'),
        '`--quantize int8` uses ONNX Runtime CPU kernels (DynamicQuantizeLSTM, DynamicQuantizeMatMul) that the WebGPU provider does not have',
        'use `--quantize int8-weights` for the webgpu target: int8 weights, dequantized to float on the GPU',
        { names: ['--quantize', '--target'], flag: '--quantize', value: 'int8', expected: 'int8-weights' },
      ),
    );
  }
  if ((quantize === 'int8' || quantize === 'int8-weights') && precision === 'fp16') {
    problems.push(
      error(
        'SEQ105',
        spanOfWhole('--precision'),
        `\`--quantize ${quantize}\` and \`--precision fp16\` each choose how the weights are stored; give one of them`,
        'int8 is the smaller (about a quarter of float32), fp16 the closer to float32 (half)',
        { names: ['--quantize', '--precision'], flag: '--precision', value: 'fp16', found: quantize },
      ),
    );
  }
  return problems;
}

/** A Uint8Array (a Node Buffer too), also one made in another realm such as a worker or a vm context. */
function isUint8Array(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]';
}

/** A value for a message: short JSON, or its kind. */
function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value === undefined)
    return String(value);
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (isUint8Array(value)) return `a Uint8Array of ${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  return `a ${typeof value}`;
}

/** `specs/translator.seq` → `translator`. */
function defaultStem(sourceName: string): string {
  const base = sourceName.split(/[\\/]/).pop() ?? sourceName;
  return base.replace(/\.[^.]*$/, '') || 'model';
}

export type { Diagnostic, Facts, Span, Position, Severity } from './diagnostics/diagnostic.js';
export type { DiagnosticCode } from './diagnostics/catalogue.js';
export { catalogue, diagnosticCodes } from './diagnostics/catalogue.js';
export type { ModelSummary, SummaryRow } from './summary/summary.js';
export { formatSummary } from './summary/summary.js';
export type { CompileTarget } from './lower/lower.js';
export type { ModelSignature } from './contracts/signature.js';
export type {
  BundleManifest,
  BundleRole,
  BundleFileEntry,
  BundleWeightsEntry,
  ModelPrecision,
} from './contracts/manifest.js';
export { formatModel } from './onnx/text.js';
export { formatIr } from './ir/print.js';
export { decodeModel } from './onnx/decode.js';
export { readSafetensors, writeSafetensors, writeSafetensorsAs } from './weights/safetensors.js';
export { readPtCheckpoint, type PtContents } from './weights/pt.js';
export type { WeightTensor, WeightMap } from './weights/types.js';
export { seqcVersion } from './version.js';
