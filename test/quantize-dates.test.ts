// The trained dates demo (demo/dates) stored as int8, weight-only int8 and fp16: exact match on the 2,000 held-out dates within 0.25 points of float32.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/index.js';
import { loadBundle } from '../src/runtime/node.js';
import { makeSplits } from '../demo/dates/data.js';
import { exactMatch } from '../demo/dates/network.js';

const forms: Record<string, Pick<CompileOptions, 'quantize' | 'precision'>> = {
  float32: {},
  int8: { quantize: 'int8' },
  'int8-weights': { quantize: 'int8-weights' },
  fp16: { precision: 'fp16' },
};

async function decodeHeldOut(options: Pick<CompileOptions, 'quantize' | 'precision'>, rows: readonly number[][]) {
  const compiled = compile(readFileSync(join('demo', 'dates', 'model.seq'), 'utf8'), {
    sourceName: 'model.seq',
    weights: { bytes: readFileSync(join('demo', 'dates', 'weights.safetensors')), name: 'weights.safetensors' },
    bundleStem: 'dates',
    ...options,
  });
  expect(compiled.diagnostics).toEqual([]);
  const bundle = compiled.bundle!;
  const files = Object.fromEntries(bundle.files.map((f) => [f.file, f.bytes]));
  const { bundle: seq, diagnostics } = await loadBundle({ manifest: bundle.manifest, files });
  expect(diagnostics).toEqual([]);
  try {
    const loop = await seq!.runGreedyGraph(rows);
    // The host loop over the step graph decodes as the Loop graph does, on the same stored weights.
    const host = await seq!.generate(rows.slice(0, 100), { strategy: 'greedy' });
    expect(host.rows!.map((r) => r.hypotheses[0]!.tokens)).toEqual(loop.rows!.slice(0, 100));
    return loop.rows!;
  } finally {
    await seq!.release();
  }
}

describe('the dates demo in smaller forms', () => {
  it('keeps exact match on 2,000 held-out dates within 0.25 points of float32, greedy', async () => {
    const heldOut = makeSplits().heldOut;
    expect(heldOut).toHaveLength(2000);
    const rows = heldOut.map((e) => [...e.src]);
    const accuracy: Record<string, number> = {};
    for (const [form, options] of Object.entries(forms))
      accuracy[form] = exactMatch(await decodeHeldOut(options, rows), heldOut);
    expect(accuracy['float32']).toBeGreaterThanOrEqual(0.95);
    for (const form of ['int8', 'int8-weights', 'fp16'])
      expect(
        Math.abs(accuracy[form]! - accuracy['float32']!) * 100,
        `${form}: ${JSON.stringify(accuracy)}`,
      ).toBeLessThanOrEqual(0.25);
  });
});
