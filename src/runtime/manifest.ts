// The manifest of a compiled decoder bundle (docs/seq2seq.md): its files with their inputs and outputs, and the decoding constants.

import type { BundleFileEntry, BundleManifest } from '../contracts/manifest.js';

export type { BundleManifest } from '../contracts/manifest.js';
/** One ONNX file of a bundle, as the manifest lists it. */
export type BundleFile = BundleFileEntry;

/** A file's input and output names, in order. */
export interface FileNames {
  readonly inputs: string[];
  readonly outputs: string[];
}

/** What decides a bundle's input and output names. */
export interface BundleShape {
  readonly kind: BundleManifest['kind'];
  readonly cell: BundleManifest['state']['cell'];
  readonly inputFeed: boolean;
  readonly attention: boolean;
  /** The source input and its lengths, as the spec names them (`src`, `src_lengths` in docs/seq2seq.md). */
  readonly source?: BundleManifest['source'];
}

/**
 * The input and output names that docs/seq2seq.md gives each file, in order. The compiler writes
 * these into the manifest; the runtime feeds a step input only when the manifest lists it.
 */
export function documentedNames(shape: BundleShape): {
  scoring: FileNames;
  encoder?: FileNames;
  step: FileNames;
  greedy: FileNames;
} {
  const lstm = shape.cell === 'lstm';
  const input = shape.source?.input ?? 'src';
  const lengths = shape.source === undefined ? 'src_lengths' : shape.source.lengths;
  const source = shape.kind === 'seq2seq' ? [input, ...(lengths === undefined ? [] : [lengths])] : [];
  return {
    scoring: { inputs: [...source, 'tgt_in'], outputs: ['logits'] },
    ...(shape.kind === 'seq2seq'
      ? { encoder: { inputs: source, outputs: ['memory', 'h0', ...(lstm ? ['c0'] : [])] } }
      : {}),
    step: {
      inputs: [
        'tokens',
        'h',
        ...(lstm ? ['c'] : []),
        ...(shape.kind === 'seq2seq' ? ['memory', ...source.slice(1)] : []),
        ...(shape.inputFeed ? ['feed'] : []),
      ],
      outputs: [
        'logits',
        'h_out',
        ...(lstm ? ['c_out'] : []),
        ...(shape.attention ? ['attention'] : []),
        ...(shape.inputFeed ? ['feed_out'] : []),
      ],
    },
    greedy: { inputs: shape.kind === 'seq2seq' ? source : ['prompt'], outputs: ['tokens', 'lengths'] },
  };
}

/** One way a manifest is unusable: the key (such as `files.step.path`) and what is wrong with it. */
export interface ManifestIssue {
  readonly key: string;
  readonly problem: string;
  /** `file`: a file entry names something other than a plain file name in the manifest's folder. */
  readonly kind: 'schema' | 'file';
}

/** The keys of `files`, one per graph; a manifest naming any other is refused, so nothing else is read. */
export const bundleFileKeys = ['scoring', 'encoder', 'step', 'greedy'] as const;

/**
 * Checks that parsed JSON is a manifest the runtime can drive. Returns the manifest, or the
 * problems found, each a sentence naming the field.
 */
export function parseManifest(value: unknown): { manifest?: BundleManifest; problems: string[] } {
  const checked = checkManifest(value);
  const problems = checked.issues.map((i) => (i.key === '' ? i.problem : `\`${i.key}\` ${i.problem}`));
  return checked.manifest === undefined ? { problems } : { manifest: checked.manifest, problems };
}

/**
 * Checks parsed JSON against the manifest's schema (docs/seq2seq.md), by hand and only as deep
 * as the schema goes, so any value (deeply nested, huge, of any type) is checked in bounded time.
 * Every file entry must be a plain file name: no folder separators, no `..`, no absolute path.
 */
export function checkManifest(value: unknown): { manifest?: BundleManifest; issues: ManifestIssue[] } {
  const issues: ManifestIssue[] = [];
  const at = (key: string, problem: string, kind: ManifestIssue['kind'] = 'schema'): void => {
    issues.push({ key, problem, kind });
  };
  if (!isRecord(value))
    return { issues: [{ key: '', problem: `the manifest is ${describe(value)}, not a JSON object`, kind: 'schema' }] };

  if (value['format'] !== 'seqc-bundle') at('format', `should be "seqc-bundle", not ${describe(value['format'])}`);
  if (value['version'] !== 1) at('version', `should be 1, not ${describe(value['version'])}`);
  if (value['target'] !== undefined && value['target'] !== 'webgpu')
    at('target', `should be "webgpu" when present, not ${describe(value['target'])}`);
  if (value['precision'] !== undefined && !['int8', 'int8-weights', 'fp16'].includes(value['precision'] as string))
    at('precision', `should be "int8", "int8-weights" or "fp16" when present, not ${describe(value['precision'])}`);
  if (typeof value['name'] !== 'string') at('name', `should be a string, not ${describe(value['name'])}`);
  if (value['kind'] !== 'seq2seq' && value['kind'] !== 'lm')
    at('kind', `should be "seq2seq" or "lm", not ${describe(value['kind'])}`);
  for (const key of ['bos', 'eos', 'maxLength', 'vocab', 'targetVocab'] as const) {
    if (!isWhole(value[key])) at(key, `should be a whole number up to ${largest}, not ${describe(value[key])}`);
  }
  if (isWhole(value['maxLength']) && value['maxLength'] < 1) at('maxLength', 'should be at least 1');
  if (isWhole(value['vocab'])) {
    for (const key of ['bos', 'eos'] as const) {
      if (isWhole(value[key]) && value[key] >= value['vocab'])
        at(key, `is ${value[key]}, outside the vocabulary of ${value['vocab']}`);
    }
  }
  if (typeof value['inputFeed'] !== 'boolean')
    at('inputFeed', `should be true or false, not ${describe(value['inputFeed'])}`);
  if (value['memoryDim'] !== undefined && !isWhole(value['memoryDim']))
    at('memoryDim', `should be a whole number when present, not ${describe(value['memoryDim'])}`);

  const state = value['state'];
  if (!isRecord(state)) {
    at('state', `should be an object { cell, layers, hidden }, not ${describe(state)}`);
  } else {
    if (state['cell'] !== 'rnn' && state['cell'] !== 'lstm' && state['cell'] !== 'gru')
      at('state.cell', `should be "rnn", "lstm" or "gru", not ${describe(state['cell'])}`);
    for (const key of ['layers', 'hidden'] as const) {
      if (!isWhole(state[key]) || state[key] < 1)
        at(`state.${key}`, `should be a whole number ≥ 1, not ${describe(state[key])}`);
    }
  }

  const attention = value['attention'];
  if (attention !== undefined) {
    if (!isRecord(attention))
      at('attention', `should be an object { score, placement } when present, not ${describe(attention)}`);
    else {
      if (!['dot', 'general', 'additive'].includes(attention['score'] as string))
        at('attention.score', `should be "dot", "general" or "additive", not ${describe(attention['score'])}`);
      if (!['luong', 'bahdanau'].includes(attention['placement'] as string))
        at('attention.placement', `should be "luong" or "bahdanau", not ${describe(attention['placement'])}`);
    }
  }

  const source = value['source'];
  if (source !== undefined) {
    if (!isRecord(source))
      at('source', `should be an object { input, lengths? } when present, not ${describe(source)}`);
    else {
      if (typeof source['input'] !== 'string')
        at('source.input', `should be a string, not ${describe(source['input'])}`);
      if (source['lengths'] !== undefined && typeof source['lengths'] !== 'string')
        at('source.lengths', `should be a string when present, not ${describe(source['lengths'])}`);
    }
  }

  const files = value['files'];
  if (!isRecord(files)) {
    at('files', `should be an object { scoring, encoder?, step, greedy }, not ${describe(files)}`);
  } else {
    for (const key of Object.keys(files)) {
      if (!(bundleFileKeys as readonly string[]).includes(key))
        at(
          `files.${shorten(key)}`,
          `is not a file of a bundle (${bundleFileKeys.join(', ')}); seqc reads no other file`,
        );
    }
    for (const key of bundleFileKeys) {
      const file = files[key];
      if (file === undefined) {
        if (key !== 'encoder') at(`files.${key}`, 'is missing');
        continue;
      }
      if (!isRecord(file)) {
        at(`files.${key}`, `should be an object { path, inputs, outputs }, not ${describe(file)}`);
        continue;
      }
      const problem = fileNameProblem(file['path']);
      if (problem !== undefined)
        at(`files.${key}.path`, problem, typeof file['path'] === 'string' && file['path'] !== '' ? 'file' : 'schema');
      for (const list of ['inputs', 'outputs'] as const) {
        const names = file[list];
        if (!Array.isArray(names) || names.length > maxNames || !names.every((n) => typeof n === 'string'))
          at(`files.${key}.${list}`, `should be a list of at most ${maxNames} names, not ${describe(names)}`);
      }
    }
    if (value['kind'] === 'seq2seq' && files['encoder'] === undefined)
      at('files.encoder', 'is missing, and a seq2seq bundle needs it');
    if (value['kind'] === 'lm' && files['encoder'] !== undefined)
      at('files.encoder', 'is present, but a language model has no encoder');
  }
  const weights = value['weights'];
  if (weights !== undefined) {
    if (!isRecord(weights)) at('weights', `should be an object { path, bytes } when present, not ${describe(weights)}`);
    else {
      const problem = fileNameProblem(weights['path']);
      if (problem !== undefined)
        at('weights.path', problem, typeof weights['path'] === 'string' && weights['path'] !== '' ? 'file' : 'schema');
      const bytes = weights['bytes'];
      if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0)
        at('weights.bytes', `should be a whole number of bytes, not ${describe(bytes)}`);
    }
  }
  issues.push(...tokenizerIssues(value['tokenizers'], value['kind']));
  if (issues.length > 0) return { issues };

  const manifest = value as unknown as BundleManifest;
  issues.push(...stepProblems(manifest));
  return issues.length > 0 ? { issues } : { manifest, issues };
}

/**
 * Why `path` is not a plain file name in the manifest's folder, or undefined when it is one. A
 * bundle reads only such names, so a manifest cannot make seqc read a file elsewhere.
 */
export function fileNameProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path === '') return `should be a file name, not ${describe(path)}`;
  if (path.length > 255) return 'is longer than 255 characters, which no file name is';
  if (path === '.' || path === '..') return `is ${describe(path)}, a folder, not a file name`;
  if (/[/\\]/.test(path))
    return `is ${describe(path)}, which is not a plain file name: a bundle's files sit next to its manifest, named without folders`;
  if (/^[A-Za-z]:/.test(path)) return `is ${describe(path)}, a drive path, not a plain file name`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return `is ${describe(path)}, which holds control characters`;
  return undefined;
}

// Internals.

/** The optional `tokenizers` entry: each side an object naming a plain file, with whole-number ids. */
function tokenizerIssues(tokenizers: unknown, kind: unknown): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  if (tokenizers === undefined) return issues;
  const at = (key: string, problem: string, issueKind: ManifestIssue['kind'] = 'schema'): void => {
    issues.push({ key, problem, kind: issueKind });
  };
  if (!isRecord(tokenizers)) {
    at('tokenizers', `should be an object { source?, target? } when present, not ${describe(tokenizers)}`);
    return issues;
  }
  for (const side of Object.keys(tokenizers)) {
    if (side !== 'source' && side !== 'target')
      at(`tokenizers.${shorten(side)}`, 'is not a side of a bundle (source, target); seqc reads no other file');
  }
  if (kind === 'lm' && tokenizers['source'] !== undefined)
    at('tokenizers.source', 'is present, but a language model has no source');
  for (const side of ['source', 'target'] as const) {
    const entry = tokenizers[side];
    if (entry === undefined) continue;
    const key = `tokenizers.${side}`;
    if (!isRecord(entry)) {
      at(key, `should be an object { path, format, model, size }, not ${describe(entry)}`);
      continue;
    }
    const problem = fileNameProblem(entry['path']);
    if (problem !== undefined)
      at(`${key}.path`, problem, typeof entry['path'] === 'string' && entry['path'] !== '' ? 'file' : 'schema');
    if (entry['format'] !== 'huggingface' && entry['format'] !== 'vocabulary')
      at(`${key}.format`, `should be "huggingface" or "vocabulary", not ${describe(entry['format'])}`);
    if (!['BPE', 'WordPiece', 'Unigram', 'list'].includes(entry['model'] as string))
      at(`${key}.model`, `should be "BPE", "WordPiece", "Unigram" or "list", not ${describe(entry['model'])}`);
    if (!isWhole(entry['size']) || entry['size'] < 1)
      at(`${key}.size`, `should be a whole number ≥ 1, not ${describe(entry['size'])}`);
    for (const role of ['bos', 'eos', 'pad', 'unk'] as const) {
      if (entry[role] !== undefined && !isWhole(entry[role]))
        at(`${key}.${role}`, `should be a whole number when present, not ${describe(entry[role])}`);
    }
  }
  return issues;
}

/** The step graph's names must be those the runtime knows how to feed and read. */
function stepProblems(manifest: BundleManifest): ManifestIssue[] {
  const problems: ManifestIssue[] = [];
  const at = (key: string, problem: string): void => {
    problems.push({ key, problem, kind: 'schema' });
  };
  const { inputs, outputs } = manifest.files.step;
  const expected = documentedNames({
    kind: manifest.kind,
    cell: manifest.state.cell,
    inputFeed: manifest.inputFeed,
    attention: true,
    ...(manifest.source === undefined ? {} : { source: manifest.source }),
  }).step;
  // `top_k`, the count of the step's TopK choice (docs/seq2seq.md), is an input of step graphs compiled since it
  // became one; older step graphs and the webgpu target's have none.
  const known = [...expected.inputs, 'top_k'];
  for (const name of inputs) {
    if (!known.includes(name))
      at(
        'files.step.inputs',
        `names \`${shorten(name)}\`, which is not one of ${known.map((n) => `\`${n}\``).join(', ')}`,
      );
  }
  for (const name of ['tokens', 'h']) {
    if (!inputs.includes(name)) at('files.step.inputs', `lacks \`${name}\``);
  }
  for (const name of ['logits', 'h_out']) {
    if (!outputs.includes(name)) at('files.step.outputs', `lacks \`${name}\``);
  }
  for (const [input, output] of [
    ['c', 'c_out'],
    ['feed', 'feed_out'],
  ] as const) {
    if (inputs.includes(input) !== outputs.includes(output))
      at('files.step', `should list both \`${input}\` and \`${output}\`, or neither`);
  }
  if (manifest.kind === 'seq2seq') {
    // The step masks the memory by the source lengths only when the spec declares them (`source.lengths`).
    const lengths = manifest.source?.lengths;
    const reads = lengths === undefined ? ['memory'] : ['memory', lengths];
    for (const name of reads) {
      if (!inputs.includes(name)) at('files.step.inputs', `lacks \`${name}\`, which a seq2seq step reads`);
    }
    const encoderOutputs = manifest.files.encoder!.outputs;
    for (const name of ['memory', 'h0']) {
      if (!encoderOutputs.includes(name)) at('files.encoder.outputs', `lacks \`${name}\``);
    }
  }
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isWhole(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= largest;
}

/** The most names a file entry lists; real graphs have a handful. */
const maxNames = 64;

/** The largest whole number a manifest holds: the int32 range of ONNX Runtime's indices. */
const largest = 2 ** 31 - 1;

/** A found value in a few words, whatever its size or depth (JSON.stringify would recurse without bound). */
function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(shorten(value));
  return String(value);
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
