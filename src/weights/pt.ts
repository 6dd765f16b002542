// Reads PyTorch checkpoints (`torch.save` zip files) as float32 tensors, without Python and without executing pickle.

import type { Diagnostic, Facts } from '../diagnostics/diagnostic.js';
import { capDiagnostics, error, spanOfWhole } from '../diagnostics/diagnostic.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { assertNever } from '../contracts/assert.js';
import {
  describe,
  readPickle,
  type PickleDict,
  type PickleValue,
  type StorageDtype,
  type TensorRecord,
} from './pickle.js';
import { bfloat16BitsToNumber, float16BitsToNumber } from './safetensors.js';
import type { WeightTensor } from './types.js';
import { entryBytes, listZipEntries, type ZipEntry } from './zip.js';

/** What `readPtCheckpoint` found: `tensors` only when `diagnostics` holds no error. */
export interface PtContents {
  readonly tensors?: Map<string, WeightTensor>;
  readonly diagnostics: Diagnostic[];
}

/**
 * True for bytes that start like a zip archive or a pickle (PROTO 2–5), the two forms `torch.save` has
 * written. A safetensors file whose header size happens to start with the byte 0x80 is not one: its
 * ninth byte opens the JSON header.
 */
export function looksLikePtCheckpoint(bytes: Uint8Array): boolean {
  return isZip(bytes) || (startsLikePickle(bytes) && bytes[8] !== 0x7b);
}

function startsLikePickle(bytes: Uint8Array): boolean {
  return bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] >= 2 && bytes[1] <= 5;
}

/**
 * Reads a `torch.save` checkpoint held in memory: a zip of `ARCHIVE/data.pkl` (the pickled object)
 * and `ARCHIVE/data/KEY` (one file of raw little-endian bytes per storage). The pickle is read by an
 * allow-list (see `readPickle`); its tensors are views `(storage, offset, shape, strides)` that are
 * gathered into row-major float32 arrays. Without `key` the pickled object must be a state_dict;
 * with `key` it must be a dict whose entry `key` is one. Never throws.
 */
export function readPtCheckpoint(bytes: Uint8Array, source: string, key?: string): PtContents {
  try {
    const contents = readChecked(bytes, source, key);
    return { ...contents, diagnostics: [...capDiagnostics(contents.diagnostics, source)] };
  } catch (thrown) {
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    return {
      diagnostics: [
        invalidArchive(
          source,
          `reading the checkpoint failed unexpectedly (${reason})`,
          'This is a bug in seqc; please report it together with the file.',
        ),
      ],
    };
  }
}

/** Hints that say how to write a checkpoint seqc reads. */
const resaveHint = 'save the weights with `torch.save(model.state_dict(), "model.pt")` (PyTorch 1.6 or later)';

const elementSize: Readonly<Record<StorageDtype, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Past this many elements in all (over the file's size, plus a margin), views are refused: they would only repeat data. */
const elementMargin = 1 << 24;

function readChecked(bytes: Uint8Array, source: string, key: string | undefined): PtContents {
  if (!isZip(bytes)) {
    if (startsLikePickle(bytes)) {
      return only(
        error(
          'SEQ214',
          spanOfWhole(source),
          'this is a PyTorch checkpoint in the legacy format (`_use_new_zipfile_serialization=False`, or PyTorch before 1.6), which seqc does not read',
          `load it in PyTorch and save it again in the zip format: \`torch.save(torch.load("old.pt"), "new.pt")\`; or ${resaveHint}`,
          { found: 'legacy', expected: 'zip' },
        ),
      );
    }
    return only(
      invalidArchive(
        source,
        'it does not start like a zip archive',
        `a PyTorch checkpoint is a zip archive; ${resaveHint}`,
        { expected: 'zip' },
      ),
    );
  }
  const listing = listZipEntries(bytes);
  if ('problem' in listing) {
    return only(
      invalidArchive(
        source,
        `the zip archive is malformed: ${listing.problem}`,
        `the file may be damaged or truncated; ${resaveHint}`,
      ),
    );
  }
  const entries = listing.entries;
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  const torchScript = [...entries.keys()].some((name) => /^[^/]+\/(constants\.pkl|code\/)/.test(name));
  if (torchScript) {
    return only(
      error(
        'SEQ214',
        spanOfWhole(source),
        'this is a TorchScript archive (`torch.jit.save`), which holds code as well as weights; seqc reads only state_dicts',
        'in PyTorch, `m = torch.jit.load("scripted.pt")`, then `torch.save(m.state_dict(), "model.pt")`',
        { found: 'TorchScript', expected: 'state_dict' },
      ),
    );
  }
  if (pickles.length !== 1) {
    const found = pickles.length === 0 ? 'no `ARCHIVE/data.pkl`' : `${pickles.length} \`data.pkl\` files`;
    return only(
      invalidArchive(source, `the zip archive has ${found}, but a PyTorch checkpoint has exactly one`, resaveHint),
    );
  }
  const archive = pickles[0]!.slice(0, -'/data.pkl'.length);
  const compressed = [...entries.values()].find((entry) => entry.method !== 0 && entry.name.startsWith(`${archive}/`));
  if (compressed !== undefined) {
    return only(
      invalidArchive(
        source,
        `entry ${JSON.stringify(compressed.name.slice(0, 200))} is compressed (zip method ${compressed.method}), but torch.save stores every entry uncompressed`,
        `a checkpoint unzipped and zipped again by another tool may be compressed; ${resaveHint}`,
        { names: [compressed.name.slice(0, 200)], found: compressed.method, expected: 0 },
      ),
    );
  }
  const byteorder = entries.get(`${archive}/byteorder`);
  if (byteorder !== undefined) {
    const order = new TextDecoder().decode(entryBytes(bytes, byteorder)).trim();
    if (order !== 'little') {
      return only(
        error(
          'SEQ214',
          spanOfWhole(source),
          `the checkpoint records byte order ${JSON.stringify(order.slice(0, 20))}, but seqc reads only little-endian checkpoints`,
          `load it in PyTorch on a little-endian machine and save it again; ${resaveHint}`,
          { found: order.slice(0, 20), expected: 'little' },
        ),
      );
    }
  }

  const pickled = readPickle(entryBytes(bytes, entries.get(pickles[0]!)!));
  if ('problem' in pickled) {
    if (pickled.forbidden !== undefined) {
      return only(
        error(
          'SEQ211',
          spanOfWhole(source),
          `the checkpoint's pickle (${archive}/data.pkl, byte ${pickled.at}) is refused: ${pickled.problem}; seqc never executes pickle`,
          'a file from `torch.save(model.state_dict(), path)` holds only tensors and plain values; if this file should be one, load it in PyTorch only if you trust it, and save the state_dict alone',
          { names: [pickled.forbidden], found: pickled.forbidden },
        ),
      );
    }
    return only(malformed(source, `in ${archive}/data.pkl at byte ${pickled.at}, ${pickled.problem}`));
  }

  const chosen = chooseStateDict(pickled.value, source, key);
  if ('diagnostic' in chosen) return only(chosen.diagnostic);
  return gatherTensors(chosen.stateDict, bytes, entries, archive, source);
}

/** The dict of tensors: the pickled object itself, or its entry `key`. */
function chooseStateDict(
  root: PickleValue,
  source: string,
  key: string | undefined,
): { stateDict: PickleDict } | { diagnostic: Diagnostic } {
  const rootDict = asDict(root);
  if (rootDict === undefined) {
    return {
      diagnostic: selection(source, `the checkpoint holds ${describe(root)}, not a dict of tensors`, resaveHint, {
        found: describe(root),
      }),
    };
  }
  const keys = rootDict.entries.flatMap(([k]) => (typeof k === 'string' ? [k] : []));
  if (key !== undefined) {
    const entry = rootDict.entries.find(([k]) => k === key);
    if (entry === undefined) {
      const shown = keys
        .slice(0, 20)
        .map((k) => `\`${k}\``)
        .join(', ');
      const more = keys.length > 20 ? ` and ${keys.length - 20} more` : '';
      const suggestion = didYouMean(key, keys);
      return {
        diagnostic: selection(
          source,
          `the checkpoint has no key \`${key}\`; its keys are ${keys.length === 0 ? 'none' : `${shown}${more}`}`,
          `${suggestion === undefined ? '' : `${suggestion} `}name the entry that holds the state_dict after the last \`:\`, as in \`--weights ${source}:KEY\``,
          { names: [key], found: key, expected: keys.slice(0, 100) },
        ),
      };
    }
    const value = asDict(entry[1]);
    if (value === undefined || !holdsTensors(value)) {
      return {
        diagnostic: selection(
          source,
          `the checkpoint's entry \`${key}\` is ${describe(entry[1])}, not a state_dict of tensors`,
          `name an entry that holds the state_dict; the keys holding tensors are ${listOrNone(dictsOfTensors(rootDict))}`,
          { names: [key], found: describe(entry[1]), expected: dictsOfTensors(rootDict) },
        ),
      };
    }
    return { stateDict: value };
  }
  if (holdsTensors(rootDict)) return { stateDict: rootDict };
  const candidates = dictsOfTensors(rootDict);
  return {
    diagnostic: selection(
      source,
      candidates.length === 0
        ? 'the checkpoint is a dict that holds no tensors'
        : `the checkpoint is a dict whose tensors are under ${listOrNone(candidates)}, not a state_dict itself`,
      candidates.length === 0 ? resaveHint : `choose the state_dict with \`--weights ${source}:${candidates[0]}\``,
      { expected: candidates, found: 'a dict without tensors' },
    ),
  };
}

function gatherTensors(
  stateDict: PickleDict,
  bytes: Uint8Array,
  entries: ReadonlyMap<string, ZipEntry>,
  archive: string,
  source: string,
): PtContents {
  const diagnostics: Diagnostic[] = [];
  const tensors = new Map<string, WeightTensor>();
  let budget = bytes.length + elementMargin;
  for (const [name, value] of stateDict.entries) {
    if (typeof name !== 'string' || !isTensor(value)) continue;
    const storage = value.storage;
    const entry = entries.get(`${archive}/data/${storage.key}`);
    if (entry === undefined) {
      diagnostics.push(
        invalidArchive(
          source,
          `tensor \`${name}\` uses storage ${JSON.stringify(storage.key)}, but the archive has no ${archive}/data/${storage.key}`,
          resaveHint,
          { names: [name] },
        ),
      );
      continue;
    }
    const size = elementSize[storage.dtype];
    if (entry.size !== storage.numel * size) {
      diagnostics.push(
        invalidArchive(
          source,
          `storage ${JSON.stringify(storage.key)} should hold ${storage.numel} ${storage.dtype} elements (${storage.numel * size} bytes), but its entry has ${entry.size} bytes`,
          `the file may be damaged; ${resaveHint}`,
          { names: [name], expected: storage.numel * size, found: entry.size },
        ),
      );
      continue;
    }
    const count = value.shape.reduce((product, d) => product * d, 1);
    const reach = lastElement(value);
    if (count > 0 && reach >= storage.numel) {
      diagnostics.push(
        malformed(
          source,
          `tensor \`${name}\` (shape [${value.shape.join(', ')}], strides [${value.strides.join(', ')}], offset ${value.offset}) reaches element ${reach} of a storage of ${storage.numel}`,
          { names: [name], limit: storage.numel, found: reach },
        ),
      );
      continue;
    }
    if (count > budget) {
      diagnostics.push(
        malformed(
          source,
          `tensor \`${name}\` has ${count} elements, more than the file could hold (views that repeat data this much are refused)`,
          {
            names: [name],
            found: count,
            limit: budget,
          },
        ),
      );
      break;
    }
    budget -= count;
    const dtype = storage.dtype;
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'F64') {
      diagnostics.push(
        error(
          'SEQ101',
          spanOfWhole(source),
          `tensor \`${name}\` has element type ${dtype}, but seqc reads only F32, F16, BF16 and F64`,
          'seqc needs floating-point parameters; convert the tensor to float32 before saving, e.g. `tensor.float()` in PyTorch.',
          { names: [name], found: dtype, expected: ['F32', 'F16', 'BF16', 'F64'] },
        ),
      );
      continue;
    }
    tensors.set(name, { shape: value.shape, data: gather(entryBytes(bytes, entry), dtype, value, count) });
  }
  if (diagnostics.length > 0) return { diagnostics };
  return { tensors, diagnostics };
}

type FloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';

/** The tensor's elements in row-major order, read through its offset and strides, as float32. */
function gather(storageBytes: Uint8Array, dtype: FloatDtype, tensor: TensorRecord, count: number): Float32Array {
  const view = new DataView(storageBytes.buffer, storageBytes.byteOffset, storageBytes.byteLength);
  const read = elementReader(view, dtype);
  const data = new Float32Array(count);
  if (count === 0) return data;
  const rank = tensor.shape.length;
  const index = new Array<number>(rank).fill(0);
  let position = tensor.offset;
  for (let i = 0; i < count; i++) {
    data[i] = read(position);
    // Advance the index like an odometer, moving `position` by the strides.
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++;
      position += tensor.strides[axis]!;
      if (index[axis]! < tensor.shape[axis]!) break;
      position -= tensor.strides[axis]! * tensor.shape[axis]!;
      index[axis] = 0;
    }
  }
  return data;
}

function elementReader(view: DataView, dtype: FloatDtype): (element: number) => number {
  switch (dtype) {
    case 'F32':
      return (element) => view.getFloat32(4 * element, true);
    case 'F64':
      return (element) => view.getFloat64(8 * element, true);
    case 'F16':
      return (element) => float16BitsToNumber(view.getUint16(2 * element, true));
    case 'BF16':
      return (element) => bfloat16BitsToNumber(view.getUint16(2 * element, true));
    default:
      return assertNever(dtype);
  }
}

/** The storage index of the tensor's last element (the largest any element reaches). */
function lastElement(tensor: TensorRecord): number {
  return tensor.shape.reduce((reach, size, axis) => reach + (size - 1) * tensor.strides[axis]!, tensor.offset);
}

function isZip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6))
  );
}

function asDict(value: PickleValue | undefined): PickleDict | undefined {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'dict' ? value : undefined;
}

function isTensor(value: PickleValue): value is TensorRecord {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'tensor';
}

function holdsTensors(dict: PickleDict): boolean {
  return dict.entries.some(([k, v]) => typeof k === 'string' && isTensor(v));
}

/** The string keys of `dict` whose values are dicts holding tensors: the candidates for `:KEY`. */
function dictsOfTensors(dict: PickleDict): string[] {
  return dict.entries.flatMap(([k, v]) => {
    const inner = asDict(v);
    return typeof k === 'string' && inner !== undefined && holdsTensors(inner) ? [k] : [];
  });
}

function listOrNone(keys: readonly string[]): string {
  return keys.length === 0 ? 'none' : keys.map((k) => `\`${k}\``).join(', ');
}

function only(diagnostic: Diagnostic): PtContents {
  return { diagnostics: [diagnostic] };
}

function invalidArchive(source: string, message: string, hint: string, facts?: Facts): Diagnostic {
  return error(
    'SEQ210',
    spanOfWhole(source),
    `${source} is not a readable PyTorch checkpoint: ${message}`,
    hint,
    facts,
  );
}

function malformed(source: string, message: string, facts?: Facts): Diagnostic {
  return error(
    'SEQ212',
    spanOfWhole(source),
    `the checkpoint ${source} is malformed: ${message}`,
    `the file may be damaged; ${resaveHint}`,
    facts,
  );
}

function selection(source: string, message: string, hint: string, facts: Facts): Diagnostic {
  return error('SEQ213', spanOfWhole(source), message, hint, facts);
}
