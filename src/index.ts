// seqc's compiler API: `compile(source, options)` runs the stages in order and never throws on user input.

import { capDiagnostics, error, hasErrors, sortDiagnostics, spanOfWhole, type Diagnostic, type Span } from './diagnostics/diagnostic.js';
import { parse } from './syntax/parse.js';
import { check } from './check/check.js';
import { initializeWeights, matchWeights } from './weights/resolve.js';
import { readSafetensors } from './weights/safetensors.js';
import { lower, modelSignature, type CompileTarget, type ModelSignature } from './lower/lower.js';
import { lowerSeq2seq } from './lower/seq2seq.js';
import { webgpuDiagnostics } from './lower/webgpu.js';
import type { BundleManifest, BundleRole } from './lower/manifest.js';
import { encodeModel } from './onnx/encode.js';
import { summarize, type ModelSummary } from './summary/summary.js';
import type { ModelIR } from './ir/ir.js';
import type { ModelProto } from './onnx/types.js';
import { seqcVersion } from './version.js';

export interface CompileOptions {
  /** Names the source in diagnostics and metadata; default `<input>`. */
  readonly sourceName?: string;
  /** Seed for PyTorch-default initialization; default 0. Ignored when `weights` is given. */
  readonly seed?: number;
  /** A safetensors file keyed by PyTorch state_dict names. */
  readonly weights?: { readonly bytes: Uint8Array; readonly name: string };
  /** ONNX opset, 14 to 21; default 17. */
  readonly opset?: number;
  /** `webgpu` emits graphs whose every node runs on onnxruntime-web's WebGPU provider; default `generic`. */
  readonly target?: CompileTarget;
  /** For models with a decoder: the stem of the bundle's file names (default: the source's base name). */
  readonly bundleStem?: string;
}

/** A compiled encoder–decoder or language model: its graphs and its manifest (docs/seq2seq.md). */
export interface CompiledBundle {
  readonly files: readonly { readonly role: BundleRole; readonly file: string; readonly bytes: Uint8Array; readonly proto: ModelProto }[];
  readonly manifest: BundleManifest;
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

  let weights;
  if (options.weights === undefined) {
    weights = initializeWeights(ir.parameters, options.seed ?? 0);
  } else {
    const file = readSafetensors(options.weights.bytes, options.weights.name);
    diagnostics.push(...file.diagnostics);
    if (file.tensors === undefined) return { diagnostics, summary, signature, ir };
    const matched = matchWeights(ir.parameters, file.tensors, options.weights.name, modelSpan);
    diagnostics.push(...matched.diagnostics);
    if (matched.weights === undefined) return { diagnostics, summary, signature, ir };
    weights = matched.weights;
  }

  if (options.target === 'webgpu') {
    diagnostics.push(...webgpuDiagnostics(ir));
    if (hasErrors(diagnostics)) return { diagnostics, summary, signature, ir };
  }

  const lowerOptions = { opset, irVersion: irVersionFor(opset), producerVersion: seqcVersion, sourceText: source, sourceName, target: options.target ?? 'generic' };
  if (ir.decoder !== undefined) {
    const stem = options.bundleStem ?? defaultStem(sourceName);
    const lowered = lowerSeq2seq(ir, weights, lowerOptions, stem);
    const files = lowered.files.map((f) => ({ role: f.role, file: `${stem}${f.suffix}.onnx`, bytes: encodeModel(f.proto), proto: f.proto }));
    const scoring = files.find((f) => f.role === 'scoring')!;
    return { model: scoring.bytes, diagnostics, summary, signature, ir, proto: scoring.proto, bundle: { files, manifest: lowered.manifest } };
  }
  const proto = lower(ir, weights, lowerOptions);
  return { model: encodeModel(proto), diagnostics, summary, signature, ir, proto };
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
    problems.push(error('SEQ201', spanOfWhole(where), message, hint));
  };
  if (typeof source !== 'string') problem('<input>', `the spec must be a string, found ${describeValue(source)}`, 'pass the text of the .seq file');
  if (typeof options !== 'object' || options === null) {
    problem('options', `the options must be an object, found ${describeValue(options)}`, 'pass `{}` or leave the options out');
    return problems;
  }
  const { sourceName, seed, opset, target, weights, bundleStem } = options as Record<keyof CompileOptions, unknown>;
  if (sourceName !== undefined && typeof sourceName !== 'string') {
    problem('sourceName', `sourceName must be a string, found ${describeValue(sourceName)}`, 'name the spec, e.g. `model.seq`; the default is `<input>`');
  }
  if (seed !== undefined && !(typeof seed === 'number' && Number.isInteger(seed) && seed >= 0 && seed <= 2 ** 32 - 1)) {
    problem('--seed', `seed must be an integer from 0 to 4294967295, found ${describeValue(seed)}`, 'the default is 0');
  }
  if (opset !== undefined && !(typeof opset === 'number' && Number.isInteger(opset) && opset >= supportedOpsets.min && opset <= supportedOpsets.max)) {
    problem('--opset', `opset must be an integer from ${supportedOpsets.min} to ${supportedOpsets.max}, found ${describeValue(opset)}`, `the default is ${defaultOpset}`);
  }
  if (target !== undefined && !(typeof target === 'string' && compileTargets.includes(target))) {
    problem('--target', `target must be ${compileTargets.map((t) => `\`${t}\``).join(' or ')}, found ${describeValue(target)}`, 'the default is `generic`');
  }
  if (weights !== undefined) {
    const w = weights as { bytes?: unknown; name?: unknown } | null;
    if (typeof w !== 'object' || w === null || !isUint8Array(w.bytes) || typeof w.name !== 'string') {
      problem('--weights', `weights must be { bytes: Uint8Array, name: string }, found ${describeValue(weights)}`, 'read the safetensors file into a Uint8Array and name it, e.g. `{ bytes, name: "model.safetensors" }`');
    }
  }
  if (bundleStem !== undefined && !(typeof bundleStem === 'string' && /^[^/\\\0]+$/.test(bundleStem) && bundleStem !== '.' && bundleStem !== '..')) {
    problem('bundleStem', `bundleStem must be a file name without folders, found ${describeValue(bundleStem)}`, 'the default is the spec\'s base name, e.g. `translator`');
  }
  return problems;
}

/** A Uint8Array (a Node Buffer too), also one made in another realm such as a worker or a vm context. */
function isUint8Array(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]';
}

/** A value for a message: short JSON, or its kind. */
function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value === undefined) return String(value);
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

export type { Diagnostic, Span, Position, Severity } from './diagnostics/diagnostic.js';
export type { DiagnosticCode } from './diagnostics/catalogue.js';
export { catalogue, diagnosticCodes } from './diagnostics/catalogue.js';
export type { ModelSummary, SummaryRow } from './summary/summary.js';
export { formatSummary } from './summary/summary.js';
export type { CompileTarget, ModelSignature } from './lower/lower.js';
export type { BundleManifest, BundleRole, BundleFileEntry } from './lower/manifest.js';
export { formatModel } from './onnx/text.js';
export { formatIr } from './ir/print.js';
export { decodeModel } from './onnx/decode.js';
export { readSafetensors, writeSafetensors, writeSafetensorsAs } from './weights/safetensors.js';
export type { WeightTensor, WeightMap } from './weights/types.js';
export { seqcVersion } from './version.js';
