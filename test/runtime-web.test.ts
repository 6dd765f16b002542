// The web runtime (onnxruntime-web's wasm provider, which also runs under Node) and the node runtime share one validation core: bad inputs never reach a kernel.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { compile, decodeModel } from '../src/index.js';
import { encodeModel } from '../src/onnx/encode.js';
import type { Diagnostic } from '../src/diagnostics/diagnostic.js';
import { loadBundle as loadBundleOnNode, loadModel as loadOnNode } from '../src/runtime/node.js';
import type { OrtModule, OrtSession, OrtTensor } from '../src/runtime/ort.js';
import { openModel, type LoadedModel } from '../src/runtime/session.js';
import { fetchBundle, loadModel as loadOnWeb } from '../src/runtime/web.js';

// src/runtime/web.ts imports `onnxruntime-web/webgpu`, a browser-only build: under Node its wasm
// backend fails to start ("Dynamic require of "node:os" is not supported"). Here it gets the package's
// Node build instead, which has the same API and the same wasm provider; test/browser/ runs the real
// import in Chromium.
vi.mock('onnxruntime-web/webgpu', async () => import('onnxruntime-web'));

/** A 4-row embedding table, the case the issue measured: WebGPU's Gather returns the last row for ids outside it. */
const tableSpec = `model Table {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)

  tokens
    -> embedding: Embedding(vocab=4, dim=3)
    -> gru: GRU(hidden=5)
    -> output states
}
`;

function compiled(source: string): Uint8Array {
  const result = compile(source, { sourceName: 'table.seq', seed: 3 });
  expect(result.diagnostics).toEqual([]);
  return result.model!;
}

const messages = (diagnostics: readonly Diagnostic[]): string[] =>
  diagnostics.map((d) => `${d.code} ${d.span.source}: ${d.message}`);

/** An ONNX Runtime stand-in that records every `run`, to prove that rejected inputs never get there. */
function recordingOrt(): OrtModule & { runs: Record<string, OrtTensor>[] } {
  const runs: Record<string, OrtTensor>[] = [];
  const session: OrtSession = {
    run: async (feeds) => {
      runs.push(feeds);
      return { states: { type: 'float32', dims: [1, 1, 5], data: new Float32Array(5) } };
    },
  };
  return {
    runs,
    InferenceSession: { create: async () => session },
    Tensor: class {
      constructor(
        readonly type: string,
        readonly data: unknown,
        readonly dims: readonly number[],
      ) {}
    },
  };
}

describe('the web runtime on onnxruntime-web (wasm)', () => {
  let bytes: Uint8Array;
  let web: LoadedModel;
  let node: LoadedModel;

  beforeAll(async () => {
    bytes = compiled(tableSpec);
    const onWeb = await loadOnWeb(bytes, { executionProviders: ['wasm'], name: 'table.onnx' });
    const onNode = await loadOnNode(bytes, 'table.onnx');
    expect(onWeb.diagnostics).toEqual([]);
    expect(onNode.diagnostics).toEqual([]);
    web = onWeb.model!;
    node = onNode.model!;
  });

  it('reads the signature from the model', () => {
    expect(web.signature.inputs.map((i) => [i.name, i.dtype, i.dims, i.vocab])).toEqual([
      ['tokens', 'int64', ['batch', 'time'], 4],
      ['lengths', 'int64', ['batch'], undefined],
    ]);
    expect(web.signature.outputs.map((o) => o.name)).toEqual(['states']);
    expect(web.executionProviders).toEqual(['wasm']);
  });

  it('runs nested lists and flat data with dims, matching onnxruntime-node, and reports its timing', async () => {
    const nested = await web.run({
      tokens: [
        [0, 1, 3],
        [2, 3, 0],
      ],
      lengths: [3, 2],
    });
    const flat = await web.run({
      tokens: { data: BigInt64Array.from([0n, 1n, 3n, 2n, 3n, 0n]), dims: [2, 3] },
      lengths: { data: [3, 2], dims: [2] },
    });
    const reference = await node.run({
      tokens: [
        [0, 1, 3],
        [2, 3, 0],
      ],
      lengths: [3, 2],
    });
    for (const result of [nested, flat, reference]) expect(result.diagnostics).toEqual([]);
    const expected = reference.outputs!.get('states')!;
    for (const result of [nested, flat]) {
      const got = result.outputs!.get('states')!;
      expect(got.dims).toEqual([2, 3, 5]);
      const worst = Math.max(
        ...Array.from(got.data as Float32Array, (v, i) => Math.abs(v - (expected.data as Float32Array)[i]!)),
      );
      expect(worst).toBeLessThan(1e-5);
      expect(result.timing!.runMs).toBeGreaterThanOrEqual(0);
      expect(result.timing!.validateMs).toBeGreaterThanOrEqual(0);
    }
  });

  it.each([
    [7, 'tokens[0][1] is 7, outside the vocabulary [0, 4)'],
    [-9, 'tokens[0][1] is -9, outside the vocabulary [0, 4)'],
    [100000, 'tokens[0][1] is 100000, outside the vocabulary [0, 4)'],
  ])('rejects the id %i with the input, the position and the allowed range', async (id, message) => {
    const result = await web.run({ tokens: [[1, id, 2]] });
    expect(result.outputs).toBeUndefined();
    expect(messages(result.diagnostics)).toEqual([`SEQ301 input \`tokens\`: ${message}`]);
  });

  it('rejects every bad id in a batch, each at its position', async () => {
    const result = await web.run({
      tokens: [
        [7, 1],
        [-9, 100000],
      ],
    });
    expect(result.diagnostics.map((d) => d.message)).toEqual([
      'tokens[0][0] is 7, outside the vocabulary [0, 4)',
      'tokens[1][0] is -9, outside the vocabulary [0, 4)',
      'tokens[1][1] is 100000, outside the vocabulary [0, 4)',
    ]);
  });

  it('counts bad ids past the first eight instead of listing them all', async () => {
    const result = await web.run({ tokens: [Array.from({ length: 20 }, () => 4)] });
    expect(result.diagnostics).toHaveLength(9);
    expect(result.diagnostics.at(-1)!.message).toBe('`tokens` has 12 more values out of range');
  });

  it.each([
    ['a length past the time axis', { tokens: [[1, 2, 3]], lengths: [4] }, 'lengths[0] is 4, outside [1, 3]'],
    [
      'a zero length',
      {
        tokens: [
          [1, 2, 3],
          [1, 2, 3],
        ],
        lengths: [3, 0],
      },
      'lengths[1] is 0, outside [1, 3]',
    ],
    [
      'batch sizes that disagree',
      { tokens: [[1, 2, 3]], lengths: [3, 3] },
      '`batch` is 1 in `tokens` but 2 in `lengths`',
    ],
    ['the wrong rank', { tokens: [1, 2, 3] }, '`tokens` must have 2 axes [batch, time], found 1 ([3])'],
    [
      'the wrong dtype',
      { tokens: { data: new Float32Array([1, 2]), dims: [1, 2] } },
      '`tokens` must be int64, found float32',
    ],
    ['a fractional id', { tokens: [[1, 2.5]] }, '`tokens` holds int64 values, but item 1 is 2.5'],
    [
      'dims that do not fit the data',
      { tokens: { data: [1, 2, 3], dims: [2, 2] } },
      '`tokens` has dims [2, 2], which hold 4 values, but its data has 3 values',
    ],
    ['an unknown input', { tokens: [[1]], token: [[1]] }, 'the model has no input `token`'],
    ['a missing input', { lengths: [1] }, 'the input `tokens` is missing'],
  ])('rejects %s', async (_, inputs, message) => {
    const result = await web.run(inputs as never);
    expect(result.outputs).toBeUndefined();
    expect(result.diagnostics.map((d) => d.message)).toContain(message);
  });

  it('gives the same diagnostics on node and on the web, from the same validation core', async () => {
    const cases: Record<string, unknown>[] = [
      { tokens: [[7, -9, 100000]] },
      { tokens: [[1, 2]], lengths: [3] },
      { tokens: [[[1]]] },
    ];
    for (const inputs of cases) {
      const [onWeb, onNode] = await Promise.all([web.run(inputs as never), node.run(inputs as never)]);
      expect(onWeb.diagnostics.length).toBeGreaterThan(0);
      expect(onWeb.diagnostics).toEqual(onNode.diagnostics);
    }
  });

  it('never hands a rejected input to ONNX Runtime', async () => {
    const ort = recordingOrt();
    const { model } = await openModel(ort, bytes, 'table.onnx', { executionProviders: ['webgpu'] });
    for (const id of [7, -9, 100000]) {
      const result = await model!.run({ tokens: [[1, id]] });
      expect(result.diagnostics).toHaveLength(1);
    }
    expect(ort.runs).toEqual([]);
    const ok = await model!.run({ tokens: [[1, 3]] });
    expect(ok.diagnostics).toEqual([]);
    expect(ort.runs).toHaveLength(1);
    expect(Object.keys(ort.runs[0]!).sort()).toEqual(['lengths', 'tokens']);
  });

  it('is needed: without it, the wasm kernel itself fails on an id outside the table (onnxruntime-web 1.30)', async () => {
    const feeds = {
      tokens: new ortWeb.Tensor('int64', BigInt64Array.from([7n]), [1, 1]),
      lengths: new ortWeb.Tensor('int64', BigInt64Array.from([1n]), [1]),
    };
    // Run-level severity 4 (fatal only) keeps the kernel's expected error line out of the test log; the session's level does not reach it on onnxruntime-web.
    await expect(
      (web.session as unknown as ortWeb.InferenceSession).run(feeds, { logSeverityLevel: 4 }),
    ).rejects.toThrow(/out of (data )?bounds/i);
  });

  it('reports a model that was not compiled by seqc, and bytes that are not a model', async () => {
    const stripped = decodeModel(bytes);
    const notSeqc = await loadOnWeb(encodeModel({ ...stripped, metadataProps: [] }), { name: 'other.onnx' });
    expect(messages(notSeqc.diagnostics)).toEqual([
      'SEQ310 other.onnx: other.onnx is an ONNX model, but not one compiled by seqc (it has no seqc.signature metadata)',
    ]);
    const garbage = await loadOnWeb(new TextEncoder().encode('not a model'));
    expect(garbage.diagnostics.map((d) => d.code)).toEqual(['SEQ309']);
    expect(garbage.diagnostics[0]!.message).toMatch(/^<model> is not a readable ONNX model/);
  });

  it('reports a URL it cannot fetch', async () => {
    const result = await loadOnWeb('http://127.0.0.1:9/missing.onnx');
    expect(result.diagnostics.map((d) => d.code)).toEqual(['SEQ311']);
    expect(result.diagnostics[0]!.message).toMatch(/^could not fetch http:\/\/127\.0\.0\.1:9\/missing\.onnx/);
  });

  it('runs the same bytes on onnxruntime-node as the node runtime does', async () => {
    const direct = await ortNode.InferenceSession.create(bytes);
    const out = await direct.run({
      tokens: new ortNode.Tensor('int64', BigInt64Array.from([1n, 2n]), [1, 2]),
      lengths: new ortNode.Tensor('int64', BigInt64Array.from([2n]), [1]),
    });
    const viaRuntime = await node.run({ tokens: [[1, 2]] });
    expect(Array.from(viaRuntime.outputs!.get('states')!.data as Float32Array)).toEqual(
      Array.from(out['states']!.data as Float32Array),
    );
  });
});

describe('decoder bundles on the web runtime', () => {
  const spec = `model Tiny {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=12, dim=6, padding_idx=0) -> encoder: LSTM(hidden=8)
  }
  decoder(bos=1, eos=2, max_length=6) {
    -> tgt_embedding: Embedding(vocab=12, dim=6)
    -> decoder: LSTM(hidden=8)
    -> attention: Attention(score=general)
    -> generator: Linear(12)
  }
}
`;

  it('fetches a bundle by its manifest URL and generates what onnxruntime-node generates', async () => {
    const compiled = compile(spec, { sourceName: 'tiny.seq', seed: 5 });
    expect(compiled.diagnostics).toEqual([]);
    const served = new Map<string, Uint8Array>(compiled.bundle!.files.map((f) => [`/models/${f.file}`, f.sharedBytes]));
    served.set(`/models/${compiled.bundle!.weights.file}`, compiled.bundle!.weights.bytes);
    served.set('/models/tiny.manifest.json', new TextEncoder().encode(JSON.stringify(compiled.bundle!.manifest)));
    const requested: string[] = [];
    const server = createServer((request, response) => {
      requested.push(request.url!);
      const body = served.get(request.url!);
      if (body === undefined) response.writeHead(404).end();
      else response.writeHead(200).end(body);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    try {
      const { port } = server.address() as AddressInfo;
      const onWeb = await fetchBundle(`http://127.0.0.1:${port}/models/tiny.manifest.json`, {
        executionProviders: ['wasm'],
      });
      expect(onWeb.diagnostics).toEqual([]);
      // The scoring graph is not fetched: generating needs the encoder, the step and (for runGreedyGraph) the greedy
      // graph, and the weights file they share, once.
      expect(requested.sort()).toEqual([
        '/models/tiny.encoder.onnx',
        '/models/tiny.greedy.onnx',
        '/models/tiny.manifest.json',
        '/models/tiny.step.onnx',
        '/models/tiny.weights.bin',
      ]);
      const files = {
        ...Object.fromEntries(compiled.bundle!.files.map((f) => [f.file, f.sharedBytes])),
        [compiled.bundle!.weights.file]: compiled.bundle!.weights.bytes,
      };
      const onNode = await loadBundleOnNode({ manifest: compiled.bundle!.manifest, files });
      const rows = [
        [3, 4, 5],
        [6, 7],
      ];
      for (const options of [
        { strategy: 'greedy' as const },
        { strategy: 'beam' as const, beam: { width: 3, nBest: 2 } },
      ]) {
        const [web, node] = await Promise.all([
          onWeb.bundle!.generate(rows, options),
          onNode.bundle!.generate(rows, options),
        ]);
        expect(web.rows!.map((r) => r.hypotheses.map((h) => h.tokens))).toEqual(
          node.rows!.map((r) => r.hypotheses.map((h) => h.tokens)),
        );
      }
      // Source ids are checked against the encoder's signature before the encoder's Gather sees them.
      for (const bundle of [onWeb.bundle!, onNode.bundle!]) {
        expect(
          (
            await bundle.generate(
              [
                [3, 4],
                [12, -1],
              ],
              { strategy: 'greedy' },
            )
          ).diagnostics.map((d) => d.message),
        ).toEqual(['src[1][0] is 12, not an id in [0, 12)']);
        expect((await bundle.runGreedyGraph([[3, 100000]])).diagnostics.map((d) => d.message)).toEqual([
          'src[0][1] is 100000, not an id in [0, 12)',
        ]);
      }
      await onWeb.bundle!.release();
      await onNode.bundle!.release();
      const missing = await fetchBundle(`http://127.0.0.1:${port}/models/none.manifest.json`);
      expect(missing.diagnostics.map((d) => d.message)).toEqual([
        `could not fetch the manifest http://127.0.0.1:${port}/models/none.manifest.json: HTTP 404`,
      ]);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});
