// The KServe v2 / Open Inference Protocol in JSON: model metadata, inference requests read into checked tensors, and responses written back.

import { error, spanOfWhole, type Diagnostic, type Facts } from '../diagnostics/diagnostic.js';
import type { DiagnosticCode } from '../diagnostics/catalogue.js';
import type { ModelSignature } from '../contracts/signature.js';
import { describeValue, flattenNested, tensorFromValue, type TensorData } from '../runtime/inputs.js';

/** The protocol's name for each dtype a seqc model uses. */
export const protocolDatatypes = { int64: 'INT64', float32: 'FP32' } as const;

/** A tensor as the protocol writes it in JSON: flat row-major data. */
export interface ProtocolTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

/** The sequence batcher's control parameters of a request to a stateful model. */
export interface SequenceControl {
  readonly id: string | number;
  readonly start: boolean;
  readonly end: boolean;
}

/** An inference request, read and checked: its tensors by name and what the response should hold. */
export interface InferRequest {
  readonly id?: string;
  readonly inputs: Map<string, TensorData>;
  /** The outputs asked for, in order; absent means all of them. */
  readonly outputs?: readonly string[];
  /** The request's `parameters`, echoed in the response (sequence control included). */
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly sequence?: SequenceControl;
}

/** One diagnostic of a request, as the response's JSON body carries it. */
export interface ProblemBody {
  readonly error: string;
  readonly diagnostics: readonly {
    code: string;
    severity: string;
    message: string;
    hint?: string;
    facts?: Facts;
  }[];
}

/** The body of a 4xx or 5xx answer: `error` as the protocol has it, and seqc's diagnostics. */
export function problemBody(diagnostics: readonly Diagnostic[]): ProblemBody {
  return {
    error: diagnostics.map((d) => d.message).join('; '),
    diagnostics: diagnostics.map((d) => ({
      code: d.code,
      severity: d.severity,
      message: d.message,
      ...(d.hint === undefined ? {} : { hint: d.hint }),
      ...(d.facts === undefined ? {} : { facts: d.facts }),
    })),
  };
}

/** An error about a request, placed on the request itself. */
export function requestError(code: DiagnosticCode, message: string, hint?: string, facts?: Facts): Diagnostic {
  return error(code, spanOfWhole('<request>'), message, hint, facts);
}

/** The model metadata response: inputs and outputs with protocol datatypes, -1 for each dynamic dim. */
export function modelMetadata(name: string, signature: ModelSignature, platform: string): unknown {
  const tensor = (t: { name: string; dtype: string; dims: (string | number)[] }): unknown => ({
    name: t.name,
    datatype: datatypeOf(t.dtype),
    shape: t.dims.map((d) => (typeof d === 'number' ? d : -1)),
  });
  return {
    name,
    versions: ['1'],
    platform,
    inputs: signature.inputs.map(tensor),
    outputs: signature.outputs.map(tensor),
  };
}

/** The protocol datatype of a seqc dtype. */
export function datatypeOf(dtype: string): string {
  return dtype === 'int64' ? protocolDatatypes.int64 : protocolDatatypes.float32;
}

/**
 * Reads an inference request's body: `inputs` (each with name, shape, datatype and data, flat or
 * nested), optional `outputs` and `parameters`. Every problem is a SEQ500 or SEQ502 diagnostic;
 * values are then checked by the runtime's own input checks (`tensorFromValue`).
 */
export function readInferRequest(
  body: unknown,
  signature: ModelSignature,
): { request?: InferRequest; diagnostics: Diagnostic[] } {
  if (!isRecord(body))
    return {
      diagnostics: [
        requestError(
          'SEQ500',
          `the request body is ${describeValue(body)}, not an inference request object`,
          'send { "inputs": [{ "name": "tokens", "shape": [1, 3], "datatype": "INT64", "data": [5, 17, 2] }] }',
          { expected: 'an object with `inputs`', found: describeValue(body) },
        ),
      ],
    };
  const diagnostics: Diagnostic[] = [];
  const id = body['id'];
  if (id !== undefined && typeof id !== 'string')
    diagnostics.push(
      requestError('SEQ500', `\`id\` is ${describeValue(id)}, not a string`, undefined, { names: ['id'] }),
    );
  const parameters = body['parameters'];
  if (parameters !== undefined && !isRecord(parameters))
    diagnostics.push(
      requestError('SEQ500', `\`parameters\` is ${describeValue(parameters)}, not an object`, undefined, {
        names: ['parameters'],
      }),
    );
  const rawInputs = body['inputs'];
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) {
    diagnostics.push(
      requestError(
        'SEQ500',
        `\`inputs\` is ${describeValue(rawInputs)}, not a list of input tensors`,
        `the model's inputs are ${signature.inputs.map((i) => `\`${i.name}\``).join(', ')}`,
        { names: ['inputs'], expected: signature.inputs.map((i) => i.name) },
      ),
    );
    return { diagnostics };
  }
  const inputs = new Map<string, TensorData>();
  for (const [index, raw] of rawInputs.entries()) {
    const read = readTensor(raw, index, signature);
    diagnostics.push(...read.diagnostics);
    if (read.name === undefined || read.tensor === undefined) continue;
    if (inputs.has(read.name)) {
      diagnostics.push(
        requestError('SEQ306', `the input \`${read.name}\` is given more than once`, 'give each input once', {
          input: read.name,
        }),
      );
      continue;
    }
    inputs.set(read.name, read.tensor);
  }
  const outputs = readOutputs(body['outputs'], signature, diagnostics);
  const sequence = isRecord(parameters) ? readSequence(parameters, diagnostics) : undefined;
  if (diagnostics.length > 0) return { diagnostics };
  return {
    request: {
      ...(typeof id === 'string' ? { id } : {}),
      inputs,
      ...(outputs === undefined ? {} : { outputs }),
      ...(isRecord(parameters) ? { parameters } : {}),
      ...(sequence === undefined ? {} : { sequence }),
    },
    diagnostics: [],
  };
}

/** The response of an inference: each output asked for as a flat protocol tensor. */
export function inferResponse(
  modelName: string,
  request: InferRequest,
  outputs: ReadonlyMap<string, TensorData>,
): unknown {
  const names = request.outputs ?? [...outputs.keys()];
  return {
    model_name: modelName,
    model_version: '1',
    ...(request.id === undefined ? {} : { id: request.id }),
    ...(request.parameters === undefined ? {} : { parameters: request.parameters }),
    outputs: names.map((name) => protocolTensor(name, outputs.get(name)!)),
  };
}

/** A tensor in the protocol's JSON form, int64 values as numbers. */
export function protocolTensor(name: string, t: TensorData): ProtocolTensor {
  return {
    name,
    datatype: datatypeOf(t.dtype),
    shape: [...t.dims],
    data: Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v)),
  };
}

/** A plain JSON object (not a list, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Internals.

function readTensor(
  raw: unknown,
  index: number,
  signature: ModelSignature,
): { name?: string; tensor?: TensorData; diagnostics: Diagnostic[] } {
  const where = `inputs[${index}]`;
  if (!isRecord(raw) || typeof raw['name'] !== 'string')
    return {
      diagnostics: [
        requestError(
          'SEQ500',
          `${where} is ${isRecord(raw) ? 'an object without a string `name`' : describeValue(raw)}, not an input tensor`,
          'each input is { "name", "shape", "datatype", "data" }',
          { names: [where] },
        ),
      ],
    };
  const name = raw['name'];
  const declared = signature.inputs.find((i) => i.name === name);
  const { shape, datatype, data } = raw;
  const problems: Diagnostic[] = [];
  const shapeOk =
    Array.isArray(shape) &&
    shape.length <= 32 &&
    shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);
  if (!shapeOk)
    problems.push(
      requestError(
        'SEQ502',
        `the shape of \`${name}\` is ${describeValue(shape)}, not a list of whole numbers`,
        'e.g. "shape": [1, 3]',
        { input: name, expected: 'a list of whole numbers' },
      ),
    );
  const want = declared === undefined ? undefined : datatypeOf(declared.dtype);
  if (typeof datatype !== 'string' || (want !== undefined && datatype !== want))
    problems.push(
      requestError(
        'SEQ502',
        `\`${name}\` is sent as ${typeof datatype === 'string' ? datatype.slice(0, 20) : describeValue(datatype)}, but the model takes ${want ?? 'INT64 or FP32'}`,
        `send "datatype": "${want ?? 'INT64'}"`,
        {
          input: name,
          expected: want ?? 'INT64 or FP32',
          found: typeof datatype === 'string' ? datatype.slice(0, 20) : describeValue(datatype),
        },
      ),
    );
  if (!Array.isArray(data))
    problems.push(
      requestError('SEQ502', `the data of \`${name}\` is ${describeValue(data)}, not a list of numbers`, undefined, {
        input: name,
        expected: 'a list of numbers',
      }),
    );
  if (problems.length > 0 || !Array.isArray(data) || !Array.isArray(shape)) return { diagnostics: problems };
  const flat = flattenNested(data, name);
  if ('problem' in flat)
    return {
      diagnostics: [requestError('SEQ502', `the data of \`${name}\` is not a list of numbers: ${flat.problem}`)],
    };
  const dims = shape as number[];
  const size = dims.reduce((a, b) => a * b, 1);
  if (flat.values.length !== size)
    return {
      diagnostics: [
        requestError(
          'SEQ502',
          `\`${name}\` has shape [${dims.join(', ')}], which holds ${size} values, but its data has ${flat.values.length}`,
          'the data holds the values in row-major order, one per element of the shape',
          { input: name, expected: size, found: flat.values.length },
        ),
      ],
    };
  const dtype = datatype === protocolDatatypes.float32 ? 'float32' : 'int64';
  const converted = tensorFromValue(name, { data: flat.values, dims }, dtype);
  return converted.tensor === undefined
    ? { diagnostics: converted.diagnostics }
    : { name, tensor: converted.tensor, diagnostics: [] };
}

function readOutputs(raw: unknown, signature: ModelSignature, diagnostics: Diagnostic[]): string[] | undefined {
  if (raw === undefined) return undefined;
  const known = signature.outputs.map((o) => o.name);
  if (!Array.isArray(raw)) {
    diagnostics.push(
      requestError('SEQ500', `\`outputs\` is ${describeValue(raw)}, not a list of { "name" }`, undefined, {
        names: ['outputs'],
        expected: known,
      }),
    );
    return undefined;
  }
  const names: string[] = [];
  for (const item of raw) {
    const name = isRecord(item) ? item['name'] : undefined;
    if (typeof name !== 'string' || !known.includes(name)) {
      diagnostics.push(
        requestError(
          'SEQ500',
          typeof name === 'string'
            ? `the model has no output \`${name.slice(0, 100)}\``
            : `an item of \`outputs\` is ${describeValue(item)}, not { "name" }`,
          `its outputs are ${known.map((n) => `\`${n}\``).join(', ')}`,
          { names: ['outputs'], expected: known },
        ),
      );
      continue;
    }
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

function readSequence(parameters: Record<string, unknown>, diagnostics: Diagnostic[]): SequenceControl | undefined {
  const id = parameters['sequence_id'];
  const start = parameters['sequence_start'] ?? false;
  const end = parameters['sequence_end'] ?? false;
  if (id === undefined) {
    if (start !== false || end !== false)
      diagnostics.push(
        requestError('SEQ505', '`sequence_start` or `sequence_end` is set without a `sequence_id`', undefined, {
          names: ['sequence_id'],
        }),
      );
    return undefined;
  }
  const idOk =
    (typeof id === 'string' && id.length > 0 && id.length <= 256) || (Number.isSafeInteger(id) && (id as number) > 0);
  if (!idOk || typeof start !== 'boolean' || typeof end !== 'boolean') {
    diagnostics.push(
      requestError(
        'SEQ505',
        !idOk
          ? `\`sequence_id\` is ${describeValue(id)}, not a positive integer or a string of 1 to 256 characters`
          : '`sequence_start` and `sequence_end` must be true or false',
        undefined,
        { names: ['sequence_id', 'sequence_start', 'sequence_end'] },
      ),
    );
    return undefined;
  }
  return { id: id as string | number, start, end };
}
