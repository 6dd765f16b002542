// The playground, built with Vite and driven in Chromium: diagnostics at their spans, every example compiling, outputs on wasm and WebGPU matching onnxruntime-node on the same bytes (the webgpu target's on WebGPU, every node placed there), generation, and a screenshot.

import { mkdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { loadBundle } from '../../src/runtime/generate.js';
import { browserAvailable, launchBrowser, nodePlacements, openPage, serveStatic } from './harness.js';

const brokenSpec = `# Two mistakes: a misspelt argument and an unknown layer.
model Broken {
  input tokens: int64[batch, time]

  tokens
    -> embedding: Embedding(vocab=100, dim=8)
    -> LSTM(hiden=16)
    -> last
    -> fc: Linaer(1)
    -> output logit
}
`;

/** A spec with an int64 output, which the webgpu target refuses (SEQ050): WebGPU computes nothing in int64. */
const int64OutputSpec = `model Echo {
  input tokens: int64[batch, time]

  tokens -> output ids
  tokens
    -> embedding: Embedding(vocab=50, dim=8)
    -> lstm: LSTM(hidden=8)
    -> last
    -> fc: Linear(2)
    -> output logits
}
`;

/** An LSTM with hard sigmoid gates, which the webgpu target refuses too (SEQ050), and which WebGPU's LSTM kernel cannot run. */
const hardSigmoidSpec = `model Hard {
  input tokens: int64[batch, time]

  tokens
    -> embedding: Embedding(vocab=50, dim=8)
    -> lstm: LSTM(hidden=8, recurrent_activation=hard_sigmoid)
    -> last
    -> fc: Linear(2)
    -> output logits
}
`;

const unclosedSpec = `model Unclosed {
  input tokens: int64[batch, time]
  tokens -> embedding: Embedding(vocab=10, dim=4 -> output vectors
}
`;

type Tensor = { dims: number[]; data: number[] };
interface RunRecord {
  ep: string;
  inputs: Record<string, Tensor>;
  outputs?: Record<string, Tensor>;
  diagnostics: { code: string; message: string }[];
  problems?: string[];
  timing?: { loadMs: number; validateMs: number; runMs: number };
}
interface GenerationRecord {
  ep: string;
  rows?: { tokens: number[]; score: number; text: string }[][];
  diagnostics: { code: string; message: string }[];
}
interface Hook {
  ready: boolean;
  webgpu: boolean;
  busy: boolean;
  phase: string;
  target?: string;
  sessionLogSeverity: number;
  lastRun?: RunRecord;
  lastGeneration?: GenerationRecord;
  setSource(text: string): void;
  whenCompiled(): Promise<boolean>;
}
declare const window: { __seqc: Hook };

const tolerance = 1e-4;

describe.skipIf(!browserAvailable())('the playground in Chromium', () => {
  let server: { url: string; close: () => Promise<void> };
  let browser: Browser;
  let page: Page;
  let log: string[];

  beforeAll(async () => {
    await build({ configFile: 'playground/vite.config.ts', logLevel: 'warn' });
    server = await serveStatic('playground/dist');
    browser = await launchBrowser();
    ({ page, console: log } = await openPage(browser, `${server.url}/index.html`));
    await page.setViewportSize({ width: 1440, height: 1100 });
    await page.waitForFunction(() => window.__seqc?.ready === true);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Picks an example by its file stem and waits for its compilation. */
  async function selectExample(stem: string): Promise<void> {
    const value = await page.$eval('#example', (select, wanted) => Array.from((select as HTMLSelectElement).options).find((o) => o.text.endsWith(`(${wanted}.seq)`))!.value, stem);
    await page.selectOption('#example', value);
    expect(await page.evaluate(() => window.__seqc.whenCompiled())).toBe(true);
  }

  async function setSource(text: string): Promise<boolean> {
    return page.evaluate((t) => {
      window.__seqc.setSource(t);
      return window.__seqc.whenCompiled();
    }, text);
  }

  /** Chooses the provider, and waits for the compilation for its target (webgpu for WebGPU). */
  async function chooseProvider(ep: 'wasm' | 'webgpu'): Promise<void> {
    await page.check(`input[name="ep"][value="${ep}"]`);
    await page.evaluate(() => window.__seqc.whenCompiled());
  }

  async function runInPage(): Promise<RunRecord> {
    await page.evaluate(() => {
      delete window.__seqc.lastRun;
    });
    await page.click('#run');
    await page.waitForFunction(() => window.__seqc.lastRun !== undefined && !window.__seqc.busy, undefined, { timeout: 120_000 });
    return page.evaluate(() => window.__seqc.lastRun!);
  }

  async function downloaded(selector: string): Promise<Uint8Array> {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
    return new Uint8Array(readFileSync((await download.path())!));
  }

  it('shows a broken spec’s diagnostics at their spans, with the message on hover', async () => {
    expect(await setSource(brokenSpec)).toBe(false);
    const expected = compile(brokenSpec, { sourceName: 'broken.seq' }).diagnostics;
    expect(expected.map((d) => d.code)).toEqual(['SEQ020', 'SEQ010']);

    const geometry = await page.evaluate(() => {
      const textarea = document.querySelector('.editor-input')!;
      const style = getComputedStyle(textarea);
      const box = textarea.getBoundingClientRect();
      const probe = document.createElement('span');
      probe.textContent = 'x'.repeat(100);
      document.querySelector('.editor-highlight')!.append(probe);
      const charWidth = probe.getBoundingClientRect().width / 100;
      probe.remove();
      return { top: box.top + parseFloat(style.paddingTop), left: box.left + parseFloat(style.paddingLeft), lineHeight: parseFloat(style.lineHeight), charWidth };
    });
    for (const d of expected) {
      const selector = `.squiggle[data-code="${d.code}"]`;
      const squiggle = await page.$eval(selector, (e) => {
        const r = e.getBoundingClientRect();
        return { line: Number(e.getAttribute('data-line')), column: Number(e.getAttribute('data-column')), text: e.textContent, top: r.top, left: r.left, width: r.width, height: r.height };
      });
      expect(squiggle).toMatchObject({ line: d.span.start.line, column: d.span.start.column, text: brokenSpec.slice(d.span.start.offset, d.span.end.offset) });
      // Where the span's text is drawn: its line and column in the editor's grid.
      expect(Math.abs(squiggle.top - (geometry.top + (d.span.start.line - 1) * geometry.lineHeight))).toBeLessThan(geometry.lineHeight / 2);
      expect(Math.abs(squiggle.left - (geometry.left + (d.span.start.column - 1) * geometry.charWidth))).toBeLessThan(geometry.charWidth);

      await page.mouse.move(squiggle.left + squiggle.width / 2, squiggle.top + squiggle.height / 2);
      await page.waitForSelector('.editor-tooltip:not([hidden])');
      const tooltip = await page.textContent('.editor-tooltip');
      expect(tooltip).toContain(`error[${d.code}]`);
      expect(tooltip).toContain(d.message);
      expect(tooltip).toContain(d.hint!);
    }
    await page.mouse.move(5, 5);
    expect(await page.isHidden('.editor-tooltip')).toBe(true);

    const listed = await page.$$eval('#diagnostics .diagnostic-item', (items) => items.map((i) => [i.getAttribute('data-code'), Number(i.getAttribute('data-line')), Number(i.getAttribute('data-column')), i.textContent]));
    expect(listed.map(([code, line, column]) => [code, line, column])).toEqual(expected.map((d) => [d.code, d.span.start.line, d.span.start.column]));
    expect(listed[0]![3]).toContain('hint: did you mean `hidden`?');

    // A syntax error too: the parser's span, at its line and column.
    expect(await setSource(unclosedSpec)).toBe(false);
    const parseError = compile(unclosedSpec, { sourceName: 'unclosed.seq' }).diagnostics[0]!;
    const marked = await page.$eval(`.squiggle[data-code="${parseError.code}"]`, (e) => [Number(e.getAttribute('data-line')), Number(e.getAttribute('data-column'))]);
    expect(marked).toEqual([parseError.span.start.line, parseError.span.start.column]);
  }, 60_000);

  it('compiles every example in specs/: its summary table and its layer graph appear', async () => {
    const stems = await page.$$eval('#example option', (options) => options.map((o) => /\((\w+)\.seq\)$/.exec(o.textContent!)![1]!));
    expect(stems).toEqual(expect.arrayContaining(['sentiment', 'simple_lstm', 'tagger', 'translator']));
    for (const stem of ['simple_lstm', 'sentiment', 'tagger', 'translator']) {
      await selectExample(stem);
      const reference = compile(readFileSync(`specs/${stem}.seq`, 'utf8'), { sourceName: `${stem}.seq` });
      const rows = await page.$$eval('#summary tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
      expect(rows).toEqual(reference.summary!.rows.map((r) => [r.label, r.layer, r.outputShape, r.parameters.toLocaleString('en-US')]));
      const nodes = await page.$$eval('#graph .node', (gs) => gs.map((g) => g.getAttribute('data-label')));
      const ops = [...reference.ir!.ops, ...(reference.ir!.decoder === undefined ? [] : [reference.ir!.decoder.embedding, reference.ir!.decoder.recurrent, ...reference.ir!.decoder.head])];
      expect(nodes).toEqual(expect.arrayContaining([...reference.ir!.inputs.map((i) => i.name), ...ops.map((o) => o.label), ...reference.ir!.outputs.map((o) => o.name)]));
      expect(await page.$$eval('#diagnostics .diagnostic-item', (items) => items.length)).toBe(0);
      expect(await page.isVisible('#download-model')).toBe(true);
    }
    expect(await page.$$eval('#graph .block', (gs) => gs.map((g) => g.getAttribute('data-block')))).toEqual(['encoder', 'decoder']);
    expect(await page.$$eval('#downloads a', (links) => links.map((a) => a.getAttribute('download')))).toEqual([
      'translator.onnx',
      'translator.encoder.onnx',
      'translator.step.onnx',
      'translator.greedy.onnx',
      'translator.manifest.json',
    ]);
  }, 150_000);

  it.each(['simple_lstm', 'tagger', 'sentiment'])('runs %s on wasm and on WebGPU (every node there) like onnxruntime-node does on the downloaded bytes', async (stem) => {
    expect(await page.evaluate(() => window.__seqc.webgpu)).toBe(true);
    await selectExample(stem);
    const source = readFileSync(`specs/${stem}.seq`, 'utf8');

    for (const ep of ['wasm', 'webgpu'] as const) {
      await chooseProvider(ep);
      // WebGPU runs the webgpu target's graphs, and the download link gives those bytes.
      const target = ep === 'webgpu' ? 'webgpu' : 'generic';
      expect(await page.evaluate(() => window.__seqc.target)).toBe(target);
      expect(await page.textContent('#status')).toMatch(new RegExp(`^compiled for the ${target} target in \\d+ ms`));
      expect(await page.isHidden('#target-notice')).toBe(true);
      const bytes = await downloaded('#download-model');
      // Same spec, same seed, same target: the page's compiler gives the bytes the node one does.
      expect(Buffer.from(bytes).equals(Buffer.from(compile(source, { sourceName: `${stem}.seq`, target }).model!)), `${stem} bytes for ${target}`).toBe(true);
      const session = await ort.InferenceSession.create(bytes);

      // On WebGPU, the page's session logs verbosely: ONNX Runtime's own word on where each node runs.
      await page.evaluate((level) => (window.__seqc.sessionLogSeverity = level), ep === 'webgpu' ? 0 : 2);
      const firstLine = log.length;
      const record = await runInPage();
      await page.evaluate(() => (window.__seqc.sessionLogSeverity = 2));
      expect(record.problems ?? []).toEqual([]);
      expect(record.diagnostics).toEqual([]);
      expect(record.ep).toBe(ep);
      if (ep === 'webgpu') {
        const lines = log.slice(firstLine);
        const placements = nodePlacements(lines);
        expect([...placements.keys()], `${stem}: providers`).toEqual(['WebGpuExecutionProvider']);
        expect(placements.get('WebGpuExecutionProvider')!.filter((n) => n.startsWith('Memcpy')), `${stem}: copy nodes`).toEqual([]);
        expect(lines.filter((line) => /Add Memcpy(FromHost|ToHost)|Force fallback to CPU/.test(line)), `${stem}: copies and CPU fallbacks`).toEqual([]);
      }
      const feeds = Object.fromEntries(Object.entries(record.inputs).map(([name, t]) => [name, new ort.Tensor('int64', BigInt64Array.from(t.data, BigInt), t.dims)]));
      const expected = await session.run(feeds);
      for (const [name, got] of Object.entries(record.outputs!)) {
        const want = expected[name]!;
        expect(got.dims, `${stem} ${name} on ${ep}`).toEqual([...want.dims]);
        const worst = Math.max(...got.data.map((v, i) => Math.abs(v - (want.data as Float32Array)[i]!)));
        expect(worst, `${stem} ${name} on ${ep}`).toBeLessThan(tolerance);
      }
      expect(await page.textContent('#timing')).toMatch(new RegExp(`^${ep}: session opened in \\d+ ms · inputs checked in \\d+\\.\\d+ ms · run \\d+\\.\\d+ ms$`));
      await session.release();
    }
    if (stem === 'sentiment') {
      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: 'test-results/playground.png', fullPage: true });
    }
  }, 180_000);

  it('falls back to the generic target on WebGPU when the webgpu target refuses the spec, and says what that costs', async () => {
    await selectExample('simple_lstm');
    await chooseProvider('webgpu');
    expect(await setSource(int64OutputSpec)).toBe(true);
    expect(await page.evaluate(() => window.__seqc.target)).toBe('generic');
    expect(await page.textContent('#status')).toMatch(/^compiled for the generic target in \d+ ms/);
    expect(await page.isVisible('#target-notice')).toBe(true);
    const notice = await page.textContent('#target-notice');
    expect(notice).toContain('some nodes will run on the CPU');
    expect(notice).toContain('SEQ050');
    expect(notice).toContain('the output `ids` holds int64 values');
    // The download is the generic graph, and that is what runs: partly on the CPU, as the notice says.
    const bytes = await downloaded('#download-model');
    expect(Buffer.from(bytes).equals(Buffer.from(compile(int64OutputSpec, { sourceName: 'simple_lstm.seq' }).model!))).toBe(true);
    await page.evaluate(() => (window.__seqc.sessionLogSeverity = 0));
    const firstLine = log.length;
    const record = await runInPage();
    await page.evaluate(() => (window.__seqc.sessionLogSeverity = 2));
    expect(record.diagnostics).toEqual([]);
    expect(record.outputs!['ids']).toEqual(record.inputs['tokens']);
    expect(record.outputs!['logits']!.dims).toEqual([2, 2]);
    expect(nodePlacements(log.slice(firstLine)).get('CPUExecutionProvider')?.length ?? 0).toBeGreaterThan(0);

    // Hard sigmoid gates: WebGPU's LSTM kernel would fail on them, and the notice says to choose wasm.
    expect(await setSource(hardSigmoidSpec)).toBe(true);
    expect(await page.evaluate(() => window.__seqc.target)).toBe('generic');
    expect(await page.textContent('#target-notice')).toContain('WebGPU cannot run this model at all: its LSTM and GRU kernels have no hard sigmoid (lstm). Choose wasm to run it.');
    // On wasm the generic target is what was asked for: no notice.
    await chooseProvider('wasm');
    expect(await page.isHidden('#target-notice')).toBe(true);
  }, 60_000);

  it('stops an id outside the vocabulary in the page, naming the position and the range, before WebGPU sees it', async () => {
    await selectExample('tagger');
    await chooseProvider('webgpu');
    await page.fill('textarea[data-input="tokens"]', '5 7 2\n-9 100000');
    const record = await runInPage();
    expect(record.outputs).toBeUndefined();
    expect(record.diagnostics.map((d) => d.message)).toEqual(['tokens[1][0] is -9, outside the vocabulary [0, 5000)', 'tokens[1][1] is 100000, outside the vocabulary [0, 5000)']);
    expect(await page.textContent('#run-diagnostics')).toContain('tokens[1][1] is 100000, outside the vocabulary [0, 5000)');
    expect(await page.textContent('#timing')).toBe('rejected before ONNX Runtime: nothing ran');
    await page.fill('textarea[data-input="tokens"]', '5 7 2\n8 9');
  }, 60_000);

  it('runs on text through a vocabulary', async () => {
    await selectExample('tagger');
    await chooseProvider('wasm');
    await page.check('input[name="input-mode"][value="text"]');
    await page.fill('#vocabulary', '<pad>\n<unk>\nthe\ncat\nsat');
    await page.fill('textarea[data-input="tokens"]', 'the cat sat\nthe dog');
    const record = await runInPage();
    expect(record.inputs['tokens']).toEqual({ dims: [2, 3], data: [2, 3, 4, 2, 1, 0] });
    expect(record.inputs['lengths']).toEqual({ dims: [2], data: [3, 2] });
    expect(record.outputs!['scores']!.dims).toEqual([2, 3, 17]);
    await page.check('input[name="input-mode"][value="ids"]');
  }, 60_000);

  it('generates with a decoder spec in the page, greedy and beam, as onnxruntime-node does', async () => {
    await selectExample('tiny_translator');
    expect(await page.isVisible('#generate-panel')).toBe(true);
    expect(await page.isHidden('#run-panel')).toBe(true);
    const source = await page.$eval('#editor textarea', (t) => (t as HTMLTextAreaElement).value);
    const reference = compile(source, { sourceName: 'tiny_translator.seq', bundleStem: 'tiny_translator' });
    const files = Object.fromEntries(reference.bundle!.files.map((f) => [f.file, f.bytes]));
    const onNode = (await loadBundle(ort, { manifest: reference.bundle!.manifest, files }, { executionProviders: ['cpu'] })).bundle!;
    const rows = [
      [5, 6, 7],
      [8, 9],
    ];
    await page.fill('textarea[data-input="src"]', rows.map((r) => r.join(' ')).join('\n'));

    for (const [strategy, ep] of [['greedy', 'wasm'], ['beam', 'wasm'], ['greedy', 'webgpu']] as const) {
      await chooseProvider(ep);
      await page.selectOption('#strategy', strategy);
      await page.fill('#beam-width', '3');
      await page.fill('#n-best', '2');
      await page.evaluate(() => {
        delete window.__seqc.lastGeneration;
      });
      await page.click('#generate');
      await page.waitForFunction(() => window.__seqc.lastGeneration !== undefined && !window.__seqc.busy, undefined, { timeout: 120_000 });
      const generated = await page.evaluate(() => window.__seqc.lastGeneration!);
      expect(generated.diagnostics).toEqual([]);
      const expected = await onNode.generate(rows, strategy === 'beam' ? { strategy, beam: { width: 3, nBest: 2 } } : { strategy });
      expect(generated.rows!.map((r) => r.map((h) => h.tokens)), `${strategy} on ${ep}`).toEqual(expected.rows!.map((r) => r.hypotheses.map((h) => [...h.tokens])));
      generated.rows!.flat().forEach((h, i) => expect(Math.abs(h.score - expected.rows!.flatMap((r) => r.hypotheses)[i]!.score)).toBeLessThan(1e-3));
      expect(await page.$$eval('#generated .generated-row', (r) => r.length)).toBe(2);
    }
    await onNode.release();
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/playground-generate.png', fullPage: true });

    // A source id outside the encoder's vocabulary is stopped in the page too.
    await page.fill('textarea[data-input="src"]', '5 40');
    await page.evaluate(() => {
      delete window.__seqc.lastGeneration;
    });
    await page.click('#generate');
    await page.waitForFunction(() => window.__seqc.lastGeneration !== undefined && !window.__seqc.busy);
    expect((await page.evaluate(() => window.__seqc.lastGeneration!)).diagnostics.map((d) => d.message)).toEqual(['src[0][1] is 40, outside the vocabulary [0, 32)']);
  }, 150_000);

  it('logged no page errors', () => {
    expect(log.filter((line) => line.startsWith('pageerror'))).toEqual([]);
  });
});
