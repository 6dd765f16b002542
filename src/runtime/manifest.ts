// The manifest of a compiled decoder bundle (docs/seq2seq.md): its files with their inputs and outputs, and the decoding constants.

import type { RecurrentCell } from '../ir/ir.js';

import type { BundleFileEntry, BundleManifest } from '../lower/manifest.js';

export type { BundleManifest } from '../lower/manifest.js';
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
  readonly cell: RecurrentCell;
  readonly inputFeed: boolean;
  readonly attention: boolean;
}

/**
 * The input and output names that docs/seq2seq.md gives each file, in order. The compiler writes
 * these into the manifest; the runtime feeds a step input only when the manifest lists it.
 */
export function documentedNames(shape: BundleShape): { scoring: FileNames; encoder?: FileNames; step: FileNames; greedy: FileNames } {
  const lstm = shape.cell === 'lstm';
  const source = shape.kind === 'seq2seq' ? ['src', 'src_lengths'] : [];
  return {
    scoring: { inputs: [...source, 'tgt_in'], outputs: ['logits'] },
    ...(shape.kind === 'seq2seq' ? { encoder: { inputs: ['src', 'src_lengths'], outputs: ['memory', 'h0', ...(lstm ? ['c0'] : [])] } } : {}),
    step: {
      inputs: ['tokens', 'h', ...(lstm ? ['c'] : []), ...(shape.kind === 'seq2seq' ? ['memory', 'src_lengths'] : []), ...(shape.inputFeed ? ['feed'] : [])],
      outputs: ['logits', 'h_out', ...(lstm ? ['c_out'] : []), ...(shape.attention ? ['attention'] : []), ...(shape.inputFeed ? ['feed_out'] : [])],
    },
    greedy: { inputs: shape.kind === 'seq2seq' ? ['src', 'src_lengths'] : ['prompt'], outputs: ['tokens', 'lengths'] },
  };
}

/**
 * Checks that parsed JSON is a manifest the runtime can drive. Returns the manifest, or the
 * problems found, each a sentence naming the field.
 */
export function parseManifest(value: unknown): { manifest?: BundleManifest; problems: string[] } {
  const problems: string[] = [];
  const at = (path: string, message: string): void => {
    problems.push(`\`${path}\` ${message}`);
  };
  if (!isRecord(value)) return { problems: ['the manifest is not a JSON object'] };

  if (typeof value['name'] !== 'string') at('name', 'should be a string');
  if (value['kind'] !== 'seq2seq' && value['kind'] !== 'lm') at('kind', `should be "seq2seq" or "lm", not ${JSON.stringify(value['kind'])}`);
  for (const key of ['bos', 'eos', 'maxLength', 'vocab'] as const) {
    if (!isWhole(value[key])) at(key, `should be a whole number, not ${JSON.stringify(value[key])}`);
  }
  if (isWhole(value['maxLength']) && value['maxLength'] < 1) at('maxLength', 'should be at least 1');
  if (isWhole(value['vocab'])) {
    for (const key of ['bos', 'eos'] as const) {
      if (isWhole(value[key]) && value[key] >= value['vocab']) at(key, `is ${value[key]}, outside the vocabulary of ${value['vocab']}`);
    }
  }
  if (typeof value['inputFeed'] !== 'boolean') at('inputFeed', 'should be true or false');
  if (value['memoryDim'] !== undefined && !isWhole(value['memoryDim'])) at('memoryDim', 'should be a whole number when present');

  const state = value['state'];
  if (!isRecord(state)) {
    at('state', 'should be an object { cell, layers, hidden }');
  } else {
    if (state['cell'] !== 'rnn' && state['cell'] !== 'lstm' && state['cell'] !== 'gru') at('state.cell', `should be "rnn", "lstm" or "gru", not ${JSON.stringify(state['cell'])}`);
    for (const key of ['layers', 'hidden'] as const) {
      if (!isWhole(state[key]) || state[key] < 1) at(`state.${key}`, `should be a whole number ≥ 1, not ${JSON.stringify(state[key])}`);
    }
  }

  const attention = value['attention'];
  if (attention !== undefined) {
    if (!isRecord(attention)) at('attention', 'should be an object { score, placement } when present');
    else {
      if (!['dot', 'general', 'additive'].includes(attention['score'] as string)) at('attention.score', `should be "dot", "general" or "additive", not ${JSON.stringify(attention['score'])}`);
      if (!['luong', 'bahdanau'].includes(attention['placement'] as string)) at('attention.placement', `should be "luong" or "bahdanau", not ${JSON.stringify(attention['placement'])}`);
    }
  }

  const files = value['files'];
  if (!isRecord(files)) {
    at('files', 'should be an object { scoring, encoder?, step, greedy }');
  } else {
    for (const key of ['scoring', 'encoder', 'step', 'greedy'] as const) {
      const file = files[key];
      if (file === undefined) {
        if (key !== 'encoder') at(`files.${key}`, 'is missing');
        continue;
      }
      if (!isRecord(file)) {
        at(`files.${key}`, 'should be an object { path, inputs, outputs }');
        continue;
      }
      if (typeof file['path'] !== 'string' || file['path'] === '') at(`files.${key}.path`, 'should be a file name');
      for (const list of ['inputs', 'outputs'] as const) {
        const names = file[list];
        if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) at(`files.${key}.${list}`, 'should be a list of names');
      }
    }
    if (value['kind'] === 'seq2seq' && files['encoder'] === undefined) at('files.encoder', 'is missing, and a seq2seq bundle needs it');
    if (value['kind'] === 'lm' && files['encoder'] !== undefined) at('files.encoder', 'is present, but a language model has no encoder');
  }
  const weights = value['weights'];
  if (weights !== undefined) {
    if (!isRecord(weights)) at('weights', 'should be an object { path, bytes } when present');
    else {
      if (typeof weights['path'] !== 'string' || weights['path'] === '') at('weights.path', 'should be a file name');
      if (!isWhole(weights['bytes'])) at('weights.bytes', `should be a whole number, not ${JSON.stringify(weights['bytes'])}`);
    }
  }
  if (problems.length > 0) return { problems };

  const manifest = value as unknown as BundleManifest;
  problems.push(...stepProblems(manifest));
  return problems.length > 0 ? { problems } : { manifest, problems };
}

// Internals.

/** The step graph's names must be those the runtime knows how to feed and read. */
function stepProblems(manifest: BundleManifest): string[] {
  const problems: string[] = [];
  const { inputs, outputs } = manifest.files.step;
  const expected = documentedNames({ kind: manifest.kind, cell: manifest.state.cell, inputFeed: manifest.inputFeed, attention: true }).step;
  for (const name of inputs) {
    if (!expected.inputs.includes(name)) problems.push(`\`files.step.inputs\` names \`${name}\`, which is not one of ${expected.inputs.map((n) => `\`${n}\``).join(', ')}`);
  }
  for (const name of ['tokens', 'h']) {
    if (!inputs.includes(name)) problems.push(`\`files.step.inputs\` lacks \`${name}\``);
  }
  for (const name of ['logits', 'h_out']) {
    if (!outputs.includes(name)) problems.push(`\`files.step.outputs\` lacks \`${name}\``);
  }
  for (const [input, output] of [['c', 'c_out'], ['feed', 'feed_out']] as const) {
    if (inputs.includes(input) !== outputs.includes(output)) problems.push(`\`files.step\` should list both \`${input}\` and \`${output}\`, or neither`);
  }
  if (manifest.kind === 'seq2seq') {
    for (const name of ['memory', 'src_lengths']) {
      if (!inputs.includes(name)) problems.push(`\`files.step.inputs\` lacks \`${name}\`, which a seq2seq step reads`);
    }
    const encoderOutputs = manifest.files.encoder!.outputs;
    for (const name of ['memory', 'h0']) {
      if (!encoderOutputs.includes(name)) problems.push(`\`files.encoder.outputs\` lacks \`${name}\``);
    }
  }
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isWhole(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
