// `seqc generate`: decoding with a compiled bundle or a spec, through the runtime's generate().

import { dirname, join } from 'node:path';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { GenerateOptions } from '../runtime/generate.js';
import { loadBundle } from '../runtime/node.js';
import type { FlagSpec, ParsedArgs } from './args.js';
import { compactJson, compileFromArgs, ExitCode, help, onePositional, opsetFlag, readBytes, readText, report, seedFlag, weightsFlag, type Io } from './io.js';

interface Vocabulary {
  readonly tokens: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
  /** Whether every token is one character, so text is read character by character. */
  readonly characters: boolean;
}

function readVocabulary(path: string): { vocabulary?: Vocabulary; diagnostics: Diagnostic[] } {
  const text = readText(path);
  if (text.text === undefined) return { diagnostics: text.diagnostics };
  let value: unknown;
  try {
    value = JSON.parse(text.text);
  } catch (e) {
    return { diagnostics: [error('SEQ201', spanOfWhole(path), `${path} is not JSON: ${(e as Error).message}`, 'a vocabulary is a JSON list of tokens, such as ["<pad>", "<s>", "</s>", "a", "b"]')] };
  }
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string')) {
    return { diagnostics: [error('SEQ201', spanOfWhole(path), `${path} is not a JSON list of strings`, 'a vocabulary is a JSON list of tokens, such as ["<pad>", "<s>", "</s>", "a", "b"]')] };
  }
  const tokens = value as string[];
  const ordinary = tokens.filter((t) => !/^<.*>$/.test(t));
  return { vocabulary: { tokens, ids: new Map(tokens.map((t, i) => [t, i])), characters: ordinary.every((t) => [...t].length === 1) }, diagnostics: [] };
}

/** Space-separated ids, or text through a vocabulary (characters or words). */
function readSequence(text: string, flag: string, vocabulary: Vocabulary | undefined): { ids?: number[]; diagnostics: Diagnostic[] } {
  const span = spanOfWhole(`--${flag}`);
  if (vocabulary === undefined) {
    const parts = text.trim() === '' ? [] : text.trim().split(/\s+/);
    const bad = parts.find((p) => !/^\d+$/.test(p));
    if (bad !== undefined) {
      return { diagnostics: [error('SEQ300', span, `\`--${flag} ${text}\` should be token ids separated by spaces, but \`${bad}\` is not an id`, `pass --${flag === 'src' ? 'src' : 'tgt'}-vocab FILE.json to give text instead`)] };
    }
    return { ids: parts.map(Number), diagnostics: [] };
  }
  const pieces = vocabulary.characters ? [...text] : text.trim().split(/\s+/).filter((p) => p !== '');
  const ids: number[] = [];
  for (const piece of pieces) {
    const id = vocabulary.ids.get(piece) ?? vocabulary.ids.get(piece.toLowerCase());
    if (id === undefined) {
      return { diagnostics: [error('SEQ301', span, `\`${piece}\` in \`--${flag}\` is not in the vocabulary`, vocabulary.ids.has('<unk>') ? 'map it to <unk> yourself, or rephrase' : 'use only tokens the model was trained on')] };
    }
    ids.push(id);
  }
  return { ids, diagnostics: [] };
}

function numberFlag(args: ParsedArgs, name: string, check: (n: number) => boolean, expectation: string): { value?: number; diagnostics: Diagnostic[] } {
  const raw = args.flags.get(name)?.[0];
  if (raw === undefined) return { diagnostics: [] };
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || !check(value)) {
    return { diagnostics: [error('SEQ201', spanOfWhole(`--${name}`), `\`--${name}\` must be ${expectation}, found \`${raw}\``)] };
  }
  return { value, diagnostics: [] };
}

/** Reads a bundle from its manifest and the files it names, or compiles a spec into one in memory. */
function bundleFromArgs(given: string, args: ParsedArgs): { bundle?: { manifest: unknown; files: Record<string, Uint8Array> }; sources: Map<string, string>; diagnostics: Diagnostic[]; usageProblem: boolean } {
  // A bundle's scoring graph stands for the bundle: `x.onnx` → `x.manifest.json`.
  const path = given.endsWith('.onnx') ? given.replace(/\.onnx$/, '.manifest.json') : given;
  if (path.endsWith('.json')) {
    const text = readText(path);
    if (text.text === undefined) return { sources: new Map(), diagnostics: text.diagnostics, usageProblem: false };
    let manifest: unknown;
    try {
      manifest = JSON.parse(text.text);
    } catch (e) {
      return { sources: new Map(), diagnostics: [error('SEQ202', spanOfWhole(path), `${path} is not JSON: ${(e as Error).message}`)], usageProblem: false };
    }
    const files: Record<string, Uint8Array> = {};
    const entries = (manifest as { files?: Record<string, { path?: unknown }> }).files ?? {};
    for (const entry of Object.values(entries)) {
      if (typeof entry?.path !== 'string') continue;
      const bytes = readBytes(join(dirname(path), entry.path));
      if (bytes.bytes === undefined) return { sources: new Map(), diagnostics: bytes.diagnostics, usageProblem: false };
      files[entry.path] = bytes.bytes;
    }
    return { bundle: { manifest, files }, sources: new Map(), diagnostics: [], usageProblem: false };
  }
  const compiled = compileFromArgs(path, args);
  const bundle = compiled.result?.bundle;
  if (compiled.result?.model !== undefined && bundle === undefined) {
    return { sources: compiled.sources, diagnostics: [...compiled.diagnostics, error('SEQ300', spanOfWhole(path), `${path} has no decoder block, so there is nothing to generate`, 'use `seqc run` for models without a decoder')], usageProblem: false };
  }
  if (bundle === undefined) return { sources: compiled.sources, diagnostics: compiled.diagnostics, usageProblem: compiled.usageProblem };
  const files = Object.fromEntries(bundle.files.map((f) => [f.file, f.bytes]));
  return { bundle: { manifest: bundle.manifest, files }, sources: compiled.sources, diagnostics: compiled.diagnostics, usageProblem: false };
}

export async function generateCommand(args: ParsedArgs, io: Io): Promise<number> {
  const path = onePositional(args, io, 'generate', 'spec (.seq) or bundle manifest (.manifest.json)');
  if (path === undefined) return ExitCode.usage;
  const positive = (n: number): boolean => Number.isInteger(n) && n >= 1;
  const flags = {
    beam: numberFlag(args, 'beam', positive, 'a positive integer'),
    nbest: numberFlag(args, 'nbest', positive, 'a positive integer'),
    lengthPenalty: numberFlag(args, 'length-penalty', (n) => n >= 0, 'a number ≥ 0'),
    minLength: numberFlag(args, 'min-length', (n) => Number.isInteger(n) && n >= 0, 'a whole number'),
    maxLength: numberFlag(args, 'max-length', positive, 'a positive integer'),
    temperature: numberFlag(args, 'temperature', (n) => n >= 0, 'a number ≥ 0'),
    topK: numberFlag(args, 'top-k', positive, 'a positive integer'),
    topP: numberFlag(args, 'top-p', (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
    seed: numberFlag(args, 'sample-seed', (n) => Number.isInteger(n) && n >= 0, 'a whole number'),
  };
  const flagProblems = Object.values(flags).flatMap((f) => f.diagnostics);
  if (args.flags.has('beam') && args.flags.has('sample')) flagProblems.push(error('SEQ201', spanOfWhole('--beam'), '`--beam` and `--sample` exclude each other'));
  if (flags.nbest.value !== undefined && flags.nbest.value > (flags.beam.value ?? 1)) flagProblems.push(error('SEQ201', spanOfWhole('--nbest'), `\`--nbest ${flags.nbest.value}\` needs a beam at least that wide`, `add --beam ${flags.nbest.value}`));
  if (flagProblems.length > 0) {
    report(flagProblems, new Map(), io);
    return ExitCode.usage;
  }
  const vocabularies: { src?: Vocabulary; tgt?: Vocabulary } = {};
  for (const which of ['src', 'tgt'] as const) {
    const file = args.flags.get(`${which}-vocab`)?.[0];
    if (file === undefined) continue;
    const read = readVocabulary(file);
    if (read.vocabulary === undefined) {
      report(read.diagnostics, new Map(), io);
      return ExitCode.diagnostics;
    }
    vocabularies[which] = read.vocabulary;
  }
  const loaded = bundleFromArgs(path, args);
  report(loaded.diagnostics, loaded.sources, io);
  if (loaded.usageProblem) return ExitCode.usage;
  if (loaded.bundle === undefined) return ExitCode.diagnostics;
  const opened = await loadBundle(loaded.bundle);
  if (opened.bundle === undefined) {
    report(opened.diagnostics, loaded.sources, io);
    return ExitCode.diagnostics;
  }
  const bundle = opened.bundle;
  const lm = bundle.manifest.kind === 'lm';
  const problems: Diagnostic[] = [];
  const sequences = (flag: 'src' | 'prompt', vocabulary: Vocabulary | undefined): number[][] =>
    (args.flags.get(flag) ?? []).flatMap((text) => {
      const read = readSequence(text, flag, vocabulary);
      problems.push(...read.diagnostics);
      return read.ids === undefined ? [] : [read.ids];
    });
  const src = lm ? [] : sequences('src', vocabularies.src);
  const prompt = args.flags.has('prompt') ? sequences('prompt', vocabularies.tgt) : undefined;
  if (!lm && src.length === 0 && problems.length === 0) problems.push(error('SEQ300', spanOfWhole('--src'), `${bundle.manifest.name} translates a source: pass at least one --src`, 'for example --src "5 17 9 2"'));
  if (lm && args.flags.has('src')) problems.push(error('SEQ300', spanOfWhole('--src'), `${bundle.manifest.name} is a language model, which takes no source`, 'pass the start of the text with --prompt'));
  if (problems.length > 0) {
    report(problems, loaded.sources, io);
    bundle.release();
    return ExitCode.diagnostics;
  }
  const detokenize = (ids: readonly number[]): string | undefined => {
    const v = vocabularies.tgt;
    if (v === undefined) return undefined;
    const kept = ids.filter((id) => id !== bundle.manifest.eos);
    return kept.map((id) => v.tokens[id] ?? `<${id}>`).join(v.characters ? '' : ' ');
  };
  try {
    if (args.flags.has('greedy-graph')) {
      const result = await bundle.runGreedyGraph(lm ? (prompt ?? [[]]) : src);
      if (result.rows === undefined) {
        report(result.diagnostics, loaded.sources, io);
        return ExitCode.diagnostics;
      }
      io.out(`${compactJson(result.rows.map((tokens) => ({ tokens, ...(detokenize(tokens) === undefined ? {} : { text: detokenize(tokens) }) })))}\n`);
      return ExitCode.ok;
    }
    const strategy = args.flags.has('beam') ? 'beam' : args.flags.has('sample') ? 'sample' : 'greedy';
    const options = {
      strategy,
      ...(strategy === 'beam' ? { beam: { width: flags.beam.value!, nBest: flags.nbest.value ?? 1, lengthPenalty: flags.lengthPenalty.value ?? 0 } } : {}),
      ...(strategy === 'sample'
        ? {
            sample: {
              temperature: flags.temperature.value ?? 1,
              seed: flags.seed.value ?? 0,
              ...(flags.topK.value === undefined ? {} : { topK: flags.topK.value }),
              ...(flags.topP.value === undefined ? {} : { topP: flags.topP.value }),
            },
          }
        : {}),
      ...(prompt === undefined ? {} : { prompt }),
      ...(flags.maxLength.value === undefined ? {} : { maxLength: flags.maxLength.value }),
      ...(flags.minLength.value === undefined ? {} : { minLength: flags.minLength.value }),
    } as GenerateOptions;
    const result = await bundle.generate(src, options);
    if (result.rows === undefined) {
      report(result.diagnostics, loaded.sources, io);
      return ExitCode.diagnostics;
    }
    const printable = result.rows.map((row) => ({
      hypotheses: row.hypotheses.map((h) => ({
        tokens: h.tokens,
        ...(detokenize(h.tokens) === undefined ? {} : { text: detokenize(h.tokens) }),
        score: h.score,
        logProb: h.logProb,
        ...(args.flags.has('attention') && h.attention !== undefined ? { attention: h.attention.map((a) => Array.from(a, (x) => Number(x.toFixed(4)))) } : {}),
      })),
    }));
    io.out(`${compactJson(printable)}\n`);
    return ExitCode.ok;
  } finally {
    bundle.release();
  }
}

/** JSON with two-space indentation, but lists of numbers kept on one line. */
