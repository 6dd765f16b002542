// Generation on onnxruntime-web's WebGPU provider with the decoder state kept on the GPU between steps: a
// `--target webgpu` bundle gives the same greedy and beam tokens as on wasm in the page, as on WebGPU with the
// state read back every step, and as on onnxruntime-node's CPU provider; and the state really stays on the GPU.
//
// The page (test/browser/gpustate.html) imports seqc's web runtime as a browser bundle that this test builds
// with Vite, with `onnxruntime-web/webgpu` left to the page's import map. The bundle under test is a small
// translator with every kind of state: a two-layer LSTM decoder (`h`, `c`), Luong attention with input
// feeding (`feed`) over the encoder's `memory`. Its weights are seqc's deterministic initialization, under
// which greedy search emits token 22 often; making 22 the `eos` lets rows finish at different steps, so
// greedy drops rows (a gather of state rows and of memory rows) several times, and beam search reorders
// beams at every step.
//
// `generate` reports, from the tensors' own `location`, how many state and memory feeds were already GPU
// tensors: all but the first step's zero `feed`. Every GPU tensor is disposed once, and the most held at
// once stays small whatever the number of steps.
//
// `SEQC_GPUSTATE_SPEED=1` adds a measurement of greedy tokens per second with and without the state on the
// GPU, in the same page and taking turns; it asserts nothing about time (SwiftShader runs WebGPU on the
// CPU, so its figures say nothing about a real GPU). The README's WebGPU section quotes one run.

import { mkdirSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { loadBundle, type GenerateOptions, type GpuStateReport } from '../../src/runtime/generate.js';
import type { OrtModule } from '../../src/runtime/ort.js';
import { browserAvailable, launchBrowser, openPage, serveStatic } from './harness.js';

const folder = 'test-results/gpustate';

/** A translator with `h`, `c`, `feed` and `memory`; `eos` and the sizes vary between the tests. */
function translator(options: { eos: number; hidden: number; vocab: number; maxLength: number }): string {
  return `model Tiny {
  input src: int64[batch, src_time]
  input src_lengths: lengths(src)
  encoder {
    src -> src_embedding: Embedding(vocab=30, dim=16, padding_idx=0) -> encoder: BiLSTM(hidden=${options.hidden / 2})
  }
  decoder(bos=1, eos=${options.eos}, max_length=${options.maxLength}, bridge=linear) {
    -> tgt_embedding: Embedding(vocab=${options.vocab}, dim=16)
    -> decoder: LSTM(hidden=${options.hidden}, layers=2)
    -> attention: Attention(score=general, input_feed=true)
    -> generator: Linear(${options.vocab})
  }
}
`;
}

/** Compiles a spec for the webgpu target and writes its bundle under `folder`; returns the manifest's URL path. */
function writeBundle(
  stem: string,
  source: string,
): { url: string; manifest: unknown; files: Record<string, Uint8Array> } {
  const result = compile(source, { sourceName: `${stem}.seq`, target: 'webgpu', bundleStem: stem });
  expect(result.diagnostics).toEqual([]);
  // As `seqc compile` writes it: graphs that read one weights file.
  const files = Object.fromEntries([
    ...result.bundle!.files.map((f) => [f.file, f.sharedBytes] as const),
    [result.bundle!.weights.file, result.bundle!.weights.bytes] as const,
  ]);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(`${folder}/${name}`, bytes);
  writeFileSync(`${folder}/${stem}.manifest.json`, JSON.stringify(result.bundle!.manifest));
  return { url: `/${folder}/${stem}.manifest.json`, manifest: result.bundle!.manifest, files };
}

/** Builds src/runtime/web.ts for the browser, as a page's bundler would, leaving onnxruntime-web to the page. */
async function bundleWebRuntime(): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    mode: 'production',
    build: {
      outDir: folder,
      emptyOutDir: false,
      minify: false,
      lib: { entry: 'src/runtime/web.ts', formats: ['es'], fileName: () => 'seqc-web.js' },
      rolldownOptions: { external: ['onnxruntime-web/webgpu'] },
    },
  });
}

const src = [[5, 17, 9, 2, 3], [8, 9], [11, 12, 13, 14], [20, 21, 22, 23, 24, 25, 26], [3], [7, 7, 7]];
/**
 * Rows that finish at different steps; then, with `minLength`, about three times as many steps, over which
 * the GPU tensors held at once must not grow; then two samples per row, which start with a gather.
 */
const requests: GenerateOptions[] = [
  { strategy: 'greedy' },
  { strategy: 'beam', beam: { width: 3, nBest: 2 } },
  { strategy: 'greedy', minLength: 11 },
  { strategy: 'beam', beam: { width: 3, nBest: 2 }, minLength: 11 },
  { strategy: 'sample', sample: { seed: 7, count: 2, topK: 5 } },
];

interface Setup {
  readonly providers: readonly string[];
  readonly stateLocation?: 'cpu' | 'gpu-buffer';
}

interface PageResult {
  readonly diagnostics: string[];
  readonly rows?: number[][][];
  readonly gpuState?: GpuStateReport;
}

declare const window: {
  seqcReady: boolean;
  seqcGenerate(url: string, setup: Setup, src: number[][], requests: GenerateOptions[]): Promise<PageResult[]>;
  seqcSpeed(
    url: string,
    setups: Setup[],
    src: number[][],
    rounds: number,
  ): Promise<{ tokens: number; ms: number; tokensPerSecond: number }[]>;
};

describe.skipIf(!browserAvailable())('generation on WebGPU with the state on the GPU, in Chromium', () => {
  let server: { url: string; close: () => Promise<void> };
  let browser: Browser;
  let page: Page;
  let log: string[];

  beforeAll(async () => {
    mkdirSync(folder, { recursive: true });
    await bundleWebRuntime();
    server = await serveStatic('.');
    browser = await launchBrowser();
    ({ page, console: log } = await openPage(browser, `${server.url}/test/browser/gpustate.html`));
    await page.waitForFunction(() => window.seqcReady !== undefined, null, { timeout: 60_000 });
    expect(await page.evaluate(() => window.seqcReady), 'Chromium offers a WebGPU adapter').toBe(true);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const generate = (url: string, setup: Setup): Promise<PageResult[]> =>
    page.evaluate(([u, s, rows, r]) => window.seqcGenerate(u, s, rows, r), [url, setup, src, requests] as const);

  it('greedy, beam and sampling give the tokens of wasm, of WebGPU with the state read back, and of onnxruntime-node', async () => {
    const tiny = writeBundle('tiny', translator({ eos: 22, hidden: 32, vocab: 24, maxLength: 12 }));
    const { bundle } = await loadBundle(
      ort as unknown as OrtModule,
      { manifest: tiny.manifest, files: tiny.files },
      { executionProviders: ['cpu'] },
    );
    const onNode = [];
    for (const request of requests) onNode.push(await bundle!.generate(src, request));
    await bundle!.release();
    const expected = onNode.map((r) => r.rows!.map((row) => row.hypotheses.map((h) => [...h.tokens])));
    // Rows finish at different steps, so greedy drops rows more than once.
    expect(new Set(expected[0]!.map((row) => row[0]!.length)).size, 'greedy lengths').toBeGreaterThan(2);

    const onGpu = await generate(tiny.url, { providers: ['webgpu'] });
    const readBack = await generate(tiny.url, { providers: ['webgpu'], stateLocation: 'cpu' });
    const onWasm = await generate(tiny.url, { providers: ['wasm'], stateLocation: 'gpu-buffer' });
    for (const [name, results] of [
      ['webgpu, state on the GPU', onGpu],
      ['webgpu, state read back', readBack],
      ['wasm', onWasm],
    ] as const) {
      expect(
        results.map((r) => r.diagnostics),
        `${name}: ${log.join('\n')}`,
      ).toEqual(requests.map(() => []));
      expect(
        results.map((r) => r.rows),
        name,
      ).toEqual(expected);
    }
    // Only WebGPU first keeps the state on the GPU; wasm ignores the request.
    expect(readBack.map((r) => r.gpuState)).toEqual(requests.map(() => undefined));
    expect(onWasm.map((r) => r.gpuState)).toEqual(requests.map(() => undefined));

    const reports = onGpu.map((r) => r.gpuState!);
    for (const [i, report] of reports.entries()) {
      const what = JSON.stringify(requests[i]);
      // Every step reads h, c, feed and memory; only the first step's zero feed comes from the CPU (none
      // when sampling, whose first gather puts it on the GPU).
      expect(report.cpuFeeds, what).toBe(requests[i]!.strategy === 'sample' ? 0 : 1);
      expect(report.gpuFeeds + report.cpuFeeds, what).toBe(4 * report.steps);
      expect(report.disposed, `${what}: every GPU tensor disposed`).toBe(report.owned);
      expect(report.owned, what).toBeGreaterThan(3 * report.steps);
      console.log(`${what}: ${JSON.stringify(report)}`);
    }
    // Greedy gathers state and memory rows each time rows finish; beam reorders its beams at every step but the last.
    expect(reports[0]!.gathers).toBeGreaterThanOrEqual(4);
    expect(reports[1]!.gathers).toBeGreaterThanOrEqual(reports[1]!.steps - 1);
    expect(reports[3]!.gathers).toBeGreaterThanOrEqual(reports[3]!.steps - 1);
    // About three times the steps, and no more GPU tensors held at once.
    expect(reports[2]!.steps).toBeGreaterThanOrEqual(11);
    expect(reports[3]!.steps).toBeGreaterThanOrEqual(11);
    expect(reports[2]!.peakLive).toBeLessThanOrEqual(reports[0]!.peakLive);
    expect(reports[3]!.peakLive).toBeLessThanOrEqual(reports[1]!.peakLive);
    expect(reports[4]!.gathers).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it.runIf(process.env.SEQC_GPUSTATE_SPEED === '1')(
    'measures greedy tokens per second with and without the state on the GPU (no assertion on time)',
    async () => {
      const hidden = Number(process.env.SEQC_GPUSTATE_HIDDEN ?? 256);
      const long = writeBundle('speed', translator({ eos: 3, hidden, vocab: 1000, maxLength: 32 }));
      const rows = Array.from({ length: 8 }, (_, r) => Array.from({ length: 12 }, (_, t) => 3 + ((r * 7 + t) % 25)));
      const setups: Setup[] = [
        { providers: ['webgpu'], stateLocation: 'gpu-buffer' },
        { providers: ['webgpu'], stateLocation: 'cpu' },
        { providers: ['wasm'] },
      ];
      const rounds = Number(process.env.SEQC_GPUSTATE_ROUNDS ?? 5);
      const totals = await page.evaluate(([u, s, r, n]) => window.seqcSpeed(u, s, r, n), [
        long.url,
        setups,
        rows,
        rounds,
      ] as const);
      const names = ['webgpu, state on the GPU', 'webgpu, state read back', 'wasm'];
      for (const [i, t] of totals.entries())
        console.log(
          `${names[i]}: ${t.tokens} tokens in ${Math.round(t.ms)} ms, ${t.tokensPerSecond.toFixed(1)} tokens/s`,
        );
      expect(totals.every((t) => t.tokens > 0)).toBe(true);
    },
    900_000,
  );
});
