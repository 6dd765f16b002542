// Reads the data of a pickle as plain values, never executing it: only the opcodes and globals a tensor state_dict needs.

import { assertNever } from '../contracts/assert.js';

/**
 * The globals a PyTorch state_dict refers to, and nothing else. Python would import and call
 * them; this reader only recognizes them by name and builds inert values in their place.
 */
export const allowedGlobals = {
  'collections.OrderedDict': 'OrderedDict',
  'torch._utils._rebuild_tensor_v2': 'rebuildTensor',
  'torch._utils._rebuild_parameter': 'rebuildParameter',
  'torch.FloatStorage': 'F32',
  'torch.HalfStorage': 'F16',
  'torch.BFloat16Storage': 'BF16',
  'torch.DoubleStorage': 'F64',
  'torch.LongStorage': 'I64',
  'torch.IntStorage': 'I32',
  'torch.ShortStorage': 'I16',
  'torch.CharStorage': 'I8',
  'torch.ByteStorage': 'U8',
  'torch.BoolStorage': 'BOOL',
} as const;

export type AllowedGlobal = (typeof allowedGlobals)[keyof typeof allowedGlobals];
export type StorageDtype = Exclude<AllowedGlobal, 'OrderedDict' | 'rebuildTensor' | 'rebuildParameter'>;

/** A storage named by a persistent id `('storage', torch.FloatStorage, key, location, numel)`. */
export interface StorageRecord {
  readonly kind: 'storage';
  readonly dtype: StorageDtype;
  readonly key: string;
  readonly numel: number;
}

/** What `_rebuild_tensor_v2(storage, offset, size, stride, …)` would return: a view of a storage. */
export interface TensorRecord {
  readonly kind: 'tensor';
  readonly storage: StorageRecord;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

export interface PickleDict {
  readonly kind: 'dict';
  readonly entries: [PickleValue, PickleValue][];
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | { readonly kind: 'tuple'; readonly items: readonly PickleValue[] }
  | { readonly kind: 'list'; readonly items: PickleValue[] }
  | { readonly kind: 'bytes'; readonly length: number }
  | { readonly kind: 'global'; readonly name: AllowedGlobal }
  | PickleDict
  | StorageRecord
  | TensorRecord;

/** Bounds against hostile pickles: every one is far above what a real checkpoint needs. */
export const pickleLimits = {
  /** Values on the stack at once. */
  stack: 1_000_000,
  /** Open MARKs at once, i.e. how deeply collections nest while they are being built. */
  marks: 1_000,
  /** Memo entries. */
  memo: 1_000_000,
  /** Dimensions of a tensor. */
  rank: 64,
} as const;

/** The value the pickle describes, or why it was refused: `forbidden` names an opcode or global outside the allow-list. */
export type PickleResult =
  { readonly value: PickleValue } | { readonly problem: string; readonly forbidden?: string; readonly at: number };

/**
 * Interprets a pickle (protocols 2 to 5) over the allow-list. Each opcode outside it (e.g. `INST`,
 * `NEWOBJ`, `BUILD` on anything but a dict) and each global outside `allowedGlobals` (e.g.
 * `os.system`, `builtins.eval`) is refused by name. REDUCE is honoured only for the allowed
 * callables, whose effect is rebuilt here as data. Never throws on bad bytes.
 */
export function readPickle(bytes: Uint8Array): PickleResult {
  try {
    return new Machine(bytes).run();
  } catch (thrown) {
    if (thrown instanceof Refusal) {
      return {
        problem: thrown.message,
        at: thrown.at,
        ...(thrown.forbidden === undefined ? {} : { forbidden: thrown.forbidden }),
      };
    }
    if (thrown instanceof RangeError)
      return { problem: `the pickle is malformed (${thrown.message})`, at: bytes.length };
    throw thrown;
  }
}

class Refusal extends Error {
  constructor(
    message: string,
    readonly at: number,
    readonly forbidden?: string,
  ) {
    super(message);
  }
}

const mark: unique symbol = Symbol('mark');
type Slot = PickleValue | typeof mark;

/** Names of the opcodes seqc refuses, so that a refusal says which one it met. */
const refusedOpcodes: Readonly<Record<number, string>> = {
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4c: 'LONG',
  0x50: 'PERSID',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x67: 'GET',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x8b: 'LONG4',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

class Machine {
  private at = 0;
  private readonly view: DataView;
  private readonly stack: Slot[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): PickleResult {
    for (;;) {
      const opcodeAt = this.at;
      const opcode = this.u8();
      switch (opcode) {
        case 0x80: {
          const protocol = this.u8();
          if (protocol < 2 || protocol > 5) this.refuse(`it declares pickle protocol ${protocol}; seqc reads 2 to 5`);
          break;
        }
        case 0x95: // FRAME: a length prefix that changes nothing for an in-memory reader.
          this.take(8);
          break;
        case 0x2e: {
          // STOP
          if (this.marks.length > 0) this.refuse('it stops with a MARK still open');
          if (this.stack.length !== 1)
            this.refuse(`it stops with ${this.stack.length} values on the stack instead of 1`);
          return { value: this.value(this.stack.pop()!) };
        }
        case 0x4e:
          this.push(null);
          break;
        case 0x88:
          this.push(true);
          break;
        case 0x89:
          this.push(false);
          break;
        case 0x4b:
          this.push(this.u8());
          break;
        case 0x4d:
          this.push(this.take(2) && this.view.getUint16(this.at - 2, true));
          break;
        case 0x4a:
          this.take(4);
          this.push(this.view.getInt32(this.at - 4, true));
          break;
        case 0x8a:
          this.push(this.long1());
          break;
        case 0x47:
          this.take(8);
          this.push(this.view.getFloat64(this.at - 8, false));
          break;
        case 0x58:
          this.push(this.text(this.u32()));
          break;
        case 0x8c:
          this.push(this.text(this.u8()));
          break;
        case 0x43:
          this.push({ kind: 'bytes', length: this.take(this.u8()) });
          break;
        case 0x42:
          this.push({ kind: 'bytes', length: this.take(this.u32()) });
          break;
        case 0x28: // MARK
          if (this.marks.length >= pickleLimits.marks) this.refuse(`it nests more than ${pickleLimits.marks} MARKs`);
          this.marks.push(this.stack.length);
          break;
        case 0x29:
          this.push({ kind: 'tuple', items: [] });
          break;
        case 0x74:
          this.push({ kind: 'tuple', items: this.popMark() });
          break;
        case 0x85:
        case 0x86:
        case 0x87: {
          const items = this.popValues(opcode - 0x84);
          this.push({ kind: 'tuple', items });
          break;
        }
        case 0x5d:
          this.push({ kind: 'list', items: [] });
          break;
        case 0x6c: // LIST
          this.push({ kind: 'list', items: this.popMark() });
          break;
        case 0x65: {
          // APPENDS
          const items = this.popMark();
          const list = this.list(this.top()).items;
          for (const item of items) list.push(item);
          break;
        }
        case 0x7d:
          this.push({ kind: 'dict', entries: [] });
          break;
        case 0x64: // DICT
          this.push({ kind: 'dict', entries: pairs(this.popMark(), this.at) });
          break;
        case 0x73: {
          // SETITEM
          const [key, value] = this.popValues(2) as [PickleValue, PickleValue];
          this.dict(this.top()).entries.push([key, value]);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = pairs(this.popMark(), this.at);
          const entries = this.dict(this.top()).entries;
          for (const item of items) entries.push(item);
          break;
        }
        case 0x71:
          this.put(this.u8());
          break;
        case 0x72:
          this.put(this.u32());
          break;
        case 0x94:
          this.put(this.memo.size);
          break;
        case 0x68:
          this.get(this.u8());
          break;
        case 0x6a:
          this.get(this.u32());
          break;
        case 0x63: {
          // GLOBAL: "module\nname\n"
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name, opcodeAt));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const [module, name] = this.popValues(2);
          if (typeof module !== 'string' || typeof name !== 'string') this.refuse('STACK_GLOBAL needs two strings');
          this.push(this.global(module, name, opcodeAt));
          break;
        }
        case 0x51: {
          // BINPERSID
          const [id] = this.popValues(1);
          this.push(this.storage(id!));
          break;
        }
        case 0x52: {
          // REDUCE
          const [callable, args] = this.popValues(2);
          this.push(this.reduce(callable!, args!, opcodeAt));
          break;
        }
        case 0x62: {
          // BUILD: only an OrderedDict's `_metadata` attribute, which seqc ignores.
          const [target] = this.popValues(2);
          if (typeof target !== 'object' || target === null || !('kind' in target) || target.kind !== 'dict') {
            this.refuse(`BUILD on ${describe(target!)}, which would set the state of an object`, 'BUILD');
          }
          this.push(target);
          break;
        }
        case 0x61: {
          // APPEND
          const [item] = this.popValues(1);
          this.list(this.top()).items.push(item!);
          break;
        }
        default: {
          this.at = opcodeAt;
          const name = refusedOpcodes[opcode];
          if (name === undefined) {
            this.refuse(`it has byte 0x${opcode.toString(16).padStart(2, '0')}, which is no pickle opcode`);
          }
          this.refuse(`it uses the opcode ${name}, which a PyTorch state_dict does not need`, name);
        }
      }
    }
  }

  private refuse(message: string, forbidden?: string): never {
    throw new Refusal(message, this.at, forbidden);
  }

  private u8(): number {
    if (this.at >= this.bytes.length) this.refuse('the pickle ends without a STOP opcode');
    return this.bytes[this.at++]!;
  }

  private u32(): number {
    this.take(4);
    return this.view.getUint32(this.at - 4, true);
  }

  /** Skips `count` bytes, which must be there; returns the count. */
  private take(count: number): number {
    if (this.at + count > this.bytes.length) this.refuse(`an opcode claims ${count} bytes, past the end of the pickle`);
    this.at += count;
    return count;
  }

  private text(length: number): string {
    const start = this.at;
    this.take(length);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(start, start + length));
    } catch {
      return this.refuse('a string in the pickle is not UTF-8');
    }
  }

  private line(): string {
    const start = this.at;
    const end = this.bytes.indexOf(0x0a, start);
    if (end < 0 || end - start > 256) this.refuse('a GLOBAL opcode has no name line of at most 256 characters');
    this.at = end + 1;
    return new TextDecoder('utf-8').decode(this.bytes.subarray(start, end));
  }

  private long1(): number | bigint {
    const length = this.u8();
    if (length > 8) this.refuse(`an integer of ${length} bytes is larger than any a state_dict holds`);
    const start = this.at;
    this.take(length);
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(this.bytes[start + i]!);
    if (length > 0 && this.bytes[start + length - 1]! >= 0x80) value -= 1n << BigInt(8 * length);
    const safe = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
    return safe ? Number(value) : value;
  }

  private push(value: Slot): void {
    if (this.stack.length >= pickleLimits.stack)
      this.refuse(`it puts more than ${pickleLimits.stack} values on the stack`);
    this.stack.push(value);
  }

  private top(): PickleValue {
    const floor = this.marks.length === 0 ? 0 : this.marks[this.marks.length - 1]!;
    if (this.stack.length <= floor) this.refuse('an opcode needs a value but the stack is empty');
    return this.value(this.stack[this.stack.length - 1]!);
  }

  /** The top `count` values, in order; none may be a MARK, nor below the innermost open MARK. */
  private popValues(count: number): PickleValue[] {
    const floor = this.marks.length === 0 ? 0 : this.marks[this.marks.length - 1]!;
    if (this.stack.length - count < floor) this.refuse(`an opcode needs ${count} values but the stack has fewer`);
    return this.stack.splice(this.stack.length - count, count).map((slot) => this.value(slot));
  }

  private popMark(): PickleValue[] {
    const start = this.marks.pop();
    if (start === undefined) this.refuse('an opcode closes a MARK that was never opened');
    return this.stack.splice(start).map((slot) => this.value(slot));
  }

  private value(slot: Slot): PickleValue {
    if (slot === mark) this.refuse('a MARK is used as a value');
    return slot;
  }

  private list(value: PickleValue): { kind: 'list'; items: PickleValue[] } {
    if (typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'list') return value;
    return this.refuse(`APPENDS onto ${describe(value)}, which is not a list`);
  }

  private dict(value: PickleValue): PickleDict {
    if (typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'dict') return value;
    return this.refuse(`SETITEM onto ${describe(value)}, which is not a dict`);
  }

  private put(index: number): void {
    if (this.memo.size >= pickleLimits.memo && !this.memo.has(index)) {
      this.refuse(`it memoizes more than ${pickleLimits.memo} values`);
    }
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    const value = this.memo.get(index);
    if (value === undefined) this.refuse(`it reads memo entry ${index}, which was never stored`);
    this.push(value);
  }

  private global(module: string, name: string, at: number): PickleValue {
    const full = `${module}.${name}`;
    const known = (allowedGlobals as Record<string, AllowedGlobal | undefined>)[full];
    if (known === undefined || !Object.hasOwn(allowedGlobals, full)) {
      throw new Refusal(`it refers to the global \`${full}\`, which a PyTorch state_dict does not need`, at, full);
    }
    return { kind: 'global', name: known };
  }

  /** A persistent id: `('storage', storage class, key, location, numel)`. */
  private storage(id: PickleValue): StorageRecord {
    const items = tupleItems(id);
    if (items === undefined || items.length !== 5 || items[0] !== 'storage') {
      return this.refuse(
        `a persistent id is ${describe(id)}, but PyTorch writes ('storage', class, key, location, size)`,
      );
    }
    const [, type, key, , numel] = items;
    const dtype = globalName(type);
    if (dtype === undefined || dtype === 'OrderedDict' || dtype === 'rebuildTensor' || dtype === 'rebuildParameter') {
      return this.refuse(`a persistent id names ${describe(type!)} as its storage class`);
    }
    if (typeof key !== 'string') return this.refuse(`a persistent id has the key ${describe(key!)}, not a string`);
    if (!isCount(numel)) return this.refuse(`storage ${JSON.stringify(key)} claims ${describe(numel!)} elements`);
    return { kind: 'storage', dtype, key, numel };
  }

  private reduce(callable: PickleValue, args: PickleValue, at: number): PickleValue {
    const name = globalName(callable);
    const items = tupleItems(args);
    if (name === undefined || items === undefined) {
      throw new Refusal(`REDUCE calls ${describe(callable)}, which seqc cannot call`, at, 'REDUCE');
    }
    switch (name) {
      case 'OrderedDict':
        if (items.length !== 0) this.refuse('OrderedDict is called with arguments; PyTorch calls it with none');
        return { kind: 'dict', entries: [] };
      case 'rebuildTensor':
        return this.tensor(items);
      case 'rebuildParameter': {
        const tensor = items[0];
        if (
          items.length < 1 ||
          typeof tensor !== 'object' ||
          tensor === null ||
          !('kind' in tensor) ||
          tensor.kind !== 'tensor'
        ) {
          return this.refuse('_rebuild_parameter is called without a tensor');
        }
        return tensor;
      }
      default:
        throw new Refusal(
          `REDUCE calls the storage class \`${pythonName(name)}\`, which PyTorch never does`,
          at,
          'REDUCE',
        );
    }
  }

  /** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
  private tensor(items: readonly PickleValue[]): TensorRecord {
    if (items.length < 4) return this.refuse(`_rebuild_tensor_v2 is called with ${items.length} arguments, not 6`);
    const [storage, offset, size, stride] = items;
    if (typeof storage !== 'object' || storage === null || !('kind' in storage) || storage.kind !== 'storage') {
      return this.refuse(`_rebuild_tensor_v2 is called on ${describe(storage!)}, not a storage`);
    }
    const shape = counts(size);
    const strides = counts(stride);
    if (!isCount(offset) || shape === undefined || strides === undefined || shape.length !== strides.length) {
      return this.refuse(
        `_rebuild_tensor_v2 is called with offset ${describe(offset!)}, size ${describe(size!)} and stride ${describe(stride!)}`,
      );
    }
    if (shape.length > pickleLimits.rank)
      this.refuse(`a tensor has ${shape.length} dimensions, more than ${pickleLimits.rank}`);
    return { kind: 'tensor', storage, offset, shape, strides };
  }
}

function pairs(items: readonly PickleValue[], at: number): [PickleValue, PickleValue][] {
  if (items.length % 2 !== 0) throw new Refusal('a dict is built from an odd number of values', at);
  const result: [PickleValue, PickleValue][] = [];
  for (let i = 0; i < items.length; i += 2) result.push([items[i]!, items[i + 1]!]);
  return result;
}

function tupleItems(value: PickleValue): readonly PickleValue[] | undefined {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'tuple'
    ? value.items
    : undefined;
}

function globalName(value: PickleValue | undefined): AllowedGlobal | undefined {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'global'
    ? value.name
    : undefined;
}

function isCount(value: PickleValue | undefined): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function counts(value: PickleValue | undefined): number[] | undefined {
  const items = value === undefined ? undefined : tupleItems(value);
  if (items === undefined || !items.every(isCount)) return undefined;
  return items as number[];
}

/** The Python name of an allowed global, as the pickle wrote it. */
function pythonName(name: AllowedGlobal): string {
  return Object.entries(allowedGlobals).find(([, known]) => known === name)![0];
}

/** Names a value briefly for a message, without walking into it. */
export function describe(value: PickleValue): string {
  if (value === null) return 'None';
  switch (typeof value) {
    case 'boolean':
      return value ? 'True' : 'False';
    case 'number':
    case 'bigint':
      return String(value);
    case 'string':
      return value.length <= 40 ? JSON.stringify(value) : 'a string';
    default:
      break;
  }
  switch (value.kind) {
    case 'tuple':
      return `a tuple of ${value.items.length}`;
    case 'list':
      return `a list of ${value.items.length}`;
    case 'bytes':
      return `${value.length} bytes`;
    case 'global':
      return `\`${pythonName(value.name)}\``;
    case 'dict':
      return `a dict of ${value.entries.length}`;
    case 'storage':
      return `a ${value.dtype} storage`;
    case 'tensor':
      return `a ${value.storage.dtype} tensor`;
    default:
      return assertNever(value);
  }
}
