// `seqc serve` on the command line: what it loads from files and folders, its flags, and one request answered in process with `--request`.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

const workspace = mkdtempSync(join(tmpdir(), 'seqc-serve-cli-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

const tagger = `model Tagger {
  input tokens: int64[batch, time]
  tokens -> embedding: Embedding(vocab=10, dim=4) -> fc: Linear(3) -> output scores
}
`;
const lm = `model Lm {
  decoder(bos=1, eos=2, max_length=4) {
    -> embedding: Embedding(vocab=8, dim=4)
    -> lstm: LSTM(hidden=4)
    -> generator: Linear(8)
  }
}
`;

async function seqc(...argv: string[]): Promise<{ status: number; json: any }> {
  let out = '';
  const status = await main([...argv, '--json'], { out: (t) => (out += t), err: () => {}, color: false });
  return { status, json: JSON.parse(out) };
}

beforeAll(async () => {
  mkdirSync(join(workspace, 'models'));
  writeFileSync(join(workspace, 'tagger.seq'), tagger);
  writeFileSync(join(workspace, 'lm.seq'), lm);
  expect(
    (await seqc('compile', join(workspace, 'tagger.seq'), '-o', join(workspace, 'models', 'tagger.onnx'))).status,
  ).toBe(0);
  expect((await seqc('compile', join(workspace, 'lm.seq'), '-o', join(workspace, 'models', 'lm.onnx'))).status).toBe(0);
});

describe('seqc serve', () => {
  it('serves a folder: its bundles by manifest, and only the .onnx files no manifest names', async () => {
    const result = await seqc('serve', join(workspace, 'models'), '--request', 'GET /v2/models/tagger');
    expect(result.status).toBe(0);
    expect(result.json.result.body.name).toBe('tagger');
    const bundle = await seqc('serve', join(workspace, 'models'), '--request', 'GET /v2/models/lm');
    expect(bundle.json.result.body).toMatchObject({ name: 'lm', platform: 'seqc_bundle' });
    const step = await seqc('serve', join(workspace, 'models'), '--request', 'GET /v2/models/lm.step');
    expect(step.json.diagnostics[0].code).toBe('SEQ501');
    expect(step.json.diagnostics[0].facts.expected).toEqual(['lm', 'tagger']);
  });

  it('infers from a spec compiled in memory and generates from a bundle, one request each', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'tokens', shape: [1, 2], datatype: 'INT64', data: [1, 2] }] });
    const inferred = await seqc(
      'serve',
      join(workspace, 'tagger.seq'),
      '--request',
      'POST /v2/models/tagger/infer',
      '--body',
      body,
    );
    expect(inferred.status).toBe(0);
    expect(inferred.json.result.body.outputs[0]).toMatchObject({ name: 'scores', datatype: 'FP32', shape: [1, 2, 3] });
    const generated = await seqc(
      'serve',
      join(workspace, 'lm.seq'),
      '--request',
      'POST /v2/models/lm/generate',
      '--body',
      '{"prompt": [[3]], "parameters": {"strategy": "beam", "beam_width": 2}}',
    );
    expect(generated.status).toBe(0);
    expect(generated.json.result.body.output_ids).toHaveLength(1);
  });

  it('refuses two models of the same name, nothing to serve, and bad flags', async () => {
    const twice = await seqc('serve', join(workspace, 'tagger.seq'), join(workspace, 'models', 'tagger.onnx'));
    expect([twice.status, twice.json.diagnostics.map((d: { code: string }) => d.code)]).toEqual([1, ['SEQ507']]);
    const empty = mkdtempSync(join(workspace, 'empty-'));
    expect((await seqc('serve', empty)).json.diagnostics[0].code).toBe('SEQ507');
    expect((await seqc('serve', join(workspace, 'tagger.seq'), '--port', '70000')).status).toBe(2);
    expect((await seqc('serve', join(workspace, 'tagger.seq'), '--body', '{}')).status).toBe(2);
    expect((await seqc('serve', join(workspace, 'tagger.seq'), '--request', 'DELETE /v2')).status).toBe(2);
    expect((await seqc('serve')).status).toBe(2);
  });
});
