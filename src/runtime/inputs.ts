// Runtime inputs: turn nested arrays into typed tensors and validate them against a model's signature.

import { error, spanOfWhole, type Diagnostic, type Facts, type Span } from '../diagnostics/diagnostic.js';
import type { ModelSignature } from '../contracts/signature.js';

export interface TensorData {
  readonly dtype: 'int64' | 'float32';
  readonly dims: readonly number[];
  readonly data: BigInt64Array | Float32Array;
}

type SignatureInput = ModelSignature['inputs'][number];

/** The most axes a nested input may have; seqc inputs have at most 3. */
export const maxInputAxes = 32;

/** What a JSON value is, for messages that must not echo it (it may come from a file): `null`, `a string`, `an object`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number')
    return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : '-Infinity';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return 'a bigint';
  return `${typeof value === 'object' ? 'an object' : `a ${typeof value}`}`;
}

/**
 * Flattens a rectangular nested array of numbers; returns a message when it is not one. It walks
 * with an explicit stack, so a value nested 100,000 deep gets a message instead of a stack overflow.
 */
export function flattenNested(
  value: unknown,
  name = 'the value',
): { dims: number[]; values: number[] } | { problem: string } {
  const dims: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    if (dims.length === maxInputAxes) return { problem: `${name} is nested more than ${maxInputAxes} lists deep` };
    dims.push(probe.length);
    probe = probe[0];
  }
  const values: number[] = [];
  // Each frame: a list at some depth and the index of the next item to visit.
  const stack: { list: readonly unknown[]; next: number }[] = [];
  const path: number[] = [];
  const at = (): string => `${name}${path.map((p) => `[${p}]`).join('')}`;
  const visit = (v: unknown): string | undefined => {
    const depth = stack.length;
    if (depth === dims.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${at()} is ${describeValue(v)}, not a finite number`;
      values.push(v);
      return undefined;
    }
    if (!Array.isArray(v) || v.length !== dims[depth]) {
      return `${at()} should be a list of ${dims[depth]} items (rows must all have the same length), found ${Array.isArray(v) ? `${v.length} items` : describeValue(v)}`;
    }
    stack.push({ list: v, next: 0 });
    return undefined;
  };
  const first = visit(value);
  if (first !== undefined) return { problem: first };
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next === top.list.length) {
      stack.pop();
      path.pop();
      continue;
    }
    if (path.length < stack.length) path.push(top.next);
    else path[path.length - 1] = top.next;
    const item = top.list[top.next];
    top.next++;
    const problem = visit(item);
    if (problem !== undefined) return { problem };
  }
  return { dims, values };
}

export function tensorFromNested(
  name: string,
  value: unknown,
  dtype: 'int64' | 'float32',
): { tensor?: TensorData; diagnostics: Diagnostic[] } {
  const span = spanOfWhole(`input \`${name}\``);
  const flat = flattenNested(value, name);
  if ('problem' in flat) {
    return {
      diagnostics: [
        error(
          'SEQ300',
          span,
          `\`${name}\` is not a rectangular array of numbers: ${flat.problem}`,
          'pass nested JSON lists, e.g. [[1, 2, 3], [4, 5, 0]]',
          { input: name, expected: 'a rectangular array of numbers' },
        ),
      ],
    };
  }
  return tensorFromNumbers(name, flat.dims, flat.values, dtype);
}

/** The largest magnitude a float32 holds; larger numbers would become Infinity. */
const float32Max = 3.4028234663852886e38;

/**
 * Packs numbers into a typed tensor after checking that each survives the conversion unchanged:
 * int64 values must be whole and inside ±(2^53 − 1) (beyond it a JavaScript number, and so JSON,
 * no longer holds every integer, and 2^64 would wrap to 0), float32 values inside float32's range.
 */
function tensorFromNumbers(
  name: string,
  dims: readonly number[],
  values: readonly unknown[],
  dtype: 'int64' | 'float32',
): { tensor?: TensorData; diagnostics: Diagnostic[] } {
  const span = spanOfWhole(`input \`${name}\``);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const at = `item ${i} (${indexText(name, dims, i)})`;
    if (typeof v === 'bigint') {
      if (dtype === 'int64' && v >= -maxExact && v <= maxExact) continue;
      if (dtype === 'int64') return { diagnostics: [tooLarge(span, name, at, String(v), dtype, positionOf(dims, i))] };
      return {
        diagnostics: [
          error('SEQ301', span, `\`${name}\` holds float32 values, but ${at} is a bigint`, 'pass numbers', {
            input: name,
            position: positionOf(dims, i),
            expected: 'float32',
            found: 'bigint',
          }),
        ],
      };
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      return {
        diagnostics: [
          error(
            'SEQ301',
            span,
            `\`${name}\` holds ${dtype} values, but ${at} is ${describeValue(v)}`,
            `pass ${dtype === 'int64' ? 'whole' : 'finite'} numbers`,
            { input: name, position: positionOf(dims, i), expected: dtype, found: describeValue(v) },
          ),
        ],
      };
    }
    if (dtype === 'int64') {
      if (!Number.isSafeInteger(v) && Math.abs(v) > Number(maxExact))
        return { diagnostics: [tooLarge(span, name, at, String(v), dtype, positionOf(dims, i))] };
      if (!Number.isInteger(v))
        return {
          diagnostics: [
            error(
              'SEQ301',
              span,
              `\`${name}\` holds int64 values, but item ${i} is ${v}`,
              `token ids and lengths are whole numbers (at ${indexText(name, dims, i)})`,
              { input: name, position: positionOf(dims, i), expected: 'int64', found: v },
            ),
          ],
        };
    } else if (Math.abs(v) > float32Max) {
      return { diagnostics: [tooLarge(span, name, at, String(v), dtype, positionOf(dims, i))] };
    }
  }
  if (dtype === 'int64')
    return {
      tensor: {
        dtype,
        dims: [...dims],
        data: BigInt64Array.from(values as readonly (number | bigint)[], (v) => BigInt(v)),
      },
      diagnostics: [],
    };
  return { tensor: { dtype, dims: [...dims], data: Float32Array.from(values as readonly number[]) }, diagnostics: [] };
}

const maxExact = BigInt(Number.MAX_SAFE_INTEGER);

function tooLarge(
  span: Span,
  name: string,
  at: string,
  shown: string,
  dtype: 'int64' | 'float32',
  position: readonly number[],
): Diagnostic {
  const range =
    dtype === 'int64' ? '±(2^53 − 1), the integers a JSON number holds exactly' : "float32's range (±3.4e38)";
  const hint =
    dtype === 'int64'
      ? 'token ids and lengths are small whole numbers; a larger one would be rounded or wrap around into a different id'
      : 'scale the features into float32 range';
  const read =
    dtype === 'int64' && !shown.startsWith('-') && shown.length > 16
      ? ' as read (JSON numbers this large are rounded)'
      : '';
  return error(
    'SEQ304',
    span,
    `\`${name}\` holds ${dtype} values, but ${at} is ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}${read}, outside ${range}`,
    hint,
    {
      input: name,
      position,
      value: shown,
      range: dtype === 'int64' ? [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] : [-float32Max, float32Max],
    },
  );
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
export function tensorFromValue(
  name: string,
  value: InputValue,
  dtype: 'int64' | 'float32',
): { tensor?: TensorData; diagnostics: Diagnostic[] } {
  if (Array.isArray(value) || typeof value !== 'object' || value === null || !('dims' in value))
    return tensorFromNested(name, value, dtype);
  const span = spanOfWhole(`input \`${name}\``);
  const { data, dims } = value as { data?: unknown; dims?: unknown };
  const shape = dimsOf(dims);
  if (shape === undefined) {
    return {
      diagnostics: [
        error(
          'SEQ300',
          span,
          `the dims of \`${name}\` should be a list of at most ${maxInputAxes} whole numbers, found ${describeValue(dims)}`,
          'e.g. { data: BigInt64Array.from([1n, 2n, 3n]), dims: [1, 3] }',
          { input: name, limit: maxInputAxes, expected: 'a list of whole numbers' },
        ),
      ],
    };
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const length = isArrayLike(data) ? data.length : undefined;
  if (length !== size) {
    return {
      diagnostics: [
        error(
          'SEQ300',
          span,
          `\`${name}\` has dims [${shape.join(', ')}], which hold ${size} values, but its data has ${length ?? 'no'} values`,
          'the data holds the values in row-major order, one per element of dims',
          { input: name, expected: size, ...(length === undefined ? {} : { found: length }) },
        ),
      ],
    };
  }
  if (data instanceof BigInt64Array) return { tensor: { dtype: 'int64', dims: shape, data }, diagnostics: [] };
  if (data instanceof Float32Array) {
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      return {
        diagnostics: [
          error(
            'SEQ301',
            span,
            `\`${name}\` holds float32 values, but item ${bad} (${indexText(name, shape, bad)}) is ${describeValue(data[bad])}`,
            'pass finite numbers',
            {
              input: name,
              position: positionOf(shape, bad),
              expected: 'a finite number',
              found: describeValue(data[bad]),
            },
          ),
        ],
      };
    return { tensor: { dtype: 'float32', dims: shape, data }, diagnostics: [] };
  }
  return tensorFromNumbers(name, shape, Array.from(data as ArrayLike<unknown>), dtype);
}

/** A tensor given as `TensorData`: checked like any other value, so that a wrong dtype or length is a diagnostic, not an exception. */
export function checkTensorData(name: string, value: unknown): { tensor?: TensorData; diagnostics: Diagnostic[] } {
  const span = spanOfWhole(`input \`${name}\``);
  if (typeof value !== 'object' || value === null || !('dims' in value) || !('data' in value)) {
    return {
      diagnostics: [
        error('SEQ300', span, `\`${name}\` is ${describeValue(value)}, not a tensor { dtype, dims, data }`, undefined, {
          input: name,
          expected: 'a tensor { dtype, dims, data }',
        }),
      ],
    };
  }
  const { dtype, data } = value as { dtype?: unknown; data?: unknown };
  const wanted = data instanceof BigInt64Array ? 'int64' : data instanceof Float32Array ? 'float32' : undefined;
  if (wanted === undefined || dtype !== wanted) {
    return {
      diagnostics: [
        error(
          'SEQ300',
          span,
          `\`${name}\` says its dtype is ${typeof dtype === 'string' ? dtype.slice(0, 20) : describeValue(dtype)}, but its data is ${data?.constructor?.name ?? describeValue(data)}`,
          'int64 tensors hold a BigInt64Array, float32 tensors a Float32Array',
        ),
      ],
    };
  }
  return tensorFromValue(name, value as FlatInput, wanted);
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    (Array.isArray(value) || ArrayBuffer.isView(value)) && typeof (value as { length?: unknown }).length === 'number'
  );
}

/** Dims as a list of safe whole numbers whose product is a safe integer too, or undefined. */
function dimsOf(dims: unknown): number[] | undefined {
  if (!Array.isArray(dims) || dims.length > maxInputAxes) return undefined;
  let size = 1;
  for (const d of dims as unknown[]) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return undefined;
    size *= d;
    if (size > 2 ** 32) return undefined;
  }
  return [...(dims as number[])];
}

/** The multi-index of a flat position, for messages such as `tokens[1][4]`. */
function indexText(name: string, dims: readonly number[], flat: number): string {
  return `${name}${positionOf(dims, flat)
    .map((p) => `[${p}]`)
    .join('')}`;
}

/** The multi-index of a flat position, one number per axis, for the facts of a diagnostic. */
function positionOf(dims: readonly number[], flat: number): number[] {
  const parts: number[] = [];
  for (let i = dims.length - 1; i >= 0; i--) {
    parts.unshift(flat % dims[i]!);
    flat = Math.floor(flat / dims[i]!);
  }
  return parts;
}

/**
 * Checks every input against the signature (names, dtype, rank, fixed and symbolic dims, token
 * ids inside [0, vocab), lengths inside [1, time]) and fills the optional ones: a missing
 * `lengths(x)` input means every row is full length, a missing state input means zeros.
 */
export function validateInputs(
  signature: ModelSignature,
  provided: ReadonlyMap<string, TensorData>,
): { feeds?: Map<string, TensorData>; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const names = signature.inputs.map((i) => i.name);
  for (const name of provided.keys()) {
    if (!names.includes(name)) {
      diagnostics.push(
        error(
          'SEQ300',
          spanOfWhole(`input \`${name}\``),
          `the model has no input \`${name}\``,
          `its inputs are ${names.map((n) => `\`${n}\``).join(', ')}`,
          { input: name, expected: names },
        ),
      );
    }
  }
  const symbols = new Map<string, { size: number; from: string }>();
  const feeds = new Map<string, TensorData>();
  const bindDims = (input: SignatureInput, t: TensorData): boolean => {
    const span = spanOfWhole(`input \`${input.name}\``);
    if (t.dims.length !== input.dims.length) {
      diagnostics.push(
        error(
          'SEQ301',
          span,
          `\`${input.name}\` must have ${input.dims.length} axes [${input.dims.join(', ')}], found ${t.dims.length} ([${t.dims.join(', ')}])`,
          undefined,
          { input: input.name, expected: input.dims.length, found: t.dims.length },
        ),
      );
      return false;
    }
    for (let axis = 0; axis < t.dims.length; axis++) {
      const want = input.dims[axis]!;
      const got = t.dims[axis]!;
      if (typeof want === 'number') {
        if (want !== got) {
          diagnostics.push(
            error('SEQ301', span, `axis ${axis} of \`${input.name}\` must be ${want}, found ${got}`, undefined, {
              input: input.name,
              position: [axis],
              expected: want,
              found: got,
            }),
          );
          return false;
        }
        continue;
      }
      const seen = symbols.get(want);
      if (seen === undefined) symbols.set(want, { size: got, from: input.name });
      else if (seen.size !== got) {
        diagnostics.push(
          error(
            'SEQ301',
            span,
            `\`${want}\` is ${seen.size} in \`${seen.from}\` but ${got} in \`${input.name}\``,
            `every input must agree on \`${want}\``,
            { input: input.name, names: [want, seen.from], position: [axis], expected: seen.size, found: got },
          ),
        );
        return false;
      }
      if (got === 0) {
        diagnostics.push(
          error(
            'SEQ301',
            span,
            `axis ${axis} (\`${want}\`) of \`${input.name}\` is empty`,
            'a batch needs at least one row and one step',
            { input: input.name, names: [want], position: [axis], found: 0 },
          ),
        );
        return false;
      }
    }
    return true;
  };
  const ordered = [
    ...signature.inputs.filter((i) => i.role === 'data'),
    ...signature.inputs.filter((i) => i.role !== 'data'),
  ];
  for (const input of ordered) {
    const t = provided.get(input.name);
    const span = spanOfWhole(`input \`${input.name}\``);
    if (t === undefined) {
      const filled = defaultFor(input, signature, feeds);
      if (filled === undefined) {
        // A lengths or state input is filled from the data inputs; when one of those was given but rejected, that rejection says it all.
        if (dependsOnProvided(input, signature, provided)) continue;
        // A lengths or state input is optional: reported only when what it is filled from is missing too, and then as optional.
        if (isOptional(input) && signature.inputs.some((i) => i.role === 'data' && !provided.has(i.name))) continue;
        const also = optionalCompanions(input, signature)
          .map((i) => `; ${exampleInput(i)}`)
          .join('');
        diagnostics.push(
          error(
            'SEQ300',
            span,
            `the input \`${input.name}\` is missing`,
            `pass it, e.g. ${exampleInput(input)}${also}`,
            { input: input.name, expected: `${input.dtype}[${input.dims.join(', ')}]` },
          ),
        );
      } else {
        feeds.set(input.name, filled);
      }
      continue;
    }
    if (t.dtype !== input.dtype) {
      diagnostics.push(
        error('SEQ301', span, `\`${input.name}\` must be ${input.dtype}, found ${t.dtype}`, undefined, {
          input: input.name,
          expected: input.dtype,
          found: t.dtype,
        }),
      );
      continue;
    }
    if (!bindDims(input, t)) continue;
    if (input.vocab !== undefined) {
      const vocab = BigInt(input.vocab);
      const problems = outOfRange(
        input.name,
        t,
        (v) => v < 0n || v >= vocab,
        (at, v) => `${at} is ${v}, outside the vocabulary [0, ${input.vocab})`,
      );
      if (problems.length > 0) {
        diagnostics.push(
          ...problems.map((p) =>
            error('SEQ301', span, p.message, 'map unknown tokens to an id inside the vocabulary before running', {
              ...p.facts,
              range: [0, input.vocab! - 1],
            }),
          ),
        );
        continue;
      }
    }
    if (input.role === 'lengths') {
      const time = input.of === undefined ? undefined : feeds.get(input.of)?.dims[1];
      const problems = outOfRange(
        input.name,
        t,
        (v) => v < 1n || (time !== undefined && v > BigInt(time)),
        (at, v) => `${at} is ${v}, outside [1, ${time ?? 'time'}]`,
      );
      if (problems.length > 0) {
        diagnostics.push(
          ...problems.map((p) =>
            error('SEQ301', span, p.message, `each length counts the valid steps of a row of \`${input.of}\``, {
              ...p.facts,
              ...(time === undefined ? {} : { range: [1, time] as const }),
            }),
          ),
        );
        continue;
      }
    }
    feeds.set(input.name, t);
  }
  return diagnostics.length > 0 ? { diagnostics } : { feeds, diagnostics };
}

/** The most values a state input filled with zeros may have (256 MiB of float32). */
const maxFilledState = 2 ** 26;

/**
 * An example `--input` for a missing input, of the right rank: `tokens=[[1, 2, 3]]` for token ids,
 * `lengths=[3]` for lengths (said to be optional), nested zeros for a small float input, and the
 * shape in words when writing it out would be long.
 */
export function exampleInput(input: SignatureInput): string {
  const symbolic = (d: string | number, axis: number): number => (typeof d === 'number' ? d : axis === 0 ? 1 : 3);
  const shape = input.dims.map(symbolic);
  const size = shape.reduce((a, b) => a * b, 1);
  if (input.role === 'lengths')
    return `--input ${input.name}=[3] (optional: without it every row of \`${input.of}\` is full length)`;
  if (input.role === 'state' && isOptional(input))
    return `--input ${input.name}=@${input.name}.json, float32 [${input.dims.join(', ')}] (optional: zeros when left out)`;
  if (size > 12)
    return `--input ${input.name}=@${input.name}.json holding nested lists of ${input.dtype} shaped [${input.dims.join(', ')}]`;
  let counter = 0;
  const leaf = (): string => (input.dtype === 'int64' ? String(Math.min(++counter, (input.vocab ?? 4) - 1)) : '0.5');
  const build = (axis: number): string =>
    axis === shape.length ? leaf() : `[${Array.from({ length: shape[axis]! }, () => build(axis + 1)).join(', ')}]`;
  return `--input '${input.name}=${build(0)}'`;
}

/**
 * The optional inputs filled from a data input, named in its missing-input hint: its lengths, and
 * (for the first data input only, so they are named once) the recurrent states.
 */
function optionalCompanions(input: SignatureInput, signature: ModelSignature): SignatureInput[] {
  if (input.role !== 'data') return [];
  const first = signature.inputs.find((d) => d.role === 'data');
  return signature.inputs.filter(
    (i) => isOptional(i) && (i.role === 'lengths' ? i.of === input.name : input === first),
  );
}

/** Whether seqc fills the input when it is left out: lengths (full rows) and a recurrent state [layers, batch, hidden] (zeros). */
function isOptional(input: SignatureInput): boolean {
  if (input.role === 'lengths') return true;
  return (
    input.role === 'state' &&
    input.dims.length === 3 &&
    typeof input.dims[0] === 'number' &&
    typeof input.dims[2] === 'number'
  );
}

function defaultFor(
  input: SignatureInput,
  signature: ModelSignature,
  feeds: ReadonlyMap<string, TensorData>,
): TensorData | undefined {
  if (input.role === 'lengths') {
    const target = feeds.get(input.of!);
    if (target === undefined) return undefined;
    const [batch, time] = target.dims as [number, number];
    return { dtype: 'int64', dims: [batch], data: new BigInt64Array(batch).fill(BigInt(time)) };
  }
  if (input.role === 'state') {
    // Zeros only for a recurrent state [layers, batch, hidden]; other state, such as an attention memory, must be passed.
    if (input.dims.length !== 3 || typeof input.dims[0] !== 'number' || typeof input.dims[2] !== 'number')
      return undefined;
    const batchSymbol = input.dims[1];
    const data = signature.inputs.find((i) => i.role === 'data' && i.dims[0] === batchSymbol);
    const batch =
      typeof batchSymbol === 'number' ? batchSymbol : data === undefined ? undefined : feeds.get(data.name)?.dims[0];
    if (batch === undefined) return undefined;
    const dims = [input.dims[0] as number, batch, input.dims[2] as number];
    const size = dims[0]! * dims[1]! * dims[2]!;
    // The signature bounds layers × hidden; the batch comes from a data input, so this stays within what was passed.
    if (!Number.isSafeInteger(size) || size > maxFilledState) return undefined;
    return { dtype: 'float32', dims, data: new Float32Array(size) };
  }
  return undefined;
}

/** Whether an optional input could not be filled only because a data input it depends on was given but rejected. */
function dependsOnProvided(
  input: SignatureInput,
  signature: ModelSignature,
  provided: ReadonlyMap<string, TensorData>,
): boolean {
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
function outOfRange(
  name: string,
  t: TensorData,
  bad: (v: bigint) => boolean,
  describe: (at: string, v: bigint) => string,
): { message: string; facts: Facts }[] {
  const values = t.data as BigInt64Array;
  const problems: { message: string; facts: Facts }[] = [];
  let more = 0;
  values.forEach((v, flat) => {
    if (!bad(v)) return;
    if (problems.length < reportedPerInput)
      problems.push({
        message: describe(indexText(name, t.dims, flat), v),
        facts: { input: name, position: positionOf(t.dims, flat), found: Number(v) },
      });
    else more++;
  });
  if (more > 0)
    problems.push({
      message: `\`${name}\` has ${more} more value${more === 1 ? '' : 's'} out of range`,
      facts: { input: name, found: more },
    });
  return problems;
}
