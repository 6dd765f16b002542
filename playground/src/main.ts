// The playground page: edit a spec, see its diagnostics, summary and layer graph as you type, then run or generate on wasm or WebGPU (on the webgpu target's graphs) and download the .onnx that ran.

import './style.css';
import grammarText from '../../grammar/seq.tmLanguage.json?raw';
import type { CompileTarget, Diagnostic, ModelSignature, ModelSummary } from '../../src/index.js';
import type { ModelIR } from '../../src/ir/ir.js';
import {
  loadBundle,
  loadModel,
  validateInputs,
  type InputValue,
  type LoadedModel,
  type SeqBundle,
  type TensorData,
} from '../../src/runtime/web.js';
import { createEditor, diagnosticHtml, escapeHtml } from './editor.js';
import { demoVocabulary, examples, type Example } from './examples.js';
import { featuresJson, padFeatureRows, randomFeatures } from './features.js';
import { generationOptions, type GenerationForm } from './generation-options.js';
import { graphSvg, layerGraph } from './graph.js';
import { tokenizer, type TextMateGrammar } from './highlight.js';
import { isExampleText, stemOfSource } from './naming.js';
import type { CheckedMessage, CompiledMessage, CompileRequest, WorkerMessage } from './protocol.js';
import { detokenize, padRows, parseIdRows, parseTextRows, parseVocabulary, type Vocabulary } from './tokens.js';

type ExecutionProvider = 'wasm' | 'webgpu';

/** What the page shows of the spec being edited: its latest check and, once done, its compilation. */
interface Compilation {
  readonly id: number;
  readonly stem: string;
  /** The target asked of the worker: `webgpu` when WebGPU is chosen. The compiled message says which one it got. */
  readonly target: CompileTarget;
  checked?: CheckedMessage;
  compiled?: CompiledMessage;
  failure?: string;
  readonly done: Promise<CompiledMessage | undefined>;
  finish(compiled: CompiledMessage | undefined): void;
}

/** The outputs of the last run, for people (the page) and for tests (`window.__seqc`). */
interface RunRecord {
  readonly ep: ExecutionProvider;
  readonly inputs: Record<string, { dims: number[]; data: number[] }>;
  readonly outputs?: Record<string, { dims: number[]; data: number[] }>;
  readonly diagnostics: readonly Diagnostic[];
  /** What kept the boxes from becoming inputs (bad JSON, unknown words), before any validation. */
  readonly problems?: readonly string[];
  readonly timing?: { loadMs: number; validateMs: number; runMs: number };
}

interface GenerationRecord {
  readonly ep: ExecutionProvider;
  /** Each hypothesis's ids, and in text mode their text through this model's vocabulary. */
  readonly rows?: { tokens: number[]; score: number; text?: string }[][];
  readonly diagnostics: readonly Diagnostic[];
  /** What kept the boxes from becoming a request (a box that holds no number, bad rows), before the runtime saw it. */
  readonly problems?: readonly string[];
  readonly ms?: number;
}

/** The hook the browser tests read; people can use it from the console too. */
interface PlaygroundHook {
  ready: boolean;
  webgpu: boolean;
  phase: 'checking' | 'compiling' | 'compiled' | 'errors' | 'failed';
  compileId: number;
  diagnostics: readonly Diagnostic[];
  /** The target of the latest compiled bytes: what runs, and what the download links give. */
  target?: CompileTarget;
  /** The stem the downloads are named after: the model's name in snake case. */
  stem: string;
  /** The model whose vocabulary the vocabulary box holds, if any model checked yet. */
  vocabularyOwner?: string;
  lastRun?: RunRecord;
  lastGeneration?: GenerationRecord;
  busy: boolean;
  /** ONNX Runtime's log severity for the sessions opened from now on; 0 logs where each node runs. Default 2. */
  sessionLogSeverity: 0 | 1 | 2 | 3 | 4;
  setSource(text: string): void;
  whenCompiled(): Promise<boolean>;
}

declare global {
  interface Window {
    __seqc: PlaygroundHook;
  }
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const wasmPaths = new URL('ort/', document.baseURI).href;

const editor = createEditor($('editor'), tokenizer(JSON.parse(grammarText) as TextMateGrammar));
const exampleSelect = $<HTMLSelectElement>('example');
const vocabularyBox = $<HTMLTextAreaElement>('vocabulary');
const inputFields = $('input-fields');
const hook: PlaygroundHook = {
  ready: false,
  webgpu: false,
  phase: 'checking',
  compileId: 0,
  diagnostics: [],
  busy: false,
  stem: examples[0]!.stem,
  sessionLogSeverity: 2,
  setSource: (text) => {
    editor.setText(text);
    clearTimeout(compileTimer);
    requestCompile();
  },
  whenCompiled: async () => (await current.done) !== undefined,
};
window.__seqc = hook;

let worker = newWorker();
let workerBusy = false;
let nextId = 0;
let current: Compilation = newCompilation(examples[0]!.stem, 'generic');
let example: Example = examples[0]!;
let sessionCache: { key: string; model: LoadedModel; loadMs: number } | undefined;
let bundleCache: { key: string; bundle: SeqBundle } | undefined;
let downloadUrls: string[] = [];
const fieldValues = new Map<string, string>();
/** Each model's vocabulary, by model name: the demo vocabulary belongs to the shipped examples only. */
const vocabularies = new Map<string, string>(examples.map((e) => [e.title, demoVocabulary]));
let randomSeed = 1;

// Startup.

for (const [index, e] of examples.entries()) exampleSelect.add(new Option(`${e.title} (${e.stem}.seq)`, String(index)));
exampleSelect.addEventListener('change', () => {
  const chosen = examples[Number(exampleSelect.value)];
  if (chosen !== undefined) selectExample(chosen);
});
vocabularyBox.value = demoVocabulary;
let compileTimer: ReturnType<typeof setTimeout> | undefined;
editor.onChange(() => {
  showExampleState();
  clearTimeout(compileTimer);
  setStatus('editing…');
  compileTimer = setTimeout(requestCompile, 150);
});
for (const radio of Array.from(document.querySelectorAll<HTMLInputElement>('input[name="input-mode"]'))) {
  radio.addEventListener('change', () => {
    $('vocabulary-box').toggleAttribute('open', inputMode() === 'text');
    renderInputFields();
  });
}
for (const radio of Array.from(document.querySelectorAll<HTMLInputElement>('input[name="ep"]')))
  radio.addEventListener('change', () => recompileForProvider());
$('run').addEventListener('click', () => void run());
$('generate').addEventListener('click', () => void generate());
$('strategy').addEventListener('change', () => showStrategyOptions());
inputFields.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-random]');
  if (button !== null) fillRandomFeatures(button.dataset['random']!);
});
showStrategyOptions();
void detectWebGpu();
selectExample(examples[0]!);
hook.ready = true;

// Compiling.

function newWorker(): Worker {
  const w = new Worker(new URL('./compile-worker.ts', import.meta.url), { type: 'module' });
  w.onmessage = (event: MessageEvent<WorkerMessage>) => receive(event.data);
  return w;
}

function newCompilation(forStem: string, target: CompileTarget): Compilation {
  let finish!: (compiled: CompiledMessage | undefined) => void;
  const done = new Promise<CompiledMessage | undefined>((resolve) => (finish = resolve));
  return { id: ++nextId, stem: forStem, target, done, finish };
}

/** WebGPU runs the webgpu target's graphs, whose every node has a WebGPU kernel; wasm runs the generic ones. */
function targetFor(ep: ExecutionProvider): CompileTarget {
  return ep === 'webgpu' ? 'webgpu' : 'generic';
}

/** Compiles the spec again when the chosen provider wants the other target. */
function recompileForProvider(): void {
  if (current.target === targetFor(executionProvider())) return;
  clearTimeout(compileTimer);
  requestCompile();
}

function selectExample(chosen: Example): void {
  example = chosen;
  editor.setText(chosen.source);
  showExampleState();
  clearTimeout(compileTimer);
  requestCompile();
}

/** The example menu names the example while the text is still it, and says "custom" once it is edited. */
function showExampleState(): void {
  const custom = !isExampleText(editor.text(), example.source);
  let option = exampleSelect.querySelector<HTMLOptionElement>('option[value="custom"]');
  if (custom && option === null) {
    option = new Option('custom (edited)', 'custom');
    option.disabled = true;
    exampleSelect.add(option, 0);
  }
  if (!custom) option?.remove();
  exampleSelect.value = custom ? 'custom' : String(examples.indexOf(example));
  exampleSelect.title = custom
    ? `edited from ${example.title} (${example.stem}.seq); choose an example to start again`
    : '';
}

/** Starts checking and compiling the editor's text; a compilation still running for older text is abandoned. */
function requestCompile(): void {
  current.finish(undefined);
  if (workerBusy) {
    // compile() runs to the end once started, so the way to drop stale work is a fresh worker.
    worker.terminate();
    worker = newWorker();
  }
  const source = editor.text();
  // Downloads are named after the model the spec declares, so an edited or pasted spec gets its own names.
  const stem = stemOfSource(source, example.stem);
  hook.stem = stem;
  current = newCompilation(stem, targetFor(executionProvider()));
  hook.compileId = current.id;
  delete hook.target;
  hook.phase = 'checking';
  workerBusy = true;
  setStatus('checking…');
  const request: CompileRequest = { id: current.id, source, sourceName: `${stem}.seq`, stem, target: current.target };
  worker.postMessage(request);
}

function receive(message: WorkerMessage): void {
  if (message.id !== current.id) return;
  switch (message.phase) {
    case 'checked':
      current.checked = message;
      showChecked(message);
      if (message.ir === undefined) {
        workerBusy = false;
        hook.phase = 'errors';
        current.finish(undefined);
      } else {
        hook.phase = 'compiling';
      }
      return;
    case 'compiled':
      workerBusy = false;
      current.compiled = message;
      hook.phase = message.model === undefined ? 'errors' : 'compiled';
      hook.target = message.target;
      showCompiled(message);
      current.finish(message.model === undefined ? undefined : message);
      return;
    case 'failed':
      workerBusy = false;
      current.failure = message.message;
      hook.phase = 'failed';
      setStatus('the compiler failed (a bug in seqc): see the console');
      console.error(message.message);
      current.finish(undefined);
      return;
  }
}

function showChecked(message: CheckedMessage): void {
  hook.diagnostics = message.diagnostics;
  editor.setDiagnostics(message.diagnostics);
  showDiagnostics($('diagnostics'), message.diagnostics, true);
  const errors = message.diagnostics.filter((d) => d.severity === 'error').length;
  $('diagnostic-count').textContent =
    message.diagnostics.length === 0
      ? 'none'
      : `${errors} error${errors === 1 ? '' : 's'}${message.diagnostics.length > errors ? `, ${message.diagnostics.length - errors} warning(s)` : ''}`;
  // With errors, the summary and the graph show the last version that checked, dimmed.
  $('summary').classList.toggle('stale', message.ir === undefined);
  $('graph').classList.toggle('stale', message.ir === undefined);
  if (message.ir === undefined || message.summary === undefined) {
    setStatus(`${errors} error${errors === 1 ? '' : 's'} · checked in ${message.ms.toFixed(0)} ms`);
    return;
  }
  showSummary(message.summary);
  $('graph').innerHTML = graphSvg(layerGraph(message.ir));
  const decoder = message.ir.decoder !== undefined;
  $('generate-panel').hidden = !decoder;
  $('run-panel').hidden = decoder;
  $('generate').hidden = !decoder;
  $('run').hidden = decoder;
  switchVocabulary(message.ir.name);
  renderInputFields(message.ir);
  clearDownloads('compiling…');
  setStatus(`checked in ${message.ms.toFixed(0)} ms · compiling for the ${current.target} target…`);
}

function showCompiled(message: CompiledMessage): void {
  const size = [message.model, ...(message.bundle?.files.slice(1).map((f) => f.bytes) ?? [])].reduce(
    (n, b) => n + (b?.length ?? 0),
    0,
  );
  setStatus(
    `compiled for the ${message.target} target in ${message.ms.toFixed(0)} ms · ${(size / 2 ** 20).toFixed(1)} MiB of ONNX`,
  );
  showTargetNotice(message.refused);
  showDownloads(message);
}

/** Says why a WebGPU run uses the generic graphs, and what that costs; hidden otherwise. */
function showTargetNotice(refused: readonly Diagnostic[] | undefined): void {
  const notice = $('target-notice');
  notice.hidden = refused === undefined;
  if (refused === undefined) return;
  const reasons = refused
    .map((d) => `<li><code>${d.code}</code> line ${d.span.start.line}: ${escapeHtml(d.message)}</li>`)
    .join('');
  // A HardSigmoid gate does not fall back to the CPU: the WebGPU LSTM and GRU kernels take the node and fail when it runs.
  const hardSigmoid = hardSigmoidLayers(current.checked?.ir);
  const consequence =
    hardSigmoid.length === 0
      ? 'so on WebGPU some nodes will run on the CPU, with copies between the CPU and the GPU.'
      : `and WebGPU cannot run this model at all: its LSTM and GRU kernels have no hard sigmoid (${hardSigmoid.map(escapeHtml).join(', ')}). Choose wasm to run it.`;
  notice.innerHTML = `<strong>Compiled for the generic target:</strong> the webgpu target refuses this spec, ${consequence}<ul>${reasons}</ul>`;
}

/** The labels of the recurrent layers whose gates are hard sigmoids. */
function hardSigmoidLayers(ir: ModelIR | undefined): string[] {
  if (ir === undefined) return [];
  const ops = [...ir.ops, ...(ir.decoder === undefined ? [] : [ir.decoder.recurrent])];
  return ops.filter((o) => o.kind === 'recurrent' && o.recurrentActivation === 'hard_sigmoid').map((o) => o.label);
}

function showSummary(summary: ModelSummary): void {
  const rows = summary.rows
    .map(
      (r) =>
        `<tr data-label="${escapeHtml(r.label)}"><td>${escapeHtml(r.label)}</td><td>${escapeHtml(r.layer)}</td><td>${escapeHtml(r.outputShape)}</td><td class="number">${r.parameters.toLocaleString('en-US')}</td></tr>`,
    )
    .join('');
  const total = `Total params: ${summary.totalParameters.toLocaleString('en-US')} (${(summary.parameterBytes / 2 ** 20).toFixed(2)} MiB as float32)`;
  $('summary').innerHTML =
    `<table data-model="${escapeHtml(summary.name)}"><caption>Model: ${escapeHtml(summary.name)}</caption><thead><tr><th>Label</th><th>Layer</th><th>Output shape</th><th>Params</th></tr></thead><tbody>${rows}</tbody><tfoot><tr><td colspan="4">${total}</td></tr></tfoot></table>`;
}

function showDiagnostics(host: HTMLElement, diagnostics: readonly Diagnostic[], linkToEditor: boolean): void {
  host.innerHTML = diagnostics
    .map(
      (d, i) =>
        `<div class="diagnostic-item" data-index="${i}" data-code="${d.code}" data-line="${d.span.start.line}" data-column="${d.span.start.column}">${diagnosticHtml(d)}</div>`,
    )
    .join('');
  if (!linkToEditor) return;
  for (const item of Array.from(host.querySelectorAll<HTMLElement>('.diagnostic-item'))) {
    const d = diagnostics[Number(item.dataset['index'])]!;
    if (d.span.start.line > 0) item.addEventListener('click', () => editor.reveal(d.span));
  }
}

// Inputs.

function inputMode(): 'ids' | 'text' {
  return document.querySelector<HTMLInputElement>('input[name="input-mode"]:checked')?.value === 'text'
    ? 'text'
    : 'ids';
}

/** One box per data input (lengths are filled from the rows); for a decoder model, the source or the prompt. */
function renderInputFields(ir: ModelIR | undefined = current.checked?.ir): void {
  if (ir === undefined) return;
  // What was typed is kept per model: Sentiment's ragged rows would not suit SimpleLSTM's same-named input, which has no lengths.
  for (const field of Array.from(inputFields.querySelectorAll<HTMLTextAreaElement>('textarea')))
    fieldValues.set(`${inputFields.dataset['model']}:${field.dataset['input']}:${field.dataset['mode']}`, field.value);
  inputFields.dataset['model'] = ir.name;
  const mode = inputMode();
  const fields = fieldsOf(ir);
  // The token controls only for a model that takes token ids; float features come as JSON or a random batch.
  $('token-controls').hidden = !fields.some((f) => f.vocab !== undefined);
  inputFields.innerHTML = fields
    .map((f) => {
      const tokens = f.vocab !== undefined;
      const fieldMode = tokens ? mode : 'json';
      const value = fieldValues.get(`${ir.name}:${f.name}:${fieldMode}`) ?? defaultValue(f, fieldMode);
      const help = tokens
        ? mode === 'ids'
          ? `ids in [0, ${f.vocab}), one row per line`
          : 'text, one row per line, split on spaces'
        : jsonHelp(f);
      const random =
        f.features === undefined
          ? ''
          : `<div class="random-batch" data-for="${escapeHtml(f.name)}"><button type="button" class="secondary" data-random="${escapeHtml(f.name)}">Random batch</button> <label>rows <input type="text" inputmode="numeric" data-random-rows="${escapeHtml(f.name)}" value="2" /></label>${f.timed ? ` <label>steps <input type="text" inputmode="numeric" data-random-steps="${escapeHtml(f.name)}" value="5" /></label>` : ''} <span class="note">of ${f.features} numbers each</span></div>`;
      return `<div class="input-field" data-field="${escapeHtml(f.name)}"><label><span class="input-name">${escapeHtml(f.name)}</span> <span class="note">${escapeHtml(f.type)} · ${escapeHtml(help)}${f.lengths === undefined ? '' : ` · ${escapeHtml(f.lengths)} from the rows`}</span><textarea rows="${tokens ? 3 : 6}" spellcheck="false" data-input="${escapeHtml(f.name)}" data-mode="${fieldMode}">${escapeHtml(value)}</textarea></label>${random}<div class="problems" data-problems="${escapeHtml(f.name)}"></div></div>`;
    })
    .join('');
}

function jsonHelp(field: InputField): string {
  if (field.features === undefined) return 'JSON';
  return field.timed
    ? `JSON: rows of time steps, each ${field.features} numbers`
    : `JSON: rows of ${field.features} numbers`;
}

/** Fills a float input's box with a seeded random batch of the rows and steps asked for. */
function fillRandomFeatures(name: string): void {
  const field =
    current.checked?.ir === undefined ? undefined : fieldsOf(current.checked.ir).find((f) => f.name === name);
  const box = inputFields.querySelector<HTMLTextAreaElement>(`textarea[data-input="${CSS.escape(name)}"]`);
  const problems = inputFields.querySelector<HTMLElement>(`[data-problems="${CSS.escape(name)}"]`);
  if (field?.features === undefined || box === null || problems === null) return;
  const count = (selector: string): number | undefined => {
    const text = inputFields.querySelector<HTMLInputElement>(selector)?.value.trim() ?? '';
    const value = Number(text);
    return Number.isInteger(value) && value >= 1 && value <= 256 ? value : undefined;
  };
  const rows = count(`input[data-random-rows="${CSS.escape(name)}"]`);
  const steps = field.timed ? count(`input[data-random-steps="${CSS.escape(name)}"]`) : 1;
  if (rows === undefined || steps === undefined) {
    problems.textContent = 'rows and steps should be whole numbers from 1 to 256';
    return;
  }
  problems.textContent = '';
  box.value = featuresJson(randomFeatures(rows, field.timed ? steps : undefined, field.features, randomSeed++));
}

/** Shows the vocabulary of the model now checked, keeping what was typed for the previous one. */
function switchVocabulary(model: string): void {
  if (hook.vocabularyOwner === model) return;
  if (hook.vocabularyOwner !== undefined) vocabularies.set(hook.vocabularyOwner, vocabularyBox.value);
  hook.vocabularyOwner = model;
  vocabularyBox.value = vocabularies.get(model) ?? '';
  $('vocabulary-owner').textContent = model;
  $('vocabulary-problems').textContent = '';
}

interface InputField {
  readonly name: string;
  readonly type: string;
  readonly vocab?: number;
  readonly lengths?: string;
  readonly features?: number;
  readonly timed: boolean;
}

function fieldsOf(ir: ModelIR): InputField[] {
  const embeddings = [...ir.ops, ...(ir.decoder === undefined ? [] : [ir.decoder.embedding])].filter(
    (o) => o.kind === 'embedding',
  );
  if (ir.decoder !== undefined && ir.encoder === undefined) {
    return [{ name: 'prompt', type: 'int64[batch, prompt_time]', vocab: ir.decoder.embedding.vocab, timed: true }];
  }
  return ir.inputs
    .filter((i) => i.role.kind === 'data')
    .map((i) => {
      const vocab = embeddings.filter((o) => o.input === i.name).map((o) => (o.kind === 'embedding' ? o.vocab : 0));
      const lengths = ir.inputs.find((l) => l.role.kind === 'lengths' && l.role.of === i.name)?.name;
      const last = i.type.dims.at(-1);
      return {
        name: i.name,
        type: `${i.type.dtype}[${i.type.dims.map((d) => (d.kind === 'symbol' ? d.name : d.size)).join(', ')}]`,
        ...(vocab.length > 0 ? { vocab: Math.min(...vocab) } : {}),
        ...(lengths === undefined ? {} : { lengths }),
        ...(i.type.dtype === 'float32' && last?.kind === 'fixed' ? { features: last.size } : {}),
        timed: i.type.hasTime,
      };
    });
}

function defaultValue(field: InputField, mode: 'ids' | 'text' | 'json'): string {
  // Rows of one length unless the model masks padding.
  if (mode === 'ids')
    return field.name === 'prompt' ? '4 6' : field.lengths === undefined ? '5 17 2\n8 9 4' : '5 17 2\n8 9';
  if (mode === 'text')
    return field.name === 'prompt'
      ? 'the movie'
      : field.lengths === undefined
        ? 'the movie was great\nit was bad'
        : 'the movie was great\nnot good';
  // The same batch the Random batch button gives with its default sizes, seed 0.
  return featuresJson(randomFeatures(2, field.timed ? 5 : undefined, field.features ?? 1, 0));
}

/** The rows typed for a token input, as ids. */
function tokenRows(name: string): { rows?: number[][]; problems: string[] } {
  const box = inputFields.querySelector<HTMLTextAreaElement>(`textarea[data-input="${CSS.escape(name)}"]`);
  const text = box?.value ?? '';
  if (box?.dataset['mode'] === 'text') {
    const vocab = vocabulary();
    if (vocab.value === undefined) return { problems: [...vocab.problems] };
    const parsed = parseTextRows(text, vocab.value);
    return parsed.value === undefined ? { problems: [...parsed.problems] } : { rows: parsed.value, problems: [] };
  }
  const parsed = parseIdRows(text);
  return parsed.value === undefined ? { problems: [...parsed.problems] } : { rows: parsed.value, problems: [] };
}

function vocabulary(): ReturnType<typeof parseVocabulary> {
  const parsed = parseVocabulary(vocabularyBox.value);
  $('vocabulary-problems').textContent = parsed.problems?.join('\n') ?? '';
  return parsed;
}

/** The model's inputs from the boxes: token rows padded with 0 and their lengths, or JSON as typed. */
function modelInputs(ir: ModelIR): { inputs?: Record<string, InputValue>; problems: string[] } {
  const inputs: Record<string, InputValue> = {};
  const problems: string[] = [];
  for (const field of fieldsOf(ir)) {
    if (field.vocab === undefined) {
      const text =
        inputFields.querySelector<HTMLTextAreaElement>(`textarea[data-input="${CSS.escape(field.name)}"]`)?.value ?? '';
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        problems.push(`${field.name}: not valid JSON: ${(e as Error).message}`);
        continue;
      }
      if (field.lengths === undefined) {
        inputs[field.name] = value as InputValue;
        continue;
      }
      // Rows of time steps may differ in length: padded with zero vectors, their lengths fill the lengths input.
      const padded = padFeatureRows(value, field.features);
      if (padded.rows === undefined) {
        problems.push(`${field.name}: ${padded.problem}`);
        continue;
      }
      inputs[field.name] = padded.rows;
      inputs[field.lengths] = padded.lengths!;
      continue;
    }
    const { rows, problems: rowProblems } = tokenRows(field.name);
    problems.push(...rowProblems.map((p) => `${field.name}: ${p}`));
    if (rows === undefined) continue;
    if (rows.length === 0) {
      problems.push(`${field.name}: type at least one row`);
      continue;
    }
    const ragged = rows.some((r) => r.length !== rows[0]!.length);
    if (ragged && field.lengths === undefined)
      problems.push(
        `${field.name}: the rows differ in length, and the model has no lengths input to mask padding; make them equal`,
      );
    const padded = padRows(rows, 0);
    inputs[field.name] = padded.ids;
    if (field.lengths !== undefined) inputs[field.lengths] = padded.lengths;
  }
  return problems.length > 0 ? { problems } : { inputs, problems };
}

// Running.

function executionProvider(): ExecutionProvider {
  return document.querySelector<HTMLInputElement>('input[name="ep"]:checked')?.value === 'webgpu' ? 'webgpu' : 'wasm';
}

async function run(): Promise<void> {
  hook.busy = true;
  const ep = executionProvider();
  $('run-diagnostics').innerHTML = '';
  $('timing').textContent = 'compiling…';
  try {
    recompileForProvider();
    const compiled = await current.done;
    const ir = current.checked?.ir;
    if (compiled?.model === undefined || ir === undefined) {
      $('timing').textContent = 'fix the spec first: it has errors';
      return;
    }
    const built = modelInputs(ir);
    if (built.inputs === undefined) {
      showProblems($('run-diagnostics'), built.problems);
      $('timing').textContent = '';
      hook.lastRun = { ep, inputs: {}, diagnostics: [], problems: built.problems };
      return;
    }
    $('timing').textContent = `loading on ${ep}…`;
    const session = await sessionFor(compiled, ep);
    if (session.model === undefined) {
      showDiagnostics($('run-diagnostics'), session.diagnostics, false);
      $('timing').textContent = '';
      hook.lastRun = { ep, inputs: {}, diagnostics: session.diagnostics };
      return;
    }
    $('timing').textContent = `running on ${ep}…`;
    const result = await session.model.run(built.inputs);
    const inputs = recordOf(checkedFeeds(session.model.signature, built.inputs));
    if (result.outputs === undefined) {
      showDiagnostics($('run-diagnostics'), result.diagnostics, false);
      $('timing').textContent = 'rejected before ONNX Runtime: nothing ran';
      $('outputs').innerHTML = '';
      hook.lastRun = { ep, inputs, diagnostics: result.diagnostics };
      return;
    }
    const timing = { loadMs: session.loadMs, validateMs: result.timing!.validateMs, runMs: result.timing!.runMs };
    $('timing').textContent =
      `${ep}: session opened in ${timing.loadMs.toFixed(0)} ms · inputs checked in ${timing.validateMs.toFixed(2)} ms · run ${timing.runMs.toFixed(2)} ms`;
    $('outputs').innerHTML = [...result.outputs].map(([name, t]) => outputHtml(name, t)).join('');
    hook.lastRun = { ep, inputs, outputs: recordOf(result.outputs), diagnostics: [], timing };
    revealResults($('run-panel'));
  } catch (e) {
    $('timing').textContent = `failed: ${(e as Error).message}`;
    console.error(e);
  } finally {
    hook.busy = false;
  }
}

/** The open session for this compilation on this provider, opened on first use. */
async function sessionFor(
  compiled: CompiledMessage,
  ep: ExecutionProvider,
): Promise<{ model?: LoadedModel; diagnostics: readonly Diagnostic[]; loadMs: number }> {
  const logSeverityLevel = hook.sessionLogSeverity;
  const key = `${compiled.id}:${ep}:${logSeverityLevel}`;
  if (sessionCache?.key === key) return { model: sessionCache.model, diagnostics: [], loadMs: sessionCache.loadMs };
  await sessionCache?.model.release();
  sessionCache = undefined;
  const started = performance.now();
  const loaded = await loadModel(compiled.model!, {
    executionProviders: [ep],
    wasmPaths,
    numThreads: 1,
    name: `${current.stem}.onnx`,
    logSeverityLevel,
  });
  const loadMs = performance.now() - started;
  if (loaded.model !== undefined) sessionCache = { key, model: loaded.model, loadMs };
  return { ...loaded, loadMs };
}

async function generate(): Promise<void> {
  hook.busy = true;
  const ep = executionProvider();
  $('generate-diagnostics').innerHTML = '';
  $('generated').innerHTML = '';
  $('generate-timing').textContent = 'compiling…';
  try {
    recompileForProvider();
    const compiled = await current.done;
    const ir = current.checked?.ir;
    if (compiled?.bundle === undefined || ir?.decoder === undefined) {
      $('generate-timing').textContent = 'fix the spec first: it has errors';
      return;
    }
    const field = fieldsOf(ir)[0]!;
    const { rows, problems } = tokenRows(field.name);
    const asked = generationOptions(generationForm());
    const boxProblems = [...problems.map((p) => `${field.name}: ${p}`), ...asked.problems];
    if (rows === undefined || asked.options === undefined || boxProblems.length > 0) {
      showProblems($('generate-diagnostics'), boxProblems);
      $('generate-timing').textContent = '';
      hook.lastGeneration = { ep, diagnostics: [], problems: boxProblems };
      return;
    }
    // The bundle's runtime checks prompts against the decoder's vocabulary, but has no source vocabulary: check the source here, with the runtime's own validation.
    if (ir.encoder !== undefined) {
      const padded = padRows(rows, 0);
      const sourceCheck = validateInputs(
        compiled.signature!,
        checkedFeeds(compiled.signature!, {
          [field.name]: padded.ids,
          ...(field.lengths === undefined ? {} : { [field.lengths]: padded.lengths }),
        }),
      );
      if (sourceCheck.feeds === undefined) {
        showDiagnostics($('generate-diagnostics'), sourceCheck.diagnostics, false);
        $('generate-timing').textContent = 'rejected before ONNX Runtime: nothing ran';
        hook.lastGeneration = { ep, diagnostics: sourceCheck.diagnostics };
        return;
      }
    }
    $('generate-timing').textContent = `loading on ${ep}…`;
    const key = `${compiled.id}:${ep}`;
    if (bundleCache?.key !== key) {
      await bundleCache?.bundle.release();
      bundleCache = undefined;
      const files = Object.fromEntries(compiled.bundle.files.map((f) => [f.file, f.bytes]));
      const loaded = await loadBundle(
        { manifest: compiled.bundle.manifest, files },
        { executionProviders: [ep], wasmPaths, numThreads: 1 },
      );
      if (loaded.bundle === undefined) {
        showDiagnostics($('generate-diagnostics'), loaded.diagnostics, false);
        $('generate-timing').textContent = '';
        hook.lastGeneration = { ep, diagnostics: loaded.diagnostics };
        return;
      }
      bundleCache = { key, bundle: loaded.bundle };
    }
    const strategy = asked.options.strategy;
    const options = { ...asked.options, ...(ir.encoder === undefined ? { prompt: rows } : {}) };
    $('generate-timing').textContent = `generating on ${ep}…`;
    const started = performance.now();
    const result = await bundleCache.bundle.generate(ir.encoder === undefined ? [] : rows, options);
    const ms = performance.now() - started;
    if (result.rows === undefined) {
      showDiagnostics($('generate-diagnostics'), result.diagnostics, false);
      $('generate-timing').textContent = '';
      hook.lastGeneration = { ep, diagnostics: result.diagnostics };
      return;
    }
    // Text only in text mode, and only through this model's own vocabulary: in numbers mode the ids are the answer.
    const vocab = inputMode() === 'text' ? vocabularyOrNothing() : undefined;
    const show = (ids: readonly number[]): string | undefined =>
      vocab === undefined ? undefined : detokenize(ids, vocab);
    const shown = result.rows.map((row) =>
      row.hypotheses.map((h) => ({
        tokens: [...h.tokens],
        score: h.score,
        ...(vocab === undefined ? {} : { text: show(h.tokens)! }),
      })),
    );
    $('generate-timing').textContent =
      `${ep}: ${strategy} search in ${ms.toFixed(0)} ms (sessions included on the first run)`;
    $('generated').innerHTML = shown
      .map((hypotheses, r) => {
        const input = rows[r] ?? [];
        const heading = `row ${r + 1}: ${escapeHtml(show(input) ?? input.join(' '))}`;
        const items = hypotheses.map(
          (h) =>
            `<li><code>${h.tokens.join(' ')}</code>${h.text === undefined ? '' : ` <span class="text">${escapeHtml(h.text)}</span>`} <span class="note">score ${h.score.toFixed(3)}</span></li>`,
        );
        return `<div class="generated-row" data-row="${r}"><div class="note">${heading}</div><ol>${items.join('')}</ol></div>`;
      })
      .join('');
    hook.lastGeneration = { ep, rows: shown, diagnostics: [], ms };
    revealResults($('generate-panel'));
  } catch (e) {
    $('generate-timing').textContent = `failed: ${(e as Error).message}`;
    console.error(e);
  } finally {
    hook.busy = false;
  }
}

/** The Generate panel's boxes, as typed. */
function generationForm(): GenerationForm {
  const text = (id: string): string => $<HTMLInputElement>(id).value;
  return {
    strategy: $<HTMLSelectElement>('strategy').value,
    beamWidth: text('beam-width'),
    nBest: text('n-best'),
    lengthPenalty: text('length-penalty'),
    temperature: text('temperature'),
    topK: text('top-k'),
    topP: text('top-p'),
    seed: text('seed'),
    maxLength: text('max-length'),
  };
}

/** Dims the options that the chosen search ignores. */
function showStrategyOptions(): void {
  const strategy = $<HTMLSelectElement>('strategy').value;
  $('beam-options').classList.toggle('unused', strategy !== 'beam');
  $('sample-options').classList.toggle('unused', strategy !== 'sample');
}

function vocabularyOrNothing(): Vocabulary | undefined {
  return parseVocabulary(vocabularyBox.value).value;
}

/** The inputs as the validation core sees them: typed arrays of the signature's dtypes. */
function checkedFeeds(signature: ModelSignature, inputs: Record<string, InputValue>): Map<string, TensorData> {
  const feeds = new Map<string, TensorData>();
  for (const [name, value] of Object.entries(inputs)) {
    const dtype = signature.inputs.find((i) => i.name === name)?.dtype === 'int64' ? 'int64' : 'float32';
    const flat = flatten(value);
    feeds.set(name, {
      dtype,
      dims: flat.dims,
      data:
        dtype === 'int64'
          ? BigInt64Array.from(flat.values, (v) => BigInt(Math.trunc(v)))
          : Float32Array.from(flat.values),
    });
  }
  return feeds;
}

function flatten(value: unknown): { dims: number[]; values: number[] } {
  const dims: number[] = [];
  for (let probe = value; Array.isArray(probe); probe = probe[0]) dims.push(probe.length);
  return { dims, values: (value as unknown[]).flat(Infinity) as number[] };
}

function recordOf(tensors: ReadonlyMap<string, TensorData>): Record<string, { dims: number[]; data: number[] }> {
  return Object.fromEntries(
    [...tensors].map(([name, t]) => [
      name,
      { dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) },
    ]),
  );
}

function outputHtml(name: string, t: TensorData): string {
  const values = Array.from(t.data as ArrayLike<number | bigint>, Number);
  const limit = 256;
  const format = (v: number): string => (t.dtype === 'int64' ? String(v) : v.toFixed(4));
  const nest = (axis: number, offset: number, indent: string): string => {
    if (axis === t.dims.length) return format(values[offset]!);
    const stride = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const items = Array.from({ length: t.dims[axis]! }, (_, i) => i).filter((i) => offset + i * stride < limit);
    const inner = items.map((i) => nest(axis + 1, offset + i * stride, `${indent} `));
    const more = items.length < t.dims[axis]! ? ', …' : '';
    return axis === t.dims.length - 1 ? `[${inner.join(', ')}${more}]` : `[${inner.join(`,\n${indent} `)}${more}]`;
  };
  return `<div class="output" data-output="${escapeHtml(name)}"><div><span class="input-name">${escapeHtml(name)}</span> <span class="note">${t.dtype}[${t.dims.join(', ')}]</span></div><pre>${escapeHtml(nest(0, 0, ''))}</pre></div>`;
}

/** Scrolls a results panel into view when the Run or Generate button was pressed far from it (one column, narrow windows). */
function revealResults(panel: HTMLElement): void {
  const box = panel.getBoundingClientRect();
  if (box.top >= 0 && box.top < innerHeight - 80) return;
  panel.scrollIntoView({ block: 'start', behavior: 'instant' });
}

function showProblems(host: HTMLElement, problems: readonly string[]): void {
  host.innerHTML = problems
    .map((p) => `<div class="diagnostic-item"><div class="diagnostic diagnostic-error">${escapeHtml(p)}</div></div>`)
    .join('');
}

// Downloads and status.

function clearDownloads(note: string): void {
  for (const url of downloadUrls) URL.revokeObjectURL(url);
  downloadUrls = [];
  $('downloads').innerHTML = `<span class="note">${escapeHtml(note)}</span>`;
}

function showDownloads(message: CompiledMessage): void {
  clearDownloads('');
  if (message.model === undefined) return;
  const link = (id: string, file: string, blob: Blob): string => {
    const url = URL.createObjectURL(blob);
    downloadUrls.push(url);
    return `<a id="${id}" class="download" href="${url}" download="${escapeHtml(file)}">${escapeHtml(file)} <span class="note">${(blob.size / 2 ** 20).toFixed(2)} MiB</span></a>`;
  };
  const onnx = (bytes: Uint8Array): Blob =>
    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
  if (message.bundle === undefined) {
    $('downloads').innerHTML = link('download-model', `${current.stem}.onnx`, onnx(message.model));
    return;
  }
  const manifest = new Blob([`${JSON.stringify(message.bundle.manifest, null, 2)}\n`], { type: 'application/json' });
  $('downloads').innerHTML = [
    ...message.bundle.files.map((f) =>
      link(f.role === 'scoring' ? 'download-model' : `download-${f.role}`, f.file, onnx(f.bytes)),
    ),
    link('download-manifest', `${current.stem}.manifest.json`, manifest),
  ].join('');
}

function setStatus(text: string): void {
  $('status').textContent = text;
}

async function detectWebGpu(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = gpu === undefined ? null : await gpu.requestAdapter().catch(() => null);
  hook.webgpu = adapter !== null;
  if (!hook.webgpu) {
    const radio = document.querySelector<HTMLInputElement>('input[name="ep"][value="webgpu"]')!;
    radio.disabled = true;
    $('webgpu-note').textContent = '(not available in this browser)';
  }
}
