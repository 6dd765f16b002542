// The package's entry points resolve as a user imports them: `seqc`, `seqc/runtime/node` (built into dist/ by `npm ci`).

import { describe, expect, it } from 'vitest';

describe('package entry points', () => {
  it('`seqc` exports compile(), which compiles a spec to ONNX bytes', async () => {
    const seqc = (await import('seqc')) as typeof import('../src/index.js');
    const result = seqc.compile('model M {\n  input x: float32[batch, time, 2]\n  x -> GRU(hidden=3) -> last -> output y\n}\n');
    expect(result.diagnostics).toEqual([]);
    expect(result.model).toBeInstanceOf(Uint8Array);
    // GRU(hidden=3) on 2 features: weight_ih [9, 2], weight_hh [9, 3], bias_ih [9], bias_hh [9].
    expect(result.summary?.totalParameters).toBe(9 * 2 + 9 * 3 + 9 + 9);
  });

  it('`seqc/runtime/node` loads and runs what `seqc` compiled', async () => {
    const seqc = (await import('seqc')) as typeof import('../src/index.js');
    const runtime = (await import('seqc/runtime/node')) as typeof import('../src/runtime/node.js');
    const { model } = seqc.compile('model M {\n  input x: float32[batch, time, 2]\n  x -> GRU(hidden=3) -> last -> output y\n}\n');
    const loaded = await runtime.loadModel(model!, 'm.onnx');
    const run = await runtime.runModel(loaded.model!, new Map([['x', { dtype: 'float32', dims: [1, 2, 2], data: Float32Array.of(1, 2, 3, 4) }]]));
    expect(run.diagnostics).toEqual([]);
    expect(run.outputs!.get('y')!.dims).toEqual([1, 3]);
  });
});
