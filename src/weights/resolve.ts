// The weights stage: seeded PyTorch-default initialization, or a loaded state_dict matched by name and shape.

import { error, spanOfWhole, warning, type Diagnostic, type Span } from '../diagnostics/diagnostic.js';
import type { IrParameter } from '../ir/ir.js';
import { rngFor } from '../contracts/random.js';
import { looksLikePtCheckpoint, readPtCheckpoint } from './pt.js';
import { fillNormal, fillUniform } from './random.js';
import { readSafetensors } from './safetensors.js';
import type { WeightMap, WeightTensor } from './types.js';

/** A weights file in memory: its bytes, its name for messages, and for a PyTorch checkpoint the dict key to read. */
export interface WeightsFile {
  readonly bytes: Uint8Array;
  readonly name: string;
  readonly key?: string;
}

/** Names that mark a PyTorch checkpoint even when its bytes are too damaged to tell. */
const checkpointName = /\.(pt|pth|bin|ckpt|tar)$/i;

/**
 * Reads a weights file by what its bytes are: a PyTorch checkpoint (a zip archive, or a legacy
 * pickle, which is refused with advice) or safetensors (a header size, then `{`). Other bytes
 * under a name ending in `.pt`, `.pth`, `.bin`, `.ckpt` or `.tar` are read as a checkpoint, so that
 * their problems are worded for one. `key` picks an entry of a checkpoint's dict; safetensors has none, so a key is refused.
 */
export function readWeightsFile(file: WeightsFile): { tensors?: Map<string, WeightTensor>; diagnostics: Diagnostic[] } {
  const safetensorsStart = file.bytes.length > 8 && file.bytes[8] === 0x7b;
  if (looksLikePtCheckpoint(file.bytes) || (checkpointName.test(file.name) && !safetensorsStart)) {
    return readPtCheckpoint(file.bytes, file.name, file.key);
  }
  if (file.key !== undefined) {
    return {
      diagnostics: [
        error(
          'SEQ213',
          spanOfWhole(file.name),
          `\`:${file.key}\` picks an entry of a PyTorch checkpoint, but ${file.name} is not one`,
          'a safetensors file is one flat map of tensors; give its path alone',
          { names: [file.key] },
        ),
      ],
    };
  }
  return readSafetensors(file.bytes, file.name);
}

/** Fresh parameters: each tensor depends only on (seed, its name), so adding a layer changes no other. */
export function initializeWeights(parameters: readonly IrParameter[], seed: number): WeightMap {
  const weights = new Map<string, WeightTensor>();
  for (const p of parameters) {
    const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    const rng = rngFor(seed, p.name);
    switch (p.init.kind) {
      case 'normal': {
        fillNormal(rng, data, 0, p.init.std);
        const zeroRow = p.init.zeroRow;
        if (zeroRow !== undefined) data.fill(0, zeroRow * p.shape[1]!, (zeroRow + 1) * p.shape[1]!);
        break;
      }
      case 'uniform':
        fillUniform(rng, data, -p.init.bound, p.init.bound);
        break;
      case 'ones':
        data.fill(1);
        break;
      case 'zeros':
        break;
    }
    weights.set(p.name, { shape: p.shape, data });
  }
  return weights;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Matches loaded tensors against the model's parameters. Every missing, unexpected and mis-shaped
 * tensor is listed in one diagnostic, each name with its expected and actual shape.
 */
export function matchWeights(
  parameters: readonly IrParameter[],
  loaded: ReadonlyMap<string, WeightTensor>,
  source: string,
  modelSpan: Span,
): { weights?: WeightMap; diagnostics: Diagnostic[] } {
  const lines: string[] = [];
  const missing: string[] = [];
  const unexpected: string[] = [];
  const misshaped: { name: string; expected: readonly number[]; found: readonly number[] }[] = [];
  const expected = new Map(parameters.map((p) => [p.name, p]));
  for (const p of parameters) {
    const t = loaded.get(p.name);
    if (t === undefined) {
      lines.push(`missing     ${p.name}: expected ${shapeText(p.shape)}`);
      missing.push(p.name);
    } else if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      lines.push(`mis-shaped  ${p.name}: expected ${shapeText(p.shape)}, found ${shapeText(t.shape)}`);
      misshaped.push({ name: p.name, expected: [...p.shape], found: [...t.shape] });
    }
  }
  for (const [name, t] of loaded) {
    if (!expected.has(name)) {
      lines.push(`unexpected  ${name}: ${shapeText(t.shape)}, which the model does not have`);
      unexpected.push(name);
    }
  }
  if (lines.length === 0) {
    const weights = new Map(parameters.map((p) => [p.name, loaded.get(p.name)!]));
    return { weights, diagnostics: nonFiniteWeights(weights, source) };
  }
  const prefixes = [...new Set([...loaded.keys()].map((n) => n.split('.')[0]))];
  const labels = [...new Set(parameters.map((p) => p.owner))];
  const renamed = prefixes.filter((p) => !labels.includes(p!));
  const hint =
    renamed.length > 0 && [...loaded.keys()].every((n) => !expected.has(n))
      ? `the file's names start with ${renamed.map((p) => `\`${p}.\``).join(', ')} but the spec's labels are ${labels.map((l) => `\`${l}\``).join(', ')}: labels name parameters, so rename the layers in the spec to match`
      : 'the spec must describe the same layers and sizes as the model that was trained; compare with `seqc summary`';
  return {
    diagnostics: [
      {
        ...error(
          'SEQ102',
          modelSpan,
          `the weights in ${source} do not match the model's parameters:\n  ${lines.join('\n  ')}`,
          hint,
          { names: [source], missing, unexpected, misshaped },
        ),
        related: [{ span: spanOfWhole(source), message: 'the weights file' }],
      },
    ],
  };
}

/**
 * A warning for each tensor that holds NaN or an infinity, naming the first such element by its
 * index. Such weights compile, but every output they reach is NaN or infinite; they usually come
 * from a training run that diverged.
 */
export function nonFiniteWeights(weights: WeightMap, source: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const [name, tensor] of weights) {
    let first = -1;
    let count = 0;
    for (let i = 0; i < tensor.data.length; i++) {
      if (Number.isFinite(tensor.data[i]!)) continue;
      if (first < 0) first = i;
      count++;
    }
    if (first < 0) continue;
    const value = tensor.data[first]!;
    const others = count === 1 ? '' : ` (and ${count - 1} more of its ${tensor.data.length} values are not finite)`;
    diagnostics.push(
      warning(
        'SEQ103',
        spanOfWhole(source),
        `tensor \`${name}\` holds ${Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'} at ${shapeIndex(first, tensor.shape)}${others}`,
        'every output this tensor reaches will be NaN or infinite; such weights usually come from a training run that diverged, so check the checkpoint',
      ),
    );
  }
  return diagnostics;
}

/** A flat row-major index as `index [i, j, …]` of `shape`. */
function shapeIndex(flat: number, shape: readonly number[]): string {
  if (shape.length === 0) return 'its one value';
  const index: number[] = [];
  let rest = flat;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const size = shape[axis]!;
    index.unshift(size === 0 ? 0 : rest % size);
    rest = size === 0 ? 0 : Math.floor(rest / size);
  }
  return `index [${index.join(', ')}]`;
}
