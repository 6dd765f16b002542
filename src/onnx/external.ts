// ONNX external data: a weights file beside the .onnx files, each tensor stored once at an aligned offset, shared by every graph that names it.

import { encodeModelWithExternalData, tensorRawData, type ExternalPlace } from './encode.js';
import { DataLocation, ModelProtoType, type WireModel } from './schema.js';
import type { ModelProto, TensorProto } from './types.js';

export type { ExternalPlace } from './encode.js';

/**
 * A weights file being assembled: the tensors placed so far, in order. Graphs of one bundle place
 * their initializers in the same file; a tensor already there (same name, same bytes) is not
 * stored again, so every graph's reference points at the one copy.
 */
export interface WeightsFile {
  /** The file's name as the models' `external_data` `location` records it, relative to the model. */
  readonly location: string;
  readonly pieces: { readonly offset: number; readonly bytes: Uint8Array }[];
  readonly byName: Map<string, { readonly place: ExternalPlace; readonly bytes: Uint8Array }[]>;
  /** Bytes used so far, padding included. */
  size: number;
}

/** Offsets are multiples of this, so every tensor can be read in place by SIMD kernels and memory maps. */
export const externalAlignment = 64;

/** Tensors smaller than this stay inside the .onnx file: shape constants, scalars and the like. */
export const externalMinBytes = 1024;

/**
 * The most bytes one weights file may hold: the largest typed array a JavaScript engine can
 * allocate (2^32 bytes in V8), less room for alignment padding.
 */
export const weightsFileLimit = 2 ** 32 - 2 ** 20;

/**
 * How many bytes one .onnx file may hold: protobuf (and so ONNX Runtime) refuses messages of
 * 2 GiB or more; the margin leaves room for the encoder's length prefixes.
 */
export const onnxFileLimit = 2 ** 31 - 2 ** 20;

/**
 * Whether a model must keep its weights in a weights file: when the model encoded without them
 * (`graphBytes`, its metadata and embedded spec included) plus the weights (`weightsBytes`) would
 * reach `limit`. The sum bounds the inline encoding from above: each inline tensor's data field
 * header is shorter than the external_data entries it replaces.
 */
export function needsWeightsFile(graphBytes: number, weightsBytes: number, limit: number): boolean {
  return graphBytes + weightsBytes >= limit;
}

export function startWeightsFile(location: string): WeightsFile {
  return { location, pieces: [], byName: new Map(), size: 0 };
}

/** Whether a tensor goes to the weights file rather than into the model. */
export function isExternal(tensor: TensorProto): boolean {
  return tensorByteLength(tensor) >= externalMinBytes;
}

/** The tensor's size in raw_data form, without copying it. */
export function tensorByteLength(tensor: TensorProto): number {
  if (tensor.rawData !== undefined) return tensor.rawData.byteLength;
  if (tensor.floatData !== undefined) return tensor.floatData.byteLength;
  if (tensor.int64Data !== undefined) return tensor.int64Data.byteLength;
  return tensorRawData(tensor).byteLength;
}

/** Places a tensor's bytes in the file, or finds the copy already placed under the same name. */
export function placeTensor(file: WeightsFile, tensor: TensorProto): ExternalPlace {
  const bytes = tensorRawData(tensor);
  const same = file.byName.get(tensor.name) ?? [];
  for (const candidate of same) {
    if (sameBytes(candidate.bytes, bytes)) return candidate.place;
  }
  const offset = Math.ceil(file.size / externalAlignment) * externalAlignment;
  const place = { offset, length: bytes.byteLength };
  file.pieces.push({ offset, bytes });
  file.byName.set(tensor.name, [...same, { place, bytes }]);
  file.size = offset + bytes.byteLength;
  return place;
}

/** Encodes a model whose initializers of `externalMinBytes` or more are placed in `file`. */
export function encodeModelInto(model: ModelProto, file: WeightsFile): Uint8Array {
  return encodeModelWithExternalData(model, {
    location: file.location,
    place: (tensor) => (isExternal(tensor) ? placeTensor(file, tensor) : undefined),
  });
}

/** The file's bytes: every placed tensor at its offset, zeros between. */
export function weightsFileBytes(file: WeightsFile): Uint8Array {
  const out = new Uint8Array(file.size);
  for (const piece of file.pieces) out.set(piece.bytes, piece.offset);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  if (a.buffer === b.buffer && a.byteOffset === b.byteOffset) return true;
  // Compare four bytes at a time where both views allow it.
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 && a.byteLength % 4 === 0) {
    const x = new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4);
    const y = new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The external files a model's main-graph initializers name (their `location`s), read from the
 * encoded model without copying any tensor. Empty for a model that holds its own weights, and for
 * bytes that are not a model (opening it reports that).
 */
export function externalLocations(bytes: Uint8Array): string[] {
  let wire: WireModel;
  try {
    wire = ModelProtoType.decode(
      new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    ) as unknown as WireModel;
  } catch {
    return [];
  }
  const locations = new Set<string>();
  for (const tensor of wire.graph?.initializer ?? []) {
    if (tensor.data_location !== DataLocation.EXTERNAL) continue;
    const location = tensor.external_data?.find((e) => e.key === 'location')?.value;
    if (location !== undefined && location !== '') locations.add(location);
  }
  return [...locations];
}
