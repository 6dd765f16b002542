// Hostile and malformed PyTorch checkpoints (hand-built pickles and zips, truncations, bit flips): each one a diagnostic with a code, in bounded time, never an exception.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readPtCheckpoint } from '../src/index.js';
import type { Diagnostic } from '../src/diagnostics/diagnostic.js';
import { seededRandom } from './reference/float64.js';

const fixtures = fileURLToPath(new URL('./fixtures/pt/', import.meta.url));
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(fixtures, name)));
const checkpointCodes = new Set(['SEQ101', 'SEQ210', 'SEQ211', 'SEQ212', 'SEQ213', 'SEQ214']);

/** Reads bytes as a checkpoint, which must give tensors or coded errors, quickly. */
function read(bytes: Uint8Array, key?: string): { codes: string[]; diagnostics: Diagnostic[]; ok: boolean } {
  const started = performance.now();
  const result = readPtCheckpoint(bytes, 'hostile.pt', key);
  expect(performance.now() - started).toBeLessThan(5_000);
  for (const d of result.diagnostics) {
    expect(checkpointCodes.has(d.code), `${d.code}: ${d.message}`).toBe(true);
    expect(d.message).not.toMatch(/unexpectedly|bug in seqc/);
    expect(d.hint).toBeTruthy();
  }
  const ok = result.tensors !== undefined;
  expect(ok || result.diagnostics.length > 0).toBe(true);
  return { codes: result.diagnostics.map((d) => d.code), diagnostics: result.diagnostics, ok };
}

// A tiny pickle writer, protocol 2, for building files no PyTorch would write.

const text = (s: string): number[] => [...new TextEncoder().encode(s)];
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const op = {
  proto: [0x80, 2],
  stop: [0x2e],
  mark: [0x28],
  tuple: [0x74],
  emptyTuple: [0x29],
  emptyDict: [0x7d],
  emptyList: [0x5d],
  setitem: [0x73],
  setitems: [0x75],
  append: [0x61],
  reduce: [0x52],
  build: [0x62],
  persid: [0x51],
  none: [0x4e],
  false: [0x89],
  tuple1: [0x85],
};
const global = (module: string, name: string): number[] => [0x63, ...text(`${module}\n${name}\n`)];
const str = (s: string): number[] => {
  const bytes = text(s);
  return [0x58, ...u32(bytes.length), ...bytes];
};
const int = (n: number): number[] => [0x4a, ...u32(n)];
const ints = (values: readonly number[]): number[] => [...op.mark, ...values.flatMap(int), ...op.tuple];
/** `part` written `count` times, built without spreading a huge argument list. */
const repeat = (part: readonly number[], count: number): number[] => {
  const out: number[] = [];
  for (let i = 0; i < count; i++) for (const byte of part) out.push(byte);
  return out;
};
const pickle = (...parts: number[][]): Uint8Array => Uint8Array.from([...op.proto, ...parts.flat(), ...op.stop]);

interface View {
  readonly numel: number;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly storageClass?: string;
  readonly key?: string;
}

/** `_rebuild_tensor_v2(('storage', torch.FloatStorage, key, 'cpu', numel), offset, shape, strides, False, OrderedDict())`. */
const tensor = (v: View): number[] => [
  ...global('torch._utils', '_rebuild_tensor_v2'),
  ...op.mark,
  ...[...op.mark, ...str('storage'), ...global('torch', v.storageClass ?? 'FloatStorage'), ...str(v.key ?? '0')],
  ...[...str('cpu'), ...int(v.numel), ...op.tuple, ...op.persid],
  ...[...int(v.offset), ...ints(v.shape), ...ints(v.strides), ...op.false],
  ...[...global('collections', 'OrderedDict'), ...op.emptyTuple, ...op.reduce],
  ...op.tuple,
  ...op.reduce,
];
const stateDict = (entries: Record<string, number[]>): Uint8Array =>
  pickle(op.emptyDict, op.mark, ...Object.entries(entries).flatMap(([k, v]) => [str(k), v]), op.setitems);

/** A stored zip of the given entries, as `torch.save` lays out `archive/…`. */
function zip(entries: readonly (readonly [string, Uint8Array])[], options: { method?: number } = {}): Uint8Array {
  const local: number[] = [];
  const central: number[] = [];
  const u16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
  for (const [name, data] of entries) {
    const offset = local.length;
    const nameBytes = text(name);
    const fields = [...u16(20), ...u16(0), ...u16(options.method ?? 0), ...u16(0), ...u16(0), ...u32(0)];
    const sizes = [...u32(data.length), ...u32(data.length), ...u16(nameBytes.length), ...u16(0)];
    local.push(...u32(0x04034b50), ...fields, ...sizes, ...nameBytes);
    for (const byte of data) local.push(byte);
    central.push(...u32(0x02014b50), ...u16(20), ...fields, ...sizes, ...u16(0), ...u16(0), ...u16(0), ...u32(0));
    central.push(...u32(offset), ...nameBytes);
  }
  const end = [...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(entries.length), ...u16(entries.length)];
  end.push(...u32(central.length), ...u32(local.length), ...u16(0));
  const bytes = new Uint8Array(local.length + central.length + end.length);
  bytes.set(local);
  bytes.set(central, local.length);
  bytes.set(end, local.length + central.length);
  return bytes;
}

const floats = (count: number): Uint8Array => new Uint8Array(new Float32Array(count).fill(0.5).buffer);
const checkpoint = (pkl: Uint8Array, storages: Record<string, Uint8Array> = {}): Uint8Array =>
  zip([['archive/data.pkl', pkl], ...Object.entries(storages).map(([k, v]) => [`archive/data/${k}`, v] as const)]);

describe('the hand-built writer makes checkpoints the reader accepts', () => {
  it('a 2×3 tensor and its transposed view of one storage', () => {
    const bytes = checkpoint(
      stateDict({
        w: tensor({ numel: 6, offset: 0, shape: [2, 3], strides: [3, 1] }),
        t: tensor({ numel: 6, offset: 0, shape: [3, 2], strides: [1, 3] }),
      }),
      { '0': new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer) },
    );
    const result = readPtCheckpoint(bytes, 'x.pt');
    expect(result.diagnostics).toEqual([]);
    expect(Array.from(result.tensors!.get('t')!.data)).toEqual([0, 3, 1, 4, 2, 5]);
  });
});

describe('pickles that would run code are refused by name (SEQ211)', () => {
  it.each([
    ['os.system', pickle(global('os', 'system'), str('echo pwned'), op.tuple1, op.reduce)],
    ['posix.system', pickle(global('posix', 'system'), str('echo pwned'), op.tuple1, op.reduce)],
    ['builtins.eval', pickle(global('builtins', 'eval'), str('1+1'), op.tuple1, op.reduce)],
    ['builtins.getattr', pickle(global('builtins', 'getattr'))],
    ['subprocess.Popen', stateDict({ w: [...global('subprocess', 'Popen'), ...op.emptyTuple, ...op.reduce] })],
    ['torch.load', pickle(global('torch', 'load'))],
    ['torch._utils._rebuild_tensor', pickle(global('torch._utils', '_rebuild_tensor'))],
    ['collections.OrderedDict.__proto__', pickle(global('collections.OrderedDict', '__proto__'))],
    ['os.system', pickle([0x8c, 2, ...text('os'), 0x8c, 6, ...text('system'), 0x93])],
    ['INST', pickle([0x69, ...text('os\nsystem\n')])],
    ['OBJ', pickle(op.mark, global('collections', 'OrderedDict'), [0x6f])],
    ['NEWOBJ', pickle(global('collections', 'OrderedDict'), op.emptyTuple, [0x81])],
    ['EXT1', pickle([0x82, 1])],
    ['BUILD', pickle(tensor({ numel: 1, offset: 0, shape: [], strides: [] }), op.emptyDict, op.build)],
    ['REDUCE', pickle(global('torch', 'FloatStorage'), op.emptyTuple, op.reduce)],
  ])('%s', (forbidden, pkl) => {
    const r = read(checkpoint(pkl, { '0': floats(1) }));
    expect(r.codes).toEqual(['SEQ211']);
    expect(r.diagnostics[0]!.facts?.names).toEqual([forbidden]);
    expect(r.diagnostics[0]!.message).toContain(forbidden);
  });
});

describe('malformed pickles and views (SEQ212, SEQ213)', () => {
  const deepMarks = pickle(repeat(op.mark, 2_000));
  const deepTuples = pickle(op.none, repeat(op.tuple1, 100_000));
  const deepLists = pickle(repeat(op.emptyList, 50_000), repeat(op.append, 49_999));
  const selfList = pickle(op.emptyList, [0x71, 0], [0x68, 0], op.append);
  const selfDict = pickle(op.emptyDict, [0x71, 0], str('model'), [0x68, 0], op.setitem);
  const manyValues = pickle(repeat(op.none, 1_000_001));
  const manyMemo = pickle(op.none, Array.from({ length: 1_000_001 }, (_, i) => [0x72, ...u32(i)]).flat());
  it.each([
    ['an empty pickle', new Uint8Array(0), 'SEQ212'],
    ['a pickle of protocol 1', Uint8Array.from([0x80, 1, 0x4e, 0x2e]), 'SEQ212'],
    ['no STOP', Uint8Array.from([0x80, 2, 0x4e]), 'SEQ212'],
    ['an unknown opcode', pickle([0xff]), 'SEQ212'],
    ['a string longer than the pickle', pickle([0x58, ...u32(0xffffffff)]), 'SEQ212'],
    ['a memo entry never stored', pickle([0x68, 7]), 'SEQ212'],
    ['a stack underflow', pickle(op.setitem), 'SEQ212'],
    ['a MARK never closed', pickle(op.mark, op.none), 'SEQ212'],
    ['2,000 nested MARKs', deepMarks, 'SEQ212'],
    ['a million and one values on the stack', manyValues, 'SEQ212'],
    ['a million and one memo entries', manyMemo, 'SEQ212'],
    ['100,000 nested tuples', deepTuples, 'SEQ213'],
    ['50,000 nested lists', deepLists, 'SEQ213'],
    ['a list that contains itself', selfList, 'SEQ213'],
    ['a dict that contains itself', selfDict, 'SEQ213'],
    ['a 9-byte integer', pickle([0x8a, 9, ...Array.from({ length: 9 }, () => 1)]), 'SEQ212'],
    ['a persistent id that is not a storage', pickle(str('x'), op.persid), 'SEQ212'],
    [
      'a view past its storage',
      stateDict({ w: tensor({ numel: 4, offset: 2, shape: [2, 2], strides: [2, 1] }) }),
      'SEQ212',
    ],
    [
      'a stride-0 view of a trillion elements',
      stateDict({ w: tensor({ numel: 4, offset: 0, shape: [1_000_000, 1_000_000], strides: [0, 0] }) }),
      'SEQ212',
    ],
    [
      'a storage claiming 2^40 elements',
      stateDict({ w: tensor({ numel: 2 ** 40, offset: 0, shape: [1], strides: [1] }) }),
      'SEQ210',
    ],
    [
      'a storage missing from the archive',
      stateDict({ w: tensor({ numel: 1, offset: 0, shape: [], strides: [], key: '9' }) }),
      'SEQ210',
    ],
    [
      'a shape and strides of different ranks',
      stateDict({ w: tensor({ numel: 4, offset: 0, shape: [4], strides: [1, 1] }) }),
      'SEQ212',
    ],
    [
      'a tensor of 65 dimensions',
      stateDict({ w: tensor({ numel: 1, offset: 0, shape: Array(65).fill(1), strides: Array(65).fill(1) }) }),
      'SEQ212',
    ],
    ['a top-level tensor', pickle(tensor({ numel: 4, offset: 0, shape: [4], strides: [1] })), 'SEQ213'],
    [
      'an int storage',
      stateDict({ w: tensor({ numel: 1, offset: 0, shape: [1], strides: [1], storageClass: 'LongStorage' }) }),
      'SEQ210',
    ],
  ])('%s', (_, pkl, code) => {
    expect(read(checkpoint(pkl, { '0': floats(4) })).codes).toEqual([code]);
  });
});

describe('malformed and hostile zips (SEQ210, SEQ214)', () => {
  const good = stateDict({ w: tensor({ numel: 4, offset: 0, shape: [4], strides: [1] }) });
  it.each([
    ['an empty file', new Uint8Array(0)],
    ['a zip with no data.pkl', zip([['archive/version', Uint8Array.from([0x33])]])],
    [
      'two data.pkl',
      zip([
        ['a/data.pkl', good],
        ['b/data.pkl', good],
      ]),
    ],
    [
      'a compressed entry',
      zip(
        [
          ['archive/data.pkl', good],
          ['archive/data/0', floats(4)],
        ],
        { method: 8 },
      ),
    ],
    ['a path with ..', zip([['archive/../data.pkl', good]])],
    ['an absolute path', zip([['/archive/data.pkl', good]])],
    ['a backslash', zip([['archive\\data.pkl', good]])],
    [
      'a duplicate name',
      zip([
        ['archive/data.pkl', good],
        ['archive/data.pkl', good],
      ]),
    ],
    ['a storage of the wrong size', checkpoint(good, { '0': floats(3) })],
  ])('%s', (_, bytes) => {
    expect(read(bytes).codes).toEqual(['SEQ210']);
  });

  it('an end record that claims 65,535 entries, a huge directory, or an entry outside the file', () => {
    const bytes = checkpoint(good, { '0': floats(4) });
    const end = bytes.length - 22;
    const patched = (at: number, value: number[]): Uint8Array => {
      const copy = bytes.slice();
      copy.set(value, at);
      return copy;
    };
    expect(read(patched(end + 8, [0xfe, 0xff, 0xfe, 0xff])).codes).toEqual(['SEQ210']);
    expect(read(patched(end + 12, u32(0x7fffffff))).codes).toEqual(['SEQ210']);
    const centralStart = bytes[end + 16]! | (bytes[end + 17]! << 8);
    expect(read(patched(centralStart + 42, u32(0x7ffffff0))).codes).toEqual(['SEQ210']);
    // Two directory entries pointing at the same local header overlap.
    expect(read(patched(centralStart + 46 + 16 + 42, u32(0))).codes).toEqual(['SEQ210']);
  });

  it('a big-endian byte order is refused (SEQ214)', () => {
    const bytes = zip([
      ['archive/data.pkl', good],
      ['archive/data/0', floats(4)],
      ['archive/byteorder', Uint8Array.from(text('big'))],
    ]);
    expect(read(bytes).codes).toEqual(['SEQ214']);
  });
});

describe('truncations and bit flips of real checkpoints', () => {
  for (const name of ['tagger.pt', 'views.pt', 'checkpoint.pt']) {
    it(`${name}: every truncation is refused with a code`, () => {
      const bytes = fixture(name);
      for (let length = 0; length < bytes.length; length += length < 64 || length > bytes.length - 200 ? 1 : 37) {
        const r = read(bytes.subarray(0, length), name === 'checkpoint.pt' ? 'model' : undefined);
        expect(r.ok, `cut at ${length}`).toBe(false);
      }
    });

    it(`${name}: 400 seeded bit flips read or are refused, never throw`, () => {
      const bytes = fixture(name);
      const random = seededRandom(name.length * 7919);
      let refused = 0;
      for (let trial = 0; trial < 400; trial++) {
        const copy = bytes.slice();
        for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
          copy[Math.floor(random() * copy.length)]! ^= 1 << Math.floor(random() * 8);
        }
        if (!read(copy, name === 'checkpoint.pt' ? 'model' : undefined).ok) refused++;
      }
      expect(refused).toBeGreaterThan(0);
    });
  }
});
