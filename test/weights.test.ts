// Tests for reading and writing safetensors files and for the seeded parameter random streams.

import { describe, expect, it } from 'vitest';
import { spanOfWhole } from '../src/diagnostics/diagnostic.js';
import type { Diagnostic } from '../src/diagnostics/diagnostic.js';
import { rngFor } from '../src/contracts/random.js';
import { fillNormal, fillUniform } from '../src/weights/random.js';
import {
  bfloat16BitsToNumber,
  float16BitsToNumber,
  numberToBfloat16Bits,
  numberToFloat16Bits,
  readSafetensors,
  writeSafetensors,
  writeSafetensorsAs,
} from '../src/weights/safetensors.js';
import type { WeightTensor } from '../src/weights/types.js';

const source = 'model.safetensors';

/** Builds a file by hand: the 8-byte little-endian header size, the header text as given, the buffer. */
function handBuilt(headerJson: string, buffer: readonly number[] = []): Uint8Array {
  const header = new TextEncoder().encode(headerJson);
  const bytes = new Uint8Array(8 + header.length + buffer.length);
  new DataView(bytes.buffer).setUint32(0, header.length, true);
  bytes.set(header, 8);
  bytes.set(buffer, 8 + header.length);
  return bytes;
}

/** The header text of a file, padding included. */
function headerText(bytes: Uint8Array): string {
  const size = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + size));
}

function tensor(shape: number[], values: number[]): WeightTensor {
  return { shape, data: new Float32Array(values) };
}

function expectOnly(diagnostics: Diagnostic[], code: string, pattern: RegExp): void {
  expect(diagnostics).toHaveLength(1);
  expect(diagnostics[0]!.code).toBe(code);
  expect(diagnostics[0]!.message).toMatch(pattern);
}

// Little-endian bytes of some float32 values, written out so the reader is checked against the format.
const f32One = [0x00, 0x00, 0x80, 0x3f];
const f32Two = [0x00, 0x00, 0x00, 0x40];
const f32MinusHalf = [0x00, 0x00, 0x00, 0xbf];

describe('readSafetensors on hand-built files', () => {
  it('reads a minimal F32 file with metadata', () => {
    const file = handBuilt(
      '{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
        '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
      [...f32One, ...f32Two, ...f32MinusHalf],
    );
    const result = readSafetensors(file, source);
    expect(result.diagnostics).toEqual([]);
    expect(result.metadata).toEqual({ format: 'pt' });
    expect([...result.tensors!.keys()]).toEqual(['a', 'b']);
    expect(result.tensors!.get('a')).toEqual(tensor([2], [1, 2]));
    expect(result.tensors!.get('b')).toEqual(tensor([1], [-0.5]));
  });

  it('accepts a header padded with trailing spaces and gives {} when there is no metadata', () => {
    const result = readSafetensors(
      handBuilt('{"w":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}     ', f32One),
      source,
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.metadata).toEqual({});
    expect(result.tensors!.get('w')).toEqual(tensor([], [1]));
  });

  it('reads empty tensors, which hold no bytes', () => {
    const result = readSafetensors(
      handBuilt(
        '{"e":{"dtype":"F32","shape":[3,0],"data_offsets":[0,0]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        f32One,
      ),
      source,
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.tensors!.get('e')).toEqual(tensor([3, 0], []));
    expect(result.tensors!.get('w')).toEqual(tensor([1], [1]));
  });

  it('reads F16, BF16 and F64 tensors as float32', () => {
    const file = handBuilt(
      '{"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},' +
        '"b":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]},' +
        '"d":{"dtype":"F64","shape":[1],"data_offsets":[16,24]}}',
      [
        ...[0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x7c, 0x01, 0x7c], // 1, -2, 65504, 2^-24, inf, NaN
        ...[0x80, 0x3f, 0x20, 0xc0], // bf16 1 and -2.5
        ...[0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f], // f64 1.5
      ],
    );
    const result = readSafetensors(file, source);
    expect(result.diagnostics).toEqual([]);
    expect([...result.tensors!.get('h')!.data]).toEqual([1, -2, 65504, 2 ** -24, Infinity, NaN]);
    expect([...result.tensors!.get('b')!.data]).toEqual([1, -2.5]);
    expect([...result.tensors!.get('d')!.data]).toEqual([1.5]);
  });

  it('reads a file that starts at an odd offset of its ArrayBuffer', () => {
    const file = handBuilt('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', [...f32Two, ...f32MinusHalf]);
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    const result = readSafetensors(shifted.subarray(3), source);
    expect(result.diagnostics).toEqual([]);
    expect(result.tensors!.get('w')).toEqual(tensor([2], [2, -0.5]));
  });
});

describe('readSafetensors on malformed files', () => {
  const okEntry = '"ok":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';

  const cases: [string, Uint8Array, RegExp][] = [
    ['an empty file', new Uint8Array(0), /0 bytes long/],
    ['a file shorter than 8 bytes', new Uint8Array([2, 0, 0]), /3 bytes long.*8-byte header size/],
    [
      'a header size larger than the file',
      (() => {
        const bytes = handBuilt('{}');
        bytes[0] = 200;
        return bytes;
      })(),
      /says 200 bytes, but only 2 bytes follow/,
    ],
    [
      'a header size of 2^64 - 1',
      (() => {
        const bytes = handBuilt('{}');
        bytes.fill(0xff, 0, 8);
        return bytes;
      })(),
      /18446744073709551615 bytes/,
    ],
    ['an empty header', handBuilt(''), /header is empty/],
    [
      'a header that is not UTF-8',
      (() => {
        const bytes = handBuilt('{"\u00e9":1}');
        bytes[11] = 0xff;
        return bytes;
      })(),
      /not valid UTF-8/,
    ],
    ['a header that is not JSON', handBuilt('{"a": [1,'), /not valid JSON/],
    ['a header that is a list', handBuilt('[1, 2]'), /starts with "\[1, 2\]"/],
    ['a header with leading spaces', handBuilt('  {}'), /starting with '\{'/],
    ['a header followed by garbage', handBuilt('{} {}'), /not valid JSON/],
    ['an entry that is not an object', handBuilt('{"w": 3}'), /tensor "w" is described by 3/],
    [
      'an entry missing dtype',
      handBuilt('{"w":{"shape":[1],"data_offsets":[0,4]}}', f32One),
      /tensor "w" has no "dtype"/,
    ],
    [
      'an entry missing shape',
      handBuilt('{"w":{"dtype":"F32","data_offsets":[0,4]}}', f32One),
      /tensor "w" has no "shape"/,
    ],
    [
      'an entry missing data_offsets',
      handBuilt('{"w":{"dtype":"F32","shape":[1]}}', f32One),
      /tensor "w" has no "data_offsets"/,
    ],
    ['an entry missing everything', handBuilt('{"w":{}}'), /no "dtype", "shape", "data_offsets"/],
    [
      'a dtype that is not a string',
      handBuilt('{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}', f32One),
      /"dtype" 32/,
    ],
    [
      'offsets with one number',
      handBuilt('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}}', f32One),
      /"data_offsets" \[4\]/,
    ],
    [
      'negative offsets',
      handBuilt('{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', f32One),
      /two non-negative integers/,
    ],
    [
      'offsets as a string',
      handBuilt('{"w":{"dtype":"F32","shape":[1],"data_offsets":"0,4"}}', f32One),
      /two non-negative integers/,
    ],
    [
      'offsets that run backwards',
      handBuilt('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', f32One),
      /begin must not exceed end/,
    ],
    [
      'offsets past the end of the buffer',
      handBuilt('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f32One),
      /ends at byte 8.*only 4 bytes/,
    ],
    [
      'a shape that is not a list',
      handBuilt('{"w":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}', f32One),
      /"shape" 1,/,
    ],
    [
      'a negative dimension',
      handBuilt('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', f32One),
      /"shape" \[-1\]/,
    ],
    [
      'a fractional dimension',
      handBuilt('{"w":{"dtype":"F32","shape":[0.5],"data_offsets":[0,4]}}', f32One),
      /non-negative integers/,
    ],
    [
      'offsets that do not match shape and dtype',
      handBuilt('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', [...f32One, ...f32Two]),
      /needs 12 bytes.*hold 8 bytes/,
    ],
    [
      'a size mismatch for F16',
      handBuilt('{"w":{"dtype":"F16","shape":[1],"data_offsets":[0,4]}}', f32One),
      /needs 2 bytes/,
    ],
    [
      'overlapping tensors',
      handBuilt(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
        [...f32One, ...f32One, ...f32One],
      ),
      /"b" occupies bytes \[4, 12\), which overlap tensor "a"/,
    ],
    [
      'a gap between tensors',
      handBuilt(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
        [...f32One, ...f32One, ...f32One],
      ),
      /bytes \[4, 8\) of the byte buffer belong to no tensor/,
    ],
    [
      'a buffer not starting at offset 0',
      handBuilt('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', [...f32One, ...f32One]),
      /bytes \[0, 4\)/,
    ],
    [
      'trailing bytes after the last tensor',
      handBuilt(`{${okEntry}}`, [...f32One, 0, 0, 0, 0]),
      /8 bytes, but the tensors end at byte 4, leaving 4 bytes trailing/,
    ],
    ['a buffer with no tensors', handBuilt('{}', [0]), /leaving 1 byte trailing/],
    [
      'metadata that is not an object',
      handBuilt(`{"__metadata__":["pt"],${okEntry}}`, f32One),
      /"__metadata__" is \["pt"\]/,
    ],
    ['metadata with a number value', handBuilt(`{"__metadata__":{"epoch":3},${okEntry}}`, f32One), /maps "epoch" to 3/],
  ];

  for (const [what, bytes, pattern] of cases) {
    it(`reports ${what} as SEQ100`, () => {
      let result: ReturnType<typeof readSafetensors> | undefined;
      expect(() => {
        result = readSafetensors(bytes, source);
      }).not.toThrow();
      expectOnly(result!.diagnostics, 'SEQ100', pattern);
      const [diagnostic] = result!.diagnostics;
      expect(diagnostic!.severity).toBe('error');
      expect(diagnostic!.span).toEqual(spanOfWhole(source));
      expect(diagnostic!.hint).toBeTruthy();
      expect(result!.tensors).toBeUndefined();
      expect(result!.metadata).toBeUndefined();
    });
  }

  it('reports each bad tensor, not just the first', () => {
    const file = handBuilt(
      '{"a":{"dtype":"F32","shape":[1]},"b":{"dtype":"F32","shape":[-2],"data_offsets":[0,4]},' +
        '"c":{"dtype":"I64","shape":[1],"data_offsets":[4,12]},"d":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}',
      [...f32One, 0, 0, 0, 0, 0, 0, 0, 0, ...f32Two],
    );
    const { diagnostics, tensors } = readSafetensors(file, source);
    expect(tensors).toBeUndefined();
    expect(diagnostics.map((d) => [d.code, d.message.match(/tensor "(\w)"/)?.[1]])).toEqual([
      ['SEQ100', 'a'],
      ['SEQ100', 'b'],
      ['SEQ101', 'c'],
    ]);
  });

  it('never throws on mutated files', () => {
    const valid = writeSafetensorsAs(
      [
        ['a', tensor([2, 2], [1, 2, 3, 4])],
        ['b', tensor([3], [5, 6, 7])],
      ],
      'F16',
      { format: 'pt' },
    );
    const rng = rngFor(7, 'mutations');
    for (let trial = 0; trial < 2000; trial++) {
      const bytes = valid.slice(0, 1 + (rng.nextUint32() % valid.length));
      const flips = 1 + (rng.nextUint32() % 4);
      for (let i = 0; i < flips; i++) {
        bytes[rng.nextUint32() % bytes.length] = rng.nextUint32() & 0xff;
      }
      const result = readSafetensors(bytes, source);
      expect(result.tensors === undefined).toBe(result.diagnostics.length > 0);
      expect(result.diagnostics.every((d) => d.code === 'SEQ100' || d.code === 'SEQ101')).toBe(true);
    }
  });
});

describe('readSafetensors on element types seqc cannot read', () => {
  const cases: [string, number][] = [
    ['I64', 8],
    ['I32', 4],
    ['I8', 1],
    ['U8', 1],
    ['BOOL', 1],
    ['F8_E4M3', 1],
    ['F8_E5M2', 1],
  ];
  for (const [dtype, size] of cases) {
    it(`reports ${dtype} as SEQ101`, () => {
      const file = handBuilt(
        `{"embedding.ids":{"dtype":"${dtype}","shape":[2],"data_offsets":[0,${2 * size}]}}`,
        new Array(2 * size).fill(0),
      );
      const { diagnostics, tensors } = readSafetensors(file, source);
      expect(tensors).toBeUndefined();
      expectOnly(diagnostics, 'SEQ101', new RegExp(`tensor "embedding.ids" has element type ${dtype},`));
      expect(diagnostics[0]!.hint).toMatch(/floating-point/);
      expect(diagnostics[0]!.span).toEqual(spanOfWhole(source));
    });
  }

  it('reports an unknown element type as SEQ101', () => {
    const { diagnostics } = readSafetensors(
      handBuilt('{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}}', [0]),
      source,
    );
    expectOnly(diagnostics, 'SEQ101', /element type Q4, which seqc does not know/);
  });
});

describe('half-precision and bfloat16 conversion', () => {
  it('encodes float16 values exactly', () => {
    const expected: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [0, 0x0000],
      [-0, 0x8000],
      [0.1, 0x2e66],
      [1 / 3, 0x3555],
      [6.1e-5, 0x03ff],
      // Rounding to nearest even, checked against numpy's float32 → float16 conversion.
      [65519, 0x7bff],
      [65520, 0x7c00],
      [1e5, 0x7c00],
      [2 ** -25, 0x0000],
      [3 * 2 ** -25, 0x0002],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [1e-8, 0x0000],
    ];
    for (const [value, bits] of expected) {
      expect([value, numberToFloat16Bits(value)]).toEqual([value, bits]);
    }
    expect(numberToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(numberToFloat16Bits(NaN) & 0x03ff).not.toBe(0);
  });

  it('decodes every float16 bit pattern and encodes it back to the same bits', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = float16BitsToNumber(bits);
      const isNaN = (bits & 0x7c00) === 0x7c00 && (bits & 0x03ff) !== 0;
      if (isNaN) {
        expect(value).toBeNaN();
      } else {
        expect(numberToFloat16Bits(value)).toBe(bits);
      }
    }
    expect(float16BitsToNumber(0x0001)).toBe(2 ** -24);
    expect(float16BitsToNumber(0x03ff)).toBe(1023 * 2 ** -24);
    expect(float16BitsToNumber(0x7bff)).toBe(65504);
    expect(float16BitsToNumber(0xfc00)).toBe(-Infinity);
    expect(Object.is(float16BitsToNumber(0x8000), -0)).toBe(true);
  });

  it('encodes bfloat16 values by rounding to nearest even', () => {
    const expected: [number, number][] = [
      [1, 0x3f80],
      [-2.5, 0xc020],
      [0.1, 0x3dcd],
      [1 / 3, 0x3eab],
      [1 + 2 ** -8, 0x3f80],
      [1 + 3 * 2 ** -8, 0x3f82],
      [Infinity, 0x7f80],
      [-0, 0x8000],
    ];
    for (const [value, bits] of expected) {
      expect([value, numberToBfloat16Bits(value)]).toEqual([value, bits]);
    }
    expect(bfloat16BitsToNumber(numberToBfloat16Bits(NaN))).toBeNaN();
    expect(bfloat16BitsToNumber(0x3f80)).toBe(1);
    expect(bfloat16BitsToNumber(0xc020)).toBe(-2.5);
  });
});

describe('writeSafetensors', () => {
  const weights = new Map<string, WeightTensor>([
    ['lstm.weight_ih_l0', tensor([4, 2], [0.5, -1, 2, 3.25, -0.125, 7, 1e-3, -65504])],
    ['fc.bias', tensor([3], [1, 2, 3])],
    ['scalar', tensor([], [42])],
    ['empty', tensor([0, 5], [])],
  ]);

  it('round trips float32 tensors exactly, with metadata', () => {
    const result = readSafetensors(writeSafetensors(weights, { format: 'pt' }), source);
    expect(result.diagnostics).toEqual([]);
    expect(result.metadata).toEqual({ format: 'pt' });
    expect(result.tensors).toEqual(new Map([...weights].sort(([a], [b]) => (a < b ? -1 : 1))));
  });

  it('round trips F16 and BF16 with the expected rounding', () => {
    const values = [1, -2, 65504, 2 ** -24, Infinity, 0.1, 1 / 3];
    const input = new Map([['w', tensor([values.length], values)]]);

    const half = writeSafetensorsAs(input, 'F16');
    expect(headerText(half)).toContain('"dtype":"F16"');
    const halfData = readSafetensors(half, source).tensors!.get('w')!.data;
    expect([...halfData]).toEqual([1, -2, 65504, 2 ** -24, Infinity, 0.0999755859375, 0.333251953125]);

    const brain = writeSafetensorsAs(input, 'BF16');
    expect(headerText(brain)).toContain('"dtype":"BF16"');
    const brainData = readSafetensors(brain, source).tensors!.get('w')!.data;
    expect([...brainData].slice(0, 5)).toEqual([1, -2, 65536, 2 ** -24, Infinity]);
    expect(brainData[5]).toBe(bfloat16BitsToNumber(0x3dcd));
    expect(brainData[6]).toBe(bfloat16BitsToNumber(0x3eab));
  });

  it('writes the raw F16 and BF16 bits little-endian', () => {
    const input = new Map([['w', tensor([2], [1, -2])]]);
    expect([...writeSafetensorsAs(input, 'F16').slice(-4)]).toEqual([0x00, 0x3c, 0x00, 0xc0]);
    expect([...writeSafetensorsAs(input, 'BF16').slice(-4)]).toEqual([0x80, 0x3f, 0x00, 0xc0]);
  });

  it('is deterministic: names are sorted whatever the input order', () => {
    const reversed = new Map([...weights].reverse());
    const once = writeSafetensors(weights, { b: '2', a: '1' });
    expect(writeSafetensors(reversed, { a: '1', b: '2' })).toEqual(once);
    expect(writeSafetensors([...weights], { b: '2', a: '1' })).toEqual(once);
    expect(headerText(once).trimEnd()).toBe(
      '{"__metadata__":{"a":"1","b":"2"},' +
        '"empty":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]},' +
        '"fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},' +
        '"lstm.weight_ih_l0":{"dtype":"F32","shape":[4,2],"data_offsets":[12,44]},' +
        '"scalar":{"dtype":"F32","shape":[],"data_offsets":[44,48]}}',
    );
  });

  it('pads the header with spaces to a multiple of 8 bytes', () => {
    for (let length = 1; length <= 16; length++) {
      const bytes = writeSafetensors(new Map([['x'.repeat(length), tensor([1], [1])]]));
      const header = headerText(bytes);
      expect(header.length % 8).toBe(0);
      expect(header).toMatch(/^\{.*\} {0,7}$/);
      expect(readSafetensors(bytes, source).diagnostics).toEqual([]);
    }
  });

  it('escapes names and metadata as JSON', () => {
    const name = 'odd "name" \\ with\nnewline and ü';
    const bytes = writeSafetensors(
      new Map([[name, tensor([1], [1])]]),
      Object.fromEntries([
        ['__proto__', 'x'],
        ['é', '"'],
      ]),
    );
    const result = readSafetensors(bytes, source);
    expect(result.diagnostics).toEqual([]);
    expect([...result.tensors!.keys()]).toEqual([name]);
    expect(Object.entries(result.metadata!)).toEqual([
      ['__proto__', 'x'],
      ['é', '"'],
    ]);
  });

  it('throws on programming errors: data that does not fit the shape, or a repeated name', () => {
    expect(() => writeSafetensors(new Map([['w', tensor([3], [1, 2])]]))).toThrow(/shape \[3\] but 2 values/);
    expect(() =>
      writeSafetensors([
        ['w', tensor([1], [1])],
        ['w', tensor([1], [2])],
      ]),
    ).toThrow(/given twice/);
  });

  // Expected bytes from the serialization tests of the reference implementation
  // (huggingface/safetensors, safetensors/src/tensor.rs), standing in for a check against Python.
  describe('matches the reference implementation byte for byte', () => {
    const zeroToFive = [0, 1, 2, 3, 4, 5];
    const zeroToFiveBytes = [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64];

    function expectFile(bytes: Uint8Array, headerSize: number, header: string, data: number[]): void {
      expect([...bytes.subarray(0, 8)]).toEqual([headerSize, 0, 0, 0, 0, 0, 0, 0]);
      expect(headerText(bytes)).toBe(header);
      expect([...bytes.subarray(8 + headerSize)]).toEqual(data);
    }

    it('serializes a header that needs no padding', () => {
      const bytes = writeSafetensors(new Map([['attn.0', tensor([1, 2, 3], zeroToFive)]]));
      expectFile(bytes, 64, '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', zeroToFiveBytes);
    });

    it('serializes a header padded for alignment', () => {
      const bytes = writeSafetensors(new Map([['attn0', tensor([1, 1, 2, 3], zeroToFive)]]));
      expectFile(
        bytes,
        72,
        '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ',
        zeroToFiveBytes,
      );
    });

    it('serializes no tensors, with and without metadata', () => {
      expectFile(writeSafetensors(new Map()), 8, '{}      ', []);
      expectFile(writeSafetensors(new Map(), { framework: 'pt' }), 40, '{"__metadata__":{"framework":"pt"}}     ', []);
    });
  });
});

describe('rngFor', () => {
  function draws(seed: number, key: string, count = 8): number[] {
    const rng = rngFor(seed, key);
    return Array.from({ length: count }, () => rng.uniform(0, 1));
  }

  it('gives the same numbers for the same seed and key', () => {
    expect(draws(0, 'lstm.weight_ih_l0')).toEqual(draws(0, 'lstm.weight_ih_l0'));
    const a = new Float32Array(16);
    const b = new Float32Array(16);
    fillNormal(rngFor(3, 'embedding.weight'), a, 0, 1);
    fillNormal(rngFor(3, 'embedding.weight'), b, 0, 1);
    expect(a).toEqual(b);
  });

  it('gives different numbers for a different key or seed', () => {
    const base = draws(0, 'lstm.weight_ih_l0');
    expect(draws(0, 'lstm.weight_hh_l0')).not.toEqual(base);
    expect(draws(0, 'lstm.weight_ih_l1')).not.toEqual(base);
    expect(draws(1, 'lstm.weight_ih_l0')).not.toEqual(base);
    expect(draws(0, '')).not.toEqual(draws(1, ''));
  });

  it('pins the stream, so that saved initializations stay reproducible', () => {
    const rng = rngFor(0, 'fc.weight');
    const words = Array.from({ length: 4 }, () => rng.nextUint32());
    expect(words.every((word) => Number.isInteger(word) && word >= 0 && word < 2 ** 32)).toBe(true);
    // Checked against an independent Python transcription of FNV-1a 64, SplitMix64 and xoshiro128**.
    expect(words).toEqual([4137129698, 4149322289, 3680582481, 3906588198]);
  });

  it('draws uniform numbers within the bounds', () => {
    const rng = rngFor(42, 'fc.bias');
    const bound = 1 / Math.sqrt(3);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < 100_000; i++) {
      const value = rng.uniform(-bound, bound);
      expect(value >= -bound && value < bound).toBe(true);
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    expect(min).toBeLessThan(-bound + 0.001);
    expect(max).toBeGreaterThan(bound - 0.001);

    const data = new Float32Array(100_000);
    fillUniform(rngFor(42, 'lstm.bias_hh_l0'), data, -0.125, 0.125);
    expect(data.every((value) => value >= -0.125 && value <= 0.125)).toBe(true);
    const mean = data.reduce((sum, value) => sum + value, 0) / data.length;
    expect(Math.abs(mean)).toBeLessThan(0.002);
  });

  it('draws normal numbers with the requested mean and standard deviation', () => {
    for (const [mean, std] of [
      [0, 1],
      [2, 0.5],
    ] as const) {
      const data = new Float32Array(100_000);
      fillNormal(rngFor(1, `normal ${mean} ${std}`), data, mean, std);
      const sampleMean = data.reduce((sum, value) => sum + value, 0) / data.length;
      const variance = data.reduce((sum, value) => sum + (value - sampleMean) ** 2, 0) / (data.length - 1);
      expect(Math.abs(sampleMean - mean)).toBeLessThan(0.01);
      expect(Math.abs(Math.sqrt(variance) - std)).toBeLessThan(0.01);
    }
  });

  it('rejects a seed that is not an integer', () => {
    expect(() => rngFor(0.5, 'w')).toThrow(RangeError);
  });
});
