// `seqc generate`: decoding with a compiled bundle or a spec, through the runtime's generate().

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { GenerateOptions, Rows, SeqBundle } from '../runtime/generate.js';
import { loadBundle } from '../runtime/node.js';
import type { BundleManifest } from '../runtime/manifest.js';
import { generationLimits } from '../contracts/limits.js';
import { readTokenizer, type TextTokenizer } from '../runtime/tokenizer.js';
import { decodeGenerated, tokenizerFitProblems } from '../runtime/text.js';
import type { ParsedArgs } from './args.js';
import { readBundle } from './bundle.js';
import { compactJson, compileFromArgs, emit, ExitCode, onePositional, readText, report, type Io } from './io.js';
import { startProgress } from './progress.js';

/** A tokenizer file named by a flag: a tokenizer.json or a JSON vocabulary list (src/runtime/tokenizer.ts). */
function readTokenizerFile(path: string): { tokenizer?: TextTokenizer; diagnostics: Diagnostic[] } {
  const text = readText(path);
  if (text.text === undefined) return { diagnostics: text.diagnostics };
  return readTokenizer(text.text, path);
}

/**
 * Space-separated ids, or text through a tokenizer. A source is encoded with the tokenizer's
 * special tokens (as Hugging Face's `encode` adds them); a prompt or target prefix without, since
 * the decoder feeds bos itself.
 */
function readSequence(
  text: string,
  flag: 'src' | 'prompt',
  tokenizer: TextTokenizer | undefined,
  shown: string = `--${flag}`,
): { ids?: number[]; diagnostics: Diagnostic[] } {
  const span = spanOfWhole(shown);
  if (tokenizer === undefined) {
    const parts = text.trim() === '' ? [] : text.trim().split(/\s+/);
    const bad = parts.find((p) => !/^\d+$/.test(p));
    if (bad !== undefined) {
      return {
        diagnostics: [
          error(
            'SEQ300',
            span,
            `\`--${flag} ${text}\` should be token ids separated by spaces, but \`${bad}\` is not an id`,
            `pass --${flag === 'src' ? 'src' : 'tgt'}-vocab FILE.json to give text instead`,
          ),
        ],
      };
    }
    return { ids: parts.map(Number), diagnostics: [] };
  }
  const encoded = tokenizer.encode(text, flag === 'src' ? 'with-special-tokens' : 'plain');
  // Place the problem at the flag, as with ids.
  return encoded.ids === undefined
    ? { diagnostics: encoded.diagnostics.map((d) => ({ ...d, span, message: `${d.message} (in \`${shown}\`)` })) }
    : { ids: encoded.ids, diagnostics: [] };
}

/** The numeric flags of `seqc generate`, each read and range-checked before any file is opened. */
interface GenerateFlags {
  readonly beam?: number;
  readonly nbest?: number;
  readonly lengthPenalty?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly seed?: number;
}

/** Below this temperature, sampling is greedy decoding written another way. */
const smallestTemperature = 1e-6;

/** Token ids and counts are whole numbers written in decimal digits: no signs, exponents or hex. */
const wholeNumber = /^\d+$/;
/** A decimal number as people write one: `0.7`, `.5`, `2`, `1e-3`. */
const decimalNumber = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function wholeFlag(
  args: ParsedArgs,
  name: string,
  range: { readonly min: number; readonly max: number },
  overHint?: string,
): { value?: number; diagnostics: Diagnostic[] } {
  const raw = args.flags.get(name)?.[0];
  if (raw === undefined) return { diagnostics: [] };
  const value = Number(raw);
  if (wholeNumber.test(raw) && value >= range.min && value <= range.max) return { value, diagnostics: [] };
  const message = `\`--${name}\` must be a whole number from ${range.min} to ${range.max.toLocaleString('en-US')}, found \`${raw}\``;
  const hint = !wholeNumber.test(raw)
    ? `write it in plain digits, such as --${name} ${Math.max(range.min, 1)}`
    : value > range.max
      ? (overHint ?? `the most is ${range.max}`)
      : `the least is ${range.min}`;
  return {
    diagnostics: [
      error('SEQ201', spanOfWhole(`--${name}`), message, hint, {
        flag: `--${name}`,
        value: raw,
        range: [range.min, range.max],
      }),
    ],
  };
}

function decimalFlag(
  args: ParsedArgs,
  name: string,
  accept: (n: number) => boolean,
  expectation: string,
  hint: string,
): { value?: number; diagnostics: Diagnostic[] } {
  const raw = args.flags.get(name)?.[0];
  if (raw === undefined) return { diagnostics: [] };
  const value = Number(raw);
  if (decimalNumber.test(raw) && Number.isFinite(value) && accept(value)) return { value, diagnostics: [] };
  return {
    diagnostics: [
      error('SEQ201', spanOfWhole(`--${name}`), `\`--${name}\` must be ${expectation}, found \`${raw}\``, hint, {
        flag: `--${name}`,
        value: raw,
        expected: expectation,
      }),
    ],
  };
}

/** Reads every numeric flag and checks its form and range (SEQ201); nothing is loaded yet. */
function readGenerateFlags(args: ParsedArgs): { flags: GenerateFlags; diagnostics: Diagnostic[] } {
  const limits = generationLimits;
  const fixed = 'the bound is fixed, so that generation stays within bounded time and memory';
  const read = {
    beam: wholeFlag(
      args,
      'beam',
      { min: 1, max: limits.beamWidth },
      `beams wider than 10–20 rarely change the result; ${fixed}`,
    ),
    nbest: wholeFlag(
      args,
      'nbest',
      { min: 1, max: limits.beamWidth },
      `a beam keeps at most ${limits.beamWidth} hypotheses`,
    ),
    lengthPenalty: decimalFlag(
      args,
      'length-penalty',
      (n) => n >= 0,
      'a number ≥ 0',
      'GNMT uses α between 0.6 and 1; 0 ranks by log-probability alone',
    ),
    minLength: wholeFlag(
      args,
      'min-length',
      { min: 0, max: limits.maxLength },
      `seqc generates at most ${limits.maxLength} tokens per sequence`,
    ),
    maxLength: wholeFlag(
      args,
      'max-length',
      { min: 1, max: limits.maxLength },
      `seqc generates at most ${limits.maxLength} tokens per sequence; ${fixed}`,
    ),
    temperature: decimalFlag(
      args,
      'temperature',
      (n) => n >= smallestTemperature,
      `a number from ${smallestTemperature} up`,
      'a temperature near 0 always picks the most likely token: leave out --sample to decode greedily',
    ),
    topK: wholeFlag(args, 'top-k', { min: 1, max: 2 ** 31 - 1 }),
    topP: decimalFlag(
      args,
      'top-p',
      (n) => n > 0 && n <= 1,
      'a number in (0, 1]',
      '1 keeps every token; 0.9 keeps the most likely tokens that hold 90% of the probability',
    ),
    seed: wholeFlag(args, 'sample-seed', { min: 0, max: 2 ** 32 - 1 }),
  };
  const flags: { -readonly [K in keyof GenerateFlags]: GenerateFlags[K] } = {};
  for (const [key, flag] of Object.entries(read))
    if (flag.value !== undefined) flags[key as keyof GenerateFlags] = flag.value;
  return { flags, diagnostics: Object.values(read).flatMap((f) => f.diagnostics) };
}

/** How `seqc generate` decodes: the greedy host loop, the greedy Loop graph, beam search or sampling. */
type Decoding = 'greedy' | 'greedy graph' | 'beam' | 'sample';

function decodingOf(args: ParsedArgs): Decoding {
  if (args.flags.has('greedy-graph')) return 'greedy graph';
  if (args.flags.has('beam')) return 'beam';
  if (args.flags.has('sample')) return 'sample';
  return 'greedy';
}

/** The flags that only one decoding takes: given with another, they would have no effect. */
const flagsOfDecoding: readonly { readonly flag: string; readonly decoding: Decoding; readonly needs: string }[] = [
  { flag: 'nbest', decoding: 'beam', needs: '--beam N' },
  { flag: 'length-penalty', decoding: 'beam', needs: '--beam N' },
  { flag: 'temperature', decoding: 'sample', needs: '--sample' },
  { flag: 'top-k', decoding: 'sample', needs: '--sample' },
  { flag: 'top-p', decoding: 'sample', needs: '--sample' },
  { flag: 'sample-seed', decoding: 'sample', needs: '--sample' },
];

/** What the greedy Loop graph cannot do: it decodes greedily to its compiled max_length and returns tokens only. */
const notInGreedyGraph: readonly string[] = ['beam', 'sample', 'min-length', 'attention'];

/**
 * Flags that contradict each other or that the chosen decoding would ignore (SEQ331): each is
 * refused rather than silently dropped.
 */
function flagConflicts(args: ParsedArgs, flags: GenerateFlags, decoding: Decoding, path: string): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const conflict = (flag: string, message: string, hint: string): void => {
    problems.push(error('SEQ331', spanOfWhole(`--${flag}`), message, hint, { flag: `--${flag}` }));
  };
  if (args.flags.has('beam') && args.flags.has('sample')) {
    conflict(
      'sample',
      '`--beam` and `--sample` exclude each other',
      'choose one: beam search keeps the best hypotheses, sampling draws at random',
    );
  } else if (decoding === 'greedy graph') {
    for (const flag of [...notInGreedyGraph, ...flagsOfDecoding.map((f) => f.flag)]) {
      if (args.flags.has(flag)) {
        conflict(
          flag,
          `the greedy graph decodes greedily to its compiled max_length and returns only tokens, so \`--${flag}\` would have no effect`,
          `leave out --greedy-graph to decode with the host loop, which takes --${flag}`,
        );
      }
    }
  } else {
    for (const { flag, decoding: wanted, needs } of flagsOfDecoding) {
      if (args.flags.has(flag) && decoding !== wanted) {
        const now = decoding === 'greedy' ? 'greedy decoding' : decoding === 'beam' ? 'beam search' : 'sampling';
        const change = decoding === 'greedy' ? `add ${needs}` : `use ${needs} instead of --${decoding}`;
        conflict(
          flag,
          `\`--${flag}\` applies to ${wanted === 'beam' ? 'beam search' : 'sampling'} only, and this is ${now}`,
          `${change}, or leave out --${flag}`,
        );
      }
    }
  }
  if (flags.nbest !== undefined && flags.beam !== undefined && flags.nbest > flags.beam) {
    conflict(
      'nbest',
      `\`--nbest ${flags.nbest}\` asks for more hypotheses than \`--beam ${flags.beam}\` keeps`,
      `widen the beam: --beam ${flags.nbest}`,
    );
  }
  if (flags.minLength !== undefined && flags.maxLength !== undefined && flags.minLength > flags.maxLength) {
    conflict(
      'min-length',
      `\`--min-length ${flags.minLength}\` is above \`--max-length ${flags.maxLength}\`, so no sequence could end with eos`,
      `ask for --min-length ${flags.maxLength} or less, or raise --max-length`,
    );
  }
  if (!path.endsWith('.seq')) {
    for (const flag of ['weights', 'seed', 'opset']) {
      if (args.flags.has(flag))
        conflict(
          flag,
          `${path} is a compiled bundle, so \`--${flag}\` would have no effect`,
          `pass the spec (.seq) to compile it with --${flag}, or leave out --${flag}`,
        );
    }
  }
  return problems;
}

/** Flags that the loaded model cannot honour: known once its manifest is read. */
function manifestConflicts(
  args: ParsedArgs,
  flags: GenerateFlags,
  decoding: Decoding,
  manifest: BundleManifest,
): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const lm = manifest.kind === 'lm';
  if (decoding === 'greedy graph' && flags.maxLength !== undefined && flags.maxLength !== manifest.maxLength) {
    problems.push(
      error(
        'SEQ331',
        spanOfWhole('--max-length'),
        `the greedy graph was compiled with max_length=${manifest.maxLength} and always decodes that far, so \`--max-length ${flags.maxLength}\` cannot take effect`,
        `leave out --greedy-graph to decode with the host loop, or set max_length=${flags.maxLength} in the spec and compile again`,
        { flag: '--max-length', value: String(flags.maxLength), expected: manifest.maxLength },
      ),
    );
  }
  if (decoding === 'greedy graph' && !lm && args.flags.has('prompt')) {
    problems.push(
      error(
        'SEQ331',
        spanOfWhole('--prompt'),
        'the greedy graph takes no target prefix, so `--prompt` would have no effect',
        'leave out --greedy-graph to force a target prefix with the host loop',
        { flag: '--prompt' },
      ),
    );
  }
  const maxLength = flags.maxLength ?? manifest.maxLength;
  if (flags.minLength !== undefined && flags.maxLength === undefined && flags.minLength > maxLength) {
    problems.push(
      error(
        'SEQ331',
        spanOfWhole('--min-length'),
        `\`--min-length ${flags.minLength}\` is above ${manifest.name}'s max_length of ${maxLength}, so no sequence could end with eos`,
        `ask for --min-length ${maxLength} or less, or raise --max-length`,
        { flag: '--min-length', value: String(flags.minLength), limit: maxLength },
      ),
    );
  }
  if (args.flags.has('attention') && !manifest.files.step.outputs.includes('attention')) {
    problems.push(
      error(
        'SEQ331',
        spanOfWhole('--attention'),
        `${manifest.name}'s decoder has no attention, so \`--attention\` would have no effect`,
        'leave out --attention',
        { flag: '--attention', names: [manifest.name] },
      ),
    );
  }
  if (lm && args.flags.has('src-vocab')) {
    problems.push(
      error(
        'SEQ331',
        spanOfWhole('--src-vocab'),
        `${manifest.name} is a language model, which takes no source, so \`--src-vocab\` would have no effect`,
        'read the prompt as text with --tgt-vocab instead',
        { flag: '--src-vocab', names: [manifest.name] },
      ),
    );
  }
  if (flags.topK !== undefined && flags.topK > manifest.vocab) {
    problems.push(
      error(
        'SEQ201',
        spanOfWhole('--top-k'),
        `\`--top-k\` must be a whole number from 1 to ${manifest.vocab} (${manifest.name}'s vocabulary), found \`${flags.topK}\``,
        `--top-k ${manifest.vocab} keeps every token`,
        { flag: '--top-k', value: String(flags.topK), range: [1, manifest.vocab] },
      ),
    );
  }
  return problems;
}
/** Reads a bundle from its manifest and the files it names, or compiles a spec into one in memory. */
function bundleFromArgs(
  given: string,
  args: ParsedArgs,
): {
  bundle?: { manifest: unknown; files: Record<string, Uint8Array> };
  sources: Map<string, string>;
  diagnostics: Diagnostic[];
  usageProblem: boolean;
} {
  // A bundle's scoring graph stands for the bundle: `x.onnx` → `x.manifest.json`.
  const path = given.endsWith('.onnx') ? given.replace(/\.onnx$/, '.manifest.json') : given;
  if (path.endsWith('.json')) {
    const read = readBundle(path);
    return {
      ...(read.bundle === undefined ? {} : { bundle: read.bundle }),
      sources: new Map(),
      diagnostics: read.diagnostics,
      usageProblem: false,
    };
  }
  const compiled = compileFromArgs(path, args);
  const bundle = compiled.result?.bundle;
  if (compiled.result?.model !== undefined && bundle === undefined) {
    return {
      sources: compiled.sources,
      diagnostics: [
        ...compiled.diagnostics,
        error(
          'SEQ300',
          spanOfWhole(path),
          `${path} has no decoder block, so there is nothing to generate`,
          'use `seqc run` for models without a decoder',
        ),
      ],
      usageProblem: false,
    };
  }
  if (bundle === undefined)
    return { sources: compiled.sources, diagnostics: compiled.diagnostics, usageProblem: compiled.usageProblem };
  const files = Object.fromEntries([
    ...bundle.files.map((f) => [f.file, f.sharedBytes]),
    [bundle.weights.file, bundle.weights.bytes],
  ]);
  return {
    bundle: { manifest: bundle.manifest, files },
    sources: compiled.sources,
    diagnostics: compiled.diagnostics,
    usageProblem: false,
  };
}

/** One hypothesis as every decoding prints it; `score` and `logProb` are absent from the greedy graph, which returns tokens only. */
interface PrintedHypothesis {
  readonly tokens: readonly number[];
  readonly text?: string;
  readonly score?: number;
  readonly logProb?: number;
  readonly attention?: readonly (readonly number[])[];
}

/** One input row: its hypotheses, best first (beam search), in order (sampling) or the one (greedy); with `--text`, the text and its ids. */
interface PrintedRow {
  readonly input?: { readonly text: string; readonly ids: readonly number[] };
  readonly hypotheses: readonly PrintedHypothesis[];
}

/** `--text` with `--src` or `--prompt`, or without a tokenizer to read it (SEQ248). */
function textConflicts(
  args: ParsedArgs,
  manifest: BundleManifest,
  tokenizers: { readonly src?: TextTokenizer; readonly tgt?: TextTokenizer },
): Diagnostic[] {
  if (!args.flags.has('text')) return [];
  const lm = manifest.kind === 'lm';
  const mixed = ['src', 'prompt'].filter((f) => args.flags.has(f) && (f === 'src' || lm));
  if (mixed.length > 0)
    return [
      error(
        'SEQ248',
        spanOfWhole('--text'),
        `\`--text\` gives the ${lm ? 'prompts' : 'sources'} as text, so \`--${mixed[0]}\` cannot give them too`,
        `pass each row once: --text "…" for text, --${mixed[0]} "3 4 5" for ids`,
        { flag: '--text', names: [`--${mixed[0]}`] },
      ),
    ];
  const side = lm ? 'tgt' : 'src';
  if (tokenizers[side] === undefined)
    return [
      error(
        'SEQ248',
        spanOfWhole('--text'),
        `${manifest.name} carries no ${lm ? 'target' : 'source'} tokenizer, so \`--text\` cannot be read`,
        `pass --tokenizer FILE (a tokenizer.json or a JSON list of tokens), or compile the bundle with --tokenizer FILE`,
        { flag: '--text', names: [manifest.name] },
      ),
    ];
  return [];
}

export async function generateCommand(args: ParsedArgs, io: Io): Promise<number> {
  const path = onePositional(args, io, 'generate', 'spec (.seq) or bundle manifest (.manifest.json)');
  if (path === undefined) return ExitCode.usage;
  const decoding = decodingOf(args);
  const read = readGenerateFlags(args);
  const flagProblems = read.diagnostics.length > 0 ? read.diagnostics : flagConflicts(args, read.flags, decoding, path);
  if (flagProblems.length > 0) {
    report(flagProblems, new Map(), io);
    return ExitCode.usage;
  }
  const flags = read.flags;
  const given: { src?: TextTokenizer; tgt?: TextTokenizer } = {};
  for (const which of ['src', 'tgt'] as const) {
    const file = args.flags.get(`${which}-vocab`)?.[0] ?? args.flags.get('tokenizer')?.[0];
    if (file === undefined) continue;
    const tokenizer = readTokenizerFile(file);
    if (tokenizer.tokenizer === undefined) {
      report(tokenizer.diagnostics, new Map(), io);
      return ExitCode.diagnostics;
    }
    given[which] = tokenizer.tokenizer;
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
  try {
    const manifest = bundle.manifest;
    const conflicts = manifestConflicts(args, flags, decoding, manifest);
    if (conflicts.length > 0) {
      report(conflicts, loaded.sources, io);
      return ExitCode.usage;
    }
    const lm = manifest.kind === 'lm';
    // Tokenizers named by flags replace those the bundle carries.
    const vocabularies = {
      src: given.src ?? bundle.tokenizers.source,
      tgt: given.tgt ?? bundle.tokenizers.target,
    };
    const textProblems = textConflicts(args, manifest, vocabularies);
    if (textProblems.length > 0) {
      report(textProblems, loaded.sources, io);
      return textProblems.some((d) => d.code === 'SEQ248') ? ExitCode.usage : ExitCode.diagnostics;
    }
    const fit =
      given.tgt === undefined
        ? []
        : tokenizerFitProblems(given.tgt, {
            side: 'target',
            embeddingVocab: manifest.targetVocab,
            logitsVocab: manifest.vocab,
            bos: manifest.bos,
            eos: manifest.eos,
          });
    report(fit, loaded.sources, io);
    if (fit.some((d) => d.severity === 'error')) return ExitCode.diagnostics;
    const problems: Diagnostic[] = [];
    const sequences = (flag: 'src' | 'prompt', tokenizer: TextTokenizer | undefined, texts?: string[]): number[][] =>
      (texts ?? args.flags.get(flag) ?? []).flatMap((text) => {
        const sequence = readSequence(text, flag, tokenizer, texts === undefined ? `--${flag}` : '--text');
        problems.push(...sequence.diagnostics);
        return sequence.ids === undefined ? [] : [sequence.ids];
      });
    // `--text` is the source of a seq2seq model, the prompt of a language model, always through a tokenizer.
    const texts = args.flags.get('text');
    // `--src` and `--prompt` are ids, or text where a flag names a tokenizer, as before bundles carried tokenizers.
    const src = lm ? [] : texts !== undefined ? sequences('src', vocabularies.src, texts) : sequences('src', given.src);
    const prompt =
      lm && texts !== undefined
        ? sequences('prompt', vocabularies.tgt, texts)
        : args.flags.has('prompt')
          ? sequences('prompt', given.tgt)
          : undefined;
    if (!lm && src.length === 0 && problems.length === 0)
      problems.push(
        error(
          'SEQ300',
          spanOfWhole('--src'),
          `${manifest.name} translates a source: pass at least one --src`,
          'for example --src "5 17 9 2"',
        ),
      );
    if (lm && args.flags.has('src'))
      problems.push(
        error(
          'SEQ300',
          spanOfWhole('--src'),
          `${manifest.name} is a language model, which takes no source`,
          'pass the start of the text with --prompt',
        ),
      );
    if (problems.length > 0) {
      report(problems, loaded.sources, io);
      return ExitCode.diagnostics;
    }
    const rowCount = lm ? (prompt?.length ?? 1) : src.length;
    const progress = startProgress(io, 'rows generated', rowCount);
    let decoded: { rows?: readonly PrintedRow[]; diagnostics: readonly Diagnostic[] };
    try {
      decoded = await decode(bundle, decoding, flags, {
        src,
        prompt,
        attention: args.flags.has('attention'),
        target: vocabularies.tgt,
        ...(texts === undefined ? {} : { texts: { text: texts, ids: lm ? (prompt ?? []) : src } }),
        onProgress: (done) => progress.update(done),
      });
    } finally {
      progress.finish();
    }
    if (decoded.rows === undefined) {
      report(decoded.diagnostics, loaded.sources, io);
      // A request beyond the bounds is the command line's to change; a bundle beyond them is not.
      const usageProblem = decoded.diagnostics.every((d) => d.code === 'SEQ330' && d.span.source !== 'manifest');
      return usageProblem ? ExitCode.usage : ExitCode.diagnostics;
    }
    emit(io, decoded.rows, `${compactJson(decoded.rows)}\n`);
    return ExitCode.ok;
  } finally {
    await bundle.release();
  }
}

/** What `decode` reads besides the flags. */
interface DecodeInputs {
  readonly src: Rows;
  readonly prompt: Rows | undefined;
  readonly attention: boolean;
  readonly target: TextTokenizer | undefined;
  /** With `--text`: each row's text and the ids it became, printed with the row. */
  readonly texts?: { readonly text: readonly string[]; readonly ids: Rows };
  readonly onProgress: (finishedRows: number) => void;
}

/** Runs one decoding and prints its rows in the one shape that every decoding shares. */
async function decode(
  bundle: SeqBundle,
  decoding: Decoding,
  flags: GenerateFlags,
  inputs: DecodeInputs,
): Promise<{ rows?: readonly PrintedRow[]; diagnostics: readonly Diagnostic[] }> {
  const { manifest } = bundle;
  const text = (ids: readonly number[]): { text?: string } => {
    const tokenizer = inputs.target;
    return tokenizer === undefined ? {} : { text: decodeGenerated(tokenizer, ids, manifest.eos) };
  };
  const input = (row: number): { input?: { text: string; ids: readonly number[] } } =>
    inputs.texts === undefined ? {} : { input: { text: inputs.texts.text[row]!, ids: inputs.texts.ids[row]! } };
  if (decoding === 'greedy graph') {
    inputs.onProgress(0);
    const result = await bundle.runGreedyGraph(manifest.kind === 'lm' ? (inputs.prompt ?? [[]]) : inputs.src);
    if (result.rows === undefined) return { diagnostics: result.diagnostics };
    inputs.onProgress(result.rows.length);
    return {
      rows: result.rows.map((tokens, r) => ({ ...input(r), hypotheses: [{ tokens, ...text(tokens) }] })),
      diagnostics: [],
    };
  }
  const options: GenerateOptions = {
    strategy: decoding,
    ...(decoding === 'beam'
      ? { beam: { width: flags.beam!, nBest: flags.nbest ?? 1, lengthPenalty: flags.lengthPenalty ?? 0 } }
      : {}),
    ...(decoding === 'sample'
      ? {
          sample: {
            temperature: flags.temperature ?? 1,
            seed: flags.seed ?? 0,
            ...(flags.topK === undefined ? {} : { topK: flags.topK }),
            ...(flags.topP === undefined ? {} : { topP: flags.topP }),
          },
        }
      : {}),
    ...(inputs.prompt === undefined ? {} : { prompt: inputs.prompt }),
    ...(flags.maxLength === undefined ? {} : { maxLength: flags.maxLength }),
    ...(flags.minLength === undefined ? {} : { minLength: flags.minLength }),
    onProgress: inputs.onProgress,
  };
  const result = await bundle.generate(inputs.src, options);
  if (result.rows === undefined) return { diagnostics: result.diagnostics };
  const rows = result.rows.map((row, r) => ({
    ...input(r),
    hypotheses: row.hypotheses.map((h) => ({
      tokens: h.tokens,
      ...text(h.tokens),
      score: h.score,
      logProb: h.logProb,
      ...(inputs.attention && h.attention !== undefined
        ? { attention: h.attention.map((a) => Array.from(a, (x) => Number(x.toFixed(4)))) }
        : {}),
    })),
  }));
  return { rows, diagnostics: [] };
}
