// Runtime inputs: turn nested arrays into typed tensors and validate them against a model's signature.

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { ModelSignature } from '../lower/lower.js';

export interface TensorData {
  readonly dtype: 'int64' | 'float32';
  readonly dims: readonly number[];
  readonly data: BigInt64Array | Float32Array;
}

type SignatureInput = ModelSignature['inputs'][number];

/** Flattens a rectangular nested array of numbers; returns a message when it is not one. */
export function flattenNested(value: unknown): { dims: number[]; values: number[] } | { problem: string } {
  const dims: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    dims.push(probe.length);
    probe = probe[0];
  }
  const values: number[] = [];
  const walk = (v: unknown, depth: number, path: string): string | undefined => {
    if (depth === dims.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${path} is ${JSON.stringify(v)}, not a finite number`;
      values.push(v);
      return undefined;
    }
    if (!Array.isArray(v) || v.length !== dims[depth]) return `${path} should be a list of ${dims[depth]} items (rows must all have the same length)`;
    for (let i = 0; i < v.length; i++) {
      const p = walk(v[i], depth + 1, `${path}[${i}]`);
      if (p !== undefined) return p;
    }
    return undefined;
  };
  const problem = walk(value, 0, 'the value');
  return problem === undefined ? { dims, values } : { problem };
}

export function tensorFromNested(name: string, value: unknown, dtype: 'int64' | 'float32'): { tensor?: TensorData; diagnostics: Diagnostic[] } {
  const span = spanOfWhole(`input \`${name}\``);
  const flat = flattenNested(value);
  if ('problem' in flat) {
    return { diagnostics: [error('SEQ300', span, `\`${name}\` is not a rectangular array of numbers: ${flat.problem}`, 'pass nested JSON lists, e.g. [[1, 2, 3], [4, 5, 0]]')] };
  }
  if (dtype === 'int64') {
    const bad = flat.values.findIndex((v) => !Number.isInteger(v));
    if (bad >= 0) {
      return { diagnostics: [error('SEQ301', span, `\`${name}\` holds int64 values, but item ${bad} is ${flat.values[bad]}`, 'token ids and lengths are whole numbers')] };
    }
    return { tensor: { dtype, dims: flat.dims, data: BigInt64Array.from(flat.values.map((v) => BigInt(v))) }, diagnostics: [] };
  }
  return { tensor: { dtype, dims: flat.dims, data: Float32Array.from(flat.values) }, diagnostics: [] };
}

/** Nested lists of numbers, such as `[[5, 17, 2], [8, 9, 0]]`. */
export type NestedNumbers = readonly (number | NestedNumbers)[];

/** Flat values in row-major order with their dims, as ONNX Runtime tensors hold them. */
export interface FlatInput {
  readonly data: BigInt64Array | Float32Array | Int32Array | Float64Array | readonly number[] | readonly bigint[];
  readonly dims: readonly number[];
}

/** One input's value: nested lists, or flat data with dims. */
export type InputValue = NestedNumbers | FlatInput;

/**
 * Turns one input's value into a tensor. `BigInt64Array` data stays int64 and `Float32Array` data
 * stays float32 (the signature check then catches a wrong dtype); other data is converted to
 * `dtype`, the dtype the model declares for the input.
 */
export function tensorFromValue(name: string, value: InputValue, dtype: 'int64' | 'float32'): { tensor?: TensorData; diagnostics: Diagnostic[] } {
  if (Array.isArray(value) || typeof value !== 'object' || value === null || !('dims' in value)) return tensorFromNested(name, value, dtype);
  const span = spanOfWhole(`input \`${name}\``);
  const { data, dims } = value as FlatInput;
  if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
    return { diagnostics: [error('SEQ300', span, `the dims of \`${name}\` should be a list of whole numbers, found ${JSON.stringify(dims)}`)] };
  }
  const size = dims.reduce((a, b) => a * b, 1);
  if (data === undefined || typeof data.length !== 'number' || data.length !== size) {
    return { diagnostics: [error('SEQ300', span, `\`${name}\` has dims [${dims.join(', ')}], which hold ${size} values, but its data has ${data?.length ?? 'no'} values`)] };
  }
  if (data instanceof BigInt64Array) return { tensor: { dtype: 'int64', dims: [...dims], data }, diagnostics: [] };
  if (data instanceof Float32Array) return { tensor: { dtype: 'float32', dims: [...dims], data }, diagnostics: [] };
  const values = Array.from(data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));
  const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v) || (dtype === 'int64' && !Number.isInteger(v)));
  if (bad >= 0) {
    const wanted = dtype === 'int64' ? 'whole numbers' : 'finite numbers';
    return { diagnostics: [error('SEQ301', span, `\`${name}\` holds ${dtype} values, but ${indexText(name, dims, bad)} is ${String(values[bad])}`, `pass ${wanted}`)] };
  }
  const tensorData = dtype === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v)) : Float32Array.from(values);
  return { tensor: { dtype, dims: [...dims], data: tensorData }, diagnostics: [] };
}

/** The multi-index of a flat position, for messages such as `tokens[1][4]`. */
function indexText(name: string, dims: readonly number[], flat: number): string {
  const parts: number[] = [];
  for (let i = dims.length - 1; i >= 0; i--) {
    parts.unshift(flat % dims[i]!);
    flat = Math.floor(flat / dims[i]!);
  }
  return `${name}${parts.map((p) => `[${p}]`).join('')}`;
}

/**
 * Checks every input against the signature (names, dtype, rank, fixed and symbolic dims, token
 * ids inside [0, vocab), lengths inside [1, time]) and fills the optional ones: a missing
 * `lengths(x)` input means every row is full length, a missing state input means zeros.
 */
export function validateInputs(signature: ModelSignature, provided: ReadonlyMap<string, TensorData>): { feeds?: Map<string, TensorData>; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const names = signature.inputs.map((i) => i.name);
  for (const name of provided.keys()) {
    if (!names.includes(name)) {
      diagnostics.push(error('SEQ300', spanOfWhole(`input \`${name}\``), `the model has no input \`${name}\``, `its inputs are ${names.map((n) => `\`${n}\``).join(', ')}`));
    }
  }
  const symbols = new Map<string, { size: number; from: string }>();
  const feeds = new Map<string, TensorData>();
  const bindDims = (input: SignatureInput, t: TensorData): boolean => {
    const span = spanOfWhole(`input \`${input.name}\``);
    if (t.dims.length !== input.dims.length) {
      diagnostics.push(error('SEQ301', span, `\`${input.name}\` must have ${input.dims.length} axes [${input.dims.join(', ')}], found ${t.dims.length} ([${t.dims.join(', ')}])`));
      return false;
    }
    for (let axis = 0; axis < t.dims.length; axis++) {
      const want = input.dims[axis]!;
      const got = t.dims[axis]!;
      if (typeof want === 'number') {
        if (want !== got) {
          diagnostics.push(error('SEQ301', span, `axis ${axis} of \`${input.name}\` must be ${want}, found ${got}`));
          return false;
        }
        continue;
      }
      const seen = symbols.get(want);
      if (seen === undefined) symbols.set(want, { size: got, from: input.name });
      else if (seen.size !== got) {
        diagnostics.push(error('SEQ301', span, `\`${want}\` is ${seen.size} in \`${seen.from}\` but ${got} in \`${input.name}\``, `every input must agree on \`${want}\``));
        return false;
      }
      if (got === 0) {
        diagnostics.push(error('SEQ301', span, `axis ${axis} (\`${want}\`) of \`${input.name}\` is empty`, 'a batch needs at least one row and one step'));
        return false;
      }
    }
    return true;
  };
  const ordered = [...signature.inputs.filter((i) => i.role === 'data'), ...signature.inputs.filter((i) => i.role !== 'data')];
  for (const input of ordered) {
    const t = provided.get(input.name);
    const span = spanOfWhole(`input \`${input.name}\``);
    if (t === undefined) {
      const filled = defaultFor(input, signature, feeds);
      if (filled === undefined) {
        // A lengths or state input is filled from the data inputs; when one of those was given but rejected, that rejection says it all.
        if (dependsOnProvided(input, signature, provided)) continue;
        diagnostics.push(error('SEQ300', span, `the input \`${input.name}\` is missing`, `pass it, e.g. --input ${input.name}=[[1, 2, 3]]`));
      } else {
        feeds.set(input.name, filled);
      }
      continue;
    }
    if (t.dtype !== input.dtype) {
      diagnostics.push(error('SEQ301', span, `\`${input.name}\` must be ${input.dtype}, found ${t.dtype}`));
      continue;
    }
    if (!bindDims(input, t)) continue;
    if (input.vocab !== undefined) {
      const vocab = BigInt(input.vocab);
      const problems = outOfRange(input.name, t, (v) => v < 0n || v >= vocab, (at, v) => `${at} is ${v}, outside the vocabulary [0, ${input.vocab})`);
      if (problems.length > 0) {
        diagnostics.push(...problems.map((message) => error('SEQ301', span, message, 'map unknown tokens to an id inside the vocabulary before running')));
        continue;
      }
    }
    if (input.role === 'lengths') {
      const time = input.of === undefined ? undefined : feeds.get(input.of)?.dims[1];
      const problems = outOfRange(input.name, t, (v) => v < 1n || (time !== undefined && v > BigInt(time)), (at, v) => `${at} is ${v}, outside [1, ${time ?? 'time'}]`);
      if (problems.length > 0) {
        diagnostics.push(...problems.map((message) => error('SEQ301', span, message, `each length counts the valid steps of a row of \`${input.of}\``)));
        continue;
      }
    }
    feeds.set(input.name, t);
  }
  return diagnostics.length > 0 ? { diagnostics } : { feeds, diagnostics };
}

function defaultFor(input: SignatureInput, signature: ModelSignature, feeds: ReadonlyMap<string, TensorData>): TensorData | undefined {
  if (input.role === 'lengths') {
    const target = feeds.get(input.of!);
    if (target === undefined) return undefined;
    const [batch, time] = target.dims as [number, number];
    return { dtype: 'int64', dims: [batch], data: new BigInt64Array(batch).fill(BigInt(time)) };
  }
  if (input.role === 'state') {
    const batchSymbol = input.dims[1];
    const data = signature.inputs.find((i) => i.role === 'data' && i.dims[0] === batchSymbol);
    const batch = typeof batchSymbol === 'number' ? batchSymbol : data === undefined ? undefined : feeds.get(data.name)?.dims[0];
    if (batch === undefined) return undefined;
    const dims = [input.dims[0] as number, batch, input.dims[2] as number];
    return { dtype: 'float32', dims, data: new Float32Array(dims[0]! * dims[1]! * dims[2]!) };
  }
  return undefined;
}

/** Whether an optional input could not be filled only because a data input it depends on was given but rejected. */
function dependsOnProvided(input: SignatureInput, signature: ModelSignature, provided: ReadonlyMap<string, TensorData>): boolean {
  if (input.role === 'lengths') return provided.has(input.of!);
  if (input.role === 'state') return signature.inputs.some((i) => i.role === 'data' && provided.has(i.name));
  return false;
}

/** The most out-of-range values reported one by one for an input; the rest are counted. */
const reportedPerInput = 8;

/**
 * One message per int64 value that `bad` rejects, each naming the value's position (such as
 * `tokens[1][4]`): the first few in full, then a count of the rest.
 */
function outOfRange(name: string, t: TensorData, bad: (v: bigint) => boolean, describe: (at: string, v: bigint) => string): string[] {
  const values = t.data as BigInt64Array;
  const messages: string[] = [];
  let more = 0;
  values.forEach((v, flat) => {
    if (!bad(v)) return;
    if (messages.length < reportedPerInput) messages.push(describe(indexText(name, t.dims, flat), v));
    else more++;
  });
  if (more > 0) messages.push(`\`${name}\` has ${more} more value${more === 1 ? '' : 's'} out of range`);
  return messages;
}
