// The PyTorch checkpoint reader over committed fixtures (no Python needed): dtypes, views, keys, refusals, and the CLI's FILE.pt:KEY rule.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { splitWeightsArgument } from '../src/cli/io.js';
import { compile, readPtCheckpoint, writeSafetensors } from '../src/index.js';
import type { Diagnostic } from '../src/diagnostics/diagnostic.js';
import { readWeightsFile } from '../src/weights/resolve.js';

const fixtures = fileURLToPath(new URL('./fixtures/pt/', import.meta.url));
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(fixtures, name)));
const codes = (diagnostics: readonly Diagnostic[]): string[] => diagnostics.map((d) => d.code);

const taggerSpec = `model Tagger {
  input tokens: int64[batch, time]
  tokens -> embedding: Embedding(vocab=100, dim=8) -> fc: Linear(3) -> output scores
}
`;

const workspace = mkdtempSync(join(tmpdir(), 'seqc-pt-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

async function seqcJson(...argv: string[]): Promise<{ status: number; codes: string[]; result: unknown }> {
  let out = '';
  const status = await main([...argv, '--json'], { out: (t) => (out += t), err: () => {}, color: false });
  const report = JSON.parse(out) as { diagnostics: Diagnostic[]; result: unknown };
  return { status, codes: codes(report.diagnostics), result: report.result };
}

describe('reading torch.save checkpoints', () => {
  it('reads every dtype and view form as PyTorch gives them (views.json was written by torch itself)', () => {
    const expected = JSON.parse(readFileSync(join(fixtures, 'views.json'), 'utf8')) as Record<
      string,
      { shape: number[]; data: number[] }
    >;
    const read = readPtCheckpoint(fixture('views.pt'), 'views.pt');
    expect(read.diagnostics).toEqual([]);
    expect([...read.tensors!.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, want] of Object.entries(expected)) {
      const got = read.tensors!.get(name)!;
      expect(got.shape, name).toEqual(want.shape);
      // float32 values compare exactly: F16, BF16 and F64 convert the same way in both.
      expect(Array.from(got.data), name).toEqual(want.data);
    }
    // The transposed view really is the transpose of the tensor it shares a storage with.
    const a = read.tensors!.get('shared.a')!;
    const t = read.tensors!.get('shared.t')!;
    expect(t.data[1 * 4 + 2]).toBe(a.data[2 * 6 + 1]);
  });

  it('reads the ZIP64 end record that torch writes when the plain one is saturated', () => {
    const bytes = fixture('tagger.pt').slice();
    const end = bytes.length - 22;
    bytes.fill(0xff, end + 8, end + 20);
    const read = readPtCheckpoint(bytes, 'tagger.pt');
    expect(read.diagnostics).toEqual([]);
    expect(read.tensors).toEqual(readPtCheckpoint(fixture('tagger.pt'), 'tagger.pt').tensors);
  });

  it('reads a state_dict under a key of a training checkpoint and skips the plain values beside it', () => {
    const whole = readPtCheckpoint(fixture('checkpoint.pt'), 'checkpoint.pt', 'model');
    expect(whole.diagnostics).toEqual([]);
    const direct = readPtCheckpoint(fixture('tagger.pt'), 'tagger.pt');
    expect([...whole.tensors!.keys()]).toEqual(['embedding.weight', 'fc.weight', 'fc.bias']);
    for (const [name, tensor] of direct.tensors!) expect(whole.tensors!.get(name)).toEqual(tensor);
  });

  it('without a key, a dict of state_dicts names the keys that hold tensors', () => {
    const read = readPtCheckpoint(fixture('checkpoint.pt'), 'checkpoint.pt');
    expect(codes(read.diagnostics)).toEqual(['SEQ213']);
    expect(read.diagnostics[0]!.hint).toContain('checkpoint.pt:model');
    expect(read.diagnostics[0]!.facts).toMatchObject({ expected: ['model'] });
  });

  it('a missing key lists the keys present and suggests the nearest', () => {
    const read = readPtCheckpoint(fixture('checkpoint.pt'), 'checkpoint.pt', 'modle');
    expect(codes(read.diagnostics)).toEqual(['SEQ213']);
    expect(read.diagnostics[0]!.message).toContain('`model`, `epoch`, `lr`');
    expect(read.diagnostics[0]!.hint).toMatch(/did you mean `model`\?/);
    const notADict = readPtCheckpoint(fixture('checkpoint.pt'), 'checkpoint.pt', 'epoch');
    expect(codes(notADict.diagnostics)).toEqual(['SEQ213']);
    expect(notADict.diagnostics[0]!.message).toContain('`epoch` is 3');
  });

  it.each([
    ['ints.pt', 'SEQ101', /int64|I64/],
    ['legacy.pt', 'SEQ214', /legacy format/],
    ['torchscript.pt', 'SEQ214', /TorchScript/],
    ['big-endian.pt', 'SEQ214', /little-endian/],
    ['os-system.pt', 'SEQ211', /`posix\.system`|`os\.system`/],
    ['truncated-pickle.pt', 'SEQ212', /ends without a STOP/],
  ])('%s is refused with %s', (name, code, message) => {
    const read = readPtCheckpoint(fixture(name), name);
    expect(codes(read.diagnostics)).toEqual([code]);
    expect(read.diagnostics[0]!.message).toMatch(message);
    expect(read.diagnostics[0]!.hint).toBeTruthy();
    expect(read.tensors).toBeUndefined();
  });
});

describe('compile --weights FILE.pt', () => {
  const spec = join(workspace, 'tagger.seq');
  writeFileSync(spec, taggerSpec);
  copyFileSync(join(fixtures, 'tagger.pt'), join(workspace, 'tagger.pt'));
  copyFileSync(join(fixtures, 'checkpoint.pt'), join(workspace, 'checkpoint.pt'));

  it('gives the same model as the same tensors in safetensors, directly and under a key', async () => {
    const tensors = readPtCheckpoint(fixture('tagger.pt'), 'tagger.pt').tensors!;
    const viaSafetensors = compile(taggerSpec, {
      weights: { bytes: writeSafetensors(tensors), name: 'w.safetensors' },
    });
    const viaPt = compile(taggerSpec, { weights: { bytes: fixture('tagger.pt'), name: 'tagger.pt' } });
    const viaKey = compile(taggerSpec, { weights: { bytes: fixture('checkpoint.pt'), name: 'c.pt', key: 'model' } });
    expect(codes(viaPt.diagnostics)).toEqual([]);
    expect(codes(viaKey.diagnostics)).toEqual([]);
    expect(viaPt.model).toEqual(viaSafetensors.model);
    expect(viaKey.model).toEqual(viaSafetensors.model);
  });

  it('runs through the CLI with FILE.pt and FILE.pt:KEY, and refuses a bad key with exit 1', async () => {
    const input = ['--input', 'tokens=[[1,2,3]]'];
    const plain = await seqcJson('run', spec, '--weights', join(workspace, 'tagger.pt'), ...input);
    const keyed = await seqcJson('run', spec, '--weights', `${join(workspace, 'checkpoint.pt')}:model`, ...input);
    expect(plain.status).toBe(0);
    expect(keyed.status).toBe(0);
    expect(keyed.result).toEqual(plain.result);
    const wrong = await seqcJson('run', spec, '--weights', `${join(workspace, 'checkpoint.pt')}:weights`, ...input);
    expect(wrong).toMatchObject({ status: 1, codes: ['SEQ213'] });
  });

  it('safetensors named like a checkpoint (`pytorch_model.bin`) is still read as safetensors', () => {
    const tensors = readPtCheckpoint(fixture('tagger.pt'), 'tagger.pt').tensors!;
    const r = compile(taggerSpec, { weights: { bytes: writeSafetensors(tensors), name: 'pytorch_model.bin' } });
    expect(codes(r.diagnostics)).toEqual([]);
    const text = compile(taggerSpec, { weights: { bytes: new TextEncoder().encode('not weights'), name: 'm.bin' } });
    expect(codes(text.diagnostics)).toEqual(['SEQ210']);
  });

  it('a key after a safetensors file is refused', () => {
    const tensors = readPtCheckpoint(fixture('tagger.pt'), 'tagger.pt').tensors!;
    const r = compile(taggerSpec, {
      weights: { bytes: writeSafetensors(tensors), name: 'w.safetensors', key: 'model' },
    });
    expect(codes(r.diagnostics)).toEqual(['SEQ213']);
  });
});

describe('the FILE.pt:KEY rule', () => {
  const none = (): boolean => false;
  it.each([
    ['model.pt:model', { path: 'model.pt', key: 'model' }],
    ['runs/ckpt.pth:state_dict', { path: 'runs/ckpt.pth', key: 'state_dict' }],
    ['a:b/model.bin:ema', { path: 'a:b/model.bin', key: 'ema' }],
    ['C:\\models\\m.pt', { path: 'C:\\models\\m.pt' }],
    ['C:\\models\\m.pt:model', { path: 'C:\\models\\m.pt', key: 'model' }],
    ['weights.safetensors', { path: 'weights.safetensors' }],
    ['w.safetensors:model', { path: 'w.safetensors:model' }],
    ['model.pt:', { path: 'model.pt:' }],
    ['model.pt:a/b', { path: 'model.pt:a/b' }],
  ])('%s', (value, expected) => {
    expect(splitWeightsArgument(value, none)).toEqual(expected);
  });

  it('a file whose name really ends in `:KEY` is read as a path', () => {
    expect(splitWeightsArgument('odd.pt:model', (p) => p === 'odd.pt:model')).toEqual({ path: 'odd.pt:model' });
  });
});

describe('telling a checkpoint from safetensors', () => {
  it('reads a safetensors file whose header size starts with the byte 0x80 as safetensors', () => {
    // A header of 640 bytes is 0x80 0x02 … in little-endian: the bytes a pickle (PROTO 2) starts with.
    const header = JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }).padEnd(640, ' ');
    const bytes = new Uint8Array(8 + 640 + 4);
    new DataView(bytes.buffer).setUint32(0, 640, true);
    bytes.set(new TextEncoder().encode(header), 8);
    new DataView(bytes.buffer).setFloat32(8 + 640, 1.5, true);
    expect(bytes[0]).toBe(0x80);
    const read = readWeightsFile({ bytes, name: 'model.safetensors' });
    expect(read.diagnostics).toEqual([]);
    expect(Array.from(read.tensors!.get('w')!.data)).toEqual([1.5]);
  });
});
