// The playground, built with Vite and driven in Chromium: diagnostics at their spans, every example compiling, outputs on wasm and WebGPU matching onnxruntime-node on the same bytes (the webgpu target's on WebGPU, every node placed there), generation and its options, downloads named after the spec's model, float-feature inputs, and the layout at 800 and 1400 px wide, with screenshots under test-results/.

import { mkdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { loadBundle } from '../../src/runtime/generate.js';
import { demoVocabulary } from '../../playground/src/examples.js';
import { detokenize, parseVocabulary } from '../../playground/src/tokens.js';
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

/** A character language model: its ids mean nothing in the demo vocabulary. */
const charLmSpec = `model CharLM {
  decoder(bos=1, eos=2, max_length=8) {
    -> embedding: Embedding(vocab=12, dim=8)
    -> rnn: GRU(hidden=16)
    -> head: Linear(12)
  }
}
`;

/** A model of float features, such as audio frames: no token ids anywhere. */
const speechSpec = `model SpeechCommands {
  input features: float32[batch, time, 40]
  input lengths: lengths(features)

  features
    -> lstm: LSTM(hidden=16)
    -> last
    -> fc: Linear(3)
    -> softmax
    -> output probs
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
  rows?: { tokens: number[]; score: number; text?: string }[][];
  diagnostics: { code: string; message: string }[];
  problems?: string[];
}
interface Hook {
  ready: boolean;
  webgpu: boolean;
  busy: boolean;
  phase: string;
  target?: string;
  stem: string;
  vocabularyOwner?: string;
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
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.waitForFunction(() => window.__seqc?.ready === true);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Picks an example by its file stem and waits for its compilation. */
  async function selectExample(stem: string, on: Page = page): Promise<void> {
    const value = await on.$eval(
      '#example',
      (select, wanted) =>
        Array.from((select as HTMLSelectElement).options).find((o) => o.text.endsWith(`(${wanted}.seq)`))!.value,
      stem,
    );
    await on.selectOption('#example', value);
    expect(await on.evaluate(() => window.__seqc.whenCompiled())).toBe(true);
  }

  async function generateInPage(): Promise<GenerationRecord> {
    await page.evaluate(() => {
      delete window.__seqc.lastGeneration;
    });
    await page.click('#generate');
    await page.waitForFunction(() => window.__seqc.lastGeneration !== undefined && !window.__seqc.busy, undefined, {
      timeout: 120_000,
    });
    return page.evaluate(() => window.__seqc.lastGeneration!);
  }

  async function downloadNames(): Promise<(string | null)[]> {
    return page.$$eval('#downloads a', (links) => links.map((a) => a.getAttribute('download')));
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
    await page.waitForFunction(() => window.__seqc.lastRun !== undefined && !window.__seqc.busy, undefined, {
      timeout: 120_000,
    });
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
      // Ten characters: the layer wraps long lines now, and a longer probe would wrap too.
      probe.textContent = 'x'.repeat(10);
      document.querySelector('.editor-highlight')!.append(probe);
      const charWidth = probe.getBoundingClientRect().width / 10;
      probe.remove();
      return {
        top: box.top + parseFloat(style.paddingTop),
        left: box.left + parseFloat(style.paddingLeft),
        lineHeight: parseFloat(style.lineHeight),
        charWidth,
      };
    });
    for (const d of expected) {
      const selector = `.squiggle[data-code="${d.code}"]`;
      const squiggle = await page.$eval(selector, (e) => {
        const r = e.getBoundingClientRect();
        return {
          line: Number(e.getAttribute('data-line')),
          column: Number(e.getAttribute('data-column')),
          text: e.textContent,
          top: r.top,
          left: r.left,
          width: r.width,
          height: r.height,
        };
      });
      expect(squiggle).toMatchObject({
        line: d.span.start.line,
        column: d.span.start.column,
        text: brokenSpec.slice(d.span.start.offset, d.span.end.offset),
      });
      // Where the span's text is drawn: its line and column in the editor's grid.
      expect(Math.abs(squiggle.top - (geometry.top + (d.span.start.line - 1) * geometry.lineHeight))).toBeLessThan(
        geometry.lineHeight / 2,
      );
      expect(Math.abs(squiggle.left - (geometry.left + (d.span.start.column - 1) * geometry.charWidth))).toBeLessThan(
        geometry.charWidth,
      );

      await page.mouse.move(squiggle.left + squiggle.width / 2, squiggle.top + squiggle.height / 2);
      await page.waitForSelector('.editor-tooltip:not([hidden])');
      const tooltip = await page.textContent('.editor-tooltip');
      expect(tooltip).toContain(`error[${d.code}]`);
      expect(tooltip).toContain(d.message);
      expect(tooltip).toContain(d.hint!);
    }
    await page.mouse.move(5, 5);
    expect(await page.isHidden('.editor-tooltip')).toBe(true);

    const listed = await page.$$eval('#diagnostics .diagnostic-item', (items) =>
      items.map((i) => [
        i.getAttribute('data-code'),
        Number(i.getAttribute('data-line')),
        Number(i.getAttribute('data-column')),
        i.textContent,
      ]),
    );
    expect(listed.map(([code, line, column]) => [code, line, column])).toEqual(
      expected.map((d) => [d.code, d.span.start.line, d.span.start.column]),
    );
    expect(listed[0]![3]).toContain('hint: did you mean `hidden`?');

    // A syntax error too: the parser's span, at its line and column.
    expect(await setSource(unclosedSpec)).toBe(false);
    const parseError = compile(unclosedSpec, { sourceName: 'unclosed.seq' }).diagnostics[0]!;
    const marked = await page.$eval(`.squiggle[data-code="${parseError.code}"]`, (e) => [
      Number(e.getAttribute('data-line')),
      Number(e.getAttribute('data-column')),
    ]);
    expect(marked).toEqual([parseError.span.start.line, parseError.span.start.column]);
  }, 60_000);

  it('compiles every example in specs/: its summary table and its layer graph appear', async () => {
    const stems = await page.$$eval('#example option:not([value="custom"])', (options) =>
      options.map((o) => /\((\w+)\.seq\)$/.exec(o.textContent!)![1]!),
    );
    expect(stems).toEqual(expect.arrayContaining(['sentiment', 'simple_lstm', 'tagger', 'translator']));
    for (const stem of ['simple_lstm', 'sentiment', 'tagger', 'translator']) {
      await selectExample(stem);
      const reference = compile(readFileSync(`specs/${stem}.seq`, 'utf8'), { sourceName: `${stem}.seq` });
      const rows = await page.$$eval('#summary tbody tr', (trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)),
      );
      expect(rows).toEqual(
        reference.summary!.rows.map((r) => [r.label, r.layer, r.outputShape, r.parameters.toLocaleString('en-US')]),
      );
      const nodes = await page.$$eval('#graph .node', (gs) => gs.map((g) => g.getAttribute('data-label')));
      const ops = [
        ...reference.ir!.ops,
        ...(reference.ir!.decoder === undefined
          ? []
          : [reference.ir!.decoder.embedding, reference.ir!.decoder.recurrent, ...reference.ir!.decoder.head]),
      ];
      expect(nodes).toEqual(
        expect.arrayContaining([
          ...reference.ir!.inputs.map((i) => i.name),
          ...ops.map((o) => o.label),
          ...reference.ir!.outputs.map((o) => o.name),
        ]),
      );
      expect(await page.$$eval('#diagnostics .diagnostic-item', (items) => items.length)).toBe(0);
      expect(await page.isVisible('#download-model')).toBe(true);
    }
    expect(await page.$$eval('#graph .block', (gs) => gs.map((g) => g.getAttribute('data-block')))).toEqual([
      'encoder',
      'decoder',
    ]);
    expect(await page.$$eval('#downloads a', (links) => links.map((a) => a.getAttribute('download')))).toEqual([
      'translator.onnx',
      'translator.encoder.onnx',
      'translator.step.onnx',
      'translator.greedy.onnx',
      'translator.manifest.json',
    ]);
  }, 150_000);

  it.each(['simple_lstm', 'tagger', 'sentiment'])(
    'runs %s on wasm and on WebGPU (every node there) like onnxruntime-node does on the downloaded bytes',
    async (stem) => {
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
        expect(
          Buffer.from(bytes).equals(Buffer.from(compile(source, { sourceName: `${stem}.seq`, target }).model!)),
          `${stem} bytes for ${target}`,
        ).toBe(true);
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
          expect(
            placements.get('WebGpuExecutionProvider')!.filter((n) => n.startsWith('Memcpy')),
            `${stem}: copy nodes`,
          ).toEqual([]);
          expect(
            lines.filter((line) => /Add Memcpy(FromHost|ToHost)|Force fallback to CPU/.test(line)),
            `${stem}: copies and CPU fallbacks`,
          ).toEqual([]);
        }
        const feeds = Object.fromEntries(
          Object.entries(record.inputs).map(([name, t]) => [
            name,
            new ort.Tensor('int64', BigInt64Array.from(t.data, BigInt), t.dims),
          ]),
        );
        const expected = await session.run(feeds);
        for (const [name, got] of Object.entries(record.outputs!)) {
          const want = expected[name]!;
          expect(got.dims, `${stem} ${name} on ${ep}`).toEqual([...want.dims]);
          const worst = Math.max(...got.data.map((v, i) => Math.abs(v - (want.data as Float32Array)[i]!)));
          expect(worst, `${stem} ${name} on ${ep}`).toBeLessThan(tolerance);
        }
        expect(await page.textContent('#timing')).toMatch(
          new RegExp(`^${ep}: session opened in \\d+ ms · inputs checked in \\d+\\.\\d+ ms · run \\d+\\.\\d+ ms$`),
        );
        await session.release();
      }
      if (stem === 'sentiment') {
        mkdirSync('test-results', { recursive: true });
        await page.screenshot({ path: 'test-results/playground.png', fullPage: true });
      }
    },
    180_000,
  );

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
    // Named after the spec's model, Echo, not after the example it replaced.
    expect(await downloadNames()).toEqual(['echo.onnx']);
    expect(Buffer.from(bytes).equals(Buffer.from(compile(int64OutputSpec, { sourceName: 'echo.seq' }).model!))).toBe(
      true,
    );
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
    expect(await page.textContent('#target-notice')).toContain(
      'WebGPU cannot run this model at all: its LSTM and GRU kernels have no hard sigmoid (lstm). Choose wasm to run it.',
    );
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
    expect(record.diagnostics.map((d) => d.message)).toEqual([
      'tokens[1][0] is -9, outside the vocabulary [0, 5000)',
      'tokens[1][1] is 100000, outside the vocabulary [0, 5000)',
    ]);
    expect(await page.textContent('#run-diagnostics')).toContain(
      'tokens[1][1] is 100000, outside the vocabulary [0, 5000)',
    );
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
    const onNode = (
      await loadBundle(ort, { manifest: reference.bundle!.manifest, files }, { executionProviders: ['cpu'] })
    ).bundle!;
    const rows = [
      [5, 6, 7],
      [8, 9],
    ];
    await page.fill('textarea[data-input="src"]', rows.map((r) => r.join(' ')).join('\n'));

    for (const [strategy, ep] of [
      ['greedy', 'wasm'],
      ['beam', 'wasm'],
      ['greedy', 'webgpu'],
    ] as const) {
      await chooseProvider(ep);
      await page.selectOption('#strategy', strategy);
      await page.fill('#beam-width', '3');
      await page.fill('#n-best', '2');
      await page.evaluate(() => {
        delete window.__seqc.lastGeneration;
      });
      await page.click('#generate');
      await page.waitForFunction(() => window.__seqc.lastGeneration !== undefined && !window.__seqc.busy, undefined, {
        timeout: 120_000,
      });
      const generated = await page.evaluate(() => window.__seqc.lastGeneration!);
      expect(generated.diagnostics).toEqual([]);
      const expected = await onNode.generate(
        rows,
        strategy === 'beam' ? { strategy, beam: { width: 3, nBest: 2 } } : { strategy },
      );
      expect(
        generated.rows!.map((r) => r.map((h) => h.tokens)),
        `${strategy} on ${ep}`,
      ).toEqual(expected.rows!.map((r) => r.hypotheses.map((h) => [...h.tokens])));
      generated
        .rows!.flat()
        .forEach((h, i) =>
          expect(Math.abs(h.score - expected.rows!.flatMap((r) => r.hypotheses)[i]!.score)).toBeLessThan(1e-3),
        );
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
    expect((await page.evaluate(() => window.__seqc.lastGeneration!)).diagnostics.map((d) => d.message)).toEqual([
      'src[0][1] is 40, outside the vocabulary [0, 32)',
    ]);
  }, 150_000);

  it('names downloads after the spec’s model, and the example menu says "custom" once the text is edited', async () => {
    await selectExample('sentiment');
    const chosen = (): Promise<[string, string]> =>
      page.$eval('#example', (s) => [
        (s as HTMLSelectElement).value,
        (s as HTMLSelectElement).selectedOptions[0]!.textContent!,
      ]);
    expect((await chosen())[1]).toBe('Sentiment (sentiment.seq)');
    expect(await downloadNames()).toEqual(['sentiment.onnx']);

    expect(
      await setSource(readFileSync('specs/sentiment.seq', 'utf8').replace('model Sentiment', 'model MovieReviews')),
    ).toBe(true);
    expect(await chosen()).toEqual(['custom', 'custom (edited)']);
    expect(await downloadNames()).toEqual(['movie_reviews.onnx']);
    expect(await page.evaluate(() => window.__seqc.stem)).toBe('movie_reviews');

    // Typing counts as editing too: one character more and the menu says custom.
    await selectExample('simple_lstm');
    expect((await chosen())[1]).toBe('SimpleLSTM (simple_lstm.seq)');
    await page.click('#editor textarea');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('# note\n');
    expect((await chosen())[0]).toBe('custom');
    await page.waitForFunction(() => window.__seqc.phase === 'compiled');
    expect(await downloadNames()).toEqual(['simple_lstm.onnx']);

    // A bundle's files take the model's name as well.
    await selectExample('tiny_translator');
    const tiny = await page.$eval('#editor textarea', (t) => (t as HTMLTextAreaElement).value);
    expect(await setSource(tiny.replace('model TinyTranslator', 'model Glosser'))).toBe(true);
    expect(await downloadNames()).toEqual([
      'glosser.onnx',
      'glosser.encoder.onnx',
      'glosser.step.onnx',
      'glosser.greedy.onnx',
      'glosser.manifest.json',
    ]);

    // Choosing an example again brings back its name, and the menu loses its custom entry.
    await selectExample('sentiment');
    expect(await chosen()).toEqual([expect.not.stringMatching('custom'), 'Sentiment (sentiment.seq)']);
    expect(await page.$$eval('#example option[value="custom"]', (o) => o.length)).toBe(0);
    expect(await downloadNames()).toEqual(['sentiment.onnx']);
  }, 120_000);

  it('shows generated ids in numbers mode, and text only through the vocabulary of the model being run', async () => {
    await chooseProvider('wasm');
    expect(await setSource(charLmSpec)).toBe(true);
    await page.check('input[name="input-mode"][value="ids"]');
    await page.fill('textarea[data-input="prompt"]', '4 6\n3');
    await page.selectOption('#strategy', 'greedy');
    const ids = await generateInPage();
    expect(ids.diagnostics).toEqual([]);
    expect(ids.rows!.flat().length).toBe(2);
    expect(ids.rows!.flat().every((h) => h.text === undefined)).toBe(true);
    // What the page shows is the ids, never words of the demo vocabulary.
    const shown = await page.textContent('#generated');
    expect(await page.$$eval('#generated .text', (t) => t.length)).toBe(0);
    expect(shown).toContain(ids.rows![0]![0]!.tokens.join(' '));
    expect(shown).toContain('row 1: 4 6');
    expect(shown).not.toMatch(/\b(the|movie|was)\b/);

    // Text mode: CharLM has no vocabulary yet, so there is nothing to decode with until one is given.
    await page.check('input[name="input-mode"][value="text"]');
    expect(await page.evaluate(() => window.__seqc.vocabularyOwner)).toBe('CharLM');
    expect(await page.inputValue('#vocabulary')).toBe('');
    expect(await page.textContent('#vocabulary-owner')).toBe('CharLM');
    await page.fill('textarea[data-input="prompt"]', 'a b');
    const noVocabulary = await generateInPage();
    expect(noVocabulary.problems).toEqual([
      'prompt: the vocabulary is empty: give one token per line (the first line is id 0), or JSON',
    ]);
    expect(await page.textContent('#generate-diagnostics')).toContain('the vocabulary is empty');
    const characters = ['<pad>', '<s>', '</s>', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].join('\n');
    await page.fill('#vocabulary', characters);
    const text = await generateInPage();
    expect(text.diagnostics).toEqual([]);
    const vocab = parseVocabulary(characters).value!;
    for (const h of text.rows!.flat()) expect(h.text).toBe(detokenize(h.tokens, vocab));
    expect(await page.textContent('#generated')).toContain('row 1: a b');
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/playground-1400-char-lm.png' });

    // Each model keeps its own vocabulary: the examples the demo one, CharLM the characters.
    await selectExample('tiny_translator');
    expect(await page.inputValue('#vocabulary')).toBe(demoVocabulary);
    expect(await setSource(charLmSpec)).toBe(true);
    expect(await page.inputValue('#vocabulary')).toBe(characters);
    await page.check('input[name="input-mode"][value="ids"]');
  }, 120_000);

  it('samples with the temperature, top-k, top-p and seed typed, as onnxruntime-node does, and names bad values', async () => {
    await selectExample('tiny_translator');
    await chooseProvider('wasm');
    await page.fill('textarea[data-input="src"]', '5 6 7\n8 9');
    await page.selectOption('#strategy', 'sample');
    expect(await page.$eval('#beam-options', (e) => e.classList.contains('unused'))).toBe(true);
    expect(await page.$eval('#sample-options', (e) => e.classList.contains('unused'))).toBe(false);
    await page.fill('#n-best', '2');

    await page.fill('#temperature', 'warm');
    const notNumber = await generateInPage();
    expect(notNumber.problems).toEqual(['temperature: "warm" is not a number']);
    expect(await page.textContent('#generate-diagnostics')).toBe('temperature: "warm" is not a number');

    // Out of range: the runtime's own checks answer, as diagnostics.
    for (const [box, value, message] of [
      ['#temperature', '-1', 'the temperature should be a finite number ≥ 0, not -1'],
      ['#top-p', '1.5', 'topP should be in (0, 1], not 1.5'],
      ['#top-k', '2.5', 'topK should be a whole number ≥ 0 (0 keeps every id), not 2.5'],
      ['#seed', '0.5', 'the seed should be an integer, not 0.5'],
    ] as const) {
      await page.fill('#temperature', '0.7');
      await page.fill('#top-p', '0.9');
      await page.fill('#top-k', '5');
      await page.fill('#seed', '3');
      await page.fill(box, value);
      const rejected = await generateInPage();
      expect(
        rejected.diagnostics.map((d) => d.message),
        box,
      ).toEqual([message]);
      expect(await page.textContent('#generate-diagnostics')).toContain(message);
    }

    const source = await page.$eval('#editor textarea', (t) => (t as HTMLTextAreaElement).value);
    const reference = compile(source, { sourceName: 'tiny_translator.seq', bundleStem: 'tiny_translator' });
    const files = Object.fromEntries(reference.bundle!.files.map((f) => [f.file, f.bytes]));
    const onNode = (
      await loadBundle(ort, { manifest: reference.bundle!.manifest, files }, { executionProviders: ['cpu'] })
    ).bundle!;
    for (const seed of [3, 11]) {
      await page.fill('#temperature', '0.7');
      await page.fill('#top-p', '0.9');
      await page.fill('#top-k', '5');
      await page.fill('#seed', String(seed));
      const sampled = await generateInPage();
      expect(sampled.diagnostics).toEqual([]);
      const expected = await onNode.generate(
        [
          [5, 6, 7],
          [8, 9],
        ],
        { strategy: 'sample', sample: { count: 2, temperature: 0.7, topK: 5, topP: 0.9, seed } },
      );
      expect(
        sampled.rows!.map((r) => r.map((h) => h.tokens)),
        `seed ${seed}`,
      ).toEqual(expected.rows!.map((r) => r.hypotheses.map((h) => [...h.tokens])));
    }
    await onNode.release();
    await page.screenshot({ path: 'test-results/playground-1400-sampling.png', fullPage: true });
    await page.selectOption('#strategy', 'greedy');
  }, 120_000);

  it('offers a random batch, not token ids, for a float-feature model, and runs it as onnxruntime-node does', async () => {
    await chooseProvider('wasm');
    expect(await setSource(speechSpec)).toBe(true);
    expect(await page.isHidden('#token-controls')).toBe(true);
    expect(await page.isHidden('#input-mode')).toBe(true);
    expect(await page.$eval('textarea[data-input="features"]', (t) => t.getAttribute('data-mode'))).toBe('json');
    expect(await page.textContent('[data-field="features"] .note')).toContain(
      'JSON: rows of time steps, each 40 numbers',
    );

    await page.fill('input[data-random-rows="features"]', '3');
    await page.fill('input[data-random-steps="features"]', '4');
    await page.click('button[data-random="features"]');
    const batch = JSON.parse(await page.inputValue('textarea[data-input="features"]')) as number[][][];
    expect([batch.length, batch[0]!.length, batch[0]![0]!.length]).toEqual([3, 4, 40]);
    // Rows may differ in length: the page pads them and fills the lengths.
    batch[1] = batch[1]!.slice(0, 2);
    await page.fill('textarea[data-input="features"]', JSON.stringify(batch));
    const record = await runInPage();
    expect(record.problems ?? []).toEqual([]);
    expect(record.diagnostics).toEqual([]);
    expect(record.inputs['features']!.dims).toEqual([3, 4, 40]);
    expect(record.inputs['lengths']).toEqual({ dims: [3], data: [4, 2, 4] });
    const session = await ort.InferenceSession.create(await downloaded('#download-model'));
    const expected = await session.run({
      features: new ort.Tensor(
        'float32',
        Float32Array.from(record.inputs['features']!.data),
        record.inputs['features']!.dims,
      ),
      lengths: new ort.Tensor(
        'int64',
        BigInt64Array.from(record.inputs['lengths']!.data, BigInt),
        record.inputs['lengths']!.dims,
      ),
    });
    const got = record.outputs!['probs']!;
    expect(got.dims).toEqual([3, 3]);
    got.data.forEach((v, i) =>
      expect(Math.abs(v - (expected['probs']!.data as Float32Array)[i]!)).toBeLessThan(tolerance),
    );
    await session.release();
    await page.$eval('#inputs-panel', (e) => e.scrollIntoView());
    await page.screenshot({ path: 'test-results/playground-1400-features.png' });

    // A vector of the wrong size is named before anything runs, and so are bad random-batch sizes.
    await page.fill('textarea[data-input="features"]', '[[[1, 2]]]');
    expect((await runInPage()).problems).toEqual(['features: row 1, step 1 has 2 numbers, not 40']);
    await page.fill('input[data-random-rows="features"]', 'many');
    await page.click('button[data-random="features"]');
    expect(await page.textContent('[data-problems="features"]')).toBe(
      'rows and steps should be whole numbers from 1 to 256',
    );

    // A token model brings the token controls back.
    await selectExample('tagger');
    expect(await page.isVisible('#input-mode')).toBe(true);
  }, 120_000);

  it.each([
    { width: 800, height: 600 },
    { width: 1400, height: 900 },
  ])(
    'lays out every example at $width × $height: no sideways scrolling, Run in view, editor lines wrapped, graph text whole',
    async (viewport) => {
      const { page: view, console: viewLog } = await openPage(browser, `${server.url}/index.html`);
      await view.setViewportSize(viewport);
      await view.waitForFunction(() => window.__seqc?.ready === true);
      mkdirSync('test-results', { recursive: true });
      const cases: { name: string; stem?: string; source?: string }[] = [
        { name: 'sentiment', stem: 'sentiment' },
        { name: 'simple_lstm', stem: 'simple_lstm' },
        { name: 'tagger', stem: 'tagger' },
        { name: 'translator', stem: 'translator' },
        { name: 'tiny_translator', stem: 'tiny_translator' },
        { name: 'speech', source: speechSpec },
      ];
      for (const c of cases) {
        if (c.stem !== undefined) await selectExample(c.stem, view);
        else
          expect(
            await view.evaluate((t) => (window.__seqc.setSource(t), window.__seqc.whenCompiled()), c.source!),
          ).toBe(true);
        if (c.name === 'tiny_translator') await view.selectOption('#strategy', 'sample');
        await view.evaluate(() => document.documentElement.scrollTo(0, 0));
        const m = await view.evaluate(() => {
          const button = ['#run', '#generate']
            .map((s) => document.querySelector<HTMLButtonElement>(s)!)
            .find((b) => !b.hidden)!;
          const box = button.getBoundingClientRect();
          const textarea = document.querySelector<HTMLTextAreaElement>('.editor-input')!;
          const layer = document.querySelector<HTMLElement>('.editor-highlight')!;
          // The same text without wrapping: as tall as the layer unless some line wraps.
          const unwrappedHeight = (element: HTMLElement): number => {
            const copy = element.cloneNode(true) as HTMLElement;
            copy.style.whiteSpace = 'pre';
            copy.style.width = 'auto';
            element.parentElement!.append(copy);
            const height = copy.getBoundingClientRect().height;
            copy.remove();
            return height;
          };
          const graph = document.querySelector<HTMLElement>('#graph')!;
          const svg = graph.querySelector('svg')!;
          const nodes = Array.from(graph.querySelectorAll<SVGGElement>('.node')).map((g) => ({
            label: g.dataset['label']!,
            detail: g.dataset['detail']!,
            shape: g.dataset['shape']!,
            drawnLabel: g.querySelector('.node-label')!.textContent!,
            drawnDetail: Array.from(g.querySelectorAll('.node-detail'), (t) => t.textContent!),
            drawnShape: g.querySelector('.node-shape')!.textContent!,
            widestText: Math.max(...Array.from(g.querySelectorAll('text'), (t) => t.getComputedTextLength())),
            lowestText: Math.max(...Array.from(g.querySelectorAll('text'), (t) => t.getBBox().y + t.getBBox().height)),
            width: g.querySelector('rect')!.width.baseVal.value,
            height: g.querySelector('rect')!.height.baseVal.value,
          }));
          const visible = Array.from(
            document.querySelectorAll<HTMLElement>('.topbar, .toolbar, #editor, .panel, .toolbar > *, .panel *'),
          ).filter((e) => e.offsetParent !== null);
          return {
            scrollWidth: document.documentElement.scrollWidth,
            innerWidth,
            innerHeight,
            button: {
              id: button.id,
              top: box.top,
              bottom: box.bottom,
              left: box.left,
              right: box.right,
              onTop: document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2) === button,
            },
            editor: {
              scrollWidth: textarea.scrollWidth,
              clientWidth: textarea.clientWidth,
              clientHeight: textarea.clientHeight,
              scrollHeight: textarea.scrollHeight,
              layerWidth: layer.getBoundingClientRect().width,
              layerHeight: layer.getBoundingClientRect().height,
              unwrappedHeight: unwrappedHeight(layer),
            },
            graph: { svgRight: svg.getBoundingClientRect().right, right: graph.getBoundingClientRect().right, nodes },
            rightmost: Math.max(...visible.map((e) => e.getBoundingClientRect().right)),
            example: (document.querySelector('#example') as HTMLSelectElement).value,
            downloads: Array.from(document.querySelectorAll('#downloads a'), (a) => a.getAttribute('download')),
            tokenControls: !document.querySelector<HTMLElement>('#token-controls')!.hidden,
            randomBatch: document.querySelector('button[data-random]') !== null,
            samplingInUse: !document.querySelector('#sample-options')!.classList.contains('unused'),
            summary: {
              scrollWidth: document.querySelector('#summary')!.scrollWidth,
              clientWidth: document.querySelector('#summary')!.clientWidth,
            },
          };
        });
        const what = `${c.name} at ${viewport.width}`;
        expect(m.scrollWidth, what).toBeLessThanOrEqual(m.innerWidth);
        expect(m.rightmost, what).toBeLessThanOrEqual(m.innerWidth);
        // The summary table fits its panel: no sideways scrolling there either.
        expect(m.summary.scrollWidth, what).toBeLessThanOrEqual(m.summary.clientWidth);
        // The Run (or Generate) button is on screen before any scrolling, and nothing covers it.
        expect(m.button.id, what).toBe(c.name.endsWith('translator') ? 'generate' : 'run');
        expect(m.button.top, what).toBeGreaterThanOrEqual(0);
        expect(m.button.bottom, what).toBeLessThanOrEqual(m.innerHeight);
        expect(m.button.right, what).toBeLessThanOrEqual(m.innerWidth);
        expect(m.button.onTop, what).toBe(true);
        // The editor never scrolls sideways; its colour layer wraps exactly as the textarea does.
        expect(m.editor.scrollWidth, what).toBeLessThanOrEqual(m.editor.clientWidth);
        expect(Math.abs(m.editor.layerWidth - m.editor.clientWidth), what).toBeLessThan(1);
        expect(
          Math.abs(Math.max(m.editor.layerHeight, m.editor.clientHeight) - m.editor.scrollHeight),
          what,
        ).toBeLessThanOrEqual(1);
        // Sentiment's long comment wraps: more rows drawn than lines typed.
        if (c.name === 'sentiment')
          expect(m.editor.layerHeight, what).toBeGreaterThanOrEqual(m.editor.unwrappedHeight + 20);
        // Every node shows its label, detail and shape whole, inside its box; the drawing fits its panel.
        expect(m.graph.nodes.length, what).toBeGreaterThan(3);
        for (const n of m.graph.nodes) {
          expect([n.drawnLabel, n.drawnDetail.join(' '), n.drawnShape], `${what}: ${n.label}`).toEqual([
            n.label,
            n.detail,
            n.shape,
          ]);
          expect(n.widestText, `${what}: ${n.label}`).toBeLessThanOrEqual(n.width - 6);
          expect(n.lowestText, `${what}: ${n.label}`).toBeLessThanOrEqual(n.height);
        }
        expect(m.graph.svgRight, what).toBeLessThanOrEqual(m.graph.right + 0.5);
        // At this width too: the example menu and the download names follow the text, the inputs follow the model.
        expect(m.example === 'custom', what).toBe(c.stem === undefined);
        expect(m.downloads[0], what).toBe(`${c.stem ?? 'speech_commands'}.onnx`);
        expect([m.tokenControls, m.randomBatch], what).toEqual(c.stem === undefined ? [false, true] : [true, false]);
        if (c.name === 'tiny_translator') expect(m.samplingInUse, what).toBe(true);
        await view.screenshot({ path: `test-results/playground-${viewport.width}-${c.name}.png` });
        if (c.name === 'simple_lstm') {
          // Run from the toolbar: the outputs come into view, however far down the page they are.
          await view.evaluate(() => {
            delete window.__seqc.lastRun;
          });
          await view.click('#run');
          await view.waitForFunction(() => window.__seqc.lastRun !== undefined && !window.__seqc.busy, undefined, {
            timeout: 120_000,
          });
          const ran = await view.evaluate(
            () => [window.__seqc.lastRun!, document.querySelector('#timing')!.textContent] as const,
          );
          expect([ran[0].problems ?? [], ran[0].diagnostics, ran[1]], what).toEqual([
            [],
            [],
            expect.stringMatching(/^wasm: session opened/),
          ]);
          const outputs = await view.$eval('#outputs .output', (e) => [e.getBoundingClientRect().top, innerHeight]);
          expect(outputs[0], what).toBeGreaterThanOrEqual(0);
          expect(outputs[0], what).toBeLessThan(outputs[1]! - 40);
          await view.screenshot({ path: `test-results/playground-${viewport.width}-${c.name}-ran.png` });
        }
        if (c.name !== 'simple_lstm' && c.name !== 'tagger')
          await view.screenshot({
            path: `test-results/playground-${viewport.width}-${c.name}-full.png`,
            fullPage: true,
          });
      }
      await view.close();
      expect(viewLog.filter((line) => line.startsWith('pageerror'))).toEqual([]);
    },
    180_000,
  );

  it('logged no page errors', () => {
    expect(log.filter((line) => line.startsWith('pageerror'))).toEqual([]);
  });
});
