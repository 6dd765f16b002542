// Seeded random mutation of runtime inputs and of a model's seqc.signature: every case returns diagnostics or outputs, never throws, within a time and a memory bound.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { compile } from '../src/index.js';
import { decodeModel } from '../src/onnx/decode.js';
import { encodeModel } from '../src/onnx/encode.js';
import { loadModel, type LoadedModel, type RunResult } from '../src/runtime/node.js';
import { seededRandom as random } from './reference/float64.js';

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const int = (rng: Rng, n: number): number => Math.floor(rng() * n);

const oddLeaves: readonly unknown[] = [
  0,
  1,
  19,
  20,
  -1,
  2.5,
  1e300,
  -1e300,
  2 ** 53,
  2 ** 64,
  Number.MAX_SAFE_INTEGER,
  'NaN',
  'Infinity',
  '1',
  null,
  true,
  false,
  {},
  [],
  3e38,
  4e38,
  -0,
];

/** A nested list, mostly rectangular, sometimes deep, ragged or holding something that is not a number. */
function nested(rng: Rng, depth: number): unknown {
  const roll = rng();
  if (roll < 0.02) return pick(rng, oddLeaves);
  if (depth === 0 || roll < 0.05) return rng() < 0.8 ? int(rng, 22) - 1 : pick(rng, oddLeaves);
  if (roll < 0.07) {
    let deep: unknown = [1];
    for (let i = int(rng, 200); i > 0; i--) deep = [deep];
    return deep;
  }
  const width = int(rng, 4) + (rng() < 0.1 ? 0 : 1);
  const first = nested(rng, depth - 1);
  return Array.from({ length: width }, (_, i) =>
    i === 0 || rng() < 0.9 ? structuredClone(first) : nested(rng, depth - 1),
  );
}

const typedMakers: readonly ((rng: Rng, n: number) => unknown)[] = [
  (rng, n) => BigInt64Array.from({ length: n }, () => BigInt(int(rng, 30) - 5)),
  (rng, n) => Float32Array.from({ length: n }, () => (rng() < 0.1 ? NaN : rng() * 40 - 5)),
  (rng, n) => Int32Array.from({ length: n }, () => int(rng, 25)),
  (rng, n) => Float64Array.from({ length: n }, () => pick(rng, [1, 2.5, NaN, 2 ** 64, -3, 1e300])),
  (rng, n) => Array.from({ length: n }, () => pick(rng, oddLeaves)),
  (rng, n) => Array.from({ length: n }, () => pick(rng, [1n, 2n ** 64n, -(2n ** 63n), 5n])),
  () => null,
  () => 'data',
];

/** Flat data with dims that may disagree with it, or a tensor that claims another dtype. */
function flat(rng: Rng): unknown {
  const dims = Array.from({ length: int(rng, 4) }, () =>
    rng() < 0.05 ? pick(rng, [-1, 2.5, NaN, 2 ** 40, '2', null]) : int(rng, 4),
  );
  const size = dims.reduce(
    (a: number, b) => a * (typeof b === 'number' && Number.isFinite(b) ? Math.max(0, Math.floor(b)) : 1),
    1,
  );
  const length = rng() < 0.8 ? Math.min(size, 64) : int(rng, 8);
  const data = pick(rng, typedMakers)(rng, length);
  return rng() < 0.5 ? { data, dims } : { dtype: pick(rng, ['int64', 'float32', 'int32', undefined]), data, dims };
}

function inputs(rng: Rng): unknown {
  const value = (): unknown => (rng() < 0.5 ? nested(rng, int(rng, 4)) : flat(rng));
  const roll = rng();
  if (roll < 0.03) return pick(rng, [null, undefined, 5, 'tokens', [[1, 2]]]);
  if (roll < 0.2) {
    // A valid batch, sometimes with one id or length out of range.
    const time = int(rng, 4) + 1;
    const tokens = Array.from({ length: int(rng, 3) + 1 }, () => Array.from({ length: time }, () => int(rng, 20)));
    if (rng() < 0.3) tokens[0]![0] = pick(rng, [-1, 20, 2 ** 64, 1.5]);
    return rng() < 0.5 ? { tokens } : { tokens, lengths: tokens.map(() => int(rng, time + 1)) };
  }
  const names = ['tokens', 'lengths', 'x', '__proto__', 'constructor'];
  const chosen = names.filter(() => rng() < 0.5);
  if (roll < 0.4) return new Map(chosen.map((n) => [n, flat(rng)]));
  const record: Record<string, unknown> = {};
  for (const n of chosen) Object.defineProperty(record, n, { value: value(), enumerable: true });
  return record;
}

/** Mutates a JSON value in place at a random place: deletes a key, swaps a type, or plants a hostile value. */
function mutate(rng: Rng, root: unknown): unknown {
  const hostile: readonly unknown[] = [
    null,
    5,
    -1,
    0,
    1e12,
    2.5,
    'x',
    '',
    true,
    [],
    {},
    [null],
    ['batch', 1e12],
    { name: 'x' },
    'data',
    'lengths',
    'state',
    'float32',
    'int64',
  ];
  if (rng() < 0.05) return pick(rng, hostile);
  let node: unknown = root;
  for (let step = 0; step < 6; step++) {
    if (typeof node !== 'object' || node === null) break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = pick(rng, keys);
    const child = (node as Record<string, unknown>)[key];
    if (rng() < 0.35 || typeof child !== 'object' || child === null) {
      if (rng() < 0.3 && !Array.isArray(node)) delete (node as Record<string, unknown>)[key];
      else (node as Record<string, unknown>)[key] = pick(rng, hostile);
      return root;
    }
    node = child;
  }
  return root;
}

function expectDiagnosticsOrOutputs(result: RunResult): void {
  expect(Array.isArray(result.diagnostics)).toBe(true);
  if (result.outputs === undefined) {
    expect(result.diagnostics.length).toBeGreaterThan(0);
    for (const d of result.diagnostics) expect(d.code).toMatch(/^SEQ\d{3}$/);
  }
}

const specText = `model Tiny {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=20, dim=4, padding_idx=0) -> gru: BiGRU(hidden=3) -> mean -> fc: Linear(2) -> softmax -> output probs
}
`;
const bytes = compile(specText).model!;
const perCaseMs = 2000;

describe('fuzzing the runtime', () => {
  it('turns 300 mutated library feeds into diagnostics or outputs', async () => {
    const { model } = await loadModel(bytes, { name: 'tiny.onnx' });
    const heapBefore = process.memoryUsage().heapUsed;
    let ran = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rng = random(seed);
      const feeds = inputs(rng);
      const started = performance.now();
      let result: RunResult | undefined;
      try {
        result = await (model as LoadedModel).run(feeds as never);
      } catch (e) {
        throw new Error(`seed ${seed} threw: ${(e as Error).stack}`);
      }
      expectDiagnosticsOrOutputs(result);
      if (result.outputs !== undefined) ran++;
      expect(performance.now() - started, `seed ${seed}`).toBeLessThan(perCaseMs);
    }
    // Both paths are exercised: some feeds run, most are refused.
    expect(ran).toBeGreaterThan(0);
    expect(ran).toBeLessThan(300);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
    await model!.release();
  }, 60_000);

  it('refuses or runs 150 models whose seqc.signature was mutated', async () => {
    const decoded = decodeModel(bytes);
    const original = decoded.metadataProps.find((p) => p.key === 'seqc.signature')!.value;
    const heapBefore = process.memoryUsage().heapUsed;
    let refused = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const rng = random(10_000 + seed);
      let signature = JSON.parse(original) as unknown;
      for (let n = int(rng, 3) + 1; n > 0; n--) signature = mutate(rng, signature);
      const text =
        rng() < 0.05 ? JSON.stringify(signature).slice(0, int(rng, 40)) : (JSON.stringify(signature) ?? 'undefined');
      const edited = encodeModel({
        ...decoded,
        metadataProps: decoded.metadataProps.map((p) => (p.key === 'seqc.signature' ? { key: p.key, value: text } : p)),
      });
      const started = performance.now();
      try {
        const loaded = await loadModel(edited, { name: `seed-${seed}.onnx` });
        if (loaded.model === undefined) {
          refused++;
          expect(loaded.diagnostics.length, `seed ${seed}`).toBeGreaterThan(0);
        } else {
          expectDiagnosticsOrOutputs(await loaded.model.run({ tokens: [[1, 2, 25]] }));
          expectDiagnosticsOrOutputs(await loaded.model.run({ tokens: [[1, 2, 3]], lengths: [2] }));
          await loaded.model.release();
        }
      } catch (e) {
        throw new Error(`seed ${seed} threw on signature ${text.slice(0, 300)}: ${(e as Error).stack}`);
      }
      expect(performance.now() - started, `seed ${seed}`).toBeLessThan(perCaseMs);
    }
    // The mutations must reach the checks: most of them break the signature.
    expect(refused).toBeGreaterThan(50);
    expect(refused).toBeLessThan(150);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
  }, 60_000);

  it('answers 60 mutated `seqc run --input` texts with status 0, 1 or 2, never 70', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqc-fuzz-runtime-'));
    const modelPath = join(dir, 'tiny.onnx');
    writeFileSync(modelPath, bytes);
    for (let seed = 1; seed <= 60; seed++) {
      const rng = random(20_000 + seed);
      let text = JSON.stringify(nested(rng, int(rng, 4))) ?? 'null';
      if (rng() < 0.3) {
        const at = int(rng, text.length + 1);
        text =
          text.slice(0, at) +
          pick(rng, ['[', ']', ',', 'NaN', '1e999', '18446744073709551616', '"', '-', '']) +
          text.slice(at + int(rng, 3));
      }
      const argv = ['run', modelPath, '--input', `tokens=${text}`];
      if (rng() < 0.3) argv.push('--input', `lengths=${JSON.stringify(nested(rng, 1))}`);
      if (rng() < 0.2) {
        const file = join(dir, `input-${seed}.json`);
        writeFileSync(file, text);
        argv[3] = `tokens=@${file}`;
      }
      if (rng() < 0.1) argv.push('--json');
      let err = '';
      const started = performance.now();
      const status = await main(argv, { out: () => {}, err: (t) => (err += t), color: false });
      expect([0, 1, 2], `seed ${seed}: ${argv.join(' ')}\n${err}`).toContain(status);
      expect(performance.now() - started, `seed ${seed}`).toBeLessThan(perCaseMs);
    }
  }, 60_000);
});
