// What the seqc commands share: exit codes, output, bounded file reading and atomic writing (src/cli/files.ts), compiling from flags.

import { compile, defaultOpset, supportedOpsets, type CompileOptions, type CompileResult } from '../index.js';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { renderDiagnostics } from '../diagnostics/render.js';
import { integerFlag, type FlagSpec, type ParsedArgs } from './args.js';
import { existsSync } from 'node:fs';
import { readFileBounded, readTextBounded, type ReadKind } from './files.js';

export const ExitCode = { ok: 0, diagnostics: 1, usage: 2 } as const;

/** Where output goes; tests pass their own. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly color: boolean;
  /** Present under `--json`: diagnostics and the command's result are collected here and printed as one JSON document. */
  readonly json?: JsonReport;
}

/** What a command reports under `--json`: `{ ok, exitCode, diagnostics, result }` on standard output. */
export interface JsonReport {
  readonly diagnostics: Diagnostic[];
  result?: unknown;
}

/** The flag every command takes. */
export const jsonFlag: FlagSpec = {
  name: 'json',
  takesValue: false,
  description: 'print one JSON document { ok, exitCode, diagnostics, result } on standard output',
};

/**
 * A command's result: the text on a terminal, or the structured value under `--json`. Every
 * command reports its result through here, so that `--json` covers all of them alike.
 */
export function emit(io: Io, result: unknown, text: string): void {
  if (io.json !== undefined) io.json.result = result;
  else io.out(text);
}

/** Serializes a `--json` report; diagnostics keep their codes, spans and hints. */
export function jsonDocument(report: JsonReport, exitCode: number): string {
  return `${JSON.stringify({ ok: exitCode === 0, exitCode, diagnostics: report.diagnostics, result: report.result ?? null }, null, 2)}\n`;
}

export const help: FlagSpec = { name: 'help', alias: 'h', takesValue: false, description: 'show this help' };
export const weightsFlag: FlagSpec = {
  name: 'weights',
  takesValue: true,
  description: 'a safetensors file or PyTorch checkpoint (FILE.pt, or FILE.pt:KEY for the state_dict under KEY)',
};

/** The file part of a `--weights` value that may end in `:KEY`: the name must end so for the key to be split off. */
const checkpointWithKey = /^(.+\.(?:pt|pth|bin|ckpt|tar)):([^:/\\]+)$/i;

/**
 * Splits `--weights FILE.pt:KEY` into the path and the dict key. The text after the LAST `:` is a
 * key only when the path does not exist as given, the part before it ends in `.pt`, `.pth`, `.bin`,
 * `.ckpt` or `.tar`, and the key holds no `/` or `\`; so `C:\models\m.pt` and a file whose name
 * contains `:` are read as paths.
 */
export function splitWeightsArgument(
  value: string,
  exists: (path: string) => boolean = existsSync,
): { path: string; key?: string } {
  const match = checkpointWithKey.exec(value);
  if (match === null || exists(value)) return { path: value };
  return { path: match[1]!, key: match[2]! };
}
export const seedFlag: FlagSpec = {
  name: 'seed',
  takesValue: true,
  description: 'seed for PyTorch-default initialization (default 0)',
};
export const opsetFlag: FlagSpec = {
  name: 'opset',
  takesValue: true,
  description: `ONNX opset ${supportedOpsets.min}-${supportedOpsets.max} (default ${defaultOpset})`,
};
export const externalWeightsFlag: FlagSpec = {
  name: 'external-weights',
  takesValue: false,
  description: 'keep the weights in NAME.weights.bin beside the model (automatic past 2 GiB)',
};
export const targetFlag: FlagSpec = {
  name: 'target',
  takesValue: true,
  description: 'generic (default) or webgpu: every node on the WebGPU execution provider',
};

export const quantizeFlag: FlagSpec = {
  name: 'quantize',
  takesValue: true,
  description: 'int8 (ONNX Runtime CPU int8 kernels) or int8-weights (int8 weights for onnxruntime-web)',
};
export const precisionFlag: FlagSpec = {
  name: 'precision',
  takesValue: true,
  description: 'fp32 (default) or fp16: float16 weights, float32 compute',
};

/** `--quantize` and `--precision`: each a value from its list, or a SEQ201. */
function precisionFlags(args: ParsedArgs): {
  quantize?: 'int8' | 'int8-weights';
  precision?: 'fp32' | 'fp16';
  diagnostics: Diagnostic[];
} {
  const diagnostics: Diagnostic[] = [];
  const choice = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const raw = args.flags.get(name)?.[0];
    if (raw === undefined) return undefined;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    diagnostics.push(
      error(
        'SEQ201',
        spanOfWhole(`--${name}`),
        `\`--${name}\` must be ${allowed.join(' or ')}, found \`${raw}\``,
        undefined,
        { flag: `--${name}`, value: raw, expected: [...allowed] },
      ),
    );
    return undefined;
  };
  const quantize = choice('quantize', ['int8', 'int8-weights'] as const);
  const precision = choice('precision', ['fp32', 'fp16'] as const);
  return {
    ...(quantize === undefined ? {} : { quantize }),
    ...(precision === undefined ? {} : { precision }),
    diagnostics,
  };
}

export function report(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, string>, io: Io): void {
  if (io.json !== undefined) io.json.diagnostics.push(...diagnostics);
  else if (diagnostics.length > 0) io.err(renderDiagnostics(diagnostics, sources, { color: io.color }));
}

export function usage(io: Io, message: string, command: string): number {
  report([error('SEQ200', spanOfWhole('<command line>'), message, `see \`seqc ${command} --help\``)], new Map(), io);
  return ExitCode.usage;
}

/** Reads a text file within its kind's size limit (default: a JSON file's, 64 MiB); see src/cli/files.ts. */
export function readText(path: string, kind: ReadKind = 'json'): { text?: string; diagnostics: Diagnostic[] } {
  return readTextBounded(path, kind);
}

/** Reads a binary file within its kind's size limit (default: a model's, 2 GiB); see src/cli/files.ts. */
export function readBytes(path: string, kind: ReadKind = 'model'): { bytes?: Uint8Array; diagnostics: Diagnostic[] } {
  return readFileBounded(path, kind);
}

export {
  fileError,
  writeFileAtomically,
  writeFilesAtomically,
  type FileToWrite,
  type ReadKind,
  type WriteOptions,
} from './files.js';

/** Reads the spec and the optional weights, then compiles; returns what was read for rendering. */
export function compileFromArgs(
  specPath: string,
  args: ParsedArgs,
  extra: Pick<CompileOptions, 'bundleStem' | 'onProgress'> = {},
): {
  result?: CompileResult;
  sources: Map<string, string>;
  diagnostics: Diagnostic[];
  usageProblem: boolean;
  inputs: string[];
} {
  const sources = new Map<string, string>();
  const weightsArgument = args.flags.get('weights')?.[0];
  const weightsSplit = weightsArgument === undefined ? undefined : splitWeightsArgument(weightsArgument);
  const weightsPath = weightsSplit?.path;
  /** The files read, which no output may replace. */
  const inputs = [specPath, ...(weightsPath === undefined ? [] : [weightsPath])];
  const seed = integerFlag(args, 'seed', { min: 0, max: 2 ** 32 - 1 });
  const opset = integerFlag(args, 'opset', supportedOpsets);
  const stored = precisionFlags(args);
  const flagProblems = [...seed.diagnostics, ...opset.diagnostics, ...stored.diagnostics];
  const target = args.flags.get('target')?.[0];
  if (target !== undefined && target !== 'generic' && target !== 'webgpu') {
    flagProblems.push(
      error(
        'SEQ201',
        spanOfWhole('--target'),
        `\`--target\` must be generic or webgpu, found \`${target}\``,
        undefined,
        { flag: '--target', value: target, expected: ['generic', 'webgpu'] },
      ),
    );
  }
  if (flagProblems.length > 0) return { sources, diagnostics: flagProblems, usageProblem: true, inputs };
  const spec = readText(specPath, 'spec');
  if (spec.text === undefined) return { sources, diagnostics: spec.diagnostics, usageProblem: false, inputs };
  sources.set(specPath, spec.text);
  const options: { -readonly [K in keyof CompileOptions]: CompileOptions[K] } = { sourceName: specPath, ...extra };
  if (args.flags.has('external-weights')) options.externalWeights = 'always';
  if (seed.value !== undefined) options.seed = seed.value;
  if (opset.value !== undefined) options.opset = opset.value;
  if (target === 'webgpu') options.target = 'webgpu';
  if (stored.quantize !== undefined) options.quantize = stored.quantize;
  if (stored.precision !== undefined) options.precision = stored.precision;
  if (weightsPath !== undefined) {
    const weights = readBytes(weightsPath, 'weights');
    if (weights.bytes === undefined) return { sources, diagnostics: weights.diagnostics, usageProblem: false, inputs };
    const key = weightsSplit?.key;
    options.weights = { bytes: weights.bytes, name: weightsPath, ...(key === undefined ? {} : { key }) };
  }
  const result = compile(spec.text, options);
  return { result, sources, diagnostics: [...result.diagnostics], usageProblem: false, inputs };
}

export function onePositional(args: ParsedArgs, io: Io, command: string, what: string): string | undefined {
  if (args.positionals.length !== 1) {
    usage(
      io,
      args.positionals.length === 0
        ? `\`seqc ${command}\` needs ${what}`
        : `\`seqc ${command}\` takes one ${what.replace(/^an? /, '')}, found ${args.positionals.length} arguments`,
      command,
    );
    return undefined;
  }
  return args.positionals[0];
}

export function compactJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean'))
      return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + compactJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const inner = indent + '  ';
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}
