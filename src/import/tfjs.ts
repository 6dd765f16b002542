// TensorFlow.js Layers files: model.json (the Keras config and the weights manifest) and its binary weight shards, read into a KerasModel.

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { KerasModel, KerasTensor } from './keras.js';

/** One weight as the manifest lists it. */
export interface TfjsWeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Bytes per element and how to read one: float32, int32, or a quantized form. */
  readonly encoding: WeightEncoding;
}

type WeightEncoding =
  | { readonly kind: 'float32' }
  | { readonly kind: 'int32' }
  | { readonly kind: 'float16' }
  | { readonly kind: 'affine'; readonly bytes: 1 | 2; readonly scale: number; readonly min: number };

/** A group of weights stored back to back across its shard files, in order. */
export interface TfjsWeightGroup {
  readonly paths: readonly string[];
  readonly weights: readonly TfjsWeightSpec[];
}

/** A parsed model.json. */
export interface TfjsModelFile {
  readonly topology: unknown;
  readonly kerasVersion?: string;
  readonly groups: readonly TfjsWeightGroup[];
}

/** Bounds on what a model.json may ask for, so a malformed file fails fast instead of allocating. */
export const tfjsLimits = {
  /** Weights in the manifest. */
  weights: 100_000,
  /** Axes of one weight. */
  rank: 8,
  /** Elements of all weights together (4 GiB of float32). */
  elements: 2 ** 30,
} as const;

/** Reads model.json's text: the Keras config, the Keras version and the weights manifest. */
export function parseTfjsModel(text: string, source: string): { model?: TfjsModelFile; diagnostics: Diagnostic[] } {
  const fail = (message: string, hint: string, found?: string) => ({
    diagnostics: [
      error('SEQ600', spanOfWhole(source), message, hint, {
        names: [source],
        ...(found === undefined ? {} : { found }),
      }),
    ],
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(
      `${source} is not JSON: ${(e as Error).message}`,
      'give the model.json that TensorFlow.js Layers wrote',
      (e as Error).message,
    );
  }
  if (!isRecord(json) || !isRecord(json['modelTopology']))
    return fail(
      `${source} is not a TensorFlow.js Layers model: it has no \`modelTopology\` object`,
      json !== null && typeof json === 'object' && 'modelTopology' in json
        ? '`modelTopology` must be the Keras model config'
        : 'a graph model (tfjs-converter `format: graph-model`) is not a Keras model; give a Layers model.json',
    );
  const topology = json['modelTopology'];
  const version =
    typeof topology['keras_version'] === 'string'
      ? topology['keras_version']
      : typeof json['generatedBy'] === 'string'
        ? json['generatedBy']
        : undefined;
  const manifest = json['weightsManifest'] ?? [];
  if (!Array.isArray(manifest))
    return fail(`${source}: \`weightsManifest\` is not a list`, 'it lists `{ paths, weights }` groups');
  const groups: TfjsWeightGroup[] = [];
  let count = 0;
  for (const [g, group] of manifest.entries()) {
    if (!isRecord(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights']))
      return fail(
        `${source}: weightsManifest[${g}] is not \`{ paths, weights }\``,
        'each group lists its shard files and weights',
      );
    const paths: string[] = [];
    for (const path of group['paths']) {
      if (typeof path !== 'string' || !safeShardPath(path))
        return fail(
          `${source}: weightsManifest[${g}] names the shard ${JSON.stringify(path)}, which is not a file beside the model`,
          'shard paths are relative to the folder of model.json, without `..`',
          String(path),
        );
      paths.push(path);
    }
    const weights: TfjsWeightSpec[] = [];
    for (const [w, spec] of group['weights'].entries()) {
      count++;
      if (count > tfjsLimits.weights)
        return fail(
          `${source} lists more than ${tfjsLimits.weights} weights`,
          'no Sequential model seqc imports has that many',
        );
      const parsed = weightSpec(spec);
      if (typeof parsed === 'string')
        return fail(
          `${source}: weightsManifest[${g}].weights[${w}] ${parsed}`,
          'each weight is `{ name, shape, dtype }`',
        );
      weights.push(parsed);
    }
    groups.push({ paths, weights });
  }
  return {
    model: { topology, ...(version === undefined ? {} : { kerasVersion: version }), groups },
    diagnostics: [],
  };
}

/** Every shard file the manifest names, in order. */
export function shardPaths(model: TfjsModelFile): string[] {
  return model.groups.flatMap((g) => g.paths);
}

/**
 * Decodes the weights from their shards (by manifest path): each group's shards are concatenated
 * and must hold exactly its weights' bytes.
 */
export function decodeTfjsWeights(
  model: TfjsModelFile,
  shards: ReadonlyMap<string, Uint8Array>,
  source: string,
): { model?: KerasModel; diagnostics: Diagnostic[] } {
  const weights = new Map<string, KerasTensor>();
  let elements = 0;
  for (const group of model.groups) {
    const parts = group.paths.map((p) => shards.get(p) ?? new Uint8Array());
    const total = parts.reduce((n, p) => n + p.length, 0);
    let expected = 0;
    for (const w of group.weights) {
      const size = w.shape.reduce((n, d) => n * d, 1);
      elements += size;
      if (elements > tfjsLimits.elements)
        return weightsProblem(source, `the weights hold more than ${tfjsLimits.elements} elements`, w.name);
      expected += size * bytesPer(w.encoding);
    }
    if (expected !== total)
      return weightsProblem(
        source,
        `the shards ${group.paths.join(', ')} hold ${total} bytes, but their weights (${group.weights.map((w) => w.name).join(', ')}) need ${expected}`,
        group.paths.join(', '),
        { found: total, expected },
      );
    const bytes = concat(parts, total);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    for (const w of group.weights) {
      const size = w.shape.reduce((n, d) => n * d, 1);
      if (weights.has(w.name)) return weightsProblem(source, `the weight ${w.name} is listed twice`, w.name);
      const data = new Float32Array(size);
      for (let i = 0; i < size; i++) data[i] = readElement(view, offset + i * bytesPer(w.encoding), w.encoding);
      for (const v of data) {
        if (!Number.isFinite(v))
          return weightsProblem(source, `the weight ${w.name} holds NaN or infinite values`, w.name);
      }
      offset += size * bytesPer(w.encoding);
      weights.set(w.name, { shape: w.shape, data });
    }
  }
  return {
    model: {
      format: 'tfjs-layers',
      topology: model.topology,
      ...(model.kerasVersion === undefined ? {} : { kerasVersion: model.kerasVersion }),
      weights,
    },
    diagnostics: [],
  };
}

function weightsProblem(
  source: string,
  message: string,
  name: string,
  counts: { found?: number; expected?: number } = {},
): { diagnostics: Diagnostic[] } {
  return {
    diagnostics: [
      error(
        'SEQ601',
        spanOfWhole(source),
        message,
        'save the model again, and keep its shard files beside model.json',
        {
          names: [name],
          ...counts,
        },
      ),
    ],
  };
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A shard path stays inside the model's folder: relative, no `..`, no empty parts. */
function safeShardPath(path: string): boolean {
  if (path === '' || path.length > 1024 || path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('\\'))
    return false;
  return path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** A manifest entry, or what is wrong with it. */
function weightSpec(spec: unknown): TfjsWeightSpec | string {
  if (!isRecord(spec) || typeof spec['name'] !== 'string') return 'has no name';
  const name = spec['name'];
  const shape = spec['shape'];
  if (
    !Array.isArray(shape) ||
    shape.length > tfjsLimits.rank ||
    !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0 && d <= tfjsLimits.elements)
  )
    return `(${name}) has the shape ${JSON.stringify(shape)}, not a list of at most ${tfjsLimits.rank} sizes`;
  const q = spec['quantization'];
  if (isRecord(q)) {
    if (spec['dtype'] !== 'float32') return `(${name}) is quantized from ${String(spec['dtype'])}, not float32`;
    if (q['dtype'] === 'float16') return { name, shape, encoding: { kind: 'float16' } };
    const [scale, min] = [q['scale'], q['min']];
    if ((q['dtype'] === 'uint8' || q['dtype'] === 'uint16') && typeof scale === 'number' && typeof min === 'number')
      return { name, shape, encoding: { kind: 'affine', bytes: q['dtype'] === 'uint8' ? 1 : 2, scale, min } };
    return `(${name}) has a quantization seqc cannot read: ${JSON.stringify(q)}`;
  }
  if (spec['dtype'] === 'float32') return { name, shape, encoding: { kind: 'float32' } };
  if (spec['dtype'] === 'int32') return { name, shape, encoding: { kind: 'int32' } };
  return `(${name}) has the dtype ${JSON.stringify(spec['dtype'])}; seqc reads float32, int32 and quantized float32`;
}

function bytesPer(e: WeightEncoding): number {
  switch (e.kind) {
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
      return 2;
    case 'affine':
      return e.bytes;
  }
}

function readElement(view: DataView, offset: number, e: WeightEncoding): number {
  switch (e.kind) {
    case 'float32':
      return view.getFloat32(offset, true);
    case 'int32':
      return view.getInt32(offset, true);
    case 'float16':
      return halfToNumber(view.getUint16(offset, true));
    case 'affine':
      return (e.bytes === 1 ? view.getUint8(offset) : view.getUint16(offset, true)) * e.scale + e.min;
  }
}

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
