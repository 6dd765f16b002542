// The package's entry points resolve as a user imports them: `seqc`, `seqc/runtime/node` (built into dist/ by `npm ci`), and onnxruntime-node is needed only to run.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { isMissingPackage, loadOrtNode, pretendOrtNodeIsMissing } from '../src/runtime/node-ort.js';

describe('package entry points', () => {
  it('`seqc` exports compile(), which compiles a spec to ONNX bytes', async () => {
    const seqc = (await import('seqc')) as typeof import('../src/index.js');
    const result = seqc.compile(
      'model M {\n  input x: float32[batch, time, 2]\n  x -> GRU(hidden=3) -> last -> output y\n}\n',
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.model).toBeInstanceOf(Uint8Array);
    // GRU(hidden=3) on 2 features: weight_ih [9, 2], weight_hh [9, 3], bias_ih [9], bias_hh [9].
    expect(result.summary?.totalParameters).toBe(9 * 2 + 9 * 3 + 9 + 9);
  });

  it('`seqc/runtime/node` loads and runs what `seqc` compiled', async () => {
    const seqc = (await import('seqc')) as typeof import('../src/index.js');
    const runtime = (await import('seqc/runtime/node')) as typeof import('../src/runtime/node.js');
    const { model } = seqc.compile(
      'model M {\n  input x: float32[batch, time, 2]\n  x -> GRU(hidden=3) -> last -> output y\n}\n',
    );
    const loaded = await runtime.loadModel(model!, 'm.onnx');
    const run = await runtime.runModel(
      loaded.model!,
      new Map([['x', { dtype: 'float32', dims: [1, 2, 2], data: Float32Array.of(1, 2, 3, 4) }]]),
    );
    expect(run.diagnostics).toEqual([]);
    expect(run.outputs!.get('y')!.dims).toEqual([1, 3]);
  });
});

describe('onnxruntime-node as an optional peer dependency', () => {
  it('is loaded on first use, once', async () => {
    const first = await loadOrtNode();
    expect(first.diagnostics).toEqual([]);
    expect(typeof first.ort?.InferenceSession.create).toBe('function');
    expect((await loadOrtNode()).ort).toBe(first.ort);
  });

  it('tells Node’s “package not installed” apart from a failure inside an installed package', async () => {
    const name = 'seqc-no-such-package';
    const missing = await import(name).catch((e: unknown) => e);
    expect(isMissingPackage(missing, 'seqc-no-such-package')).toBe(true);
    expect(isMissingPackage(missing, 'onnxruntime-node')).toBe(false);
    expect(isMissingPackage(new Error('libonnxruntime.so.1: cannot open shared object file'), 'onnxruntime-node')).toBe(
      false,
    );
  });

  it('without it, `seqc run` reports SEQ340 saying what to install, and `seqc compile` still works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqc-no-ort-'));
    const restore = pretendOrtNodeIsMissing();
    try {
      writeFileSync(
        join(dir, 'm.seq'),
        'model M {\n  input x: float32[batch, time, 2]\n  x -> GRU(hidden=3) -> last -> output y\n}\n',
      );
      const compiled = await seqc('compile', join(dir, 'm.seq'));
      expect(compiled.status).toBe(0);
      const ran = await seqc('run', join(dir, 'm.onnx'), '--input', 'x=[[[1,2]]]');
      expect(ran.status).toBe(1);
      expect(ran.err).toContain('error[SEQ340]');
      expect(ran.err).toContain('npm install onnxruntime-node');
      const generated = await seqc('generate', 'specs/translator.seq', '--src', '5 6 7');
      expect(generated.status).toBe(1);
      expect(generated.err).toContain('error[SEQ340]');
    } finally {
      restore();
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await loadOrtNode()).ort).toBeDefined();
  });
});

async function seqc(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { status, out, err };
}
