// The webgpu target's smaller forms in Chromium: `--quantize int8-weights` and `--precision fp16` graphs on onnxruntime-web's WebGPU provider, where ONNX Runtime places each node, and onnxruntime-node's outputs for the same bytes.
//
// Runs in test/browser/webgpu.html as test/browser/webgpu.test.ts does (SwiftShader runs WebGPU on
// the CPU here, so this says where nodes run and what they compute, not how fast).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/index.js';
import { browserAvailable, launchBrowser, nodePlacements, openPage, serveStatic } from './browser/harness.js';

const folder = 'test-results/quantize-webgpu';

interface Feed {
  readonly type: 'int64';
  readonly dims: number[];
  readonly data: number[];
}

interface PageResult {
  readonly error?: string;
  readonly outputs?: Record<string, { type: string; dims: number[]; data: number[] }>;
}

declare const window: {
  seqcReady: boolean;
  seqcRun(url: string, feeds: Record<string, Feed>, marker: string): Promise<PageResult>;
};

const tokens: Feed = { type: 'int64', dims: [2, 4], data: [4, 17, 250, 9, 31, 2, 0, 0] };
const lengths: Feed = { type: 'int64', dims: [2], data: [4, 2] };

const cases = (['tagger', 'sentiment'] as const).flatMap((spec) =>
  (
    [
      ['int8-weights', { quantize: 'int8-weights' }],
      ['fp16', { precision: 'fp16' }],
    ] as const satisfies readonly (readonly [string, Pick<CompileOptions, 'quantize' | 'precision'>])[]
  ).map(([form, options]) => {
    const result = compile(readFileSync(`specs/${spec}.seq`, 'utf8'), {
      sourceName: `${spec}.seq`,
      target: 'webgpu',
      ...options,
    });
    return { title: `${spec} ${form}`, file: `${spec}.${form}.onnx`, bytes: result.model! };
  }),
);

/** onnxruntime-node's outputs for the same bytes, unfused (its optimizer would turn DequantizeLinear + MatMul into an int8 MatMul). */
async function onCpu(bytes: Uint8Array): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  try {
    const feed = (f: Feed) =>
      new ort.Tensor(
        'int64',
        BigInt64Array.from(f.data, (v) => BigInt(v)),
        f.dims,
      );
    return (await session.run({ tokens: feed(tokens), lengths: feed(lengths) })) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}

describe.skipIf(!browserAvailable())('smaller forms of the webgpu target in Chromium', () => {
  let server: { url: string; close: () => Promise<void> };
  let browser: Browser;
  let page: Page;
  let log: string[];

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

  for (const c of cases) {
    it(`${c.title}: every node on the WebGPU provider, and onnxruntime-node's outputs`, async () => {
      log.length = 0;
      const marker = `seqc:${c.file}`;
      const result = await page.evaluate(([url, f, m]) => window.seqcRun(url, f, m), [
        `/${folder}/${c.file}`,
        { tokens, lengths },
        marker,
      ] as const);
      await expect.poll(() => log.some((line) => line === `${marker} done`), { timeout: 10_000 }).toBe(true);
      expect(result.error, c.title).toBeUndefined();
      const placements = nodePlacements(log);
      expect(placements.get('CPUExecutionProvider') ?? [], `${c.title}: nodes on the CPU`).toEqual([]);
      expect([...placements.keys()], `${c.title}: providers`).toEqual(['WebGpuExecutionProvider']);
      const expected = await onCpu(c.bytes);
      for (const [name, tensor] of Object.entries(expected)) {
        const want = Array.from(tensor.data as Float32Array);
        const got = result.outputs![name]!.data;
        const error = want.reduce((worst, v, i) => Math.max(worst, Math.abs(v - got[i]!)), 0);
        console.log(`${c.title}: ${name} max |Δ| ${error.toExponential(2)}`);
        expect(error, `${c.title}: ${name}`).toBeLessThan(1e-4);
      }
    }, 120_000);
  }
});
