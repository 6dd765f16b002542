// The webgpu target in Chromium: every spec family's graphs, compiled with `--target webgpu`, load in
// onnxruntime-web's WebGPU build with every node on the WebGPU provider, as ONNX Runtime's own verbose
// placement log says, and give onnxruntime-node's outputs for the same bytes.
//
// Each graph runs in test/browser/webgpu.html, which imports `onnxruntime-web/webgpu` (the native
// WebGpuExecutionProvider; the default `onnxruntime-web` build's 'webgpu' is the older JS provider,
// which has no LSTM or GRU kernel at all). The session logs at severity 0; `nodePlacements` reads its
// "Node placements" section, and the memcpy transformer's lines tell whether ONNX Runtime had to copy
// anything between the CPU and the GPU. Three small specs cover what the spec families do not reach:
// RNN layers (run as GRUs), pools and log_softmax with lengths, a language model's greedy graph with an
// empty prompt, and the unrolled scoring graph of a Bahdanau decoder with an RNN cell and a bridge
// (which holds the encoder and the step). The Gather graph that generation runs to reorder the decoder
// state on the GPU (src/runtime/gpu-state.ts) is checked the same way. SwiftShader runs WebGPU on the CPU,
// so the Translator's greedy graph (64 steps of an 8000-word generator) takes most of the two minutes.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { rowGatherModel } from '../../src/runtime/gpu-state.js';
import { browserAvailable, launchBrowser, nodePlacements, openPage, serveStatic } from './harness.js';

const folder = 'test-results/webgpu';
/** Float32 on the GPU against float32 on the CPU, the same graph. */
const TOLERANCE = 1e-4;

interface Feed {
  readonly type: 'int64' | 'float32';
  readonly dims: number[];
  readonly data: number[];
}

const ids = (rows: number[][]): Feed => ({ type: 'int64', dims: [rows.length, rows[0]!.length], data: rows.flat() });
const vector = (values: number[]): Feed => ({ type: 'int64', dims: [values.length], data: values });
const floats = (dims: number[], seed: number): Feed => {
  const count = dims.reduce((a, b) => a * b, 1);
  return { type: 'float32', dims, data: Array.from({ length: count }, (_, i) => 0.5 * Math.sin(seed + 1.3 * i)) };
};

interface Case {
  readonly title: string;
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly feeds: Record<string, Feed>;
}

/**
 * Compiles a spec for the webgpu target; a bundle gives one case per graph (or per graph in `roles`),
 * with `feeds` picking inputs by name.
 */
function casesOf(
  title: string,
  path: string,
  source: string,
  feeds: Record<string, Feed>,
  roles?: readonly string[],
): Case[] {
  const result = compile(source, { sourceName: path, target: 'webgpu' });
  expect(result.diagnostics, title).toEqual([]);
  const files = result.bundle?.files.map((f) => ({ name: f.file, role: f.role, bytes: f.bytes, proto: f.proto })) ?? [
    { name: `${title}.onnx`, role: 'model', bytes: result.model!, proto: result.proto! },
  ];
  return files
    .filter((f) => roles === undefined || roles.includes(f.role))
    .map((f) => ({
      title: result.bundle === undefined ? title : `${title} ${f.role}`,
      file: f.name,
      bytes: f.bytes,
      feeds: Object.fromEntries(f.proto.graph.inputs.map((i) => [i.name, feeds[i.name]!])),
    }));
}

const src = ids([
  [5, 17, 9, 2, 3],
  [8, 9, 0, 0, 0],
]);
const srcLengths = vector([5, 2]);

const rnnTagger = `model Extras {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=20, dim=6, padding_idx=0) -> rnn: BiRNN(hidden=5, layers=2, nonlinearity=relu) -> fc: Linear(4) -> ln: LayerNorm -> log_softmax -> output logp
  fc -> last -> output last
  fc -> mean -> output mean
  fc -> max -> output max
  rnn -> last -> output final
}
`;

const languageModel = `model Lm {
  decoder(bos=1, eos=2, max_length=5) {
    -> emb: Embedding(vocab=12, dim=4)
    -> rec: GRU(hidden=6, layers=2)
    -> out: Linear(12)
    -> log_softmax
  }
}
`;

const bahdanau = `model Bahdanau {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=20, dim=4, padding_idx=0) -> encoder: BiGRU(hidden=3)
  }
  decoder(bos=1, eos=2, max_length=5, bridge=linear) {
    -> tgt_embedding: Embedding(vocab=12, dim=4)
    -> attention: Attention(score=additive)
    -> decoder: RNN(hidden=6)
    -> generator: Linear(12)
  }
}
`;

function allCases(): Case[] {
  const spec = (name: string): string => readFileSync(`specs/${name}.seq`, 'utf8');
  const tokens = ids([
    [4, 17, 250, 9],
    [31, 2, 0, 0],
  ]);
  const lengths = vector([4, 2]);
  return [
    ...casesOf('SimpleLSTM', 'specs/simple_lstm.seq', spec('simple_lstm'), { tokens }),
    ...casesOf('Sentiment', 'specs/sentiment.seq', spec('sentiment'), { tokens, lengths }),
    ...casesOf('Tagger', 'specs/tagger.seq', spec('tagger'), { tokens, lengths }),
    ...casesOf('Translator', 'specs/translator.seq', spec('translator'), {
      src,
      src_lengths: srcLengths,
      tgt_in: ids([
        [1, 5, 6, 7],
        [1, 9, 10, 2],
      ]),
      tokens: vector([1, 17]),
      h: floats([2, 2, 512], 1),
      c: floats([2, 2, 512], 2),
      memory: floats([2, 5, 512], 3),
    }),
    ...casesOf('RNN tagger', 'extras.seq', rnnTagger, {
      tokens: ids([
        [3, 7, 11, 19, 2],
        [4, 5, 0, 0, 0],
        [6, 8, 9, 0, 0],
      ]),
      lengths: vector([5, 2, 3]),
    }),
    ...casesOf('Language model', 'lm.seq', languageModel, { prompt: { type: 'int64', dims: [2, 0], data: [] } }, [
      'greedy',
    ]),
    ...casesOf(
      'Bahdanau',
      'bahdanau.seq',
      bahdanau,
      {
        src,
        src_lengths: srcLengths,
        tgt_in: ids([
          [1, 3, 4, 5, 6],
          [1, 7, 2, 0, 0],
        ]),
      },
      ['scoring'],
    ),
    // The graph that generate() runs to drop rows and reorder beams with the state on the GPU (src/runtime/gpu-state.ts).
    {
      title: 'Row gather',
      file: 'rows.onnx',
      bytes: rowGatherModel([
        { name: 'h', axis: 1 },
        { name: 'c', axis: 1 },
        { name: 'feed', axis: 0 },
      ]),
      feeds: { h: floats([2, 3, 4], 4), c: floats([2, 3, 4], 5), feed: floats([3, 4], 6), rows: vector([2, 0, 0, 1]) },
    },
  ];
}

/** onnxruntime-node's outputs for the same bytes and feeds. */
async function onCpu(c: Case): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(c.bytes);
  try {
    const feeds = Object.fromEntries(
      Object.entries(c.feeds).map(([name, f]) => [
        name,
        f.type === 'int64'
          ? new ort.Tensor(
              'int64',
              BigInt64Array.from(f.data, (v) => BigInt(v)),
              f.dims,
            )
          : new ort.Tensor('float32', Float32Array.from(f.data), f.dims),
      ]),
    );
    return (await session.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}

interface PageResult {
  readonly error?: string;
  readonly outputs?: Record<string, { type: string; dims: number[]; data: number[] }>;
  readonly createMs?: number;
  readonly runMs?: number;
}

declare const window: {
  seqcReady: boolean;
  seqcRun(url: string, feeds: Record<string, Feed>, marker: string): Promise<PageResult>;
};

describe.skipIf(!browserAvailable())('the webgpu target on onnxruntime-web in Chromium', () => {
  let server: { url: string; close: () => Promise<void> };
  let browser: Browser;
  let page: Page;
  let log: string[];
  const cases = allCases();

  beforeAll(async () => {
    mkdirSync(folder, { recursive: true });
    for (const c of cases) writeFileSync(`${folder}/${c.file}`, c.bytes);
    server = await serveStatic('.');
    browser = await launchBrowser();
    ({ page, console: log } = await openPage(browser, `${server.url}/test/browser/webgpu.html`));
    await page.waitForFunction(() => window.seqcReady !== undefined, null, { timeout: 60_000 });
    expect(await page.evaluate(() => window.seqcReady), 'Chromium offers a WebGPU adapter').toBe(true);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Runs one model in the page; the console lines of its session are in `log` afterwards. */
  async function run(file: string, feeds: Record<string, Feed>): Promise<PageResult> {
    log.length = 0;
    const marker = `seqc:${file}`;
    const result = await page.evaluate(([url, f, m]) => window.seqcRun(url, f, m), [
      `/${folder}/${file}`,
      feeds,
      marker,
    ] as const);
    await expect.poll(() => log.some((line) => line === `${marker} done`), { timeout: 10_000 }).toBe(true);
    return result;
  }

  it('sees CPU placements where there are some: the generic Tagger graph', async () => {
    const generic = compile(readFileSync('specs/tagger.seq', 'utf8'), { sourceName: 'specs/tagger.seq' });
    writeFileSync(`${folder}/tagger.generic.onnx`, generic.model!);
    const result = await run('tagger.generic.onnx', {
      tokens: ids([
        [4, 17, 250, 9],
        [31, 2, 0, 0],
      ]),
      lengths: vector([4, 2]),
    });
    expect(result.error).toBeUndefined();
    const cpu = nodePlacements(log).get('CPUExecutionProvider') ?? [];
    // int64 Transpose and Cast, and the Shape-derived mask, as the spike found.
    expect(cpu).toEqual(
      expect.arrayContaining([
        'Transpose tokens/to_time_major/Transpose',
        'Cast lengths/Cast',
        'Range lengths/mask/Range',
      ]),
    );
    expect(log.some((line) => /Add MemcpyFromHost/.test(line))).toBe(true);
  });

  for (const c of cases) {
    it(`${c.title}: every node on the WebGPU provider, and onnxruntime-node's outputs`, async () => {
      const result = await run(c.file, c.feeds);
      expect(result.error, c.title).toBeUndefined();

      // Placement, as ONNX Runtime logs it after partitioning: one provider, and no copies between devices.
      const placements = nodePlacements(log);
      const cpuNodes = placements.get('CPUExecutionProvider') ?? [];
      expect(cpuNodes, `${c.title}: nodes on the CPU`).toEqual([]);
      expect([...placements.keys()], `${c.title}: providers`).toEqual(['WebGpuExecutionProvider']);
      expect(
        placements.get('WebGpuExecutionProvider')!.filter((n) => n.startsWith('Memcpy')),
        `${c.title}: copy nodes`,
      ).toEqual([]);
      expect(
        log.filter((line) => /Add Memcpy(FromHost|ToHost)|Force fallback to CPU/.test(line)),
        `${c.title}: copies and CPU fallbacks`,
      ).toEqual([]);

      const expected = await onCpu(c);
      expect(Object.keys(result.outputs!).sort()).toEqual(Object.keys(expected).sort());
      for (const [name, tensor] of Object.entries(expected)) {
        const actual = result.outputs![name]!;
        expect(actual.dims, `${c.title}: ${name} dims`).toEqual([...tensor.dims]);
        const want = Array.from(tensor.data as ArrayLike<number | bigint>, Number);
        if (tensor.type === 'int64') {
          expect(actual.data, `${c.title}: ${name}`).toEqual(want);
          continue;
        }
        const error = want.reduce((worst, v, i) => Math.max(worst, Math.abs(v - actual.data[i]!)), 0);
        expect(error, `${c.title}: ${name}, max |Δ| against onnxruntime-node`).toBeLessThan(TOLERANCE);
      }
      console.log(`${c.title}: session ${Math.round(result.createMs!)} ms, first run ${Math.round(result.runMs!)} ms`);
    }, 300_000);
  }
});
