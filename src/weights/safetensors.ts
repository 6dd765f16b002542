// Reads and writes safetensors files, Hugging Face's weights format, as float32 tensors without Node APIs.

import { assertNever } from '../contracts/assert.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { capDiagnostics, error, spanOfWhole } from '../diagnostics/diagnostic.js';
import type { WeightTensor } from './types.js';

/**
 * What `readSafetensors` found. `tensors` and `metadata` are present only when `diagnostics` is
 * empty; `metadata` is `{}` when the file has no `__metadata__`.
 */
export interface SafetensorsContents {
  readonly tensors?: Map<string, WeightTensor>;
  readonly metadata?: Record<string, string>;
  readonly diagnostics: Diagnostic[];
}

/** The element types seqc can write; reading also accepts F64. */
export type WritableDtype = 'F32' | 'F16' | 'BF16';

/** Anything that lists named tensors: a `WeightMap` or an array of `[name, tensor]` pairs. */
export type NamedTensors = ReadonlyMap<string, WeightTensor> | Iterable<readonly [string, WeightTensor]>;

/**
 * Parses a whole safetensors file held in memory and converts every tensor to float32.
 *
 * The layout is: an unsigned little-endian 64-bit header size N, N bytes of UTF-8 JSON that map
 * each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (plus an optional
 * `__metadata__` map of strings), then the byte buffer, which the tensors must cover exactly.
 * Every problem becomes a diagnostic (SEQ100 for a malformed file, SEQ101 for a tensor whose
 * element type is not floating-point); this function never throws.
 */
export function readSafetensors(bytes: Uint8Array, source: string): SafetensorsContents {
  try {
    const contents = readChecked(bytes, source);
    return { ...contents, diagnostics: [...capDiagnostics(contents.diagnostics, source)] };
  } catch (thrown) {
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    return {
      diagnostics: [
        invalidFile(
          source,
          `reading the file failed unexpectedly (${reason}), but a safetensors file should always read or be rejected with a reason`,
          'This is a bug in seqc; please report it together with the file.',
        ),
      ],
    };
  }
}

/** Serializes tensors as a float32 safetensors file, with names sorted and deterministic bytes. */
export function writeSafetensors(tensors: NamedTensors, metadata?: Record<string, string>): Uint8Array {
  return writeSafetensorsAs(tensors, 'F32', metadata);
}

/**
 * Serializes tensors with the given element type, converting from float32 by rounding to nearest
 * even. Like the reference implementation, tensors are stored in name order, the header JSON is
 * compact with `__metadata__` first, and the header is padded with spaces to a multiple of 8
 * bytes so that the data is aligned. Metadata keys are sorted so the output is deterministic.
 * Throws on input that is a programming error: duplicate names, or data that does not fit the shape.
 */
export function writeSafetensorsAs(
  tensors: NamedTensors,
  dtype: WritableDtype,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = sortedTensors(tensors);
  const elementSize = bytesPerElement[dtype];

  const headerParts: string[] = [];
  if (metadata !== undefined) {
    const fields = Object.keys(metadata)
      .sort(compareCodePoints)
      .map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`);
    headerParts.push(`"__metadata__":{${fields.join(',')}}`);
  }
  let offset = 0;
  for (const [name, tensor] of entries) {
    const end = offset + tensor.data.length * elementSize;
    const shape = `[${tensor.shape.join(',')}]`;
    headerParts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${shape},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const headerJson = new TextEncoder().encode(`{${headerParts.join(',')}}`);
  const headerSize = headerJson.length + ((8 - (headerJson.length % 8)) % 8);

  const bytes = new Uint8Array(8 + headerSize + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerSize), true);
  bytes.set(headerJson, 8);
  bytes.fill(0x20, 8 + headerJson.length, 8 + headerSize);

  let position = 8 + headerSize;
  for (const [, tensor] of entries) {
    for (const value of tensor.data) {
      writeElement(view, position, dtype, value);
      position += elementSize;
    }
  }
  return bytes;
}

/** Decodes IEEE 754 half-precision bits (subnormals, infinities and NaN included) to a number. */
export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) {
    return sign * fraction * 2 ** -24;
  }
  if (exponent === 0x1f) {
    return fraction === 0 ? sign * Infinity : NaN;
  }
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Encodes a number as half-precision bits, first as float32, then rounding to nearest even. */
export function numberToFloat16Bits(value: number): number {
  const bits = float32Bits(value);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;

  if (exponent === 0xff) {
    // Infinity keeps a zero fraction; NaN keeps its top payload bits and stays a quiet NaN.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) {
    return sign | 0x7c00;
  }
  if (halfExponent <= 0) {
    // The result is a half subnormal or zero: shift the full significand, implicit bit included.
    if (halfExponent < -10) {
      return sign;
    }
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShiftedToEven(significand, shift);
  }
  // A carry out of the fraction correctly bumps the exponent, up to infinity.
  return sign | (((halfExponent << 10) | (mantissa >>> 13)) + roundingCarry(mantissa, 13, mantissa >>> 13));
}

/** Decodes bfloat16 bits, the upper half of a float32, to a number. */
export function bfloat16BitsToNumber(bits: number): number {
  scratchUint32[0] = (bits & 0xffff) << 16;
  return scratchFloat32[0]!;
}

/** Encodes a number as bfloat16 bits, first as float32, then rounding to nearest even. */
export function numberToBfloat16Bits(value: number): number {
  const bits = float32Bits(value);
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) {
    return (bits >>> 16) | 0x40;
  }
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

// Reading.

/** The largest header the reference implementation accepts (100 MB), against hostile files. */
const maxHeaderSize = 100_000_000;

/** Bytes per element of every element type safetensors defines, for checking tensor sizes. */
const knownDtypeSizes: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

type ReadableDtype = 'F32' | 'F16' | 'BF16' | 'F64';

const bytesPerElement: Readonly<Record<ReadableDtype, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** A header entry whose fields all have the right form. */
interface TensorEntry {
  readonly name: string;
  readonly dtype: ReadableDtype;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A tensor's byte range, kept for the coverage check even when its dtype cannot be read. */
interface ByteRange {
  readonly name: string;
  readonly begin: number;
  readonly end: number;
}

const layoutHint = 'A safetensors file is an 8-byte little-endian header size, a JSON header, and the tensor bytes.';
const coverageHint =
  'In safetensors the tensors must cover the byte buffer exactly, in order, with no gaps, overlaps or trailing bytes.';
const entryHint = 'Each tensor entry must look like {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}.';

function readChecked(bytes: Uint8Array, source: string): SafetensorsContents {
  if (bytes.length < 8) {
    return {
      diagnostics: [
        invalidFile(
          source,
          `the file is ${describeBytes(bytes.length)} long, but a safetensors file starts with an 8-byte header size`,
          layoutHint,
        ),
      ],
    };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declaredHeaderSize = view.getBigUint64(0, true);
  const available = bytes.length - 8;
  if (declaredHeaderSize > BigInt(available)) {
    return {
      diagnostics: [
        invalidFile(
          source,
          `the header size field says ${declaredHeaderSize} bytes, but only ${describeBytes(available)} follow it`,
          'The file may be truncated, or it may not be a safetensors file at all.',
        ),
      ],
    };
  }
  const headerSize = Number(declaredHeaderSize);
  if (headerSize > maxHeaderSize) {
    return {
      diagnostics: [
        invalidFile(
          source,
          `the header is ${headerSize} bytes, but safetensors allows at most ${maxHeaderSize}`,
          layoutHint,
        ),
      ],
    };
  }

  const header = parseHeader(bytes.subarray(8, 8 + headerSize), source);
  if ('diagnostic' in header) {
    return { diagnostics: [header.diagnostic] };
  }

  const bufferStart = 8 + headerSize;
  const bufferLength = bytes.length - bufferStart;
  const diagnostics: Diagnostic[] = [];
  const entries: TensorEntry[] = [];
  const ranges: ByteRange[] = [];
  let allRangesValid = true;
  let metadata: Record<string, string> = {};

  for (const [name, value] of Object.entries(header.json)) {
    if (name === '__metadata__') {
      const parsed = parseMetadata(value, source);
      if ('diagnostic' in parsed) {
        diagnostics.push(parsed.diagnostic);
      } else {
        metadata = parsed.metadata;
      }
      continue;
    }
    const checked = checkEntry(name, value, bufferLength, source);
    if (checked.range === undefined) {
      allRangesValid = false;
    } else {
      ranges.push(checked.range);
    }
    if (checked.diagnostic !== undefined) {
      diagnostics.push(checked.diagnostic);
    } else if (checked.entry !== undefined) {
      entries.push(checked.entry);
    }
  }

  // Gaps and overlaps are only meaningful once every tensor's own range is sound.
  if (allRangesValid) {
    diagnostics.push(...checkCoverage(ranges, bufferLength, source));
  }
  if (diagnostics.length > 0) {
    return { diagnostics };
  }

  const tensors = new Map<string, WeightTensor>();
  for (const entry of [...entries].sort(compareRanges)) {
    tensors.set(entry.name, { shape: entry.shape, data: decodeTensor(view, bufferStart, entry) });
  }
  return { tensors, metadata, diagnostics };
}

/** Decodes the header bytes as UTF-8 JSON that must be an object beginning with `{`. */
function parseHeader(
  headerBytes: Uint8Array,
  source: string,
): { json: Record<string, unknown> } | { diagnostic: Diagnostic } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    return {
      diagnostic: invalidFile(
        source,
        'the header is not valid UTF-8, but safetensors headers are UTF-8 JSON',
        layoutHint,
      ),
    };
  }
  if (!text.startsWith('{')) {
    const found =
      text.length === 0 ? 'the header is empty' : `the header starts with ${JSON.stringify(text.slice(0, 16))}`;
    return {
      diagnostic: invalidFile(
        source,
        `${found}, but a safetensors header is a JSON object starting with '{'`,
        layoutHint,
      ),
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (thrown) {
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    return {
      diagnostic: invalidFile(
        source,
        `the header is not valid JSON (${reason}), but it should be a JSON object`,
        layoutHint,
      ),
    };
  }
  if (!isPlainObject(json)) {
    return {
      diagnostic: invalidFile(
        source,
        `the header is ${describeJson(json)}, but it should be a JSON object`,
        layoutHint,
      ),
    };
  }
  return { json };
}

function parseMetadata(
  value: unknown,
  source: string,
): { metadata: Record<string, string> } | { diagnostic: Diagnostic } {
  const hint = 'The "__metadata__" entry must map strings to strings, e.g. {"format": "pt"}.';
  if (!isPlainObject(value)) {
    return {
      diagnostic: invalidFile(
        source,
        `"__metadata__" is ${describeJson(value)}, but it should be an object of strings`,
        hint,
      ),
    };
  }
  const pairs: [string, string][] = [];
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      return {
        diagnostic: invalidFile(
          source,
          `"__metadata__" maps ${JSON.stringify(key)} to ${describeJson(item)}, but its values should be strings`,
          hint,
        ),
      };
    }
    pairs.push([key, item]);
  }
  // Object.fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  return { metadata: Object.fromEntries(pairs) };
}

/**
 * Checks one tensor entry. It returns the entry when it can be read, its byte range when that
 * range alone is sound (for the coverage check), and the first problem found, if any.
 */
function checkEntry(
  name: string,
  value: unknown,
  bufferLength: number,
  source: string,
): { entry?: TensorEntry; range?: ByteRange; diagnostic?: Diagnostic } {
  const tensor = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(value)) {
    return {
      diagnostic: invalidFile(
        source,
        `${tensor} is described by ${describeJson(value)}, but it should be an object`,
        entryHint,
      ),
    };
  }
  const missing = ['dtype', 'shape', 'data_offsets'].filter((field) => !Object.hasOwn(value, field));
  if (missing.length > 0) {
    return {
      diagnostic: invalidFile(source, `${tensor} has no ${missing.map((field) => `"${field}"`).join(', ')}`, entryHint),
    };
  }
  const { dtype, shape, data_offsets: offsets } = value;

  if (!isIntegerPair(offsets)) {
    return {
      diagnostic: invalidFile(
        source,
        `${tensor} has "data_offsets" ${describeJson(offsets)}, but it should be two non-negative integers [begin, end]`,
        entryHint,
      ),
    };
  }
  const [begin, end] = offsets;
  if (begin > end) {
    return {
      diagnostic: invalidFile(
        source,
        `${tensor} has "data_offsets" [${begin}, ${end}], but begin must not exceed end`,
        entryHint,
      ),
    };
  }
  if (end > bufferLength) {
    return {
      diagnostic: invalidFile(
        source,
        `${tensor} ends at byte ${end} of the byte buffer, but the buffer has only ${describeBytes(bufferLength)}`,
        'Offsets are relative to the start of the byte buffer, just after the header; the file may be truncated.',
      ),
    };
  }
  const range: ByteRange = { name, begin, end };

  if (!isShape(shape)) {
    return {
      range,
      diagnostic: invalidFile(
        source,
        `${tensor} has "shape" ${describeJson(shape)}, but it should be a list of non-negative integers`,
        entryHint,
      ),
    };
  }
  if (typeof dtype !== 'string') {
    return {
      range,
      diagnostic: invalidFile(
        source,
        `${tensor} has "dtype" ${describeJson(dtype)}, but it should be a string such as "F32"`,
        entryHint,
      ),
    };
  }
  const elementCount = shape.reduce((product, size) => product * size, 1);
  const elementSize = knownDtypeSizes[dtype];
  if (elementSize !== undefined && elementCount * elementSize !== end - begin) {
    return {
      range,
      diagnostic: invalidFile(
        source,
        `${tensor} has shape [${shape.join(', ')}] of ${dtype}, which needs ${describeBytes(elementCount * elementSize)}, but its data_offsets [${begin}, ${end}] hold ${describeBytes(end - begin)}`,
        entryHint,
      ),
    };
  }
  if (!isReadableDtype(dtype)) {
    const known = elementSize === undefined ? ', which seqc does not know' : '';
    return {
      range,
      diagnostic: error(
        'SEQ101',
        spanOfWhole(source),
        `${tensor} has element type ${dtype}${known}, but seqc reads only F32, F16, BF16 and F64`,
        'seqc needs floating-point parameters; convert the tensor to float32 before saving, e.g. `tensor.float()` in PyTorch.',
      ),
    };
  }
  return { range, entry: { name, dtype, shape, begin, end } };
}

/** Checks that the byte ranges tile the byte buffer: no gaps, no overlaps, no trailing bytes. */
function checkCoverage(ranges: readonly ByteRange[], bufferLength: number, source: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  let covered = 0;
  let previous: ByteRange | undefined;
  for (const range of [...ranges].sort(compareRanges)) {
    if (range.begin < covered && previous !== undefined) {
      diagnostics.push(
        invalidFile(
          source,
          `tensor ${JSON.stringify(range.name)} occupies bytes [${range.begin}, ${range.end}), which overlap tensor ${JSON.stringify(previous.name)} at [${previous.begin}, ${previous.end})`,
          coverageHint,
        ),
      );
    } else if (range.begin > covered) {
      diagnostics.push(
        invalidFile(
          source,
          `bytes [${covered}, ${range.begin}) of the byte buffer belong to no tensor, but tensor ${JSON.stringify(range.name)} should start at byte ${covered}`,
          coverageHint,
        ),
      );
    }
    if (range.end >= covered) {
      covered = range.end;
      previous = range;
    }
  }
  if (covered < bufferLength) {
    diagnostics.push(
      invalidFile(
        source,
        `the byte buffer has ${describeBytes(bufferLength)}, but the tensors end at byte ${covered}, leaving ${describeBytes(bufferLength - covered)} trailing`,
        coverageHint,
      ),
    );
  }
  return diagnostics;
}

function decodeTensor(view: DataView, bufferStart: number, entry: TensorEntry): Float32Array {
  const elementSize = bytesPerElement[entry.dtype];
  const data = new Float32Array((entry.end - entry.begin) / elementSize);
  const start = bufferStart + entry.begin;
  // DataView reads handle any alignment of the tensor within the file and any host endianness.
  switch (entry.dtype) {
    case 'F32':
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(start + 4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat64(start + 8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < data.length; i++) data[i] = float16BitsToNumber(view.getUint16(start + 2 * i, true));
      break;
    case 'BF16':
      for (let i = 0; i < data.length; i++) data[i] = bfloat16BitsToNumber(view.getUint16(start + 2 * i, true));
      break;
    default:
      assertNever(entry.dtype);
  }
  return data;
}

// Writing.

function sortedTensors(tensors: NamedTensors): [string, WeightTensor][] {
  const entries: [string, WeightTensor][] = [];
  const seen = new Set<string>();
  for (const [name, tensor] of tensors) {
    if (name === '__metadata__') {
      throw new Error('A tensor cannot be named "__metadata__"; safetensors reserves that key.');
    }
    if (seen.has(name)) {
      throw new Error(`Tensor "${name}" is given twice.`);
    }
    seen.add(name);
    if (!isShape(tensor.shape)) {
      throw new Error(
        `Tensor "${name}" has shape [${tensor.shape.join(', ')}], which is not a list of non-negative integers.`,
      );
    }
    const elementCount = tensor.shape.reduce((product, size) => product * size, 1);
    if (elementCount !== tensor.data.length) {
      throw new Error(`Tensor "${name}" has shape [${tensor.shape.join(', ')}] but ${tensor.data.length} values.`);
    }
    entries.push([name, tensor]);
  }
  return entries.sort(([left], [right]) => compareCodePoints(left, right));
}

function writeElement(view: DataView, position: number, dtype: WritableDtype, value: number): void {
  switch (dtype) {
    case 'F32':
      view.setFloat32(position, value, true);
      return;
    case 'F16':
      view.setUint16(position, numberToFloat16Bits(value), true);
      return;
    case 'BF16':
      view.setUint16(position, numberToBfloat16Bits(value), true);
      return;
    default:
      assertNever(dtype);
  }
}

/** Orders strings by Unicode code point, which is the byte order of their UTF-8 (as in Rust). */
function compareCodePoints(left: string, right: string): number {
  const a = [...left];
  const b = [...right];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const difference = a[i]!.codePointAt(0)! - b[i]!.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

// Bits and small helpers.

const scratchFloat32 = new Float32Array(1);
const scratchUint32 = new Uint32Array(scratchFloat32.buffer);

function float32Bits(value: number): number {
  scratchFloat32[0] = value;
  return scratchUint32[0]!;
}

/** Shifts `value` right by `shift` bits, rounding the dropped bits to nearest even. */
function roundShiftedToEven(value: number, shift: number): number {
  const kept = value >>> shift;
  return kept + roundingCarry(value, shift, kept);
}

/** 1 when the low `shift` bits of `value`, about to be dropped, round `kept` up (to nearest even). */
function roundingCarry(value: number, shift: number, kept: number): number {
  const dropped = value & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return dropped > halfway || (dropped === halfway && (kept & 1) === 1) ? 1 : 0;
}

function isReadableDtype(dtype: string): dtype is ReadableDtype {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((size) => Number.isSafeInteger(size) && size >= 0);
}

function isIntegerPair(value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && isShape(value);
}

function compareRanges(left: ByteRange, right: ByteRange): number {
  return left.begin - right.begin || left.end - right.end;
}

function describeBytes(count: number): string {
  return count === 1 ? '1 byte' : `${count} bytes`;
}

/** Names a JSON value briefly, for messages: its text when short, otherwise its kind. */
function describeJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text !== undefined && text.length <= 40) {
    return text;
  }
  if (Array.isArray(value)) return `a list of ${value.length} items`;
  if (value === null) return 'null';
  return `a ${typeof value}`;
}

function invalidFile(source: string, message: string, hint: string): Diagnostic {
  return error('SEQ100', spanOfWhole(source), message, hint);
}
